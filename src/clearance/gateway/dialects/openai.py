"""The OpenAI wire format: chat completions, completions and embeddings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from .. import errors
from ..usage import StreamMeter, from_reply, prompt_bound, prompt_chars, wanted_completion
from . import BadRequest, Parsed, bearer, texts


class OpenAI:
    name = "openai"
    missing_key = "send your clearance key as `Authorization: Bearer <key>`"

    def credential(self, headers: Mapping[str, str]) -> str | None:
        return bearer(headers)

    def forward_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {}

    def parse(self, body: dict[str, Any], path: str, default_completion: int) -> Parsed | BadRequest:
        if not isinstance(body.get("model"), str):
            return BadRequest("model: required, a string", "model")
        completion = None if path == "/embeddings" else wanted_completion(body, default_completion)
        return Parsed(body["model"], body.get("stream") is True, prompt_bound(body), completion)

    def error(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None,
              param: str | None = None, **clearance: Any) -> Response:
        return errors.error(status, code, message, headers=headers, param=param, **clearance)

    def refusal(self, status: int, decision: dict[str, Any], decision_id: int | None) -> Response:
        return errors.refusal(status, decision, decision_id)

    def capped(self, body: dict[str, Any], path: str, allowance: int) -> dict[str, Any]:
        if path == "/embeddings":
            return body
        field = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
        return {**body, field: allowance}

    def usage(self, content: bytes) -> dict[str, int] | None:
        return from_reply(content)

    def meter(self, keep_text: bool) -> StreamMeter:
        return StreamMeter(keep_text=keep_text)

    def stream_error(self, status: int, message: str) -> bytes | None:
        return None  # the format has no error event: the stream ends without its [DONE]

    def prompt_chars(self, body: dict[str, Any]) -> int:
        return prompt_chars(body)

    def prompt_text(self, body: dict[str, Any], path: str) -> str:
        if path == "/embeddings":
            return ""  # nothing is generated from an embedding's input
        out: list[str] = []
        messages = body.get("messages")
        for message in messages if isinstance(messages, list) else ():
            if isinstance(message, dict):
                texts(message.get("content"), out)
        texts(body.get("prompt"), out)
        return "\n\n".join(t for t in out if t)

    def stream_refusal(self, status: int, code: str, message: str, **clearance: Any) -> bytes:
        # The SDKs raise on a `data:` event carrying `error`; no `[DONE]` follows.
        body = {"message": message, "type": errors.TYPES.get(status, "api_error"), "code": code, "param": None,
                "clearance": clearance}
        return b"data: " + orjson.dumps({"error": body}) + b"\n\n"

    def request_content(self, body: dict[str, Any]) -> Any:
        return body.get("messages", body.get("prompt", body.get("input")))

    def reply_text(self, content: bytes) -> Any:
        try:
            obj = orjson.loads(content)
        except orjson.JSONDecodeError:
            return None
        choices = obj.get("choices") if isinstance(obj, dict) else None
        if not isinstance(choices, list):
            return None
        return [c.get("message", {}).get("content") if "message" in c else c.get("text")
                for c in choices if isinstance(c, dict)]


DIALECT = OpenAI()
