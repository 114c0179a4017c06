"""The enforcing proxy: the OpenAI wire format translated to and from the enforcer.

Order matters and is the product's promise:
1. the bearer key resolves to a person and an entity (401 otherwise), on a registry no older
   than the call's arrival, so a revocation that has returned is in force;
2. the enforcer decides (model asked for, use case from ``X-Clearance-Use-Case`` or the key's
   default, location from a trusted proxy's header, the key's default or the person's usual
   location), runs the permit's obligations (TLS, caps reserved atomically) and makes the
   decision record durable before the client hears anything;
   a prompt the gateway's guard blocks under the bundle's ``guardrails`` rules is refused there
   (403 ``guardrail-blocked``), before any cap is reserved;
3. only then is the call forwarded, with ``max_tokens`` no larger than the caps reserved;
   its completion (tokens, duration, upstream status) is recorded and the reservation
   settled when it ends, however it ends. An answer the guard blocks is withheld (403
   ``guardrail-blocked``); a stream that turns harmful is cut with an error event.
A failure of any store on the way answers 503: never a forward without a record.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import Any, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..core.request import control_character
from ..enforcement import Ask, AuditUnavailable, Enforced, GuardFailed, Identity
from ..enforcement.guarding import REMEDIES
from ..observability import metrics, tracing
from ..ports import StoreUnavailable
from .dialects import BadRequest, Dialect
from .dialects.openai import DIALECT as OPENAI
from .runtime import Gateway
from .upstream import UpstreamError, UpstreamReply
from .usage import estimate

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_DEPTH = 128


async def authenticate(gw: Gateway, headers: Mapping[str, str], now: int, dialect: Dialect = OPENAI) -> Identity | Response:
    token = dialect.credential(headers)
    if token is None:
        return dialect.error(401, "missing-api-key", dialect.missing_key)
    try:
        identity = await gw.enforcer.authenticate(token, now)
    except StoreUnavailable as exc:
        return dialect.error(503, "store-unavailable", str(exc))
    if identity is None:
        return dialect.error(401, "invalid-api-key", "unknown or revoked key")
    if not identity.credential.allows("gateway") or identity.person_id is None:
        return dialect.error(403, "key-not-for-models", "this key is not a model-use key bound to a person")
    return identity


async def proxy(request: Request, path: str, dialect: Dialect = OPENAI) -> Response:
    if tracing.tracer is None:
        return await _proxy(request, path, dialect)
    with tracing.tracer.start_as_current_span("clearance " + path, kind=tracing.server_kind) as span:
        response = await _proxy(request, path, dialect)
        decision_id = response.headers.get("x-clearance-decision-id")
        if decision_id is not None:
            span.set_attribute("clearance.decision_id", int(decision_id))
        span.set_attribute("http.route", "/v1" + path)
        span.set_attribute("http.response.status_code", response.status_code)
        return response


async def _proxy(request: Request, path: str, dialect: Dialect) -> Response:
    gw: Gateway = request.app.state.gateway
    started = time.perf_counter()
    now = gw.clock.now_ns()
    identity = await authenticate(gw, request.headers, now, dialect)
    if isinstance(identity, Response):
        return identity
    raw = await _body(request, gw.config.max_body_bytes)
    if raw is None:
        return dialect.error(413, "body-too-large", f"request body over {gw.config.max_body_bytes} bytes")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return dialect.error(400, "invalid-json", f"the request body is not JSON: {exc}")
    if not isinstance(body, dict):
        return dialect.error(400, "invalid-request", "the request body must be a JSON object")
    if _deeper_than(body, MAX_DEPTH):
        # orjson re-encodes at most 255 levels: the forwarded body must stay encodable.
        return dialect.error(400, "invalid-request", f"the request body is nested deeper than {MAX_DEPTH} levels")
    parsed = dialect.parse(body, path, gw.config.default_completion_tokens)
    if isinstance(parsed, BadRequest):
        return dialect.error(400, "invalid-request", parsed.message, param=parsed.param)
    bad = control_character(parsed.model)
    if bad is not None:
        # Refused before the enforcer: such a value has no place in an id, and never reaches the audit batch.
        return dialect.error(400, "invalid-request", f"model: must not contain control characters (found {bad})",
                             param="model")
    tls = gw.secure(request)
    client = {"address": request.client.host if request.client else None, "tls": tls,
              "user_agent": request.headers.get("user-agent"), "bytes": len(raw)}
    use_case = request.headers.get("x-clearance-use-case") or identity.credential.record.default_use_case
    if use_case is None:
        return dialect.error(400, "invalid-request", missing_use_case(gw), param="use_case")
    prompt = dialect.prompt_text(body, path) if gw.guards is not None else None
    ask = Ask(identity.subject(), parsed.model, use_case, gw.location(request, identity), now, "gateway", tls,
              parsed.prompt_tokens, parsed.completion_tokens, {"path": path, "stream": parsed.stream, "client": client},
              prompt)
    try:
        enforced = await gw.enforcer.enforce(ask, fresh=True, guards=gw.guards)
    except AuditUnavailable as exc:
        return dialect.error(503, "audit-unavailable", str(exc))
    except StoreUnavailable as exc:
        return dialect.error(503, "store-unavailable", str(exc))
    seq = enforced.decision_id
    if enforced.refusal is not None:
        r = enforced.refusal
        headers = {**r.headers, "x-clearance-decision-id": str(seq)}
        return dialect.error(r.status, r.code, r.message, headers=headers, decision_id=seq,
                             policy_version=enforced.contract.get("policy_version"), **r.details)
    if not enforced.decision.permitted:
        denied = dialect.refusal(403, enforced.contract, seq)
        denied.headers["x-clearance-decision-id"] = str(seq)  # as on every answer with a record: traces key on it
        return denied
    return await _forward(gw, request, path, dialect, body, raw, parsed.stream, ask, enforced, started)


def missing_use_case(gw: Gateway) -> str:
    """What to do when neither the call nor the key names a use case (a newcomer's first 4xx)."""
    known = sorted({u for c in gw.live.current().policy.use_case_classes if not c.prohibited for u in c.use_cases})
    return ("use_case: missing. Send it as the `X-Clearance-Use-Case` header (one of: " + ", ".join(known)
            + "), or issue the key with a default (`clearance registry token create --scope gateway --person ID "
            "--default-use-case USE_CASE`).")


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests arrays and objects more than ``limit`` levels deep (iterative: no recursion)."""
    level = [value]
    for _ in range(limit):
        level = [item for v in level if isinstance(v, dict | list)
                 for item in (v.values() if isinstance(v, dict) else v) if isinstance(item, dict | list)]
        if not level:
            return False
    return True


async def _body(request: Request, limit: int) -> bytes | None:
    """The request body, or ``None`` as soon as it is known to exceed ``limit`` (never read whole)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


async def _until_disconnect(request: Request, work: Awaitable[T]) -> T | None:
    """``work``'s result, or ``None`` (with ``work`` cancelled) if the client goes away first.

    ``work`` runs in this task; only the watcher is a task of its own, and it cancels this
    one when the client hangs up, which is cheaper than racing two new tasks on every call.
    """
    me = asyncio.current_task()
    assert me is not None
    gone = asyncio.Event()
    watcher = asyncio.ensure_future(_disconnected(request, me, gone))
    try:
        return await work
    except asyncio.CancelledError:
        if gone.is_set():
            me.uncancel()
            return None
        raise
    finally:
        watcher.cancel()


async def _disconnected(request: Request, task: asyncio.Task[Any], gone: asyncio.Event) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            gone.set()
            task.cancel()
            return


async def _forward(gw: Gateway, request: Request, path: str, dialect: Dialect, body: dict[str, Any], raw: bytes,
                   stream: bool, ask: Ask, enforced: Enforced, started: float) -> Response:
    upstream, upstream_model = gw.upstream_for(ask.model)
    if upstream is None:
        return dialect.error(503, "no-upstream", f"no upstream serves model `{ask.model}`")
    seq = enforced.decision_id
    headers = {"x-clearance-decision-id": str(seq)}
    if dialect.name not in upstream.dialects:
        # The decision is recorded; nothing was forwarded, and the completion record says why.
        _finish(gw, enforced, {"decision_seq": seq, "path": path, "upstream": upstream.name,
                               "not_forwarded": f"upstream speaks {', '.join(upstream.dialects)}"}, 400, None, False,
                started)
        return dialect.error(400, "wrong-format", f"model `{ask.model}` is served in the "
                             f"{' and '.join(upstream.dialects)} format, not {dialect.name}", headers=headers,
                             decision_id=seq)
    call = enforced.call
    allowance = call.completion_allowance if call is not None else None
    if upstream_model is not None or allowance is not None:
        body = {**body, "model": upstream_model or body["model"]}
        if allowance is not None:
            # What the caps reserved is all the call may be served: the upstream is told so.
            body = dialect.capped(body, path, allowance)
        raw = orjson.dumps(body)
    content = call is not None and call.record_content
    base = {"entity": ask.subject.entity, "person": ask.subject.person, "model": ask.model, "use_case": ask.use_case,
            "authorization": enforced.decision.authorization, "decision_seq": seq, "path": path, "stream": stream,
            "upstream": upstream.name}
    if dialect.name != "openai":
        base["dialect"] = dialect.name
    if content:
        base["request_content"] = dialect.request_content(body)
    passed = dialect.forward_headers(request.headers)
    sent = time.perf_counter()
    try:
        reply = await _until_disconnect(request, upstream.send(path, body, raw, stream, passed or None))
    except UpstreamError as exc:
        metrics.UPSTREAM_ERRORS.labels(upstream.name, str(exc.status)).inc()
        _finish(gw, enforced, base, exc.status, None, False, started)
        return dialect.error(exc.status, "upstream-error", str(exc), headers=headers)
    if reply is None:
        _finish(gw, enforced, {**base, "cancelled": True}, 499, None, False, started)
        return Response(status_code=499)
    _upstream_seconds(upstream.name).observe(time.perf_counter() - sent)
    if reply.status >= 500:
        metrics.UPSTREAM_ERRORS.labels(upstream.name, str(reply.status)).inc()
    headers.update(reply.headers)
    if not reply.stream:
        payload = reply.content if isinstance(reply.content, bytes) else b""
        usage = dialect.usage(payload)
        counted = usage is None
        if usage is None:
            p, c = estimate(dialect.prompt_chars(body)), estimate(len(payload)) if reply.status == 200 else 0
            usage = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
        answer = dialect.reply_text(payload)
        extra = {"response_content": answer} if content else {}
        withheld = _judge_answer(gw, enforced, answer, extra) if reply.status == 200 else None
        _finish(gw, enforced, {**base, **extra}, reply.status, usage if reply.status == 200 else None, counted, started)
        if withheld is not None:
            status, code, message = withheld
            return dialect.error(status, code, message, headers=headers, decision_id=seq, remedies=REMEDIES)
        return Response(payload, status_code=reply.status, headers=headers, media_type="application/json")
    return StreamingResponse(_relay(gw, dialect, reply, body, base, enforced, content, started), status_code=reply.status,
                             headers=headers, media_type="text/event-stream")


BLOCKED_ANSWER = "the gateway's guardrail withheld this answer as harmful; rephrase the request, or ask for a review"


def _judge_answer(gw: Gateway, enforced: Enforced, answer: Any, record: dict[str, Any]) -> tuple[int, str, str] | None:
    """Judge a whole answer; ``(status, code, message)`` when it is withheld. Notes the verdict in ``record``."""
    if enforced.screening is None:
        return None
    text = "\n\n".join(t for t in answer if isinstance(t, str)) if isinstance(answer, list) else ""
    try:
        hit = gw.enforcer.check_answer(enforced, text, gw.clock.now_ns())
    except GuardFailed as exc:
        record["guardrail"] = {"stage": "answer", "error": str(exc), "withheld": True}
        return 503, "guardrail-unavailable", str(exc)
    if hit is None:
        return None
    record["guardrail"] = {"stage": "answer", "label": hit.label, "action": hit.action, "score": round(hit.score, 6),
                           "rule": hit.rule, "withheld": hit.blocks}
    return (403, "guardrail-blocked", BLOCKED_ANSWER) if hit.blocks else None


_by_upstream: dict[str, Any] = {}
_by_route: dict[str, Any] = {}


def _upstream_seconds(name: str) -> Any:
    child = _by_upstream.get(name)
    if child is None:
        child = _by_upstream[name] = metrics.UPSTREAM_SECONDS.labels(name)
    return child


def _finish(gw: Gateway, enforced: Enforced, base: dict[str, Any], status: int, usage: dict[str, int] | None,
            counted: bool, started: float) -> None:
    elapsed = time.perf_counter() - started
    route = base["path"]
    child = _by_route.get(route)
    if child is None:
        child = _by_route[route] = metrics.REQUEST_SECONDS.labels(route)
    child.observe(elapsed)
    body = {**base, "upstream_status": status, "duration_ms": round(elapsed * 1000, 3)}
    if usage is not None:
        body["usage"] = usage
        body["usage_counted"] = counted
    tokens = usage.get("total_tokens", 0) if usage is not None else (0 if status >= 400 and status != 499 else None)
    gw.enforcer.complete(enforced, body, status, tokens, gw.clock.now_ns())


async def _relay(gw: Gateway, dialect: Dialect, reply: UpstreamReply, body: dict[str, Any], base: dict[str, Any],
                 enforced: Enforced, content: bool, started: float) -> AsyncIterator[bytes]:
    watch = _Watch(gw, enforced) if reply.status == 200 and enforced.screening is not None else None
    meter = dialect.meter(content or watch is not None)
    status, complete, cut = reply.status, False, None
    try:
        async for chunk in reply.content:  # type: ignore[union-attr]
            meter.feed(chunk)
            cut = watch.check(meter.text) if watch is not None else None
            if cut is not None:
                # The chunk that crossed the line is never sent: the stream ends with an error event instead.
                yield dialect.stream_refusal(cut[0], cut[1], cut[2], decision_id=enforced.decision_id,
                                             remedies=REMEDIES)
                break
            yield chunk
        complete = cut is None
    except UpstreamError as exc:
        status = exc.status
        closing = dialect.stream_error(exc.status, str(exc))
        if closing is not None:
            yield closing
    finally:
        await reply.aclose()
        usage, counted = meter.result(dialect.prompt_chars(body))
        record = {**base, "complete": complete}
        if content:
            record["response_content"] = "".join(meter.text)
        if watch is not None and watch.note is not None:
            record["guardrail"] = watch.note
        # A stream the guard cut ended as the upstream sent it (200); one that stopped otherwise was the client's doing.
        ended = status if complete or cut is not None or status != 200 else 499
        _finish(gw, enforced, record, ended, usage, counted, started)


class _Watch:
    """A stream's answer judged as it passes: each time ``window`` more characters of text have
    come, and once more before a chunk that adds none (a stream's closing events), so the
    text's end is judged before the stream finishes. The guard sees the text so far."""

    def __init__(self, gw: Gateway, enforced: Enforced) -> None:
        self.gw, self.enforced = gw, enforced
        self.window = enforced.screening.plan.window_chars
        self.seen = self.checked = self.pieces = 0
        self.note: dict[str, Any] | None = None
        self.flagged = False

    def check(self, pieces: list[str]) -> tuple[int, str, str] | None:
        grew = len(pieces) > self.pieces
        for piece in pieces[self.pieces:]:
            self.seen += len(piece)
        self.pieces = len(pieces)
        if self.flagged or self.seen == self.checked or (grew and self.seen - self.checked < self.window):
            return None
        self.checked = self.seen
        try:
            hit = self.gw.enforcer.check_answer(self.enforced, "".join(pieces), self.gw.clock.now_ns())
        except GuardFailed as exc:
            self.note = {"stage": "answer", "error": str(exc), "cut_at_chars": self.seen}
            return 503, "guardrail-unavailable", str(exc)
        if hit is None:
            return None
        self.note = {"stage": "answer", "label": hit.label, "action": hit.action, "score": round(hit.score, 6),
                     "rule": hit.rule}
        if not hit.blocks:
            self.flagged = True  # the answer's action is flag: one record a stream is enough
            return None
        self.note["cut_at_chars"] = self.seen
        return 403, "guardrail-blocked", BLOCKED_ANSWER
