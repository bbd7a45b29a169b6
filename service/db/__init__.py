"""Persistence: the engine, the session factory and the ORM models."""

from service.db.engine import Database, create_database

__all__ = ["Database", "create_database"]
