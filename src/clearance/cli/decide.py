"""``clearance decide``: one request, or a JSONL batch, to contract decisions as JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.decide import decide_json, invalid
from ..core.errors import RequestError
from ..core.index import CompiledPolicy
from ..core.instant import Instant
from .io import NOW_HELP, POLICY_HELP, decode, dumps, now_or_exit, policy_or_exit, read_bytes


def decide_command(
    request: Annotated[str, typer.Argument(help="Request JSON file, or - for standard input.")] = "-",
    policy: Annotated[Path | None, typer.Option(help=POLICY_HELP)] = None,  # noqa: UP007 - Typer needs Optional
    batch: Annotated[bool, typer.Option("--batch", help="Read one request per line (JSONL); print one decision per line.")] = False,
    now: Annotated[str | None, typer.Option(help=NOW_HELP)] = None,  # noqa: UP007
    trace: Annotated[bool, typer.Option(help="Add the rule chain (`steps`) and the authorizations considered (`checks`).")] = False,
    pretty: Annotated[bool, typer.Option(help="Indent the JSON (single requests only).")] = False,
    decision_id: Annotated[int | None, typer.Option(
        "--decision-id", help="Decide a recorded request again (a gateway or API answer's decision_id), under the "
                              "registry of its instant.")] = None,  # noqa: UP007
) -> None:
    """Decide access requests and print the decisions as JSON (see contracts/decision.md)."""
    if decision_id is not None:
        from .recorded import recorded_decision

        found = recorded_decision(decision_id)
        typer.echo(dumps(decide_json(found.policy, found.document, found.at_ns, trace).to_dict(trace), pretty))
        return
    compiled = policy_or_exit(policy)
    instant = now_or_exit(now)
    if not batch:
        typer.echo(dumps(_decide(compiled, read_bytes(request), instant, trace, ""), pretty))
        return
    # Bytes, not text: each line is decoded strictly on its own, so one bad line is one
    # invalid-request answer and the batch goes on, whatever the locale's encoding.
    stream = sys.stdin.buffer if request == "-" else _open(request)
    out = sys.stdout
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        out.write(dumps(_decide(compiled, line, instant, trace, f"line {number}: ")) + "\n")
        out.flush()


def _decide(compiled: CompiledPolicy, data: bytes, instant: Instant, trace: bool, where: str) -> dict[str, Any]:
    """One request's decision as JSON; a malformed request is an ``invalid-request`` decision, never a traceback."""
    obj, problem = decode(data)
    if problem is None:
        try:
            return decide_json(compiled, obj, instant, trace).to_dict(trace)
        except RecursionError:
            problem = "nested too deeply to decide"
    return invalid(compiled, RequestError("", where + problem)).to_dict(trace)


def _open(path: str):
    try:
        return open(path, "rb")  # noqa: SIM115 - streamed line by line, closed at exit
    except OSError as exc:
        from .io import err

        err.print(f"{path}: cannot read: {exc.strerror}")
        raise typer.Exit(2) from None
