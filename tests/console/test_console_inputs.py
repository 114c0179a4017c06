"""Odd input to the console's pages and forms is answered as a page or a refusal, never a server error."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from clearance.api.app import create_app
from clearance.settings import Settings
from clearance.wiring import build_app

ODD = [
    "/console/decisions/99999999999999999999999", "/console/decisions/-1", "/console/decisions/0",
    "/console/decisions?decision_id=abc", "/console/decisions?since=yesterday&until=2026-13-45T99:00",
    "/console/decisions?since=2026-07-20T10:00&until=2026-07-21T10:00:00&entity=stripe",
    "/console/decisions?after=-5&entity=stripe", "/console/registry?start=-5", "/console/registry?start=10000000",
    "/console/registry?tab=nope&q=%E2%80%AE", "/console/registry?tab=people&q=%22%3Cscript%3E",
    "/console/registry/entity/nope", "/console/registry/credential/nope", "/console/registry/nope/x",
    "/console/registry/entity/%00", "/console/audit?entity=stripe&quarter=bad", "/console/audit?entity=stripe&quarter=2026Q3",
    "/console/audit?kind=nope", "/console/applications/nope", "/console/applications?state=nope",
    "/console/screening?all=true", "/console/static/../web.py", "/console/static/nope.css",
]


@pytest.fixture
def admin(tmp_path):
    app = build_app(Settings(database_url="memory:", audit_keys=str(tmp_path / "keys")))
    token = app.service.create_credential(["admin"], reason="test").token
    client = TestClient(create_app(app), raise_server_exceptions=False)
    form = client.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    assert client.post("/console/login", data={"csrf": csrf, "token": token}, follow_redirects=False).status_code == 303
    yield client, app
    app.close()


@pytest.mark.parametrize("path", ODD)
def test_odd_queries_never_fail_the_server(admin, path):
    client, _ = admin
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code < 500, (path, answer.status_code, answer.text[:500])
    assert "<script>" not in answer.text.replace('<script src="/console/static/console.js" defer></script>', "")


def test_refused_changes_say_why_and_store_nothing(admin):
    client, app = admin
    page = client.get("/console/registry?tab=keys")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    before = app.service.store.latest_seq()
    for url, data in (
        ("/console/registry/authorization/nope/suspend", {"suspension": "S-1", "reason": "x"}),
        ("/console/registry/authorization/annex-a/suspend", {"suspension": "S-1", "reason": "x", "from": "not a date"}),
        ("/console/registry/entity/nope/retire", {"reason": "x"}),
        ("/console/registry/keys", {"scope": "no-such-scope", "reason": "x"}),
        ("/console/screening/nope/clear", {"reason": "x"}),
        ("/console/applications/nope/act", {"action": "approve"}),
    ):
        answer = client.post(url, data={**data, "csrf": csrf}, follow_redirects=True)
        assert answer.status_code in (200, 404), (url, answer.text[:300])  # back on the page, or its "not found"
        assert "refused" in answer.text, url
    assert app.service.store.latest_seq() == before
    missing_reason = client.post("/console/registry/entity/stripe/retire", data={"csrf": csrf}, follow_redirects=False)
    assert missing_reason.status_code == 422
    assert app.service.store.latest_seq() == before


def test_console_forms_skip_the_bearer_check_but_not_the_size_limit(tmp_path):
    app = build_app(Settings(database_url="memory:", audit_keys=str(tmp_path / "keys")))
    try:
        client = TestClient(create_app(app, max_body_bytes=1000))
        big = client.post("/console/login", content=b"token=" + b"x" * 5000,
                          headers={"content-type": "application/x-www-form-urlencoded"})
        assert big.status_code == 413
        # Only the console's own paths: a REST write without a token is still refused before its body is read.
        assert client.post("/v1/credentials", json={"scopes": ["admin"], "reason": "x"}).status_code == 401
        assert client.post("/consolex/login", content=b"x").status_code == 401
    finally:
        app.close()
