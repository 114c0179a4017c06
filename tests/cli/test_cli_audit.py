"""``clearance audit …`` on a SQLite log: verify finds an edited record, exports verify offline, reports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from clearance.cli.main import app
from clearance.core.instant import parse_instant
from clearance.settings import Settings
from clearance.store.sql import make_engine
from clearance.wiring import build_audit

AT = int(parse_instant("2026-08-03T10:00:00Z"))


@pytest.fixture
def database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'clearance.db'}"
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", url)
    monkeypatch.delenv("CLEARANCE_AUDIT_KEYS", raising=False)
    log = build_audit(Settings.from_env())
    for i in range(30):
        outcome = "permit" if i % 3 else "deny"
        log.append("decision", {"request": {"entity": "stripe", "model": "mythos-5", "use_case": "general",
                                            "person": {"id": f"p-{i}"}},
                                "decision": {"outcome": outcome, "code": "authorized" if i % 3 else "license-required",
                                             "authorization": "annex-a" if i % 3 else None}}, AT + i)
        if i in (9, 19, 29):
            log.sign_head()
    log.close()
    return url


def run(*args: str):
    return CliRunner().invoke(app, ["audit", *args])


def test_verify_passes_on_an_intact_log_and_names_the_edited_index(database):
    ok = run("verify", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["ok"] is True
    engine = make_engine(database)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET data = replace(data, 'license-required', 'authorized') WHERE seq = 12"))
    engine.dispose()
    bad = run("verify")
    assert bad.exit_code == 1
    assert "first record that does not match: 12" in bad.output


def test_a_deleted_record_is_reported_at_its_index(database):
    engine = make_engine(database)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records WHERE seq = 21"))
    engine.dispose()
    bad = run("verify", "--json")
    assert bad.exit_code == 1 and json.loads(bad.output)["first_bad_index"] == 21


def test_an_export_verifies_with_the_standalone_verifier_and_only_the_public_keys(database, tmp_path):
    out = tmp_path / "export"
    assert run("export", str(out)).exit_code == 0
    assert not any(p.name.endswith(".key") or "private" in p.name for p in (out / "public").iterdir())
    verify = [sys.executable, "-m", "clearance.audit.verify", str(out / "records.jsonl"), str(out / "heads.jsonl"),
              str(out / "public")]
    assert subprocess.run(verify, capture_output=True, text=True, timeout=120).returncode == 0
    lines = (out / "records.jsonl").read_bytes().splitlines()
    lines[4] = lines[4].replace(b'"p-4"', b'"p-44"')
    (out / "records.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    failed = subprocess.run(verify, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1 and "FAILED" in failed.stdout


def test_the_quarterly_report_is_written_as_html_and_json(database, tmp_path):
    result = run("report", "--entity", "stripe", "--quarter", "2026Q3", "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r" / "stripe-2026Q3.json").read_text())
    assert report["totals"]["permits"] == 20 and report["denials_by_code"] == {"license-required": 10}
    assert "<svg" in (tmp_path / "r" / "stripe-2026Q3.html").read_text()
    assert run("report", "--entity", "stripe", "--quarter", "2026Q9").exit_code == 2


def test_verify_on_a_log_no_head_covers_yet_says_what_to_do_and_exits_2(tmp_path, monkeypatch):
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    monkeypatch.delenv("CLEARANCE_AUDIT_KEYS", raising=False)
    empty = run("verify")
    assert empty.exit_code == 0 and "0 records intact" in empty.output
    log = build_audit(Settings.from_env())
    log.append("decision", {"request": {"entity": "stripe"}}, AT)
    log.close()
    unsigned = run("verify")
    assert unsigned.exit_code == 2, unsigned.output
    assert "cannot verify yet" in unsigned.output and "clearance audit head" in unsigned.output
    assert json.loads(run("verify", "--json").output)["code"] == "no-heads"
    assert run("head").exit_code == 0
    assert run("verify").exit_code == 0


def test_a_report_never_writes_outside_out_and_an_unknown_entity_is_an_error(database, tmp_path):
    log = build_audit(Settings.from_env())
    log.append("decision", {"request": {"entity": "../evil"}, "decision": {"outcome": "deny"}}, AT)
    log.sign_head()
    log.close()
    out = tmp_path / "deep" / "r"
    result = run("report", "--entity", "../evil", "--quarter", "2026Q3", "--out", str(out))
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*evil*"))
    assert written == [out.relative_to(tmp_path) / "_evil-2026Q3.html", out.relative_to(tmp_path) / "_evil-2026Q3.json"]
    unknown = run("report", "--entity", "no-such-entity", "--quarter", "2026Q3", "--out", str(out))
    assert unknown.exit_code == 2 and "--entity" in unknown.output and "no-such-entity" in unknown.output


def test_a_parquet_export_is_partitioned_by_day_and_names_the_signed_head(database, tmp_path):
    import duckdb

    out = tmp_path / "parquet"
    done = run("export", str(out), "--format", "parquet")
    assert done.exit_code == 0, done.output
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("day=*/*")) == ["day=2026-08-03/part-0.parquet"]
    counts = dict(duckdb.connect().execute(
        f"SELECT outcome, count(*) FROM read_parquet('{out}/day=*/*.parquet', hive_partitioning = true) "
        "WHERE entity = 'stripe' GROUP BY outcome").fetchall())
    assert counts == {"permit": 20, "deny": 10}
    assert json.loads((out / "manifest.json").read_text())["signed_head"]["size"] == 30
    again = run("export", str(out), "--format", "parquet")
    assert again.exit_code == 2 and "already holds a Parquet export" in again.output


def test_an_unknown_export_format_is_refused(database, tmp_path):
    bad = run("export", str(tmp_path / "x"), "--format", "xml")
    assert bad.exit_code == 2 and "--format" in bad.output and not (tmp_path / "x").exists()
