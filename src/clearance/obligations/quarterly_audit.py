"""``quarterly-audit``: served by the audit log itself (reports per entity and quarter); nothing per call."""

from __future__ import annotations

from typing import ClassVar

from .handler import Params, Steps


class QuarterlyAuditParams(Params):
    pass


class QuarterlyAudit(Steps):
    code: ClassVar[str] = "quarterly-audit"
    params: ClassVar[type[Params]] = QuarterlyAuditParams
