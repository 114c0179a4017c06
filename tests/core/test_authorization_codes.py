"""The deny codes of step 8 where a suspension meets another miss, and country codes that do not exist."""

from __future__ import annotations

import pytest

from clearance import decide_json


def request(entity: str, use_case: str, citizenships: list[str], location: str, at: str) -> dict:
    return {
        "model": "mythos-5",
        "entity": entity,
        "use_case": use_case,
        "person": {"citizenships": citizenships, "location": location},
        "at": at,
    }


AFTER_SUSPENSION = "2026-08-01T00:00:00Z"


@pytest.mark.parametrize(
    ("use_case", "citizenships", "code"),
    [
        ("general", ["JP"], "use-case-not-authorized"),
        ("research", ["IN"], "destination-not-authorized"),
        ("research", ["JP"], "authorization-suspended"),
    ],
)
def test_a_suspended_authorization_still_reports_the_specific_miss(example_snapshot, use_case, citizenships, code):
    decision = decide_json(example_snapshot, request("preferred-networks", use_case, citizenships, "JP", AFTER_SUSPENSION))
    assert (decision.outcome, decision.code) == ("deny", code)
    remedies = [r.code for r in decision.remedies]
    assert "lift-suspension" in remedies, "the suspension stands in the way too, so lifting it is part of the remedy"
    if code != "authorization-suspended":
        assert "apply-for-license" in remedies


def test_before_the_suspension_the_same_use_case_miss_has_only_the_licence_remedy(example_snapshot):
    decision = decide_json(example_snapshot, request("preferred-networks", "general", ["JP"], "JP", "2026-07-01T00:00:00Z"))
    assert decision.code == "use-case-not-authorized"
    assert [r.code for r in decision.remedies] == ["apply-for-license"]


@pytest.mark.parametrize(("field", "person"), [
    ("person.citizenships[0]", {"citizenships": ["ZZ"], "location": "US"}),
    ("person.location", {"citizenships": ["US"], "location": "QQ"}),
    ("person.permanent_residency", {"citizenships": ["FR"], "permanent_residency": "XA", "location": "US"}),
])
def test_an_unassigned_country_code_is_invalid_not_some_other_country(example_snapshot, field, person):
    decision = decide_json(example_snapshot, dict(request("stripe", "research", [], "US", "2026-07-01T00:00:00Z"), person=person))
    assert (decision.outcome, decision.code) == ("deny", "invalid-request")
    assert field in decision.reasons[0].message


def test_kosovo_user_assigned_code_is_accepted(example_snapshot):
    decision = decide_json(example_snapshot, request("stripe", "research", ["XK"], "US", "2026-07-01T00:00:00Z"))
    assert (decision.code, decision.destinations) == ("authorized", ("XK",))


@pytest.mark.parametrize("offset", ["+09", "+0900", "+09:00"])
def test_hour_only_and_compact_offsets_mean_the_same_instant(example_snapshot, offset):
    decision = decide_json(example_snapshot, request("stripe", "research", ["US"], "US", f"2026-07-01T09:00:00{offset}"))
    assert decision.to_dict()["at"] == "2026-07-01T00:00:00Z"
