"""Who calls the HTTP API: roles, the bearer tokens of admins and supervisors, sign-in."""
