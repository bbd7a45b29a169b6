"""Promises an agent makes in a chat, kept as tasks (S-callback, S-callback-24h, S-follow-up)."""
