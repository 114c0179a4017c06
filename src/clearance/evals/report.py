"""A run's report as one self-contained HTML page with inline SVG charts (no scripts, nothing fetched)."""

from __future__ import annotations

from html import escape
from typing import Any

from ..services.report_html import bar_chart


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _interval(rate: dict[str, Any]) -> str:
    return f"{_pct(rate['rate'])} [{_pct(rate['lower'])}, {_pct(rate['upper'])}] ({rate['k']}/{rate['n']})"


def interval_chart(title: str, rows: list[tuple[str, dict[str, Any]]], width: int = 620) -> str:
    """Each rate as a dot on a 0-100 % axis with its 95 % interval as a bar."""
    rows = [(label, r) for label, r in rows if r["rate"] is not None]
    if not rows:
        return f"<p class='empty'>{escape(title)}: nothing measured.</p>"
    row, label_w, axis_w = 22, 220, width - 220 - 90
    height = row * len(rows) + 44
    parts = [f"<text x='0' y='14' font-weight='bold'>{escape(title)}</text>"]
    for tick in (0, 25, 50, 75, 100):
        x = label_w + axis_w * tick / 100
        parts.append(f"<line x1='{x:.1f}' y1='22' x2='{x:.1f}' y2='{height - 18}' stroke='#e2e8f0'/>"
                     f"<text x='{x:.1f}' y='{height - 4}' text-anchor='middle' fill='#718096'>{tick}%</text>")
    for i, (label, r) in enumerate(rows):
        y = 30 + i * row
        lo, hi, mid = (label_w + axis_w * v for v in (r["lower"], r["upper"], r["rate"]))
        parts.append(
            f"<text x='{label_w - 6}' y='{y + 10}' text-anchor='end'>{escape(label[:34])}</text>"
            f"<rect x='{lo:.1f}' y='{y + 3}' width='{max(1.0, hi - lo):.1f}' height='8' fill='#bee3f8'/>"
            f"<circle cx='{mid:.1f}' cy='{y + 7}' r='4' fill='#2b6cb0'/>"
            f"<text x='{label_w + axis_w + 8}' y='{y + 10}'>{_pct(r['rate'])} (n={r['n']})</text>"
        )
    return (f"<svg role='img' aria-label='{escape(title)}' width='{width}' height='{height}' font-family='sans-serif' "
            f"font-size='12'>" + "".join(parts) + "</svg>")


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return "<p class='empty'>None.</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: dict[str, Any]) -> str:
    run, suite, metrics, main = report["run"], report["suite"], report["metrics"], report["headline"]
    sections = [
        interval_chart(f"{main['metric'].replace('_', ' ')} by category",
                       sorted(metrics["by_category"].items(), key=lambda kv: -(kv[1]["rate"] or 0))),
    ]
    if "by_template" in metrics:
        templates = metrics["by_template"]
        sections.append(interval_chart("Attack success by template",
                                       sorted(((n, t["attack_success"]) for n, t in templates.items()),
                                              key=lambda kv: -(kv[1]["rate"] or 0))))
        sections.append("<h2>Template universality</h2>" + _table(
            ["template", "attack success", "categories unlocked", "category share", "universal"],
            [[n, _interval(t["attack_success"]), ", ".join(t["categories_unlocked"]) or "none",
              _pct(t["category_share"]), "yes" if t["universal"] else "no"] for n, t in sorted(templates.items())]))
        sections.append(f"<p>Universal: success rate at least {_pct(metrics['universality']['success_rate'])} in at "
                        f"least {metrics['universality']['categories']} categories. Asked directly, without a "
                        f"template: {_interval(metrics['direct_success_rate'])}.</p>")
    thresholds = _table(["metric", "bound", "value", "met"],
                        [[t["metric"], f"≥ {t['at_least']}" if t["at_least"] is not None else f"≤ {t['at_most']}",
                          _pct(t["value"]), {True: "yes", False: "no", None: "n/a"}[t["passed"]]]
                         for t in report["thresholds"]])
    sources = _table(["set", "licence", "source"], [[s["set"], s["licence"], s["cited"]] for s in suite["sources"]])
    counts = report["counts"]
    labels = bar_chart("Judge labels", list(counts["labels"].items()))
    title = f"Safety evaluation {run['id']}: {suite['suite']} on {run['model']}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2rem auto; max-width: 62rem; color: #1a202c; }}
table {{ border-collapse: collapse; margin: .5rem 0 1.5rem; }}
th, td {{ border: 1px solid #cbd5e0; padding: .3rem .6rem; text-align: left; }}
th {{ background: #edf2f7; }} .empty {{ color: #718096; }} code {{ font-size: .85em; word-break: break-all; }}
</style></head><body>
<h1>{escape(title)}</h1>
<p>{escape(suite.get('description') or '')}</p>
<p>Target <code>{escape(run['target'])}</code>, model <code>{escape(run['model'])}</code>, status {escape(run['status'])}.
Suite hash <code>{escape(run['suite_hash'])}</code>, items hash <code>{escape(run['items_hash'])}</code>,
judge <code>{escape(run['judge'])}</code>. The safe answer here is {escape(suite['safe_answer'])}.</p>
<h2>Result</h2>
<p><strong>{escape(main['metric'].replace('_', ' '))}: {escape(_interval(main))}</strong>, 95% Wilson interval.
{counts['answered']:,} of {counts['items']:,} items answered, {counts['errors']:,} errors.</p>
{thresholds}
{labels}
{''.join(sections)}
<h2>Prompt sources</h2>{sources}
</body></html>
"""
