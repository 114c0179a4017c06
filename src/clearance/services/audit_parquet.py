"""The audit log as a Parquet dataset, partitioned by UTC day, for analytics (DuckDB, pandas, Spark).

    OUT/day=2026-07-01/part-0.parquet
    OUT/day=2026-07-02/part-0.parquet
    OUT/manifest.json            records exported, and the newest signed head at export time

One row per record: ``seq``, ``at_ns``, ``at_utc`` (a UTC timestamp; ``at`` is a reserved word in SQL), ``kind``, the fields the
quarterly report counts by (``entity``, ``person``, ``model``, ``use_case``, ``outcome``,
``code``, ``authorization``, ``tokens`` for completions), the record's ``leaf`` hash and its
canonical JSON ``data`` (so anything not broken out stays queryable, and a row can be checked
against a signed head with an inclusion proof). The ``day`` column comes from the directory
name (Hive partitioning). The export is a copy for analysis, not evidence: the JSONL export
and ``verify`` are what prove integrity.

Memory stays bounded whatever the log's size: records are read ``page`` at a time and each
page's rows go to their day's file as row groups. Records arrive in seq order, which is
nearly but not strictly time order (several gateways), so a few days' files stay open at
once; a day whose file was closed and that shows up again gets a new part file.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..audit.record import leaf_hash
from ..core.instant import format_instant
from ..ports import AuditStore
from .audit_report import tokens_used

PAGE = 10_000
OPEN_DAYS = 8
DAY_NS = 86_400 * 1_000_000_000
TEXT_FIELDS = ("kind", "entity", "person", "model", "use_case", "outcome", "code", "authorization", "data")


class ExportError(ValueError):
    """The export cannot be written as asked (pyarrow missing, output not empty); the message says why."""


@dataclass(frozen=True)
class ParquetExport:
    records: int
    files: int
    days: int


def _arrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ExportError("the Parquet export needs pyarrow: pip install 'clearance[analytics]'") from None
    return pyarrow


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def row(line: bytes) -> dict[str, Any]:
    """The Parquet row of one stored canonical line."""
    record = orjson.loads(line)
    body, kind = _object(record.get("body")), record.get("kind")
    if kind == "decision":
        request, decision = _object(body.get("request")), _object(body.get("decision"))
        person = _object(request.get("person")).get("id")
        fields = (request.get("entity"), person, request.get("model"), request.get("use_case"),
                  decision.get("outcome"), decision.get("code"), decision.get("authorization"))
    else:
        person = body.get("person")
        person = _object(person).get("id") if isinstance(person, dict) else person
        fields = (body.get("entity"), person, body.get("model"), body.get("use_case"), None, None,
                  body.get("authorization"))
    out: dict[str, Any] = dict(zip(TEXT_FIELDS[1:8], map(_text, fields), strict=True))
    out.update(seq=record["seq"], at_ns=record["at_ns"], kind=kind,
               tokens=tokens_used(body) if kind == "completion" else None,
               leaf=leaf_hash(line), data=line.decode("utf-8"))
    return out


def _schema(pa: Any) -> Any:
    return pa.schema([
        ("seq", pa.int64()), ("at_ns", pa.int64()), ("at_utc", pa.timestamp("ns", tz="UTC")),
        *((name, pa.string()) for name in TEXT_FIELDS[:8]),
        ("tokens", pa.int64()), ("leaf", pa.binary(32)), ("data", pa.string()),
    ])


class _DayFiles:
    """At most ``OPEN_DAYS`` open Parquet writers, least recently used closed first."""

    def __init__(self, pa: Any, out: Path) -> None:
        self._pa, self._out, self._schema = pa, out, _schema(pa)
        self._open: OrderedDict[str, Any] = OrderedDict()
        self._parts: dict[str, int] = {}

    def write(self, day: str, rows: list[dict[str, Any]]) -> None:
        writer = self._open.get(day)
        if writer is None:
            part = self._parts.get(day, 0)
            self._parts[day] = part + 1
            folder = self._out / f"day={day}"
            folder.mkdir(exist_ok=True)
            writer = self._pa.parquet.ParquetWriter(folder / f"part-{part}.parquet", self._schema, compression="zstd")
            self._open[day] = writer
            while len(self._open) > OPEN_DAYS:
                self._open.popitem(last=False)[1].close()
        else:
            self._open.move_to_end(day)
        columns = {name: [r[name] for r in rows] for name in self._schema.names if name != "at_utc"}
        columns["at_utc"] = columns["at_ns"]
        writer.write_table(self._pa.table(columns, schema=self._schema))

    def close(self) -> tuple[int, int]:
        for writer in self._open.values():
            writer.close()
        self._open.clear()
        return sum(self._parts.values()), len(self._parts)


def export_parquet(store: AuditStore, out: Path, *, page: int = PAGE, head: dict[str, Any] | None = None
                   ) -> ParquetExport:
    """Write the records stored now to ``out`` (see the module docstring); ``head``, the newest signed
    head as a dict, goes into the manifest. Raises ``ExportError`` if ``out`` already holds an export."""
    pa = _arrow()
    out.mkdir(parents=True, exist_ok=True)
    if any(out.glob("day=*")):
        raise ExportError(f"{out} already holds a Parquet export: choose an empty directory "
                          "(files of two exports would be counted twice)")
    size = store.size()
    files = _DayFiles(pa, out)
    days: dict[int, str] = {}
    try:
        for start in range(0, size, page):
            by_day: dict[str, list[dict[str, Any]]] = {}
            for line in store.raw(start, min(size, start + page)):
                item = row(line)
                index = item["at_ns"] // DAY_NS
                day = days.get(index)
                if day is None:
                    day = days[index] = format_instant(index * DAY_NS)[:10]
                by_day.setdefault(day, []).append(item)
            for day, rows in by_day.items():
                files.write(day, rows)
    finally:
        count, day_count = files.close()
    manifest = {"records": size, "files": count, "days": day_count, "signed_head": head,
                "partitioning": "day=YYYY-MM-DD (UTC, from at_ns)"}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return ParquetExport(size, count, day_count)

