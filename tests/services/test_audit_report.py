"""The quarterly report counts exactly what the log holds for one entity and one quarter."""

from __future__ import annotations

import pytest

from clearance.audit.heads import SignedTreeHead, verify_head
from clearance.audit.keys import KeyRing
from clearance.core.instant import parse_instant
from clearance.services.audit_log import AuditLog
from clearance.services.audit_report import ReportError, quarter, quarter_report
from clearance.services.report_html import render_html
from clearance.store.audit_memory import MemoryAuditStore
from clearance.store.clock import FixedClock


def ns(text: str) -> int:
    return int(parse_instant(text))


def decision(entity: str, model: str, use_case: str, outcome: str, code: str, authorization: str | None = None):
    return {"request": {"entity": entity, "model": model, "use_case": use_case, "person": {"id": "p"}},
            "decision": {"outcome": outcome, "code": code, "authorization": authorization}}


@pytest.fixture
def log(tmp_path):
    audit = AuditLog(MemoryAuditStore(), KeyRing.create(tmp_path / "keys"), FixedClock(ns("2026-10-02T00:00:00Z")))
    yield audit
    audit.close()


def test_quarters_are_utc_calendar_quarters():
    q3 = quarter("2026Q3")
    assert (q3.start_ns, q3.end_ns) == (ns("2026-07-01T00:00:00Z"), ns("2026-10-01T00:00:00Z"))
    q4 = quarter("2026-q4")
    assert (q4.start_ns, q4.end_ns) == (ns("2026-10-01T00:00:00Z"), ns("2027-01-01T00:00:00Z"))
    for bad in ("2026Q5", "Q3", "2026-07"):
        with pytest.raises(ReportError, match="quarter"):
            quarter(bad)


def test_the_report_counts_usage_refusals_caps_and_events_of_one_entity_and_quarter(log):
    inside, before, after = ns("2026-08-01T12:00:00Z"), ns("2026-06-30T23:59:59Z"), ns("2026-10-01T00:00:00Z")
    for _ in range(3):
        log.append("decision", decision("stripe", "mythos-5", "software-engineering", "permit", "authorized", "annex-a"), inside)
    log.append("decision", decision("stripe", "mythos-5", "weapons", "deny", "prohibited-use"), inside)
    log.append("decision", decision("stripe", "mythos-5", "general", "review", "pending-review"), inside)
    log.append("decision", decision("huawei", "mythos-5", "general", "deny", "restricted-party"), inside)
    log.append("decision", decision("stripe", "mythos-5", "general", "deny", "license-required"), before)
    log.append("decision", decision("stripe", "mythos-5", "general", "deny", "license-required"), after)
    log.append("completion", {"entity": "stripe", "model": "mythos-5", "use_case": "software-engineering",
                              "authorization": "annex-a", "usage": {"prompt_tokens": 10, "completion_tokens": 30}}, inside)
    log.append("completion", {"entity": "stripe", "model": "mythos-5", "use_case": "software-engineering",
                              "authorization": "annex-a", "usage": {"total_tokens": 60}}, inside)
    log.append("monitoring", {"entity": "stripe", "event": "cap-exceeded", "authorization": "annex-a"}, inside)
    log.append("guardrail", {"entity": "stripe", "event": "prompt-injection"}, inside)

    log.sign_if_grown()  # the writer's schedule: a report only reads the newest head
    report = quarter_report(log, "stripe", "2026Q3")

    assert report["totals"] == {"decisions": 5, "permits": 3, "denials": 1, "reviews": 1, "completions": 2,
                                "tokens": 100, "cap_hits": 1}
    assert report["usage"] == [{"model": "mythos-5", "use_case": "software-engineering", "authorization": "annex-a",
                                "requests": 3, "completions": 2, "tokens": 100}]
    assert report["denials_by_code"] == {"prohibited-use": 1, "pending-review": 1}
    assert report["cap_hits"] == [{"authorization": "annex-a", "day": "2026-08-01", "count": 1}]
    assert report["events"] == {"monitoring": {"cap-exceeded": 1}, "guardrail": {"prompt-injection": 1}}
    assert report["signed_head"]["size"] == 12
    page = render_html(report)
    assert "<svg" in page and "prohibited-use" in page and "huawei" not in page


def test_the_report_names_a_signed_head_that_verifies_and_covers_what_it_counted(log):
    at = ns("2026-08-01T12:00:00Z")
    for _ in range(4):
        log.append("decision", decision("stripe", "m", "u", "deny", "license-required"), at)
    log.sign_if_grown()  # the writer's schedule: a report only reads the newest head
    report = quarter_report(log, "stripe", "2026Q3")
    head = SignedTreeHead.from_dict(report["signed_head"])
    verify_head(head, log.keys.public_keys())
    assert head.size == log.store.size() == report["totals"]["denials"] == 4


def test_permits_under_monitoring_count_as_monitored_and_the_report_names_the_entity_and_policy(log):
    from types import SimpleNamespace

    inside = ns("2026-08-01T12:00:00Z")
    permit = decision("stripe", "mythos-5", "software-engineering", "permit", "authorized", "annex-a")
    permit["decision"].update(obligations=[{"code": "monitoring"}], policy_version="sha256:abc")
    for _ in range(2):
        log.append("decision", permit, inside)
    log.append("decision", decision("stripe", "mythos-5", "weapons", "deny", "prohibited-use"), inside)
    log.sign_if_grown()
    report = quarter_report(log, "stripe", "2026Q3", SimpleNamespace(name="Stripe, Inc.", country="US"))
    assert report["events"]["monitoring"] == {"monitored-permit": 2}
    assert report["policy_versions"] == {"sha256:abc": 2}
    assert (report["entity_name"], report["entity_country"]) == ("Stripe, Inc.", "US")
    page = render_html(report)
    assert "Stripe, Inc. (stripe, US)" in page and "sha256:abc" in page and "monitored-permit" in page
