"""The gateway as an authorizer: a proxy already in front of the models asks, clearance decides and records.

Envoy's external authorization (gRPC or HTTP) and nginx's ``auth_request`` send the request
they are about to forward; this module turns it into an :class:`Ask` for the one enforcer,
so decisions, obligations, caps and durable audit records are those of the proxy path:

- the key is the caller's bearer token (or ``x-api-key`` on ``/v1/messages``);
- the model is the body's ``model`` when the proxy sends the body (Envoy's
  ``with_request_body``), else the ``model_header`` the proxy sets (nginx cannot read a body);
- the use case is ``X-Clearance-Use-Case`` or the key's default; the location and TLS are
  taken from the gateway file's headers when the proxy asking is a trusted one.

An allowed call gets headers for the upstream request (``x-clearance-decision-id``, the
authorization, the obligations, and ``x-clearance-max-tokens`` when a cap limits the
completion) and the caller's clearance key is removed from it. A refused call gets the
status, headers and body the gateway itself would answer. The decision is durable before the
verdict is returned. With the body, the prompt is judged by the gateway's guards as on the
proxy path (a block is the same 403 ``guardrail-blocked``); answers pass the proxy, not
clearance, so they are not judged here. A proxy does not report the tokens a call used, so a capped call spends
its whole reservation (the prompt's bound plus ``max_tokens``, or the default completion).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson
from starlette.responses import Response

from ..enforcement import Ask, AuditUnavailable
from ..ports import StoreUnavailable
from .dialects import BadRequest, Dialect
from .dialects.anthropic import DIALECT as ANTHROPIC
from .dialects.openai import DIALECT as OPENAI
from .proxy import authenticate
from .runtime import Gateway

CREDENTIAL_HEADERS = ("authorization", "x-api-key")


@dataclass(frozen=True)
class Check:
    """What a proxy asks about: the client's request as the proxy saw it."""

    method: str
    path: str
    headers: Mapping[str, str]  # names in lower case
    via: str  # envoy-grpc, envoy-http, nginx
    peer: str | None = None  # the proxy asking, for the trusted-proxy rules
    body: bytes | None = None  # when the proxy sends it
    tls: bool | None = None  # the client's scheme as the proxy says, when the protocol carries it


@dataclass
class Verdict:
    allowed: bool
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # allowed: for the upstream; refused: for the client
    body: bytes = b""
    decision_id: int | None = None
    remove: tuple[str, ...] = ()  # headers to take off the upstream request


def dialect_for(path: str) -> Dialect:
    return ANTHROPIC if path.split("?", 1)[0].rstrip("/").endswith("/messages") else OPENAI


def _refused(response: Response, decision_id: int | None = None) -> Verdict:
    headers = {k: v for k, v in response.headers.items() if k not in ("content-length",)}
    if decision_id is not None:
        headers["x-clearance-decision-id"] = str(decision_id)
    return Verdict(False, response.status_code, headers, bytes(response.body), decision_id)


async def check(gw: Gateway, c: Check) -> Verdict:
    """Decide and record one proxied call (see the module doc)."""
    dialect = dialect_for(c.path)
    now = gw.clock.now_ns()
    identity = await authenticate(gw, c.headers, now, dialect)
    if isinstance(identity, Response):
        return _refused(identity)
    body = None
    if c.body:
        try:
            body = orjson.loads(c.body)
        except orjson.JSONDecodeError as exc:
            return _refused(dialect.error(400, "invalid-json", f"the request body is not JSON: {exc}"))
    model_header = c.headers.get(gw.config.model_header.lower())
    if isinstance(body, dict):
        parsed = dialect.parse(body, c.path, gw.config.default_completion_tokens)
        if isinstance(parsed, BadRequest):
            return _refused(dialect.error(400, "invalid-request", parsed.message, param=parsed.param))
        if model_header and model_header != parsed.model:
            return _refused(dialect.error(400, "model-mismatch", f"the body asks for `{parsed.model}`, the "
                                          f"{gw.config.model_header} header for `{model_header}`", param="model"))
        model, prompt, completion = parsed.model, parsed.prompt_tokens, parsed.completion_tokens
        text = dialect.prompt_text(body, c.path) if gw.guards is not None else None
    elif model_header:
        # No body: its size, if the proxy passed it on, bounds the prompt (two bytes a token, as for a body).
        length = c.headers.get("x-original-content-length") or c.headers.get("content-length") or ""
        model, completion = model_header, gw.config.default_completion_tokens
        prompt = (int(length) + 1) // 2 + 1 if length.isdigit() else 0
        text = None  # no body, so no prompt guard: a permit requiring one is refused
    else:
        return _refused(dialect.error(400, "invalid-request", f"no model: send the body or a {gw.config.model_header} "
                                      "header", param="model"))
    tls = c.tls if c.tls is not None else gw.secure_from(c.peer, c.headers)
    use_case = c.headers.get("x-clearance-use-case") or identity.credential.record.default_use_case
    client = {"proxy": c.peer, "tls": tls, "user_agent": c.headers.get("user-agent"), "via": c.via}
    ask = Ask(identity.subject(), model, use_case, gw.location_from(c.peer, c.headers, identity), now, "ext-authz",
              tls, prompt, completion, {"path": c.path, "method": c.method, "client": client}, text)
    try:
        enforced = await gw.enforcer.enforce(ask, fresh=True, guards=gw.guards)
    except AuditUnavailable as exc:
        return _refused(dialect.error(503, "audit-unavailable", str(exc)))
    except StoreUnavailable as exc:
        return _refused(dialect.error(503, "store-unavailable", str(exc)))
    seq = enforced.decision_id
    if enforced.refusal is not None:
        r = enforced.refusal
        return _refused(dialect.error(r.status, r.code, r.message, headers={**r.headers, "x-clearance-decision-id": str(seq)},
                                      decision_id=seq, **r.details), seq)
    if not enforced.decision.permitted:
        return _refused(dialect.refusal(403, enforced.contract, seq), seq)
    headers = {"x-clearance-decision-id": str(seq),
               "x-clearance-authorization": enforced.decision.authorization or "",
               "x-clearance-obligations": ",".join(o.code for o in enforced.decision.obligations)}
    call = enforced.call
    if call is not None and call.completion_allowance is not None:
        headers["x-clearance-max-tokens"] = str(call.completion_allowance)
    return Verdict(True, 200, headers, b"", seq, CREDENTIAL_HEADERS)
