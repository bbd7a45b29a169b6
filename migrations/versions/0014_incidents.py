"""incidents: surge mode for outages; guests' device and address digest (S-classes batch);
a callback's follow-up (an incident's resolution to pass on)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("device", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("address", sa.String(length=32), nullable=True))
    with op.batch_alter_table("callbacks") as batch:
        batch.add_column(sa.Column("follow_up", sa.Text(), nullable=True))
    op.create_table(
        "incidents",
        sa.Column("id", ID, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=True),
        sa.Column("known_issue", sa.Text(), nullable=False),
        sa.Column("eta_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("batch_id", ID, nullable=True),
        sa.Column("declared_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["complaint_batches.id"],
            name=op.f("fk_incidents_batch_id_complaint_batches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index("ix_incidents_status", "incidents", ["status", "id"])
    op.create_table(
        "incident_links",
        sa.Column("incident_id", ID, nullable=False),
        sa.Column("chat_id", ID, nullable=False),
        sa.Column("complaint_id", ID, nullable=True),
        sa.Column("why", sa.String(length=16), nullable=False),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_links_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_incident_links_chat_id_chats")
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_incident_links_complaint_id_complaints"),
        ),
        sa.PrimaryKeyConstraint("incident_id", "chat_id", name=op.f("pk_incident_links")),
    )
    op.create_index("ix_incident_links_chat", "incident_links", ["chat_id"])
    op.create_table(
        "incident_deliveries",
        sa.Column("incident_id", ID, nullable=False),
        sa.Column("chat_id", ID, nullable=False),
        sa.Column("way", sa.String(length=16), nullable=False),
        sa.Column("callback_id", ID, nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_deliveries_incident_id_incidents"),
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_incident_deliveries_chat_id_chats")
        ),
        sa.ForeignKeyConstraint(
            ["callback_id"],
            ["callbacks.id"],
            name=op.f("fk_incident_deliveries_callback_id_callbacks"),
        ),
        sa.PrimaryKeyConstraint("incident_id", "chat_id", name=op.f("pk_incident_deliveries")),
    )


def downgrade() -> None:
    op.drop_table("incident_deliveries")
    op.drop_index("ix_incident_links_chat", table_name="incident_links")
    op.drop_table("incident_links")
    op.drop_index("ix_incidents_status", table_name="incidents")
    op.drop_table("incidents")
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_column("follow_up")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("address")
        batch.drop_column("device")
