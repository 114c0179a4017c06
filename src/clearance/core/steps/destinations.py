"""Destinations of a request by the deemed-export rules, and step 6 (embargo).

A person with the home country among their citizenships, or as permanent
residency, is a home person (a "US person" under the EAR). For anyone else
access is a deemed export: under ``most-recent`` (EAR 734.13(b)) to one country,
the request's ``deemed_country``, else the permanent residency, else the last
listed citizenship; under ``all`` (ITAR 120.50(b)) to every citizenship and
residency. Access from a location outside the home country is an export to
that location. Each destination keeps its role (``deemed`` or ``location``),
since authorizations cover the roles separately.
"""

from __future__ import annotations

from ..decision import Code, Outcome, Reason, Verdict
from ..errors import RequestError
from ..evaluation import Evaluation
from ..model import DEEMED, LOCATION
from ..request import PersonRef


def resolve(person: PersonRef, home: str, rule: str) -> tuple[tuple[tuple[str, str], ...], str]:
    """The (role, country) destinations of a person, and which rule of thumb gave the deemed ones."""
    if home in person.citizenships or person.permanent_residency == home:
        return ((LOCATION, person.location),) if person.location != home else (), "home person"
    else:
        if person.deemed_country == home:
            raise RequestError("person.deemed_country", f"must not be `{home}` for a foreign person", home)
        if rule == "all":
            countries = list(dict.fromkeys([*person.citizenships, *filter(None, [person.permanent_residency])]))
            if person.deemed_country and person.deemed_country not in countries:
                countries.append(person.deemed_country)
            source = "every citizenship and residency"
        elif person.deemed_country:
            countries, source = [person.deemed_country], "deemed_country as given"
        elif person.permanent_residency:
            countries, source = [person.permanent_residency], "permanent residency"
        elif person.citizenships:
            countries, source = [person.citizenships[-1]], "last listed citizenship, by default"
        else:
            countries, source = [], ""
        if not countries:
            raise RequestError("person", "a foreign person needs citizenships, permanent_residency or deemed_country")
        dests = [(DEEMED, c) for c in countries]
    if person.location != home:
        dests.append((LOCATION, person.location))
    return tuple(dests), source


def describe(destinations: tuple[tuple[str, str], ...], source: str, home: str) -> str:
    """A sentence saying where a request exports to and why, for the rule chain."""
    deemed = [c for role, c in destinations if role == DEEMED]
    text = f"deemed export to {', '.join(deemed)} ({source})" if deemed else f"a {home} person: no deemed export"
    located = [c for role, c in destinations if role == LOCATION]
    return text + (f"; export to location {located[0]}" if located else "")


def check(ev: Evaluation) -> Verdict | None:
    policy = ev.policy
    for role, country in ev.destinations:
        if country in policy.embargoed:
            message = f"destination `{country}` ({role}) is in embargoed group `{policy.embargo_rule}`"
            reason = Reason(Code.DESTINATION_EMBARGOED, policy.embargo_rule, message)
            return ev.verdict("destinations", Outcome.DENY, Code.DESTINATION_EMBARGOED, (reason,))
    if ev.trace:
        ev.passed("destinations", policy.embargo_rule or "destinations", f"no destination embargoed: {', '.join(ev.countries) or 'none'}")
    return None
