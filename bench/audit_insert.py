"""How the audit writer's batch insert compares by method: executemany, multi-row VALUES, COPY.

    python bench/audit_insert.py [--batch 200] [--batches 40] [--backends sqlite,postgres] [--rounds 2]

``SqlAuditStore.append_batch`` writes a group-commit batch in one transaction: take the writer
lock, read ``max(seq)``, insert the rows, commit. This times each step per batch for each way
of inserting the same rows (gateway-shaped records, already encoded), alternating the methods
over ``--rounds`` so the machine's other load hits each alike. It printed the figures that
chose COPY for PostgreSQL and kept ``executemany`` for SQLite (README, "Benchmarks").
CPU is this process's time per record (the database server's own is not counted).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audit import AT, Database, body, databases  # noqa: E402
from clearance.store.audit_memory import QUERY_COLUMNS, prepare, stamp  # noqa: E402
from clearance.store.sql.audit import AUDIT_WRITER_LOCK  # noqa: E402

NAMES = ("seq", "at_ns", "kind", "data", "leaf", *QUERY_COLUMNS)
COLUMNS = ", ".join(f'"{n}"' for n in NAMES)


def methods(backend: str) -> dict:
    mark = "%s" if backend == "postgres" else "?"
    one = "(" + ", ".join([mark] * len(NAMES)) + ")"
    per_statement = 500 if backend == "postgres" else 80  # SQLite allows 999 parameters a statement

    def executemany(cursor, rows):  # noqa: ANN001, ANN202
        cursor.executemany(f"INSERT INTO audit_records ({COLUMNS}) VALUES {one}", rows)

    def multi_row(cursor, rows):  # noqa: ANN001, ANN202
        for i in range(0, len(rows), per_statement):
            chunk = rows[i:i + per_statement]
            cursor.execute(f"INSERT INTO audit_records ({COLUMNS}) VALUES " + ", ".join([one] * len(chunk)),
                           [value for row in chunk for value in row])

    def copy(cursor, rows):  # noqa: ANN001, ANN202
        with cursor.copy(f"COPY audit_records ({COLUMNS}) FROM STDIN") as out:
            for row in rows:
                out.write_row(row)

    found = {"executemany": executemany, "multi-row VALUES": multi_row}
    if backend == "postgres":
        found["COPY"] = copy
    return found


def run(db: Database, name: str, insert, batch: int, batches: int, seq: list[int]) -> None:  # noqa: ANN001
    bodies = [body(n) for n in range(1000)]
    work = [prepare([(AT + i * batch + j, "decision", bodies[(i * batch + j) % 1000]) for j in range(batch)])
            for i in range(batches)]
    steps = {"lock + max(seq)": 0.0, "insert": 0.0, "commit": 0.0}
    c0 = time.process_time()
    for prepared in work:
        records, datas, leaves = stamp(prepared, seq[0])
        seq[0] += len(prepared)
        rows = [(r.seq, r.at_ns, r.kind, d.decode("utf-8"), leaf, *(p.columns[c] for c in QUERY_COLUMNS))
                for r, d, leaf, p in zip(records, datas, leaves, prepared, strict=True)]
        conn = db.store.engine.raw_connection()
        cursor = conn.cursor()
        t0 = time.perf_counter()
        if db.backend == "postgres":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_WRITER_LOCK,))
        else:
            cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("SELECT max(seq) FROM audit_records")
        cursor.fetchone()
        t1 = time.perf_counter()
        insert(cursor, rows)
        t2 = time.perf_counter()
        conn.commit()
        t3 = time.perf_counter()
        cursor.close()
        conn.close()
        steps["lock + max(seq)"] += t1 - t0
        steps["insert"] += t2 - t1
        steps["commit"] += t3 - t2
    n = batch * batches
    cpu = (time.process_time() - c0) / n * 1e6
    per_batch = "  ".join(f"{k} {v / batches * 1000:6.2f}" for k, v in steps.items())
    print(f"{db.backend:<9} {name:<17} ms per batch: {per_batch}   CPU {cpu:5.1f} µs/record   "
          f"=> {n / sum(steps.values()):>7,.0f} records/s serially")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--backends", default="sqlite,postgres")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for db in databases(args.backends, Path(tmp)):
            seq = [0]
            for _ in range(args.rounds):
                for name, insert in methods(db.backend).items():
                    run(db, name, insert, args.batch, args.batches, seq)


if __name__ == "__main__":
    main()
