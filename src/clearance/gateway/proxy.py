"""The enforcing proxy: authenticate, decide, enforce obligations, record, forward, meter.

Order matters and is the product's promise:
1. the bearer key resolves to a person and an entity (401 otherwise);
2. the core decides the contract request built from them, the model asked for, the use case
   (``X-Clearance-Use-Case`` or the key's default) and the location (a trusted proxy's
   header, the key's default, or the person's usual location);
3. a permit's obligations are enforced before anything is forwarded: an unknown obligation,
   a plain-HTTP call under ``encryption-required`` or an exhausted ``usage-cap`` refuses it;
4. the decision record is durable in the audit log before the client hears anything;
5. only then is the call forwarded; its completion (tokens, duration, upstream status) is
   recorded and metered when it ends, however it ends.
A failure of any store on the way answers 503: never a forward without a record.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from datetime import datetime
from typing import Any, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..core.decide import decide_json
from ..ports import StoreUnavailable
from ..services.audit_trail import decision_body
from .errors import error, refusal
from .identity import Identity
from .meter import utc_day
from .obligations import Duties, duties
from .runtime import Gateway
from .upstream import UpstreamError, UpstreamReply
from .usage import StreamMeter, estimate, from_reply, prompt_chars

log = logging.getLogger(__name__)
T = TypeVar("T")
NS = 1_000_000_000


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def authenticate(gw: Gateway, request: Request, now: int) -> Identity | Response:
    token = bearer(request)
    if token is None:
        return error(401, "missing-api-key", "send your clearance key as `Authorization: Bearer <key>`")
    identity = gw.identities.cached(token, now)
    if identity is None:
        try:
            identity = await gw.identities.resolve_once(token, now)
        except StoreUnavailable as exc:
            return error(503, "store-unavailable", str(exc))
    if identity is None:
        return error(401, "invalid-api-key", "unknown or revoked key")
    if not identity.credential.allows("gateway") or identity.person_id is None:
        return error(403, "key-not-for-models", "this key is not a model-use key bound to a person")
    return identity


async def proxy(request: Request, path: str) -> Response:
    gw: Gateway = request.app.state.gateway
    started = time.perf_counter()
    now = gw.clock.now_ns()
    identity = await authenticate(gw, request, now)
    if isinstance(identity, Response):
        return identity
    raw = await _body(request, gw.config.max_body_bytes)
    if raw is None:
        return error(413, "body-too-large", f"request body over {gw.config.max_body_bytes} bytes")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return error(400, "invalid-json", f"the request body is not JSON: {exc}")
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        return error(400, "invalid-request", "model: required, a string", param="model")
    stream = body.get("stream") is True
    doc = identity.request(body["model"], request.headers.get("x-clearance-use-case"), gw.location(request, identity))
    decision = decide_json(gw.live.current(), doc, now)
    out = decision.to_dict()
    refused: Response | None = None
    extra: list[tuple[str, dict[str, Any], int]] = []
    enforcement: dict[str, Any] | None = None
    chores = Duties()
    tls = gw.secure(request)
    if out["outcome"] == "permit":
        chores = duties(out, identity.entity, identity.person_id)
        enforcement, refused, extra = await _enforce(gw, tls, chores, out, identity, doc["model"], now)
    client = {"address": request.client.host if request.client else None, "tls": tls,
              "user_agent": request.headers.get("user-agent"), "bytes": len(raw)}
    record = decision_body(doc, decision, "gateway", identity.key, contract=out, path=path, stream=stream, client=client)
    if enforcement is not None:
        record["enforcement"] = enforcement
    try:
        seq = (await gw.record([("decision", record, now), *extra]))[0]
    except (StoreUnavailable, TimeoutError, RuntimeError) as exc:
        return error(503, "audit-unavailable", f"the decision could not be recorded, so it is not served: {exc}")
    if refused is not None:
        refused.headers["x-clearance-decision-id"] = str(seq)
        return refused
    if out["outcome"] != "permit":
        return refusal(403, out, seq)
    return await _forward(gw, request, path, body, raw, stream, identity, doc, out, chores, seq, started)


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


async def _enforce(gw: Gateway, tls: bool, chores: Duties, out: dict[str, Any], identity: Identity,
                   model: str, now: int) -> tuple[dict[str, Any] | None, Response | None, list[tuple[str, dict[str, Any], int]]]:
    if chores.unknown or chores.malformed:
        what = ", ".join(chores.unknown + chores.malformed)
        return ({"status": 403, "code": "unsupported-obligation"},
                error(403, "unsupported-obligation", f"the permit carries obligations this gateway cannot honour: {what}"),
                [])
    if chores.tls and not tls:
        return ({"status": 403, "code": "encryption-required"},
                error(403, "encryption-required", "this authorization requires TLS: call the gateway over https"), [])
    day, reset = utc_day(now)
    for cap in chores.caps:
        try:
            used = await gw.meter.used(cap.scope, day)
        except StoreUnavailable as exc:
            return {"status": 503, "code": "store-unavailable"}, error(503, "store-unavailable", str(exc)), []
        if used >= cap.tokens_per_day:
            event = {"event": "cap-exceeded", "entity": identity.entity, "person": identity.person_id,
                     "model": model, "authorization": out.get("authorization"),
                     "scope": cap.scope, "used": used, "tokens_per_day": cap.tokens_per_day, "day": day}
            message = f"usage cap of {cap.tokens_per_day:,} tokens a day reached for {cap.scope}; resets {reset}"
            headers = {"x-clearance-cap-reset": reset, "retry-after": str(_seconds_until(reset, now))}
            return ({"status": 429, "code": "usage-cap-exceeded"},
                    error(429, "usage-cap-exceeded", message, headers=headers, reset=reset, used=used,
                          tokens_per_day=cap.tokens_per_day),
                    [("monitoring", event, now)])
    return None, None, []


def _seconds_until(reset: str, now: int) -> int:
    target = datetime.fromisoformat(reset.replace("Z", "+00:00")).timestamp()
    return max(1, int(target - now / NS))


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


async def _forward(gw: Gateway, request: Request, path: str, body: dict[str, Any], raw: bytes, stream: bool,
                   identity: Identity, doc: dict[str, Any], out: dict[str, Any], chores: Duties, seq: int,
                   started: float) -> Response:
    upstream, upstream_model = gw.upstream_for(body["model"])
    if upstream is None:
        return error(503, "no-upstream", f"no upstream serves model `{body['model']}`")
    if upstream_model is not None:
        body = {**body, "model": upstream_model}
        raw = orjson.dumps(body)
    base = {"entity": identity.entity, "person": identity.person_id, "model": doc["model"], "use_case": doc["use_case"],
            "authorization": out.get("authorization"), "decision_seq": seq, "path": path, "stream": stream,
            "upstream": upstream.name}
    if chores.content:
        base["request_content"] = body.get("messages", body.get("prompt", body.get("input")))
    headers = {"x-clearance-decision-id": str(seq)}
    try:
        reply = await _until_disconnect(request, upstream.send(path, body, raw, stream))
    except UpstreamError as exc:
        gw.finish(base, exc.status, None, False, started, chores)
        return error(exc.status, "upstream-error", str(exc), headers=headers)
    if reply is None:
        gw.finish({**base, "cancelled": True}, 499, None, False, started, chores)
        return Response(status_code=499)
    headers.update(reply.headers)
    if not reply.stream:
        content = reply.content if isinstance(reply.content, bytes) else b""
        usage = from_reply(content)
        counted = usage is None
        if usage is None:
            p, c = estimate(prompt_chars(body)), estimate(len(content)) if reply.status == 200 else 0
            usage = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
        extra = {"response_content": _reply_text(content)} if chores.content else {}
        gw.finish({**base, **extra}, reply.status, usage if reply.status == 200 else None, counted, started, chores)
        return Response(content, status_code=reply.status, headers=headers, media_type="application/json")
    return StreamingResponse(_relay(gw, reply, body, base, chores, started), status_code=reply.status, headers=headers,
                             media_type="text/event-stream")


async def _relay(gw: Gateway, reply: UpstreamReply, body: dict[str, Any], base: dict[str, Any], chores: Duties,
                 started: float) -> AsyncIterator[bytes]:
    meter = StreamMeter(keep_text=chores.content)
    status, complete = reply.status, False
    try:
        async for chunk in reply.content:  # type: ignore[union-attr]
            meter.feed(chunk)
            yield chunk
        complete = True
    except UpstreamError as exc:
        status = exc.status
    finally:
        await reply.aclose()
        usage, counted = meter.result(prompt_chars(body))
        record = {**base, "complete": complete}
        if chores.content:
            record["response_content"] = "".join(meter.text)
        gw.finish(record, status if complete else (status if status != 200 else 499), usage, counted, started, chores)


def _reply_text(content: bytes) -> Any:
    try:
        obj = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    choices = obj.get("choices") if isinstance(obj, dict) else None
    if not isinstance(choices, list):
        return None
    return [c.get("message", {}).get("content") if "message" in c else c.get("text") for c in choices if isinstance(c, dict)]
