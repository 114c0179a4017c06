"""The Anthropic Messages API (``POST /v1/messages``), streamed or not.

Keys come as ``x-api-key`` (what the official SDKs send) or ``Authorization: Bearer``.
``max_tokens`` is required, as Anthropic requires it, and is lowered to what the caps
reserved. Usage is read from the reply's ``usage`` or, in a stream, from ``message_start``
(input and cache tokens) and ``message_delta`` (the running output count); cache reads and
writes count as prompt tokens, since the model processes them. Errors have Anthropic's
shape, ``{"type": "error", "error": {"type", "message"}}``, with clearance's code, the
decision's id and remedies under ``error.clearance``, which the SDKs keep on the exception's
``body``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from ..upstream import ANTHROPIC_HEADERS
from ..usage import SseEvents, estimate
from . import BadRequest, Parsed, bearer, refusal_details, refusal_message, texts

# Anthropic's error types by status; the SDKs pick their exception class from the status.
TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
         404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 529: "overloaded_error"}
# Images are scaled to at most ~1.15 megapixels, about 1,600 tokens (Anthropic's vision guide).
IMAGE_TOKENS = 1600
INPUT_KEYS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _block_bytes(block: Any) -> tuple[int, int]:
    """(bytes of text, images) in one content block or a string."""
    if isinstance(block, str):
        return len(block.encode()), 0
    if not isinstance(block, dict):
        return 0, 0
    kind = block.get("type")
    if kind == "image":
        return 0, 1
    if kind == "text":
        return len(str(block.get("text", "")).encode()), 0
    if kind == "tool_result":
        return _content_bytes(block.get("content"))
    if kind == "document":
        source = block.get("source") if isinstance(block.get("source"), dict) else {}
        # A document's pages cannot be counted without reading it: its bytes bound its tokens.
        return len(str(source.get("data", source.get("content", ""))).encode()), 0
    # tool_use, thinking, and kinds not known yet: their JSON bounds their text.
    return len(orjson.dumps(block)), 0


def _content_bytes(content: Any) -> tuple[int, int]:
    if isinstance(content, list):
        sizes = [_block_bytes(b) for b in content]
        return sum(s for s, _ in sizes), sum(i for _, i in sizes)
    return _block_bytes(content)


class Anthropic:
    name = "anthropic"
    missing_key = "send your clearance key as `x-api-key: <key>` or `Authorization: Bearer <key>`"

    def credential(self, headers: Mapping[str, str]) -> str | None:
        key = headers.get("x-api-key", "").strip()
        return key or bearer(headers)

    def forward_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {k: v for k in ANTHROPIC_HEADERS if (v := headers.get(k))}

    def parse(self, body: dict[str, Any], path: str, default_completion: int) -> Parsed | BadRequest:
        if not isinstance(body.get("model"), str):
            return BadRequest("model: required, a string", "model")
        wanted = _int(body.get("max_tokens"))
        if not wanted:
            return BadRequest("max_tokens: required, a positive integer", "max_tokens")
        messages = body.get("messages")
        if not isinstance(messages, list):
            return BadRequest("messages: required, a list", "messages")
        return Parsed(body["model"], body.get("stream") is True, self._prompt_bound(body), wanted)

    def _prompt_bound(self, body: dict[str, Any]) -> int:
        """An upper estimate of the prompt's tokens (the same rule as the OpenAI format: two bytes a token)."""
        messages = body.get("messages") or []
        size, images = _content_bytes(body.get("system"))
        for message in messages:
            s, i = _content_bytes(message.get("content") if isinstance(message, dict) else None)
            size, images = size + s, images + i
        if isinstance(body.get("tools"), list):
            size += len(orjson.dumps(body["tools"]))
        return (size + 1) // 2 + 4 * len(messages) + images * IMAGE_TOKENS + 1

    def error(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None,
              param: str | None = None, **clearance: Any) -> Response:
        detail: dict[str, Any] = {"type": TYPES.get(status, "api_error"), "message": message,
                                  "clearance": {"code": code, **({"param": param} if param else {}), **clearance}}
        return Response(orjson.dumps({"type": "error", "error": detail}), status_code=status, headers=headers,
                        media_type="application/json")

    def refusal(self, status: int, decision: dict[str, Any], decision_id: int | None) -> Response:
        headers = {"x-clearance-decision-id": str(decision_id)} if decision_id is not None else None
        return self.error(status, decision["code"], refusal_message(decision), headers=headers,
                          **refusal_details(decision, decision_id))

    def capped(self, body: dict[str, Any], path: str, allowance: int) -> dict[str, Any]:
        return {**body, "max_tokens": allowance}

    def usage(self, content: bytes) -> dict[str, int] | None:
        try:
            obj = orjson.loads(content)
        except orjson.JSONDecodeError:
            return None
        return normalise(obj.get("usage")) if isinstance(obj, dict) else None

    def meter(self, keep_text: bool) -> MessagesMeter:
        return MessagesMeter(keep_text)

    def stream_error(self, status: int, message: str) -> bytes | None:
        # Anthropic ends a stream that fails part way with an ``error`` event; the SDKs raise on it.
        detail = {"type": TYPES.get(status, "api_error"), "message": message, "clearance": {"code": "upstream-error"}}
        return b"event: error\ndata: " + orjson.dumps({"type": "error", "error": detail}) + b"\n\n"

    def prompt_chars(self, body: dict[str, Any]) -> int:
        total = 0
        for content in [body.get("system"), *(m.get("content") for m in body.get("messages") or [] if isinstance(m, dict))]:
            blocks = content if isinstance(content, list) else [content]
            for block in blocks:
                if isinstance(block, str):
                    total += len(block)
                elif isinstance(block, dict) and isinstance(block.get("text"), str):
                    total += len(block["text"])
        return total

    def prompt_text(self, body: dict[str, Any], path: str) -> str:
        out = texts(body.get("system"), [])
        for message in body.get("messages") or []:
            if isinstance(message, dict):
                texts(message.get("content"), out)
        return "\n\n".join(t for t in out if t)

    def stream_refusal(self, status: int, code: str, message: str, **clearance: Any) -> bytes:
        detail = {"type": TYPES.get(status, "api_error"), "message": message, "clearance": {"code": code, **clearance}}
        return b"event: error\ndata: " + orjson.dumps({"type": "error", "error": detail}) + b"\n\n"

    def request_content(self, body: dict[str, Any]) -> Any:
        return {"system": body.get("system"), "messages": body.get("messages")}

    def reply_text(self, content: bytes) -> Any:
        try:
            obj = orjson.loads(content)
        except orjson.JSONDecodeError:
            return None
        blocks = obj.get("content") if isinstance(obj, dict) else None
        if not isinstance(blocks, list):
            return None
        return [b.get("text") for b in blocks if isinstance(b, dict) and b.get("type") == "text"]


def normalise(usage: Any) -> dict[str, int] | None:
    """Anthropic's usage block in the gateway's one shape; ``None`` when it says nothing."""
    if not isinstance(usage, dict):
        return None
    prompt = [_int(usage.get(k)) for k in INPUT_KEYS]
    completion = _int(usage.get("output_tokens"))
    if completion is None and all(p is None for p in prompt):
        return None
    p, c = sum(x or 0 for x in prompt), completion or 0
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


class MessagesMeter(SseEvents):
    """Reads a Messages stream's events as they pass, without holding a byte back."""

    def __init__(self, keep_text: bool = False) -> None:
        self._buffer = b""
        self.keep_text = keep_text
        self.text: list[str] = []
        self.chars = 0
        self._reported: dict[str, int] = {}
        self._final = False  # a message_delta carried the output count

    def _data(self, data: bytes) -> None:
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if not isinstance(obj, dict):
            return
        kind = obj.get("type")
        if kind == "message_start" and isinstance(obj.get("message"), dict):
            self._report(obj["message"].get("usage"))
        elif kind == "message_delta":
            self._report(obj.get("usage"))
            self._final = self._final or _int((obj.get("usage") or {}).get("output_tokens")) is not None
        elif kind == "content_block_delta" and isinstance(obj.get("delta"), dict):
            delta = obj["delta"]
            piece = delta.get("text", delta.get("thinking", delta.get("partial_json")))
            if isinstance(piece, str):
                self.chars += len(piece)
                if self.keep_text and delta.get("type") == "text_delta":
                    self.text.append(piece)

    def _report(self, usage: Any) -> None:
        if isinstance(usage, dict):
            # Counts in later events are running totals: the last one said wins.
            self._reported.update({k: v for k in (*INPUT_KEYS, "output_tokens") if (v := _int(usage.get(k))) is not None})

    def result(self, prompt_chars: int) -> tuple[dict[str, int], bool]:
        """``(usage, counted)``: counted when the stream ended before the upstream said how many tokens it used."""
        reported = normalise(self._reported)
        if reported is not None and self._final:
            return reported, False
        prompt = reported["prompt_tokens"] if reported is not None and self._reported.get("input_tokens") is not None \
            else estimate(prompt_chars)
        completion = max(estimate(self.chars), self._reported.get("output_tokens", 0))
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}, True


DIALECT = Anthropic()
