"""``clearance audit …``: verify the tamper-evident log, sign heads, export for auditors, rotate keys."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Annotated

import typer

from ..audit.verify import export_jsonl
from ..settings import Settings
from ..wiring import build_audit

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@app.command("verify")
def verify(as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False) -> None:
    """Recompute the whole log and check every signed head.

    Exit 0: intact. Exit 1: a record or head does not match (the first mismatch is named).
    Exit 2: records exist but no signed head covers them yet, so there is nothing to verify against.
    """
    log = build_audit(Settings.from_env())
    try:
        report = log.verify()
    finally:
        log.close()
    unsigned = report.code == "no-heads" and len(report.problems) == 1
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
    elif unsigned:
        typer.echo(f"cannot verify yet: {report.message}. Sign one with `clearance audit head` (a server signs one "
                   "at start-up, on its schedule and at a clean stop), then verify again. If heads were signed "
                   "before, their absence is itself a sign of tampering.")
    else:
        typer.echo(report.message)
        if report.first_bad_index is not None:
            typer.echo(f"first record that does not match: {report.first_bad_index}")
    raise typer.Exit(0 if report.ok else 2 if unsigned else 1)


@app.command("head")
def head() -> None:
    """Sign a tree head over everything stored now, and print it."""
    from ..core.instant import format_instant

    log = build_audit(Settings.from_env())
    try:
        signed = log.sign_head()
    finally:
        log.close()
    typer.echo(signed.to_json().decode())
    head = signed.head
    # The JSON is the signed form (nanoseconds); people get the instant readable, on stderr.
    typer.echo(f"signed head: {head.size} records, at {format_instant(head.at_ns)}, key {head.key_id}", err=True)


@app.command("export")
def export(
    out: Annotated[Path, typer.Argument(help="Directory to write the export into.")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl: records.jsonl, heads.jsonl and public/ for offline "
                                     "verification; parquet: day=YYYY-MM-DD/part-N.parquet for analytics "
                                     "(needs clearance[analytics]).")] = "jsonl",
) -> None:
    """Everything an auditor needs to verify offline (`python -m clearance.audit.verify out/records.jsonl
    out/heads.jsonl out/public`), or with --format parquet a day-partitioned dataset to query with DuckDB."""
    if fmt not in ("jsonl", "parquet"):
        typer.echo(f"error: --format: `{fmt}` is not one of jsonl, parquet", err=True)
        raise typer.Exit(2)
    log = build_audit(Settings.from_env())
    try:
        if fmt == "parquet":
            _export_parquet(log, out)
            return
        out.mkdir(parents=True, exist_ok=True)
        size = log.store.size()
        with open(out / "records.jsonl", "wb") as f:
            for start in range(0, size, 100_000):
                for raw in log.store.raw(start, min(size, start + 100_000)):
                    f.write(raw + b"\n")
        with open(out / "heads.jsonl", "wb") as f:
            export_jsonl(log.store.heads(), f)
        shutil.copytree(log.keys.public_dir, out / "public", dirs_exist_ok=True)
        typer.echo(f"{size} records, {len(log.store.heads())} heads written to {out}")
    finally:
        log.close()


def _export_parquet(log, out: Path) -> None:  # noqa: ANN001 - an AuditLog
    from ..services.audit_parquet import ExportError, export_parquet

    head = log.store.latest_head()
    try:
        done = export_parquet(log.store, out, head=None if head is None else head.to_dict())
    except ExportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{done.records} records written to {done.files} Parquet files over {done.days} days in {out}")


@app.command("report")
def report(
    entity: Annotated[str, typer.Option(help="The entity whose use is reported.")],
    quarter: Annotated[str, typer.Option(help="The quarter, e.g. 2026Q3.")],
    out: Annotated[Path | None, typer.Option(help="Write <entity>-<quarter>.html and .json into this directory.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report (when no --out).")] = False,
) -> None:
    """The quarterly audit report of one entity, as HTML and JSON, tied to a signed tree head."""
    from ..services.audit_report import ReportError, entity_known, quarter_report
    from ..services.report_html import render_html
    from ..wiring import build_app

    settings = Settings.from_env()
    registry = build_app(settings, audited=False)
    try:
        registered = dict(registry.live.current().entities)
    finally:
        registry.close()
    log = build_audit(settings)
    try:
        if not entity_known(log, entity, registered):
            typer.echo(f"error: --entity: `{entity}` is not an entity of the policy and no record names it", err=True)
            raise typer.Exit(2)
        try:
            found = quarter_report(_signed(log), entity, quarter, registered.get(entity))
        except ReportError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    finally:
        log.close()
    if out is None:
        typer.echo(json.dumps(found, indent=2) if as_json else render_html(found))
        return
    out.mkdir(parents=True, exist_ok=True)
    # An id is data, not a path: anything but letters, digits, `.`, `_` and `-` becomes `_`,
    # so `--entity ../x` names a file inside --out, never one beside it.
    stem = out / f"{_file_safe(entity)}-{found['period']['quarter']}"
    stem.with_suffix(".json").write_text(json.dumps(found, indent=2) + "\n")
    stem.with_suffix(".html").write_text(render_html(found))
    typer.echo(f"wrote {stem}.html and {stem}.json ({found['totals']['decisions']} decisions)")


@app.command("rotate-key")
def rotate_key() -> None:
    """Start signing with a new key; old public keys stay published to verify old heads."""
    log = build_audit(Settings.from_env())
    try:
        typer.echo(f"active key: {log.keys.rotate()}")
    finally:
        log.close()


def _file_safe(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")
    return safe or "_"


def _signed(log):  # noqa: ANN001, ANN202 - an AuditLog
    """The CLI writes (it is the log's operator): a report covers everything stored now."""
    log.sign_if_grown()
    return log


@app.command("check-server")
def check_server(
    url: Annotated[str, typer.Argument(help="The clearance server, e.g. https://clearance.example.")],
    token_env: Annotated[str, typer.Option(help="Environment variable holding an auditor token.")] = "CLEARANCE_TOKEN",
    verifier_key: Annotated[list[str] | None, typer.Option(
        help="A checkpoint verifier key you trust (repeatable); without one, the keys the server publishes are used.")] = None,
    seq: Annotated[list[int] | None, typer.Option(help="Also prove that record SEQ is in the signed log (repeatable).")] = None,
    witness: Annotated[list[str] | None, typer.Option(
        help="A witness's cosignature/v1 verifier key (repeatable), for a checkpoint you bring with --note.")] = None,
    quorum: Annotated[int, typer.Option(help="How many of the witnesses must have co-signed.")] = 0,
    note: Annotated[Path | None, typer.Option(
        help="Verify this (co-signed) checkpoint file instead of the server's current one.")] = None,
) -> None:
    """Fetch the server's latest checkpoint (and inclusion proofs) and verify them here; exit 1 if any fails."""
    import os

    from ..audit.checkpoint import NoteError, parse_verifier_key, verify_checkpoint
    from ..client import ClearanceAPIError, Client, offline

    token = os.environ.get(token_env)
    if not token:
        typer.echo(f"error: set {token_env} to an auditor token", err=True)
        raise typer.Exit(2)
    ok = True
    with Client(url, token) as client:
        try:
            published = client.checkpoint_keys()
            keys = verifier_key or published.verifier_keys
            if not verifier_key:
                typer.echo("note: verifying with the keys the server publishes; pin them with --verifier-key", err=True)
            text = note.read_text() if note is not None else client.checkpoint()
            checkpoint = verify_checkpoint(text, [parse_verifier_key(k) for k in keys], published.origin,
                                           [parse_verifier_key(w) for w in witness or []], quorum)
            typer.echo(f"checkpoint OK: {checkpoint.origin}, {checkpoint.size} records, root {checkpoint.root.hex()}")
            public = offline.public_keys(client.audit_keys())
            for n in seq or []:
                proof = client.inclusion_proof(n)
                try:
                    size = offline.verify_inclusion_proof(proof.raw, public)
                    typer.echo(f"record {n}: in the signed log of {size} records")
                except offline.VerificationFailed as exc:
                    ok = False
                    typer.echo(f"record {n}: FAILED: {exc}")
        except (NoteError, offline.VerificationFailed) as exc:
            typer.echo(f"FAILED: {exc}")
            raise typer.Exit(1) from None
        except ClearanceAPIError as exc:
            typer.echo(f"error: the server answered {exc}", err=True)
            raise typer.Exit(2) from None
    raise typer.Exit(0 if ok else 1)
