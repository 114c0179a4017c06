"""A decision explained for a person, as rich renderables: ``clearance explain`` prints it, the console shows it.

One renderer, so the terminal and the web console say the same thing about the same decision:
the verdict and its rule, the rule chain, each authorization considered, and what would change it.
"""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..core.decision import Decision, Outcome
from ..core.instant import format_instant

_STYLE = {Outcome.PERMIT: "bold green", Outcome.DENY: "bold red", Outcome.REVIEW: "bold yellow"}
_DIMENSIONS = (
    ("instant", "in force"),
    ("entity", "entity"),
    ("person", "employee"),
    ("suspension", "not suspended"),
    ("destinations", "destinations"),
    ("use_case", "use case"),
)


def render(decision: Decision) -> Group:
    style = _STYLE.get(Outcome(decision.outcome), "bold")
    head = Text.assemble((f"{decision.outcome.upper()}", style), "  ", (str(decision.code), style))
    primary = decision.reasons[0]
    summary = Text(f"{primary.message}\n", style="")
    summary.append(f"rule {primary.rule}", style="dim")
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column(overflow="fold")  # ids and hashes wrap whole, never cut to "…" (they are copied)
    facts.add_row("at", format_instant(decision.at) if decision.at is not None else "-")
    facts.add_row("tier", decision.tier or "-")
    facts.add_row("destinations", ", ".join(decision.destinations) or "none (no export)")
    facts.add_row("authorization", decision.authorization or "-")
    facts.add_row("policy", decision.policy_version)
    parts: list = [Panel(Group(head, summary), expand=False), facts]
    if decision.steps:
        chain = Table(title="Rule chain", title_justify="left", show_lines=False)
        for col in ("#", "step", "", "rule", "finding"):
            chain.add_column(col, overflow="fold")
        for i, step in enumerate(decision.steps, start=1):
            mark = Text("✓", style="green") if step.status == "pass" else Text("✗", style="red")
            chain.add_row(str(i), step.name, mark, step.rule, step.message)
        parts.append(chain)
    if decision.checks:
        auths = Table(title="Authorizations considered", title_justify="left")
        auths.add_column("authorization", overflow="fold", min_width=12)
        for _, label in _DIMENSIONS:
            auths.add_column(label, justify="center", overflow="fold")
        auths.add_column("covers", justify="center", overflow="fold")
        for check in decision.checks:
            failed = set(check.failures)
            cells = [Text("✗", style="red") if dim in failed else Text("✓", style="green") for dim, _ in _DIMENSIONS]
            if check.destinations:
                cells[4] = Text("✗ " + ", ".join(check.destinations), style="red")
            covers = Text("yes", style="green") if check.covers else Text("no", style="red")
            auths.add_row(check.authorization, *cells, covers)
        parts.append(auths)
    if len(decision.reasons) > 1:
        more = Table(title="Other reasons", title_justify="left", show_header=False)
        more.add_column(style="dim")
        more.add_column(overflow="fold")
        for r in decision.reasons[1:]:
            more.add_row(r.rule, r.message)
        parts.append(more)
    if decision.outcome == Outcome.PERMIT:
        parts.append(_clauses("Obligations", decision.obligations, "none"))
    else:
        parts.append(_clauses("What would change it", decision.remedies, "no remedy: this rule admits no exception"))
    return Group(*parts)


def _clauses(title: str, clauses, empty: str) -> Text:
    text = Text(f"{title}: ", style="bold")
    if not clauses:
        return text.append(empty, style="dim")
    rendered = []
    for c in clauses:
        params = ", ".join(f"{k}={v}" for k, v in c.params)
        rendered.append(f"{c.code} ({params})" if params else c.code)
    return text.append("; ".join(rendered))
