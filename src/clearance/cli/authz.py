"""``clearance authz serve``: clearance as the authorizer of a proxy already in front of the models."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from ..settings import Settings

app = typer.Typer(no_args_is_help=True, help="Decide for Envoy (ext_authz, gRPC and HTTP) and nginx (auth_request).")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (HTTP and gRPC).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port: Envoy's HTTP ext_authz at /ext_authz, nginx at /nginx.")] = 8001,
    grpc_port: Annotated[int, typer.Option(help="gRPC port for envoy.service.auth.v3.Authorization; 0: none.")] = 9001,
) -> None:
    """Answer Envoy's and nginx's authorization checks with clearance's decisions, each recorded first."""
    import uvicorn

    settings = Settings.from_env()
    if settings.in_memory:
        typer.echo("error: clearance authz serve needs the database the admin API uses (SQLite or PostgreSQL), "
                   "not memory:", err=True)
        raise typer.Exit(2)
    if grpc_port:
        try:
            import grpc  # noqa: F401
            from envoy.service.auth.v3 import external_auth_pb2  # noqa: F401
        except ImportError:
            typer.echo("error: the gRPC authorizer needs `pip install 'clearance[authz]'` (grpcio, xds-protos); "
                       "or pass --grpc-port 0", err=True)
            raise typer.Exit(2) from None
    os.environ["CLEARANCE_AUTHZ_GRPC"] = f"{host}:{grpc_port}" if grpc_port else ""
    typer.echo(f"clearance authorizer: HTTP on http://{host}:{port} (Envoy /ext_authz, nginx /nginx)"
               + (f", gRPC on {host}:{grpc_port}" if grpc_port else ""))
    uvicorn.run("clearance.authz_server:factory", factory=True, host=host, port=port, workers=1,
                log_level="warning", access_log=False, proxy_headers=False)
