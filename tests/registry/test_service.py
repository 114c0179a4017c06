"""The registry service: checked writes, bitemporal reads, snapshots for decisions."""

from __future__ import annotations

import pytest

from clearance import decide_json
from clearance.core.instant import parse_instant
from clearance.registry.service import RegistryService, WriteRejected


def at(text: str) -> int:
    return int(parse_instant(text))


SUSPENSION = {
    "authorization": "trusted-foreign-research",
    "entity": "preferred-networks",
    "from": "2026-07-20T09:00:00-04:00",
    "reason": "threat assessment; suspended pending its quarterly audit",
}
PFN = {
    "model": "mythos-5",
    "entity": "preferred-networks",
    "use_case": "research",
    "person": {"citizenships": ["JP"], "location": "JP"},
    "at": "2026-07-20T09:30:00-04:00",
}


def code(policy, request) -> str:
    return decide_json(policy, request).code


def test_suspension_recorded_ahead_applies_from_its_instant(registry, clock):
    registry.suspend("SUS-PFN", SUSPENSION, actor="analyst", reason="threat assessment")
    policy = registry.snapshot(valid_at=at("2026-07-20T09:30:00-04:00"))
    assert code(policy, PFN) == "authorization-suspended"
    assert code(policy, dict(PFN, at="2026-07-20T08:59:59-04:00")) == "authorized"


def test_in_force_at_t_versus_known_at_r(store, clock, bare_bundle):
    # Entered at 12:00, effective 09:00 the same morning: a backdated entry, allowed by the grace.
    clock.set(at("2026-07-20T12:00:00-04:00"))
    registry = RegistryService(store, clock, bare_bundle, grace_ns=86_400 * 10**9)
    registry.suspend("SUS-PFN", SUSPENSION, actor="analyst", reason="threat assessment")
    nine_thirty = at("2026-07-20T09:30:00-04:00")
    as_known_at_ten = registry.snapshot(valid_at=nine_thirty, known_at=at("2026-07-20T10:00:00-04:00"))
    as_known_at_one = registry.snapshot(valid_at=nine_thirty, known_at=at("2026-07-20T13:00:00-04:00"))
    assert code(as_known_at_ten, PFN) == "authorized", "at 10:00 nobody had recorded the suspension yet"
    assert code(as_known_at_one, PFN) == "authorization-suspended"
    [record] = registry.history("suspension", "SUS-PFN")
    assert (record.actor, record.reason, record.valid_from) == ("analyst", "threat assessment", at(SUSPENSION["from"]))
    assert record.recorded_at == at("2026-07-20T12:00:00-04:00")


def test_backdating_beyond_the_grace_is_rejected_and_nothing_is_stored(registry, store, clock):
    clock.set(at("2026-07-20T12:00:00-04:00"))
    with pytest.raises(WriteRejected) as caught:
        registry.suspend("SUS-PFN", SUSPENSION)
    assert caught.value.status == 422 and "in the past" in caught.value.problems[0]
    assert store.latest_seq() == 0


def test_overlapping_suspensions_of_the_same_coverage_conflict(registry):
    registry.suspend("SUS-1", SUSPENSION)
    with pytest.raises(WriteRejected) as caught:
        registry.suspend("SUS-2", dict(SUSPENSION, **{"from": "2026-08-01T00:00:00Z"}))
    assert caught.value.status == 409
    registry.suspend("SUS-3", dict(SUSPENSION, entity="vector-institute"))


@pytest.mark.parametrize(
    ("kind", "key", "body", "status", "words"),
    [
        ("authorization", "LIC-9", {"kind": "individual-licence", "models": ["gpt-9"], "valid": {"from": "2026-07-21T00:00:00Z"}, "covers": {"entities": ["nist"]}, "use_cases": {}}, 404, "unknown model `gpt-9`"),
        ("entity", "acme", {"name": "Acme", "country": "ZZ", "kind": "company"}, 422, "`ZZ` is not an ISO 3166-1"),
        ("person", "p-1", {"entity": "stripe", "citizenships": ["US"], "colour": "blue"}, 422, "colour"),
        ("person", "p-2", {"entity": "globex", "citizenships": ["US"]}, 404, "unknown entity `globex`"),
        ("suspension", "SUS-X", {"authorization": "annex-b", "from": "2026-07-21T00:00:00Z"}, 404, "unknown authorization `annex-b`"),
    ],
)
def test_invalid_writes_name_the_problem(registry, store, kind, key, body, status, words):
    with pytest.raises(WriteRejected) as caught:
        registry.put(kind, key, body)
    assert caught.value.status == status
    assert any(words in p for p in caught.value.problems), caught.value.problems
    assert store.latest_seq() == 0


def test_licence_versions_are_history_not_overwrites(registry, clock):
    licence = {
        "kind": "individual-licence",
        "models": ["gpt-5.6-luna"],
        "valid": {"from": "2026-07-20T08:00:00-04:00"},
        "covers": {"entities": ["stripe"]},
        "use_cases": {"use_cases": ["general"]},
    }
    request = {"model": "gpt-5.6-luna", "entity": "stripe", "use_case": "general", "person": {"citizenships": ["US"], "location": "US"}, "at": "2026-07-25T00:00:00Z"}
    registry.put("authorization", "LIC-7", licence, reason="approved")
    clock.advance(3600 * 10**9)
    revoked = dict(licence, valid={"from": licence["valid"]["from"], "until": "2026-07-22T00:00:00Z"})
    registry.put("authorization", "LIC-7", revoked, reason="revoked after audit")
    assert code(registry.snapshot(valid_at=at("2026-07-25T00:00:00Z")), request) == "license-required"
    assert code(registry.snapshot(valid_at=at("2026-07-25T00:00:00Z"), known_at=at("2026-07-20T08:30:00-04:00")), request) == "authorized"
    assert [r.reason for r in registry.history("authorization", "LIC-7")] == ["approved", "revoked after audit"]


def test_credentials_are_stored_hashed_and_checked(registry, store):
    issued = registry.create_credential(["auditor"], label="regulator")
    stored = store.history("credential", issued.key)[0].body
    assert issued.token not in str(stored)
    assert registry.authenticate(issued.token).record.scopes == ["auditor"]
    assert registry.authenticate(issued.token[:-1] + ("A" if issued.token[-1] != "A" else "B")) is None
    assert registry.authenticate("clr_nope_secret") is None
    registry.retire("credential", issued.key, reason="rotated")
    assert registry.authenticate(issued.token) is None
