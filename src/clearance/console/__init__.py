"""The web console for compliance staff and auditors, served on the admin listener at ``/console``.

Server-rendered pages over the same services the REST API calls (so every change it makes is
checked and audited exactly as through the API), signed in with an ``admin`` or ``auditor``
token. See :mod:`.web` for sessions and CSRF, and the README's "Console" section.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from ..ports import StoreUnavailable
from .sessions import Sessions, SessionStore

PREFIX = "/console"


def install(app: FastAPI, sessions: Sessions | None = None) -> None:
    """Serve the console in ``app`` (an admin API made by ``clearance.api.app.create_app``)."""
    from . import audit_pages, overview, registry_pages, review_pages  # noqa: F401 - they register their routes
    from .web import Console, Refused, SignIn, login_redirect, refused_page, router

    app.state.console = Console(sessions if sessions is not None else SessionStore())
    app.include_router(router)

    @app.exception_handler(SignIn)
    async def sign_in(_: Request, exc: SignIn) -> Response:
        return login_redirect(exc)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        return refused_page(request, exc)

    # A store outage under a console page is a page saying so; the API keeps its own answer.
    api_answer = app.exception_handlers.get(StoreUnavailable)

    @app.exception_handler(StoreUnavailable)
    async def unavailable(request: Request, exc: StoreUnavailable) -> Response:
        if request.url.path.startswith(PREFIX) or api_answer is None:
            return refused_page(request, Refused(503, f"the database is unavailable: {exc}"))
        return await api_answer(request, exc)
