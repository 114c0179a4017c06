"""The admin REST API: registry writes and reads, credentials, history, decisions.

``create_app`` takes its collaborators; it reads no environment and keeps no
global state. Errors are mapped to JSON in one place here.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .. import console
from ..core.errors import PolicyError
from ..ports import StoreUnavailable
from ..registry.service import WriteRejected
from ..wiring import App
from . import audit_routes, decisions, eval_routes, licensing_routes, ops_routes, registry_routes, screening_routes
from .guard import MAX_BODY_BYTES, BodyGuard
from .params import printable


def create_app(parts: App, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The admin API over an assembled application (see :mod:`clearance.wiring`).

    Bodies are read only from authenticated callers, and only up to ``max_body_bytes`` (``guard``).
    """
    app = FastAPI(
        title="clearance admin API",
        version="1",
        description="Registry of entities, people, licences, suspensions and credentials, with full history.",
        dependencies=[Depends(printable)],
    )
    app.state.registry = parts.service
    app.state.live = parts.live
    app.state.audit = parts.audit
    app.state.screening = parts.screening  # built now, so every registration is screened
    app.state.licensing = parts.licensing
    if parts.audit is not None:
        app.state.enforcer = parts.enforcer
    app.include_router(registry_routes.router)
    app.include_router(decisions.router)
    app.include_router(audit_routes.router)
    app.include_router(licensing_routes.router)
    app.include_router(eval_routes.router)
    app.include_router(ops_routes.router)
    screening_routes.install(app)
    app.add_middleware(BodyGuard, registry=parts.service, max_body_bytes=max_body_bytes, open_prefix=console.PREFIX)

    @app.exception_handler(WriteRejected)
    async def rejected(_: Request, exc: WriteRejected) -> JSONResponse:
        return JSONResponse({"error": {"code": "write-rejected", "problems": exc.problems}}, status_code=exc.status)

    @app.exception_handler(PolicyError)
    async def policy(_: Request, exc: PolicyError) -> JSONResponse:
        problems = [str(p) for p in exc.problems]
        return JSONResponse({"error": {"code": "policy-rejected", "problems": problems}}, status_code=422)

    @app.exception_handler(StoreUnavailable)
    async def unavailable(_: Request, exc: StoreUnavailable) -> JSONResponse:
        return JSONResponse({"error": {"code": "store-unavailable", "problems": [str(exc)]}}, status_code=503)

    @app.exception_handler(TimeoutError)
    async def audit_late(_: Request, exc: TimeoutError) -> JSONResponse:
        return JSONResponse({"error": {"code": "store-unavailable", "problems": [str(exc)]}}, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"error": {"code": "invalid-request", "problems": problems}}, status_code=422)

    # Last: the console answers a failure under its pages with a page, and defers to the handlers above elsewhere.
    console.install(app, _console_sessions(parts))
    return app


def _console_sessions(parts: App) -> Any:
    """Console sessions in the registry database where there is one, so every worker knows them."""
    if parts.engine is None:
        return None
    from ..console.shared_sessions import SqlSessionStore

    return SqlSessionStore(parts.engine)
