"""Wire formats the gateway speaks: each is one module, and the proxy knows none of them.

A dialect turns a request body into what enforcement needs (model, a bound on the prompt's
tokens, the completion wanted, streaming or not), renders errors and refusals the way that
format's SDKs expect, caps the completion at what the caps reserved, and reads the tokens
used from a whole reply or a stream passing through. Usage is always recorded in one shape
(``prompt_tokens``, ``completion_tokens``, ``total_tokens``) whatever the wire said, so caps
and audit records mean the same thing for every format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.responses import Response


@dataclass(frozen=True)
class Parsed:
    """What enforcement needs from a request body."""

    model: str
    stream: bool
    prompt_tokens: int  # an upper estimate, reserved against usage caps
    completion_tokens: int | None  # the most completion tokens wanted; None when the call makes none


@dataclass(frozen=True)
class BadRequest:
    message: str
    param: str | None = None


class Meter(Protocol):
    """Fed every chunk of a stream as it passes; knows the usage at the end."""

    text: list[str]

    def feed(self, chunk: bytes) -> None: ...

    def result(self, prompt_chars: int) -> tuple[dict[str, int], bool]: ...


class Dialect(Protocol):
    name: str
    missing_key: str  # how to send a key, said when none came

    def credential(self, headers: Mapping[str, str]) -> str | None: ...

    def forward_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The caller's headers that change what the upstream does, passed on to it."""

    def parse(self, body: dict[str, Any], path: str, default_completion: int) -> Parsed | BadRequest: ...

    def error(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None,
              param: str | None = None, **clearance: Any) -> Response: ...

    def refusal(self, status: int, decision: dict[str, Any], decision_id: int | None) -> Response: ...

    def capped(self, body: dict[str, Any], path: str, allowance: int) -> dict[str, Any]: ...

    def usage(self, content: bytes) -> dict[str, int] | None: ...

    def meter(self, keep_text: bool) -> Meter: ...

    def stream_error(self, status: int, message: str) -> bytes | None:
        """The last event of a stream the upstream broke off, if the format has one."""

    def prompt_chars(self, body: dict[str, Any]) -> int: ...

    def prompt_text(self, body: dict[str, Any], path: str) -> str:
        """Every message's text (system included, text parts of multi-part content), joined, for the prompt guard."""

    def stream_refusal(self, status: int, code: str, message: str, **clearance: Any) -> bytes:
        """The last event of a stream the gateway cuts (a guard blocked its answer), in this format's error shape."""

    def request_content(self, body: dict[str, Any]) -> Any: ...

    def reply_text(self, content: bytes) -> Any: ...


def bearer(headers: Mapping[str, str]) -> str | None:
    header = headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def texts(content: Any, out: list[str], depth: int = 0) -> list[str]:
    """The text in a message's content: a string, or the ``text`` of its parts (nested ``content`` too)."""
    if isinstance(content, str):
        out.append(content)
    elif isinstance(content, list) and depth < 128:
        for part in content:
            texts(part, out, depth + 1)
    elif isinstance(content, dict) and depth < 128:
        if isinstance(content.get("text"), str):
            out.append(content["text"])
        elif "content" in content:
            texts(content["content"], out, depth + 1)
    return out


def refusal_message(decision: dict[str, Any]) -> str:
    reasons = decision.get("reasons") or []
    return reasons[0]["message"] if reasons else f"request refused: {decision['code']}"


def refusal_details(decision: dict[str, Any], decision_id: int | None) -> dict[str, Any]:
    """What a refusal carries beyond its message, in every dialect: remedies, the record's id, the policy."""
    return {"outcome": decision["outcome"], "remedies": decision.get("remedies", []),
            "reasons": decision.get("reasons") or [], "decision_id": decision_id,
            "policy_version": decision.get("policy_version")}
