"""Steps 3 and 4: a model not controlled at the instant is permitted; a suspended one denied."""

from __future__ import annotations

from ..decision import Code, Outcome, Reason, Verdict
from ..evaluation import Evaluation
from ..model import NOT_CONTROLLED, SUSPENDED


def check(ev: Evaluation) -> Verdict | None:
    assert ev.model is not None and ev.segment is not None
    seg, name = ev.segment, ev.model.name
    note = f": {seg.note}" if seg.note else ""
    if seg.state == NOT_CONTROLLED:
        reason = Reason(Code.NOT_CONTROLLED, seg.rule, f"{name} is not controlled at this instant{note}")
        return ev.verdict("control", Outcome.PERMIT, Code.NOT_CONTROLLED, (reason,))
    if seg.state == SUSPENDED:
        reason = Reason(Code.MODEL_SUSPENDED, seg.rule, f"{name} is suspended by {seg.rule}{note}")
        return ev.verdict("control", Outcome.DENY, Code.MODEL_SUSPENDED, (reason,))
    if ev.trace:
        ev.passed("control", seg.rule, f"{name} is controlled under {seg.rule}{note}")
    return None
