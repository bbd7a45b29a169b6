"""The audit log: every change made over the admin API or the CLI, one append-only row each.

A row is added to the session of the change itself, so it commits with the change or not at
all. ``before``/``after`` are the changed object's fields as JSON (secrets never among them).
"""

from service.audit.service import record, snapshot, token_state

__all__ = ["record", "snapshot", "token_state"]
