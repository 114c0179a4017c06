"""Audit records: validation, the canonical encoding, and decoding it back."""

from __future__ import annotations

import json
from hashlib import sha256

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.audit.errors import RecordError
from clearance.audit.record import KINDS, AuditRecord, canonical_bytes, leaf_hash, node_hash, parse_record

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def test_canonical_bytes_are_sorted_compact_utf8_with_a_version():
    record = AuditRecord(seq=7, at_ns=1_750_000_000_000_000_000, kind="decision",
                         body={"z": 1, "a": ["é", True, None], "m": {"b": 2, "a": 1.5}})
    assert canonical_bytes(record) == (
        '{"at_ns":1750000000000000000,"body":{"a":["é",true,null],"m":{"a":1.5,"b":2},"z":1},'
        '"kind":"decision","seq":7,"v":1}'
    ).encode()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**70), st.integers(0, 2**64), st.sampled_from(KINDS),
       st.dictionaries(st.text(max_size=8), JSON, max_size=5))
def test_encoding_round_trips_and_is_stable(seq, at_ns, kind, body):
    record = AuditRecord(seq=seq, at_ns=at_ns, kind=kind, body=body)
    data = canonical_bytes(record)
    again = parse_record(data)
    assert again.seq == seq and again.kind == kind
    assert canonical_bytes(again) == data
    assert parse_record(data.decode() + "\n") == again


def test_key_order_of_the_input_does_not_matter():
    one = AuditRecord(0, 1, "admin-change", {"a": 1, "b": {"x": 1, "y": 2}})
    two = AuditRecord(0, 1, "admin-change", {"b": {"y": 2, "x": 1}, "a": 1})
    assert canonical_bytes(one) == canonical_bytes(two)


@pytest.mark.parametrize(("body", "field"), [
    ({"x": float("nan")}, "body.x"),
    ({"x": [float("inf")]}, "body.x[0]"),
    ({"x": {1: "a"}}, "body.x"),
    ({"x": {1, 2}}, "body.x"),
    ({"x": b"bytes"}, "body.x"),
])
def test_values_without_a_canonical_form_are_rejected(body, field):
    with pytest.raises(RecordError) as caught:
        canonical_bytes(AuditRecord(0, 0, "monitoring", body))
    assert caught.value.field == field


def test_lone_surrogates_are_rejected():
    with pytest.raises(RecordError):
        canonical_bytes(AuditRecord(0, 0, "guardrail", {"x": "\ud800"}))


@pytest.mark.parametrize(("fields", "field"), [
    ({"seq": -1}, "seq"), ({"seq": True}, "seq"), ({"at_ns": 1.0}, "at_ns"), ({"at_ns": -5}, "at_ns"),
    ({"kind": "deletion"}, "kind"), ({"body": [1]}, "body"),
])
def test_bad_fields_are_rejected(fields, field):
    with pytest.raises(RecordError) as caught:
        AuditRecord(**{"seq": 0, "at_ns": 0, "kind": "completion", "body": {}, **fields})
    assert caught.value.field == field


@pytest.mark.parametrize("line", [
    b'{"at_ns":1,"body":{},"kind":"decision","seq":0,"v":1} ',
    b'{"body":{},"at_ns":1,"kind":"decision","seq":0,"v":1}',
    b'{"at_ns":1,"body":{},"kind":"decision","seq":0,"seq":0,"v":1}',
    b'{"at_ns":1,"body":{"a":"\\u00e9"},"kind":"decision","seq":0,"v":1}',
    b'{"at_ns":1,"body":{"x":NaN},"kind":"decision","seq":0,"v":1}',
    b'{"at_ns":1,"body":{},"kind":"decision","seq":0,"v":2}',
    b'{"at_ns":1,"body":{},"kind":"decision","seq":0}',
    b'[1]',
    b'not json',
])
def test_non_canonical_lines_are_rejected(line):
    with pytest.raises(RecordError):
        parse_record(line)


def test_hashes_use_distinct_prefixes():
    assert leaf_hash(b"x") == sha256(b"\x00x").digest()
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) == sha256(b"\x01" + a + b).digest()
    assert leaf_hash(a + b) != node_hash(a, b)


def test_floats_use_the_shortest_round_trip_form():
    data = canonical_bytes(AuditRecord(0, 0, "decision", {"f": [0.1, 1e21, -0.0, 2.5e-8]}))
    assert b'"f":[0.1,1e+21,-0.0,2.5e-08]' in data
    assert json.loads(data)["body"]["f"] == [0.1, 1e21, -0.0, 2.5e-8]
