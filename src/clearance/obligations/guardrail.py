"""``guardrail``: the permit requires the gateway's guards to act at least at ``level`` (``flag`` or ``block``).

The level raises every label of the bundle's ``guardrails`` plan for the call (see
``clearance.guardrails.policy``); the enforcer reads it before any cap is reserved. A
gateway without a guard cannot honour the condition, so such a call is refused, never
forwarded unguarded.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from .handler import Call, Params, Refusal, Steps


class GuardrailParams(Params):
    level: Literal["flag", "block"]


class Guardrail(Steps):
    code: ClassVar[str] = "guardrail"
    params: ClassVar[type[Params]] = GuardrailParams

    async def before(self, params: Params, call: Call) -> Refusal | None:
        assert isinstance(params, GuardrailParams)
        if not call.guarded:
            return Refusal(403, "unsupported-obligation",
                           f"this authorization requires guardrails at level `{params.level}` and this gateway "
                           "has no guard configured")
        call.enforcement["guardrail_level"] = params.level
        return None
