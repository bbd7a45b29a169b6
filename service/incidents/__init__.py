"""Surge mode for outages (S-classes batch): incidents, the known-issue answer, the resolution."""
