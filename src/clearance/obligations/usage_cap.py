"""``usage-cap``: tokens a day per entity (or person) and authorization, never overshot.

Before forwarding, the call reserves its prompt (an upper estimate) plus the completion it
may get, in one atomic step on the shared counter; a reservation that would pass the cap is
cut to what is left, and refused when not even the prompt and one token fit. The call is
then forwarded with ``max_tokens`` no larger than what was reserved, so the served total
stays within the cap however many calls are in flight in however many processes. After the
answer the reservation is settled to the real count (the unused part given back).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from .handler import Call, Outcome, Params, Refusal, Steps

NS = 1_000_000_000


class UsageCapParams(Params):
    tokens_per_day: int = Field(ge=0)
    per: Literal["entity", "person"] = "entity"


@dataclass
class Reservation:
    scope: str
    day: str
    granted: int
    settled: bool = False


class UsageCap(Steps):
    code: ClassVar[str] = "usage-cap"
    params: ClassVar[type[Params]] = UsageCapParams

    async def before(self, params: Params, call: Call) -> Refusal | None:
        assert isinstance(params, UsageCapParams)
        if call.counters is None:
            return Refusal(503, "store-unavailable", "usage counters are not configured, so a capped call is not served")
        who = call.entity if params.per == "entity" else call.person
        scope = f"{params.per}:{who}/{call.authorization or '-'}"
        wanted = call.prompt_tokens + (call.completion_tokens or 0)
        least = call.prompt_tokens + (1 if call.completion_tokens else 0)
        granted, used = await call.counters.reserve(scope, call.day, wanted, params.tokens_per_day, least)
        if granted == 0 and wanted > 0:
            event = {"event": "cap-exceeded", "entity": call.entity, "person": call.person, "model": call.model,
                     "authorization": call.authorization, "scope": scope, "used": used,
                     "tokens_per_day": params.tokens_per_day, "day": call.day}
            message = (f"usage cap of {params.tokens_per_day:,} tokens a day reached for {scope} "
                       f"({used:,} used, this call needs {least:,}); resets {call.reset}")
            headers = {"x-clearance-cap-reset": call.reset, "retry-after": str(_seconds_until(call.reset, call.at_ns))}
            return Refusal(429, "usage-cap-exceeded", message, headers,
                           {"reset": call.reset, "used": used, "tokens_per_day": params.tokens_per_day}, event)
        call.reservations.append(Reservation(scope, call.day, granted))
        allowance = granted - call.prompt_tokens
        if call.completion_allowance is None or allowance < call.completion_allowance:
            call.completion_allowance = allowance
        call.enforcement.setdefault("caps", []).append({"scope": scope, "reserved": granted, "used": used,
                                                        "tokens_per_day": params.tokens_per_day})
        return None

    async def after(self, params: Params, call: Call, outcome: Outcome) -> None:
        for reservation in call.reservations:
            if reservation.settled or not isinstance(reservation, Reservation):
                continue
            reservation.settled = True
            if outcome.total_tokens is None:
                continue  # unknown use: the reservation stands, which errs on the cap's side
            delta = outcome.total_tokens - reservation.granted
            if delta and call.counters is not None:
                await call.counters.settle(reservation.scope, reservation.day, delta)


def _seconds_until(reset: str, now_ns: int) -> int:
    target = datetime.fromisoformat(reset.replace("Z", "+00:00")).timestamp()
    return max(1, int(target - now_ns / NS))
