"""Callbacks: messages customers leave when nobody can answer, due back within 24 h."""
