"""The quarterly audit report of one entity: what it used, what it was refused, what was flagged.

Everything in the report is counted from the audit log itself (decision, completion,
monitoring and guardrail records naming the entity), and the report names the signed tree
head it was computed under, so an auditor can check every figure against the records.
Counting is pure (:func:`summarize` over records); :func:`quarter_report` reads the store.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..audit.record import AuditRecord
from ..core.instant import format_instant
from .audit_log import AuditLog

NS = 1_000_000_000
PAGE = 5000
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$")


class ReportError(ValueError):
    """The report cannot be made as asked (a bad quarter, an unknown entity); the message says why."""


@dataclass(frozen=True)
class Period:
    label: str
    start_ns: int
    end_ns: int  # exclusive

    def to_dict(self) -> dict[str, str]:
        return {"quarter": self.label, "from": format_instant(self.start_ns), "until": format_instant(self.end_ns)}


def quarter(text: str) -> Period:
    """``2026Q3`` (or ``2026-Q3``): 1 July 2026 00:00 UTC up to, not including, 1 October."""
    found = _QUARTER.match(text.strip().upper())
    if found is None:
        raise ReportError(f"quarter: `{text}` is not of the form 2026Q3")
    year, q = int(found.group(1)), int(found.group(2))
    start = datetime(year, 3 * q - 2, 1, tzinfo=UTC)
    end = datetime(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1, tzinfo=UTC)
    return Period(f"{year}Q{q}", int(start.timestamp()) * NS, int(end.timestamp()) * NS)


def at_path(mapping: Any, *path: str) -> Any:
    """The value at ``path`` in nested mappings (a record body), ``None`` where any step is missing."""
    for key in path:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def tokens_used(body: Any) -> int:
    """The tokens a completion record spent: ``usage.total_tokens``, else prompt plus completion tokens."""
    total = at_path(body, "usage", "total_tokens")
    if isinstance(total, int) and not isinstance(total, bool):
        return total
    parts = [at_path(body, "usage", k) for k in ("prompt_tokens", "completion_tokens")]
    return sum(p for p in parts if isinstance(p, int) and not isinstance(p, bool))


def summarize(entity: str, period: Period, records: Iterable[AuditRecord]) -> dict[str, Any]:
    """The report's figures from ``records`` (those naming ``entity`` within ``period``)."""
    outcomes: Counter[str] = Counter()
    denials: Counter[str] = Counter()
    usage: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])  # requests, completions, tokens
    by_auth: dict[str, Counter[str]] = defaultdict(Counter)
    cap_hits: Counter[tuple[str, str]] = Counter()
    events: dict[str, Counter[str]] = {"monitoring": Counter(), "guardrail": Counter()}
    by_month: dict[str, Counter[str]] = defaultdict(Counter)
    examples: dict[str, int] = {}
    versions: Counter[str] = Counter()
    guarded: Counter[tuple[str, str, str]] = Counter()  # (stage, label, action) of the gateway's guard records
    for r in records:
        body = r.body
        month = format_instant(r.at_ns)[:7]
        if r.kind == "decision":
            outcome, code = at_path(body, "decision", "outcome"), at_path(body, "decision", "code")
            outcomes[str(outcome)] += 1
            by_month[month][str(outcome)] += 1
            version = at_path(body, "decision", "policy_version")
            if isinstance(version, str):
                versions[version] += 1
            if outcome != "permit":
                denials[str(code)] += 1
                examples.setdefault(str(code), r.seq)
                continue
            key = (str(at_path(body, "request", "model")), str(at_path(body, "request", "use_case")),
                   str(at_path(body, "decision", "authorization") or "-"))
            usage[key][0] += 1
            by_auth[key[2]]["requests"] += 1
            obligations = at_path(body, "decision", "obligations")
            if isinstance(obligations, list) and any(at_path(o, "code") == "monitoring" for o in obligations):
                # A permit under a monitoring obligation is itself a monitored call (its record is the log).
                events["monitoring"]["monitored-permit"] += 1
        elif r.kind == "completion":
            key = (str(body.get("model")), str(body.get("use_case")), str(body.get("authorization") or "-"))
            spent = tokens_used(body)
            usage[key][1] += 1
            usage[key][2] += spent
            by_auth[key[2]]["completions"] += 1
            by_auth[key[2]]["tokens"] += spent
            by_month[month]["tokens"] += spent
        elif r.kind in events:
            name = str(body.get("event", "unspecified"))
            events[r.kind][name] += 1
            if r.kind == "guardrail" and "action" in body:
                guarded[(str(body.get("stage")), str(body.get("label")), str(body.get("action")))] += 1
            if r.kind == "monitoring" and name == "cap-exceeded":
                cap_hits[(str(body.get("authorization") or "-"), format_instant(r.at_ns)[:10])] += 1
    return {
        "entity": entity,
        "period": period.to_dict(),
        "totals": {
            "decisions": sum(outcomes.values()), "permits": outcomes["permit"], "denials": outcomes["deny"],
            "reviews": outcomes["review"], "completions": sum(u[1] for u in usage.values()),
            "tokens": sum(u[2] for u in usage.values()), "cap_hits": sum(cap_hits.values()),
        },
        "usage": [
            {"model": m, "use_case": u, "authorization": a, "requests": n, "completions": c, "tokens": t}
            for (m, u, a), (n, c, t) in sorted(usage.items())
        ],
        "authorizations": {a: dict(sorted(c.items())) for a, c in sorted(by_auth.items())},
        "denials_by_code": dict(denials.most_common()),
        "denial_examples": {code: seq for code, seq in sorted(examples.items())},
        "cap_hits": [{"authorization": a, "day": d, "count": n} for (a, d), n in sorted(cap_hits.items())],
        "events": {kind: dict(c.most_common()) for kind, c in events.items()},
        "by_month": {m: dict(sorted(c.items())) for m, c in sorted(by_month.items())},
        "policy_versions": dict(versions.most_common()),
        "guardrails": {
            "blocked": sum(n for (_, _, a), n in guarded.items() if a == "block"),
            "flagged": sum(n for (_, _, a), n in guarded.items() if a == "flag"),
            "by_label": [{"stage": st, "label": lb, "action": a, "count": n} for (st, lb, a), n in sorted(guarded.items())],
        },
    }


def entity_known(log: AuditLog, entity: str, registered: Container[str]) -> bool:
    """Whether a report of ``entity`` can mean anything: it is in the policy, or the log names it.

    An unknown name (a typo) would otherwise give an empty report that looks like an idle entity.
    """
    return entity in registered or bool(log.store.query(entity=entity, limit=1))


def quarter_report(log: AuditLog, entity: str, quarter_text: str, about: Any = None) -> dict[str, Any]:
    """The report of ``entity`` for ``quarter_text``, tied to a signed head covering every record read.

    ``about``: the entity as the policy knows it (an object with ``name`` and ``country``), for
    the report's heading; ``None`` when the policy no longer has it.
    """
    period = quarter(quarter_text)
    head = log.latest_head()

    def records() -> Iterable[AuditRecord]:
        after = -1
        while True:
            page = log.store.query(entity=entity, since_ns=period.start_ns, until_ns=period.end_ns - 1,
                                   after_seq=after, limit=PAGE)
            yield from (r for r in page if r.seq < head.size)
            if len(page) < PAGE:
                return
            after = page[-1].seq

    report = summarize(entity, period, records())
    if about is not None:
        report["entity_name"], report["entity_country"] = about.name, about.country
    report["signed_head"] = head.to_dict()
    report["generated_at"] = format_instant(log.clock.now_ns())
    return report
