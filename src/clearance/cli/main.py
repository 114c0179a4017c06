"""The ``clearance`` command: the process entry point."""

from __future__ import annotations

import typer

from . import audit, authz, db, evals, guard, licensing, lists, policy, registry
from .decide import decide_command
from .explain import explain_command
from .screen import screen_command
from .serve import serve_command

app = typer.Typer(
    help="clearance: who may use a controlled AI model, for what, from where and when.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("decide")(decide_command)
app.command("explain")(explain_command)
app.add_typer(policy.app, name="policy")
app.add_typer(registry.app, name="registry")
app.add_typer(audit.app, name="audit")
app.add_typer(authz.app, name="authz")
app.add_typer(db.app, name="db")
app.add_typer(lists.app, name="lists")
app.command("screen")(screen_command)
app.command("serve")(serve_command)
app.command("criteria")(licensing.criteria_command)
app.command("self-check")(licensing.self_check_command)
app.add_typer(licensing.applications_app, name="applications")
app.add_typer(evals.app, name="eval")
app.add_typer(evals.tier_app, name="tier")
app.add_typer(guard.app, name="guard")


@app.command("api")
def api_command(host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the admin and remote-audit REST API (OpenAPI docs at /docs) on CLEARANCE_DATABASE_URL."""
    import uvicorn

    uvicorn.run("clearance.server:admin_factory", factory=True, host=host, port=port, log_level="info")


def main() -> None:
    app()
