"""The authorizer's HTTP side: Envoy's HTTP ext_authz protocol and nginx's ``auth_request``.

Envoy (``http_service`` with ``path_prefix: /ext_authz``) sends the client's method, path and
headers, and the body with ``with_request_body``: a 200 lets the call through, and the
``x-clearance-*`` headers it carries are added upstream when the filter's
``allowed_upstream_headers`` names them; ``x-envoy-auth-headers-to-remove`` takes the
clearance key off the upstream request. Any other answer goes to the client as it is.

nginx's ``auth_request`` subrequest (to ``/nginx``, with ``X-Original-URI`` and
``X-Original-Method``) can only pass on 2xx, 401 and 403, and drops the subrequest's body. So
every refusal but a 401 is answered 403, with the real status in ``x-clearance-status`` and
the gateway's body in ``x-clearance-error`` (JSON, ASCII), for the ``error_page`` location
to answer from (see the README's nginx configuration).
"""

from __future__ import annotations

import json

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .authz import Check, Verdict, check
from .runtime import Gateway


def _headers(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


async def envoy(request: Request) -> Response:
    gw: Gateway = request.app.state.gateway
    path = "/" + request.path_params.get("path", "")
    if request.url.query:
        path += "?" + request.url.query
    body = await request.body()
    verdict = await check(gw, Check(request.method, path, _headers(request), "envoy-http",
                                    request.client.host if request.client else None, body or None))
    if verdict.allowed:
        return Response(status_code=200, headers={**verdict.headers,
                                                  "x-envoy-auth-headers-to-remove": ",".join(verdict.remove)})
    return Response(verdict.body, status_code=verdict.status, headers=verdict.headers)


async def nginx(request: Request) -> Response:
    gw: Gateway = request.app.state.gateway
    headers = _headers(request)
    path = headers.get("x-original-uri", "/")
    method = headers.get("x-original-method", "POST")
    verdict = await check(gw, Check(method, path, headers, "nginx", request.client.host if request.client else None))
    if verdict.allowed:
        return Response(status_code=200, headers=verdict.headers)
    return Response(verdict.body, status_code=401 if verdict.status == 401 else 403, headers=_for_nginx(verdict))


def _for_nginx(verdict: Verdict) -> dict[str, str]:
    # A header value is one line of ASCII: the body is re-serialised with non-ASCII escaped.
    try:
        text = json.dumps(orjson.loads(verdict.body), separators=(",", ":"))
    except orjson.JSONDecodeError:
        text = json.dumps({"error": {"message": verdict.body.decode("utf-8", "replace")}})
    kept = {k: v for k, v in verdict.headers.items() if k.lower() not in ("content-type",)}
    return {**kept, "x-clearance-status": str(verdict.status), "x-clearance-error": text}


async def health(request: Request) -> Response:
    gw: Gateway = request.app.state.gateway
    live = gw.live
    body = {"status": "ok" if live.error is None else "degraded", "policy_version": live.current().version,
            "registry_seq": live.seq}
    return Response(orjson.dumps(body), status_code=200 if live.error is None else 503, media_type="application/json")
