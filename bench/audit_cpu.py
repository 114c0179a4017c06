"""The audit log's CPU per record, without the disk: encoding a batch for the writer, and verifying lines.

    python bench/audit_cpu.py [--records 10000] [--repeat 30]

``bench/audit.py`` measures durable rates, which on a shared machine swing with other load
and with fsync latency. This measures what the interpreter spends per record on the two hot
paths, best of ``--repeat`` runs: ``prepare`` (validate, canonical bytes, query columns: the
writer's work before the commit) and ``verify_log`` over canonical lines with one signed head
(leaf hashes, seq check, Merkle root, signature). The best run is the one least disturbed
by other processes, so it is the figure for the code itself. Run it against another checkout with
``PYTHONPATH=<checkout>/src`` to compare versions on the same machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clearance  # noqa: E402
from audit import AT, body  # noqa: E402
from clearance.audit.heads import sign_head  # noqa: E402
from clearance.audit.keys import KeyRing  # noqa: E402
from clearance.audit.merkle import root  # noqa: E402
from clearance.audit.record import AuditRecord, canonical_bytes, leaf_hash  # noqa: E402
from clearance.audit.verify import verify_log  # noqa: E402
from clearance.store.audit_memory import prepare  # noqa: E402


def best(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    n = args.records
    bodies = [body(i) for i in range(1000)]
    entries = [(AT + i, "decision", bodies[i % 1000]) for i in range(n)]
    batches = [entries[i:i + 256] for i in range(0, n, 256)]
    encode = best(lambda: [prepare(b) for b in batches], args.repeat)
    lines = [canonical_bytes(AuditRecord(i, AT + i, "decision", bodies[i % 1000])) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        keys = KeyRing.create(Path(tmp) / "keys")
        head = sign_head(keys.active(), n, root([leaf_hash(x) for x in lines]), AT)
        public = keys.public_keys()
        assert verify_log(lines, [head], public).ok
        verify = best(lambda: verify_log(lines, [head], public), args.repeat)
    print(f"clearance from {Path(clearance.__file__).parent}")
    print(f"writer encoding (prepare, batches of 256): {encode / n * 1e6:.2f} µs/record = {n / encode:,.0f} records/s")
    print(f"verification of {n:,} lines, one head:     {verify / n * 1e6:.2f} µs/record = {n / verify:,.0f} records/s")


if __name__ == "__main__":
    main()
