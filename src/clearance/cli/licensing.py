"""``clearance criteria``, ``clearance self-check`` and ``clearance applications …``.

Criteria and self-checks read a bundle (``--policy``, default the shipped
example) or, with ``--registry``, the live registry state of
``CLEARANCE_DATABASE_URL``. Applications always live in the registry and every
transition is appended to the audit log; the actor recorded is ``cli:<user>``.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.errors import ClearanceError
from ..licensing.applications import TransitionRefused
from ..licensing.criteria import criteria
from ..licensing.record import InputError, Prospect, parse
from ..licensing.render import render
from ..licensing.selfcheck import self_check
from ..registry.service import WriteRejected
from .io import NOW_HELP, POLICY_HELP, decode, dumps, err, instant_option, now_or_exit, policy_or_exit, read_text

applications_app = typer.Typer(help="Licence applications: submit, follow, review, appeal; clocks and reports.", no_args_is_help=True)

PolicyOpt = Annotated[Path | None, typer.Option("--policy", help=POLICY_HELP)]  # noqa: UP007
Registry = Annotated[bool, typer.Option("--registry", help="Use the live registry state (CLEARANCE_DATABASE_URL) instead of a bundle.")]
Format = Annotated[str, typer.Option("--format", help="json, markdown or html.")]


def _policy(policy: Path | None, registry: bool):
    if registry:
        from ..settings import Settings
        from ..wiring import build_app

        def current():
            with build_app(Settings.from_env(), audited=False) as app:
                return app.live.current()

        return _run(current)
    return policy_or_exit(policy)


def _run(action):
    try:
        return action()
    except TransitionRefused as exc:
        for problem in exc.problems:
            err.print(f"refused: {problem}", soft_wrap=True)
        raise typer.Exit(1) from None
    except (InputError, WriteRejected) as exc:
        for problem in exc.problems:
            err.print(f"error: {problem}", soft_wrap=True)
        raise typer.Exit(1) from None
    except ClearanceError as exc:
        err.print(f"error: {exc}", soft_wrap=True)
        raise typer.Exit(1) from None


def _document(source: str) -> Any:
    obj, problem = decode(read_text(source))
    if problem is not None:
        err.print(f"{source}: {problem}")
        raise typer.Exit(2)
    return obj


def _emit(text: str) -> None:
    typer.echo(text)


def _format(fmt: str) -> str:
    if fmt not in ("json", "markdown", "md", "html"):
        err.print(f"--format: `{fmt}` is not one of json, markdown, html")
        raise typer.Exit(2)
    return fmt


def criteria_command(
    policy: PolicyOpt = None,
    fmt: Format = "markdown",
    at: Annotated[str | None, typer.Option("--at", help="The instant the criteria are stated for (default now).")] = None,
    registry: Registry = False,
) -> None:
    """Publish what each tier requires, which use cases and destinations are controlled, and which
    authorizations exist, generated from the policy (Markdown, HTML or JSON)."""
    _format(fmt)
    compiled = _policy(policy, registry)
    when = int(now_or_exit(at))
    _emit(_run(lambda: render(criteria(compiled, when), fmt)))


def self_check_command(
    source: Annotated[str, typer.Argument(help="JSON: organization (an id or a description), models, use_cases, users; - reads stdin.")],
    policy: PolicyOpt = None,
    fmt: Format = "markdown",
    now: Annotated[str | None, typer.Option("--now", help=NOW_HELP)] = None,
    registry: Registry = False,
) -> None:
    """Check an organization and a prospective use against every requirement, without applying.
    Exit 0 when everything asked for would be permitted, 3 otherwise."""
    _format(fmt)
    prospect = _run(lambda: parse(Prospect, _document(source)))
    compiled = _policy(policy, registry)
    at = prospect.at if prospect.at is not None else int(now_or_exit(now))
    result = _run(lambda: self_check(compiled, prospect, at))
    _emit(_run(lambda: render(result, fmt, "self-check")))
    if result["outcome"] != "permitted":
        raise typer.Exit(3)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _with_service(action):
    from ..settings import Settings
    from ..wiring import build_app

    with build_app(Settings.from_env()) as app:  # one audit writer: the application's own
        return _run(lambda: action(app.licensing))


@applications_app.command("submit")
def submit(
    source: Annotated[str, typer.Argument(help="JSON: entity, models, use_cases, users, justification; - reads stdin.")],
    app_id: Annotated[str | None, typer.Option("--id", help="The application's id (default: a fresh APP-…).")] = None,
) -> None:
    """Submit an application; prints it with its automatic assessment and clocks."""
    document = _document(source)
    typer.echo(dumps(_with_service(lambda s: s.submit(document, _actor(), app_id)), pretty=True))


@applications_app.command("list")
def list_command(state: Annotated[str | None, typer.Option(help="Only applications in this state.")] = None) -> None:
    """One line per application: id, entity, state, reviewer."""
    for app_id, body in _with_service(lambda s: s.all(state=state)).items():
        typer.echo(dumps({"id": app_id, "entity": body["entity"], "state": body["state"], "reviewer": body.get("reviewer")}))


@applications_app.command("show")
def show(app_id: str) -> None:
    """An application with its clocks as they stand now."""
    typer.echo(dumps(_with_service(lambda s: s.view(app_id)), pretty=True))


@applications_app.command("history")
def history(app_id: str) -> None:
    """Every version of an application: state, when, who and why."""
    from ..core.instant import format_instant

    for r in _with_service(lambda s: s.versions(app_id)):
        typer.echo(dumps({
            "seq": r.seq, "state": (r.body or {}).get("state"), "effective": format_instant(r.valid_from),
            "recorded": format_instant(r.recorded_at), "recorded_by": r.actor, "reason": r.reason, "record": r.body,
        }))


@applications_app.command("act")
def act(
    app_id: str,
    action: Annotated[str, typer.Argument(help="assign, start-review, request-information, respond, intend-to-deny, approve, deny, appeal, uphold, reverse, withdraw.")],
    note: Annotated[str, typer.Option(help="Why; kept in the application and the audit log.")] = "",
    reviewer: Annotated[str | None, typer.Option(help="For assign: the reviewer.")] = None,
    conditions: Annotated[str | None, typer.Option(help='For approve/reverse: JSON list, e.g. \'[{"code": "monitoring"}]\'.')] = None,
    criterion: Annotated[list[str] | None, typer.Option(help="For intend-to-deny/deny/uphold: a requirement id not met; repeat.")] = None,
) -> None:
    """Move an application through its state machine."""
    params: dict[str, Any] = {"note": note}
    if reviewer is not None:
        params["reviewer"] = reviewer
    if conditions is not None:
        try:
            params["conditions"] = json.loads(conditions)
        except json.JSONDecodeError as exc:
            err.print(f"conditions: malformed JSON: {exc.msg}")
            raise typer.Exit(2) from None
    if criterion:
        params["criteria"] = list(criterion)
    typer.echo(dumps(_with_service(lambda s: s.act(app_id, action, _actor(), params)), pretty=True))


@applications_app.command("due")
def due(within: Annotated[float | None, typer.Option(help="Days ahead counted as due soon (default: the bundle's).")] = None) -> None:
    """Reviewer deadlines overdue and due soon; applicant windows that have closed."""
    typer.echo(dumps(_with_service(lambda s: s.due(within)), pretty=True))


@applications_app.command("sweep")
def sweep() -> None:
    """Make final the denials whose intent-to-deny went unanswered past its final day."""
    for app_id in _with_service(lambda s: s.sweep()):
        typer.echo(app_id)


@applications_app.command("consistency")
def consistency_command() -> None:
    """Reviewer decisions that differ from the automatic assessment or from each other."""
    from ..licensing.consistency import report

    typer.echo(dumps(_with_service(lambda s: report(s.all())), pretty=True))



def _instant(text: str | None, name: str = "instant") -> int | None:
    return instant_option(text, name)


def _jsonl(path: Path, since: int | None, until: int | None):
    """Audited decisions from a JSONL file: audit records (``kind: decision``) or bare decision bodies."""
    with path.open(encoding="utf-8") as lines:
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                err.print(f"{path}:{n}: malformed JSON: {exc.msg}")
                raise typer.Exit(2) from None
            if isinstance(obj, dict) and "body" in obj and "kind" in obj:
                at_ns = obj.get("at_ns")
                if obj["kind"] != "decision" or not isinstance(at_ns, int):
                    continue
                if (since is not None and at_ns < since) or (until is not None and at_ns > until):
                    continue
                yield obj.get("seq", n), obj["body"]
            elif isinstance(obj, dict):
                yield n, obj


def run_impact(proposed: Path | None, change: str | None, log: Path | None, since: str | None, until: str | None, examples: int, fmt: str) -> None:
    """Replay the audit log (or ``log``) under the proposal.

    Replaying the registry's own audit log, each decision is decided against the registry as
    it was at that decision's instant (``RegistryTimeline``), so an identical bundle changes
    nothing; a ``--log`` file is replayed offline, against the proposed bundle alone.
    """
    from ..licensing.impact import RegistryTimeline, audited, markdown, replay, with_changes

    if (proposed is None) == (change is None):
        err.print("give exactly one of --proposed BUNDLE and --change FILE")
        raise typer.Exit(2)
    if fmt not in ("markdown", "md", "json"):
        err.print(f"--format: `{fmt}` is not one of markdown, json")
        raise typer.Exit(2)
    lo, hi = _instant(since, "since"), _instant(until, "until")
    from ..policy.load import read_bundle
    from ..settings import Settings
    from ..wiring import build_app

    app = build_app(Settings.from_env()) if proposed is None or log is None else None
    try:
        timeline = None
        if proposed is not None:
            policy = policy_or_exit(proposed)
            if app is not None:
                timeline = RegistryTimeline(app.service, read_bundle(proposed)[0])
        else:
            assert app is not None
            document = _document(change)  # type: ignore[arg-type]
            policy = _run(lambda: with_changes(app.service, document, app.clock.now_ns()))  # checked once, as of now
            timeline = RegistryTimeline(app.service, app.service.sections, document) if log is None else None
        if log is not None:
            records = _jsonl(log, lo, hi)
            timeline = None
        else:
            assert app is not None and app.audit is not None
            records = audited(app.audit.store, lo, hi)
        report = _run(lambda: replay(policy, records, examples, timeline))
    finally:
        if app is not None:
            app.close()
    typer.echo(dumps(report, pretty=True) if fmt == "json" else markdown(report))
