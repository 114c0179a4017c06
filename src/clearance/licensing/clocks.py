"""The clocks of an application: which deadlines run, which are paused, which are overdue.

Pure: the state history and "now" are arguments. Settings come from the bundle's
optional ``licensing`` section; without it the defaults of
:class:`~clearance.policy.schema.LicensingSpec` apply, which are the EAR's
(15 CFR 750.4, 750.6, 756.2).

Two kinds of deadline:

- *processing* deadlines (first action, resolution) count only the time spent
  in states where the clock runs; states listed in ``pause_in`` stop it (750.4(b):
  time waiting on the applicant does not count);
- *episode* deadlines (the applicant's response to an intent to deny, the day a
  denial becomes final, the appeal window, the appeal decision) run in calendar
  days from the latest entry into their state.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..core.instant import format_instant
from ..core.model import Policy
from ..policy.schema import LicensingSpec

NS = 1_000_000_000
DAY = 86_400 * NS

OPEN = ("submitted", "under-review", "awaiting-applicant", "intent-to-deny")
DECIDED = ("approved", "denied", "withdrawn", "upheld", "reversed", "appealed")


def settings_of(policy: Policy) -> LicensingSpec:
    """The bundle's licensing settings, or the EAR defaults when it states none."""
    found = dict(policy.meta).get("licensing")
    return LicensingSpec() if found is None else LicensingSpec.model_validate(_thaw(found))


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        if value and all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) for v in value):
            return {k: _thaw(v) for k, v in value}
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Deadline:
    """One deadline of one application as it stands at ``now``.

    ``status``: ``running``, ``due-soon``, ``overdue``, ``paused``, ``met``,
    ``late`` (met after its due time) or ``lapsed`` (an applicant's window closed).
    ``due`` is the projected instant while running; ``None`` while paused or when
    the deadline has no fixed length (``days`` is ``None``).
    """

    name: str
    party: str
    days: int | None
    started: int
    counted_ns: int
    status: str
    due: int | None
    ended: int | None

    @property
    def remaining_ns(self) -> int | None:
        return None if self.days is None else self.days * DAY - self.counted_ns

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["started"] = format_instant(self.started)
        out["due"] = None if self.due is None else format_instant(self.due)
        out["ended"] = None if self.ended is None else format_instant(self.ended)
        out["counted_days"] = round(self.counted_ns / DAY, 3)
        out["remaining_days"] = None if self.remaining_ns is None else round(self.remaining_ns / DAY, 3)
        return out


History = list[tuple[int, str]]
"""``(instant, state entered)`` in order; the first entry is the submission."""


def deadlines(history: History, settings: LicensingSpec, now: int) -> list[Deadline]:
    """Every deadline that applies to an application with this state history."""
    paused = set(settings.pause_in)
    soon = settings.due_soon_days * DAY
    out = [
        _counted("first-action", "reviewer", settings.first_action_days, history, {"submitted"}, now, soon, stop=None),
        _counted(
            "resolution", "reviewer", settings.resolution_days, history, set(OPEN) - paused, now, soon, stop=set(DECIDED)
        ),
    ]
    episodes = (
        ("information-response", "applicant", settings.information_response_days, "awaiting-applicant"),
        ("applicant-response", "applicant", settings.response_days, "intent-to-deny"),
        ("denial-final", "reviewer", settings.denial_final_days, "intent-to-deny"),
        ("appeal-window", "applicant", settings.appeal_window_days, "denied"),
        ("appeal-decision", "reviewer", settings.appeal_decision_days, "appealed"),
    )
    for name, party, days, state in episodes:
        found = _episode(name, party, days, history, state, now, soon)
        if found is not None:
            out.append(found)
    return out


def _counted(
    name: str, party: str, days: int | None, history: History, running: set[str], now: int, soon: int, stop: set[str] | None
) -> Deadline:
    """Time counted while in ``running`` states, until the first state in ``stop``
    (``None``: until the first state that is not ``running``, as for a first action)."""
    counted, ended, current_running = 0, None, False
    for i, (at, state) in enumerate(history):
        done = (state not in running) if stop is None else (state in stop)
        if done and i > 0:
            ended = at
            break
        end = history[i + 1][0] if i + 1 < len(history) else now
        if state in running:
            counted += max(0, end - at)
        current_running = state in running and i + 1 == len(history)
    return _status(name, party, days, history[0][0], counted, ended, current_running, now, soon)


def _episode(name: str, party: str, days: int | None, history: History, state: str, now: int, soon: int) -> Deadline | None:
    entries = [i for i, (_, s) in enumerate(history) if s == state]
    if not entries:
        return None
    i = entries[-1]
    start = history[i][0]
    ended = history[i + 1][0] if i + 1 < len(history) else None
    counted = (now if ended is None else ended) - start
    found = _status(name, party, days, start, counted, ended, ended is None, now, soon)
    if party == "applicant" and found.status == "overdue":
        return Deadline(**{**asdict(found), "status": "lapsed"})
    return found


def _status(
    name: str, party: str, days: int | None, started: int, counted: int, ended: int | None, running: bool, now: int, soon: int
) -> Deadline:
    limit = None if days is None else days * DAY
    if ended is not None:
        status, due = ("late" if limit is not None and counted > limit else "met"), None
    elif not running:
        status, due = "paused", None
    elif limit is None:
        status, due = "running", None
    else:
        due = now + (limit - counted)
        status = "overdue" if counted > limit else "due-soon" if limit - counted <= soon else "running"
    return Deadline(name, party, days, started, counted, status, due, ended)


def lapsed(history: History, settings: LicensingSpec, now: int, name: str) -> bool:
    """Whether the deadline ``name`` has passed (an applicant's window closed, or a reviewer's due time)."""
    for d in deadlines(history, settings, now):
        if d.name == name:
            return d.status in ("lapsed", "overdue")
    return False
