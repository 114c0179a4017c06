"""The ``clearance`` command: the process entry point."""

from __future__ import annotations

import typer

from . import audit, policy, registry
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
app.add_typer(registry.app, name="registry")
app.add_typer(audit.app, name="audit")


@app.command("api")
def api_command(host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the admin and remote-audit REST API (OpenAPI docs at /docs) on CLEARANCE_DATABASE_URL."""
    import uvicorn

    from ..api.app import create_app
    from ..settings import Settings
    from ..wiring import build_registry

    built = build_registry(Settings.from_env())
    built.follow()
    try:
        uvicorn.run(create_app(built.service, built.live, built.audit), host=host, port=port, log_level="info")
    finally:
        built.close()


def main() -> None:
    app()
