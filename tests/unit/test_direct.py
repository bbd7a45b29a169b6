"""service/db/direct.py builds one INSERT per model and refuses a model whose new row it could
not know in full without reading it back (the object would load lazily, or be wrong)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Integer, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from service.db import direct
from service.db.models import Chat, Customer


class Base(DeclarativeBase):
    pass


class Plain(Base):
    __tablename__ = "plain"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(10), default="x")
    note: Mapped[str | None] = mapped_column(String(10))


class ServerDefault(Base):
    __tablename__ = "server_default"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(server_default=func.now())


class CallableDefault(Base):
    __tablename__ = "callable_default"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=datetime.now)


def test_every_column_but_the_key_has_a_value() -> None:
    statement, columns, defaults = direct._built(Plain)
    assert columns == {"name": "name", "note": "note"}
    assert defaults == {"name": "x", "note": None}
    assert "RETURNING plain.id" in str(statement)
    assert direct._built(Plain)[0] is statement  # built once


def test_a_value_only_the_database_knows_is_refused() -> None:
    with pytest.raises(TypeError, match="only a server default"):
        direct._built(ServerDefault)
    with pytest.raises(TypeError, match="not a value"):
        direct._built(CallableDefault)


def test_the_models_a_hello_inserts_qualify() -> None:
    for model in (Chat, Customer):
        _, columns, _ = direct._built(model)
        assert "id" not in columns and columns
