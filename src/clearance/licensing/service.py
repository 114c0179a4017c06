"""Applications stored and audited: the registry keeps every version, the audit log every transition.

An application is a registry record of kind ``application``; each transition is
a new version (checked by the registry against :class:`.record.ApplicationRecord`),
so its bitemporal history is the registry's. An approval writes the application
and its licence (an ``authorization`` record) in one registry transaction, so a
licence never exists without the approval that issued it, and the live snapshot
picks it up on the commit. Each transition is then appended to the audit log
(kind ``licensing``, ``entity`` at the top level so it is indexed).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from ..core.index import CompiledPolicy
from ..core.instant import format_instant
from ..ports import Change, Clock, Record
from ..registry.service import RegistryService, WriteRejected
from . import applications as apps
from .clocks import settings_of
from .record import ApplicationInput, InputError, parse
from .transitions import APPLICANT, BY_ACTION, FINAL

KIND = "application"
FOREVER = 2**62


class NotFound(InputError):
    pass


class LicensingService:
    def __init__(
        self,
        registry: RegistryService,
        policy: Callable[[], CompiledPolicy],
        audit: Any | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.registry = registry
        self.policy = policy
        self.audit = audit
        self.clock = clock or registry.clock

    # -- reads -------------------------------------------------------------------------

    def get(self, app_id: str) -> Record:
        versions = self.registry.history(KIND, app_id)
        if not versions:
            raise NotFound([f"application `{app_id}` does not exist"])
        return versions[-1]

    def versions(self, app_id: str) -> list[Record]:
        self.get(app_id)
        return self.registry.history(KIND, app_id)

    def all(self, entity: str | None = None, state: str | None = None) -> dict[str, dict[str, Any]]:
        found = self.registry.state(valid_at=FOREVER, kind=KIND)
        out = {}
        for (_, key), record in sorted(found.items()):
            body = record.body or {}
            if (entity is None or body.get("entity") == entity) and (state is None or body.get("state") == state):
                out[key] = body
        return out

    def view(self, app_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """An application with its clocks as they stand now."""
        body = self.get(app_id).body if body is None else body
        assert body is not None
        now = self.clock.now_ns()
        return {"id": app_id, **body, "clocks": apps.clocks(body, settings_of(self.policy().policy), now), "now": format_instant(now)}

    def due(self, within_days: float | None = None) -> dict[str, Any]:
        """Reviewer deadlines overdue or due soon (``within_days``, default the bundle's ``due_soon_days``)."""
        settings = settings_of(self.policy().policy)
        soon = settings.due_soon_days if within_days is None else within_days
        now = self.clock.now_ns()
        overdue, due_soon, lapsed = [], [], []
        for app_id, body in self.all().items():
            if body["state"] in FINAL:
                continue
            for clock in apps.clocks(body, settings, now):
                line = {"application": app_id, "entity": body["entity"], "state": body["state"], "reviewer": body.get("reviewer"), **clock}
                if clock["status"] == "lapsed":
                    # A closed appeal window needs no one's action: the denial is simply final.
                    if clock["name"] != "appeal-window":
                        lapsed.append(line)
                elif clock["party"] != "reviewer" or clock["status"] not in ("running", "due-soon", "overdue"):
                    continue
                elif clock["status"] == "overdue":
                    overdue.append(line)
                elif clock["remaining_days"] is not None and clock["remaining_days"] <= soon:
                    due_soon.append(line)
        due_soon.sort(key=lambda d: d["remaining_days"])
        overdue.sort(key=lambda d: d["remaining_days"])
        return {"now": format_instant(now), "overdue": overdue, "due_soon": due_soon, "applicant_windows_closed": lapsed}

    # -- writes ------------------------------------------------------------------------

    def submit(self, obj: Any, actor: str, app_id: str | None = None) -> dict[str, Any]:
        app = parse(ApplicationInput, obj)
        app_id = app_id or f"APP-{secrets.token_hex(4).upper()}"
        now = self.clock.now_ns()
        body = apps.submit(self.policy(), app, actor, now)
        record = self.registry.put(KIND, app_id, body, effective=now, actor=actor, reason="application submitted", expect=None)
        self._audit(app_id, None, body, "submit", actor, now, record.seq)
        return self.view(app_id, body)

    def act(self, app_id: str, action: str, actor: str, params: dict[str, Any] | None = None, party: str | None = None) -> dict[str, Any]:
        """Apply ``action``; ``party`` (``applicant`` for an entity-scoped caller) limits what may be done."""
        t = BY_ACTION.get(action)
        if party == APPLICANT and t is not None and t.party != APPLICANT:
            raise apps.TransitionRefused([f"action: `{action}` is a reviewer's action"], 403)
        current = self.get(app_id)
        assert current.body is not None
        now = self.clock.now_ns()
        policy = self.policy()
        out = apps.transition(policy, settings_of(policy.policy), app_id, current.body, action, actor, now, params)
        reason = f"{action}: {out.body['events'][-1]['note']}".rstrip(": ")
        changes = [Change(KIND, app_id, "put", out.body, now, actor, reason)]
        expect: dict[tuple[str, str], int | None] = {(KIND, app_id): current.seq}
        if out.licence is not None:
            key, licence = out.licence
            changes.append(Change("authorization", key, "put", licence, now, actor, f"issued on {action} of {app_id}"))
            expect[("authorization", key)] = None
        records = self.registry.write(changes, expect)
        self._audit(app_id, current.body, out.body, action, actor, now, records[0].seq)
        return self.view(app_id, out.body)

    def sweep(self, actor: str = "system:licensing") -> list[str]:
        """Make final the denials whose intent-to-deny reached its final day unanswered (750.6)."""
        settings = settings_of(self.policy().policy)
        now = self.clock.now_ns()
        done = []
        for app_id, body in self.all(state="intent-to-deny").items():
            if apps.lapsed(apps.history(body), settings, now, "denial-final"):
                try:
                    self.act(app_id, "deny", actor, {"note": f"final: no answer within {settings.denial_final_days} days"})
                except apps.TransitionRefused:
                    continue  # settings where the applicant's window outlasts the final day: left to a reviewer
                done.append(app_id)
        return done

    def _audit(self, app_id: str, before: dict[str, Any] | None, after: dict[str, Any], action: str, actor: str, now: int, seq: int) -> None:
        if self.audit is None:
            return
        event = after["events"][-1]
        body = {
            "entity": after["entity"],
            "application": app_id,
            "action": action,
            "actor": actor,
            "from": None if before is None else before["state"],
            "to": after["state"],
            "at": event["at"],
            "note": event["note"],
            "details": event["details"],
            "registry_seq": seq,
            "fingerprint": after["fingerprint"],
        }
        if action == "submit":
            body["assessment"] = {k: after["assessment"][k] for k in ("outcome", "recommendation", "policy_version")}
        try:
            self.audit.append("licensing", body, at_ns=now)
        except Exception as exc:
            # The transition is committed; say so rather than let the caller retry it.
            raise WriteRejected(503, [f"application `{app_id}`: {action} was stored (registry seq {seq}) but not audited: {exc}"]) from exc
