"""The console's web plumbing: templates, sign-in, CSRF, security headers, static assets.

Every page goes through :func:`page` (a template with the security headers) and every form
through :func:`posted`, which reads a small urlencoded body itself (no multipart parser),
checks the session, the per-session CSRF token (constant-time) and the Origin header, and
refuses read-only viewers with 403 before any service is called.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from ..core.instant import format_instant
from ..registry.records import CredentialRecord
from .sessions import Session, Sessions, Viewer, same, viewer_of

HERE = Path(__file__).parent
COOKIE = "clearance_console"
LOGIN_COOKIE = "clearance_console_login"  # double-submit token of the login form (no session yet)
MAX_FORM_BYTES = 64 * 1024
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; connect-src 'self'")
NAV = (("dashboard", "/console", "Dashboard"), ("decisions", "/console/decisions", "Decisions"),
       ("registry", "/console/registry", "Registry"), ("screening", "/console/screening", "Screening"),
       ("applications", "/console/applications", "Applications"), ("audit", "/console/audit", "Audit"),
       ("evals", "/console/evals", "Evaluations"), ("criteria", "/console/criteria", "Criteria"))
STATIC = {name: (HERE / "static" / name).read_bytes() for name in ("console.css", "console.js")}
TYPES = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8"}

router = APIRouter(prefix="/console", include_in_schema=False)


class Refused(Exception):  # noqa: N818 - answered as a page saying why
    """A console request refused with ``status``: answered as an HTML page with ``message``."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


class SignIn(Exception):  # noqa: N818 - a redirect, not an error
    """Raised by a page whose viewer is not signed in: answered with a redirect to the login form."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def _now() -> int:
    return time.time_ns()


def when(ns: int | None, short: bool = False) -> Any:
    """An instant as ``<time>``: UTC in the text (and on hover); the script shows it in the viewer's zone."""
    from markupsafe import Markup, escape

    if ns is None:
        return Markup("<span class='dim'>-</span>")
    utc = format_instant(ns)
    try:
        machine = datetime.fromtimestamp(ns // 1_000_000 / 1000, UTC).isoformat(timespec="milliseconds")
    except (OverflowError, ValueError, OSError):  # past what a browser's Date holds: shown as stored
        return Markup(f"<span title='UTC {escape(utc)}'>{escape(utc)}</span>")
    machine = machine.replace("+00:00", "Z")
    text = machine[:16].replace("T", " ") + "Z" if short else machine[:19].replace("T", " ") + "Z"
    return Markup(f"<time datetime='{machine}' title='UTC {escape(utc)}'>{escape(text)}</time>")


def _instant_text(value: Any) -> Any:
    """``when`` for an ISO text (as records hold them)."""
    from ..core.instant import InstantError, parse_instant

    if not isinstance(value, str):
        return value
    try:
        return when(int(parse_instant(value)))
    except (InstantError, ValueError, OverflowError):
        return value


ENV = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                  trim_blocks=True, lstrip_blocks=True)
ENV.filters["when"] = when
ENV.filters["when_text"] = _instant_text
ENV.globals["nav"] = NAV


@dataclass
class Console:
    """What the console keeps per application (``app.state.console``): its sessions, and what is costly to
    read again: registry listings by kind (:mod:`.listings`) and replayed policies by version (``overview``)."""

    sessions: Sessions
    cache: dict[str, Any] = field(default_factory=dict)


def console(request: Request) -> Console:
    return request.app.state.console


def headers(response: Response) -> Response:
    response.headers["content-security-policy"] = CSP
    response.headers["x-content-type-options"] = "nosniff"
    response.headers["referrer-policy"] = "same-origin"  # "no-referrer" would make browsers send `Origin: null`
    response.headers["x-frame-options"] = "DENY"
    response.headers.setdefault("cache-control", "no-store")
    return response


def page(request: Request, template: str, status: int = 200, viewer: Viewer | None = None,
         session: Session | None = None, **context: Any) -> HTMLResponse:
    flash = []
    if session is not None and session.flash:
        flash, session.flash = session.flash, []
        console(request).sessions.save(session)
    html = ENV.get_template(template).render(request=request, viewer=viewer, csrf=session.csrf if session else "",
                                             flash=flash, path=request.url.path, **context)
    return headers(HTMLResponse(html, status_code=status))  # type: ignore[return-value]


def redirect(to: str) -> Response:
    return headers(RedirectResponse(to, status_code=303))


def _safe_next(value: str | None) -> str:
    """Only a path inside the console: never an open redirect to another site."""
    if not value or not value.startswith("/console") or value.startswith("//") or "\\" in value:
        return "/console"
    return value


def _resolve(request: Request) -> tuple[Viewer, Session] | None:
    """The signed-in viewer of this request, re-reading their credential (a revoked one signs them out)."""
    store = console(request).sessions
    session_id = request.cookies.get(COOKIE)
    session = store.get(session_id, _now())
    if session is None:
        return None
    record = request.app.state.registry.current("credential", session.credential)
    viewer = None
    if record is not None:
        found = CredentialRecord.model_validate(record.body)
        viewer = viewer_of(session.credential, found.scopes, found.label)
    if viewer is None:
        store.end_credential(session.credential)
        return None
    return viewer, session


def signed_in(request: Request) -> tuple[Viewer, Session]:
    """A page's dependency: the viewer and session, or a redirect to the login form."""
    found = _resolve(request)
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignIn(target)
    return found


@dataclass
class Posted:
    viewer: Viewer
    session: Session
    fields: dict[str, str]
    sessions: Sessions | None = None  # the store the session came from, to keep the messages ``act`` adds

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default).strip()


async def _form(request: Request) -> dict[str, str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise Refused(415, "console forms are sent as application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Refused(413, f"form over {MAX_FORM_BYTES} bytes")
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200))
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "the form is not valid urlencoded UTF-8") from None


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # a browser that sends no Origin is still held to the CSRF token
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "")


async def posted(request: Request) -> Posted:
    """A form's dependency: signed in, same origin, the session's CSRF token, and a viewer who may write."""
    if not _same_origin(request):
        raise Refused(403, "cross-origin form refused")
    found = await run_in_threadpool(_resolve, request)
    if found is None:
        raise SignIn(_back(request))  # the session expired or was revoked: sign in, then back to the page
    viewer, session = found
    fields = await _form(request)
    if not same(fields.get("csrf", ""), session.csrf):
        raise Refused(403, "the form's CSRF token does not match this session; reload the page")
    if not viewer.writer:
        raise Refused(403, "this console session is read-only")
    return Posted(viewer, session, fields, console(request).sessions)


def act(done: Posted, to: str, call: Callable[[], Any], ok: str | Callable[[Any], str]) -> Response:
    """Run a service call for a form and redirect back, saying what happened or why it was refused."""
    from ..core.errors import ClearanceError
    from ..licensing.record import InputError
    from ..ports import ConflictError
    from ..registry.service import WriteRejected

    try:
        out = call()
    except WriteRejected as exc:
        done.session.flash.append(("error", f"refused ({exc.status}): " + "; ".join(exc.problems)))
    except InputError as exc:
        done.session.flash.append(("error", "refused: " + "; ".join(exc.problems)))
    except (ConflictError, ClearanceError) as exc:
        done.session.flash.append(("error", f"refused: {exc}"))
    else:
        done.session.flash.append(("ok", ok(out) if callable(ok) else ok))
    if done.sessions is not None:
        done.sessions.save(done.session)
    return redirect(to)


def need(value: str, name: str) -> str:
    if not value:
        raise Refused(422, f"{name}: required")
    return value


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC:
        raise Refused(404, "no such asset")
    response = Response(STATIC[name], media_type=TYPES[name.rsplit(".", 1)[1]])
    response.headers["cache-control"] = "public, max-age=3600"
    return headers(response)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the query's name
    import secrets

    token = secrets.token_urlsafe(32)
    response = page(request, "login.html", next=_safe_next(next), login_csrf=token)
    _cookie(request, response, LOGIN_COOKIE, token, 600)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    fields = await _form(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not _same_origin(request) or not expected or not same(fields.get("csrf", ""), expected):
        raise Refused(403, "the login form expired or came from another site; reload it")
    token = fields.get("token", "").strip()
    found = await run_in_threadpool(request.app.state.registry.authenticate, token) if token else None
    viewer = viewer_of(found.key, found.record.scopes, found.record.label) if found is not None else None
    if viewer is None:
        why = "that token is not a live admin or auditor credential" if token else "paste a token"
        return page(request, "login.html", status=401, next=_safe_next(fields.get("next")), login_csrf=expected,
                    problem=why)
    console(request).sessions.end(request.cookies.get(COOKIE))  # a new id at every sign-in: no fixation
    session_id, _ = console(request).sessions.start(viewer.key, _now())
    response = redirect(_safe_next(fields.get("next")))
    _cookie(request, response, COOKIE, session_id, None)
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    found = await run_in_threadpool(_resolve, request)
    fields = await _form(request)
    if found is not None and not same(fields.get("csrf", ""), found[1].csrf):
        raise Refused(403, "the form's CSRF token does not match this session; reload the page")
    console(request).sessions.end(request.cookies.get(COOKIE))
    response = redirect("/console/login")
    response.delete_cookie(COOKIE, path="/console")
    return response


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(name, value, max_age=max_age, path="/console", httponly=True, samesite="strict", secure=secure)


def _back(request: Request) -> str:
    """The console page a form was posted from (its Referer, same origin), else the dashboard."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.headers.get("host", ""):
        return "/console"
    return _safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))


def refused_page(request: Request, exc: Refused) -> Response:
    return page(request, "refused.html", status=exc.status, message=exc.message)


def login_redirect(exc: SignIn) -> Response:
    return redirect("/console/login?next=" + quote(_safe_next(exc.next_path), safe="/"))
