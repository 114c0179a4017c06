"""Instants: ISO-8601 with an offset, compared as absolute times to the full precision written.

Expected values come from :mod:`datetime` (an independent calendar) and from the
scenario page's timeline; decisions are checked exactly at inclusive boundaries
and one step after them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance import decide_json
from clearance.core.instant import InstantError, format_instant, parse_instant

NS = 1_000_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ns_of(dt: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime, in integer arithmetic."""
    delta = dt - EPOCH
    return (delta.days * 86400 + delta.seconds) * NS + delta.microseconds * 1000


# --- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1970-01-01T00:00:00Z", datetime(1970, 1, 1, tzinfo=UTC)),
        ("2026-06-27T00:00:00-04:00", datetime(2026, 6, 27, 4, tzinfo=UTC)),
        ("2026-06-27T00:00-04:00", datetime(2026, 6, 27, 4, tzinfo=UTC)),
        ("2026-12-31T23:59:59-05:00", datetime(2027, 1, 1, 4, 59, 59, tzinfo=UTC)),
        ("2026-07-01T05:30:00+05:30", datetime(2026, 7, 1, tzinfo=UTC)),
        ("2026-07-01t00:00:00z", datetime(2026, 7, 1, tzinfo=UTC)),
        ("2026-07-01 00:00:00+00:00", datetime(2026, 7, 1, tzinfo=UTC)),
        ("2028-02-29T12:00:00+14:00", datetime(2028, 2, 28, 22, tzinfo=UTC)),
        ("2026-06-28T10:00:00.25-04:00", datetime(2026, 6, 28, 14, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_parse_gives_the_absolute_instant(text, expected):
    assert parse_instant(text) == ns_of(expected)


def test_the_same_instant_in_different_offsets_is_equal():
    texts = [
        "2026-09-30T23:59:59-04:00",
        "2026-10-01T03:59:59Z",
        "2026-10-01T03:59:59+00:00",
        "2026-10-01T09:29:59+05:30",
        "2026-09-30T17:59:59-10:00",
        "2026-10-01T03:59:59.000000000000Z",
    ]
    assert len({parse_instant(t) for t in texts}) == 1


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.integers(-1439, 1439),
    st.integers(0, 999),
)
@settings(max_examples=300, deadline=None)
def test_any_offset_parses_to_the_datetime_instant(local, offset_minutes, extra_ns):
    tz = timezone(timedelta(minutes=offset_minutes))
    aware = local.replace(tzinfo=tz)
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    text = f"{local:%Y-%m-%dT%H:%M:%S}.{local.microsecond:06d}{extra_ns:03d}{sign}{hours:02d}:{minutes:02d}"
    assert parse_instant(text) == ns_of(aware) + extra_ns


@pytest.mark.parametrize(
    "text",
    ["2026-06-28T10:00:00", "2026-06-28T10:00", "2026-06-28T10:00:00.5", "2026-06-28", "2026-06-28 10:00:00"],
)
def test_a_naive_time_is_rejected(text):
    with pytest.raises(InstantError, match="offset"):
        parse_instant(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-29T00:00:00Z",  # 2026 is not a leap year
        "2026-02-30T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-06-00T00:00:00Z",
        "2026-06-28T24:00:00Z",
        "2026-06-28T23:60:00Z",
        "2026-06-28T23:59:61Z",
        "2026-06-28T10:00:00+24:00",
        "2026-06-28T10:00:00-04:60",
        "yesterday",
        "",
        "2026-06-28T10:00:00Zulu",
        "2026-06-28T10:00:00.-04:00",
    ],
)
def test_impossible_or_malformed_instants_are_rejected(text):
    with pytest.raises(InstantError):
        parse_instant(text)


@pytest.mark.parametrize("value", [None, 1782446400, 1782446400.0, ["2026-06-28T10:00:00Z"]])
def test_a_non_string_is_rejected(value):
    with pytest.raises(InstantError):
        parse_instant(value)


def test_a_leap_day_is_accepted():
    assert parse_instant("2028-02-29T00:00:00Z") == ns_of(datetime(2028, 2, 29, tzinfo=UTC))


# --- precision -------------------------------------------------------------------------------


def test_a_fraction_of_a_second_is_after_the_whole_second():
    end = parse_instant("2026-09-30T23:59:59-04:00")
    assert parse_instant("2026-09-30T23:59:59.5-04:00") > end
    assert parse_instant("2026-09-30T23:59:59.000000001-04:00") == end + 1
    assert parse_instant("2026-09-30T23:59:59.999999999-04:00") < parse_instant("2026-10-01T00:00:00-04:00")


def test_digits_beyond_nanoseconds_compare_exactly():
    end = parse_instant("2026-09-30T23:59:59-04:00")
    tenth_of_a_ns = parse_instant("2026-09-30T23:59:59.0000000001-04:00")
    assert end < tenth_of_a_ns < end + 1
    assert tenth_of_a_ns == end + Fraction(1, 10)
    assert parse_instant("2026-09-30T23:59:59.1234567891Z") < parse_instant("2026-09-30T23:59:59.1234567892Z")
    assert parse_instant("2026-09-30T23:59:59.12345678910Z") == parse_instant("2026-09-30T23:59:59.1234567891Z")
    assert parse_instant("2026-09-30T23:59:59.99999999999999999999Z") < parse_instant("2026-10-01T00:00:00Z")
    # Trailing zeros do not change an instant, however many there are.
    assert parse_instant("2026-09-30T23:59:59.5000000000000Z") == parse_instant("2026-09-30T23:59:59.5Z")
    assert parse_instant("2026-09-30T23:59:59.0000000000000Z") == parse_instant("2026-09-30T23:59:59Z")


# --- formatting and round trips ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "formatted"),
    [
        ("2026-06-27T00:00:00-04:00", "2026-06-27T04:00:00Z"),
        ("2026-12-31T23:59:59-05:00", "2027-01-01T04:59:59Z"),
        ("2026-06-28T10:00:00.250-04:00", "2026-06-28T14:00:00.25Z"),
        ("2026-06-28T10:00:00.000000001+00:00", "2026-06-28T10:00:00.000000001Z"),
        ("2026-06-28T10:00:00.0000000001Z", "2026-06-28T10:00:00.0000000001Z"),
        ("2026-06-28T10:00:00.123456789012Z", "2026-06-28T10:00:00.123456789012Z"),
    ],
)
def test_format_writes_utc_without_trailing_zeros(text, formatted):
    assert format_instant(parse_instant(text)) == formatted


SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d*[1-9])?Z")


@given(st.integers(ns_of(datetime(1900, 1, 1, tzinfo=UTC)), ns_of(datetime(2200, 1, 1, tzinfo=UTC))))
@settings(max_examples=300, deadline=None)
def test_format_then_parse_is_the_identity_on_nanoseconds(ns):
    text = format_instant(ns)
    assert SHAPE.fullmatch(text), text
    assert parse_instant(text) == ns
    seconds = ns // NS
    assert text.startswith(f"{EPOCH + timedelta(seconds=seconds):%Y-%m-%dT%H:%M:%S}")


Y2026 = ns_of(datetime(2026, 1, 1, tzinfo=UTC)) // NS
Y2028 = ns_of(datetime(2028, 1, 1, tzinfo=UTC)) // NS


@given(st.integers(0, 10**21), st.integers(1, 12), st.integers(Y2026, Y2028))
@settings(max_examples=300, deadline=None)
def test_format_then_parse_is_the_identity_beyond_nanoseconds(numerator, extra_digits, seconds):
    # A sub-second part with up to 9 + 12 exact decimal digits.
    value = seconds * NS + Fraction(numerator % (NS * 10**extra_digits), 10**extra_digits)
    text = format_instant(value)
    assert SHAPE.fullmatch(text), text
    assert parse_instant(text) == value


def test_parse_then_format_is_canonical():
    assert format_instant(parse_instant("2026-07-20T09:00:00.100-04:00")) == "2026-07-20T13:00:00.1Z"
    assert parse_instant(format_instant(parse_instant("2026-07-20T09:00:00.100-04:00"))) == parse_instant(
        "2026-07-20T13:00:00.1Z"
    )


# --- decisions at the boundaries of the scenario's timeline ----------------------------------------


def request(model: str, entity: str, use_case: str, at: str, citizenships=("US",), location="US") -> dict:
    return {
        "model": model,
        "entity": entity,
        "use_case": use_case,
        "person": {"id": "p-1", "citizenships": list(citizenships), "location": location},
        "at": at,
    }


def nist_sol(at: str) -> dict:
    """A US person at NIST using GPT-5.6 Sol for research: LIC-2026-0042 territory."""
    return request("gpt-5.6-sol", "nist", "research", at)


def vector_mythos(at: str) -> dict:
    """A Canadian at the Vector Institute in Canada doing research on Mythos 5: trusted-foreign-research."""
    return request("mythos-5", "vector-institute", "research", at, citizenships=("CA",), location="CA")


def pfn_mythos(at: str) -> dict:
    """A Japanese employee of Preferred Networks in Japan on Mythos 5."""
    return request("mythos-5", "preferred-networks", "research", at, citizenships=("JP",), location="JP")


def darpa_mythos(at: str) -> dict:
    return request("mythos-5", "darpa", "cyber-defense", at)


@pytest.mark.parametrize(
    ("make", "at", "outcome", "code", "authorization"),
    [
        # LIC-2026-0042 expires 2026-09-30T23:59:59-04:00, inclusive.
        (nist_sol, "2026-09-30T23:59:59-04:00", "permit", "authorized", "LIC-2026-0042"),
        (nist_sol, "2026-10-01T03:59:59Z", "permit", "authorized", "LIC-2026-0042"),
        (nist_sol, "2026-10-01T05:29:59+01:30", "permit", "authorized", "LIC-2026-0042"),
        (nist_sol, "2026-09-30T23:59:59.000000001-04:00", "deny", "license-required", None),
        (nist_sol, "2026-09-30T23:59:59.0000000001-04:00", "deny", "license-required", None),
        (nist_sol, "2026-09-30T23:59:59.5-04:00", "deny", "license-required", None),
        (nist_sol, "2026-10-01T03:59:59.5Z", "deny", "license-required", None),
        (nist_sol, "2026-09-30T23:59:58.999999999-04:00", "permit", "authorized", "LIC-2026-0042"),
        # ... and takes effect with the partner-access control at 2026-06-26T00:00-04:00.
        (nist_sol, "2026-06-26T00:00:00-04:00", "permit", "authorized", "LIC-2026-0042"),
        (nist_sol, "2026-06-26T03:59:59.999999999Z", "permit", "not-controlled", None),
        # trusted-foreign-research ends 2026-12-31T23:59:59-05:00, inclusive.
        (vector_mythos, "2026-12-31T23:59:59-05:00", "permit", "authorized", "trusted-foreign-research"),
        (vector_mythos, "2027-01-01T04:59:59Z", "permit", "authorized", "trusted-foreign-research"),
        (vector_mythos, "2027-01-01T04:59:59.000000001Z", "deny", "license-required", None),
        (vector_mythos, "2027-01-01T04:59:59.00000000001Z", "deny", "license-required", None),
        (vector_mythos, "2026-12-31T23:59:59.5-05:00", "deny", "license-required", None),
        # Preferred Networks' coverage is suspended from 2026-07-20T09:00-04:00, inclusive.
        (pfn_mythos, "2026-07-20T08:59:59.999999999-04:00", "permit", "authorized", "trusted-foreign-research"),
        (pfn_mythos, "2026-07-20T09:00:00-04:00", "deny", "authorization-suspended", None),
        (pfn_mythos, "2026-07-20T13:00:00Z", "deny", "authorization-suspended", None),
        # The takedown (2026-06-12T00:00-04:00) and the Secretary's letter (2026-06-27T00:00-04:00).
        (darpa_mythos, "2026-06-12T03:59:59.999999999Z", "permit", "not-controlled", None),
        (darpa_mythos, "2026-06-12T04:00:00Z", "deny", "model-suspended", None),
        (darpa_mythos, "2026-06-26T23:59:59.9999999999-04:00", "deny", "model-suspended", None),
        (darpa_mythos, "2026-06-27T00:00:00-04:00", "permit", "authorized", "annex-a"),
        (darpa_mythos, "2026-06-27T04:00:00Z", "permit", "authorized", "annex-a"),
    ],
)
def test_decisions_at_and_just_after_inclusive_boundaries(example_snapshot, make, at, outcome, code, authorization):
    decision = decide_json(example_snapshot, make(at)).to_dict()
    assert (decision["outcome"], decision["code"], decision["authorization"]) == (outcome, code, authorization)
    assert parse_instant(decision["at"]) == parse_instant(at)


def test_a_suspension_reason_comes_with_its_remedy(example_snapshot):
    decision = decide_json(example_snapshot, pfn_mythos("2026-07-20T09:00:00-04:00")).to_dict()
    assert decision["remedies"][0]["code"] == "lift-suspension"
    assert "quarterly audit" in decision["remedies"][0]["reason"]
