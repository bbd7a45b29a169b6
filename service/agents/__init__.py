"""Agents: accounts, tokens, roles and capacity."""
