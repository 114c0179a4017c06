"""Console sessions, shared by every worker and replica of a deployment.

One row per signed-in browser, keyed by the SHA-256 of its cookie's id (the id itself is never
stored), with the credential's key, the CSRF token, the idle and absolute expiries and the
messages to show once after a redirect. Expired rows are swept when sessions start.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("credential", sa.String(200), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("started_ns", sa.BigInteger(), nullable=False),
        sa.Column("seen_ns", sa.BigInteger(), nullable=False),
        sa.Column("expires_ns", sa.BigInteger(), nullable=False),
        sa.Column("flash", sa.JSON(), nullable=False),
    )
    op.create_index("ix_console_sessions_expires_ns", "console_sessions", ["expires_ns"])
    op.create_index("ix_console_sessions_credential", "console_sessions", ["credential"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_credential", "console_sessions")
    op.drop_index("ix_console_sessions_expires_ns", "console_sessions")
    op.drop_table("console_sessions")
