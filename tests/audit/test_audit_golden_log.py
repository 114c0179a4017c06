"""Logs written by earlier versions still verify: their canonical bytes are re-encoded identically.

``golden/log-v1.jsonl`` was written by the format-1 encoder before the encoder was made faster
(gateway decision bodies, non-ASCII and control characters, floats in every spelling, nested
keys needing sorting). The root below is the Merkle root of those lines as written then. Any
change to the bytes ``canonical_bytes`` produces breaks these tests, and with them every
existing log's verification.
"""

from __future__ import annotations

from pathlib import Path

from clearance.audit.heads import sign_head
from clearance.audit.keys import KeyRing
from clearance.audit.merkle import root
from clearance.audit.record import canonical_bytes, canonical_bytes_json, leaf_hash, parse_record
from clearance.audit.verify import read_jsonl, verify_log
from clearance.store.audit_memory import prepare, stamp

GOLDEN = Path(__file__).parent / "golden" / "log-v1.jsonl"
ROOT_V1 = "34aa16648f277c665860d344f204f123cfbb683335a063d765536c06266f38ee"


def lines() -> list[bytes]:
    with GOLDEN.open("rb") as file:
        return list(read_jsonl(file))


def test_the_golden_log_has_the_root_it_was_written_with():
    assert root([leaf_hash(line) for line in lines()]).hex() == ROOT_V1


def test_every_golden_record_re_encodes_to_the_stored_bytes():
    for line in lines():
        record = parse_record(line)  # itself demands canonical_bytes(record) == line
        assert canonical_bytes(record) == line
        assert canonical_bytes_json(record) == line


def test_the_writer_path_produces_the_stored_bytes_and_leaves():
    for line in lines():
        record = parse_record(line)
        prepared = prepare([(record.at_ns, record.kind, dict(record.body))])
        (stamped,), (data,), (leaf,) = stamp(prepared, record.seq)
        assert data == line and leaf == leaf_hash(line) and stamped == record


def test_the_golden_log_verifies_against_a_head_over_its_root(tmp_path):
    data = lines()
    keys = KeyRing.create(tmp_path / "keys")
    head = sign_head(keys.active(), len(data), bytes.fromhex(ROOT_V1), 1_782_000_000_000_000_000)
    report = verify_log(data, [head], keys.public_keys(), strict=True)
    assert report.ok, report.message
    tampered = [*data[:2], data[2].replace(b"acme", b"acne"), *data[3:]]
    broken = verify_log(tampered, [head], keys.public_keys(), leaf_hashes=[leaf_hash(line) for line in data])
    assert not broken.ok and broken.code == "root-mismatch" and broken.first_bad_index == 2
