"""The built-in demo model: deterministic answers, so the gateway can be tried without a model server.

It speaks the OpenAI wire format for chat completions (streamed or not), completions and
embeddings. Answers depend only on the request: a chat reply repeats the last user message,
an embedding is derived from a hash of the text. Token counts are whitespace words, and the
usage block is sent as OpenAI does (always when not streaming; in a last chunk when the
client asks for ``stream_options.include_usage``).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import AsyncIterator
from typing import Any

import orjson

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


def _last_user(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user" and isinstance(message.get("content"), str):
            return message["content"]
    return _prompt_text(body)


def _reply(body: dict[str, Any]) -> str:
    text = f"[demo model {body.get('model')}] You said: {_last_user(body)}"
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        words = text.split()
        if len(words) > limit:  # a token is a word here, and max_tokens is honoured
            text = " ".join(words[:limit])
    return text


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _id(body: dict[str, Any]) -> str:
    return "demo-" + hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]


class DemoUpstream:
    """An in-process upstream; no network, no randomness."""

    name = "demo"

    async def send(self, path: str, body: dict[str, Any], raw: bytes, stream: bool) -> UpstreamReply:
        found = problem(path, body)
        if found is not None:
            return UpstreamReply(400, error_body(found))
        if path == "/embeddings":
            return UpstreamReply(200, _json(self._embeddings(body)))
        text = _reply(body)
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
