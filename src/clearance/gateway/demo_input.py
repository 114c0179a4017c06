"""What the demo model accepts: the shapes of the OpenAI request fields it reads, checked before it answers.

The demo model is the default upstream, so whatever valid JSON a caller sends reaches it. A
field of the wrong shape gets the 400 OpenAI would send (``invalid_request_error`` naming the
``param``), never a 500 or a stream that starts and is cut. Only the fields the demo reads are
checked; the rest pass as OpenAI lets unknown fields pass.
"""

from __future__ import annotations

from typing import Any

import orjson

Problem = tuple[str, str]  # (param, message)


def problem(path: str, body: dict[str, Any]) -> Problem | None:
    """The first field the demo model cannot read in ``body`` for ``path``, or ``None``."""
    options = body.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            return "stream_options", f"must be an object, not {_kind(options)}"
        if options.get("include_usage") is not None and not isinstance(options["include_usage"], bool):
            return "stream_options.include_usage", "must be a boolean"
    if path == "/chat/completions" or "messages" in body:  # the demo reads messages wherever they are sent
        found = _messages(body.get("messages"))
        if found is not None or path == "/chat/completions":
            return found
    if path == "/completions":
        return _texts(body.get("prompt"), "prompt", required=False)
    if path == "/embeddings":
        return _texts(body.get("input"), "input", required=True)
    return None


def error_body(found: Problem) -> bytes:
    param, message = found
    return orjson.dumps({"error": {"message": f"{param}: {message}", "type": "invalid_request_error",
                                   "param": param, "code": "invalid_value"}})


def _messages(messages: Any) -> Problem | None:
    if not isinstance(messages, list) or not messages:
        return "messages", f"must be a non-empty array of message objects, not {_kind(messages)}"
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            return where, f"must be an object, not {_kind(message)}"
        if not isinstance(message.get("role"), str):
            return f"{where}.role", "must be a string"
        content = message.get("content")
        if content is None or isinstance(content, str):
            continue
        if not isinstance(content, list):
            return f"{where}.content", f"must be a string or an array of content parts, not {_kind(content)}"
        for j, part in enumerate(content):
            if not isinstance(part, dict):
                return f"{where}.content[{j}]", f"must be an object, not {_kind(part)}"
            # A text part needs its text; any part that carries `text` is read as text by the demo.
            if (part.get("type", "text") == "text" or "text" in part) and not isinstance(part.get("text"), str):
                return f"{where}.content[{j}].text", f"must be a string, not {_kind(part.get('text'))}"
    return None


def _texts(value: Any, param: str, required: bool) -> Problem | None:
    """A string or an array of strings; token-id arrays are valid OpenAI, but a demo has no tokenizer."""
    if value is None and not required:
        return None
    if isinstance(value, str):
        return None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return None
    if isinstance(value, list) and value and all(isinstance(v, int | list) for v in value):
        return param, "the demo model takes text, not token ids"
    return param, f"must be a string or a non-empty array of strings, not {_kind(value)}"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {str: "a string", list: "an array", dict: "an object"}.get(type(value), type(value).__name__)
