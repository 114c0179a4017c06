"""Edges of the decision core that the example bundle alone does not reach.

Each test pins a boundary a plausible one-token bug would move: a threshold met exactly,
the latest entry of a timeline (not the first), every embargo group (not only the first),
country groups that include other groups, and the latest entry into a licensing state.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clearance import decide_json, load_policy
from clearance.core.instant import parse_instant
from clearance.core.model import Condition, Tiering, TierRaise, TierRule
from clearance.core.tiers import tier_from_evidence
from clearance.licensing.clocks import DAY, deadlines
from clearance.policy.schema import LicensingSpec

AT = "2026-07-01T10:00:00-04:00"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def foreign(citizenship: str, model: str = "mythos-5", at: str = AT, use_case: str = "software-engineering") -> dict:
    """A Stripe employee in the US whose deemed export goes to ``citizenship``."""
    return {"model": model, "entity": "stripe", "use_case": use_case, "action": "inference", "at": at,
            "person": {"id": "p-edge", "citizenships": [citizenship], "location": "US"}}


# -- tiers: each comparison at its threshold exactly ---------------------------------------------

TIERS = ("T-1", "T-2", "T-3")


def tiering(cond: Condition) -> Tiering:
    return Tiering(TIERS, rules=(TierRule("T-2", (cond,)),))


@pytest.mark.parametrize("cond,value,tier", [
    (Condition("score", at_least=0.5), 0.5, "T-2"),     # met exactly: at least
    (Condition("score", at_least=0.5), 0.49, "T-1"),
    (Condition("score", at_most=0.5), 0.5, "T-2"),      # met exactly: at most
    (Condition("score", at_most=0.5), 0.51, "T-1"),
    (Condition("score", above=0.5), 0.5, "T-1"),        # not above
    (Condition("score", above=0.5), 0.51, "T-2"),
    (Condition("score", below=0.5), 0.5, "T-1"),        # not below
    (Condition("score", below=0.5), 0.49, "T-2"),
    (Condition("score", at_least=3), 3, "T-2"),         # integers too
    (Condition("score", at_least=3), 2, "T-1"),
])
def test_a_tier_threshold_holds_exactly_as_its_comparison_says(cond, value, tier):
    assert tier_from_evidence({"score": value}, tiering(cond)).tier == tier


def test_a_raise_at_its_threshold_lifts_the_tier_and_stops_at_the_top():
    t = Tiering(TIERS, rules=(TierRule("T-2", (Condition("a", equals="x"),)),),
                raises=(TierRaise("robustness", 1, (Condition("jail", at_least=0.1),)),))
    assert tier_from_evidence({"a": "x", "jail": 0.1}, t).tier == "T-3"
    assert tier_from_evidence({"a": "x", "jail": 0.09}, t).tier == "T-2"
    top = Tiering(TIERS, rules=(TierRule("T-3", (Condition("a", equals="x"),)),),
                  raises=(TierRaise("robustness", 2, (Condition("jail", at_least=0.1),)),))
    assert tier_from_evidence({"a": "x", "jail": 0.5}, top).tier == "T-3"


def test_the_example_bundles_raise_applies_at_its_threshold_in_a_real_bundle(bundle_dir):
    # Fable 5 is S-3 from its evidence; a jailbreak success rate just above 0.10 lifts it to S-4.
    edit(bundle_dir / "models.yaml", "capabilities: {system-penetration: primitives}\n  - id: gpt-5.6-sol",
         "capabilities: {system-penetration: primitives}\n      guardrails: {harmful_refusal_rate_lower: 0.90}\n"
         "  - id: gpt-5.6-sol")
    assert load_policy(bundle_dir).models["fable-5"].tier == "S-3"  # 0.90 is not below 0.90
    edit(bundle_dir / "models.yaml", "harmful_refusal_rate_lower: 0.90", "harmful_refusal_rate_lower: 0.89")
    assert load_policy(bundle_dir).models["fable-5"].tier == "S-4"


# -- model control timelines: the latest entry in force wins --------------------------------------

TIMELINE_MODEL = """\
  - id: edge-9
    name: Edge 9
    evidence: {}
    controls:
      - {id: edge-control, at: 2026-07-01T00:00:00Z, state: controlled}
      - {id: edge-suspend, at: 2026-08-01T00:00:00Z, state: suspended}
      - {id: edge-release, at: 2026-09-01T00:00:00Z, state: not-controlled}
"""


def test_a_models_state_is_its_latest_timeline_entry_in_force(bundle_dir):
    edit(bundle_dir / "models.yaml", "  - id: open-7b\n", TIMELINE_MODEL + "  - id: open-7b\n")
    policy = load_policy(bundle_dir)

    def code(at: str) -> str:
        return decide_json(policy, foreign("US", model="edge-9", at=at)).code

    assert code("2026-06-30T23:59:59Z") == "not-controlled"
    controlled = code("2026-07-15T00:00:00Z")
    assert controlled not in ("not-controlled", "model-suspended")
    assert code("2026-08-01T00:00:00Z") == "model-suspended"   # on the instant of the second entry
    assert code("2026-08-31T23:59:59Z") == "model-suspended"
    assert code("2026-09-01T00:00:00Z") == "not-controlled"    # the third entry, not the first
    assert code("2027-03-01T00:00:00Z") == "not-controlled"


# -- embargo groups: every one counts, and a group's includes count ------------------------------

@pytest.mark.parametrize("groups", ["[embargoed, sanctioned]", "[sanctioned, embargoed]"])
def test_every_embargo_group_embargoes_its_countries(bundle_dir, groups):
    edit(bundle_dir / "countries.yaml", "country_groups:\n",
         "country_groups:\n  - id: sanctioned\n    name: Sanctioned by a later order\n    countries: [VE]\n")
    edit(bundle_dir / "policy.yaml", "embargo_groups: [embargoed]", f"embargo_groups: {groups}")
    policy = load_policy(bundle_dir)
    for country in ("IR", "VE"):
        decision = decide_json(policy, foreign(country))
        assert (decision.outcome, decision.code) == ("deny", "destination-embargoed"), country
    assert decide_json(policy, foreign("IN")).code == "authorized"


def test_a_country_group_includes_the_countries_of_the_groups_it_includes(bundle_dir):
    # `concern` lists CN, MO, RU, BY, VE and includes `embargoed` (CU, IR, KP, SY).
    edit(bundle_dir / "policy.yaml", "embargo_groups: [embargoed]", "embargo_groups: [concern]")
    policy = load_policy(bundle_dir)
    assert policy.groups["concern"] >= policy.groups["embargoed"] | {"CN", "RU"}
    for country in ("IR", "KP", "CN"):
        decision = decide_json(policy, foreign(country))
        assert (decision.outcome, decision.code) == ("deny", "destination-embargoed"), country


def test_a_group_included_two_levels_down_counts_too(bundle_dir):
    edit(bundle_dir / "countries.yaml", "country_groups:\n",
         "country_groups:\n  - id: outer\n    name: Outer\n    countries: [AQ]\n    includes: [concern]\n")
    edit(bundle_dir / "policy.yaml", "embargo_groups: [embargoed]", "embargo_groups: [outer]")
    policy = load_policy(bundle_dir)
    assert {"AQ", "CN", "IR"} <= policy.groups["outer"]
    assert decide_json(policy, foreign("SY")).code == "destination-embargoed"


# -- licensing clocks: an episode runs from the latest entry into its state -----------------------

def test_an_episode_deadline_runs_from_the_latest_entry_into_its_state():
    t0 = int(parse_instant("2026-07-01T00:00:00Z"))
    history = [(t0, "submitted"), (t0 + 2 * DAY, "awaiting-applicant"), (t0 + 5 * DAY, "under-review"),
               (t0 + 9 * DAY, "awaiting-applicant")]
    settings = LicensingSpec(information_response_days=10)
    now = t0 + 12 * DAY
    (clock,) = [d for d in deadlines(history, settings, now) if d.name == "information-response"]
    assert clock.started == t0 + 9 * DAY and clock.ended is None
    # 7 days left of 10 is exactly the bundle's default due-soon window.
    assert clock.counted_ns == 3 * DAY and clock.status == "due-soon" and clock.due == t0 + 19 * DAY
    # Once answered, the latest episode is the one that ended.
    answered = [*history, (t0 + 11 * DAY, "under-review")]
    (clock,) = [d for d in deadlines(answered, settings, now) if d.name == "information-response"]
    assert clock.started == t0 + 9 * DAY and clock.ended == t0 + 11 * DAY and clock.status == "met"


def test_an_applicant_window_reopened_is_judged_on_the_reopening():
    t0 = int(parse_instant("2026-07-01T00:00:00Z"))
    settings = LicensingSpec(response_days=20)
    # Intent to deny, answered, then a second intent to deny 30 days later: the first window
    # would have lapsed long ago, the second is still open.
    history = [(t0, "submitted"), (t0 + DAY, "intent-to-deny"), (t0 + 5 * DAY, "under-review"),
               (t0 + 40 * DAY, "intent-to-deny")]
    (clock,) = [d for d in deadlines(history, settings, t0 + 45 * DAY) if d.name == "applicant-response"]
    assert clock.started == t0 + 40 * DAY and clock.counted_ns == 5 * DAY and clock.status == "running"


# -- authorization coverage: the developer is covered only where an authorization says so ----------

STRIPE_ONLY_LICENCE = """
  - id: LIC-EDGE-STRIPE
    kind: individual-licence
    title: Mythos 5 for medical diagnostics, to Stripe only
    models: [mythos-5]
    valid: {from: 2026-06-27T00:00:00-04:00}
    covers: {entities: [stripe]}
    use_cases: {use_cases: [medical-diagnostics]}
"""


def test_a_licence_naming_other_entities_does_not_cover_the_models_developer(bundle_dir):
    with (bundle_dir / "authorizations.yaml").open("a", encoding="utf-8") as f:
        f.write(STRIPE_ONLY_LICENCE)
    policy = load_policy(bundle_dir)
    ask = {"model": "mythos-5", "use_case": "medical-diagnostics", "action": "inference", "at": AT,
           "person": {"id": "p-dev", "citizenships": ["US"], "location": "US"}}
    stripe = decide_json(policy, {**ask, "entity": "stripe"})
    assert (stripe.outcome, stripe.authorization) == ("permit", "LIC-EDGE-STRIPE")
    developer = decide_json(policy, {**ask, "entity": "anthropic"})  # Mythos 5's developer
    assert developer.outcome == "deny" and developer.authorization is None


# -- the decision API: traced or not, cached or not, the same answer ----------------------------------

def test_a_traced_decision_carries_its_rule_chain_and_the_same_answer(example_snapshot):
    from clearance.core.decide import decide, decide_uncached
    from clearance.core.request import parse_request

    request = parse_request(foreign("IN"))
    plain, traced = decide(example_snapshot, request), decide(example_snapshot, request, trace=True)
    assert plain.steps == ()  # the chain only when asked for
    assert [(s.name, s.status) for s in traced.steps] == [
        (step, "pass") for step in ("identity", "restricted-party", "control", "use-case", "destinations",
                                    "qualification", "authorization")]
    assert traced.to_dict() == plain.to_dict() == decide_uncached(example_snapshot, request).to_dict()
    shown = traced.to_dict(trace=True)
    assert [s["step"] for s in shown["steps"]][-1] == "authorization" and len(shown["steps"]) == 7
    assert shown["checks"] and "steps" not in plain.to_dict()
    assert decide_json(example_snapshot, foreign("IN")).steps == ()
    assert decide_json(example_snapshot, foreign("IN"), trace=True).steps


def test_a_decision_says_whether_it_permits_and_compares_by_value(example_snapshot):
    permit, deny = decide_json(example_snapshot, foreign("IN")), decide_json(example_snapshot, foreign("IR"))
    assert permit.permitted is True and deny.permitted is False
    assert permit == decide_json(example_snapshot, foreign("IN")) and permit != deny
    assert permit != "permit" and hash(permit) == hash(decide_json(example_snapshot, foreign("IN")))


def test_a_permit_without_a_message_of_its_own_names_the_authorizations_title(example_snapshot):
    request = {"model": "mythos-5", "entity": "vector-institute", "use_case": "research", "action": "inference",
               "at": AT, "person": {"id": "p-ca", "citizenships": ["CA"], "location": "CA"}}
    decision = decide_json(example_snapshot, request)
    assert decision.authorization == "trusted-foreign-research"
    assert decision.reasons[0].message.startswith("Trusted foreign research access to Mythos 5 (conditional-access)")


def test_under_the_all_rule_every_citizenship_and_residency_is_a_destination_and_nothing_else(bundle_dir):
    edit(bundle_dir / "policy.yaml", "deemed_export: most-recent", "deemed_export: all")
    policy = load_policy(bundle_dir)
    person = {"id": "p-all", "citizenships": ["IN", "FR"], "permanent_residency": "GB", "location": "US"}
    decision = decide_json(policy, {**foreign("IN"), "person": person})
    assert decision.to_dict()["destinations"] == ["IN", "FR", "GB"]
    named = decide_json(policy, {**foreign("IN"), "person": {**person, "deemed_country": "JP"}})
    assert named.to_dict()["destinations"] == ["IN", "FR", "GB", "JP"]


def test_a_waived_qualification_says_which_rule_waived_it(example_snapshot):
    request = {"model": "mythos-5", "entity": "nsa", "use_case": "cyber-defense", "action": "inference", "at": AT,
               "person": {"id": "p-gov", "citizenships": ["US"], "location": "US"}}
    decision = decide_json(example_snapshot, request, trace=True)
    (step,) = [s for s in decision.steps if s.name == "qualification"]
    assert step.status == "pass" and "by designation under frontier-entity-qualification" in step.message


def test_a_tier_finding_says_which_evidence_gave_it():
    t = Tiering(TIERS, rules=(TierRule("T-2", (Condition("a", equals="x"), Condition("score", at_least=0.5))),),
                raises=(TierRaise("robustness", 1, (Condition("jail", above=0.1),)),))
    assert tier_from_evidence({"score": 0.5}, t).because == ("T-2: score = 0.5",)
    assert tier_from_evidence({"score": 0.7, "jail": 0.2}, t).because == ("T-2: score = 0.7", "robustness: jail = 0.2")
    assert tier_from_evidence({}, t).because == ()


@pytest.mark.parametrize("value", ["high", True, None, [1]])
def test_a_numeric_threshold_never_holds_for_evidence_that_is_not_a_number(value):
    for cond in (Condition("score", above=0.5), Condition("score", at_least=0.5), Condition("score", below=0.5),
                 Condition("score", at_most=0.5)):
        assert tier_from_evidence({"score": value}, tiering(cond)).tier == "T-1"


@pytest.mark.parametrize("field", ["model", "entity", "use_case"])
def test_a_missing_identifier_is_named_as_missing(example_snapshot, field):
    request = {k: v for k, v in foreign("IN").items() if k != field}
    decision = decide_json(example_snapshot, request)
    assert (decision.code, decision.reasons[0].message) == ("invalid-request", f"{field}: missing")


# -- a restricted person never shares a verdict remembered for someone else --------------------------

RESTRICTED_PERSON = """
persons:
  - id: p-listed
    restriction: {status: listed, list: BIS Entity List, reference: EL-test, reason: named on the list}
"""


def test_a_restricted_person_is_refused_even_after_the_same_request_was_permitted_for_another(bundle_dir):
    (bundle_dir / "persons.yaml").write_text(RESTRICTED_PERSON, encoding="utf-8")
    policy = load_policy(bundle_dir)
    ask = foreign("IN")
    assert decide_json(policy, ask).code == "authorized"  # remembered by its facts
    listed = decide_json(policy, {**ask, "person": {**ask["person"], "id": "p-listed"}})
    assert (listed.outcome, listed.code) == ("deny", "restricted-party")
    assert decide_json(policy, ask).code == "authorized"


@pytest.mark.parametrize("waiver", ["{kinds: [government]}", "{designations: [annex-a]}"])
def test_a_waiver_naming_only_kinds_or_only_designations_applies(bundle_dir, waiver):
    edit(bundle_dir / "policy.yaml", "{kinds: [government], designations: [annex-a]}", waiver)
    policy = load_policy(bundle_dir)
    request = {"model": "mythos-5", "entity": "nsa", "use_case": "cyber-defense", "action": "inference", "at": AT,
               "person": {"id": "p-gov", "citizenships": ["US"], "location": "US"}}
    (step,) = [s for s in decide_json(policy, request, trace=True).steps if s.name == "qualification"]
    assert "by designation under frontier-entity-qualification" in step.message


def test_a_model_below_the_qualified_tiers_passes_qualification_in_the_trace(example_snapshot):
    request = {"model": "gpt-5.6-terra", "entity": "contoso-bank", "use_case": "financial-risk-management",
               "action": "inference", "at": AT, "person": {"id": "p-s2", "citizenships": ["US"], "location": "US"}}
    decision = decide_json(example_snapshot, request, trace=True)
    assert decision.code == "authorized"
    (step,) = [s for s in decision.steps if s.name == "qualification"]
    assert step.status == "pass"



def test_each_authorization_that_did_not_cover_says_on_what_it_failed(example_snapshot):
    request = {"model": "mythos-5", "entity": "amazon", "use_case": "financial-risk-management",
               "action": "inference", "at": "2026-06-28T10:00:00-04:00",
               "person": {"id": "p-amzn", "citizenships": ["US"], "location": "US"}}
    messages = [r.message for r in decide_json(example_snapshot, request).reasons]
    assert "trusted-foreign-research: entity not covered; use case not covered" in messages
