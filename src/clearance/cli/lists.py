"""``clearance lists …``: restricted-party list snapshots, findings and their review.

Imports are stored beside the registry (``CLEARANCE_DATABASE_URL``) as versioned
snapshots; each import rescreens every entity and person. A file with a bad row is
rejected whole, naming each bad row, and the previous snapshot stays live.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ..core.errors import ClearanceError
from ..registry.service import WriteRejected
from ..screening.importers import ListFileError, read_csl, read_sdn
from ..screening.lists import ListEntry
from ..screening.service import ReviewRejected, ScreeningService, snapshot_dict
from .io import dumps, err

app = typer.Typer(help="Restricted-party lists: import, snapshots, diffs, findings and reviews.", no_args_is_help=True)
import_app = typer.Typer(help="Import a list file as a new snapshot (then rescreen everyone).", no_args_is_help=True)
app.add_typer(import_app, name="import")

T = TypeVar("T")
Reason = Annotated[str, typer.Option(help="Why; kept in the registry history and the audit log.")]
Date = Annotated[str, typer.Option("--date", help="The list's publication date (default: taken from the file name).")]
Json = Annotated[bool, typer.Option("--json", help="JSON output.")]


@contextmanager
def screening_service() -> Iterator[ScreeningService]:
    from ..settings import Settings
    from ..wiring import build_app

    with build_app(Settings.from_env()) as app:
        yield app.screening


def actor() -> str:
    return f"cli:{getpass.getuser()}"


def run(action: Callable[[], T]) -> T:
    try:
        return action()
    except ListFileError as exc:
        for problem in exc.problems:
            err.print(f"rejected: {problem}", soft_wrap=True, markup=False)
        err.print(f"{len(exc.problems)} problem(s); nothing imported, the previous snapshot stays live")
        raise typer.Exit(1) from None
    except (WriteRejected, ReviewRejected) as exc:
        err.print(f"rejected: {exc}", soft_wrap=True, markup=False)
        raise typer.Exit(1) from None
    except ClearanceError as exc:
        err.print(f"error: {exc}", soft_wrap=True, markup=False)
        raise typer.Exit(1) from None


@import_app.command("csl")
def import_csl(
    file: Annotated[Path, typer.Argument(help="The Consolidated Screening List: .jsonl, .json or .csv (optionally .gz).")],
    reason: Reason = "",
    date: Date = "",
) -> None:
    """Import the Consolidated Screening List (trade.gov)."""
    parsed = run(lambda: read_csl(file, date))
    _report(parsed, reason)


@import_app.command("sdn")
def import_sdn(
    sdn: Annotated[Path, typer.Argument(help="OFAC legacy sdn.csv (optionally .gz).")],
    alt: Annotated[Path | None, typer.Option(help="alt.csv: aliases.")] = None,
    add: Annotated[Path | None, typer.Option(help="add.csv: addresses.")] = None,
    reason: Reason = "",
    date: Date = "",
) -> None:
    """Import OFAC's SDN list in the legacy CSV format, with its aliases and addresses."""
    parsed = run(lambda: read_sdn(sdn, alt, add, date))
    _report(parsed, reason)


def _report(parsed: Any, reason: str) -> None:
    with screening_service() as screening:
        report = run(lambda: screening.import_list(parsed, actor(), reason))
    typer.echo(dumps(report.to_dict()))
    if report.unchanged:
        err.print(f"unchanged: the live {parsed.source} snapshot {report.snapshot.id} has the same content")


@app.command("status")
def status(as_json: Json = False) -> None:
    """Every snapshot, oldest first; the newest of each source is live."""
    with screening_service() as screening:
        snapshots = run(screening.lists.snapshots)
        live = {s.id for s in run(screening.lists.live).values()}
    if as_json:
        typer.echo(dumps([{**snapshot_dict(s), "live": s.id in live} for s in snapshots]))
        return
    if not snapshots:
        typer.echo("no list imported: screening is not in operation (clearance lists import csl FILE)")
    for s in snapshots:
        when = datetime.fromtimestamp(s.imported_at / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        counts = ", ".join(f"{k} {v:,}" for k, v in sorted(s.counts.items()))
        typer.echo(f"{'*' if s.id in live else ' '} {s.id:>4}  {s.source:<4} {s.list_date or '-':<10}  sha256:{s.content_sha256[:16]}  "
                   f"imported {when} by {s.actor}  {s.label}  [{counts}]")


@app.command("diff")
def diff(
    old: Annotated[int, typer.Argument(help="The older snapshot id (see `clearance lists status`).")],
    new: Annotated[int, typer.Argument(help="The newer snapshot id.")],
    as_json: Json = False,
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when the snapshots differ.")] = False,
) -> None:
    """Entries added, removed and changed between two snapshots."""
    with screening_service() as screening:
        found = run(lambda: screening.diff(old, new))
        before, after = screening.lists.snapshot(old), screening.lists.snapshot(new)
    if before is not None and after is not None and before.source != after.source:
        err.print(f"note: snapshot {old} is a `{before.source}` list and {new} a `{after.source}` list")
    if as_json:
        typer.echo(dumps(found.to_dict()))
    else:
        for entry in found.added:
            typer.echo(f"+ {_line(entry)}")
        for entry in found.removed:
            typer.echo(f"- {_line(entry)}")
        for before, after in found.changed:
            typer.echo(f"~ {_line(after)}" + (f" (was `{before.name}`)" if before.name != after.name else ""))
        typer.echo(f"{len(found.added)} added, {len(found.removed)} removed, {len(found.changed)} changed")
    if exit_code and (found.added or found.removed or found.changed):
        raise typer.Exit(1)


def _line(entry: ListEntry) -> str:
    return f"{entry.list} {entry.uid} `{entry.name}`" + (f" ({', '.join(entry.countries)})" if entry.countries else "")


@app.command("findings")
def findings(all_: Annotated[bool, typer.Option("--all", help="Include cleared findings.")] = False, as_json: Json = False) -> None:
    """Restricted-party findings in force: listed (denied) and possible (waiting for review)."""
    with screening_service() as screening:
        rows = run(lambda: screening.findings(include_cleared=all_))
    if not rows and not as_json:
        typer.echo("none: no restricted-party findings" + ("" if all_ else " in force"))
    for row in rows:
        if as_json:
            typer.echo(dumps(row))
        else:
            typer.echo(f"{row['subject']:<30} {row.get('status', ''):<8} {row.get('reference', '')}  {row.get('reason', '')}")


@app.command("clear")
def clear(subject: Annotated[str, typer.Argument(help="`<entity id>` or `person:<person id>`.")], reason: Reason) -> None:
    """A reviewer clears a finding (a false alarm); the entry is not raised again for this subject."""
    _review(subject, "clear", reason)


@app.command("confirm")
def confirm(subject: Annotated[str, typer.Argument(help="`<entity id>` or `person:<person id>`.")], reason: Reason) -> None:
    """A reviewer confirms a possible match: the subject is denied as a restricted party."""
    _review(subject, "confirm", reason)


def _review(subject: str, action: str, reason: str) -> None:
    with screening_service() as screening:
        record = run(lambda: screening.review(subject, action, actor(), reason))
    typer.echo(dumps({"seq": record.seq, "kind": record.kind, "key": record.key, "record": record.body,
                      "recorded_by": record.actor, "reason": record.reason}))


@app.command("rescreen")
def rescreen(reason: Reason = "rescreen on request") -> None:
    """Screen every entity and person again against the live snapshots."""
    with screening_service() as screening:
        found = run(lambda: screening.rescreen(actor(), reason))
    for finding in found:
        typer.echo(dumps({"subject": finding.subject.key, "status": finding.status, "hit": finding.hit}))
    err.print(f"{len(found)} new finding(s)")
