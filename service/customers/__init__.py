"""Customers: who wrote in (players and guests), their tier and flags; one ``CustomerOut``."""
