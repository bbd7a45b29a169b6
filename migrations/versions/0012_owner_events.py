"""owner_events: every change of a chat's owner and why (S-first-responder)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "owner_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("chat_id", ID, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("from_agent_id", ID, nullable=True),
        sa.Column("to_agent_id", ID, nullable=True),
        sa.Column("why", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_owner_events_chat_id_chats")
        ),
        sa.ForeignKeyConstraint(
            ["from_agent_id"], ["agents.id"], name=op.f("fk_owner_events_from_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["to_agent_id"], ["agents.id"], name=op.f("fk_owner_events_to_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_owner_events")),
    )
    op.create_index("ix_owner_events_chat", "owner_events", ["chat_id", "id"])
    op.create_index("ix_owner_events_from_at", "owner_events", ["from_agent_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_owner_events_from_at", table_name="owner_events")
    op.drop_index("ix_owner_events_chat", table_name="owner_events")
    op.drop_table("owner_events")
