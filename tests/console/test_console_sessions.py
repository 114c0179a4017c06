"""The console in-process: sign-in, session cookies, CSRF, sign-out and what each role may see or change."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from clearance.api.app import create_app
from clearance.console.sessions import SessionStore, digest, viewer_of
from clearance.console.web import _safe_next
from clearance.settings import Settings
from clearance.wiring import build_app

LUNA = {"model": "gpt-5.6-luna", "use_case": "general", "person": {"citizenships": ["US"], "location": "US"}}


@pytest.fixture
def env(tmp_path):
    app = build_app(Settings(database_url="memory:", audit_keys=str(tmp_path / "keys")))
    make = app.service.create_credential
    tokens = {
        "admin": make(["admin"], reason="test", label="Ada Admin").token,
        "auditor": make(["auditor"], reason="test").token,
        "stripe-auditor": make(["auditor:stripe"], reason="test").token,
        "gateway": make(["gateway"], reason="test").token,
    }
    api = create_app(app)
    yield api, app, tokens
    app.close()


def client(api, https: bool = False) -> TestClient:
    return TestClient(api, base_url="https://testserver" if https else "http://testserver")


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def posted_forms(html: str) -> list[str]:
    return re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', html)


def sign_in(c: TestClient, token: str, next_path: str = "/console"):
    form = c.get("/console/login")
    return c.post("/console/login", data={"csrf": csrf_of(form.text), "token": token, "next": next_path},
                  follow_redirects=False)


def decide(c: TestClient, token: str, entity: str) -> int:
    answer = c.post("/v1/decisions", json={**LUNA, "entity": entity}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["decision_id"]


def test_pages_need_a_session_but_the_criteria_are_public(env):
    api, _, _ = env
    c = client(api)
    for path in ("/console", "/console/decisions", "/console/registry", "/console/audit", "/console/evals"):
        answer = c.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login?next=/console")
    public = c.get("/console/criteria")
    assert public.status_code == 200 and "Licensing criteria" in public.text
    assert "Sign out" not in public.text


def test_the_session_cookie_is_httponly_strict_and_only_a_hash_is_stored(env):
    api, _, tokens = env
    c = client(api)
    answer = sign_in(c, tokens["admin"])
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("clearance_console="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain HTTP here: a Secure cookie would never come back
    session_id = cookie.split(";")[0].split("=", 1)[1]
    stored = api.state.console.sessions.stored_keys()
    assert session_id not in stored and digest(session_id) in stored
    assert tokens["admin"] not in api.state.console.sessions.stored_keys()
    page = c.get("/console")
    assert page.status_code == 200 and "Ada Admin" in page.text
    assert "content-security-policy" in page.headers and page.headers["cache-control"] == "no-store"


def test_over_tls_the_cookie_is_secure(env):
    api, _, tokens = env
    answer = sign_in(client(api, https=True), tokens["auditor"])
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("clearance_console="))
    assert "Secure" in cookie


def test_wrong_tokens_and_machine_tokens_are_refused_at_the_login_form(env):
    api, _, tokens = env
    c = client(api)
    for token in ("clr_nope_nope", tokens["admin"] + "x", tokens["gateway"], ""):
        answer = sign_in(c, token)
        assert answer.status_code == 401, token
        assert "clearance_console=" not in answer.headers.get("set-cookie", "")
    # The login form's own CSRF token: a post without the form's cookie is refused.
    bare = client(api).post("/console/login", data={"csrf": "x", "token": tokens["admin"]}, follow_redirects=False)
    assert bare.status_code == 403


def test_a_login_redirect_never_leaves_the_console(env):
    api, _, tokens = env
    answer = sign_in(client(api), tokens["admin"], next_path="https://evil.example/")
    assert answer.headers["location"] == "/console"


@given(st.text(max_size=40))
def test_next_paths_stay_inside_the_console(value):
    assert _safe_next(value).startswith("/console") and not _safe_next(value).startswith("//")


def test_every_form_needs_this_sessions_csrf_token(env):
    api, app, tokens = env
    c = client(api)
    sign_in(c, tokens["admin"])
    victim = app.service.create_credential(["gateway"], reason="test")
    page = c.get(f"/console/registry/credential/{victim.key}")
    assert "Revoke key" in page.text
    url = f"/console/registry/credential/{victim.key}/revoke"
    assert c.post(url, data={"reason": "no token"}, follow_redirects=False).status_code == 403
    assert c.post(url, data={"reason": "forged", "csrf": "A" * 43}, follow_redirects=False).status_code == 403
    other = client(api)
    sign_in(other, tokens["admin"])
    foreign = csrf_of(other.get("/console/registry?tab=keys").text)
    assert c.post(url, data={"reason": "another session's token", "csrf": foreign}, follow_redirects=False).status_code == 403
    cross = c.post(url, data={"reason": "x", "csrf": csrf_of(page.text)}, headers={"Origin": "https://evil.example"},
                   follow_redirects=False)
    assert cross.status_code == 403
    assert app.service.authenticate(victim.token) is not None  # nothing was revoked by any of those
    done = c.post(url, data={"reason": "lost laptop", "csrf": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303
    assert app.service.authenticate(victim.token) is None
    history = app.service.history("credential", victim.key)
    assert history[-1].op == "retire" and history[-1].reason == "lost laptop"
    assert history[-1].actor == app.service.authenticate(tokens["admin"]).key
    shown = c.get(f"/console/registry/credential/{victim.key}")
    assert "revoked" in shown.text and "lost laptop" in shown.text


def test_sign_out_ends_the_session_on_the_server(env):
    api, _, tokens = env
    c = client(api)
    answer = sign_in(c, tokens["admin"])
    session_id = answer.cookies.get("clearance_console") or c.cookies.get("clearance_console")
    page = c.get("/console")
    assert c.post("/console/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False).status_code == 303
    assert len(api.state.console.sessions) == 0
    replay = client(api)
    replay.cookies.set("clearance_console", session_id, path="/console")
    assert replay.get("/console", follow_redirects=False).status_code == 303


def test_revoking_the_signed_in_credential_signs_its_sessions_out(env):
    api, app, tokens = env
    c = client(api)
    sign_in(c, tokens["auditor"])
    assert c.get("/console", follow_redirects=False).status_code == 200
    key = app.service.authenticate(tokens["auditor"]).key
    app.service.retire("credential", key, reason="left the firm")
    assert c.get("/console", follow_redirects=False).status_code == 303


def test_an_auditor_reads_everything_and_changes_nothing(env):
    api, app, tokens = env
    c = client(api)
    sign_in(c, tokens["auditor"])
    victim = app.service.create_credential(["gateway"], reason="test")
    page = c.get(f"/console/registry/credential/{victim.key}")
    assert page.status_code == 200 and "read-only" in page.text
    forms = posted_forms(page.text)
    assert forms == ["/console/logout"]
    refused = c.post(f"/console/registry/credential/{victim.key}/revoke",
                     data={"reason": "x", "csrf": csrf_of(page.text)}, follow_redirects=False)
    assert refused.status_code == 403
    assert app.service.authenticate(victim.token) is not None
    for path in ("/console/screening", "/console/applications", "/console/registry?tab=keys"):
        assert posted_forms(c.get(path).text) == ["/console/logout"], path


def test_an_entity_scoped_auditor_sees_only_that_entity(env):
    api, _, tokens = env
    c = client(api)
    mine = decide(c, tokens["gateway"], "stripe")
    theirs = decide(c, tokens["gateway"], "contoso-bank")
    sign_in(c, tokens["stripe-auditor"])
    assert "auditor of stripe" in c.get("/console").text
    entities = c.get("/console/registry").text
    assert "/console/registry/entity/stripe" in entities and "contoso-bank" not in entities
    assert c.get("/console/registry/entity/stripe").status_code == 200
    assert c.get("/console/registry/entity/contoso-bank").status_code == 404
    assert c.get(f"/console/decisions/{mine}").status_code == 200
    other = c.get(f"/console/decisions/{theirs}")
    assert other.status_code == 404 and "contoso-bank" not in other.text
    listed = c.get("/console/decisions").text
    assert f"/console/decisions/{mine}\"" in listed and f"/console/decisions/{theirs}\"" not in listed
    searched = c.get("/console/decisions?entity=contoso-bank").text
    assert f"/console/decisions/{theirs}\"" not in searched
    report = c.get("/console/audit?entity=contoso-bank&quarter=2026Q3").text
    assert "may not read the audit records of `contoso-bank`" in report
    export = c.get("/console/audit/export.jsonl").text
    assert '"stripe"' in export and "contoso-bank" not in export
    assert "Keys are shown only" in c.get("/console/registry?tab=keys").text or \
        "keys are shown only" in c.get("/console/registry?tab=keys").text


def test_a_denied_decision_is_explained_with_its_rule_chain_and_remedies(env):
    api, _, tokens = env
    c = client(api)
    seq = decide(c, tokens["gateway"], "stripe")
    sign_in(c, tokens["admin"])
    page = c.get(f"/console/decisions/{seq}")
    assert page.status_code == 200
    assert "DENY" in page.text and "license-required" in page.text
    assert "Rule chain" in page.text and "What would change it" in page.text
    assert f"clearance explain --decision-id {seq}" in page.text
    found = c.get(f"/console/decisions?decision_id={seq}", follow_redirects=False)
    assert found.headers["location"] == f"/console/decisions/{seq}"


def test_session_store_expires_idle_sessions_and_bounds_its_size():
    store = SessionStore(idle_ns=10, absolute_ns=100, limit=2)
    sid, _ = store.start("k1", now_ns=0)
    assert store.get(sid, 5) is not None
    assert store.get(sid, 14) is not None  # seen at 5: idle until 15
    assert store.get(sid, 30) is None
    a, _ = store.start("k1", 40)
    b, _ = store.start("k2", 41)
    c, _ = store.start("k3", 42)
    assert len(store) == 2 and store.get(a, 43) is None and store.get(c, 43) is not None
    long, _ = store.start("k4", 0)
    for t in range(5, 100, 5):
        assert store.get(long, t) is not None
    assert store.get(long, 100) is None  # the absolute limit holds however busy the session


def test_console_roles_follow_the_credential_scopes():
    assert viewer_of("k", ["admin"]).writer
    auditor = viewer_of("k", ["auditor"])
    assert not auditor.writer and auditor.entities is None
    scoped = viewer_of("k", ["auditor:stripe"])
    assert scoped.entities == frozenset({"stripe"}) and scoped.sees("stripe") and not scoped.sees("contoso-bank")
    for machine in (["gateway"], ["metrics"], ["entity:stripe"], ["screening"], ["auditor:"]):
        assert viewer_of("k", machine) is None


def test_a_change_made_in_the_console_is_audited_as_the_same_change_through_the_api(env):
    api, app, tokens = env
    c = client(api)
    sign_in(c, tokens["admin"])
    by_api = app.service.create_credential(["gateway"], reason="test")
    by_console = app.service.create_credential(["gateway"], reason="test")
    answer = c.post(f"/v1/credentials/{by_api.key}/revoke", json={"reason": "rotated"},
                    headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert answer.status_code == 200, answer.text
    page = c.get(f"/console/registry/credential/{by_console.key}")
    c.post(f"/console/registry/credential/{by_console.key}/revoke", data={"reason": "rotated", "csrf": csrf_of(page.text)})
    changes = app.audit.store.query(kinds=["admin-change"], limit=10**6)
    bodies = {r.body["change"]["key"]: r.body for r in changes if r.body["change"]["op"] == "retire"}

    def shape(body: dict) -> dict:
        return {**body, "change": {k: v for k, v in body["change"].items() if k not in ("seq", "key", "valid_from",
                                                                                      "recorded_at")}}

    assert shape(bodies[by_console.key]) == shape(bodies[by_api.key])
    assert bodies[by_console.key]["actor"] == app.service.authenticate(tokens["admin"]).key


def test_a_decision_is_explained_under_the_registry_of_its_instant_not_todays(env):
    api, app, tokens = env
    c = client(api)
    seq = decide(c, tokens["gateway"], "stripe")
    licence = {"kind": "individual-licence", "models": ["gpt-5.6-luna"], "valid": {"from": "2020-01-01T00:00:00Z"},
               "covers": {"entities": ["stripe"]}, "use_cases": {"use_cases": ["general"]}}
    app.service.put("authorization", "LIC-1", licence, reason="approved")
    now = c.post("/v1/decisions", json={**LUNA, "entity": "stripe"}, headers={"Authorization": f"Bearer {tokens['gateway']}"})
    assert now.json()["code"] == "authorized"  # today's registry permits it, under the licence
    sign_in(c, tokens["auditor"])
    for _ in range(2):  # the second time from the kept policy of that version
        page = c.get(f"/console/decisions/{seq}").text
        assert "license-required" in page and "Recorded as" not in page
    assert len(api.state.console.cache["policies"]) == 1


def test_a_form_sent_without_a_live_session_leads_to_the_login_and_back(env):
    api, app, tokens = env
    victim = app.service.create_credential(["gateway"], reason="test")
    c = client(api)
    url = f"/console/registry/credential/{victim.key}/revoke"
    answer = c.post(url, data={"reason": "x", "csrf": "x"}, headers={"Referer": f"http://testserver/console/registry/credential/{victim.key}"},
                    follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/login?next=/console/registry/credential/{victim.key}"
    assert app.service.authenticate(victim.token) is not None
    sign_in(c, tokens["admin"])
    refused = c.post(url, data={"reason": "x", "csrf": "forged"}, follow_redirects=False)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert "CSRF token does not match" in refused.text


def test_quarterly_reports_as_charts_and_as_the_full_page_for_the_entities_a_session_may_read(env):
    from datetime import UTC, datetime

    api, app, tokens = env
    c = client(api)
    decide(c, tokens["gateway"], "stripe")
    decide(c, tokens["gateway"], "contoso-bank")
    app.audit.sign_head()
    today = datetime.now(UTC)
    quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    sign_in(c, tokens["stripe-auditor"])
    charts = c.get(f"/console/audit?entity=stripe&quarter={quarter}").text
    assert "<svg role='img' aria-label='Refusals by code'" in charts and "license-required" in charts
    full = c.get(f"/console/audit/report.html?entity=stripe&quarter={quarter}")
    assert full.status_code == 200 and "Audit report" in full.text and "<script" not in full.text
    assert "script-src" not in full.headers["content-security-policy"]
    assert c.get(f"/console/audit/report.html?entity=contoso-bank&quarter={quarter}").status_code == 403
    assert c.get("/console/audit/report.html?entity=stripe&quarter=bad").status_code == 422


def test_the_dashboard_counts_the_last_hours_decisions_denials_and_guard_events(env):
    api, app, tokens = env
    c = client(api)
    decide(c, tokens["gateway"], "stripe")
    decide(c, tokens["gateway"], "contoso-bank")
    app.audit.append("guardrail", {"entity": "stripe", "event": "prompt-blocked", "stage": "prompt"})
    app.audit.append("guardrail", {"entity": "contoso-bank", "event": "answer-flagged", "stage": "answer"})
    sign_in(c, tokens["admin"])
    everything = c.get("/console").text
    assert re.search(r'class="big">2</span> decisions', everything)
    assert "prompt-blocked" in everything and "answer-flagged" in everything
    sign_in(c, tokens["stripe-auditor"])
    mine = c.get("/console").text
    assert re.search(r'class="big">1</span> decisions', mine)
    assert "prompt-blocked" in mine and "answer-flagged" not in mine
