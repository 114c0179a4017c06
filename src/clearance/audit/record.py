"""Audit records and their canonical bytes: the exact input to the Merkle tree.

A record is what happened (``kind`` and ``body``), where it sits in the log (``seq``) and
when it was appended (``at_ns``, Unix nanoseconds, supplied by the caller). Its canonical
encoding is the only form that is hashed, stored and exported, so two honest encoders must
produce the same bytes for the same record:

- UTF-8 JSON, object keys sorted by code point, no whitespace, non-ASCII kept as is
  (``ensure_ascii=False``), top-level keys ``at_ns body kind seq v`` with ``v`` the format version.
- Integers are written exactly, in decimal. Booleans and null as in JSON.
- Floats are accepted when finite and written as Python's shortest round-trip ``repr``
  (``0.1``, ``1e+21``, ``-0.0``): deterministic and lossless, and a verifier never needs to
  re-encode because leaves hash the stored bytes. NaN and infinities are rejected: JSON has
  no spelling for them. Callers that need exact decimals should send strings.
- Object keys must be strings (``json`` would silently turn ``1`` into ``"1"``); only dict,
  list, tuple (written as a list), str, int, float, bool and None may appear in a body.

Hashing follows RFC 6962 §2.1: leaves and interior nodes use distinct one-byte prefixes so
that a leaf can never be passed off as a node (second-preimage protection).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

import orjson

from clearance.audit.errors import RecordError

FORMAT_VERSION = 1
"""Version of the record encoding, written as ``"v"``; bump it for any change to the bytes."""

KINDS = ("decision", "completion", "admin-change", "screening", "licensing", "guardrail", "monitoring")
"""Every record kind the log accepts, in one place."""

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"))
_KEYS = frozenset(("at_ns", "body", "kind", "seq", "v"))


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One entry of the audit log.

    ``seq`` is the record's 0-based position in the log, ``at_ns`` the append instant in Unix
    nanoseconds (never read from a clock here), ``kind`` one of ``KINDS``, and ``body`` a JSON
    object (for a decision: the contract decision plus the request metadata). The body is not
    copied; treat it as immutable once the record exists. Raises ``RecordError`` on bad fields.
    """

    seq: int
    at_ns: int
    kind: str
    body: Mapping[str, Any]

    def __post_init__(self) -> None:
        if type(self.seq) is not int or self.seq < 0:
            raise RecordError("seq", "must be an integer >= 0", self.seq)
        if type(self.at_ns) is not int or self.at_ns < 0:
            raise RecordError("at_ns", "must be an integer >= 0 (Unix nanoseconds)", self.at_ns)
        if self.kind not in KINDS:
            raise RecordError("kind", f"must be one of {', '.join(KINDS)}", self.kind)
        if type(self.body) is not dict and not isinstance(self.body, Mapping):  # the ABC check is slow
            raise RecordError("body", "must be a JSON object", self.body)

    def to_dict(self) -> dict[str, Any]:
        """The record as the JSON object that ``canonical_bytes`` encodes."""
        return {"at_ns": self.at_ns, "body": self.body, "kind": self.kind, "seq": self.seq, "v": FORMAT_VERSION}


def _check(value: Any, path: str) -> None:
    """Reject what canonical JSON cannot represent exactly; ``path`` locates it for the error."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RecordError(path, "NaN and infinities have no canonical JSON form", value)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise RecordError(path, f"object keys must be strings, got {key!r}", key)
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise RecordError(path, f"{type(value).__name__} is not a JSON value", value)


def canonical_bytes(record: AuditRecord) -> bytes:
    """The canonical UTF-8 JSON encoding of ``record`` (see the module docstring for the rules).

    Raises ``RecordError`` naming the field when the body holds something without a canonical
    form (non-string keys, NaN, sets, lone surrogates, ...).
    """
    # Fastest path: orjson, whose bytes equal the ``json`` encoder's for dicts with string keys,
    # lists, strings, integers, booleans and null (keys sorted by code point, which is UTF-8
    # byte order; the same escapes: a test compares both on generated bodies). Taken only when
    # nothing else is in the body, which one C-speed read-back establishes without walking it:
    # the output is decoded by the standard library's scanner with a ``parse_float`` hook that
    # declines, so
    # - any number with a fraction or an exponent declines the fast path (orjson spells some
    #   floats differently from ``repr``: ``0.00001`` for ``1e-05``): the float guard;
    # - what is read back must equal the body, so no NaN or infinity (orjson writes ``null``),
    #   no tuple, UUID, date, enum or dataclass (orjson writes them, ``json`` refuses or differs).
    # orjson refuses non-string keys, lone surrogates and integers beyond 64 bits; any doubt
    # goes on to the paths below, which decide exactly as before.
    try:
        data = orjson.dumps(record.to_dict(), option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, RecursionError):
        pass
    else:
        text = data.decode("utf-8")
        try:
            back, end = _READ_BACK(text, 0)
        except (_FloatSeen, StopIteration, ValueError, RecursionError):
            pass
        else:
            if end == len(text) and back["body"] == record.body:
                return data
    # Fast path: the C encoder already refuses NaN, infinities, unknown types and lone
    # surrogates; only non-string keys (which it would silently stringify) need a walk, and
    # that walk builds no field paths. Any doubt goes to ``_check``, which names the field.
    try:
        if _keys_are_strings(record.body):
            return _ENCODER.encode(record.to_dict()).encode("utf-8")
    except (UnicodeEncodeError, ValueError, TypeError, RecursionError):
        pass
    _check(record.body, "body")
    try:
        return _ENCODER.encode(record.to_dict()).encode("utf-8")
    except (UnicodeEncodeError, ValueError, TypeError) as exc:
        raise RecordError("body", f"cannot be encoded canonically: {exc}") from None


def canonical_bytes_json(record: AuditRecord) -> bytes:
    """The canonical encoding by the standard library alone: the reference the fast path must equal."""
    _check(record.body, "body")
    try:
        return _ENCODER.encode(record.to_dict()).encode("utf-8")
    except (UnicodeEncodeError, ValueError, TypeError) as exc:
        raise RecordError("body", f"cannot be encoded canonically: {exc}") from None


def _keys_are_strings(value: Any) -> bool:
    """Every object key below ``value`` is a ``str``; only containers are pushed, scalars are skipped."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if not _STR_ONLY.issuperset(map(type, item)):
                return False
            stack.extend([v for v in item.values() if type(v) not in _SCALARS])
        elif isinstance(item, list | tuple):
            stack.extend([v for v in item if type(v) not in _SCALARS])
    return True


_STR_ONLY = frozenset({str})
_SCALARS = frozenset({str, int, float, bool, type(None)})


class _FloatSeen(Exception):
    """Raised by the read-back decoder at the first number with a fraction or an exponent."""


def _decline_float(token: str) -> float:
    raise _FloatSeen(token)


# Decodes the fast path's output (the scanner itself: orjson writes no whitespace for ``decode``
# to skip). A regex search for float tokens, the guard before, cost more than orjson itself.
_READ_BACK = json.JSONDecoder(parse_float=_decline_float).scan_once


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse_record(line: bytes | str) -> AuditRecord:
    """Decode one canonical line back into an ``AuditRecord``.

    The line must be exactly the canonical encoding of the record it holds (a re-encoding must
    give the same bytes), so a record that is parsed is also a record that hashes the same.
    A trailing newline is ignored. Raises ``RecordError`` otherwise.
    """
    data = line.encode("utf-8") if isinstance(line, str) else bytes(line)
    data = data.rstrip(b"\r\n")
    try:
        obj = json.loads(data, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordError("", f"not JSON: {exc}", data[:80]) from None
    if not isinstance(obj, dict) or obj.keys() != _KEYS:
        keys = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise RecordError("", f"expected the keys {sorted(_KEYS)}, got {keys}", data[:80])
    if obj["v"] != FORMAT_VERSION or type(obj["v"]) is not int:
        raise RecordError("v", f"unsupported format version {obj['v']!r} (expected {FORMAT_VERSION})", obj["v"])
    record = AuditRecord(seq=obj["seq"], at_ns=obj["at_ns"], kind=obj["kind"], body=obj["body"])
    if canonical_bytes(record) != data:
        raise RecordError("", "not in canonical form (key order, whitespace, escapes or duplicate keys)", data[:80])
    return record


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || data)."""
    return sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 || left || right)."""
    return sha256(b"\x01" + left + right).digest()
