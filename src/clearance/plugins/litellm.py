"""A LiteLLM proxy plug-in: LiteLLM keeps routing, clearance decides, enforces obligations and caps, and records.

Name it in the LiteLLM proxy's config (the module is imported by its dotted path)::

    general_settings:
      custom_auth: clearance.plugins.litellm.user_api_key_auth
    litellm_settings:
      callbacks: clearance.plugins.litellm.handler

and give the proxy clearance's environment (``CLEARANCE_DATABASE_URL`` and, for caps across
processes, ``CLEARANCE_COUNTERS_URL``). Every step is the one enforcer's:

1. ``user_api_key_auth``: the bearer key is a clearance key (``Enforcer.authenticate``, the
   registry brought up to date first); LiteLLM sees the key's id, never its secret, with the
   person as ``user_id`` and the entity as ``team_id``;
2. ``handler.async_pre_call_hook``: the call (its ``model`` is the policy's model id, the use
   case from ``X-Clearance-Use-Case`` or the key's default) is decided and its obligations run
   (``Enforcer.enforce``); its record is durable before LiteLLM calls the model; a refusal is
   raised as an HTTP error with the gateway's status, code and message; a cap lowers
   ``max_tokens`` to what it reserved;
3. ``handler.async_log_success_event`` / ``async_log_failure_event``: the completion (usage
   from LiteLLM's response, status, duration) is recorded and the reservation settled
   (``Enforcer.complete``).

The location is the key's default (``CLEARANCE_LITELLM_LOCATION_HEADER`` names a header to
believe instead, for a LiteLLM behind a proxy that sets it); a call counts as arriving over
TLS only when ``CLEARANCE_LITELLM_TLS=true`` says the proxy listens on TLS alone.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import time
from collections import OrderedDict
from typing import Any

import orjson
from fastapi import HTTPException, Request
from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy._types import UserAPIKeyAuth

from ..enforcement import Ask, AuditUnavailable, Enforced, Identity
from ..gateway.dialects import BadRequest
from ..gateway.dialects.anthropic import DIALECT as ANTHROPIC
from ..gateway.dialects.openai import DIALECT as OPENAI
from ..ports import StoreUnavailable
from ..settings import Settings

log = logging.getLogger(__name__)
KEEP = 10_000  # identities and calls in flight remembered; older ones are dropped (a reservation then stands)


class _Runtime:
    """clearance's app inside the LiteLLM process, built on first use in LiteLLM's event loop."""

    def __init__(self) -> None:
        self._app: Any = None
        self._lock: asyncio.Lock | None = None
        self._signer: asyncio.Task[Any] | None = None
        self.identities: OrderedDict[str, Identity] = OrderedDict()
        self.calls: OrderedDict[str, tuple[Enforced, float, dict[str, Any]]] = OrderedDict()

    async def app(self) -> Any:
        if self._app is None:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self._app is None:
                    from ..server import sign_heads
                    from ..wiring import build_app

                    settings = Settings.from_env()
                    app = await asyncio.to_thread(build_app, settings)
                    await asyncio.to_thread(app.follow)
                    assert app.audit is not None
                    await asyncio.to_thread(app.audit.sign_if_grown)
                    self._signer = asyncio.ensure_future(sign_heads(app.audit, settings.audit_head_interval_s))
                    # LiteLLM has no shutdown hook for plug-ins: at exit the pending records are written
                    # and a last head signed, as clearance serve does at a clean stop.
                    atexit.register(_close, app)
                    self._app = app
        return self._app

    @staticmethod
    def remember(store: OrderedDict[str, Any], key: str, value: Any) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > KEEP:
            store.popitem(last=False)


def _close(app: Any) -> None:
    try:
        app.audit.group.close()
        app.audit.sign_if_grown()
    except Exception:  # noqa: BLE001 - the process is ending; say so rather than hide it
        log.exception("clearance: could not flush the audit log at exit")
    app.close()


RUNTIME = _Runtime()


def _refusal(response: Any) -> HTTPException:
    """The gateway's refusal as an HTTP error LiteLLM passes on: its status, and its message with the code."""
    body = orjson.loads(response.body)
    error = body.get("error", {})
    clearance = error.get("clearance") or {}
    detail = {"message": error.get("message"), "code": error.get("code") or clearance.get("code"), **clearance}
    headers = {k: v for k, v in response.headers.items() if k.startswith("x-clearance") or k == "retry-after"}
    return HTTPException(status_code=response.status_code, detail=orjson.dumps(detail).decode(), headers=headers)


async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
    """LiteLLM's custom auth: a clearance model-use key, or a 401."""
    app = await RUNTIME.app()
    token = api_key.removeprefix("Bearer ").strip()
    try:
        identity = await app.enforcer.authenticate(token, app.clock.now_ns())
    except StoreUnavailable as exc:
        raise HTTPException(status_code=503, detail=f"store-unavailable: {exc}") from None
    if identity is None:
        raise HTTPException(status_code=401, detail="invalid-api-key: unknown or revoked clearance key")
    if not identity.credential.allows("gateway") or identity.person_id is None:
        raise HTTPException(status_code=403, detail="key-not-for-models: not a model-use key bound to a person")
    RUNTIME.remember(RUNTIME.identities, identity.key, identity)
    return UserAPIKeyAuth(api_key=f"clearance:{identity.key}", user_id=identity.person_id, team_id=identity.entity,
                          metadata={"clearance_key": identity.key})


def _headers(data: dict[str, Any]) -> dict[str, str]:
    request = data.get("proxy_server_request") or {}
    headers = request.get("headers") or (data.get("metadata") or {}).get("headers") or {}
    return {str(k).lower(): str(v) for k, v in headers.items()}


class ClearanceHandler(CustomLogger):
    """The pre-call hook and the success and failure callbacks (see the module doc)."""

    async def async_pre_call_hook(self, user_api_key_dict: UserAPIKeyAuth, cache: Any, data: dict,
                                  call_type: Any) -> dict:
        app = await RUNTIME.app()
        key = (user_api_key_dict.metadata or {}).get("clearance_key")
        identity = RUNTIME.identities.get(key) if key else None
        if identity is None:
            raise HTTPException(status_code=401, detail="invalid-api-key: the call was not authenticated by clearance")
        dialect = ANTHROPIC if "anthropic" in str(call_type) else OPENAI
        path = "/embeddings" if "embedding" in str(call_type) else "/chat/completions"
        parsed = dialect.parse(data, path, 1024)
        if isinstance(parsed, BadRequest):
            raise HTTPException(status_code=400, detail=f"invalid-request: {parsed.message}")
        headers = _headers(data)
        location_header = os.environ.get("CLEARANCE_LITELLM_LOCATION_HEADER", "").lower()
        location = headers.get(location_header, "").strip().upper() if location_header else ""
        tls = os.environ.get("CLEARANCE_LITELLM_TLS", "").lower() in ("1", "true", "yes")
        use_case = headers.get("x-clearance-use-case") or identity.credential.record.default_use_case
        call_id = str(data.get("litellm_call_id") or "")
        ask = Ask(identity.subject(), parsed.model, use_case, location or identity.credential.record.default_location,
                  app.clock.now_ns(), "litellm", tls, parsed.prompt_tokens, parsed.completion_tokens,
                  {"path": path, "stream": parsed.stream, "client": {"via": "litellm", "call_id": call_id}})
        try:
            enforced = await app.enforcer.enforce(ask, fresh=False)
        except (AuditUnavailable, StoreUnavailable) as exc:
            raise HTTPException(status_code=503, detail=f"audit-unavailable: {exc}") from None
        seq = enforced.decision_id
        if enforced.refusal is not None:
            r = enforced.refusal
            raise _refusal(dialect.error(r.status, r.code, r.message, headers={**r.headers, "x-clearance-decision-id": str(seq)},
                                         decision_id=seq, **r.details))
        if not enforced.decision.permitted:
            raise _refusal(dialect.refusal(403, enforced.contract, seq))
        call = enforced.call
        if call is not None and call.completion_allowance is not None and path != "/embeddings":
            data = dialect.capped(data, path, call.completion_allowance)
        data.setdefault("metadata", {})["clearance_decision_id"] = seq
        base = {"entity": ask.subject.entity, "person": ask.subject.person, "model": ask.model, "use_case": use_case,
                "authorization": enforced.decision.authorization, "decision_seq": seq, "path": path,
                "stream": parsed.stream, "upstream": "litellm"}
        RUNTIME.remember(RUNTIME.calls, call_id, (enforced, time.perf_counter(), base))
        return data

    async def async_log_success_event(self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any) -> None:
        usage = getattr(response_obj, "usage", None)
        counts = {k: int(getattr(usage, k, 0) or 0) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
        if usage is not None and not counts["total_tokens"]:
            counts["total_tokens"] = counts["prompt_tokens"] + counts["completion_tokens"]
        await self._finish(kwargs, 200, counts if usage is not None else None)

    async def async_log_failure_event(self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any) -> None:
        exception = kwargs.get("exception")
        await self._finish(kwargs, int(getattr(exception, "status_code", 502) or 502), None)

    async def _finish(self, kwargs: dict, status: int, usage: dict[str, int] | None) -> None:
        found = RUNTIME.calls.pop(str(kwargs.get("litellm_call_id") or ""), None)
        if found is None:
            return  # refused before the model was called, or not a call clearance decided
        enforced, started, base = found
        app = await RUNTIME.app()
        body = {**base, "upstream_status": status, "duration_ms": round((time.perf_counter() - started) * 1000, 3)}
        if usage is not None:
            body["usage"] = usage
            body["usage_counted"] = False
        tokens = usage["total_tokens"] if usage is not None else (0 if status >= 400 else None)
        app.enforcer.complete(enforced, body, status, tokens, app.clock.now_ns())


handler = ClearanceHandler()
