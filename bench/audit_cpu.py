"""The audit log's CPU per record, without the disk: encoding a batch for the writer, and verifying lines.

    python bench/audit_cpu.py [--records 10000] [--repeat 30]

``bench/audit.py`` measures durable rates, which on a shared machine swing with other load
and with fsync latency. This measures what the interpreter spends per record on the two hot
paths, best of ``--repeat`` runs, in process CPU time (``time.process_time``, so time spent
waiting for a core another process holds is not counted): ``canonical_bytes`` alone,
``prepare`` (validate, canonical bytes, query columns: the work on the appender's thread
before the commit), ``stamp`` (seqs spliced in, leaf hashes: the writer's work under its lock)
and ``verify_log`` over canonical lines with one signed head (leaf hashes, seq check, Merkle
root, signature). The best run is the one least disturbed by other processes, so it is the
figure for the code itself. Run it against another checkout with
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

try:  # absent from checkouts before the writer stamped whole batches
    from clearance.store.audit_memory import stamp as _stamp_batch  # noqa: E402

    def _stamp(batch):  # noqa: ANN001, ANN202
        return _stamp_batch(batch, 0)
except ImportError:
    def _stamp(batch):  # noqa: ANN001, ANN202
        return [entry.at(seq) for seq, entry in enumerate(batch)]


def best(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        run()
        times.append(time.process_time() - t0)
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
    records = [AuditRecord(i, AT + i, "decision", bodies[i % 1000]) for i in range(n)]
    canonical = best(lambda: [canonical_bytes(r) for r in records], args.repeat)
    encode = best(lambda: [prepare(b) for b in batches], args.repeat)
    prepared = [prepare(b) for b in batches]
    stamped = best(lambda: [_stamp(p) for p in prepared], args.repeat) if _stamp else None
    lines = [canonical_bytes(r) for r in records]
    with tempfile.TemporaryDirectory() as tmp:
        keys = KeyRing.create(Path(tmp) / "keys")
        head = sign_head(keys.active(), n, root([leaf_hash(x) for x in lines]), AT)
        public = keys.public_keys()
        assert verify_log(lines, [head], public).ok
        verify = best(lambda: verify_log(lines, [head], public), args.repeat)
    print(f"clearance from {Path(clearance.__file__).parent}")
    print(f"canonical bytes of one record:             {canonical / n * 1e6:.2f} µs/record")
    print(f"writer encoding (prepare, batches of 256): {encode / n * 1e6:.2f} µs/record = {n / encode:,.0f} records/s")
    if stamped is not None:
        print(f"writer stamping (seqs and leaf hashes):    {stamped / n * 1e6:.2f} µs/record")
    print(f"verification of {n:,} lines, one head:     {verify / n * 1e6:.2f} µs/record = {n / verify:,.0f} records/s")


if __name__ == "__main__":
    main()
