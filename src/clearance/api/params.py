"""Query and path values every admin route shares rules for: what fits the stores, and no control characters.

Values the stores cannot hold used to reach them and come back as a 500 (SQLite) or a false
503 (PostgreSQL): a seq or instant past 64 bits, a NUL in an id. They are refused here, with
422 naming the parameter, before any store sees them.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from ..core.instant import Instant, format_instant
from ..core.request import control_character

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
# Stored instants are 64-bit nanoseconds: 1677-09-21T00:12:43.145224192Z .. 2262-04-11T23:47:16.854775807Z.
EARLIEST, LATEST = format_instant(INT64_MIN), format_instant(INT64_MAX)


def invalid(where: str, name: str, message: str) -> RequestValidationError:
    """A 422 ``invalid-request`` naming ``where.name`` (rendered by the app's one handler)."""
    return RequestValidationError([{"loc": (where, name), "msg": message, "type": "value_error"}])


def in_store_range(value: Instant, name: str, where: str = "query") -> int:
    """``value`` as whole nanoseconds, when a store can hold it; else a 422 naming ``name``."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise invalid(where, name, f"outside the instants the log can hold ({EARLIEST} .. {LATEST})")
    return int(value)


async def printable(request: Request) -> None:
    """A dependency of every route: no path or query value may hold a control character (422 naming it)."""
    for where, values in (("path", request.path_params.items()), ("query", request.query_params.multi_items())):
        for name, value in values:
            found = control_character(value) if isinstance(value, str) else None
            if found is not None:
                raise invalid(where, name, f"must not contain control characters (found {found})")
