"""Input and output shared by the commands: policy loading, JSON reading, the clock."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from ..core.errors import PolicyError
from ..core.index import CompiledPolicy
from ..core.instant import Instant, InstantError, parse_instant
from ..policy.snapshot import load_policy

err = Console(stderr=True, highlight=False)

POLICY_HELP = "Policy bundle directory (default: the shipped scenario-2026 example)."
NOW_HELP = "Instant used for requests without `at` (default: the system clock)."


def policy_or_exit(path: Path | None) -> CompiledPolicy:
    """Load a bundle; on failure print every problem and exit with status 1."""
    try:
        return load_policy(path)
    except PolicyError as exc:
        for problem in exc.problems:
            err.print(f"[red]error[/red] {problem}", markup=True, soft_wrap=True)
        err.print(f"{len(exc.problems)} problem(s); the bundle was rejected")
        raise typer.Exit(1) from None


def now_or_exit(text: str | None) -> Instant:
    """The instant that stands for "now": given on the command line, or read from the clock."""
    if text is None:
        return time.time_ns()
    try:
        return parse_instant(text)
    except InstantError as exc:
        err.print(f"--now: {exc}")
        raise typer.Exit(2) from None


def read_text(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        err.print(f"{source}: cannot read: {exc.strerror}")
        raise typer.Exit(2) from None


def read_bytes(source: str) -> bytes:
    """The bytes of a file, or of standard input for ``-`` (decoded by the caller, strictly)."""
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        err.print(f"{source}: cannot read: {exc.strerror}")
        raise typer.Exit(2) from None


def decode(text: str | bytes) -> tuple[Any, str | None]:
    """A JSON document, or ``(None, message)`` saying where it is malformed.

    Bytes must be UTF-8: invalid bytes are an error naming their offset, never dropped or
    replaced (the request decided must be the request sent, whatever the locale). Nesting
    too deep to parse and integers too long to convert are errors too, not tracebacks.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, f"not UTF-8: byte {exc.object[exc.start]:#04x} at offset {exc.start}"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
    except RecursionError:
        return None, "malformed JSON: nested too deeply to read"
    except ValueError as exc:  # e.g. an integer past Python's digit limit
        return None, f"malformed JSON: {str(exc).splitlines()[0]}"


def dumps(obj: Any, pretty: bool = False) -> str:
    if pretty:
        return json.dumps(obj, indent=2, ensure_ascii=False)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def instant_option(text: str | None, name: str = "instant") -> int | None:
    """An option's ISO-8601 instant as integer nanoseconds; a bad one ends the command with exit 2."""
    if text is None:
        return None
    try:
        return int(parse_instant(text))
    except InstantError as exc:
        err.print(f"--{name}: {exc}")
        raise typer.Exit(2) from None
