"""The orjson fast path of ``canonical_bytes`` writes exactly the standard library's bytes, or refuses alike."""

from __future__ import annotations

import enum
import math
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.audit.errors import RecordError
from clearance.audit.record import AuditRecord, canonical_bytes, canonical_bytes_json

# Text including control characters, non-BMP characters, U+2028 and lone surrogates.
TEXT = st.text(st.characters(exclude_categories=()), max_size=12)  # surrogates too
PLAIN_SCALARS = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | TEXT
ANY_SCALARS = PLAIN_SCALARS | st.floats(allow_nan=True, allow_infinity=True)


def bodies(scalars: st.SearchStrategy, keys: st.SearchStrategy = TEXT) -> st.SearchStrategy:
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                          | st.dictionaries(keys, inner, max_size=4), max_leaves=20)
    return st.dictionaries(keys, values, max_size=6)


def both(body, seq=7, at_ns=1_782_000_000_000_000_000, kind="decision"):
    record = AuditRecord(seq, at_ns, kind, body)
    outcomes = []
    for encode in (canonical_bytes, canonical_bytes_json):
        try:
            outcomes.append(encode(record))
        except RecordError:
            outcomes.append(RecordError)
    return outcomes


@settings(max_examples=400)
@given(bodies(PLAIN_SCALARS))
def test_plain_bodies_encode_identically(body):
    fast, reference = both(body)
    assert fast == reference


@settings(max_examples=400)
@given(bodies(ANY_SCALARS, TEXT | st.integers(0, 3)))
def test_any_body_encodes_identically_or_is_refused_by_both(body):
    fast, reference = both(body)
    assert fast == reference


@pytest.mark.parametrize("body", [{"a": (1, 2)}, {"a": {"b": [1.5]}}, {"t": "10:00:00.5"}, {"s": {"a", "b"}}])
def test_what_the_fast_path_declines_the_reference_path_encodes_alike(body):
    fast, reference = both(body)
    assert fast == reference


@pytest.mark.parametrize("body", [{"a": uuid.UUID(int=1)}, {"a": enum.Enum("E", "x").x}, {"a": math.inf},
                                  {"a": "\ud800"}, {3: "x"}, {"a": {1, 2}}])
def test_what_json_refuses_stays_refused(body):
    assert both(body) == [RecordError, RecordError]


@pytest.mark.parametrize("value", [1e16, 1e-5, 0.1, -0.0, 1e21, 123456789.125])
def test_floats_keep_their_repr_spelling(value):
    fast, reference = both({"x": value})
    assert fast == reference and repr(value).encode() in fast
