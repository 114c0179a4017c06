"""Log configuration: text or JSON lines, a request id on each line, repeats rate-limited, secrets scrubbed.

Selected by settings (``CLEARANCE_LOG_FORMAT`` = ``text`` | ``json``, ``CLEARANCE_LOG_LEVEL``,
``CLEARANCE_LOG_REPEAT_INTERVAL``) and installed once per process by :func:`configure`.

Two filters sit on the handler, so they see every record from every library:

- :class:`Redact` rewrites the message and any traceback: bearer tokens, clearance tokens,
  passwords in URLs (``postgresql://user:secret@host``) and ``password=`` pairs become
  ``[redacted]``. Secrets are hashed at rest and must never reach a log either.
- :class:`RateLimit` lets the same message (logger, level, format string) through once per
  interval; the next one that passes says how many were suppressed. An outage is then one
  line per interval, not a traceback per poll.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import sys
import threading
import time
from typing import Any

import orjson

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("clearance_request_id", default=None)

_SECRETS = [
    # scheme://user:password@host -> scheme://user:[redacted]@host
    (re.compile(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)[^@\s/]+(?=@)"), r"\g<pre>[redacted]"),
    (re.compile(r"(?i)(?P<pre>\bbearer\s+)[^\s\"',]+"), r"\g<pre>[redacted]"),
    (re.compile(r"(?i)(?P<pre>\b(?:password|passwd|pwd|secret|token|api[_-]?key)\s*[=:]\s*)[^\s\"',&]+"),
     r"\g<pre>[redacted]"),
    # clearance's own tokens ``clr_<key>_<secret>`` (registry.records.issue_token): the key id names the
    # credential and may stay; the secret goes.
    (re.compile(r"\b(?P<pre>clr_[0-9a-f]+_)[A-Za-z0-9_\-]+"), r"\g<pre>[redacted]"),
]


def redact(text: str) -> str:
    """``text`` with every secret-shaped part replaced by ``[redacted]``."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def new_request_id() -> str:
    return secrets.token_hex(8)


class Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RateLimit(logging.Filter):
    """At most one record per (logger, level, format string) per ``interval_s``; later ones count what was held back."""

    def __init__(self, interval_s: float = 30.0, clock: Any = time.monotonic) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, int, str], list[float | int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if self.interval_s <= 0:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        with self._lock:
            entry = self._seen.get(key)
            if entry is not None and now - entry[0] < self.interval_s:
                entry[1] += 1
                return False
            suppressed = int(entry[1]) if entry is not None else 0
            self._seen[key] = [now, 0]
            if len(self._seen) > 10_000:  # a bound: messages with ever-new format strings must not grow this forever
                self._seen.clear()
        if suppressed:
            record.suppressed = suppressed
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            out["request_id"] = request_id
        suppressed = getattr(record, "suppressed", 0)
        if suppressed:
            out["suppressed_repeats"] = suppressed
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = record.exc_text
        return orjson.dumps(out).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = REQUEST_ID.get()
        if request_id is not None:
            text = f"{text} [request {request_id}]"
        suppressed = getattr(record, "suppressed", 0)
        return f"{text} ({suppressed} similar suppressed)" if suppressed else text


def handler(fmt: str = "text", repeat_interval_s: float = 30.0, stream: Any = None) -> logging.Handler:
    """A handler with the redaction and rate-limit filters and the chosen format."""
    out = logging.StreamHandler(stream if stream is not None else sys.stderr)
    out.addFilter(RateLimit(repeat_interval_s))  # first: it keys on the format string, before Redact formats it
    out.addFilter(Redact())
    out.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    out.clearance = True  # type: ignore[attr-defined]
    return out


def configure(fmt: str = "text", level: str = "WARNING", repeat_interval_s: float = 30.0, stream: Any = None) -> None:
    """Install clearance's handler on the root logger (replacing an earlier one of ours), idempotently.

    uvicorn's own loggers are sent to the root too, so their lines get the same format and filters.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "clearance", False)]:
        root.removeHandler(old)
    root.addHandler(handler(fmt, repeat_interval_s, stream))
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
