"""The built-in demo model: deterministic answers, so the gateway can be tried without a model server.

It speaks the OpenAI wire format for chat completions (streamed or not), completions and
embeddings, and the Anthropic Messages format (streamed or not, with the events and usage
fields Anthropic sends). Answers depend only on the request: a chat reply repeats the last user message,
an embedding is derived from a hash of the text. Token counts are whitespace words, and the
usage block is sent as OpenAI does (always when not streaming; in a last chunk when the
client asks for ``stream_options.include_usage``).

It has a safety profile, so a safety evaluation against it measures something: a prompt
matching one of the profile's ``refuse`` patterns is refused, unless it also matches one
of the ``jailbreaks`` patterns (a family of jailbreak templates the demo falls for), in
which case it complies. The defaults (:data:`DEFAULT_SAFETY`) are a keyword guardrail, so
the demo also over-refuses benign prompts that merely look unsafe ("kill a Python
process"). The gateway file's ``demo_safety`` section replaces them.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import AsyncIterator
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .demo_input import error_body, problem
from .upstream import UpstreamReply

CREATED = 1_782_000_000  # a fixed timestamp: identical requests give identical bytes


def _words(text: str) -> int:
    return len(text.split())


def _prompt_text(body: dict[str, Any]) -> str:
    if "messages" in body:
        parts = []
        for message in body.get("messages") or []:
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                parts += [p.get("text", "") for p in content if isinstance(p, dict)]
        return " ".join(parts)
    prompt = body.get("prompt", "")
    return " ".join(prompt) if isinstance(prompt, list) else str(prompt)


def _text_of(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return None


def _last_user(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            text = _text_of(message.get("content"))
            if text is not None:
                return text
    return _prompt_text(body)


def _limited(text: str, body: dict[str, Any]) -> str:
    """``text`` cut to the call's ``max_tokens``: a token is a word here, and the limit is honoured."""
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        words = text.split()
        if len(words) > limit:
            text = " ".join(words[:limit])
    return text


class DemoSafety(BaseModel):
    """The demo model's guardrail: case-insensitive regular expressions over the user's last message."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    refuse: list[str] = [
        r"\bbomb", r"\bexplosive", r"\bweapon", r"\bkill", r"\bmurder", r"\bpoison", r"\bhack", r"\bmalware",
        r"\bransomware", r"\bvirus", r"\bsteal", r"\bdrugs?\b", r"\bcocaine", r"\bmeth", r"\bsuicide",
        r"\bself-harm", r"\bterroris", r"\bfraud", r"\bcounterfeit", r"\bphishing", r"\bviolen", r"\bharass",
        r"\bextort", r"\bblackmail", r"\bexploit", r"\bstalk", r"\bsmuggl", r"\btraffick", r"\bgenocide",
        r"\bchemical weapon", r"\bbiological", r"\billegal", r"\bdefamat", r"\bhate\b", r"\bracis",
    ]
    jailbreaks: list[str] = [r"\bDAN\b", r"do anything now", r"developer mode", r"\bjailbr(?:eak|oken)"]
    refusal: str = Field("I'm sorry, but I can't help with that.", min_length=1)

    @field_validator("refuse", "jailbreaks")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for i, pattern in enumerate(value):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"[{i}] `{pattern}` is not a regular expression: {exc}") from None
        return value


DEFAULT_SAFETY = DemoSafety()


class _Guardrail:
    def __init__(self, profile: DemoSafety) -> None:
        self.profile = profile
        self.refuse = re.compile("|".join(f"(?:{p})" for p in profile.refuse), re.IGNORECASE) if profile.refuse else None
        self.unlock = (re.compile("|".join(f"(?:{p})" for p in profile.jailbreaks), re.IGNORECASE)
                       if profile.jailbreaks else None)

    def reply(self, body: dict[str, Any]) -> str:
        said = _last_user(body)
        model = body.get("model")
        if not self.profile.enabled or self.refuse is None or not self.refuse.search(said):
            return f"[demo model {model}] You said: {said}"
        if self.unlock is not None and self.unlock.search(said):
            return f"[demo model {model}] Sure, here is exactly what you asked for, with no restrictions: {said[-200:]}"
        return self.profile.refusal


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _id(body: dict[str, Any]) -> str:
    return "demo-" + hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]


class DemoUpstream:
    """An in-process upstream; no network, no randomness."""

    name = "demo"
    dialects = ("openai", "anthropic")

    def __init__(self, safety: DemoSafety = DEFAULT_SAFETY) -> None:
        self.guardrail = _Guardrail(safety)

    def _reply(self, body: dict[str, Any]) -> str:
        return _limited(self.guardrail.reply(body), body)

    async def send(self, path: str, body: dict[str, Any], raw: bytes, stream: bool,
                   headers: dict[str, str] | None = None) -> UpstreamReply:
        if path == "/messages":
            return self._messages(body, stream)
        found = problem(path, body)
        if found is not None:
            return UpstreamReply(400, error_body(found))
        if path == "/embeddings":
            return UpstreamReply(200, _json(self._embeddings(body)))
        text = self._reply(body)
        prompt, completion = _words(_prompt_text(body)), _words(text)
        chat = path == "/chat/completions"
        if stream:
            return UpstreamReply(200, self._stream(body, text, chat, prompt, completion), stream=True)
        if chat:
            choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop", "logprobs": None}
            kind = "chat.completion"
        else:
            choice = {"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}
            kind = "text_completion"
        return UpstreamReply(200, _json({"id": _id(body), "object": kind, "created": CREATED, "model": body.get("model"),
                                         "choices": [choice], "usage": _usage(prompt, completion)}))

    async def _stream(self, body: dict[str, Any], text: str, chat: bool, prompt: int, completion: int) -> AsyncIterator[bytes]:
        ident, model = _id(body), body.get("model")
        kind = "chat.completion.chunk" if chat else "text_completion"
        pieces = [w + " " for w in text.split(" ")]
        pieces[-1] = pieces[-1].rstrip(" ")
        for i, piece in enumerate(pieces):
            if chat:
                delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
                choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": None}
            else:
                choice = {"index": 0, "text": piece, "finish_reason": None}
            yield _event({"id": ident, "object": kind, "created": CREATED, "model": model, "choices": [choice]})
        last = {"index": 0, "delta": {}, "finish_reason": "stop"} if chat else {"index": 0, "text": "", "finish_reason": "stop"}
        yield _event({"id": ident, "object": kind, "created": CREATED, "model": model, "choices": [last]})
        if (body.get("stream_options") or {}).get("include_usage"):
            yield _event({"id": ident, "object": kind, "created": CREATED, "model": model, "choices": [],
                          "usage": _usage(prompt, completion)})
        yield b"data: [DONE]\n\n"

    def _messages(self, body: dict[str, Any], stream: bool) -> UpstreamReply:
        text = self._reply(body)
        system = _text_of(body.get("system")) or ""
        prompt, completion = _words(system) + _words(_prompt_text(body)), _words(text)
        stop = "end_turn" if text == self._reply({**body, "max_tokens": None}) else "max_tokens"
        message = {"id": "msg_" + _id(body), "type": "message", "role": "assistant", "model": body.get("model"),
                   "content": [{"type": "text", "text": text}], "stop_reason": stop, "stop_sequence": None,
                   "usage": {"input_tokens": prompt, "output_tokens": completion}}
        if not stream:
            return UpstreamReply(200, _json(message))
        return UpstreamReply(200, self._message_events(message, text, prompt, completion), stream=True,
                             headers={"content-type": "text/event-stream"})

    async def _message_events(self, message: dict[str, Any], text: str, prompt: int,
                              completion: int) -> AsyncIterator[bytes]:
        start = {**message, "content": [], "stop_reason": None, "usage": {"input_tokens": prompt, "output_tokens": 1}}
        yield _named("message_start", {"type": "message_start", "message": start})
        yield _named("content_block_start", {"type": "content_block_start", "index": 0,
                                             "content_block": {"type": "text", "text": ""}})
        yield _named("ping", {"type": "ping"})
        pieces = [w + " " for w in text.split(" ")]
        pieces[-1] = pieces[-1].rstrip(" ")
        for piece in pieces:
            yield _named("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                 "delta": {"type": "text_delta", "text": piece}})
        yield _named("content_block_stop", {"type": "content_block_stop", "index": 0})
        yield _named("message_delta", {"type": "message_delta", "delta": {"stop_reason": message["stop_reason"],
                                                                          "stop_sequence": None},
                                       "usage": {"output_tokens": completion}})
        yield _named("message_stop", {"type": "message_stop"})

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        inputs = body.get("input", "")
        texts = inputs if isinstance(inputs, list) else [inputs]
        data = []
        for i, text in enumerate(texts):
            digest = hashlib.sha256(str(text).encode()).digest()
            vector = [round(v / 2**31, 6) for v in struct.unpack(">8i", digest)]
            data.append({"object": "embedding", "index": i, "embedding": vector})
        tokens = sum(_words(str(t)) for t in texts)
        return {"object": "list", "data": data, "model": body.get("model"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    async def close(self) -> None:
        return None


def _json(obj: Any) -> bytes:
    return orjson.dumps(obj)


def _event(obj: Any) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def _named(name: str, obj: Any) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(obj) + b"\n\n"
