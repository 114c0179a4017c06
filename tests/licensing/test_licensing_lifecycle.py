"""An application from submission to appeal: clocks, pauses, audit, and the licence it issues."""

from __future__ import annotations

import pytest

from clearance import decide_json
from clearance.licensing.applications import TransitionRefused
from clearance.licensing.record import InputError

US_PERSON = {"citizenships": ["US"], "location": "US", "label": "US staff"}
LUNA_APP = {
    "entity": "stripe",
    "models": ["gpt-5.6-luna"],
    "use_cases": ["general"],
    "users": [US_PERSON],
    "justification": "internal code assistant",
}


def clock_of(view, name):
    return next(c for c in view["clocks"] if c["name"] == name)


def luna_request(world):
    from clearance.core.instant import format_instant

    return {
        "model": "gpt-5.6-luna",
        "entity": "stripe",
        "use_case": "general",
        "person": {"citizenships": ["US"], "location": "US"},
        "at": format_instant(world.clock.now_ns()),
    }


def test_full_lifecycle_with_appeal_and_paused_clocks(world):
    lic = world.licensing
    view = lic.submit(LUNA_APP, "entity:stripe", app_id="APP-1")
    assert view["state"] == "submitted"
    assert view["assessment"]["recommendation"] == "approve"
    assert [r["id"] for r in view["assessment"]["requirements"] if r["status"] == "fail"] == ["authorization"]
    assert clock_of(view, "first-action")["status"] == "running"

    world.days(2)
    view = lic.act("APP-1", "assign", "admin", {"reviewer": "rev-1"})
    assert view["reviewer"] == "rev-1" and view["state"] == "submitted"
    view = lic.act("APP-1", "start-review", "rev-1")
    assert clock_of(view, "first-action")["status"] == "met"

    world.days(3)
    view = lic.act("APP-1", "request-information", "rev-1", {"note": "how many users?"})
    resolution = clock_of(view, "resolution")
    assert view["state"] == "awaiting-applicant" and resolution["status"] == "paused"
    assert resolution["counted_days"] == 5

    world.days(30)  # waiting on the applicant does not count
    assert clock_of(lic.view("APP-1"), "resolution")["counted_days"] == 5
    view = lic.act("APP-1", "respond", "entity:stripe", {"note": "forty engineers"}, party="applicant")
    assert view["state"] == "under-review" and clock_of(view, "resolution")["status"] == "running"

    world.days(4)
    view = lic.act("APP-1", "intend-to-deny", "rev-1", {"criteria": ["authorization"], "note": "scope too broad"})
    assert view["state"] == "intent-to-deny"
    assert view["basis"]["criteria"][0]["id"] == "authorization"
    assert view["basis"]["would_change"] == [{"code": "apply-for-license"}]
    assert clock_of(view, "resolution")["status"] == "paused"
    assert clock_of(view, "applicant-response")["status"] == "running"

    with pytest.raises(TransitionRefused, match="20 days"):
        lic.act("APP-1", "deny", "rev-1")
    world.days(21)
    assert clock_of(lic.view("APP-1"), "applicant-response")["status"] == "lapsed"
    assert clock_of(lic.view("APP-1"), "resolution")["counted_days"] == 9
    view = lic.act("APP-1", "deny", "rev-1", {"criteria": ["authorization"]})
    assert view["state"] == "denied" and clock_of(view, "resolution")["status"] == "met"
    assert clock_of(view, "appeal-window")["status"] == "running"

    world.days(10)
    view = lic.act("APP-1", "appeal", "entity:stripe", {"note": "the use is internal"}, party="applicant")
    assert view["state"] == "appealed"
    appeal = clock_of(view, "appeal-decision")
    assert appeal["days"] is None and appeal["due"] is None  # no fixed deadline (756.2)
    assert decide_json(world.live.current(), luna_request(world)).code == "license-required"

    world.days(5)
    view = lic.act("APP-1", "reverse", "under-secretary", {"conditions": [{"code": "monitoring"}]})
    assert view["state"] == "reversed" and view["licence"] == "LIC-APP-1"
    decision = decide_json(world.live.current(), luna_request(world))
    assert (decision.outcome, decision.code, decision.authorization) == ("permit", "authorized", "LIC-APP-1")
    assert [o.to_dict() for o in decision.obligations] == [{"code": "monitoring"}]

    versions = lic.versions("APP-1")
    states = [v.body["state"] for v in versions]
    assert states == [
        "submitted", "submitted", "under-review", "awaiting-applicant", "under-review",
        "intent-to-deny", "denied", "appealed", "reversed",
    ]
    audited = world.audit.store.query(kinds=["licensing"], entity="stripe")
    assert [(r.body["action"], r.body["from"], r.body["to"]) for r in audited] == [
        ("submit", None, "submitted"), ("assign", "submitted", "submitted"), ("start-review", "submitted", "under-review"),
        ("request-information", "under-review", "awaiting-applicant"), ("respond", "awaiting-applicant", "under-review"),
        ("intend-to-deny", "under-review", "intent-to-deny"), ("deny", "intent-to-deny", "denied"),
        ("appeal", "denied", "appealed"), ("reverse", "appealed", "reversed"),
    ]
    assert all(r.body["registry_seq"] == v.seq for r, v in zip(audited, versions, strict=True))


def test_approval_permits_the_next_request_without_a_restart(world):
    lic = world.licensing
    assert decide_json(world.live.current(), luna_request(world)).code == "license-required"
    lic.submit(LUNA_APP, "entity:stripe", app_id="APP-2")
    view = lic.act("APP-2", "approve", "rev-1")
    assert view["state"] == "approved"
    licence = world.registry.history("authorization", "LIC-APP-2")[-1].body
    assert licence["covers"] == {"entities": ["stripe"]}
    assert licence["destinations"] == {"deemed": {"countries": []}, "location": {"countries": []}}
    assert decide_json(world.live.current(), luna_request(world)).authorization == "LIC-APP-2"


def test_a_licence_covers_exactly_the_users_applied_for(world):
    app = {**LUNA_APP, "users": [US_PERSON, {"citizenships": ["IN"], "location": "US"}]}
    world.licensing.submit(app, "entity:stripe", app_id="APP-3")
    world.licensing.act("APP-3", "approve", "rev-1")
    request = luna_request(world)
    indian = {**request, "person": {"citizenships": ["IN"], "location": "US"}}
    brazilian = {**request, "person": {"citizenships": ["BR"], "location": "US"}}
    assert decide_json(world.live.current(), indian).outcome == "permit"
    assert decide_json(world.live.current(), brazilian).code == "destination-not-authorized"


def test_a_licence_never_names_an_embargoed_destination(world):
    app = {**LUNA_APP, "users": [US_PERSON, {"citizenships": ["IR"], "location": "US"}]}
    view = world.licensing.submit(app, "entity:stripe", app_id="APP-8")
    assert view["assessment"]["recommendation"] == "deny"
    world.licensing.act("APP-8", "approve", "rev-1")
    licence = world.registry.history("authorization", "LIC-APP-8")[-1].body
    assert licence["destinations"]["deemed"]["countries"] == []


def test_appeal_after_its_window_is_refused_and_unanswered_intents_become_final(world):
    lic = world.licensing
    lic.submit(LUNA_APP, "entity:stripe", app_id="APP-4")
    lic.act("APP-4", "intend-to-deny", "rev-1")
    world.days(44)
    assert lic.sweep() == []
    world.days(2)
    assert lic.sweep() == ["APP-4"]
    assert lic.view("APP-4")["state"] == "denied"
    world.days(46)
    with pytest.raises(TransitionRefused, match="appeal window has closed"):
        lic.act("APP-4", "appeal", "entity:stripe", party="applicant")


def test_refusals_name_the_problem_and_store_nothing(world):
    lic = world.licensing
    with pytest.raises(InputError) as bad:
        lic.submit({**LUNA_APP, "models": ["gpt-9"], "users": [{"citizenships": ["ZZ"], "location": "US"}]}, "x")
    assert any(p.startswith("users[0].citizenships[0]:") for p in bad.value.problems)
    with pytest.raises(InputError, match=r"models\[0\]: unknown model `gpt-9`"):
        lic.submit({**LUNA_APP, "models": ["gpt-9"]}, "x")
    with pytest.raises(InputError, match="justification: missing"):
        lic.submit({k: v for k, v in LUNA_APP.items() if k != "justification"}, "x")
    assert lic.all() == {}
    lic.submit(LUNA_APP, "entity:stripe", app_id="APP-5")
    with pytest.raises(TransitionRefused, match="not allowed in state `submitted`"):
        lic.act("APP-5", "appeal", "entity:stripe")
    with pytest.raises(TransitionRefused, match="reviewer's action"):
        lic.act("APP-5", "approve", "entity:stripe", party="applicant")
    with pytest.raises(TransitionRefused, match="intent-to-deny notice first"):
        lic.act("APP-5", "start-review", "rev") and lic.act("APP-5", "deny", "rev")
    with pytest.raises(TransitionRefused, match=r"criteria\[0\]: `nope`"):
        lic.act("APP-5", "intend-to-deny", "rev", {"criteria": ["nope"]})
    assert len(lic.versions("APP-5")) == 2


def test_due_lists_overdue_and_due_soon_reviewer_deadlines(world):
    lic = world.licensing
    lic.submit(LUNA_APP, "entity:stripe", app_id="APP-6")
    world.days(3)
    lic.submit(LUNA_APP, "entity:stripe", app_id="APP-7")
    due = lic.due()
    # 9 days for a first action; "due soon" is the bundle default of 7 days or less.
    assert [(d["application"], d["name"], d["remaining_days"]) for d in due["due_soon"]] == [("APP-6", "first-action", 6)]
    assert due["overdue"] == []
    world.days(7)
    due = lic.due()
    assert [(d["application"], d["remaining_days"]) for d in due["overdue"]] == [("APP-6", -1)]
    assert [(d["application"], d["remaining_days"]) for d in due["due_soon"]] == [("APP-7", 2)]
    lic.act("APP-6", "start-review", "rev")
    assert lic.due()["overdue"] == []


def test_the_registry_refuses_a_malformed_application_version(world):
    from clearance.registry.service import WriteRejected

    with pytest.raises(WriteRejected) as exc:
        world.registry.put("application", "APP-X", {"entity": "stripe", "state": "granted"}, reason="test")
    problems = exc.value.problems
    assert "application `APP-X`: state: Input should be 'submitted', 'under-review', 'awaiting-applicant', 'intent-to-deny', 'approved', 'denied', 'appealed', 'upheld', 'reversed' or 'withdrawn'" in problems
    assert any(p.startswith("application `APP-X`: models:") for p in problems)
    assert world.registry.history("application", "APP-X") == []
