"""The error tree of clearance.

::

    ClearanceError                 root; every error we raise on purpose
    ├── RequestError               a request is malformed; keeps the field path and the value
    └── PolicyError                a policy bundle is invalid; keeps every Problem found

Decisions never raise: ``decide()`` turns a bad request into an ``invalid-request``
decision. These errors are for parsers and loaders, and one place per interface
maps them to an exit code or an HTTP status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ClearanceError(Exception):
    """Root of every error clearance raises on purpose."""


class RequestError(ClearanceError):
    """A request does not follow the contract.

    ``field`` is the dotted path of the offending field (``person.location``),
    or ``""`` when the whole document is at fault.
    """

    def __init__(self, field: str, message: str, value: Any = None) -> None:
        self.field = field
        self.message = message
        self.value = value
        super().__init__(f"{field}: {message}" if field else message)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a policy bundle, located as precisely as known."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class PolicyError(ClearanceError):
    """A policy bundle was rejected; ``problems`` lists every error, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"policy bundle rejected with {count} problem{'s' * (count != 1)}:\n{lines}")
