"""``monitoring``: every call's metadata is recorded; with ``content: true`` the prompt and answer too."""

from __future__ import annotations

from typing import ClassVar

from .handler import Call, Outcome, Params, Refusal


class MonitoringParams(Params):
    content: bool = False


class Monitoring:
    code: ClassVar[str] = "monitoring"
    params: ClassVar[type[Params]] = MonitoringParams

    async def before(self, params: Params, call: Call) -> Refusal | None:
        assert isinstance(params, MonitoringParams)
        call.record_content = call.record_content or params.content
        call.enforcement["monitoring"] = "content" if call.record_content else "metadata"
        return None

    async def after(self, params: Params, call: Call, outcome: Outcome) -> None:
        return None  # the completion record is written for every call; content rides on record_content
