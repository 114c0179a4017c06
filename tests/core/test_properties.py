"""Properties of ``decide()`` over generated requests on the example bundle.

Requests are drawn from the policy's own models, entities and use cases plus a few
unknown ids, with people of several nationalities and locations, and instants
between 2026-06-01 and 2027-02-01, biased towards the policy's own boundaries and
written with arbitrary UTC offsets. The oracles come from the contract and the
scenario page, not from the engine: determinism, offset independence, the
destinations rule, and monotonicity (taking something away from the policy, or
adding a restriction, never turns a deny into a permit).
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from clearance import Decision, decide, decide_json, parse_request, read_policy, snapshot
from clearance.core.decide import decide_uncached
from clearance.core.instant import parse_instant
from clearance.core.model import Authorization, Restriction, Suspension

NS = 1_000_000_000

POLICY = read_policy()
SNAP = snapshot(POLICY)
HOME = POLICY.jurisdiction.country
EMBARGO_GROUP = POLICY.jurisdiction.embargo_groups[0]

KNOWN_MODELS = sorted(m.id for m in POLICY.models)
KNOWN_ENTITIES = sorted(e.id for e in POLICY.entities)
KNOWN_USE_CASES = sorted(uc for cls in POLICY.use_case_classes for uc in cls.use_cases)
AUTHORIZATIONS = sorted(a.id for a in POLICY.authorizations)
COUNTRIES = ["US", "IR", "CN", "IN", "JP", "CA", "GB", "SG", "FR", "KP", "RU", "NO", "DE"]

# The unknown ids are a small share of each list, so most requests get past step 1.
MODELS = [*KNOWN_MODELS, "mythos-6"]
ENTITIES = [*KNOWN_ENTITIES, "acme-corp"]
USE_CASES = [*KNOWN_USE_CASES, "astrology"]
# Models that some authorization names, and the use cases that are not prohibited: drawn more
# often, so that a fair share of requests reaches the authorization step.
AUTHORIZED_MODELS = sorted({m for a in POLICY.authorizations for m in a.models})
PERMISSIBLE_USE_CASES = sorted(uc for cls in POLICY.use_case_classes if not cls.prohibited for uc in cls.use_cases)

LO = parse_instant("2026-06-01T00:00:00Z")
HI = parse_instant("2027-02-01T00:00:00Z")
# Every instant at which something in the policy changes; requests cluster around them.
BOUNDARIES = sorted(
    {c.at for m in POLICY.models for c in m.timeline}
    | {a.start for a in POLICY.authorizations}
    | {a.end for a in POLICY.authorizations if a.end is not None}
    | {s.start for a in POLICY.authorizations for s in a.suspensions}
    | {s.end for a in POLICY.authorizations for s in a.suspensions if s.end is not None}
)
NEAR = [-3600 * NS, -NS, -1, 0, 1, NS, 3600 * NS]

# Codes settled before step 2 (restricted party) and before step 6 (embargo) of the scenario's order.
STEP1_CODES = {"invalid-request", "unknown-model", "unknown-entity", "unknown-use-case"}
AFTER_EMBARGO_CODES = {
    "entity-unqualified",
    "use-case-not-authorized",
    "destination-not-authorized",
    "authorization-suspended",
    "license-required",
    "authorized",
}

PROPERTY = settings(max_examples=250, deadline=None)


def render(ns: int, offset_minutes: int, digits: int | None = None, zulu: bool = True) -> str:
    """The instant ``ns`` (nanoseconds since the epoch) as ISO-8601 text at a UTC offset.

    ``digits`` is the number of fractional digits to write, padded with zeros (beyond
    nine too); ``None`` writes the shortest exact fraction. A zero offset is written
    ``Z`` when ``zulu``, else ``+00:00``.
    """
    seconds, frac = divmod(ns, NS)
    local = datetime.fromtimestamp(seconds, timezone(timedelta(minutes=offset_minutes)))
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    nine = f"{frac:09d}"
    if digits is None:
        fraction = nine.rstrip("0")
    else:
        assert digits >= len(nine.rstrip("0")), "too few digits for this instant"
        fraction = (nine + "0" * digits)[:digits]
    if fraction:
        text += "." + fraction
    if offset_minutes == 0 and zulu:
        return text + "Z"
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def test_render_writes_what_it_is_told():
    ns = parse_instant("2026-09-30T23:59:59-04:00")
    assert render(ns, -240) == "2026-09-30T23:59:59-04:00"
    assert render(ns, 0) == "2026-10-01T03:59:59Z"
    assert render(ns, 0, zulu=False) == "2026-10-01T03:59:59+00:00"
    assert render(ns + 500_000_000, 330, digits=12) == "2026-10-01T09:29:59.500000000000+05:30"
    assert render(ns + 1, -570, digits=9) == "2026-09-30T18:29:59.000000001-09:30"


DAYS = list(range(LO, HI, 86400 * NS))
instants = st.one_of(
    # A day drawn evenly, then a time in it (integers alone crowd towards their lower bound).
    st.builds(lambda day, t: day + t, st.sampled_from(DAYS), st.integers(0, 86400 * NS - 1)),
    st.builds(lambda b, d: b + d, st.sampled_from(BOUNDARIES), st.sampled_from(NEAR)),
)
offsets = st.one_of(st.sampled_from([0, -240, -300, 60, 330, 345, 540, -570, 840, -720]), st.integers(-1439, 1439))


@st.composite
def instant_text(draw: st.DrawFn, ns: int) -> str:
    """``ns`` written at a random offset, with a random number of fractional digits."""
    needed = len(f"{ns % NS:09d}".rstrip("0"))
    digits = draw(st.one_of(st.none(), st.integers(needed, 15)))
    return render(ns, draw(offsets), digits, draw(st.booleans()))


FRIENDLY = ["US", "US", "CA", "GB", "JP", "FR", "NO", "IN"]


@st.composite
def people(draw: st.DrawFn, entity: str, countries: list[str]) -> dict[str, Any]:
    """A person working for ``entity`` (or not), with nationality facts drawn from ``countries``."""
    person: dict[str, Any] = {
        "citizenships": draw(
            st.lists(st.sampled_from(countries), min_size=draw(st.sampled_from([0, 1, 1])), max_size=3, unique=True)
        ),
        "permanent_residency": draw(st.one_of(st.none(), st.just(HOME), st.sampled_from(countries))),
        "location": draw(st.sampled_from(countries)),
    }
    if draw(st.integers(0, 4)) == 0:
        person["deemed_country"] = draw(st.sampled_from(countries))
    employer = draw(st.sampled_from(["absent", "absent", "entity", "other"]))
    if employer == "entity":
        person["employer"] = entity
    elif employer == "other":
        person["employer"] = draw(st.sampled_from([e for e in KNOWN_ENTITIES if e != entity]))
    if draw(st.booleans()):
        person["id"] = f"p-{draw(st.integers(0, 99))}"
    return person


@st.composite
def anywhere_requests(draw: st.DrawFn) -> tuple[dict[str, Any], int]:
    """Any model, entity, use case, person and instant, a few of them unknown to the policy."""
    entity = draw(st.sampled_from(ENTITIES))
    ns = draw(instants)
    request = {
        "model": draw(st.one_of(st.sampled_from(MODELS), st.sampled_from(AUTHORIZED_MODELS))),
        "entity": entity,
        "person": draw(people(entity, COUNTRIES)),
        "use_case": draw(st.one_of(st.sampled_from(USE_CASES), st.sampled_from(PERMISSIBLE_USE_CASES))),
        "at": draw(instant_text(ns)),
    }
    return request, ns


def _covered(auth: Authorization, model: str) -> list[str]:
    developer = next(m.developer for m in POLICY.models if m.id == model)
    ids = set(auth.coverage.entities) | {e.id for e in POLICY.entities if e.designations & auth.coverage.designations}
    if auth.coverage.model_developer and developer:
        ids.add(developer)
    return sorted(ids)


def _use_cases(auth: Authorization, entity: str) -> list[str]:
    rule = auth.use_cases
    found = set(rule.use_cases) | {
        uc for cls in POLICY.use_case_classes if cls.id in rule.classes for uc in cls.use_cases
    }
    if rule.entity_named:
        found |= next(e.named_use_cases for e in POLICY.entities if e.id == entity)
    return sorted(found) or KNOWN_USE_CASES


@st.composite
def near_authorized_requests(draw: st.DrawFn) -> tuple[dict[str, Any], int]:
    """A request built from one authorization's own terms (model, entity, use case, validity),
    by a person of a friendly country: many of these are permitted, the rest nearly."""
    auth = draw(st.sampled_from(POLICY.authorizations))
    model = draw(st.sampled_from(sorted(auth.models)))
    entity = draw(st.sampled_from(_covered(auth, model)))
    last = auth.end if auth.end is not None else HI
    ns = draw(st.one_of(st.integers(auth.start, last), st.sampled_from([auth.start, last, last + 1])))
    request = {
        "model": model,
        "entity": entity,
        "person": draw(people(entity, FRIENDLY)),
        "use_case": draw(st.sampled_from(_use_cases(auth, entity))),
        "at": draw(instant_text(ns)),
    }
    return request, ns


def requests() -> st.SearchStrategy[tuple[dict[str, Any], int]]:
    """A request document and the instant (nanoseconds) its ``at`` denotes."""
    return st.one_of(anywhere_requests(), near_authorized_requests())


def is_us_person(person: dict[str, Any]) -> bool:
    return HOME in [c.upper() for c in person.get("citizenships") or []] or (
        (person.get("permanent_residency") or "").upper() == HOME
    )


def expected_destinations(person: dict[str, Any]) -> set[str] | None:
    """The contract's destinations of a person, or ``None`` when the person is invalid."""
    location = person["location"].upper()
    found = {location} if location != HOME else set()
    if is_us_person(person):
        return found
    citizenships = [c.upper() for c in person.get("citizenships") or []]
    deemed = (person.get("deemed_country") or person.get("permanent_residency") or "").upper() or (
        citizenships[-1] if citizenships else None
    )
    if deemed is None or deemed == HOME:
        return None
    return found | {deemed}


def without_version(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "policy_version"}


def assert_no_new_permit(before: Decision, after: Decision) -> None:
    """``after`` (the modified policy) permits nothing that ``before`` (the original) does not."""
    if before.outcome != "permit":
        assert after.outcome != "permit", f"{before.code} turned into {after.code} ({after.authorization})"
    if after.outcome == "permit":
        assert before.outcome == "permit", f"permit {after.code} under the modified policy, {before.code} before"


# --- determinism and the memo -------------------------------------------------------------


@PROPERTY
@given(requests())
def test_the_same_request_gets_the_same_decision(case):
    request, _ = case
    first = decide_json(SNAP, request).to_dict()
    assert decide_json(SNAP, copy.deepcopy(request)).to_dict() == first
    # A freshly compiled snapshot of the same policy has an empty memo and the same version.
    assert decide_json(snapshot(POLICY), request).to_dict() == first
    parsed = parse_request(request)
    memoized = decide(SNAP, parsed)
    assert memoized == decide_uncached(SNAP, parsed)
    assert memoized.to_dict() == first
    traced = decide(SNAP, parsed, trace=True).to_dict(trace=True)
    assert {k: traced[k] for k in first} == first


@PROPERTY
@given(requests(), st.data())
def test_country_codes_are_case_insensitive(case, data):
    request, _ = case
    mangle = data.draw(st.sampled_from([str.lower, str.capitalize, lambda s: s[0] + s[1].lower()]))
    person = dict(request["person"])
    person["citizenships"] = [mangle(c) for c in person["citizenships"]]
    person["location"] = mangle(person["location"])
    for key in ("permanent_residency", "deemed_country"):
        if person.get(key):
            person[key] = mangle(person[key])
    assert decide_json(SNAP, {**request, "person": person}).to_dict() == decide_json(SNAP, request).to_dict()


@PROPERTY
@given(requests(), st.sampled_from([None, "inference", "fine-tune", "weights-download"]))
def test_the_action_does_not_change_a_decision_in_the_example_policy(case, action):
    request, _ = case
    with_action = {**request, "action": action}
    assert decide_json(SNAP, with_action).to_dict() == decide_json(SNAP, request).to_dict()


# --- instants ------------------------------------------------------------------------------


@PROPERTY
@given(requests(), st.data())
def test_the_same_instant_at_any_offset_gets_the_same_decision(case, data):
    request, ns = case
    other = data.draw(instant_text(ns))
    assert parse_instant(other) == parse_instant(request["at"]) == ns
    first = decide_json(SNAP, request).to_dict()
    assert decide_json(SNAP, {**request, "at": other}).to_dict() == first
    assert parse_instant(first["at"]) == ns
    assert first["at"].endswith("Z")


# --- the shape of every decision -------------------------------------------------------------


@PROPERTY
@given(requests())
def test_version_destinations_and_shape(case):
    request, _ = case
    d = decide_json(SNAP, request).to_dict()
    assert d["policy_version"] == SNAP.version
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", d["policy_version"])
    for country in d["destinations"]:
        assert re.fullmatch(r"[A-Z]{2}", country), d["destinations"]
    assert HOME not in d["destinations"]
    assert len(set(d["destinations"])) == len(d["destinations"])
    expected = expected_destinations(request["person"])
    if expected is None:
        assert (d["outcome"], d["code"]) == ("deny", "invalid-request")
    else:
        assert d["code"] != "invalid-request", d["reasons"]
        assert set(d["destinations"]) == expected
    assert d["reasons"] and d["reasons"][0]["code"] == d["code"]
    if d["code"] == "authorized":
        assert d["outcome"] == "permit" and d["authorization"] is not None
    else:
        assert d["authorization"] is None and d["obligations"] == []
    if d["outcome"] == "permit":
        assert d["remedies"] == []
    if request["model"] not in KNOWN_MODELS:
        assert d["code"] in ("invalid-request", "unknown-model")


@PROPERTY
@given(requests())
def test_the_employer_defaults_to_the_entity_and_another_employer_is_never_covered(case):
    request, _ = case
    person = {k: v for k, v in request["person"].items() if k != "employer"}
    absent = decide_json(SNAP, {**request, "person": person}).to_dict()
    same = decide_json(SNAP, {**request, "person": {**person, "employer": request["entity"]}}).to_dict()
    assert same == absent
    others = [e for e in KNOWN_ENTITIES if e != request["entity"]]
    for other in others[:3]:
        elsewhere = decide_json(SNAP, {**request, "person": {**person, "employer": other}}).to_dict()
        assert elsewhere["code"] != "authorized", elsewhere
        if absent["outcome"] != "permit":
            assert elsewhere["outcome"] != "permit"


# --- monotonicity -------------------------------------------------------------------------


def draw_authorization(data: st.DataObject, before: Decision) -> str:
    """Any authorization, or (half the time) the one that permitted ``before``."""
    permitting = [before.authorization] if before.authorization else AUTHORIZATIONS
    return data.draw(st.one_of(st.sampled_from(permitting), st.sampled_from(AUTHORIZATIONS)))


@PROPERTY
@given(requests(), st.data())
def test_removing_an_authorization_never_permits_more(case, data):
    request, _ = case
    before = decide_json(SNAP, request)
    removed = draw_authorization(data, before)
    modified = snapshot(replace(POLICY, authorizations=tuple(a for a in POLICY.authorizations if a.id != removed)))
    assert modified.version != SNAP.version
    after = decide_json(modified, request)
    assert after.policy_version == modified.version
    assert_no_new_permit(before, after)
    assert after.authorization != removed
    if before.outcome == "permit" and before.authorization != removed:
        assert (after.outcome, after.code, after.authorization) == (before.outcome, before.code, before.authorization)


# How far a suspension reaches before and after the request's instant; 0 puts a boundary on it.
REACH = st.one_of(st.sampled_from([0, 1]), st.integers(0, 60 * NS), st.integers(0, 200 * 86400 * NS))


@PROPERTY
@given(requests(), st.data())
def test_a_suspension_covering_the_instant_never_permits_more(case, data):
    request, ns = case
    before = decide_json(SNAP, request)
    target = draw_authorization(data, before)
    entity = None if data.draw(st.booleans(), label="whole authorization") else request["entity"]
    start = ns - data.draw(REACH, label="reach before")
    reach_after = data.draw(st.one_of(st.none(), REACH), label="reach after")
    end = None if reach_after is None else ns + reach_after
    suspension = Suspension("SUS-property-test", entity, start, end, "suspended by a property test")
    authorizations = tuple(
        replace(a, suspensions=(*a.suspensions, suspension)) if a.id == target else a for a in POLICY.authorizations
    )
    modified = snapshot(replace(POLICY, authorizations=authorizations))
    after = decide_json(modified, request)
    assert_no_new_permit(before, after)
    assert after.authorization != target, f"{target} permits while suspended ({suspension})"
    if before.outcome == "permit" and before.authorization != target:
        assert (after.outcome, after.code, after.authorization) == (before.outcome, before.code, before.authorization)


@PROPERTY
@given(requests(), st.data())
def test_embargoing_a_country_never_permits_more(case, data):
    request, _ = case
    before = decide_json(SNAP, request)
    country = data.draw(st.one_of(st.sampled_from(list(before.destinations) or COUNTRIES), st.sampled_from(COUNTRIES)))
    move = data.draw(st.booleans())  # also take it out of every other group
    groups = tuple(
        replace(g, countries=g.countries | {country})
        if g.id == EMBARGO_GROUP
        else replace(g, countries=g.countries - {country})
        if move
        else g
        for g in POLICY.country_groups
    )
    modified = snapshot(replace(POLICY, country_groups=groups))
    after = decide_json(modified, request)
    assert_no_new_permit(before, after)
    if country in before.destinations and before.code in AFTER_EMBARGO_CODES:
        assert (after.outcome, after.code) == ("deny", "destination-embargoed")


@PROPERTY
@given(requests(), st.sampled_from(KNOWN_ENTITIES), st.sampled_from(["listed", "possible"]))
def test_flagging_an_entity_never_permits_more(case, flagged, status):
    request, _ = case
    flag = Restriction(status, "Property-test list", "PT-1", "flagged by a property test")
    entities = tuple(replace(e, restriction=flag) if e.id == flagged else e for e in POLICY.entities)
    modified = snapshot(replace(POLICY, entities=entities))
    before, after = decide_json(SNAP, request), decide_json(modified, request)
    assert_no_new_permit(before, after)
    if flagged != request["entity"]:
        # Only the requesting entity's flag matters.
        assert without_version(after.to_dict()) == without_version(before.to_dict())
    elif before.code in STEP1_CODES:
        assert after.code == before.code
    elif status == "listed":
        assert (after.outcome, after.code) == ("deny", "restricted-party")
    else:
        assert (after.outcome, after.code) == ("review", "pending-review")
