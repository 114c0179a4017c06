"""The JSON view of a stored registry record, shared by the admin API and the CLI.

Credential bodies lose their secret hash here: it is never shown, whoever asks.
"""

from __future__ import annotations

from typing import Any

from ..core.instant import format_instant
from ..ports import Record


def record_out(r: Record) -> dict[str, Any]:
    body = r.body
    if r.kind == "credential" and body is not None:
        body = {k: v for k, v in body.items() if k != "secret_sha256"}
    return {
        "seq": r.seq,
        "kind": r.kind,
        "key": r.key,
        "op": r.op,
        "record": body,
        "effective": format_instant(r.valid_from),
        "recorded": format_instant(r.recorded_at),
        "recorded_by": r.actor,
        "reason": r.reason,
    }
