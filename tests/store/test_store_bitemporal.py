"""Bitemporal answers: what was in force at T, as known at R, and how we came to know it.

The scenario's 20 July suspension of Preferred Networks under ``trusted-foreign-research``
took effect at 09:00 New York time but was entered at noon: a question asked at 10:00
could not have seen it, a question asked at 13:00 must.
"""

from __future__ import annotations

import pytest
from store_testkit import ns

from clearance.ports import Change, RegistryStore

SUS = ("suspension", "SUS-2026-07-20-preferred-networks")
EFFECTIVE = ns("2026-07-20T09:00:00-04:00")


def suspension(body_reason: str, valid_from: int = EFFECTIVE, op: str = "put") -> Change:
    body = None if op == "retire" else {
        "authorization": "trusted-foreign-research", "entity": "preferred-networks", "reason": body_reason,
    }
    return Change(SUS[0], SUS[1], op, body, valid_from, "compliance@lab", "threat assessment 2026-07-20")


@pytest.fixture
def suspended(registry: RegistryStore, clock) -> RegistryStore:
    clock.set(ns("2026-07-20T12:00:00-04:00"))
    registry.append([suspension("pending quarterly audit")], expect={SUS: None})
    return registry


def test_the_store_implements_the_port(registry):
    assert isinstance(registry, RegistryStore)


def test_a_late_entry_is_in_force_from_its_valid_from_but_only_known_from_its_recording(suspended):
    at_0930 = ns("2026-07-20T09:30:00-04:00")
    assert SUS not in suspended.state(at_0930, known_at=ns("2026-07-20T10:00:00-04:00"))
    known = suspended.state(at_0930, known_at=ns("2026-07-20T13:00:00-04:00"))
    assert known[SUS].body["entity"] == "preferred-networks"
    assert known[SUS].recorded_at == ns("2026-07-20T12:00:00-04:00")
    assert known[SUS].actor == "compliance@lab"
    assert SUS in suspended.state(at_0930)  # known_at None: everything recorded
    assert SUS not in suspended.state(ns("2026-07-20T08:59:59-04:00"))
    assert SUS in suspended.state(EFFECTIVE)  # valid_from is inclusive


def test_a_retroactive_correction_wins_only_for_later_knowledge(suspended, clock):
    clock.set(ns("2026-07-21T08:00:00-04:00"))
    last = suspended.history(*SUS)[-1].seq
    suspended.append([suspension("pending quarterly audit; corrected wording")], expect={SUS: last})
    at = ns("2026-07-20T10:00:00-04:00")
    before = suspended.state(at, known_at=ns("2026-07-20T18:00:00-04:00"))
    after = suspended.state(at, known_at=ns("2026-07-21T09:00:00-04:00"))
    assert before[SUS].body["reason"] == "pending quarterly audit"
    assert after[SUS].body["reason"] == "pending quarterly audit; corrected wording"
    assert suspended.state(at)[SUS].body["reason"].endswith("corrected wording")


def test_a_retire_removes_the_key_from_its_valid_from_on(suspended, clock):
    lifted = ns("2026-08-01T00:00:00-04:00")
    clock.set(ns("2026-07-25T00:00:00-04:00"))
    suspended.append([suspension("", valid_from=lifted, op="retire")])
    assert SUS in suspended.state(lifted - 1)
    assert SUS not in suspended.state(lifted)
    assert SUS in suspended.state(lifted, known_at=ns("2026-07-24T00:00:00-04:00"))
    assert SUS not in suspended.state(ns("2026-09-01T00:00:00-04:00"), kind="suspension")


def test_an_earlier_valid_from_recorded_later_does_not_override_a_later_one(registry, clock):
    key = ("licence", "LIC-1")
    clock.set(100)
    registry.append([Change(*key, "put", {"v": 2}, 50, "a", "second version, entered first")])
    clock.set(200)
    registry.append([Change(*key, "put", {"v": 1}, 10, "a", "first version, entered late")])
    assert registry.state(30)[key].body == {"v": 1}
    assert registry.state(60)[key].body == {"v": 2}
    assert registry.state(30, known_at=150) == {}


def test_history_lists_every_version_in_order(suspended, clock):
    clock.set(ns("2026-07-21T08:00:00-04:00"))
    suspended.append([suspension("corrected")])
    clock.set(ns("2026-07-25T00:00:00-04:00"))
    suspended.append([suspension("", valid_from=ns("2026-08-01T00:00:00-04:00"), op="retire")])
    history = suspended.history(*SUS)
    assert [r.op for r in history] == ["put", "put", "retire"]
    assert [r.seq for r in history] == sorted(r.seq for r in history)
    assert history[1].body["reason"] == "corrected"
    assert history[2].body is None
    assert [r.recorded_at for r in history] == [
        ns("2026-07-20T12:00:00-04:00"), ns("2026-07-21T08:00:00-04:00"), ns("2026-07-25T00:00:00-04:00"),
    ]
    assert suspended.history("suspension", "SUS-unknown") == []


def test_state_filters_by_kind_and_keeps_kinds_apart(registry, clock):
    clock.set(10)
    registry.append([
        Change("organization", "preferred-networks", "put", {"country": "JP"}, 0, "a", "onboarding"),
        Change("person", "preferred-networks", "put", {"citizenships": ["JP"]}, 0, "a", "onboarding"),
        Change("api_key", "key-1", "put", {"entity": "preferred-networks"}, 0, "a", "issued"),
    ])
    everything = registry.state(5)
    assert set(everything) == {
        ("organization", "preferred-networks"), ("person", "preferred-networks"), ("api_key", "key-1"),
    }
    assert set(registry.state(5, kind="person")) == {("person", "preferred-networks")}
    assert registry.state(5, kind="licence") == {}
