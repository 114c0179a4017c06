"""The authorizer's gRPC side: Envoy's ``envoy.service.auth.v3.Authorization/Check``.

Built on Envoy's published protos (the ``xds-protos`` package) and ``grpcio``'s asyncio
server. The proxy calling is the peer the trusted-proxy rules judge: only a trusted Envoy's
word on the client's scheme and location headers is believed. An allowed call answers
``OK`` with headers to set upstream and the clearance key to remove; a refused one answers
``PERMISSION_DENIED`` (``UNAUTHENTICATED`` for a bad key, ``UNAVAILABLE`` when nothing could be
recorded) with the status, headers and body the gateway itself would give the client.
"""

from __future__ import annotations

from typing import Any

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc
from envoy.type.v3 import http_status_pb2
from google.rpc import code_pb2, status_pb2

from .authz import Check, Verdict, check
from .runtime import Gateway

OVERWRITE = base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD


def _peer(context: grpc.aio.ServicerContext) -> str | None:
    peer = context.peer() or ""  # "ipv4:127.0.0.1:53412", "ipv6:[::1]:53412"
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    return None


def _check(request: external_auth_pb2.CheckRequest, peer: str | None, gw: Gateway) -> Check:
    http = request.attributes.request.http
    headers = {k.lower(): v for k, v in http.headers.items()}
    for pair in http.header_map.headers:  # newer Envoys send header_map instead of headers
        headers.setdefault(pair.key.lower(), pair.raw_value.decode("utf-8", "replace") if pair.raw_value else pair.value)
    body = http.raw_body or (http.body.encode() if http.body else None)
    tls = http.scheme == "https" if gw.trusts(peer) else False
    return Check(http.method or "POST", http.path or "/", headers, "envoy-grpc", peer, body, tls)


def _header_options(headers: dict[str, str]) -> list[Any]:
    return [base_pb2.HeaderValueOption(header=base_pb2.HeaderValue(key=k, value=v), append_action=OVERWRITE)
            for k, v in headers.items() if k.lower() not in ("content-length",)]


def response(verdict: Verdict) -> external_auth_pb2.CheckResponse:
    if verdict.allowed:
        ok = external_auth_pb2.OkHttpResponse(headers=_header_options(verdict.headers),
                                              headers_to_remove=list(verdict.remove))
        return external_auth_pb2.CheckResponse(status=status_pb2.Status(code=code_pb2.OK), ok_response=ok)
    code = {401: code_pb2.UNAUTHENTICATED, 503: code_pb2.UNAVAILABLE}.get(verdict.status, code_pb2.PERMISSION_DENIED)
    denied = external_auth_pb2.DeniedHttpResponse(status=http_status_pb2.HttpStatus(code=verdict.status),
                                                  headers=_header_options(verdict.headers),
                                                  body=verdict.body.decode("utf-8", "replace"))
    return external_auth_pb2.CheckResponse(status=status_pb2.Status(code=code), denied_response=denied)


class Authorization(external_auth_pb2_grpc.AuthorizationServicer):
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def Check(self, request: external_auth_pb2.CheckRequest,  # noqa: N802 - the RPC's name
                    context: grpc.aio.ServicerContext) -> external_auth_pb2.CheckResponse:
        return response(await check(self.gateway, _check(request, _peer(context), self.gateway)))


async def start(gateway: Gateway, address: str) -> grpc.aio.Server:
    """Serve ``Authorization`` on ``address`` (``host:port``); the caller stops it."""
    server = grpc.aio.server()
    external_auth_pb2_grpc.add_AuthorizationServicer_to_server(Authorization(gateway), server)
    if server.add_insecure_port(address) == 0:
        raise OSError(f"cannot listen for gRPC on {address}")
    await server.start()
    return server
