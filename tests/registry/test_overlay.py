"""Registry entries over a bundle: the dynamic-licensing steps of the scenario as registry changes."""

from __future__ import annotations

import pytest

from clearance import PolicyError, decide_json, default_bundle_path, snapshot
from clearance.policy.load import read_bundle
from clearance.registry.overlay import Entry, overlay


@pytest.fixture(scope="module")
def sections():
    found, problems = read_bundle(default_bundle_path())
    assert not problems
    return found


def without_bundle_suspension(sections):
    """The example bundle with the Preferred Networks suspension taken out of its text."""
    items = sections.lists["authorizations"]
    copy = type(sections)(single=dict(sections.single), lists={k: list(v) for k, v in sections.lists.items()})
    copy.lists["authorizations"] = [
        type(i)(i.spec.model_copy(update={"suspensions": []}), i.doc, i.path) if i.spec.id == "trusted-foreign-research" else i
        for i in items
    ]
    return copy


PFN = {
    "model": "mythos-5",
    "entity": "preferred-networks",
    "use_case": "research",
    "person": {"citizenships": ["JP"], "location": "JP"},
    "at": "2026-07-21T10:00:00+09:00",
}
SUSPENSION = Entry(
    "suspension",
    "SUS-2026-07-20-preferred-networks",
    {
        "authorization": "trusted-foreign-research",
        "entity": "preferred-networks",
        "from": "2026-07-20T09:00:00-04:00",
        "reason": "threat assessment; suspended pending its quarterly audit",
    },
    "seq 7",
)


def decide(policy, request):
    return decide_json(snapshot(policy), request)


def test_the_suspension_can_be_a_registry_change_instead_of_bundle_text(sections):
    bare = without_bundle_suspension(sections)
    assert decide(overlay(bare, []), PFN).code == "authorized"
    suspended = decide(overlay(bare, [SUSPENSION]), PFN)
    assert suspended.code == "authorization-suspended"
    assert suspended.remedies[0].to_dict() == {"code": "lift-suspension", "reason": SUSPENSION.body["reason"]}
    before = decide(overlay(bare, [SUSPENSION]), dict(PFN, at="2026-07-20T08:59:59-04:00"))
    assert before.code == "authorized"


def test_registry_and_bundle_text_give_the_same_policy(sections):
    from_registry = snapshot(overlay(without_bundle_suspension(sections), [SUSPENSION]))
    from_bundle = snapshot(overlay(sections, []))
    assert from_registry.version == from_bundle.version


def test_issuing_a_licence_permits_and_revoking_it_denies(sections):
    licence = {
        "kind": "individual-licence",
        "models": ["gpt-5.6-luna"],
        "valid": {"from": "2026-07-01T00:00:00Z"},
        "covers": {"entities": ["stripe"]},
        "use_cases": {"use_cases": ["general"]},
        "obligations": [{"code": "monitoring"}],
    }
    request = {
        "model": "gpt-5.6-luna",
        "entity": "stripe",
        "use_case": "general",
        "person": {"citizenships": ["US"], "location": "US"},
        "at": "2026-08-01T00:00:00Z",
    }
    assert decide(overlay(sections, []), request).code == "license-required"
    issued = decide(overlay(sections, [Entry("authorization", "LIC-2026-0100", licence, "seq 1")]), request)
    assert (issued.code, issued.authorization) == ("authorized", "LIC-2026-0100")
    revoked = dict(licence, valid={"from": "2026-07-01T00:00:00Z", "until": "2026-07-31T23:59:59Z"})
    assert decide(overlay(sections, [Entry("authorization", "LIC-2026-0100", revoked, "seq 2")]), request).code == "license-required"


def test_a_restriction_finding_denies_and_clearing_it_restores(sections):
    request = {
        "model": "gpt-5.6-terra",
        "entity": "contoso-bank",
        "use_case": "general",
        "person": {"citizenships": ["US"], "location": "US"},
        "at": "2026-08-01T00:00:00Z",
    }
    finding = {"status": "possible", "list": "Entity List", "reference": "csl:123", "reason": "name similarity"}
    assert decide(overlay(sections, [Entry("restriction", "contoso-bank", finding, "seq 3")]), request).code == "pending-review"
    confirmed = dict(finding, status="listed")
    assert decide(overlay(sections, [Entry("restriction", "contoso-bank", confirmed, "seq 4")]), request).code == "restricted-party"
    cleared = Entry("restriction", "contoso-bank", {"status": "cleared"}, "seq 5")
    assert decide(overlay(sections, [cleared]), request).code == "authorized"


def test_a_bad_registry_entry_is_rejected_naming_it(sections):
    bad = Entry("authorization", "LIC-9", {"kind": "individual-licence", "models": ["gpt-9"], "valid": {"from": "2026-07-01T00:00:00Z"}, "covers": {"entities": ["nist"]}, "use_cases": {}}, "seq 9")
    dangling = Entry("suspension", "SUS-1", {"authorization": "nope", "from": "2026-07-01T00:00:00Z"}, "seq 10")
    with pytest.raises(PolicyError) as caught:
        overlay(sections, [bad, dangling])
    text = str(caught.value)
    assert "registry:seq 9: authorizations.models[0]: unknown model `gpt-9`" in text
    assert "registry:seq 10: authorization: unknown authorization `nope`" in text


def test_a_person_finding_denies_that_person_only(sections):
    request = {
        "model": "open-7b",
        "entity": "stripe",
        "use_case": "general",
        "person": {"id": "p-42", "citizenships": ["US"], "location": "US"},
        "at": "2026-08-01T00:00:00Z",
    }
    finding = {"status": "listed", "list": "SDN", "reference": "ofac:1234", "reason": "name and date of birth match"}
    policy = snapshot(overlay(sections, [Entry("restriction", "person:p-42", finding, "seq 8")]))
    assert decide_json(policy, request).code == "restricted-party"
    other = dict(request, person=dict(request["person"], id="p-43"))
    assert decide_json(policy, other).code == "not-controlled"
