"""Console sessions in the database: every worker and replica behind a load balancer knows them."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from clearance.api.app import create_app
from clearance.console.sessions import digest
from clearance.console.shared_sessions import SqlSessionStore
from clearance.settings import Settings
from clearance.store.sql.engine import make_engine
from clearance.store.sql.migrate import migrate

NS = 1_000_000_000


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'console.db'}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def two_workers(database, tmp_path):
    """Two admin APIs over one database, as two `clearance serve` workers or replicas are."""
    from clearance.wiring import build_app

    settings = Settings(database_url=database, audit_keys=str(tmp_path / "keys"))
    first, second = build_app(settings), build_app(settings)
    admin = first.service.create_credential(["admin"], reason="test").token
    yield create_app(first), create_app(second), admin, first
    first.close()
    second.close()


def test_a_session_started_on_one_worker_is_known_to_the_other(two_workers):
    one, other, admin, _ = two_workers
    a, b = TestClient(one), TestClient(other)
    form = a.get("/console/login")
    signed = a.post("/console/login", data={"csrf": csrf_of(form.text), "token": admin, "next": "/console"},
                    follow_redirects=False)
    assert signed.status_code == 303
    b.cookies = a.cookies
    page = b.get("/console/registry", follow_redirects=False)
    assert page.status_code == 200, "the other worker sent a signed-in browser back to the login form"
    # A message set by a form on one worker is shown once on the other.
    sent = b.post("/console/decisions", data={}, follow_redirects=False)  # not a form route: refused, no harm
    assert sent.status_code in (303, 403, 405)
    shown = a.get("/console/decisions?decision_id=abc", follow_redirects=True)
    assert "a whole number" in shown.text
    assert "a whole number" not in b.get("/console/decisions").text, "a message is shown once, on any worker"
    # Signing out on one worker ends the session everywhere.
    out = b.post("/console/logout", data={"csrf": csrf_of(b.get("/console").text)}, follow_redirects=False)
    assert out.status_code == 303
    assert a.get("/console/registry", follow_redirects=False).status_code == 303


def test_the_database_keeps_only_digests_and_forgets_expired_sessions(database):
    migrate(database)
    engine = make_engine(database)
    try:
        _expiry_and_bounds(SqlSessionStore(engine, idle_ns=10 * NS, absolute_ns=60 * NS, limit=3))
    finally:
        engine.dispose()


def _expiry_and_bounds(store: SqlSessionStore) -> None:
    session_id, session = store.start("key-1", 0)
    assert store.stored_keys() == [digest(session_id)] and session_id not in store.stored_keys()
    assert store.get(session_id, 5 * NS).csrf == session.csrf
    assert store.get(session_id, 14 * NS) is not None, "each visit pushes the idle expiry on"
    assert store.get(session_id, 30 * NS) is None, "idle for longer than the idle expiry"
    assert store.get("not-a-session", 0) is None and store.get("x" * 500, 0) is None
    ids = [store.start(f"key-{i}", 100 * NS + i)[0] for i in range(5)]
    assert len(store) == 3, "the number of sessions is bounded"
    assert store.get(ids[0], 100 * NS + 10) is None and store.get(ids[-1], 100 * NS + 10) is not None
    store.end_credential("key-4")
    assert store.get(ids[-1], 100 * NS + 20) is None, "a revoked credential's sessions end"
    long_lived, _ = store.start("key-9", 1000 * NS)
    for t in range(1, 8):
        store.get(long_lived, (1000 + 9 * t) * NS)
    assert store.get(long_lived, 1061 * NS) is None, "never past the absolute expiry, however active"


def test_a_visit_waits_for_another_writer_instead_of_failing(tmp_path):
    """Another process committing between a visit's read and its update must not fail the visit.

    A plain SQLite transaction that reads and then writes fails at once with "database is locked"
    when another writer commits in between (the browser saw a 500 on a loaded machine).
    """
    import sqlite3
    import threading

    database = f"sqlite:///{tmp_path / 'console.db'}"
    migrate(database)
    engine = make_engine(database)
    try:
        store = SqlSessionStore(engine, idle_ns=10 * NS, absolute_ns=60 * NS)
        session_id, _ = store.start("key-1", 0)
        other = sqlite3.connect(tmp_path / "console.db", isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE console_sessions SET flash = '[]'")
        committed = threading.Event()

        def commit() -> None:
            other.execute("COMMIT")
            committed.set()

        holding = threading.Timer(0.3, commit)
        holding.start()
        assert store.get(session_id, NS) is not None
        assert committed.is_set(), "the visit wrote while the other writer held the lock"
        holding.join()
        other.close()
    finally:
        engine.dispose()


def test_an_unreachable_session_store_is_a_503_page_not_a_500(two_workers):
    one, _, admin, _ = two_workers
    client = TestClient(one, raise_server_exceptions=False)
    form = client.get("/console/login")
    client.post("/console/login", data={"csrf": csrf_of(form.text), "token": admin, "next": "/console"})
    store = one.state.console.sessions
    from sqlalchemy import text
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE console_sessions"))
    page = client.get("/console/registry", follow_redirects=False)
    assert page.status_code == 503
    assert "text/html" in page.headers["content-type"]
    assert "console sessions" in page.text
    api = client.get("/v1/registry/credential", headers={"Authorization": f"Bearer {admin}"})
    assert api.status_code != 500
