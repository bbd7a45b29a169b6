"""reply timing: replies, timing events, and the chat's clocks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "timing_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("chat_id", ID, nullable=False),
        sa.Column("agent_id", ID, nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("waited_ms", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_timing_events_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_timing_events_chat_id_chats")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timing_events")),
    )
    with op.batch_alter_table("timing_events", schema=None) as batch_op:
        batch_op.create_index("ix_timing_events_at", ["at"], unique=False)

    op.create_table(
        "replies",
        sa.Column("id", ID, nullable=False),
        sa.Column("chat_id", ID, nullable=False),
        sa.Column("message_id", ID, nullable=False),
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("wait_ms", sa.Integer(), nullable=False),
        sa.Column("first_response_ms", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_replies_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], name=op.f("fk_replies_chat_id_chats")),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_replies_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replies")),
        sa.UniqueConstraint("message_id", name=op.f("uq_replies_message_id")),
    )
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.create_index("ix_replies_agent_at", ["agent_id", "at"], unique=False)
        batch_op.create_index("ix_replies_at", ["at"], unique=False)

    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queued_since", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("queue_ms", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("first_customer_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("first_response_ms", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("waiting_since", sa.DateTime(), nullable=True))
        for flag in ("wait_apologized", "agent_answered", "hold_expired", "asked_anything_else"):
            batch_op.add_column(
                sa.Column(flag, sa.Boolean(), server_default=sa.false(), nullable=False)
            )
        batch_op.add_column(sa.Column("held_since", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("closes_at", sa.DateTime(), nullable=True))
    # Chats waiting when this runs have been in the queue since they were queued.
    op.execute("UPDATE chats SET queued_since = queued_at WHERE status = 'queued'")


def downgrade() -> None:
    with op.batch_alter_table("chats", schema=None) as batch_op:
        for column in (
            "closes_at",
            "held_since",
            "asked_anything_else",
            "hold_expired",
            "agent_answered",
            "wait_apologized",
            "waiting_since",
            "first_response_ms",
            "first_customer_at",
            "queue_ms",
            "queued_since",
        ):
            batch_op.drop_column(column)

    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.drop_index("ix_replies_at")
        batch_op.drop_index("ix_replies_agent_at")
    op.drop_table("replies")

    with op.batch_alter_table("timing_events", schema=None) as batch_op:
        batch_op.drop_index("ix_timing_events_at")
    op.drop_table("timing_events")
