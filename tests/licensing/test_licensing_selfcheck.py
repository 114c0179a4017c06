"""A self-check is the core's own verdict for every prospective user, with every requirement listed."""

from __future__ import annotations

import itertools

import pytest

from clearance import decide_json
from clearance.core.instant import format_instant, parse_instant
from clearance.licensing.record import InputError, Prospect, parse
from clearance.licensing.selfcheck import self_check

USERS = [
    {"citizenships": ["US"], "location": "US"},
    {"citizenships": ["IN"], "location": "US"},
    {"citizenships": ["JP"], "location": "JP"},
    {"citizenships": ["IR"], "location": "US"},
    {"citizenships": ["CN"], "location": "CN"},
    {"citizenships": ["US"], "location": "DE"},
    {"citizenships": ["FR"], "permanent_residency": "CA", "location": "CA"},
]
INSTANTS = ["2026-06-20T12:00:00Z", "2026-06-28T12:00:00Z", "2026-07-21T12:00:00Z", "2026-10-15T12:00:00Z"]


def _key(person):
    return repr(sorted(person.items()))


@pytest.mark.parametrize("when", INSTANTS)
def test_every_scenario_entity_matches_decide_for_its_employees(example_snapshot, when):
    at = int(parse_instant(when))
    p = example_snapshot.policy
    models = [m.id for m in p.models]
    use_cases = sorted(example_snapshot.use_cases)
    for entity in p.entities:
        prospect = Prospect(organization=entity.id, models=models, use_cases=use_cases, users=USERS)
        result = self_check(example_snapshot, prospect, at)
        cells = {(c["model"], c["use_case"], _key(c["person"])): c for c in result["cells"]}
        assert len(cells) == len(models) * len(use_cases) * len(USERS)
        for model, use_case, user in itertools.product(models, use_cases, USERS):
            person = {"citizenships": [], "permanent_residency": None, "deemed_country": None, **user}
            request = {"model": model, "entity": entity.id, "use_case": use_case, "person": user, "at": when}
            expected = decide_json(example_snapshot, request).to_dict()
            cell = cells[(model, use_case, _key(person))]
            got = {k: cell[k] for k in ("outcome", "code", "authorization", "remedies", "destinations", "reasons")}
            assert got == {k: expected[k] for k in got}, (entity.id, model, use_case, user)
            statuses = {r["status"] for r in cell["rows"]}
            # The rows explain the verdict: a permit has no failing requirement, a deny or review has one.
            assert (cell["outcome"] == "permit") == statuses.isdisjoint({"fail", "review"})
            row_remedies = [rem for r in cell["rows"] for rem in r["remedies"]]
            assert all(rem in row_remedies for rem in cell["remedies"])


def test_summary_lists_every_missing_item_with_its_remedy(example_snapshot):
    at = int(parse_instant("2026-07-21T12:00:00Z"))
    prospect = Prospect(organization="northwind", models=["mythos-5"], use_cases=["research"], users=USERS[:2])
    result = self_check(example_snapshot, prospect, at)
    failing = {r["id"]: r["remedies"] for r in result["requirements"] if r["status"] == "fail"}
    assert failing == {
        "qualification:frontier-entity-qualification:cmmc_level": [{"code": "obtain-cmmc-level", "level": 3}],
        "qualification:frontier-entity-qualification:audit_access": [{"code": "grant-audit-access"}],
    }
    assert result["outcome"] == "not-possible"
    what_if = Prospect.model_validate(
        {**prospect.model_dump(), "organization": {"id": "northwind", "facts": {"cmmc_level": 3, "audit_access": True}}}
    )
    fixed = self_check(example_snapshot, what_if, at)
    assert fixed["outcome"] == "permitted" and fixed["organization"]["registered"] is False
    assert {c["authorization"] for c in fixed["cells"]} == {"annex-a"}


def test_a_described_organization_claims_no_designation(example_snapshot):
    at = int(parse_instant("2026-07-21T12:00:00Z"))
    org = {"id": "acme", "name": "Acme", "country": "US", "kind": "government",
           "facts": {"cmmc_level": 3, "conduct_commitment": True, "audit_access": True}}
    prospect = parse(Prospect, {"organization": org, "models": ["mythos-5"], "use_cases": ["research"], "users": [USERS[0]]})
    result = self_check(example_snapshot, prospect, at)
    assert result["outcome"] == "licence-needed"
    assert [c["code"] for c in result["cells"]] == ["license-required"]
    with pytest.raises(InputError, match=r"organization.designations: unknown field"):
        parse(Prospect, {**prospect.model_dump(), "organization": {**org, "designations": ["annex-a"]}})
    with pytest.raises(InputError, match=r"organization.country: missing"):
        self_check(example_snapshot, Prospect.model_validate({**prospect.model_dump(), "organization": {"id": "acme", "kind": "x"}}), at)


def test_malformed_prospects_name_the_field(example_snapshot):
    at = int(parse_instant("2026-07-21T12:00:00Z"))
    with pytest.raises(InputError) as exc:
        parse(Prospect, {"organization": "stripe", "models": [], "use_cases": ["research"], "users": [{"location": "XX"}]})
    assert "models: List should have at least 1 item after validation, not 0" in exc.value.problems
    assert any(p.startswith("users[0].location:") for p in exc.value.problems)
    odd = Prospect(organization="stripe", models=["mythos-5", "nope"], use_cases=["poetry"], users=[{"citizenships": [], "location": "US"}])
    with pytest.raises(InputError) as exc:
        self_check(example_snapshot, odd, at)
    assert exc.value.problems == [
        "models[1]: unknown model `nope`",
        "use_cases[0]: unknown use case `poetry`",
        "users[0]: a foreign person needs citizenships, permanent_residency or deemed_country",
    ]
    with pytest.raises(InputError, match="organization: unknown entity `nobody`"):
        self_check(example_snapshot, Prospect(organization="nobody", models=["mythos-5"], use_cases=["research"], users=USERS[:1]), at)
    assert format_instant(at) == self_check(example_snapshot, Prospect(organization="stripe", models=["open-7b"], use_cases=["research"], users=USERS[:1]), at)["at"]
