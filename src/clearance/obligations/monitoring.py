"""``monitoring``: every call's metadata is recorded; with ``content: true`` the prompt and answer too.

The completion record is written for every call; this handler only decides whether the
content rides in it.
"""

from __future__ import annotations

from typing import ClassVar

from .handler import Call, Params, Refusal, Steps


class MonitoringParams(Params):
    content: bool = False


class Monitoring(Steps):
    code: ClassVar[str] = "monitoring"
    params: ClassVar[type[Params]] = MonitoringParams

    async def before(self, params: Params, call: Call) -> Refusal | None:
        assert isinstance(params, MonitoringParams)
        call.record_content = call.record_content or params.content
        call.enforcement["monitoring"] = "content" if call.record_content else "metadata"
        return None
