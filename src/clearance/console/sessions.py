"""Console sessions: who is signed in, what they may see, and the token that guards their forms.

A session starts when a person pastes an ``admin`` or ``auditor`` bearer token (the REST API's
own credentials) into the login form. The browser then holds only a random session id in an
HttpOnly, SameSite=Strict cookie; this store keeps the SHA-256 of that id (a leaked store
dump cannot be replayed as a cookie), the credential's key (never its secret), a per-session
CSRF token and two expiries: idle and absolute. Each request re-reads the credential, so a
revoked token ends every session it opened at once.

Sessions live in the registry database (:class:`.shared_sessions.SqlSessionStore`)
so that every worker and replica behind a load balancer knows them; :class:`SessionStore`, in
the process's memory, serves the in-memory deployment and the tests. A change to a session
(a message to show after a redirect) is written back with ``save``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field
from typing import Protocol

NS = 1_000_000_000
IDLE_NS = 30 * 60 * NS
ABSOLUTE_NS = 8 * 3600 * NS
MAX_SESSIONS = 10_000  # bounded: logging in needs a valid token, but memory is never an attacker's to fill


@dataclass(frozen=True)
class Viewer:
    """What a signed-in person may do: ``entities`` is ``None`` for every entity, else the only ones shown."""

    key: str
    label: str
    writer: bool
    entities: frozenset[str] | None

    def sees(self, entity: str | None) -> bool:
        return self.entities is None or (entity is not None and entity in self.entities)

    @property
    def role(self) -> str:
        if self.writer:
            return "admin"
        if self.entities is None:
            return "auditor"
        return "auditor of " + ", ".join(sorted(self.entities))


def viewer_of(key: str, scopes: list[str] | tuple[str, ...], label: str = "") -> Viewer | None:
    """The console role of a credential with ``scopes``; ``None`` when it may not use the console.

    ``admin`` reads and changes everything; ``auditor`` reads everything; ``auditor:<entity>``
    reads only those entities. Gateway, metrics, screening and ``entity:`` tokens are for
    machines and applicants, not for this console.
    """
    if "admin" in scopes:
        return Viewer(key, label, True, None)
    if "auditor" in scopes:
        return Viewer(key, label, False, None)
    scoped = frozenset(s.removeprefix("auditor:") for s in scopes if s.startswith("auditor:") and len(s) > 8)
    return Viewer(key, label, False, scoped) if scoped else None


@dataclass
class Session:
    credential: str  # the credential's key; re-checked on every request
    csrf: str
    started_ns: int
    seen_ns: int
    expires_ns: int = 0
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, message) shown once, after a redirect
    digest: str = ""  # the store's key: the SHA-256 of the cookie's id


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time equality of two secrets (CSRF tokens)."""
    return hmac.compare_digest(a.encode(), b.encode())


def expire(session: Session, now_ns: int, idle_ns: int, absolute_ns: int) -> None:
    """Push a session's expiry to ``idle_ns`` from now, never past ``absolute_ns`` from its start."""
    session.expires_ns = min(now_ns + idle_ns, session.started_ns + absolute_ns)


def new_id() -> str:
    return secrets.token_urlsafe(32)


class Sessions(Protocol):
    """Where sessions are kept: this module's memory store, or the database's (``shared_sessions``)."""

    def start(self, credential: str, now_ns: int) -> tuple[str, Session]: ...
    def get(self, session_id: str | None, now_ns: int) -> Session | None: ...
    def save(self, session: Session) -> None: ...
    def end(self, session_id: str | None) -> None: ...
    def end_credential(self, credential: str) -> None: ...


class SessionStore:
    def __init__(self, idle_ns: int = IDLE_NS, absolute_ns: int = ABSOLUTE_NS, limit: int = MAX_SESSIONS) -> None:
        self.idle_ns = idle_ns
        self.absolute_ns = absolute_ns
        self.limit = limit
        self._by_digest: dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(self, credential: str, now_ns: int) -> tuple[str, Session]:
        """A new session for ``credential``: the id for the cookie (never stored) and its session."""
        session_id = new_id()
        session = Session(credential, new_id(), now_ns, now_ns, digest=digest(session_id))
        self._expire(session, now_ns)
        with self._lock:
            self._sweep(now_ns)
            if len(self._by_digest) >= self.limit:
                oldest = min(self._by_digest, key=lambda d: self._by_digest[d].seen_ns)
                del self._by_digest[oldest]
            self._by_digest[digest(session_id)] = session
        return session_id, session

    def get(self, session_id: str | None, now_ns: int) -> Session | None:
        """The live session of a cookie's id, its idle expiry pushed on; ``None`` if unknown or expired."""
        if not session_id or len(session_id) > 128:
            return None
        key = digest(session_id)
        with self._lock:
            session = self._by_digest.get(key)
            if session is None:
                return None
            if now_ns >= session.expires_ns:
                del self._by_digest[key]
                return None
            session.seen_ns = now_ns
            self._expire(session, now_ns)
            return session

    def save(self, session: Session) -> None:
        """Keep a changed session; in memory the session is the stored object already."""

    def end(self, session_id: str | None) -> None:
        if session_id:
            with self._lock:
                self._by_digest.pop(digest(session_id), None)

    def end_credential(self, credential: str) -> None:
        """Sign out every session a credential opened (it was revoked)."""
        with self._lock:
            for key in [k for k, s in self._by_digest.items() if s.credential == credential]:
                del self._by_digest[key]

    def __len__(self) -> int:
        return len(self._by_digest)

    def stored_keys(self) -> list[str]:
        """The stored keys (digests), for tests that check no raw id is kept."""
        with self._lock:
            return list(self._by_digest)

    def _expire(self, session: Session, now_ns: int) -> None:
        expire(session, now_ns, self.idle_ns, self.absolute_ns)

    def _sweep(self, now_ns: int) -> None:
        for key in [k for k, s in self._by_digest.items() if now_ns >= s.expires_ns]:
            del self._by_digest[key]
