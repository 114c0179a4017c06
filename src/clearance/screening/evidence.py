"""What a query says beside the name, and how it bears on a list entry.

A name alone is weak evidence; countries, kind (person, organization, vessel,
aircraft), dates of birth, nationalities and identifiers (passport, tax or
registration numbers, IMO) either support a hit or contradict it. Each
comparison answers ``agrees``, ``differs`` or ``None`` (one side does not say),
and only a statement on *both* sides counts: a list entry without a date of
birth is not contradicted by a query that has one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .lists import ListEntry
from .normalize import country_code, is_organization_name, legal_form_countries

PERSON = "person"
ORGANIZATION = "organization"
OBJECTS = frozenset({"vessel", "aircraft"})
_KINDS = {"individual": PERSON, "person": PERSON, "entity": ORGANIZATION, "organization": ORGANIZATION,
          "company": ORGANIZATION, "vessel": "vessel", "aircraft": "aircraft"}
_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


@dataclass(frozen=True)
class Evidence:
    """A query's facts beside its name, each optional."""

    countries: tuple[str, ...] = ()  # ISO codes (addresses, registration)
    kind: str | None = None  # ``person``, ``organization``, ``vessel``, ``aircraft`` or None
    kind_said: str = ""  # where the kind came from: ``given`` or ``legal form``
    dates_of_birth: tuple[str, ...] = ()  # ``YYYY[-MM[-DD]]``
    nationalities: tuple[str, ...] = ()  # ISO codes
    ids: tuple[str, ...] = ()  # numbers, optionally ``<type>: <number>``
    legal_countries: tuple[str, ...] = ()  # where the name's legal form (``OOO``, ``GmbH``) is registered

    @classmethod
    def of(cls, name: str, countries=(), kind: str | None = None, dates_of_birth=(), nationalities=(),
           ids=()) -> Evidence:
        """Read loose query fields: country names or codes, ``entity``/``individual``, dates, numbers."""
        stated = _KINDS.get((kind or "").strip().lower())
        said = "given" if stated else ""
        if stated is None and is_organization_name(name):
            stated, said = ORGANIZATION, "legal form"
        return cls(
            countries=_codes(countries),
            kind=stated,
            kind_said=said,
            dates_of_birth=tuple(d for d in (normal_date(x) for x in dates_of_birth) if d),
            nationalities=_codes(nationalities),
            ids=tuple(dict.fromkeys(str(i).strip() for i in ids if str(i).strip())),
            legal_countries=legal_form_countries(name),
        )


def entry_kind(entry: ListEntry) -> str | None:
    return _KINDS.get(entry.kind.lower()) if entry.kind else None


def normal_date(text: str) -> str | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (slashes and dots read as dashes); else None."""
    cleaned = str(text).strip().replace("/", "-").replace(".", "-")
    return cleaned if _DATE.match(cleaned) else None


def compare_dates(query: tuple[str, ...], listed: tuple[str, ...]) -> tuple[str | None, str]:
    """Dates agree when they agree as far as both are precise (``1965`` agrees with ``1965-07-01``)."""
    if not query or not listed:
        return None, ""
    for q in query:
        for t in listed:
            n = min(len(q), len(t))
            if q[:n] == t[:n]:
                return "agrees", q if len(q) >= len(t) else t
    return "differs", f"{', '.join(query)} vs {', '.join(listed)}"


def compare_ids(query: tuple[str, ...], listed: tuple[str, ...]) -> str | None:
    """The listed identifier a query's identifier equals (letters and digits only, case folded), if any."""
    if not query or not listed:
        return None
    wanted = {_id_number(q) for q in query} - {""}
    return next((t for t in listed if _id_number(t) in wanted), None)


def compare_countries(query: tuple[str, ...], listed: tuple[str, ...]) -> tuple[str | None, str]:
    if not query or not listed:
        return None, ""
    common = sorted(set(query) & set(listed))
    if common:
        return "agrees", ",".join(common)
    return "differs", f"{','.join(query)} vs {','.join(listed)}"


def _id_number(text: str) -> str:
    number = "".join(ch for ch in text.rsplit(":", 1)[-1].upper() if ch.isalnum())
    return number.removeprefix("IMO") if number.startswith("IMO") and number[3:].isdigit() else number


def _codes(values) -> tuple[str, ...]:
    if isinstance(values, str):
        values = [values]
    return tuple(dict.fromkeys(c for c in (country_code(str(x)) for x in values) if c))
