"""``SqlEvalStore``: evaluation runs and their answered items, on SQLite or PostgreSQL.

Items are inserted once, in batches, each batch one transaction: a batch that committed
is never sent again by a resumed run, and one that did not leaves no trace, so a crash
neither loses a stored answer nor stores one twice (the primary key forbids it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from .engine import WRITE, unavailable
from .tables import eval_items as I
from .tables import eval_runs as R

RUN_FIELDS = ("id", "suite", "suite_hash", "items_hash", "target", "model", "judge", "status", "total", "created_at",
              "updated_at", "config", "counters", "error")
ITEM_FIELDS = ("idx", "key", "category", "template", "prompt", "response", "label", "score", "latency_ms", "attempts",
               "status", "error", "at_ns")


class SqlEvalStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def close(self) -> None:
        self.engine.dispose()

    def create_run(self, run: dict[str, Any]) -> None:
        with unavailable(self.engine, "evaluation store"), self.engine.connect().execution_options(**WRITE) as conn, \
                conn.begin():
            conn.execute(insert(R).values(**{k: run[k] for k in RUN_FIELDS}))

    def update_run(self, run_id: str, **fields: Any) -> None:
        with unavailable(self.engine, "evaluation store"), self.engine.connect().execution_options(**WRITE) as conn, \
                conn.begin():
            conn.execute(update(R).where(R.c.id == run_id).values(**fields))

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        with unavailable(self.engine, "evaluation store"), self.engine.connect() as conn:
            row = conn.execute(select(R).where(R.c.id == run_id)).mappings().first()
            if row is None:
                return None
            done = conn.scalar(select(func.count()).select_from(I).where(I.c.run_id == run_id))
        return {**dict(row), "stored": int(done or 0)}

    def list_runs(self, limit: int = 100) -> list[dict[str, Any]]:
        with unavailable(self.engine, "evaluation store"), self.engine.connect() as conn:
            rows = conn.execute(select(R).order_by(R.c.created_at.desc()).limit(limit)).mappings().all()
            counts = dict(conn.execute(select(I.c.run_id, func.count()).group_by(I.c.run_id)).all())
        return [{**dict(r), "stored": int(counts.get(r["id"], 0))} for r in rows]

    def stored_indexes(self, run_id: str) -> set[int]:
        with unavailable(self.engine, "evaluation store"), self.engine.connect() as conn:
            return set(conn.scalars(select(I.c.idx).where(I.c.run_id == run_id)))

    def add_items(self, run_id: str, items: Sequence[dict[str, Any]], counters: dict[str, int] | None = None,
                  at_ns: int | None = None) -> None:
        """Store answered items (and the run's counters) in one transaction."""
        if not items and counters is None:
            return
        with unavailable(self.engine, "evaluation store"), self.engine.connect().execution_options(**WRITE) as conn, \
                conn.begin():
            if items:
                conn.execute(insert(I), [{"run_id": run_id, **{k: item.get(k) for k in ITEM_FIELDS}} for item in items])
            if counters is not None:
                values: dict[str, Any] = {"counters": counters}
                if at_ns is not None:
                    values["updated_at"] = at_ns
                conn.execute(update(R).where(R.c.id == run_id).values(**values))

    def items(self, run_id: str) -> list[dict[str, Any]]:
        with unavailable(self.engine, "evaluation store"), self.engine.connect() as conn:
            rows = conn.execute(select(I).where(I.c.run_id == run_id).order_by(I.c.idx)).mappings().all()
        return [dict(r) for r in rows]
