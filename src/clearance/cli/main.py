"""The ``clearance`` command: the process entry point."""

from __future__ import annotations

import typer

from . import policy
from .decide import decide_command
from .explain import explain_command

app = typer.Typer(
    help="clearance: who may use a controlled AI model, for what, from where and when.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("decide")(decide_command)
app.command("explain")(explain_command)
app.add_typer(policy.app, name="policy")


def main() -> None:
    app()
