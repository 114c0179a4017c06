"""The console in a real browser (Debian's Chromium through Playwright) against a real ``clearance serve``.

What staff and auditors rely on: signing in, reading why a call was denied, revoking a key so the
next gateway call is refused, clearing a screening finding with a reason that lands in the audit
log, moving an application through review, and an entity-scoped auditor seeing only their entity.
Screenshots of the main pages (1280 px and phone width) are taken on every run; with
``CLEARANCE_CONSOLE_SCREENSHOTS=docs/screenshots`` they replace the README's (a plain run leaves
the committed ones alone, so running the suite never changes the working tree).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from needs import missing

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))
from gateway_kit import Server, start_server, stop_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS_ENV = "CLEARANCE_CONSOLE_SCREENSHOTS"
LUNA = {"model": "gpt-5.6-luna", "entity": "stripe", "use_case": "general",
        "person": {"citizenships": ["US"], "location": "US"}}
APPLICATION = {"entity": "stripe", "models": ["gpt-5.6-luna"], "use_cases": ["general"],
               "users": [{"citizenships": ["US"], "location": "US"}], "justification": "internal code assistant"}
LIST_ROW = {"entity_number": "15268", "source": "Capta List (CAP) - Treasury Department", "source_code": "CAP",
            "type": "Entity", "name": "BANK OF KUNLUN CO LTD", "alt_names": [], "countries": ["CN"]}

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None


@pytest.fixture(scope="module")
def browser():
    if sync_playwright is None:
        missing("browser", "playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        missing("browser", f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, browser):
    started = start_server(tmp_path_factory.mktemp("console"))
    yield started
    stop_server(started)


def sign_in(browser: Browser, server: Server, token: str, width: int = 1280) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 900}, timezone_id="Europe/Paris")
    page = context.new_page()
    page.goto(server.base + "/console")
    expect(page).to_have_url(server.base + "/console/login?next=/console")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    return page


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return Path(os.environ.get(SHOTS_ENV) or tmp_path_factory.mktemp("screenshots"))


def shot(page: Page, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000, f"{name}: an empty page?"


def test_find_a_denied_decision_and_read_why(browser, server, shots):
    permitted = {**LUNA, "model": "mythos-5", "use_case": "software-engineering"}
    for document in (permitted, permitted, LUNA, permitted, {**permitted, "use_case": "synthetic-biology-design"}, permitted):
        assert server.admin_call("POST", "/v1/decisions", json=document).status_code == 200
    decided = server.admin_call("POST", "/v1/decisions", json=LUNA).json()
    assert decided["outcome"] == "deny", decided
    page = sign_in(browser, server, server.admin)
    expect(page.locator(".cards .card").first).to_contain_text("7")
    shot(page, shots, "dashboard")
    page.get_by_role("link", name="Decisions").click()
    page.get_by_label("Decision id").fill(str(decided["decision_id"]))
    page.get_by_role("button", name="Explain").click()
    expect(page.get_by_role("heading", name=f"Decision {decided['decision_id']}")).to_be_visible()
    expect(page.locator(".verdict")).to_contain_text("DENY")
    expect(page.locator(".verdict")).to_contain_text(decided["code"])
    expect(page.get_by_role("heading", name="Rule chain")).to_be_visible()
    expect(page.get_by_role("heading", name="What would change it")).to_be_visible()
    assert page.locator("#remedies li").count() >= 1
    # Times are shown in the viewer's zone; the UTC instant stays on hover.
    stamp = page.locator("dl.facts time").first
    assert stamp.get_attribute("title").startswith("UTC ") and not stamp.inner_text().endswith("Z")
    shot(page, shots, "decision")
    page.get_by_role("link", name="Decisions").click()
    page.get_by_label("Entity").fill("stripe")
    page.get_by_label("Outcome").select_option("deny")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name=str(decided["decision_id"]), exact=True)).to_be_visible()
    page.context.close()


def test_revoke_a_key_and_the_next_gateway_call_is_refused(browser, server, shots):
    call = {"model": "mythos-5", "messages": [{"role": "user", "content": "Hello"}]}
    first = httpx.post(server.base + "/v1/chat/completions", json=call, timeout=30,
                       headers={"Authorization": f"Bearer {server.demo_key}"})
    assert first.status_code == 200, first.text
    key = server.demo_key.split("_")[1]
    page = sign_in(browser, server, server.admin)
    page.get_by_role("link", name="Registry").click()
    page.get_by_role("link", name="Keys").click()
    page.get_by_role("link", name=key).click()
    page.get_by_label("Reason").fill("laptop reported stolen")
    page.get_by_role("button", name="Revoke key").click()
    expect(page.get_by_role("status")).to_contain_text(f"key {key} revoked")
    expect(page.locator(".timeline li").first).to_contain_text("laptop reported stolen")
    shot(page, shots, "registry-key")
    refused = httpx.post(server.base + "/v1/chat/completions", json=call, timeout=30,
                         headers={"Authorization": f"Bearer {server.demo_key}"})
    assert refused.status_code in (401, 403), refused.text
    page.context.close()


def test_clear_a_screening_finding_with_a_reason_and_see_the_audit_record(browser, server, shots, tmp_path):
    listed = tmp_path / "csl_2026-07-31.jsonl"
    listed.write_text(json.dumps(LIST_ROW) + "\n", encoding="utf-8")
    env = {**os.environ, "CLEARANCE_DATABASE_URL": f"sqlite:///{server.workdir / 'clearance.db'}"}
    done = subprocess.run([sys.executable, "-c", "from clearance.cli.main import main; main()", "lists", "import", "csl",
                           str(listed), "--reason", "test list"], cwd=server.workdir, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    made = server.admin_call("PUT", "/v1/entities/kunlun-trading",
                             json={"record": {"name": "Kunlun Bank", "country": "US", "kind": "company"},
                                   "reason": "new customer"})
    assert made.status_code == 201 and made.json()["screening"]["flagged"] is not False, made.text
    page = sign_in(browser, server, server.admin)
    page.get_by_role("link", name="Screening").click()
    finding = page.locator("section.finding", has_text="kunlun-trading")
    expect(finding.get_by_role("heading", name="List entry")).to_be_visible()
    expect(finding).to_contain_text("BANK OF KUNLUN CO LTD")
    shot(page, shots, "screening")
    finding.get_by_label("Reason to clear").fill("different bank: US-registered, no link to Karamay")
    finding.get_by_role("button", name="Clear finding").click()
    expect(page.get_by_role("status")).to_contain_text("kunlun-trading: finding cleared")
    page.get_by_role("link", name="Audit").click()
    page.get_by_label("Kind").select_option("screening")
    page.get_by_role("button", name="Show records").click()
    record = page.locator("#recent tbody tr", has_text="cleared").first
    expect(record).to_contain_text("different bank: US-registered, no link to Karamay")
    shot(page, shots, "audit")
    page.context.close()


def test_move_an_application_through_review(browser, server, shots):
    made = server.admin_call("POST", "/v1/applications", json=APPLICATION)
    assert made.status_code == 201, made.text
    app_id = made.json()["id"]
    page = sign_in(browser, server, server.admin)
    page.get_by_role("link", name="Applications").click()
    page.get_by_role("link", name=app_id).click()
    expect(page.locator("#app-state")).to_have_text("submitted")
    for action, state in (("start-review", "under-review"), ("request-information", "awaiting-applicant"),
                          ("respond", "under-review"), ("approve", "approved")):
        page.get_by_label("Action").select_option(action)
        page.get_by_label("Note").fill(f"console: {action}")
        page.get_by_role("button", name="Apply").click()
        expect(page.locator("#app-state")).to_have_text(state)
        if state == "awaiting-applicant":
            expect(page.get_by_role("cell", name="paused (waiting on the applicant)")).to_be_visible()
            shot(page, shots, "application")
    expect(page.locator(".timeline")).to_contain_text("console: approve")
    licence = server.admin_call("GET", f"/v1/applications/{app_id}").json()["licence"]
    expect(page.get_by_role("link", name=licence)).to_be_visible()
    page.get_by_role("link", name="Applications").click()
    shot(page, shots, "applications")
    page.context.close()


def test_an_entity_scoped_auditor_cannot_see_another_entity(browser, server):
    issued = server.admin_call("POST", "/v1/credentials", json={"scopes": ["auditor:stripe"], "reason": "test",
                                                                 "label": "Stripe's auditor"})
    assert issued.status_code == 201, issued.text
    theirs = server.admin_call("POST", "/v1/decisions", json={**LUNA, "entity": "contoso-bank"}).json()["decision_id"]
    page = sign_in(browser, server, issued.json()["token"])
    expect(page.locator("form.who")).to_contain_text("auditor of stripe, read-only")
    assert page.locator("form[method=post]").count() == 1  # sign-out only: nothing to change
    page.get_by_role("link", name="Registry").click()
    expect(page.get_by_role("link", name="stripe", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="contoso-bank")).to_have_count(0)
    page.goto(server.base + "/console/registry/entity/contoso-bank")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    page.goto(server.base + f"/console/decisions/{theirs}")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("contoso-bank")
    page.context.close()


def test_keyboard_users_can_skip_to_content_and_see_focus(browser, server):
    page = sign_in(browser, server, server.admin)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    assert skip.bounding_box()["x"] >= 0  # shown on focus, not left off-screen
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    outline = page.evaluate("() => { const a = document.querySelector('nav a'); a.focus(); "
                            "return getComputedStyle(a).outlineStyle; }")
    assert outline != "none"
    unlabelled = "() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]" \
                 ".filter(e => e.labels.length === 0).map(e => e.name)"
    for path in ("/console", "/console/decisions", "/console/registry?tab=keys", "/console/registry/authorization/annex-a",
                 "/console/screening", "/console/applications", "/console/audit", "/console/evals", "/console/login"):
        page.goto(server.base + path)
        assert page.evaluate(unlabelled) == [], path
        assert page.locator("h1").count() == 1, path
    page.context.close()


def test_main_pages_at_phone_width(browser, server, shots):
    page = sign_in(browser, server, server.admin, width=390)
    for path, name in (("/console", "dashboard-phone"), ("/console/registry", "registry-phone")):
        page.goto(server.base + path)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390 + 1, f"{path} scrolls sideways at phone width ({width} px)"
        shot(page, shots, name)
    page.context.close()
    wide = sign_in(browser, server, server.admin)
    for path, name in (("/console/registry", "registry"), ("/console/evals", "evals"), ("/console/criteria", "criteria")):
        wide.goto(server.base + path)
        shot(wide, shots, name)
    wide.context.close()
