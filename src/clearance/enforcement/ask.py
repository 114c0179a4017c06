"""What the enforcer takes and gives: typed, so no interface passes decisions around as dicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.decision import Decision
from ..obligations import Call, Refusal
from ..obligations.handler import Handler, Params


class AuditUnavailable(Exception):
    """The decision could not be made durable, so it must not be acted on."""


@dataclass(frozen=True)
class Subject:
    """Who asks: the credential (by key id, never its secret) and the person as the registry knows them."""

    caller: str
    entity: str | None
    person: str | None
    citizenships: tuple[str, ...] = ()
    permanent_residency: str | None = None
    deemed_country: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class Ask:
    """One call to enforce: who, which model, for what, from where, when, and how it arrived."""

    subject: Subject
    model: str
    use_case: str | None
    location: str | None
    at_ns: int
    source: str = "gateway"
    tls: bool = False
    prompt_tokens: int = 0  # an upper estimate, reserved against usage caps
    completion_tokens: int | None = None  # at most this many completion tokens are wanted
    metadata: dict[str, Any] = field(default_factory=dict)  # recorded with the decision
    prompt: str | None = None  # every message's text, joined, for the prompt guard (None: the text is not known)


@dataclass
class Enforced:
    decision: Decision
    contract: dict[str, Any]
    decision_id: int
    refusal: Refusal | None = None
    call: Call | None = None
    duties: tuple[tuple[Handler, Params], ...] = ()
    screening: Any = None  # the call's guard state (``enforcement.guarding.Screening``), when a guard acts on it

    @property
    def forward(self) -> bool:
        """The call may go ahead: permitted, and no obligation refused it."""
        return self.refusal is None and self.decision.permitted
