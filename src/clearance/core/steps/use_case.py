"""Step 5: a prohibited use case is denied whatever authorization exists."""

from __future__ import annotations

from ..decision import Code, Outcome, Reason, Verdict
from ..evaluation import Evaluation


def check(ev: Evaluation) -> Verdict | None:
    uc, cls = ev.request.use_case, ev.use_case_class
    if ev.prohibited:
        message = f"use case `{uc}` is prohibited (class `{cls}`) whatever authorization exists"
        return ev.verdict("use-case", Outcome.DENY, Code.PROHIBITED_USE, (Reason(Code.PROHIBITED_USE, cls, message),))
    if ev.trace:
        ev.passed("use-case", cls, f"use case `{uc}` is in class `{cls}`, not prohibited")
    return None
