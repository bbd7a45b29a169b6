"""callbacks.contact sealed at rest: widened to text, the rows written before encrypted

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

A contact left for a callback is a Fernet token under KEFU_DATA_KEY from now on
(service/privacy/contacts.py); the rows already there are sealed here, with the key the
server will read them with. No rows, no key needed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from service.clock import SystemClock
from service.privacy.contacts import SEALED, Sealer, keys_of
from service.settings import Settings

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

callbacks = sa.table("callbacks", sa.column("id", sa.BigInteger()), sa.column("contact", sa.Text()))


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.alter_column(
            "contact", existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=False
        )
    rows = _rows(~callbacks.c.contact.startswith(SEALED))
    if rows:
        sealer = _sealer()
        _write({ident: sealer.seal(contact) for ident, contact in rows})


def downgrade() -> None:
    rows = _rows(callbacks.c.contact.startswith(SEALED))
    if rows:
        sealer = _sealer()
        _write({ident: sealer.open(contact) for ident, contact in rows})
    with op.batch_alter_table("callbacks") as batch:
        batch.alter_column(
            "contact", existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=False
        )


def _rows(where: sa.ColumnElement[bool]) -> list[tuple[int, str]]:
    query = sa.select(callbacks.c.id, callbacks.c.contact).where(where)
    return [(ident, contact) for ident, contact in op.get_bind().execute(query)]


def _sealer() -> Sealer:
    # The caller's keys (service/db/migrate.py), else the environment's, as the server reads.
    keys = context.config.attributes.get("data_keys") or keys_of(Settings())
    return Sealer(keys, SystemClock())


def _write(values: dict[int, str]) -> None:
    for ident, contact in values.items():
        op.get_bind().execute(
            callbacks.update().where(callbacks.c.id == ident).values(contact=contact)
        )
