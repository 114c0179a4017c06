"""What an applicant or a prospective user says, and how an application is stored.

A *prospect* is an organization (registered, by id, or described) plus a
prospective use: models, use cases and the users who will use them (their
nationalities and locations). An *application* is a prospect of a registered
entity with a justification; every state it passes through is a new version of
a registry record of kind ``application`` whose body is :class:`ApplicationRecord`.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..core.errors import ClearanceError
from ..policy.schema import ClauseSpec, Country, Id, InstantText

State = Literal[
    "submitted",
    "under-review",
    "awaiting-applicant",
    "intent-to-deny",
    "approved",
    "denied",
    "appealed",
    "upheld",
    "reversed",
    "withdrawn",
]
STATES: tuple[str, ...] = get_args(State)


class InputError(ClearanceError):
    """Malformed licensing input; ``problems`` are ``field.path: problem`` lines."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UserProfile(Strict):
    """One kind of prospective user: what the request's ``person`` will say."""

    citizenships: list[Country] = []
    permanent_residency: Country | None = None
    deemed_country: Country | None = None
    location: Country
    label: str = ""

    def person(self) -> dict[str, Any]:
        return {
            "citizenships": list(self.citizenships),
            "permanent_residency": self.permanent_residency,
            "deemed_country": self.deemed_country,
            "location": self.location,
        }

    def key(self) -> tuple[Any, ...]:
        return (tuple(self.citizenships), self.permanent_residency, self.deemed_country, self.location)


class Organization(Strict):
    """An organization described rather than registered (or a registered one, with what-if facts)."""

    id: Id
    name: str = ""
    country: Country | None = None
    kind: str | None = None
    facts: dict[str, Any] = {}


class Prospect(Strict):
    organization: Id | Organization
    models: list[Id] = Field(min_length=1)
    use_cases: list[Id] = Field(min_length=1)
    users: list[UserProfile] = Field(min_length=1)
    at: InstantText | None = None


class ApplicationInput(Strict):
    """What an applicant submits."""

    entity: Id
    models: list[Id] = Field(min_length=1)
    use_cases: list[Id] = Field(min_length=1)
    users: list[UserProfile] = Field(min_length=1)
    justification: str = Field(min_length=1)


class Event(Strict):
    at: InstantText
    action: str = Field(min_length=1)
    actor: str = Field(min_length=1)
    state: State
    note: str = ""
    details: dict[str, Any] = {}


class ApplicationRecord(ApplicationInput):
    """The body of one version of an ``application`` registry record: what was submitted, and its course."""

    state: State
    submitted: InstantText
    reviewer: str | None = None
    fingerprint: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    assessment: dict[str, Any]
    events: list[Event] = Field(min_length=1)
    conditions: list[ClauseSpec] = []
    licence: Id | None = None
    basis: dict[str, Any] | None = None


def parse(model: type[BaseModel], obj: Any, prefix: str = "") -> Any:
    """Validate ``obj`` against ``model``; raise :class:`InputError` naming every bad field path."""
    if not isinstance(obj, dict):
        raise InputError([f"{prefix or '(document)'}: must be a JSON object"])
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise InputError(messages(exc, prefix)) from None


def messages(exc: ValidationError, prefix: str = "") -> list[str]:
    out = []
    for err in exc.errors():
        path = prefix
        for part in err["loc"]:
            # Union branches add the type name to the path; a reader wants the field path.
            if isinstance(part, str) and (part in ("str", "Organization") or part.startswith("constrained-str")):
                continue
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "missing":
            message = "missing"
        out.append(f"{path or '(document)'}: {message}")
    return out
