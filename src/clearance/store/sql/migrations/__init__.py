"""The Alembic environment for the registry schema, shipped inside the package.

Run it through ``clearance.store.sql.migrate``; no ``alembic.ini`` is needed.
"""
