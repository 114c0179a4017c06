"""Alembic revisions of the registry schema, oldest first by ``down_revision``."""
