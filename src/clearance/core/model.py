"""The policy vocabulary as frozen values.

A :class:`Policy` is the whole regime: models with their control timelines,
use-case classes, country groups, entities and people, authorizations with their
coverage, validity and suspensions, qualification rules and tiering thresholds.
Nothing here knows any particular regime: the example world lives in a bundle.

Instants are integers (nanoseconds since the epoch, see :mod:`.instant`); an
open end is ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NOT_CONTROLLED = "not-controlled"
SUSPENDED = "suspended"
CONTROLLED = "controlled"
CONTROL_STATES = (NOT_CONTROLLED, SUSPENDED, CONTROLLED)

DEEMED = "deemed"
LOCATION = "location"
DESTINATION_ROLES = (DEEMED, LOCATION)


@dataclass(frozen=True, slots=True)
class ControlChange:
    """From ``at`` (inclusive) a model is in ``state``, by the rule ``rule``."""

    at: int
    state: str
    rule: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Condition:
    """A test on one evidence field (dotted path), e.g. ``capabilities.system-penetration``.

    Exactly one comparison is set; ``in_`` holds the ``in`` list.
    """

    field: str
    equals: Any = None
    in_: tuple[Any, ...] | None = None
    above: float | None = None
    below: float | None = None
    at_least: float | None = None
    at_most: float | None = None


@dataclass(frozen=True, slots=True)
class TierRule:
    """A model whose evidence meets any of ``any_of`` is at least ``tier``."""

    tier: str
    any_of: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class TierRaise:
    """Raise the tier by ``by`` steps (capped at the top tier) when any condition holds."""

    id: str
    by: int
    any_of: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Tiering:
    """Tiers in ascending order and the rules that turn evidence into one of them."""

    tiers: tuple[str, ...]
    rules: tuple[TierRule, ...] = ()
    raises: tuple[TierRaise, ...] = ()


@dataclass(frozen=True, slots=True)
class Model:
    """A controlled (or controllable) AI model.

    ``tier`` is the declared tier; when it is ``None`` the tier is derived from
    ``evidence`` through the policy's :class:`Tiering`.
    """

    id: str
    name: str
    developer: str | None
    tier: str | None
    evidence: Any
    timeline: tuple[ControlChange, ...]


@dataclass(frozen=True, slots=True)
class UseCaseClass:
    id: str
    prohibited: bool
    use_cases: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class CountryGroup:
    """A named set of ISO alpha-2 codes; ``includes`` names groups merged into it."""

    id: str
    name: str
    countries: frozenset[str]
    includes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Restriction:
    """A restricted-party flag: ``listed`` (confirmed) or ``possible`` (awaiting review)."""

    status: str
    list: str
    reference: str = ""
    reason: str = ""


LISTED = "listed"
POSSIBLE = "possible"


@dataclass(frozen=True, slots=True)
class Entity:
    id: str
    name: str
    country: str
    kind: str
    designations: frozenset[str] = frozenset()
    facts: tuple[tuple[str, Any], ...] = ()
    named_use_cases: frozenset[str] = frozenset()
    restriction: Restriction | None = None

    def fact(self, name: str) -> Any:
        for key, value in self.facts:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Person:
    """A person the policy knows by id; only restrictions are attached for now."""

    id: str
    restriction: Restriction | None = None


@dataclass(frozen=True, slots=True)
class Coverage:
    """Who an authorization covers: employees of these entities.

    An entity is covered when it is named, carries one of ``designations``, or is
    the developer of the requested model and ``model_developer`` is set.
    """

    entities: frozenset[str] = frozenset()
    designations: frozenset[str] = frozenset()
    model_developer: bool = False


@dataclass(frozen=True, slots=True)
class DestinationRule:
    """Which countries one destination role may be.

    A country is covered when (``any`` or it is in ``groups``/``countries``) and it
    is not in ``except_groups``. A rule with nothing set covers no country.
    """

    any: bool = False
    groups: tuple[str, ...] = ()
    countries: frozenset[str] = frozenset()
    except_groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UseCaseRule:
    """Which use cases an authorization covers."""

    use_cases: frozenset[str] = frozenset()
    classes: tuple[str, ...] = ()
    entity_named: bool = False
    per_entity: tuple[tuple[str, frozenset[str]], ...] = ()


@dataclass(frozen=True, slots=True)
class Suspension:
    """Coverage suspended from ``start`` to ``end`` (inclusive; ``None`` = open).

    ``entity`` ``None`` suspends the whole authorization.
    """

    id: str
    entity: str | None
    start: int
    end: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class Clause:
    """A machine code with parameters: an obligation attached to a permit, or a
    remedy that would change a deny (``{"code": "obtain-cmmc-level", "level": 3}``)."""

    code: str
    params: tuple[tuple[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, **dict(self.params)}


Obligation = Clause
Remedy = Clause


@dataclass(frozen=True, slots=True)
class Authorization:
    id: str
    kind: str
    title: str
    models: frozenset[str]
    start: int
    end: int | None
    coverage: Coverage
    destinations: tuple[tuple[str, DestinationRule], ...]
    use_cases: UseCaseRule
    obligations: tuple[Obligation, ...] = ()
    suspensions: tuple[Suspension, ...] = ()
    message: str = ""

    def destination_rule(self, role: str) -> DestinationRule:
        for name, rule in self.destinations:
            if name == role:
                return rule
        return DestinationRule()


@dataclass(frozen=True, slots=True)
class Requirement:
    """A qualification fact an entity must have, and the remedy when it lacks it.

    ``at_least`` compares numbers; otherwise the fact must equal ``equals``.
    """

    fact: str
    label: str
    remedy: Remedy
    at_least: float | None = None
    equals: Any = True


@dataclass(frozen=True, slots=True)
class Waiver:
    """Entities of one of ``kinds`` that carry one of ``designations`` count as qualified."""

    kinds: frozenset[str] = frozenset()
    designations: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class QualificationRule:
    id: str
    tiers: frozenset[str]
    requirements: tuple[Requirement, ...]
    waivers: tuple[Waiver, ...] = ()


@dataclass(frozen=True, slots=True)
class Directive:
    """A dated act of the regulator; its effects are already merged into model timelines."""

    id: str
    at: int
    title: str
    effects: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """The regulating country and the group whose destinations are always denied."""

    country: str
    embargo_groups: tuple[str, ...] = ()
    deemed_rule: str = "most-recent"


@dataclass(frozen=True, slots=True)
class Policy:
    """A whole regime, validated. Build it with :mod:`clearance.policy`."""

    id: str
    title: str
    jurisdiction: Jurisdiction
    tiering: Tiering
    models: tuple[Model, ...]
    use_case_classes: tuple[UseCaseClass, ...]
    country_groups: tuple[CountryGroup, ...]
    entities: tuple[Entity, ...]
    authorizations: tuple[Authorization, ...]
    qualification: tuple[QualificationRule, ...] = ()
    directives: tuple[Directive, ...] = ()
    persons: tuple[Person, ...] = ()
    meta: tuple[tuple[str, Any], ...] = field(default=())
