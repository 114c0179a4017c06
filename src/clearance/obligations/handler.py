"""The shape every obligation handler has, and what it works on.

A :class:`Call` is one permitted call as the enforcer sees it: who, which authorization,
how it arrived, and the services a step may use (the usage counters). Steps never read a
clock: the call carries its instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict


class Params(BaseModel):
    """An obligation's parameters: unknown keys are errors, values are checked strictly."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Counters(Protocol):
    """Usage counters shared by every gateway process (see ``clearance.enforcement.counters``)."""

    async def reserve(self, scope: str, day: str, tokens: int, limit: int, least: int) -> tuple[int, int]:
        """Atomically add up to ``tokens`` if at least ``least`` fit under ``limit``.

        Returns ``(granted, used)``: ``granted`` is 0 when refused, and ``used`` is the
        counter after the reservation (before it, when refused).
        """
        ...

    async def settle(self, scope: str, day: str, delta: int) -> int: ...


@dataclass(frozen=True)
class Refusal:
    """A call refused by an obligation's before-step: HTTP status, code, message and details."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    event: dict[str, Any] | None = None  # a ``monitoring`` record to write with the decision


@dataclass
class Call:
    """A permitted call under enforcement; steps read it and note what they did."""

    entity: str | None
    person: str | None
    model: str
    authorization: str | None
    at_ns: int
    day: str
    reset: str
    tls: bool
    prompt_tokens: int  # an upper estimate of the prompt's tokens
    completion_tokens: int | None  # what the caller asked for at most (max_tokens), if anything
    counters: Counters | None = None
    guarded: bool = False  # the gateway has a prompt guard (a `guardrail` obligation needs one)
    # Filled in by the before-steps:
    completion_allowance: int | None = None  # the most completion tokens the call may be served
    reservations: list[Any] = field(default_factory=list)
    record_content: bool = False
    enforcement: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """How a forwarded call ended: upstream status and the tokens it used (``None``: not known)."""

    status: int
    total_tokens: int | None


class Steps:
    """Handlers inherit the steps they do not need: nothing before, nothing after."""

    async def before(self, params: Params, call: Call) -> Refusal | None:
        return None

    async def after(self, params: Params, call: Call, outcome: Outcome) -> None:
        return None


class Handler(Protocol):
    code: ClassVar[str]
    params: ClassVar[type[Params]]

    async def before(self, params: Params, call: Call) -> Refusal | None:
        """Run before the call is forwarded; a refusal stops it."""
        ...

    async def after(self, params: Params, call: Call, outcome: Outcome) -> None:
        """Run once the answer is out (however it ended)."""
        ...
