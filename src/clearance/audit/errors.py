"""Errors of the audit package, under the one root ``ClearanceError``.

::

    AuditError          root of audit errors; ``code`` is a stable machine code
    ├── RecordError     a record cannot be encoded or decoded canonically; keeps field and value
    ├── HeadError       a tree head is malformed, unsigned by a known key, or its signature fails
    └── KeyRingError    a key directory is missing, incomplete or corrupt; keeps the path

Messages name the offending input but never contain key material.
"""

from __future__ import annotations

from typing import Any

from clearance.core.errors import ClearanceError


class AuditError(ClearanceError):
    """Root of audit errors. ``code`` is stable (kebab-case); the message is for people."""

    code = "audit-error"

    def __init__(self, message: str, code: str | None = None) -> None:
        if code is not None:
            self.code = code
        self.message = message
        super().__init__(message)


class RecordError(AuditError):
    """A record is not encodable as canonical JSON, or a line is not a canonical record.

    ``field`` is the dotted path of the offending part (``body.score``), ``""`` for the whole record.
    """

    code = "malformed-record"

    def __init__(self, field: str, message: str, value: Any = None) -> None:
        self.field = field
        self.value = value
        super().__init__(f"{field}: {message}" if field else message)


class HeadError(AuditError):
    """A signed tree head cannot be trusted: ``malformed-head``, ``unknown-key`` or ``bad-signature``."""

    code = "bad-head"


class KeyRingError(AuditError):
    """A key directory is unusable; ``path`` names the file or directory at fault."""

    code = "keyring-error"

    def __init__(self, path: Any, message: str) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: {message}")
