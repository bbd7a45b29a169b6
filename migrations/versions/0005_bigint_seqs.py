"""bigint seqs: a chat's seq, the seq a correction or a complaint points at

A ``correct`` frame names a seq; at 2**31 or more it broke the 32-bit column on PostgreSQL.
The frames now bound every seq to BIGINT, as the ids already were. SQLite stores every
INTEGER in up to 64 bits already, so only PostgreSQL changes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQS = (
    ("chats", "last_seq"),
    ("messages", "seq"),
    ("messages", "corrects"),
    ("complaints", "message_seq"),
)


def _retype(old: sa.types.TypeEngine[int], new: sa.types.TypeEngine[int]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in SEQS:
        op.alter_column(table, column, existing_type=old, type_=new)


def upgrade() -> None:
    _retype(sa.Integer(), sa.BigInteger())


def downgrade() -> None:
    _retype(sa.BigInteger(), sa.Integer())
