"""The canonical form of a policy and its content hash, the ``policy_version``.

The canonical form is JSON of the core :class:`~clearance.core.model.Policy`:
keys sorted, sets as sorted lists, keyed pairs as mappings, instants as integers (so the offset an
instant was written in does not matter), no insignificant whitespace. Comments,
formatting and the split into files do not change it; any change that can
change a decision, or the text of one, does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from ..core.model import Policy


def canonical(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (frozenset, set)):
        return sorted(canonical(v) for v in value)
    if isinstance(value, (tuple, list)):
        if value and all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) for v in value):
            # Keyed pairs (facts, parameters, per-role rules) read and diff best as mappings.
            return {k: canonical(v) for k, v in value}
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    return value


def canonical_bytes(policy: Policy) -> bytes:
    return json.dumps(canonical(policy), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def policy_version(policy: Policy) -> str:
    return "sha256:" + hashlib.sha256(canonical_bytes(policy)).hexdigest()
