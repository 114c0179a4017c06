"""``clearance db``: the registry database's schema, moved by one process at a time.

``upgrade`` is what a deployment runs once before its gateways start (an init container, a
``depends_on`` step); gateways also migrate on start, and the lock in
:mod:`clearance.store.sql.migrate` makes every concurrent run wait for the first.
"""

from __future__ import annotations

import typer

from ..settings import Settings

app = typer.Typer(help="The registry database's schema (CLEARANCE_DATABASE_URL).", no_args_is_help=True)


def _url() -> str:
    settings = Settings.from_env()
    if settings.in_memory:
        typer.echo("error: CLEARANCE_DATABASE_URL is memory:; there is no schema to migrate", err=True)
        raise typer.Exit(2)
    return settings.database_url


@app.command("upgrade")
def upgrade_command(revision: str = typer.Argument("head", help="The revision to reach.")) -> None:
    """Migrate the schema to ``revision`` (default: the newest this version ships), under the migration lock."""
    from ..observability.logs import redact
    from ..ports import StoreUnavailable
    from ..store.sql.migrate import migrate

    url = _url()
    try:
        before, after = migrate(url, revision)
    except StoreUnavailable as exc:
        typer.echo(f"error: {redact(str(exc))}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{redact(url)}: {before or 'empty'} -> {after}" if before != after else f"{redact(url)}: at {after}")


@app.command("current")
def current_command() -> None:
    """Print the schema revision the database is at, and the newest this version ships."""
    from ..store.sql.migrate import current, head

    typer.echo(f"at {current(_url()) or 'empty'} (newest: {head()})")
