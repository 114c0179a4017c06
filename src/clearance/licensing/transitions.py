"""The application state machine as data: who may do what, from which state, to which.

::

    submitted ─► under-review ◄──► awaiting-applicant        (clock paused while waiting)
        │            │  ▲
        │            ▼  │ respond
        └──────► intent-to-deny ──► denied ──► appealed ──► upheld | reversed
                     │                                       (reversed issues the licence)
                     └──► approved (with conditions; issues the licence)

``withdraw`` ends any open application; ``assign`` names a reviewer without a
change of state. Guards that depend on the clocks (an appeal inside its window,
a denial only after the applicant's response window) live in
:mod:`.applications`.
"""

from __future__ import annotations

from dataclasses import dataclass

REVIEWER = "reviewer"
APPLICANT = "applicant"
SAME = "(unchanged)"
OPEN = ("submitted", "under-review", "awaiting-applicant", "intent-to-deny")
FINAL = ("approved", "upheld", "reversed", "withdrawn")


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    party: str


TRANSITIONS = (
    Transition("assign", (*OPEN, "denied", "appealed"), SAME, REVIEWER),
    Transition("start-review", ("submitted",), "under-review", REVIEWER),
    Transition("request-information", ("submitted", "under-review"), "awaiting-applicant", REVIEWER),
    Transition("respond", ("awaiting-applicant", "intent-to-deny"), "under-review", APPLICANT),
    Transition("intend-to-deny", ("submitted", "under-review"), "intent-to-deny", REVIEWER),
    Transition("approve", ("submitted", "under-review", "intent-to-deny"), "approved", REVIEWER),
    Transition("deny", ("intent-to-deny", "under-review"), "denied", REVIEWER),
    Transition("appeal", ("denied",), "appealed", APPLICANT),
    Transition("uphold", ("appealed",), "upheld", REVIEWER),
    Transition("reverse", ("appealed",), "reversed", REVIEWER),
    Transition("withdraw", (*OPEN, "appealed"), "withdrawn", APPLICANT),
)
BY_ACTION = {t.action: t for t in TRANSITIONS}
ISSUES_LICENCE = ("approve", "reverse")
