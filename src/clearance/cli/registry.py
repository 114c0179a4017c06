"""``clearance registry …``: dated registry changes, history and state from the command line.

Writes go through the same checks as the admin API; the actor recorded is
``cli:<user>``. The database is ``CLEARANCE_DATABASE_URL`` (default: ``clearance.db``
in the working directory), migrated on first use.
"""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer

from ..core.errors import ClearanceError
from ..registry.service import WriteRejected
from ..settings import Settings
from ..wiring import build_app
from .io import decode, dumps, err, instant_option, read_text

app = typer.Typer(help="Registry: entities, people, licences, suspensions, credentials, with full history.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer credentials (stored hashed; the token is shown once).", no_args_is_help=True)
app.add_typer(token_app, name="token")

KINDS = ("entity", "person", "authorization", "restriction")
Reason = Annotated[str, typer.Option(help="Why this change is made; kept in the history.")]
Effective = Annotated[str | None, typer.Option(help="When it takes effect (ISO-8601 with offset; default now).")]


def _service():
    app = build_app(Settings.from_env())
    app.screening  # noqa: B018 - built now, so registrations made here are screened like those through the API
    return app.service


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _instant(text: str | None, name: str = "instant") -> int | None:
    return instant_option(text, name)


def _body(source: str) -> dict:
    obj, problem = decode(read_text(source))
    if problem is not None or not isinstance(obj, dict):
        err.print(f"{source}: {problem or 'the record must be a JSON object'}")
        raise typer.Exit(2)
    return obj


def _run(action):
    try:
        return action()
    except WriteRejected as exc:
        for problem in exc.problems:
            err.print(f"rejected ({exc.status}): {problem}", soft_wrap=True)
        raise typer.Exit(1) from None
    except ClearanceError as exc:
        err.print(f"error: {exc}", soft_wrap=True)
        raise typer.Exit(1) from None


def _show(record) -> None:
    from ..registry.view import record_out

    typer.echo(dumps(record_out(record)))


@app.command("put")
def put(
    kind: Annotated[str, typer.Argument(help=f"One of {', '.join(KINDS)}.")],
    key: Annotated[str, typer.Argument(help="The record's id.")],
    record: Annotated[str, typer.Option("--file", help="The record as JSON (a file, or - for stdin).")],
    reason: Reason,
    effective: Effective = None,
) -> None:
    """Add or replace a record (a new version; the old one stays in the history)."""
    if kind not in KINDS:
        err.print(f"kind: `{kind}` is not one of {', '.join(KINDS)}")
        raise typer.Exit(2)
    body = _body(record)
    _show(_run(lambda: _service().put(kind, key, body, _instant(effective), _actor(), reason)))


@app.command("suspend")
def suspend(
    key: Annotated[str, typer.Argument(help="The suspension's id.")],
    record: Annotated[str, typer.Option("--file", help="JSON: authorization, entity (optional), from, until, reason.")],
    reason: Reason,
) -> None:
    """Suspend an authorization's coverage (for one entity or all), from its `from` instant."""
    body = _body(record)
    _show(_run(lambda: _service().suspend(key, body, _actor(), reason)))


@app.command("retire")
def retire(kind: str, key: str, reason: Reason, effective: Effective = None) -> None:
    """End a record from an instant on (its history stays)."""
    _show(_run(lambda: _service().retire(kind, key, _instant(effective), _actor(), reason)))


@app.command("history")
def history(kind: str, key: str) -> None:
    """Every version of one record, oldest first: effective and recorded instants, who and why."""
    from ..registry.view import record_out

    for record in _run(lambda: _service().history(kind, key)):
        typer.echo(dumps(record_out(record)))


@app.command("state")
def state(
    valid_at: Annotated[str | None, typer.Option(help="In force at this instant (default now).")] = None,
    known_at: Annotated[str | None, typer.Option(help="As recorded by this instant (default: everything).")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
) -> None:
    """What was in force at an instant, as known at another: one record per line."""
    from ..registry.view import record_out

    found = _run(lambda: _service().state(_instant(valid_at), _instant(known_at), kind))
    for _, record in sorted(found.items()):
        typer.echo(dumps(record_out(record)))


@token_app.command("create")
def token_create(
    scope: Annotated[list[str], typer.Option(help="admin, auditor, gateway or entity:<id>; repeat for several.")],
    reason: Reason,
    label: str = "",
    person: Annotated[str | None, typer.Option(help="The person a gateway key acts for.")] = None,
    entity: Annotated[str | None, typer.Option(help="The entity a gateway key acts for.")] = None,
    default_use_case: Annotated[str | None, typer.Option(
        help="A model key's use case when a call sends no X-Clearance-Use-Case header.")] = None,
    default_location: Annotated[str | None, typer.Option(
        help="A model key's country when no trusted proxy says where the caller is.")] = None,
) -> None:
    """Create a credential and print its token once.

    A model key (for the gateway's /v1/chat/completions etc.) is `--scope gateway --person ID`,
    best with `--default-use-case`; admin and auditor tokens are for the admin and audit API.
    """
    fields = {k: v for k, v in {"label": label, "person": person, "entity": entity, "default_use_case": default_use_case,
                                "default_location": default_location}.items() if v}
    issued = _run(lambda: _service().create_credential(list(scope), _actor(), reason, **fields))
    typer.echo(json.dumps({"key": issued.key, "token": issued.token, "scopes": issued.record.scopes}))
    err.print("the token is shown once; it is stored only as a hash")


@token_app.command("revoke")
def token_revoke(key: str, reason: Reason) -> None:
    """Revoke a credential from now on."""
    _show(_run(lambda: _service().retire("credential", key, None, _actor(), reason)))
