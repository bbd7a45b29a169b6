"""read receipts and attachments: each side's last read seq on a chat, uploaded files, the key
that signs their links

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("chats") as chats:
        chats.add_column(
            sa.Column("customer_read_seq", sa.BigInteger(), nullable=False, server_default="0")
        )
        chats.add_column(
            sa.Column("agent_read_seq", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("messages") as messages:
        messages.add_column(sa.Column("attachments", sa.JSON(), nullable=True))
    op.create_table(
        "attachments",
        sa.Column("id", Id, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("uploader", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_attachments_chat_id_chats")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_attachments_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_attachments_storage_key")),
    )
    op.create_index("ix_attachments_chat_seq", "attachments", ["chat_id", "seq"])
    op.create_table(
        "signing_keys",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_signing_keys")),
    )


def downgrade() -> None:
    op.drop_table("signing_keys")
    op.drop_index("ix_attachments_chat_seq", table_name="attachments")
    op.drop_table("attachments")
    with op.batch_alter_table("messages") as messages:
        messages.drop_column("attachments")
    with op.batch_alter_table("chats") as chats:
        chats.drop_column("agent_read_seq")
        chats.drop_column("customer_read_seq")
