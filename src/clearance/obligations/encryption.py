"""``encryption-required``: the call must have arrived over TLS (directly or as a trusted proxy says)."""

from __future__ import annotations

from typing import ClassVar

from .handler import Call, Params, Refusal, Steps


class EncryptionParams(Params):
    pass


class EncryptionRequired(Steps):
    code: ClassVar[str] = "encryption-required"
    params: ClassVar[type[Params]] = EncryptionParams

    async def before(self, params: Params, call: Call) -> Refusal | None:
        if call.tls:
            return None
        return Refusal(403, "encryption-required", "this authorization requires TLS: call the gateway over https")
