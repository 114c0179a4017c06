"""``clearance explain``: the same decision as ``decide``, rendered for a person."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..core.decide import decide_json, invalid
from ..core.errors import RequestError
from ..services.explanation import render
from .io import NOW_HELP, POLICY_HELP, decode, now_or_exit, policy_or_exit, read_text


def explain_command(
    request: Annotated[str, typer.Argument(help="Request JSON file, or - for standard input.")] = "-",
    policy: Annotated[Path | None, typer.Option(help=POLICY_HELP)] = None,  # noqa: UP007
    now: Annotated[str | None, typer.Option(help=NOW_HELP)] = None,  # noqa: UP007
    width: Annotated[int | None, typer.Option(help="Render at this width (default: the terminal's).")] = None,  # noqa: UP007
    decision_id: Annotated[int | None, typer.Option(
        "--decision-id", help="Explain a recorded decision (a gateway or API answer's decision_id) as the server "
                              "made it: its audited request under the registry of that instant.")] = None,  # noqa: UP007
) -> None:
    """Explain one decision: the rule chain, each authorization considered, and what would change it."""
    if decision_id is not None:
        from .recorded import recorded_decision

        found = recorded_decision(decision_id)
        decision = decide_json(found.policy, found.document, found.at_ns, trace=True)
        Console(width=width, highlight=False).print(render(decision))
        if (decision.outcome, decision.code) != (found.recorded.get("outcome"), found.recorded.get("code")):
            typer.echo(f"note: recorded as {found.recorded.get('outcome')}/{found.recorded.get('code')}", err=True)
        return
    compiled = policy_or_exit(policy)
    obj, problem = decode(read_text(request))
    if problem is not None:
        decision = invalid(compiled, RequestError("", problem))
    else:
        decision = decide_json(compiled, obj, now_or_exit(now), trace=True)
    Console(width=width, highlight=False).print(render(decision))
