"""The bundle file format, as pydantic models.

A bundle is a directory of YAML files. Each file holds one or more top-level
sections (``policy``, ``jurisdiction``, ``tiering``, ``qualification``,
``models``, ``directives``, ``use_case_classes``, ``country_groups``,
``entities``, ``persons``, ``authorizations``); list sections may be split over
several files. Every mapping rejects unknown keys, so a typo is an error, not a
silently ignored rule.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ..core.countries import is_country
from ..core.instant import InstantError, parse_instant


def _instant(value: str) -> int:
    try:
        parsed = parse_instant(value)
    except InstantError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(parsed, int):
        raise ValueError("policy instants are limited to nanosecond precision")
    return parsed


def _country(value: str) -> str:
    if not is_country(value.upper()):
        raise ValueError(f"`{value}` is not an ISO 3166-1 alpha-2 country code")
    return value.upper()


InstantText = Annotated[str, AfterValidator(_instant)]
Country = Annotated[str, AfterValidator(_country)]
Id = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicyInfo(Strict):
    id: Id
    title: str = ""
    description: str = ""
    source: str = ""


class JurisdictionSpec(Strict):
    country: Country
    embargo_groups: list[Id] = []
    deemed_export: Literal["most-recent", "all"] = "most-recent"


class ConditionSpec(Strict):
    field: str = Field(min_length=1)
    equals: Any = None
    in_: list[Any] | None = Field(None, alias="in")
    above: float | None = None
    below: float | None = None
    at_least: float | None = None
    at_most: float | None = None

    @model_validator(mode="after")
    def _one_comparison(self) -> ConditionSpec:
        given = [n for n in ("equals", "in_", "above", "below", "at_least", "at_most") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of equals, in, above, below, at_least, at_most")
        return self


class TierRuleSpec(Strict):
    tier: str
    any_of: list[ConditionSpec] = Field(min_length=1)


class TierRaiseSpec(Strict):
    id: Id
    by: int = Field(1, ge=1)
    any_of: list[ConditionSpec] = Field(min_length=1)


class UniversalitySpec(Strict):
    """A jailbreak template is universal when its success rate reaches ``success_rate`` in ``categories`` categories.

    Applied when a jailbreak run is accepted as evidence (``guardrails.universal_jailbreak``).
    """

    success_rate: float = Field(gt=0, le=1)
    categories: int = Field(ge=1)


class TieringSpec(Strict):
    tiers: list[str] = Field(min_length=1)
    rules: list[TierRuleSpec] = []
    raises: list[TierRaiseSpec] = []
    universality: UniversalitySpec | None = None


class ClauseSpec(BaseModel):
    """A code with free parameters (``{code: usage-cap, tokens_per_day: 500000}``)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    code: Id


class RequirementSpec(Strict):
    fact: str = Field(min_length=1)
    label: str = ""
    at_least: float | None = None
    equals: Any = True
    remedy: ClauseSpec


class WaiverSpec(Strict):
    kinds: list[str] = []
    designations: list[str] = []


class QualificationSpec(Strict):
    id: Id
    tiers: list[str] = Field(min_length=1)
    requirements: list[RequirementSpec] = Field(min_length=1)
    waivers: list[WaiverSpec] = []


class ControlSpec(Strict):
    id: Id
    at: InstantText
    state: Literal["not-controlled", "suspended", "controlled"]
    note: str = ""


class ModelSpec(Strict):
    id: Id
    name: str = ""
    developer: Id | None = None
    released: InstantText | None = None
    tier: str | None = None
    evidence: dict[str, Any] | None = None
    controls: list[ControlSpec] = []


class EffectSpec(Strict):
    model: Id
    state: Literal["not-controlled", "suspended", "controlled"]


class DirectiveSpec(Strict):
    id: Id
    at: InstantText
    title: str = ""
    note: str = ""
    effects: list[EffectSpec] = []


class UseCaseClassSpec(Strict):
    id: Id
    description: str = ""
    prohibited: bool = False
    use_cases: list[Id] = []


class CountryGroupSpec(Strict):
    id: Id
    name: str = ""
    countries: list[Country] = []
    includes: list[Id] = []


class RestrictionSpec(Strict):
    status: Literal["listed", "possible"]
    list: str = Field(min_length=1)
    reference: str = ""
    reason: str = ""


class EntitySpec(Strict):
    id: Id
    name: str = ""
    country: Country
    kind: str = Field(min_length=1)
    designations: list[Id] = []
    facts: dict[str, Any] = {}
    named_use_cases: list[Id] = []
    restriction: RestrictionSpec | None = None


class PersonSpec(Strict):
    id: Id
    restriction: RestrictionSpec | None = None


class ValiditySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_: InstantText = Field(alias="from")
    until: InstantText | None = None


class CoverageSpec(Strict):
    entities: list[Id] = []
    designations: list[Id] = []
    model_developer: bool = False


class DestinationRuleSpec(Strict):
    any: bool = False
    groups: list[Id] = []
    countries: list[Country] = []
    except_groups: list[Id] = []


class DestinationsSpec(Strict):
    deemed: DestinationRuleSpec = DestinationRuleSpec()
    location: DestinationRuleSpec = DestinationRuleSpec()


class UseCaseRuleSpec(Strict):
    use_cases: list[Id] = []
    classes: list[Id] = []
    entity_named: bool = False
    per_entity: dict[str, list[Id]] = {}


class SuspensionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    id: Id
    entity: Id | None = None
    from_: InstantText = Field(alias="from")
    until: InstantText | None = None
    reason: str = ""


class AuthorizationSpec(Strict):
    id: Id
    kind: str = Field(min_length=1)
    title: str = ""
    message: str = ""
    models: list[Id] = Field(min_length=1)
    valid: ValiditySpec
    covers: CoverageSpec
    destinations: DestinationsSpec = DestinationsSpec()
    use_cases: UseCaseRuleSpec
    obligations: list[ClauseSpec] = []
    suspensions: list[SuspensionSpec] = []


class LicensingSpec(Strict):
    """The licensing process's clocks, in calendar days (defaults: 15 CFR 750 and 756).

    ``pause_in`` lists the application states in which the processing clock stops
    (750.4(b): time waiting on the applicant). ``None`` for a deadline means none.
    """

    first_action_days: int | None = Field(9, ge=1)
    resolution_days: int | None = Field(90, ge=1)
    response_days: int | None = Field(20, ge=1)
    denial_final_days: int | None = Field(45, ge=1)
    appeal_window_days: int | None = Field(45, ge=1)
    appeal_decision_days: int | None = Field(None, ge=1)
    information_response_days: int | None = Field(None, ge=1)
    due_soon_days: int = Field(7, ge=0)
    licence_validity_days: int = Field(1461, ge=1)
    pause_in: list[Literal["awaiting-applicant", "intent-to-deny"]] = ["awaiting-applicant", "intent-to-deny"]
    default_conditions: list[ClauseSpec] = []


class ScreeningSpec(Strict):
    """Restricted-party screening: outcome thresholds and the weight of supporting evidence.

    Scores run 0..1. ``match`` and above records a finding of status ``on_match``
    (``listed``: the party is denied; ``possible``: it waits for review);
    ``possible`` and above records a ``possible`` finding (``review``). Country
    agreement adds ``country_agrees``; disagreement subtracts ``country_differs``;
    a person screened against an organization (or the reverse) loses ``kind_differs``.
    """

    match: float = Field(0.92, gt=0, le=1)
    possible: float = Field(0.84, gt=0, le=1)
    on_match: Literal["listed", "possible"] = "listed"
    country_agrees: float = Field(0.02, ge=0, le=0.2)
    country_differs: float = Field(0.05, ge=0, le=0.5)
    kind_differs: float = Field(0.08, ge=0, le=0.5)

    @model_validator(mode="after")
    def _ordered(self) -> ScreeningSpec:
        if self.possible > self.match:
            raise ValueError("possible must not exceed match")
        return self


def _setting(value: Any) -> Any:
    # `jailbreak: block` is short for `jailbreak: {action: block}`: at the guard's own operating point.
    return {"action": value} if isinstance(value, str) else value


class GuardSettingSpec(Strict):
    """What the gateway does when a guard gives a prompt this label (at the guard's own operating
    point, the thresholds shipped with its model) or, with ``threshold`` (0..1), when the guard's
    score for the label reaches it."""

    action: Literal["block", "flag", "off"]
    threshold: float | None = Field(None, gt=0, le=1)


GuardSetting = Annotated[GuardSettingSpec, BeforeValidator(_setting)]


class GuardPromptSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)
    prohibited_domain: GuardSetting | None = Field(None, alias="prohibited-domain")
    harmful: GuardSetting | None = None
    jailbreak: GuardSetting | None = None


class GuardAnswerSpec(Strict):
    harmful: GuardSetting | None = None


class GuardWhenSpec(Strict):
    """Which calls a rule applies to: every list given must contain the call's value (none given: every call)."""

    tiers: list[str] = []
    use_cases: list[Id] = []
    authorizations: list[Id] = []


class GuardRuleSpec(Strict):
    id: Id
    when: GuardWhenSpec = GuardWhenSpec()
    prompt: GuardPromptSpec = GuardPromptSpec()
    answer: GuardAnswerSpec = GuardAnswerSpec()
    # How much of a long prompt the guard reads for these calls: `sampled` (head, tail, slices) or
    # `full` (every slice, so padding cannot hide a request; it costs time in proportion to length).
    scan: Literal["sampled", "full"] | None = None
    # How the prompt guard reads these calls' prompts: `lexical` (words and phrases, the default) or
    # `contextual` (then also a sentence encoder, for the harmful label: more caught and fewer false
    # alarms at about a hundred times the CPU; see clearance.guardrails.contextual).
    reading: Literal["lexical", "contextual"] | None = None
    note: str = ""


class GuardrailsSpec(Strict):
    """The gateway's input and answer guards: per label, block, flag or off (see ``clearance.guardrails.policy``)."""

    stream_window_chars: int = Field(400, ge=16, le=100_000)
    rules: list[GuardRuleSpec] = []


class BundleFile(Strict):
    """What one file may hold; every section is optional in a single file."""

    policy: PolicyInfo | None = None
    jurisdiction: JurisdictionSpec | None = None
    tiering: TieringSpec | None = None
    qualification: list[QualificationSpec] = []
    models: list[ModelSpec] = []
    directives: list[DirectiveSpec] = []
    use_case_classes: list[UseCaseClassSpec] = []
    country_groups: list[CountryGroupSpec] = []
    entities: list[EntitySpec] = []
    persons: list[PersonSpec] = []
    authorizations: list[AuthorizationSpec] = []
    licensing: LicensingSpec | None = None
    screening: ScreeningSpec | None = None
    guardrails: GuardrailsSpec | None = None


SINGLE_SECTIONS = ("policy", "jurisdiction", "tiering", "licensing", "screening", "guardrails")
LIST_SECTIONS = (
    "qualification",
    "models",
    "directives",
    "use_case_classes",
    "country_groups",
    "entities",
    "persons",
    "authorizations",
)
