"""Obligations: what a permit requires of the call it allows, one handler per obligation code.

A handler owns three things about its code: the parameter schema (checked when a bundle
or a registry licence is loaded, so a typo never reaches a request), the step run before
a call is forwarded (which may refuse it), and the step run after the answer. Adding an
obligation type is one new module here and one line in :data:`HANDLERS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .encryption import EncryptionRequired
from .guardrail import Guardrail
from .handler import Call, Handler, Outcome, Refusal
from .monitoring import Monitoring
from .quarterly_audit import QuarterlyAudit
from .usage_cap import Reservation, UsageCap

HANDLERS: Mapping[str, Handler] = {h.code: h for h in (Monitoring(), UsageCap(), QuarterlyAudit(), EncryptionRequired(),
                                                       Guardrail())}

__all__ = ["HANDLERS", "Call", "Handler", "Outcome", "Refusal", "Reservation", "clause_problems", "handler_for"]


def handler_for(code: str) -> Handler | None:
    return HANDLERS.get(code)


def clause_problems(clause: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What is wrong with one obligation clause, as ``(field, message)`` pairs; empty when valid."""
    code = clause.get("code")
    handler = HANDLERS.get(code) if isinstance(code, str) else None
    if handler is None:
        return [("code", f"unknown obligation `{code}`; known: {', '.join(sorted(HANDLERS))}")]
    params = {k: v for k, v in clause.items() if k != "code"}
    try:
        handler.params.model_validate(params)
    except ValidationError as exc:
        return [(".".join(str(p) for p in e["loc"]) or "code", e["msg"].removeprefix("Value error, ")) for e in exc.errors()]
    return []
