"""Replaying a recorded decision by its ``decision_id``: the request as audited, the policy as it was then.

A gateway or API decision is an audit record (its seq is the ``decision_id`` the caller got)
holding the request document as decided. It is decided again under the registry as valid
and known at the record's instant (``licensing.impact.RegistryTimeline``: the same bundle
with the registry rows of that moment), so ``decide``/``explain --decision-id`` show what
the server decided and why, not what today's registry would say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import typer

from ..core.index import CompiledPolicy
from .io import err


@dataclass(frozen=True)
class Recorded:
    document: Any
    policy: CompiledPolicy
    at_ns: int
    recorded: dict[str, Any]


def recorded_decision(decision_id: int) -> Recorded:
    """The audited request ``decision_id`` and the policy it was decided under; exits 2 if there is none."""
    from ..licensing.impact import RegistryTimeline
    from ..licensing.record import InputError
    from ..settings import Settings
    from ..wiring import build_app

    app = build_app(Settings.from_env())
    try:
        assert app.audit is not None
        found = app.audit.store.records(decision_id, decision_id + 1) if decision_id >= 0 else []
        body = found[0].body if found else None
        if not found or found[0].kind != "decision" or not isinstance(body, dict) or "request" not in body:
            err.print(f"--decision-id: the audit log holds no decision {decision_id}")
            raise typer.Exit(2)
        try:
            policy = RegistryTimeline(app.service, app.service.sections).policy_at(found[0].at_ns)
        except InputError as exc:
            err.print(f"--decision-id: the policy of that instant does not load: {'; '.join(exc.problems)}")
            raise typer.Exit(1) from None
        recorded = body.get("decision") if isinstance(body.get("decision"), dict) else {}
        return Recorded(body["request"], policy, found[0].at_ns, recorded)
    finally:
        app.close()
