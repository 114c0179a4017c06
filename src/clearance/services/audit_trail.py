"""What goes into the audit log, and in which shape, for each thing that happens.

One place defines the bodies, so the remote audit interface, the quarterly report and the
impact replay can rely on them:

- ``decision``: ``{"request": …, "decision": …, "source": …, "caller": …}``: the contract
  request as decided (its ``at`` filled in with the instant used, so it replays exactly) and
  the contract decision, plus request metadata.
- ``guardrail``: one block or flag by the gateway's guards: which call (``decision_seq`` and
  the call's entity, person, model, use case, authorization), the ``stage`` (``prompt`` or
  ``answer``), ``label``, ``score``, ``threshold``, ``action``, the ``rule`` that set it,
  ``domain``, ``features``, the guard's name and version, and the SHA-256 of the text judged;
  the text itself only when the permit's ``monitoring`` obligation records content.
- ``admin-change``: one committed registry change: what, when it takes effect, who and why.
  Credential bodies are left out: they hold no secret, but a hash has no business in an
  export an auditor hands on.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..core.decision import Decision
from ..guardrails.verdict import without_quotes
from ..ports import Record

REDACTED_KINDS = frozenset({"credential"})


def decision_body(document: Any, decision: Decision, source: str, caller: str | None = None,
                  contract: dict[str, Any] | None = None, **metadata: Any) -> dict[str, Any]:
    """The body of a ``decision`` record for ``document`` (the request as received).

    ``contract`` is ``decision.to_dict()`` when the caller has made it already; it is not copied.
    """
    out = decision.to_dict() if contract is None else contract
    request = dict(document) if isinstance(document, dict) else {"unparsed": repr(document)[:2000]}
    if isinstance(document, dict) and "at" not in request:
        request["at"] = out["at"]
    body: dict[str, Any] = {"request": request, "decision": out, "source": source}
    if caller is not None:
        body["caller"] = caller
    body.update(metadata)
    return body


def guardrail_body(hit: Any, call: dict[str, Any], text: str, record_content: bool, guard: Any) -> dict[str, Any]:
    """The body of a ``guardrail`` record: ``hit`` (a ``clearance.guardrails.policy.Hit``) about ``text``.

    ``call`` names the call (``decision_seq``, entity, person, model, use_case, authorization).
    """
    body: dict[str, Any] = {
        **call, "event": f"{hit.stage}-{'blocked' if hit.blocks else 'flagged'}", "stage": hit.stage,
        "label": hit.label, "score": round(hit.score, 6), "threshold": hit.threshold, "action": hit.action,
        "rule": hit.rule, "domain": hit.domain,
        "features": list(hit.features) if record_content else without_quotes(hit.features),
        "guard": {"name": getattr(guard, "name", None), "version": getattr(guard, "version", None)},
        "content_sha256": hashlib.sha256(text.encode()).hexdigest(),
    }
    if record_content:
        body["content"] = text
    return body


def change_body(record: Record) -> dict[str, Any]:
    """The body of an ``admin-change`` record for one committed registry row."""
    body: dict[str, Any] = {
        "change": {
            "seq": record.seq, "kind": record.kind, "key": record.key, "op": record.op,
            "valid_from": record.valid_from, "recorded_at": record.recorded_at,
        },
        "actor": record.actor,
        "reason": record.reason,
    }
    if record.body is not None and record.kind not in REDACTED_KINDS:
        body["body"] = record.body
    entity = _entity_of(record)
    if entity is not None:
        body["entity"] = entity
    if record.kind == "person":
        body["person"] = record.key
    return body


def change_entries(records: list[Record]) -> list[tuple[int, str, dict[str, Any]]]:
    """The ``admin-change`` audit entries ``(at_ns, kind, body)`` of committed registry rows.

    The registry store appends them in the same transaction as the rows themselves, so a
    change and its record commit together or not at all.
    """
    return [(r.recorded_at, "admin-change", change_body(r)) for r in records]


def _entity_of(record: Record) -> str | None:
    body = record.body or {}
    if record.kind == "entity":
        return record.key
    if record.kind == "restriction":
        return None if record.key.startswith("person:") else record.key
    value = body.get("entity")
    return value if isinstance(value, str) else None
