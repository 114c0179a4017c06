"""``clearance policy check|show|hash|diff``: bundles as reviewable data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..core.instant import format_instant
from ..policy.canonical import canonical
from ..policy.diff import diff_policies
from .io import policy_or_exit

app = typer.Typer(help="Check, show, hash and diff policy bundles.", no_args_is_help=True)

Bundle = Annotated[Path | None, typer.Argument(help="Bundle directory (default: the shipped example).")]  # noqa: UP007


@app.command("check")
def check_command(bundle: Bundle = None) -> None:
    """Validate a bundle; list every problem as file:line: field: problem and exit 1 if any."""
    compiled = policy_or_exit(bundle)
    p = compiled.policy
    typer.echo(
        f"ok: {p.id} {compiled.version} ({len(p.models)} models, {len(p.entities)} entities, "
        f"{len(p.authorizations)} authorizations, {len(p.directives)} directives)"
    )


@app.command("hash")
def hash_command(bundle: Bundle = None) -> None:
    """Print the bundle's policy_version (content hash of the canonical form).

    A running server's decisions carry the version of the bundle *with the registry's records*,
    which changes with every registry write; its /healthz shows both (`bundle_version` is this).
    """
    typer.echo(policy_or_exit(bundle).version)


@app.command("show")
def show_command(
    bundle: Bundle = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the canonical form as JSON.")] = False,
) -> None:
    """Show what a bundle says: models and their control timelines, authorizations, entities."""
    compiled = policy_or_exit(bundle)
    p = compiled.policy
    if as_json:
        typer.echo(json.dumps({"policy_version": compiled.version, "policy": canonical(p)}, indent=2, ensure_ascii=False))
        return
    console = Console(highlight=False)
    console.print(f"[bold]{p.title or p.id}[/bold]  {compiled.version}")
    models = Table(title="Models", title_justify="left")
    for col in ("id", "name", "tier", "developer", "control timeline"):
        models.add_column(col, overflow="fold")
    for m in p.models:
        idx = compiled.models[m.id]
        timeline = "; ".join(f"{format_instant(c.at)} {c.state} ({c.rule})" for c in m.timeline) or "never controlled"
        models.add_row(m.id, m.name, idx.tier or "-", m.developer or "-", timeline)
    console.print(models)
    auths = Table(title="Authorizations", title_justify="left")
    for col in ("id", "kind", "models", "valid", "covers", "use cases", "obligations", "suspensions"):
        auths.add_column(col, overflow="fold")
    for a in p.authorizations:
        valid = f"{format_instant(a.start)} – {format_instant(a.end) if a.end is not None else 'open'}"
        cov = a.coverage
        covers = ", ".join([*sorted(cov.entities), *(f"@{d}" for d in sorted(cov.designations))])
        if cov.model_developer:
            covers += ", the model's developer"
        uc = a.use_cases
        ucs = ", ".join([*sorted(uc.use_cases), *(f"class {c}" for c in uc.classes)])
        if uc.entity_named:
            ucs += ", + named for the entity"
        obligations = ", ".join(o.code for o in a.obligations)
        suspensions = "; ".join(f"{s.entity or 'all'} from {format_instant(s.start)}" for s in a.suspensions)
        auths.add_row(a.id, a.kind, ", ".join(sorted(a.models)), valid, covers, ucs, obligations, suspensions or "-")
    console.print(auths)
    ents = Table(title="Entities", title_justify="left")
    for col in ("id", "name", "country", "kind", "designations", "facts", "restriction"):
        ents.add_column(col, overflow="fold")
    for e in p.entities:
        facts = ", ".join(f"{k}={v}" for k, v in e.facts)
        restriction = f"{e.restriction.status}: {e.restriction.list}" if e.restriction else "-"
        ents.add_row(e.id, e.name, e.country, e.kind, ", ".join(sorted(e.designations)) or "-", facts or "-", restriction)
    console.print(ents)


@app.command("diff")
def diff_command(
    old: Annotated[Path, typer.Argument(help="The bundle before.")],
    new: Annotated[Path, typer.Argument(help="The bundle after.")],
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when the policies differ.")] = False,
) -> None:
    """List what changed between two bundles, field by field."""
    a, b = policy_or_exit(old), policy_or_exit(new)
    changes = diff_policies(a.policy, b.policy)
    typer.echo(f"{a.version} -> {b.version}")
    for change in changes:
        typer.echo(str(change))
    typer.echo(f"{len(changes)} change(s)" if changes else "no change")
    if exit_code and changes:
        raise typer.Exit(1)


@app.command("impact")
def impact_command(
    proposed: Annotated[Path | None, typer.Option("--proposed", help="The proposed bundle directory.")] = None,  # noqa: UP007
    change: Annotated[str | None, typer.Option("--change", help="Proposed registry changes instead: JSON list of {kind, key, record}.")] = None,
    log: Annotated[Path | None, typer.Option("--log", help="JSONL of audited decisions (audit records or decision bodies); default: the audit log.")] = None,  # noqa: UP007
    since: Annotated[str | None, typer.Option(help="Replay requests audited from this instant.")] = None,
    until: Annotated[str | None, typer.Option(help="... up to this instant (inclusive).")] = None,
    examples: Annotated[int, typer.Option(help="Examples shown per kind of change.")] = 3,
    fmt: Annotated[str, typer.Option("--format", help="markdown or json.")] = "markdown",
) -> None:
    """Replay the audited requests of a period under a proposed bundle (or registry change) and report
    who would gain or lose access, by entity, model, use case and code, with examples."""
    from .licensing import run_impact

    run_impact(proposed, change, log, since, until, examples, fmt)
