"""The offline verifier: what an auditor runs on exported records, heads and public keys.

``verify_log`` recomputes every leaf hash in order, checks that ``seq`` runs 0..n-1, checks
every signed head (signature by a published key, and root equal to the root of the first
``size`` records), and says where the log stops matching what the heads commit to.

How exactly it can point at the first bad record depends on what it is given. A head of
size k that matches proves records 0..k-1 intact; the smallest head that does not match
bounds the damage to [last matching size, its size). With a head after every record, or
with reference leaf hashes (themselves authenticated against the heads), the index is
exact; otherwise ``first_bad_index`` is the first record no matching head covers and
``bad_range`` gives the bounds. A broken sequence (deletion, reordering, insertion) and
a log shorter than a head (truncation) are located exactly. Records after the last head
are reported as not yet covered: no offline check can protect what nobody has signed,
and cutting off both records and the heads that cover them needs a newer head to detect.

Runnable as ``python -m clearance.audit.verify RECORDS.jsonl HEADS.jsonl PUBKEY_DIR``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from clearance.audit.errors import AuditError, HeadError, RecordError
from clearance.audit.heads import SignedTreeHead, verify_head
from clearance.audit.keys import load_public_keys
from clearance.audit.merkle import MerkleTree
from clearance.audit.record import AuditRecord, canonical_bytes, leaf_hash, parse_record

_NOWHERE = sys.maxsize


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The verdict on a log. ``ok`` is True only when nothing is wrong.

    ``records``: records read; ``heads_checked``: heads examined; ``heads_valid``: heads whose
    signature and root both held; ``covered``: the largest size a valid head proves intact;
    ``first_bad_index``: see the module docstring; ``bad_range``: [lo, hi) when only bounds are
    known; ``code``: a stable machine code (``ok``, ``sequence-break``, ``malformed-record``,
    ``root-mismatch``, ``truncated``, ``bad-signature``, ``unknown-key``, ``no-heads``);
    ``message``: one line for people; ``problems``: every problem found, in order.
    """

    ok: bool
    records: int
    heads_checked: int
    heads_valid: int
    covered: int
    first_bad_index: int | None
    bad_range: tuple[int, int] | None
    code: str
    message: str
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def _hash_records(records: Iterable[AuditRecord | bytes | str], strict: bool) -> tuple[list[bytes], list[tuple], bool]:
    """Leaf hashes in order, the (index, code, message) of each record-level fault found, and whether
    the seqs are still to be checked (``_check_seqs``).

    Fast path (the verifier's hot loop): canonical lines as bytes are hashed in one comprehension
    and nothing else; their seqs are checked afterwards, and only where no matching signed head
    already proves them (see ``verify_log``). Any other input goes through ``_hash_one``.
    """
    items = records if isinstance(records, list) else list(records)
    if not strict:
        try:
            return [sha256(b"\x00" + data).digest() for data in items], [], True
        except (TypeError, AttributeError):  # not all bytes: take the general path
            pass
    leaves, faults = [], []
    for index, item in enumerate(items):
        leaf, fault = _hash_one(index, item, strict)
        leaves.append(leaf)
        if fault:
            faults.append(fault)
    return leaves, faults, False


def _check_seqs(items: Sequence[bytes], leaves: list[bytes], start: int) -> tuple[list[tuple], bool]:
    """Seq faults of raw canonical lines from ``start`` on (their tail must read ``"seq":<index>``),
    and whether a leaf changed (a line with a trailing newline is hashed without it)."""
    faults, changed = [], False
    for index in [i for i in range(start, len(items)) if not items[i].endswith(b',"seq":%d,"v":1}' % i)]:
        leaf, fault = _hash_one(index, items[index], False)
        changed = changed or leaf != leaves[index]
        leaves[index] = leaf
        if fault:
            faults.append(fault)
    return faults, changed


def _hash_one(index: int, item: AuditRecord | bytes | str, strict: bool) -> tuple[bytes, tuple | None]:
    """The leaf hash of one record (any accepted form) and its fault, if any."""
    try:
        if isinstance(item, AuditRecord):
            data, seq = canonical_bytes(item), item.seq
        else:
            data = (item.encode("utf-8") if isinstance(item, str) else bytes(item)).rstrip(b"\r\n")
            if strict:
                seq = parse_record(data).seq
            elif data.endswith(b',"seq":%d,"v":1}' % index):
                seq = index
            else:
                return leaf_hash(data), _seq_fault(index, data)
    except (RecordError, UnicodeEncodeError) as exc:
        return leaf_hash(b""), (index, "malformed-record", f"record {index} is malformed: {exc}")
    if seq != index:
        return leaf_hash(data), (index, "sequence-break", f"record {index} carries seq {seq}")
    return leaf_hash(data), None


def _seq_fault(index: int, data: bytes) -> tuple:
    """Explain why a raw line does not end in the canonical tail for ``index``."""
    try:
        seq = parse_record(data).seq
    except RecordError as exc:
        return (index, "malformed-record", f"record {index} is malformed: {exc}")
    return (index, "sequence-break", f"record {index} carries seq {seq}")


def _first_difference(reference: Sequence[bytes], leaves: Sequence[bytes], lo: int, hi: int) -> int | None:
    for index in range(lo, hi):
        if index >= len(leaves) or reference[index] != leaves[index]:
            return index
    return None


def _prefix_roots_match(leaves: Sequence[bytes], heads: Sequence[SignedTreeHead]) -> tuple[set[int], int | None]:
    """Sizes (of ``heads``, sorted by size) whose root matches ``leaves``, and the smallest that does not."""
    tree, good, first_bad = MerkleTree(), set(), None
    for sth in heads:
        if sth.size > len(leaves):
            continue
        tree.extend(leaves[tree.size:sth.size])
        if tree.root() == sth.root:
            good.add(sth.size)
        elif first_bad is None:
            first_bad = sth.size
    return good, first_bad


def verify_log(
    records: Iterable[AuditRecord | bytes | str],
    heads: Iterable[SignedTreeHead],
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    leaf_hashes: Sequence[bytes] | None = None,
    strict: bool = False,
) -> VerifyReport:
    """Verify ``records`` (in log order: ``AuditRecord`` objects or canonical JSON lines) against ``heads``.

    Raw lines are hashed exactly as given (a trailing newline aside) and their ``seq`` is read from
    the canonical tail; ``strict=True`` also decodes every line and demands canonical form.
    ``leaf_hashes``, if given, is a stored list of leaf hashes (for instance from the log's
    database): it is trusted only as far as the signed heads confirm it, and then pins the first
    altered record exactly. Never raises for a bad log; the report says what is wrong.
    """
    items = records if isinstance(records, list) else list(records)
    leaves, problems, seqs_pending = _hash_records(items, strict)
    n = len(leaves)
    heads = sorted(heads, key=lambda sth: sth.size)
    valid: list[SignedTreeHead] = []
    for sth in heads:
        try:
            verify_head(sth, public_keys)
        except HeadError as exc:
            problems.append((_NOWHERE, exc.code, exc.message))
            continue
        valid.append(sth)
        if sth.size > n and not any(p[1] == "truncated" for p in problems):
            problems.append((n, "truncated", f"a signed head covers {sth.size} records but the log holds {n}"))
    good, hi = _prefix_roots_match(leaves, valid)
    covered = max(good, default=0)
    if seqs_pending:
        # A valid head whose root matches proves records [0, covered) byte for byte, seqs included,
        # as the writer stored and signed them: only records beyond it need their seqs read. A
        # deletion, reordering or insertion inside a head's range breaks its root, so it lies
        # beyond ``covered`` and is still located exactly here.
        faults, changed = _check_seqs(items, leaves, covered)
        problems.extend(faults)
        if changed:
            good, hi = _prefix_roots_match(leaves, valid)
            covered = max(good, default=0)
    bad_range, bounded = None, None
    if hi is not None:
        lo = max((size for size in good if size < hi), default=0)
        exact = lo if hi - lo == 1 else None
        if leaf_hashes is not None:
            ref_good, ref_bad = _prefix_roots_match(leaf_hashes, valid)
            if ref_bad is not None or max(ref_good, default=0) < hi:
                problems.append((_NOWHERE, "bad-reference", "the reference leaf hashes do not match the signed heads"))
            else:
                exact = _first_difference(leaf_hashes, leaves, lo, hi)
        if exact is not None:
            problems.append((exact, "root-mismatch", f"record {exact} differs from what the signed heads commit to"))
        else:
            bad_range = (lo, hi)
            bounded = (lo, "root-mismatch", f"the head of size {hi} does not match: a record in [{lo}, {hi}) "
                                            f"was altered; records before {lo} are proven intact")
            problems.append(bounded)
    if not valid and n:
        problems.append((_NOWHERE, "no-heads", f"no valid signed head covers any of the {n} records"))
    # A fault located inside the bounded range explains it, so it comes first; the range stays reported.
    problems.sort(key=lambda p: (bad_range[1] - 1, 1) if p is bounded else (p[0], 0))
    first_bad = problems[0][0] if problems and problems[0][0] != _NOWHERE else None
    if problems:
        code, message = problems[0][1], problems[0][2]
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more problem{'s' * (len(problems) > 2)})"
    else:
        code = "ok"
        message = f"{n} records intact; {len(valid)} signed heads verified"
        if covered < n:
            message += f"; the last {n - covered} records are not yet covered by a signed head"
    return VerifyReport(
        ok=not problems, records=n, heads_checked=len(heads), heads_valid=len(good), covered=covered,
        first_bad_index=first_bad, bad_range=bad_range, code=code, message=message,
        problems=tuple(p[2] for p in problems),
    )


def export_jsonl(items: Iterable[AuditRecord | SignedTreeHead], out: IO[bytes]) -> int:
    """Write records (canonical bytes) or heads (canonical JSON), one per line, to ``out``; return the count."""
    count = 0
    for item in items:
        out.write((canonical_bytes(item) if isinstance(item, AuditRecord) else item.to_json()) + b"\n")
        count += 1
    return count


def read_jsonl(lines: Iterable[bytes | str]) -> Iterator[bytes]:
    """The lines of an exported file (a binary file object iterates as lines), newline removed, blanks skipped."""
    for line in lines:
        data = (line.encode("utf-8") if isinstance(line, str) else line).rstrip(b"\r\n")
        if data:
            yield data


def read_heads(lines: Iterable[bytes | str]) -> list[SignedTreeHead]:
    """Signed heads from exported JSONL lines; raises ``HeadError`` (``malformed-head``) on a bad line."""
    return [SignedTreeHead.from_json(line) for line in read_jsonl(lines)]


def main(argv: Sequence[str] | None = None) -> int:
    """Verify exported files; print the report; return 0 when intact, 1 otherwise (including unreadable input)."""
    parser = argparse.ArgumentParser(prog="python -m clearance.audit.verify", description=__doc__.split("\n")[0])
    parser.add_argument("records", help="exported records, one canonical JSON record per line")
    parser.add_argument("heads", help="exported signed tree heads, one JSON object per line")
    parser.add_argument("public_keys", help="directory of published Ed25519 public keys (*.pem)")
    parser.add_argument("--strict", action="store_true", help="also decode every record and demand canonical form")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        keys = load_public_keys(args.public_keys)
        with open(args.heads, "rb") as file:
            heads = read_heads(file)
        with open(args.records, "rb") as file:
            report = verify_log(read_jsonl(file), heads, keys, strict=args.strict)
    except (OSError, AuditError) as exc:
        print(f"verification failed: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(("OK: " if report.ok else "FAILED: ") + report.message)
        print(f"records={report.records} heads_checked={report.heads_checked} heads_valid={report.heads_valid} "
              f"covered={report.covered} first_bad_index={report.first_bad_index}")
        for problem in report.problems[1:]:
            print(f"  also: {problem}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
