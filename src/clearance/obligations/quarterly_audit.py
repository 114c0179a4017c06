"""``quarterly-audit``: served by the audit log itself (reports per entity and quarter); nothing per call."""

from __future__ import annotations

from typing import ClassVar

from .handler import Call, Outcome, Params, Refusal


class QuarterlyAuditParams(Params):
    pass


class QuarterlyAudit:
    code: ClassVar[str] = "quarterly-audit"
    params: ClassVar[type[Params]] = QuarterlyAuditParams

    async def before(self, params: Params, call: Call) -> Refusal | None:
        return None

    async def after(self, params: Params, call: Call, outcome: Outcome) -> None:
        return None
