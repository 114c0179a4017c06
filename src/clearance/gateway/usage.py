"""Tokens used by a call: the upstream's own ``usage`` when it sends one, else counted from what passed.

Streams are read as server-sent events as they pass through, without delaying a byte: a
``usage`` block in any chunk wins; otherwise the text of every delta is measured. Without a
tokenizer for every upstream model, a counted token is four characters (at least one per
non-empty piece), the rule of thumb OpenAI documents for English; the record says which.
"""

from __future__ import annotations

from typing import Any

import orjson


def estimate(text_chars: int) -> int:
    return (text_chars + 3) // 4


def prompt_bound(body: dict[str, Any]) -> int:
    """An upper estimate of the prompt's tokens, reserved against a usage cap before forwarding.

    Byte-level BPE tokenizers give at least two bytes of UTF-8 a token in practice (English
    averages four characters, CJK three bytes a character and one or two tokens); each message
    adds a few tokens of framing. Too high costs nothing but an early refusal at the very edge
    of a cap: the reservation is settled to the real count.
    """
    size = 0
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            size += len(content.encode())
        elif isinstance(content, list):
            size += sum(len(str(p.get("text", "")).encode()) for p in content if isinstance(p, dict))
    for key in ("prompt", "input"):
        value = body.get(key)
        if isinstance(value, str):
            size += len(value.encode())
        elif isinstance(value, list):
            size += sum(len(str(v).encode()) if isinstance(v, str) else 1 for v in value)
    framing = 4 * len(messages) if isinstance(messages, list) else 0
    return (size + 1) // 2 + framing + 1


def wanted_completion(body: dict[str, Any], default: int) -> int:
    """The most completion tokens the caller asked for (``max_completion_tokens``/``max_tokens``), else ``default``."""
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return default


def prompt_chars(body: dict[str, Any]) -> int:
    """Characters of prompt text in ``body``; parts of an unexpected shape count nothing (never raise)."""
    total = 0
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            total += sum(len(p["text"]) for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    for key in ("prompt", "input"):
        value = body.get(key)
        if isinstance(value, str):
            total += len(value)
        elif isinstance(value, list):
            total += sum(len(v) for v in value if isinstance(v, str))
    return total


def from_reply(content: bytes) -> dict[str, int] | None:
    """The ``usage`` of a whole JSON reply, ``None`` when it has none."""
    try:
        usage = orjson.loads(content).get("usage")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return _clean(usage)


def _clean(usage: Any) -> dict[str, int] | None:
    if not isinstance(usage, dict):
        return None
    out = {k: v for k, v in usage.items() if k in ("prompt_tokens", "completion_tokens", "total_tokens")
           and isinstance(v, int) and not isinstance(v, bool) and v >= 0}
    if "total_tokens" not in out and out:
        out["total_tokens"] = out.get("prompt_tokens", 0) + out.get("completion_tokens", 0)
    return out or None


class SseEvents:
    """Splits server-sent events out of chunks cut anywhere, and hands each ``data:`` payload to ``_data``."""

    _buffer = b""

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        while b"\n\n" in self._buffer:
            event, self._buffer = self._buffer.split(b"\n\n", 1)
            for line in event.split(b"\n"):
                if line.startswith(b"data:"):
                    self._data(line[5:].strip())

    def _data(self, data: bytes) -> None:
        raise NotImplementedError


class StreamMeter(SseEvents):
    """Fed every chunk of an OpenAI SSE stream; knows the usage at the end."""

    def __init__(self, keep_text: bool = False) -> None:
        self._buffer = b""
        self.usage: dict[str, int] | None = None
        self.chars = 0
        self.text: list[str] = []
        self.keep_text = keep_text

    def _data(self, data: bytes) -> None:
        if not data or data == b"[DONE]":
            return
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if not isinstance(obj, dict):
            return
        usage = _clean(obj.get("usage"))
        if usage is not None:
            self.usage = usage
        for choice in obj.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            piece = delta.get("content") if isinstance(delta, dict) else choice.get("text")
            if isinstance(piece, str):
                self.chars += len(piece)
                if self.keep_text:
                    self.text.append(piece)

    def result(self, prompt_chars_: int) -> tuple[dict[str, int], bool]:
        """``(usage, counted)``: counted is true when the upstream sent no usage."""
        if self.usage is not None:
            return self.usage, False
        prompt, completion = estimate(prompt_chars_), estimate(self.chars)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}, True
