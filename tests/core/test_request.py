"""Requests as the contract defines them: what is rejected, how, and what the defaults are.

A malformed request never raises out of ``decide_json``: it becomes a ``deny`` with
code ``invalid-request`` whose reason names the field at fault by its dotted path.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from clearance import RequestError, decide_json, parse_request
from clearance.core.instant import parse_instant

AT = "2026-06-28T10:00:00-04:00"


def base() -> dict[str, Any]:
    """A valid request: an Indian national at Stripe, in the US, on Mythos 5 after the letter."""
    return {
        "model": "mythos-5",
        "entity": "stripe",
        "person": {"id": "p-0007", "citizenships": ["IN"], "permanent_residency": None, "location": "US"},
        "use_case": "software-engineering",
        "action": "inference",
        "at": AT,
    }


def edited(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    request = base()
    edit(request)
    return request


def names(message: str, path: str) -> bool:
    """Whether ``message`` names the field ``path`` itself (not merely a longer path that starts with it)."""
    return re.search(rf"(?<![\w.\[\]]){re.escape(path)}(?![\w.\[])", message) is not None


def test_the_base_request_is_valid(example_snapshot):
    decision = decide_json(example_snapshot, base()).to_dict()
    assert (decision["outcome"], decision["code"], decision["authorization"]) == ("permit", "authorized", "annex-a")
    assert decision["destinations"] == ["IN"]


def test_names_matches_whole_paths_only():
    assert names("person.location: missing", "person.location")
    assert names("person: missing", "person")
    assert not names("person.location: missing", "person")
    assert names("person.citizenships[1]: `x` is not a code", "person.citizenships[1]")
    assert not names("person.citizenships[1]: bad", "person.citizenships")


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(request: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = request
        for part in parents:
            target = target[part]
        target[last] = value

    return edit


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def edit(request: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = request
        for part in parents:
            target = target[part]
        del target[last]

    return edit


# (edit, the field path the answer must name); each is caught when the request is parsed.
PARSE_ERRORS = [
    (_drop("model"), "model"),
    (_set("model", None), "model"),
    (_set("model", 5), "model"),
    (_set("model", ""), "model"),
    (_set("model", "  "), "model"),
    (_set("model", ["mythos-5"]), "model"),
    (_drop("entity"), "entity"),
    (_set("entity", {"id": "stripe"}), "entity"),
    (_drop("use_case"), "use_case"),
    (_set("use_case", True), "use_case"),
    (_drop("person"), "person"),
    (_set("person", None), "person"),
    (_set("person", ["IN"]), "person"),
    (_set("person", "p-0007"), "person"),
    (_drop("person.location"), "person.location"),
    (_set("person.location", None), "person.location"),
    (_set("person.location", "USA"), "person.location"),
    (_set("person.location", "U"), "person.location"),
    (_set("person.location", "U1"), "person.location"),
    (_set("person.location", 840), "person.location"),
    (_set("person.location", ""), "person.location"),
    (_set("person.citizenships", "IN"), "person.citizenships"),
    (_set("person.citizenships", {"IN": True}), "person.citizenships"),
    (_set("person.citizenships", ["IND"]), "person.citizenships[0]"),
    (_set("person.citizenships", ["IN", "x"]), "person.citizenships[1]"),
    (_set("person.citizenships", ["IN", "GB", None]), "person.citizenships[2]"),
    (_set("person.permanent_residency", "usa"), "person.permanent_residency"),
    (_set("person.permanent_residency", ["US"]), "person.permanent_residency"),
    (_set("person.deemed_country", "I"), "person.deemed_country"),
    (_set("person.deemed_country", 356), "person.deemed_country"),
    (_set("person.employer", ""), "person.employer"),
    (_set("person.employer", 7), "person.employer"),
    (_set("person.id", ""), "person.id"),
    (_set("person.id", 7), "person.id"),
    (_set("modle", "mythos-5"), "modle"),
    (_set("tenant", "acme"), "tenant"),
    (_set("person.nationality", "IN"), "person.nationality"),
    (_set("person.Location", "US"), "person.Location"),
    (_set("at", "2026-06-28T10:00:00"), "at"),
    (_set("at", "2026-06-28"), "at"),
    (_set("at", "2026-02-30T10:00:00Z"), "at"),
    (_set("at", "2026-06-28T25:00:00Z"), "at"),
    (_set("at", "next tuesday"), "at"),
    (_set("at", 1782655200), "at"),
    (_set("action", "train"), "action"),
    (_set("action", "Inference"), "action"),
    (_set("action", 1), "action"),
]


@pytest.mark.parametrize(("edit", "path"), PARSE_ERRORS, ids=[f"{i}-{p}" for i, (_, p) in enumerate(PARSE_ERRORS)])
def test_a_malformed_request_is_invalid_and_names_the_field(example_snapshot, edit, path):
    request = edited(edit)
    with pytest.raises(RequestError) as caught:
        parse_request(copy.deepcopy(request))
    assert caught.value.field == path
    decision = decide_json(example_snapshot, request).to_dict()
    assert (decision["outcome"], decision["code"]) == ("deny", "invalid-request")
    assert decision["authorization"] is None and decision["obligations"] == []
    assert decision["policy_version"] == example_snapshot.version
    assert decision["reasons"][0]["code"] == "invalid-request"
    assert names(decision["reasons"][0]["message"], path), decision["reasons"][0]["message"]


@pytest.mark.parametrize("document", [None, [], [base()], "a request", 42, True])
def test_a_document_that_is_not_an_object_is_invalid(example_snapshot, document):
    with pytest.raises(RequestError):
        parse_request(document)
    decision = decide_json(example_snapshot, document).to_dict()
    assert (decision["outcome"], decision["code"], decision["authorization"]) == ("deny", "invalid-request", None)
    assert decision["reasons"][0]["message"]


# (person, the field path the answer must name): well formed, but invalid under the policy's home country.
PERSON_ERRORS = [
    ({"citizenships": ["IN"], "deemed_country": "US", "location": "US"}, "person.deemed_country"),
    ({"citizenships": ["IN"], "deemed_country": "us", "location": "IN"}, "person.deemed_country"),
    ({"permanent_residency": "GB", "deemed_country": "US", "location": "GB"}, "person.deemed_country"),
    ({"citizenships": [], "location": "US"}, "person"),
    ({"location": "US"}, "person"),
    ({"citizenships": None, "permanent_residency": None, "location": "DE"}, "person"),
]


@pytest.mark.parametrize(("person", "path"), PERSON_ERRORS)
def test_a_foreign_person_needs_a_deemed_country_other_than_home(example_snapshot, person, path):
    request = {**base(), "person": person}
    parse_request(request)  # well formed: the policy says who is foreign
    decision = decide_json(example_snapshot, request).to_dict()
    assert (decision["outcome"], decision["code"], decision["authorization"]) == ("deny", "invalid-request", None)
    assert names(decision["reasons"][0]["message"], path), decision["reasons"][0]["message"]


def test_a_malformed_person_wins_over_an_unknown_model(example_snapshot):
    request = edited(_drop("person.location"))
    request["model"] = "mythos-6"
    assert decide_json(example_snapshot, request).code == "invalid-request"
    request = {
        **base(),
        "model": "mythos-6",
        "person": {"citizenships": ["IN"], "deemed_country": "US", "location": "US"},
    }
    assert decide_json(example_snapshot, request).code == "invalid-request"


# --- what a valid person means ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "destinations"),
    [
        ({"citizenships": ["US"], "location": "US"}, []),
        ({"citizenships": ["US", "IR"], "location": "US"}, []),
        ({"citizenships": ["US"], "deemed_country": "US", "location": "US"}, []),
        # deemed_country is ignored for a US person, even an embargoed one
        ({"citizenships": ["US"], "deemed_country": "IR", "location": "US"}, []),
        ({"citizenships": ["IR"], "permanent_residency": "US", "location": "US"}, []),
        ({"citizenships": ["US"], "location": "GB"}, ["GB"]),
        ({"citizenships": ["IN"], "location": "US"}, ["IN"]),
        ({"citizenships": ["in"], "location": "us"}, ["IN"]),
        ({"citizenships": ["CN", "IN"], "location": "US"}, ["IN"]),
        ({"citizenships": ["CN", "IN"], "permanent_residency": "GB", "location": "US"}, ["GB"]),
        ({"citizenships": ["CN", "IN"], "permanent_residency": "GB", "deemed_country": "jp", "location": "US"}, ["JP"]),
        ({"permanent_residency": "gb", "location": "US"}, ["GB"]),
        ({"deemed_country": "FR", "location": "US"}, ["FR"]),
        ({"citizenships": ["IN"], "location": "GB"}, ["IN", "GB"]),
    ],
)
def test_destinations_follow_the_contract(example_snapshot, person, destinations):
    decision = decide_json(example_snapshot, {**base(), "entity": "darpa", "person": person}).to_dict()
    assert decision["code"] != "invalid-request", decision["reasons"]
    assert sorted(decision["destinations"]) == sorted(destinations)


def test_a_us_person_with_an_embargoed_deemed_country_is_not_an_export(example_snapshot):
    person = {"citizenships": ["US"], "deemed_country": "IR", "location": "US"}
    decision = decide_json(example_snapshot, {**base(), "entity": "darpa", "person": person}).to_dict()
    assert (decision["outcome"], decision["code"]) == ("permit", "authorized")


def test_an_employee_of_another_entity_is_not_covered(example_snapshot):
    assert decide_json(example_snapshot, edited(_set("person.employer", "stripe"))).code == "authorized"
    decision = decide_json(example_snapshot, edited(_set("person.employer", "palantir"))).to_dict()
    assert decision["outcome"] == "deny"
    assert decision["authorization"] is None


@pytest.mark.parametrize("action", ["inference", "fine-tune", "weights-download", None])
def test_every_contract_action_is_accepted(example_snapshot, action):
    decision = decide_json(example_snapshot, edited(_set("action", action))).to_dict()
    assert decision == decide_json(example_snapshot, edited(_drop("action"))).to_dict()
    assert decision["code"] == "authorized"


# --- unknown ids and their order ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "entity", "use_case", "code", "named"),
    [
        ("mythos-6", "stripe", "software-engineering", "unknown-model", "mythos-6"),
        ("mythos-6", "acme-corp", "astrology", "unknown-model", "mythos-6"),
        ("mythos-6", "stripe", "astrology", "unknown-model", "mythos-6"),
        ("mythos-6", "qihoo-360", "military-command-control", "unknown-model", "mythos-6"),
        ("mythos-5", "acme-corp", "software-engineering", "unknown-entity", "acme-corp"),
        ("mythos-5", "acme-corp", "astrology", "unknown-entity", "acme-corp"),
        ("open-7b", "acme-corp", "astrology", "unknown-entity", "acme-corp"),
        ("mythos-5", "stripe", "astrology", "unknown-use-case", "astrology"),
        # step 1 comes before the restricted-party check and before "not controlled"
        ("mythos-5", "qihoo-360", "astrology", "unknown-use-case", "astrology"),
        ("open-7b", "stripe", "astrology", "unknown-use-case", "astrology"),
    ],
)
def test_unknown_ids_deny_model_first_then_entity_then_use_case(example_snapshot, model, entity, use_case, code, named):
    request = {**base(), "model": model, "entity": entity, "use_case": use_case}
    decision = decide_json(example_snapshot, request).to_dict()
    assert (decision["outcome"], decision["code"], decision["authorization"]) == ("deny", code, None)
    assert decision["reasons"][0]["code"] == code
    assert named in decision["reasons"][0]["message"]


# --- the instant ----------------------------------------------------------------------------


def test_a_missing_at_defaults_to_now(example_snapshot):
    request = edited(_drop("at"))
    now = parse_instant(AT)
    parsed = parse_request(request, now=now)
    assert parsed.at == now
    assert decide_json(example_snapshot, request, now=now).to_dict() == decide_json(example_snapshot, base()).to_dict()
    # "now" is used, not some other clock: during the takedown the same request is denied.
    during = decide_json(example_snapshot, request, now=parse_instant("2026-06-13T12:00:00-04:00")).to_dict()
    assert (during["outcome"], during["code"]) == ("deny", "model-suspended")
    assert during["at"] == "2026-06-13T16:00:00Z"


def test_a_given_at_wins_over_now(example_snapshot):
    now = parse_instant("2026-06-13T12:00:00-04:00")
    assert parse_request(base(), now=now).at == parse_instant(AT)
    assert decide_json(example_snapshot, base(), now=now).code == "authorized"


def test_a_missing_at_without_now_is_invalid(example_snapshot):
    request = edited(_drop("at"))
    with pytest.raises(RequestError) as caught:
        parse_request(request)
    assert caught.value.field == "at"
    decision = decide_json(example_snapshot, request).to_dict()
    assert (decision["outcome"], decision["code"]) == ("deny", "invalid-request")
    assert names(decision["reasons"][0]["message"], "at")
