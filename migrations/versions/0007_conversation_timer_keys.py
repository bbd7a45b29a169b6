"""conversation timer keys: a chat's one conversation timer is keyed conversation:<chat>

It was keyed clock:<chat>, a second meaning of "clock" beside the time source
(service/clock.py). Pending timers keep their due times; only the key changes, so arming or
cancelling the chat's timer after the upgrade still finds the row.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD, NEW = "clock:", "conversation:"


def _rename(old: str, new: str) -> None:
    # substr is 1-based on both backends; || concatenates on both.
    op.execute(
        f"UPDATE timers SET key = '{new}' || substr(key, {len(old) + 1}) WHERE key LIKE '{old}%'"
    )


def upgrade() -> None:
    _rename(OLD, NEW)


def downgrade() -> None:
    _rename(NEW, OLD)
