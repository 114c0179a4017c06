"""A permit's obligations, turned into what the gateway must do before and after forwarding.

Known obligations: ``monitoring`` (record request and response metadata; with
``content: true`` the content too), ``usage-cap`` (``tokens_per_day``, counted per entity
and authorization, or per person with ``per: person``), ``quarterly-audit`` (served by the
audit log itself), ``encryption-required`` (the call must have arrived over TLS). Any other
obligation is one this gateway cannot honour, so the call is refused: fail closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KNOWN = frozenset({"monitoring", "usage-cap", "quarterly-audit", "encryption-required"})


@dataclass(frozen=True)
class Cap:
    scope: str
    tokens_per_day: int


@dataclass
class Duties:
    monitor: bool = False
    content: bool = False
    tls: bool = False
    caps: list[Cap] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)


def duties(decision: dict[str, Any], entity: str | None, person: str | None) -> Duties:
    out = Duties()
    authorization = decision.get("authorization") or "-"
    for obligation in decision.get("obligations") or []:
        code = obligation.get("code")
        if code not in KNOWN:
            out.unknown.append(str(code))
        elif code == "monitoring":
            out.monitor = True
            out.content = out.content or obligation.get("content") is True
        elif code == "encryption-required":
            out.tls = True
        elif code == "usage-cap":
            limit = obligation.get("tokens_per_day")
            per = obligation.get("per", "entity")
            if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0 or per not in ("entity", "person"):
                out.malformed.append(f"usage-cap {obligation!r}")
                continue
            who = entity if per == "entity" else person
            out.caps.append(Cap(f"{per}:{who}/{authorization}", limit))
    return out
