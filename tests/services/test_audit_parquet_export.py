"""The Parquet export holds every record once, partitioned by UTC day, and DuckDB over it counts
exactly what the quarterly report counts (by outcome, code and entity, per quarter)."""

from __future__ import annotations

import json
import random

import duckdb
import pytest

from clearance.audit.keys import KeyRing
from clearance.core.instant import parse_instant
from clearance.services import audit_parquet
from clearance.services.audit_log import AuditLog
from clearance.services.audit_parquet import ExportError, export_parquet
from clearance.services.audit_report import quarter, quarter_report
from clearance.store.audit_memory import MemoryAuditStore
from clearance.store.clock import FixedClock

ENTITIES = ("stripe", "acme", "globex")
OUTCOMES = (("permit", "authorized"), ("deny", "license-required"), ("deny", "restricted-party"),
            ("review", "pending-review"), ("deny", "prohibited-use"))
QUARTERS = ("2026Q2", "2026Q3", "2026Q4")


def ns(text: str) -> int:
    return int(parse_instant(text))


@pytest.fixture
def log(tmp_path):
    """About 900 records over three quarters, three entities, decisions and completions; seq order is
    only nearly time order (late records), as with several gateways writing one log."""
    audit = AuditLog(MemoryAuditStore(), KeyRing.create(tmp_path / "keys"), FixedClock(ns("2027-01-02T00:00:00Z")))
    rng = random.Random(16)
    start, end = ns("2026-04-01T00:00:00Z"), ns("2027-01-01T00:00:00Z")
    at = start
    while at < end - 86_400 * 10**9:
        at += rng.randrange(1, 8 * 3600) * 10**9
        late = at - rng.randrange(0, 5 * 86_400) * 10**9 if rng.random() < 0.1 else at
        entity = rng.choice(ENTITIES)
        outcome, code = rng.choice(OUTCOMES)
        audit.append("decision", {
            "request": {"entity": entity, "model": "mythos-5", "use_case": rng.choice(("general", "coding")),
                        "person": {"id": f"p-{rng.randrange(40)}"}},
            "decision": {"outcome": outcome, "code": code, "authorization": "annex-a" if outcome == "permit" else None}},
            max(late, start))
        if outcome == "permit" and rng.random() < 0.7:
            audit.append("completion", {"entity": entity, "model": "mythos-5", "use_case": "general",
                                        "authorization": "annex-a", "usage": {"total_tokens": rng.randrange(1, 900)}},
                         at + 10**9)
    audit.sign_if_grown()
    yield audit
    audit.close()


def dataset(out) -> str:
    return f"read_parquet('{out}/day=*/*.parquet', hive_partitioning = true)"


def test_duckdb_over_the_export_counts_what_the_quarterly_report_counts(log, tmp_path, monkeypatch):
    out = tmp_path / "parquet"
    monkeypatch.setattr(audit_parquet, "OPEN_DAYS", 3)  # late records then reopen closed days: part-1 files
    done = export_parquet(log.store, out, page=97)
    assert done.records == log.store.size() > 800
    assert any(p.name == "part-1.parquet" for p in out.glob("day=*/*.parquet"))
    db = duckdb.connect()
    table = dataset(out)
    for entity in ENTITIES:
        for label in QUARTERS:
            period = quarter(label)
            report = quarter_report(log, entity, label)
            where = f"entity = ? AND at_ns >= {period.start_ns} AND at_ns < {period.end_ns}"
            outcomes = dict(db.execute(f"SELECT outcome, count(*) FROM {table} WHERE kind = 'decision' AND {where} "
                                       "GROUP BY outcome", [entity]).fetchall())
            totals = report["totals"]
            assert totals["decisions"] > 0
            assert (totals["decisions"], totals["permits"], totals["denials"], totals["reviews"]) == (
                sum(outcomes.values()), outcomes.get("permit", 0), outcomes.get("deny", 0), outcomes.get("review", 0))
            codes = dict(db.execute(f"SELECT code, count(*) FROM {table} WHERE kind = 'decision' "
                                    f"AND outcome <> 'permit' AND {where} GROUP BY code", [entity]).fetchall())
            assert codes == report["denials_by_code"]
            completions, tokens = db.execute(f"SELECT count(*), coalesce(sum(tokens), 0) FROM {table} "
                                             f"WHERE kind = 'completion' AND {where}", [entity]).fetchone()
            assert (completions, tokens) == (totals["completions"], totals["tokens"])
            # The day partitions select the same quarter as the instants do.
            by_day = db.execute(f"SELECT count(*) FROM {table} WHERE kind = 'decision' AND entity = ? AND "
                                f"CAST(day AS VARCHAR) >= ? AND CAST(day AS VARCHAR) < ?",
                                [entity, report["period"]["from"][:10], report["period"]["until"][:10]]).fetchone()[0]
            assert by_day == totals["decisions"]


def test_every_record_is_exported_once_with_its_bytes_leaf_and_day(log, tmp_path):
    out = tmp_path / "parquet"
    export_parquet(log.store, out, page=250)
    rows = duckdb.connect().execute(f"SELECT seq, data, leaf, CAST(day AS VARCHAR), at_utc FROM {dataset(out)} "
                                    "ORDER BY seq").fetchall()
    size = log.store.size()
    assert [r[0] for r in rows] == list(range(size))
    assert [r[1].encode() for r in rows] == log.store.raw(0, size)
    assert [bytes(r[2]) for r in rows] == log.store.leaf_hashes(0, size)
    for seq, data, _, day, at in rows:
        assert day == at.strftime("%Y-%m-%d") == parse_day(json.loads(data)["at_ns"]), seq
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["records"] == size and manifest["signed_head"] is None


def parse_day(at_ns: int) -> str:
    from datetime import UTC, datetime
    return datetime.fromtimestamp(at_ns // 10**9, UTC).strftime("%Y-%m-%d")


def test_an_export_refuses_a_directory_holding_another_export(log, tmp_path):
    out = tmp_path / "parquet"
    export_parquet(log.store, out)
    with pytest.raises(ExportError, match="already holds a Parquet export"):
        export_parquet(log.store, out)


def test_an_empty_log_exports_no_files(tmp_path):
    done = export_parquet(MemoryAuditStore(), tmp_path / "empty")
    assert (done.records, done.files, done.days) == (0, 0, 0)


def test_the_export_reads_the_log_a_page_at_a_time(log, tmp_path):
    reads: list[int] = []

    class Paged:
        """The log's store, recording how many records each read asks for."""

        def size(self) -> int:
            return log.store.size()

        def raw(self, start: int, end: int) -> list[bytes]:
            reads.append(end - start)
            return log.store.raw(start, end)

    done = export_parquet(Paged(), tmp_path / "parquet", page=64)
    assert max(reads) == 64 and sum(reads) == done.records == log.store.size()
