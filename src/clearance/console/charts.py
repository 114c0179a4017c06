"""Inline SVG charts for the console (no script, no fetched library: the page works air-gapped)."""

from __future__ import annotations

from collections import Counter
from html import escape

from markupsafe import Markup

COLOURS = {"permit": "#2f855a", "deny": "#c53030", "review": "#b7791f"}


def minute_chart(per_minute: dict[int, Counter[str]], minutes: int, title: str, width: int = 720) -> Markup:
    """Stacked columns, one a minute, oldest at the left; a legend names each outcome's colour."""
    height, left, bottom = 180, 36, 22
    top = max((sum(c.values()) for c in per_minute.values()), default=0)
    scale = (height - bottom - 10) / (top or 1)
    col = (width - left) / minutes
    parts = [f"<svg role='img' aria-label='{escape(title)}: {sum(sum(c.values()) for c in per_minute.values())} "
             f"decisions, at most {top} in a minute' viewBox='0 0 {width} {height + 20}' width='{width}' "
             f"font-family='sans-serif' font-size='11'>",
             f"<line x1='{left}' y1='{height - bottom}' x2='{width}' y2='{height - bottom}' stroke='#718096'/>",
             f"<text x='{left - 4}' y='14' text-anchor='end'>{top}</text>",
             f"<text x='{left - 4}' y='{height - bottom}' text-anchor='end'>0</text>",
             f"<text x='{left}' y='{height - 6}'>-{minutes} min</text>",
             f"<text x='{width}' y='{height - 6}' text-anchor='end'>now</text>"]
    for minute, counts in sorted(per_minute.items()):
        y = height - bottom
        for outcome in ("permit", "review", "deny"):
            n = counts.get(outcome, 0)
            if not n:
                continue
            h = n * scale
            y -= h
            parts.append(f"<rect x='{left + minute * col + 1:.1f}' y='{y:.1f}' width='{max(col - 2, 1):.1f}' "
                         f"height='{h:.1f}' fill='{COLOURS[outcome]}'><title>{n} {outcome}</title></rect>")
    for i, (outcome, colour) in enumerate(COLOURS.items()):
        x = left + i * 90
        parts.append(f"<rect x='{x}' y='{height + 6}' width='10' height='10' fill='{colour}'/>"
                     f"<text x='{x + 14}' y='{height + 15}'>{outcome}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(title: str, items: list[tuple[str, int]]) -> Markup:
    """The audit report's horizontal bar chart, marked safe for the templates."""
    from ..services.report_html import bar_chart

    return Markup(bar_chart(title, items))
