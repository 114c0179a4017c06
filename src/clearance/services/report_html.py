"""The quarterly audit report as one self-contained HTML page, with inline SVG charts.

No scripts, fonts or stylesheets are fetched: the page is read on an auditor's machine,
possibly offline, and must show exactly what the JSON report says.
"""

from __future__ import annotations

from html import escape
from typing import Any

PALETTE = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#718096")


def bar_chart(title: str, items: list[tuple[str, int]], width: int = 560) -> str:
    """A horizontal bar chart of ``(label, value)`` pairs, as an inline SVG element."""
    if not items:
        return f"<p class='empty'>{escape(title)}: none in this period.</p>"
    row, label_w = 24, 200
    top = max(v for _, v in items) or 1
    height = row * len(items) + 30
    bars = []
    for i, (label, value) in enumerate(items):
        y = 26 + i * row
        w = max(1, round((width - label_w - 70) * value / top))
        bars.append(
            f"<text x='{label_w - 6}' y='{y + 14}' text-anchor='end'>{escape(label[:32])}</text>"
            f"<rect x='{label_w}' y='{y + 2}' width='{w}' height='{row - 6}' fill='{PALETTE[i % len(PALETTE)]}'/>"
            f"<text x='{label_w + w + 6}' y='{y + 14}'>{value:,}</text>"
        )
    return (f"<svg role='img' aria-label='{escape(title)}' width='{width}' height='{height}' "
            f"font-family='sans-serif' font-size='12'><text x='0' y='14' font-weight='bold'>{escape(title)}</text>"
            + "".join(bars) + "</svg>")


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return "<p class='empty'>None in this period.</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(_cell(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def render_html(report: dict[str, Any]) -> str:
    """The page for a report made by ``clearance.services.audit_report.quarter_report``."""
    period, totals, head = report["period"], report["totals"], report["signed_head"]
    usage_by_model: dict[str, int] = {}
    for u in report["usage"]:
        usage_by_model[u["model"]] = usage_by_model.get(u["model"], 0) + u["requests"]
    events = [(f"{kind}: {name}", n) for kind, found in report["events"].items() for name, n in found.items()]
    summary = _table(["decisions", "permits", "denials", "reviews", "completions", "tokens", "cap hits"],
                     [[totals[k] for k in ("decisions", "permits", "denials", "reviews", "completions", "tokens", "cap_hits")]])
    usage = _table(["model", "use case", "authorization", "permitted requests", "completions", "tokens"],
                   [[u["model"], u["use_case"], u["authorization"], u["requests"], u["completions"], u["tokens"]]
                    for u in report["usage"]])
    auths = _table(["authorization", "requests", "completions", "tokens"],
                   [[a, c.get("requests", 0), c.get("completions", 0), c.get("tokens", 0)]
                    for a, c in report["authorizations"].items()])
    denials = _table(["code", "count", "example record (seq)"],
                     [[code, n, report["denial_examples"].get(code, "")] for code, n in report["denials_by_code"].items()])
    caps = _table(["authorization", "day", "refusals"], [[c["authorization"], c["day"], c["count"]] for c in report["cap_hits"]])
    named = report.get("entity_name")
    title = f"Audit report: {named} ({report['entity']}, {report.get('entity_country', '?')}), {period['quarter']}" \
        if named else f"Audit report: {report['entity']}, {period['quarter']}"
    guards = report.get("guardrails") or {"blocked": 0, "flagged": 0, "by_label": []}
    guard_rows = _table(["stage", "label", "action", "count"],
                        [[g["stage"], g["label"], g["action"], g["count"]] for g in guards["by_label"]])
    versions = _table(["policy version", "decisions"], [[v, n] for v, n in report.get("policy_versions", {}).items()])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2rem auto; max-width: 60rem; color: #1a202c; }}
table {{ border-collapse: collapse; margin: .5rem 0 1.5rem; }}
th, td {{ border: 1px solid #cbd5e0; padding: .3rem .6rem; text-align: left; }}
th {{ background: #edf2f7; }} .empty {{ color: #718096; }} code {{ font-size: .85em; word-break: break-all; }}
</style></head><body>
<h1>{escape(title)}</h1>
<p>Period {escape(period['from'])} to {escape(period['until'])} (exclusive). Generated {escape(report['generated_at'])}.
Every figure is counted from the audit log records up to the signed tree head of size
{head['size']:,}, root <code>{escape(head['root'])}</code>, signed by key <code>{escape(head['key_id'])}</code>.</p>
<h2>Summary</h2>{summary}
<h2>Usage by model and use case</h2>{bar_chart("Permitted requests by model", sorted(usage_by_model.items(), key=lambda kv: -kv[1]))}{usage}
<h2>Usage by authorization</h2>{auths}
<h2>Denials and reviews by code</h2>{bar_chart("Refusals by code", list(report["denials_by_code"].items()))}{denials}
<h2>Usage-cap hits</h2>{caps}
<h2>Monitoring and guardrail events</h2>{bar_chart("Events", events)}
<h2>Gateway guardrails</h2><p>{guards["blocked"]:,} blocked, {guards["flagged"]:,} flagged (prompts and answers).</p>{guard_rows}
<h2>Policy versions decided under</h2>{versions}
</body></html>
"""
