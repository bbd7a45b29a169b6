"""promises and handovers: callbacks and follow-ups promised by agents, and shift handovers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "promises",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("chat_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("complaint_id", ID, nullable=True),
        sa.Column("made_by_id", ID, nullable=False),
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("message_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("done_by", sa.String(length=100), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], name=op.f("fk_promises_chat_id_chats")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_promises_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_promises_complaint_id_complaints")
        ),
        sa.ForeignKeyConstraint(
            ["made_by_id"], ["agents.id"], name=op.f("fk_promises_made_by_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_promises_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promises")),
    )
    with op.batch_alter_table("promises", schema=None) as batch_op:
        batch_op.create_index("ix_promises_state_due", ["state", "due_at"], unique=False)
        batch_op.create_index("ix_promises_agent_state", ["agent_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_promises_chat_id"), ["chat_id"], unique=False)

    op.create_table(
        "handovers",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("why", sa.String(length=32), nullable=False),
        sa.Column("shift", sa.String(length=32), nullable=True),
        sa.Column("from_agent_id", ID, nullable=False),
        sa.Column("to_agent_id", ID, nullable=True),
        sa.Column("what", sa.String(length=16), nullable=False),
        sa.Column("ref_id", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_agent_id"], ["agents.id"], name=op.f("fk_handovers_from_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["to_agent_id"], ["agents.id"], name=op.f("fk_handovers_to_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handovers")),
    )
    with op.batch_alter_table("handovers", schema=None) as batch_op:
        batch_op.create_index("ix_handovers_at", ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("handovers")
    op.drop_table("promises")
