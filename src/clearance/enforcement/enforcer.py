"""The one enforcement path: decide, turn obligations into duties, reserve caps, record, and only then answer.

Every interface that lets someone act on a decision (the gateway's model routes,
``POST /v1/decisions``) calls :meth:`Enforcer.enforce`; interfaces only translate their wire
format to an :class:`Ask` and the :class:`Enforced` result back. The order is the product's
promise:

1. the live snapshot is brought up to the registry's state at the call's arrival, so a
   revocation that has returned is in force (``freshness``);
2. the core decides a typed request built from the ask (no document is parsed again);
3. a permit's prompt is judged by the gateway's guard under the bundle's ``guardrails`` rules
   (``guarding``); a blocked prompt is refused before any cap is reserved;
   a permit's obligations then run their before-steps (``clearance.obligations``): TLS, caps
   reserved atomically; the first refusal stops the call and gives back what was reserved;
4. the decision record (with any refusal's monitoring event) is durable in the audit log;
   if it cannot be written the reservations are given back and :class:`AuditUnavailable`
   is raised: nothing is answered, let alone forwarded, without its record.

After a forwarded call ends, :meth:`Enforcer.complete` runs the after-steps (settling
reservations to the real count) and queues the completion record.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ..core.decide import decide, invalid
from ..core.decision import Decision
from ..core.errors import RequestError
from ..core.request import PersonRef, checked_request, parse_request, request_document
from ..guardrails.policy import Guards, Hit
from ..obligations import HANDLERS, Call, Outcome, Refusal
from ..obligations.handler import Counters, Handler, Params
from ..observability import metrics
from ..ports import StoreUnavailable
from ..registry.live import LiveSnapshot
from ..services.audit_log import AuditLog
from ..services.audit_trail import decision_body
from .ask import Ask, AuditUnavailable, Enforced, Subject
from .counters import utc_day
from .freshness import Freshness
from .guarding import GuardFailed, Screening, blocked, check_answer, check_prompt, screening_for, summary
from .guarding import record as guard_record
from .identity import Identities, Identity

log = logging.getLogger(__name__)


class Enforcer:
    def __init__(self, live: LiveSnapshot, audit: AuditLog, counters: Counters | None, freshness: Freshness,
                 identities: Identities) -> None:
        self.live = live
        self.audit = audit
        self.counters = counters
        self.freshness = freshness
        self.identities = identities
        self._pending: set[asyncio.Task[Any]] = set()

    async def authenticate(self, token: str, now_ns: int) -> Identity | None:
        """The identity a bearer token stands for now, or ``None``; raises ``StoreUnavailable``.

        The registry is brought up to date first, so a key revoked before this call arrived
        is never honoured from a cache; ``enforce(..., fresh=True)`` then need not wait again.
        """
        await self.freshness.ensure()
        identity = self.identities.cached(token, now_ns)
        if identity is None:
            identity = await self.identities.resolve_once(token, now_ns)
        return identity

    async def enforce(self, ask: Ask, fresh: bool = False, guards: Guards | None = None) -> Enforced:
        """Decide ``ask``, judge its prompt, run its obligations' before-steps, and record it durably (see the module doc).

        ``fresh``: the registry was brought up to date at this call's arrival (by ``authenticate``).
        ``guards``: the gateway's guards, applied to ``ask.prompt`` as the bundle's rules say.
        """
        started = time.perf_counter()
        if not fresh:
            await self.freshness.ensure()
        policy = self.live.current()
        s = ask.subject
        person = PersonRef(s.person, s.citizenships, s.permanent_residency, s.deemed_country, ask.location or s.location)
        document = {"model": ask.model, "entity": s.entity, "use_case": ask.use_case,
                    "person": {"id": s.person, "citizenships": list(s.citizenships), "location": person.location},
                    "action": "inference"}
        try:
            request = checked_request(ask.model, s.entity, ask.use_case, person, ask.at_ns)
        except RequestError as exc:
            decision = invalid(policy, exc, ask.at_ns)
        else:
            document = request_document(request)
            decision = decide(policy, request)
        call, duties, refusal, screening, hit = None, (), None, None, None
        if decision.permitted:
            call, duties = self._call(ask, decision)
            # A `guardrail` obligation is honoured only where the prompt itself is judged (not by a bodiless authorizer).
            call.guarded = guards is not None and guards.prompt is not None and ask.prompt is not None
            who = {"entity": s.entity, "person": s.person, "model": ask.model, "use_case": ask.use_case,
                   "authorization": decision.authorization}
            screening = screening_for(policy.policy.meta, decision, ask.use_case, ask.prompt, duties, guards, who)
            try:
                if screening is not None and screening.plan.reading == "contextual":
                    # The sentence encoder takes 10-100 ms: off the event loop, so the calls the
                    # process serves meanwhile are not held up (numpy lets go of the GIL in its kernels).
                    hit = await asyncio.to_thread(check_prompt, screening)
                else:
                    hit = check_prompt(screening) if screening is not None else None
            except GuardFailed as exc:
                refusal = Refusal(503, "guardrail-unavailable", str(exc))
            if hit is not None:
                call.enforcement["guardrail"] = summary(hit)
            if refusal is None and hit is not None and hit.blocks:
                refusal = blocked(hit)  # before any before-step: nothing reserved, nothing to give back
            if refusal is not None:
                call.enforcement.update(status=refusal.status, code=refusal.code)
            else:
                refusal = await self._before(call, duties)
        enforced = await self._record(document, decision, ask.source, s.caller, ask.at_ns, ask.metadata, call, duties,
                                      refusal)
        enforced.screening = screening
        if hit is not None:
            await self._guard_record(enforced, hit, ask.prompt or "", durable=hit.blocks)
        _observe(enforced, started)
        return enforced

    def check_answer(self, enforced: Enforced, answer: str, at_ns: int) -> Hit | None:
        """Judge a forwarded call's answer (or its stream so far); a block or flag is recorded (queued).

        ``None`` when no answer guard acts on the call or the answer is below every threshold.
        Raises :class:`GuardFailed` (fail closed: the caller stops serving the answer).
        """
        screening: Screening | None = enforced.screening
        if screening is None or not screening.answer_active:
            return None
        hit = check_answer(screening, answer)
        if hit is not None:
            kind, body = guard_record(screening, hit, answer, enforced.decision_id)
            try:
                self.audit.group.submit_lazy(kind, body, at_ns)
            except Exception:  # noqa: BLE001 - the cut or flag stands; the failure is logged, not hidden
                log.exception("guardrail record for decision %s could not be queued", enforced.decision_id)
        return hit

    async def _guard_record(self, enforced: Enforced, hit: Hit, text: str, durable: bool) -> None:
        """A prompt's block is durable before the 403 is sent (like the decision); a flag rides along queued."""
        kind, body = guard_record(enforced.screening, hit, text, enforced.decision_id)
        at = enforced.call.at_ns if enforced.call is not None else 0
        if not durable:
            try:
                self.audit.group.submit_lazy(kind, body, at)
            except Exception:  # noqa: BLE001
                log.exception("guardrail record for decision %s could not be queued", enforced.decision_id)
            return
        try:
            await self.audit.group.submit_async([(kind, body, at)])[0]
        except (StoreUnavailable, TimeoutError, RuntimeError, ValueError) as exc:
            raise AuditUnavailable(f"the guardrail record could not be written: {exc}") from exc

    async def enforce_document(self, document: Any, caller: str, now_ns: int, source: str = "api",
                               trace: bool = False) -> tuple[Enforced, Decision]:
        """Decide a contract request document (a malformed one is ``invalid-request``) and record it.

        Nothing is forwarded on this path, so obligations are reported, not run. Returns the
        recorded result and, with ``trace``, the traced decision to show (the same verdict).
        """
        await self.freshness.ensure()
        policy = self.live.current()
        try:
            request = parse_request(document, now_ns)
        except RequestError as exc:
            decision = invalid(policy, exc)
        else:
            decision = decide(policy, request)
        enforced = await self._record(document, decision, source, caller, now_ns, {}, None, (), None)
        metrics.decided(str(decision.outcome), str(decision.code))
        shown = decide(policy, request, trace=True) if trace and decision.code != "invalid-request" else decision
        return enforced, shown

    def allowed_models(self, subject: Subject, use_case: str | None, location: str | None, at_ns: int) -> list[str]:
        """The models ``subject`` may use at ``at_ns`` for ``use_case``: a listing, so nothing is recorded."""
        policy = self.live.current()
        person = PersonRef(subject.person, subject.citizenships, subject.permanent_residency, subject.deemed_country,
                           location or subject.location)
        allowed = []
        for model in sorted(policy.models):
            try:
                request = checked_request(model, subject.entity, use_case, person, at_ns)
            except RequestError:
                return []
            if decide(policy, request).permitted:
                allowed.append(model)
        return allowed

    def complete(self, enforced: Enforced, body: dict[str, Any], status: int, tokens: int | None, at_ns: int) -> None:
        """After a forwarded call: queue its completion record and run the after-steps, without holding the client."""
        try:
            self.audit.group.submit_lazy("completion", body, at_ns)
        except Exception:  # noqa: BLE001 - the answer is out; the failure is logged, not hidden
            log.exception("completion record for decision %s could not be queued", enforced.decision_id)
        if enforced.call is not None and enforced.duties:
            self._spawn(self._after(enforced.call, enforced.duties, Outcome(status, tokens)))

    async def drain(self) -> None:
        """Wait for pending after-steps (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def close(self) -> None:
        await self.drain()
        close = getattr(self.counters, "close", None)
        if close is not None:
            await close()

    # -- steps --------------------------------------------------------------------------------

    def _call(self, ask: Ask, decision: Decision) -> tuple[Call, tuple[tuple[Handler, Params], ...]]:
        day, reset = utc_day(ask.at_ns)
        s = ask.subject
        call = Call(s.entity, s.person, ask.model, decision.authorization, ask.at_ns, day, reset, ask.tls,
                    ask.prompt_tokens, ask.completion_tokens, self.counters)
        duties = []
        for clause in decision.obligations:
            handler = HANDLERS.get(clause.code)
            # Bundles are checked against the handlers at load; a clause that still fails here
            # (a handler removed since) is refused below rather than ignored.
            params = handler.params.model_validate(dict(clause.params)) if handler is not None else None
            duties.append((handler, params))
        return call, tuple(duties)  # type: ignore[arg-type]

    async def _before(self, call: Call, duties: tuple[tuple[Handler, Params], ...]) -> Refusal | None:
        for handler, params in duties:
            if handler is None:
                return Refusal(403, "unsupported-obligation", "the permit carries an obligation this gateway cannot honour")
            try:
                refusal = await handler.before(params, call)
            except StoreUnavailable as exc:
                refusal = Refusal(503, "store-unavailable", str(exc))
            if refusal is not None:
                await self._give_back(call)
                call.enforcement.update(status=refusal.status, code=refusal.code)
                return refusal
        return None

    async def _record(self, document: Any, decision: Decision, source: str, caller: str, at_ns: int,
                      metadata: dict[str, Any], call: Call | None, duties: tuple[tuple[Handler, Params], ...],
                      refusal: Refusal | None) -> Enforced:
        contract = decision.to_dict()
        body = decision_body(document, decision, source, caller, contract=contract, **metadata)
        if call is not None and call.enforcement:
            body["enforcement"] = call.enforcement
        entries = [("decision", body, at_ns)]
        if refusal is not None and refusal.event is not None:
            entries.append(("monitoring", refusal.event, at_ns))
        try:
            # Bounded by the group's timeout: its reaper fails a future whose record is late.
            futures = self.audit.group.submit_async(entries)
            seq = (await futures[0]).seq
            for future in futures[1:]:
                await future
        except (StoreUnavailable, TimeoutError, RuntimeError, ValueError) as exc:
            if call is not None:
                await self._give_back(call)
            raise AuditUnavailable(f"the decision could not be recorded, so it is not served: {exc}") from exc
        return Enforced(decision, contract, seq, refusal, call, duties)

    async def _after(self, call: Call, duties: tuple[tuple[Handler, Params], ...], outcome: Outcome) -> None:
        for handler, params in duties:
            try:
                await handler.after(params, call, outcome)
            except Exception:  # noqa: BLE001 - logged; a reservation not settled errs on the cap's side
                log.exception("after-step of %s failed for %s", handler.code, call.authorization)

    async def _give_back(self, call: Call) -> None:
        if self.counters is None:
            return
        for reservation in call.reservations:
            if not reservation.settled:
                reservation.settled = True
                try:
                    await self.counters.settle(reservation.scope, reservation.day, -reservation.granted)
                except StoreUnavailable:
                    log.warning("could not give back %s reserved tokens for %s", reservation.granted, reservation.scope)

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)


def _observe(enforced: Enforced, started: float) -> None:
    """Metrics of one recorded decision: its outcome and code, its latency, what its obligations did."""
    refusal, call = enforced.refusal, enforced.call
    if refusal is not None:
        metrics.decided("refused", refusal.code)
        metrics.refused(refusal.code)
    else:
        metrics.decided(str(enforced.decision.outcome), str(enforced.decision.code))
    if call is not None and call.reservations and refusal is None:
        metrics.CAP_RESERVATIONS.inc(len(call.reservations))
    metrics.DECISION_SECONDS.observe(time.perf_counter() - started)
