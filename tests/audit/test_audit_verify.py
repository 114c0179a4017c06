"""The offline verifier: an intact log passes; edits, deletions, reorderings and truncation are located."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.audit.heads import SignedTreeHead, TreeHead, key_id, sign_head
from clearance.audit.keys import KeyRing
from clearance.audit.merkle import MerkleTree
from clearance.audit.record import KINDS, AuditRecord, canonical_bytes, leaf_hash
from clearance.audit.verify import export_jsonl, main, read_heads, read_jsonl, verify_log

KEY = Ed25519PrivateKey.generate()
KEYS = {key_id(KEY.public_key()): KEY.public_key()}
PROPERTY = settings(max_examples=60, deadline=None)


def make_records(n: int) -> list[AuditRecord]:
    return [AuditRecord(seq=i, at_ns=1_750_000_000_000_000_000 + i * 1000, kind=KINDS[i % len(KINDS)],
                        body={"i": i, "who": f"entity-{i % 7}", "outcome": "permit" if i % 3 else "deny"})
            for i in range(n)]


def heads_at(records: list[AuditRecord], sizes) -> list[SignedTreeHead]:
    """Heads signed at each of ``sizes`` over the honest log."""
    tree, heads = MerkleTree(), []
    leaves = [leaf_hash(canonical_bytes(r)) for r in records]
    for size in sorted(sizes):
        tree.extend(leaves[tree.size:size])
        heads.append(sign_head(KEY, size, tree.root(), 2_000_000_000_000_000_000 + size))
    return heads


def lines(records: list[AuditRecord]) -> list[bytes]:
    return [canonical_bytes(r) for r in records]


def edited(record: AuditRecord) -> AuditRecord:
    return AuditRecord(record.seq, record.at_ns, record.kind, {**record.body, "outcome": "forged"})


@pytest.mark.parametrize("as_lines", [False, True])
def test_an_intact_log_verifies(as_lines):
    records = make_records(40)
    heads = heads_at(records, [1, 8, 33, 40])
    report = verify_log(lines(records) if as_lines else records, heads, KEYS)
    assert report.ok and report.code == "ok"
    assert (report.records, report.heads_checked, report.heads_valid, report.covered) == (40, 4, 4, 40)
    assert report.first_bad_index is None


def test_records_after_the_last_head_are_reported_as_not_covered():
    records = make_records(10)
    report = verify_log(records, heads_at(records, [6]), KEYS)
    assert report.ok and report.covered == 6 and "last 4 records are not yet covered" in report.message


def test_an_empty_log_with_an_empty_head_verifies():
    assert verify_log([], heads_at([], [0]), KEYS).ok
    assert verify_log([], [], KEYS).ok


def test_records_without_any_valid_head_fail():
    report = verify_log(make_records(3), [], KEYS)
    assert not report.ok and report.code == "no-heads"


@PROPERTY
@given(st.data())
def test_an_edited_body_is_located_exactly(data):
    n = data.draw(st.integers(1, 60))
    i = data.draw(st.integers(0, n - 1))
    records = make_records(n)
    heads = heads_at(records, range(1, n + 1))
    tampered = [*records[:i], edited(records[i]), *records[i + 1:]]
    for log in (tampered, lines(tampered)):
        report = verify_log(log, heads, KEYS)
        assert not report.ok and report.code == "root-mismatch"
        assert report.first_bad_index == i and report.covered == i


@PROPERTY
@given(st.data())
def test_a_deleted_record_is_located_where_the_sequence_breaks(data):
    n = data.draw(st.integers(2, 60))
    i = data.draw(st.integers(0, n - 1))
    records = make_records(n)
    heads = heads_at(records, data.draw(st.sets(st.integers(1, n))) | {n})  # the latest head covers the log
    report = verify_log(lines([*records[:i], *records[i + 1:]]), heads, KEYS)
    assert not report.ok and report.first_bad_index == i
    assert report.code == ("truncated" if i == n - 1 else "sequence-break")


@PROPERTY
@given(st.data())
def test_two_swapped_records_are_located_at_the_first(data):
    n = data.draw(st.integers(2, 60))
    i = data.draw(st.integers(0, n - 2))
    j = data.draw(st.integers(i + 1, n - 1))
    records = make_records(n)
    swapped = list(records)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    report = verify_log(lines(swapped), heads_at(records, [n]), KEYS)
    assert not report.ok and report.first_bad_index == i and report.code == "sequence-break"


@PROPERTY
@given(st.data())
def test_truncation_is_located_at_the_first_missing_record(data):
    n = data.draw(st.integers(1, 60))
    keep = data.draw(st.integers(0, n - 1))
    records = make_records(n)
    heads = heads_at(records, data.draw(st.sets(st.integers(1, n), min_size=1)) | {n})
    report = verify_log(records[:keep], heads, KEYS)
    assert not report.ok and report.code == "truncated" and report.first_bad_index == keep


def test_with_sparse_heads_an_edit_is_bounded_or_pinned_by_reference_hashes():
    records = make_records(100)
    heads = heads_at(records, [10, 50, 100])
    tampered = [*records[:23], edited(records[23]), *records[24:]]
    report = verify_log(tampered, heads, KEYS)
    assert not report.ok and report.bad_range == (10, 50) and report.first_bad_index == 10
    assert "[10, 50)" in report.message
    reference = [leaf_hash(data) for data in lines(records)]
    pinned = verify_log(tampered, heads, KEYS, leaf_hashes=reference)
    assert pinned.first_bad_index == 23 and pinned.bad_range is None
    forged_reference = [leaf_hash(data) for data in lines(tampered)]
    distrusted = verify_log(tampered, heads, KEYS, leaf_hashes=forged_reference)
    assert distrusted.first_bad_index == 10 and "reference leaf hashes do not match" in " ".join(distrusted.problems)


def test_bad_signatures_and_unknown_keys_are_reported():
    records = make_records(5)
    good = heads_at(records, [5])[0]
    forged = SignedTreeHead(good.head, bytes(64))
    stranger = sign_head(Ed25519PrivateKey.generate(), 5, good.root, 1)
    report = verify_log(records, [good, forged, stranger], KEYS)
    assert not report.ok and report.first_bad_index is None
    assert report.heads_checked == 3 and report.heads_valid == 1
    assert {p.split(":")[0] for p in report.problems} == {"head of size 5"}
    assert verify_log(records, [forged], KEYS).code == "bad-signature"
    assert verify_log(records, [stranger], KEYS).code == "unknown-key"


def test_a_validly_signed_wrong_root_is_caught():
    records = make_records(5)
    lie = sign_head(KEY, 5, heads_at(records, [4])[0].root, 1)
    report = verify_log(records, [lie], KEYS)
    assert not report.ok and report.code == "root-mismatch" and report.bad_range == (0, 5)


def test_malformed_and_non_canonical_lines_are_located():
    records = lines(make_records(6))
    heads = heads_at(make_records(6), [6])
    broken = [*records[:2], b"{oops", *records[3:]]
    report = verify_log(broken, heads, KEYS)
    assert report.first_bad_index == 2 and report.code == "malformed-record"
    spaced = [*records[:4], records[4].replace(b'"body":', b'"body": '), records[5]]
    assert verify_log(spaced, heads, KEYS).first_bad_index == 0  # only bounded: it ends canonically
    strict = verify_log(spaced, heads, KEYS, strict=True)
    assert strict.first_bad_index == 4 and strict.code == "malformed-record"


def test_heads_signed_before_and_after_a_rotation_verify_with_published_keys(tmp_path):
    ring = KeyRing.create(tmp_path)
    records = make_records(20)
    leaves = [leaf_hash(d) for d in lines(records)]
    tree = MerkleTree()
    tree.extend(leaves[:10])
    early = sign_head(ring.active(), 10, tree.root(), 1)
    ring.rotate()
    tree.extend(leaves[10:])
    late = sign_head(ring.active(), 20, tree.root(), 2)
    assert early.head.key_id != late.head.key_id
    report = verify_log(records, [late, early], KeyRing.load(tmp_path).public_keys())
    assert report.ok and report.heads_valid == 2


def test_export_and_read_round_trip(tmp_path):
    records = make_records(12)
    heads = heads_at(records, [3, 12])
    out = io.BytesIO()
    assert export_jsonl(records, out) == 12
    assert list(read_jsonl(io.BytesIO(out.getvalue()))) == lines(records)
    head_file = io.BytesIO()
    export_jsonl(heads, head_file)
    assert read_heads(io.BytesIO(head_file.getvalue())) == heads
    assert list(read_jsonl(["a\r\n", "", "b"])) == [b"a", b"b"]


def export(tmp_path, records, heads, ring):
    with open(tmp_path / "records.jsonl", "wb") as file:
        export_jsonl(records, file)
    with open(tmp_path / "heads.jsonl", "wb") as file:
        export_jsonl(heads, file)
    return [str(tmp_path / "records.jsonl"), str(tmp_path / "heads.jsonl"), str(ring.public_dir)]


def test_main_verifies_exported_files(tmp_path, capsys):
    ring = KeyRing.create(tmp_path / "keys")
    records = make_records(30)
    root = MerkleTree()
    root.extend([leaf_hash(d) for d in lines(records)])
    heads = [sign_head(ring.active(), 30, root.root(), 5)]
    argv = export(tmp_path, records, heads, ring)
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("OK: 30 records intact")
    argv = export(tmp_path, [*records[:7], edited(records[7]), *records[8:]], heads, ring)
    assert main([*argv, "--json"]) == 1
    assert '"first_bad_index": 0' in capsys.readouterr().out
    assert main([argv[0], argv[1], str(tmp_path / "nowhere")]) == 1
    assert "no such directory" in capsys.readouterr().err


def test_module_runs_as_a_script(tmp_path):
    ring = KeyRing.create(tmp_path / "keys")
    records = make_records(3)
    tree = MerkleTree()
    tree.extend([leaf_hash(d) for d in lines(records)])
    argv = export(tmp_path, records, [sign_head(ring.active(), 3, tree.root(), 5)], ring)
    done = subprocess.run([sys.executable, "-m", "clearance.audit.verify", *argv], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and "OK: 3 records intact" in done.stdout


def test_a_tree_head_for_more_records_than_exist_is_truncation():
    records = make_records(4)
    honest = heads_at(make_records(6), [6])
    report = verify_log(records, honest, KEYS)
    assert report.code == "truncated" and report.first_bad_index == 4
    assert TreeHead(6, honest[0].root, honest[0].head.at_ns, honest[0].head.key_id) == honest[0].head
