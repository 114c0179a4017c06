"""``clearance decide``: one request, or a JSONL batch, to contract decisions as JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..core.decide import decide_json, invalid
from ..core.errors import RequestError
from .io import NOW_HELP, POLICY_HELP, decode, dumps, now_or_exit, policy_or_exit, read_text


def decide_command(
    request: Annotated[str, typer.Argument(help="Request JSON file, or - for standard input.")] = "-",
    policy: Annotated[Path | None, typer.Option(help=POLICY_HELP)] = None,  # noqa: UP007 - Typer needs Optional
    batch: Annotated[bool, typer.Option("--batch", help="Read one request per line (JSONL); print one decision per line.")] = False,
    now: Annotated[str | None, typer.Option(help=NOW_HELP)] = None,  # noqa: UP007
    trace: Annotated[bool, typer.Option(help="Add the rule chain (`steps`) and the authorizations considered (`checks`).")] = False,
    pretty: Annotated[bool, typer.Option(help="Indent the JSON (single requests only).")] = False,
) -> None:
    """Decide access requests and print the decisions as JSON (see contracts/decision.md)."""
    compiled = policy_or_exit(policy)
    instant = now_or_exit(now)
    if not batch:
        obj, problem = decode(read_text(request))
        if problem is not None:
            decision = invalid(compiled, RequestError("", problem))
        else:
            decision = decide_json(compiled, obj, instant, trace)
        typer.echo(dumps(decision.to_dict(trace), pretty))
        return
    stream = sys.stdin if request == "-" else _open(request)
    out = sys.stdout
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        obj, problem = decode(line)
        if problem is not None:
            decision = invalid(compiled, RequestError("", f"line {number}: {problem}"))
        else:
            decision = decide_json(compiled, obj, instant, trace)
        out.write(dumps(decision.to_dict(trace)) + "\n")


def _open(path: str):
    try:
        return open(path, encoding="utf-8")  # noqa: SIM115 - streamed line by line, closed at exit
    except OSError as exc:
        from .io import err

        err.print(f"{path}: cannot read: {exc.strerror}")
        raise typer.Exit(2) from None
