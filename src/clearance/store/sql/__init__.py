"""The SQL registry store: SQLAlchemy 2 Core over SQLite (embedded default) or PostgreSQL.

``make_engine`` opens a database, ``migrate``/``downgrade`` move its schema with the
Alembic environment shipped in ``migrations/``, and ``SqlRegistry`` implements
``clearance.ports.RegistryStore`` on it.
"""

from __future__ import annotations

from .engine import DEFAULT_PATH, make_engine, normalize_url
from .migrate import downgrade, migrate
from .registry import SqlRegistry

__all__ = ["DEFAULT_PATH", "SqlRegistry", "downgrade", "make_engine", "migrate", "normalize_url"]
