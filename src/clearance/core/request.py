"""Requests: who wants to use which model, for what, from where, and when.

:func:`parse_request` turns a decoded JSON object into a :class:`Request`, or
raises :class:`~clearance.core.errors.RequestError` naming the field at fault.
Checks that need the policy (is this person a foreign person? is the deemed
country the home country?) happen in ``decide()``, which reports them as
``invalid-request`` too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .countries import is_country
from .errors import RequestError
from .instant import Instant, InstantError, format_instant, instant_key, parse_instant

ACTIONS = ("inference", "fine-tune", "weights-download")

_REQUEST_FIELDS = frozenset({"model", "entity", "person", "use_case", "action", "at"})
_PERSON_FIELDS = frozenset(
    {"id", "citizenships", "permanent_residency", "deemed_country", "location", "employer"}
)
_COUNTRY = re.compile(r"[A-Za-z]{2}")
# Control characters never belong in an id, and a NUL cannot even be stored in a PostgreSQL
# text column: refused here, by field, before any store sees them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def control_character(value: str) -> str | None:
    """A description of the first control character in ``value`` (``U+0000 at 8``), or ``None``."""
    found = _CONTROL.search(value)
    return None if found is None else f"U+{ord(found.group()):04X} at {found.start()}"


@dataclass(frozen=True, slots=True)
class PersonRef:
    """The person making a request, as the request describes them."""

    id: str | None
    citizenships: tuple[str, ...]
    permanent_residency: str | None
    deemed_country: str | None
    location: str
    employer: str | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """One access request; ``at`` is nanoseconds since the epoch (see :mod:`.instant`).

    ``key`` gathers every field a decision depends on except the instant, so a
    compiled policy can reuse a verdict for identical requests.
    """

    model: str
    entity: str
    use_case: str
    person: PersonRef
    at: Instant
    action: str = "inference"
    at_key: int = field(init=False, repr=False, compare=False)
    key: tuple[Any, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Computed once here so the hot path of decide() only reads them. ``action``
        # is left out: no step reads it, so it cannot change a verdict (a step that
        # starts to read it must add it here and to decide's facts key).
        p = self.person
        object.__setattr__(self, "at_key", instant_key(self.at))
        object.__setattr__(
            self,
            "key",
            (
                self.model,
                self.entity,
                self.use_case,
                p.employer,
                p.citizenships,
                p.permanent_residency,
                p.deemed_country,
                p.location,
            ),
        )


def request_document(req: Request) -> dict[str, Any]:
    """The contract's JSON form of ``req`` (what ``parse_request`` would read back as ``req``)."""
    p = req.person
    person: dict[str, Any] = {"id": p.id, "citizenships": list(p.citizenships), "location": p.location}
    for name in ("permanent_residency", "deemed_country", "employer"):
        value = getattr(p, name)
        if value is not None:
            person[name] = value
    return {"model": req.model, "entity": req.entity, "use_case": req.use_case, "person": person,
            "action": req.action, "at": format_instant(req.at)}


def checked_request(model: Any, entity: Any, use_case: Any, person: PersonRef, at: Instant,
                    action: str = "inference") -> Request:
    """A request from typed fields, checked as :func:`parse_request` checks a document.

    For callers that hold the facts already (the gateway's registry records): no document
    is built and parsed again, but a bad value still raises the same field-named error.
    """
    fields = {"model": model, "entity": entity, "use_case": use_case}
    for name, value in fields.items():
        if value is None:
            raise RequestError(name, "missing")
        if not isinstance(value, str) or not value.strip():
            raise RequestError(name, f"must be a non-empty string, not {_kind(value)}", value)
        _no_control(value, name)
    if person.id is not None and (not isinstance(person.id, str) or not person.id):
        raise RequestError("person.id", "must be a non-empty string", person.id)
    if person.id is not None:
        _no_control(person.id, "person.id")
    checked = PersonRef(
        person.id,
        tuple(_country(c, f"person.citizenships[{i}]") for i, c in enumerate(person.citizenships)),
        _optional_country(person.permanent_residency, "person.permanent_residency"),
        _optional_country(person.deemed_country, "person.deemed_country"),
        _country(person.location, "person.location") if person.location is not None else _missing("person.location"),
        person.employer,
    )
    return Request(model, entity, use_case, checked, at, action)


def _missing(where: str) -> str:
    raise RequestError(where, "missing")


def parse_request(obj: Any, now: Instant | None = None) -> Request:
    """Validate a decoded request object against the contract.

    ``now`` fills a missing ``at``; without it a missing ``at`` is an error, so
    the core never reads a clock.
    """
    if not isinstance(obj, dict):
        raise RequestError("", f"a request must be a JSON object, not {_kind(obj)}")
    _no_unknown(obj, _REQUEST_FIELDS, "")
    model = _identifier(obj, "model")
    entity = _identifier(obj, "entity")
    use_case = _identifier(obj, "use_case")
    person = _person(obj.get("person"))
    action = obj.get("action", "inference")
    if action is None:
        action = "inference"
    if action not in ACTIONS:
        raise RequestError("action", f"`{action}` is not one of {', '.join(ACTIONS)}", action)
    raw_at = obj.get("at")
    if raw_at is None:
        if now is None:
            raise RequestError("at", "missing, and no current time was supplied")
        at = now
    else:
        try:
            at = parse_instant(raw_at)
        except InstantError as exc:
            raise RequestError("at", str(exc), raw_at) from None
    return Request(model, entity, use_case, person, at, action)


def _person(obj: Any) -> PersonRef:
    if obj is None:
        raise RequestError("person", "missing")
    if not isinstance(obj, dict):
        raise RequestError("person", f"must be an object, not {_kind(obj)}", obj)
    _no_unknown(obj, _PERSON_FIELDS, "person.")
    pid = obj.get("id")
    if pid is not None and (not isinstance(pid, str) or not pid):
        raise RequestError("person.id", "must be a non-empty string", pid)
    if pid is not None:
        _no_control(pid, "person.id")
    raw = obj.get("citizenships")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise RequestError("person.citizenships", f"must be a list of country codes, not {_kind(raw)}", raw)
    citizenships = tuple(_country(c, f"person.citizenships[{i}]") for i, c in enumerate(raw))
    residency = _optional_country(obj.get("permanent_residency"), "person.permanent_residency")
    deemed = _optional_country(obj.get("deemed_country"), "person.deemed_country")
    if obj.get("location") is None:
        raise RequestError("person.location", "missing")
    location = _country(obj["location"], "person.location")
    employer = obj.get("employer")
    if employer is not None and (not isinstance(employer, str) or not employer):
        raise RequestError("person.employer", "must be a non-empty string", employer)
    if employer is not None:
        _no_control(employer, "person.employer")
    return PersonRef(pid, citizenships, residency, deemed, location, employer)


def _identifier(obj: dict[str, Any], name: str) -> str:
    value = obj.get(name)
    if value is None:
        raise RequestError(name, "missing")
    if not isinstance(value, str) or not value.strip():
        raise RequestError(name, f"must be a non-empty string, not {_kind(value)}", value)
    _no_control(value, name)
    return value


def _no_control(value: str, where: str) -> None:
    found = control_character(value)
    if found is not None:
        raise RequestError(where, f"must not contain control characters (found {found})", value)


def _country(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _COUNTRY.fullmatch(value) or not is_country(value.upper()):
        raise RequestError(where, f"`{value}` is not an ISO 3166-1 alpha-2 country code", value)
    return value.upper()


def _optional_country(value: Any, where: str) -> str | None:
    return None if value is None else _country(value, where)


def _no_unknown(obj: dict[str, Any], allowed: frozenset[str], prefix: str) -> None:
    for name in obj:
        if name not in allowed:
            raise RequestError(f"{prefix}{name}", "unknown field", name)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number" if isinstance(value, (int, float)) else type(value).__name__
    )
