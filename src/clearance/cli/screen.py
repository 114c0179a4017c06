"""``clearance screen FILE.csv``: screen a file of names against the live list snapshots.

The input is CSV with a header; the name column (default ``name``) is required,
a country column (default ``country``, ISO codes or names, ``;``-separated for
several) and a kind column (``entity``/``individual``) are used when present, and
so are evidence columns: ``date_of_birth`` (or ``dob``), ``nationality`` and
``ids`` (or ``id``), each ``;``-separated. Evidence that agrees or differs is named
in each hit's explanation.
Results go to ``--out`` as CSV (one row per input row, the best hit) or JSON
(every hit with its explanation), chosen by ``--format`` or the file suffix;
without ``--out``, JSON Lines to standard output. Exit status 2 on bad input;
with ``--exit-code``, 1 when any row is a match or a possible match.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..screening.match import NO_MATCH, Screening
from .io import dumps, err
from .lists import run, screening_service

CSV_FIELDS = ("row", "name", "country", "outcome", "score", "list", "entry_uid", "entry_name", "matched_name",
              "agreed", "disagreed", "reasons", "hits")


def screen_command(
    file: Annotated[Path, typer.Argument(help="CSV with a header: name[, country][, kind].")],
    out: Annotated[Path | None, typer.Option(help="Write results here (.csv or .json); default: JSON Lines on stdout.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv or json (default: from --out's suffix).")] = None,
    name_column: Annotated[str, typer.Option(help="The column holding names.")] = "name",
    country_column: Annotated[str, typer.Option(help="The column holding countries (optional).")] = "country",
    kind_column: Annotated[str, typer.Option(help="The column holding entity/individual (optional).")] = "kind",
    dob_column: Annotated[str, typer.Option(help="The column holding dates of birth, YYYY[-MM[-DD]] (optional).")] = "date_of_birth",
    nationality_column: Annotated[str, typer.Option(help="The column holding nationalities (optional).")] = "nationality",
    ids_column: Annotated[str, typer.Option(help="The column holding passport, tax or registration numbers (optional).")] = "ids",
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when any name is flagged.")] = False,
) -> None:
    """Screen a CSV file of names (and optional countries) against the restricted-party lists."""
    rows = _read(file, name_column)
    chosen = (fmt or (out.suffix.lstrip(".") if out else "jsonl")).lower()
    if chosen not in ("csv", "json", "jsonl"):
        err.print(f"--format: `{chosen}` is not csv or json")
        raise typer.Exit(2)
    results: list[Screening] = []
    with screening_service() as screening:
        matcher = run(screening.matcher)
        columns = (TextColumn("screening"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
            task = progress.add_task("screen", total=len(rows))
            for row in rows:
                results.append(matcher.screen(
                    row[name_column], _many(row, country_column), row.get(kind_column) or None,
                    dates_of_birth=_many(row, dob_column, "dob"), nationalities=_many(row, nationality_column),
                    ids=_many(row, ids_column, "id")))
                progress.advance(task)
    _write(rows, results, out, chosen, name_column, country_column)
    unscreenable = [i for i, r in enumerate(results, 1) if not r.tokens]
    if unscreenable:
        # No letters or digits: nothing to compare, which is not the same as nothing found.
        err.print(f"rows with no name to screen (review them by hand): {', '.join(map(str, unscreenable[:20]))}")
    flagged = sum(r.outcome != NO_MATCH or not r.tokens for r in results)
    err.print(f"{len(results)} name(s) screened: {sum(r.outcome == 'match' for r in results)} match, "
              f"{sum(r.outcome == 'possible-match' for r in results)} possible match, {len(results) - flagged} no match, "
              f"{len(unscreenable)} unscreenable")
    if exit_code and flagged:
        raise typer.Exit(1)


def _many(row: dict[str, str], column: str, other: str = "") -> list[str]:
    """A column's ``;``-separated values (``other``: a shorter header that means the same)."""
    text = row.get(column) or (row.get(other) if other else "") or ""
    return [v.strip() for v in text.split(";") if v.strip()]


def _read(file: Path, name_column: str) -> list[dict[str, str]]:
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"{file}: cannot read: {exc}")
        raise typer.Exit(2) from None
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or name_column not in reader.fieldnames:
        err.print(f"{file}:1: the header has no `{name_column}` column (found: {', '.join(reader.fieldnames or [])})")
        raise typer.Exit(2)
    rows = []
    for row in reader:
        if None in row:
            err.print(f"{file}:{reader.line_num}: more fields than the header names")
            raise typer.Exit(2)
        rows.append({k: v or "" for k, v in row.items()})
    return rows


def _write(rows: list[dict[str, str]], results: list[Screening], out: Path | None, fmt: str, name_column: str, country_column: str) -> None:
    if fmt == "csv":
        handle = out.open("w", newline="", encoding="utf-8") if out else sys.stdout
        try:
            writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
            writer.writeheader()
            for i, (row, result) in enumerate(zip(rows, results, strict=True), 1):
                writer.writerow(_flat(i, row.get(name_column, ""), row.get(country_column, ""), result))
        finally:
            if out:
                handle.close()
        return
    documents = [{"row": i, **r.to_dict()} for i, r in enumerate(results, 1)]
    if fmt == "json" and out is not None:
        out.write_text(json.dumps(documents, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    target = out.open("w", encoding="utf-8") if out else sys.stdout
    try:
        for doc in documents:
            target.write(dumps(doc) + "\n")
    finally:
        if out:
            target.close()


def _flat(i: int, name: str, country: str, result: Screening) -> dict[str, Any]:
    best = result.best
    if best is None:
        return {"row": i, "name": name, "country": country, "outcome": result.outcome, "hits": 0}
    return {
        "row": i, "name": name, "country": country, "outcome": result.outcome, "score": f"{best.score:.4f}",
        "list": best.entry.list, "entry_uid": best.entry.uid, "entry_name": best.entry.name,
        "matched_name": best.matched_name, "agreed": "; ".join(best.agreed), "disagreed": "; ".join(best.disagreed),
        "reasons": "; ".join(best.reasons), "hits": len(result.hits),
    }
