"""``clearance serve``: the enforcing gateway and the admin API, ready to try on the embedded defaults.

With nothing configured it serves the example policy from a SQLite file in the working
directory, with the built-in demo model as every model's upstream. On start it issues a
fresh demo key (a US employee of the demo entity; the previous demo key is retired) and,
the first time only, an admin token; both are printed once and stored only as hashes. The
port is checked first, so a start that cannot listen issues (and prints) nothing; the
database URL is shown with its password hidden.
"""

from __future__ import annotations

import shlex
import socket
from pathlib import Path
from typing import Annotated

import typer

from ..settings import Settings

DEMO_PERSON = "demo-user"
DEMO_LABEL = "clearance serve demo key"
BOOTSTRAP_LABEL = "clearance serve bootstrap admin token"
ACTOR = "clearance-serve"


def _bootstrap(settings: Settings, entity: str, use_case: str, demo: bool) -> tuple[str | None, str | None, str]:
    """Demo person and key, first admin token; returns (demo key, admin token, policy version)."""
    from ..wiring import build_app

    registry = build_app(settings)
    try:
        service = registry.service
        version = registry.live.current().version
        credentials = service.state(kind="credential")
        admin = None
        if not any("admin" in (r.body or {}).get("scopes", []) for r in credentials.values()):
            admin = service.create_credential(["admin"], actor=ACTOR, reason="first start", label=BOOTSTRAP_LABEL).token
        if not demo:
            return None, admin, version
        if entity not in registry.live.current().entities:
            typer.echo(f"note: entity `{entity}` is not in the policy; no demo key issued (see --demo-entity)", err=True)
            return None, admin, version
        if service.person(DEMO_PERSON) is None:
            service.put("person", DEMO_PERSON, {"entity": entity, "citizenships": ["US"], "location": "US",
                                                "name": "Demo User"}, actor=ACTOR, reason="demo")
        for (_, key), record in credentials.items():
            if (record.body or {}).get("label") == DEMO_LABEL:
                service.retire("credential", key, actor=ACTOR, reason="replaced by a new demo key")
        key = service.create_credential(["gateway"], actor=ACTOR, reason="demo", label=DEMO_LABEL, person=DEMO_PERSON,
                                        default_use_case=use_case, default_location="US").token
        return key, admin, version
    finally:
        registry.close()


ADMIN_HINT = "make one with `clearance registry token create --scope admin --reason ...` (same database settings)"


def shown_url(url: str) -> str:
    """``url`` as it may be printed: any password replaced by ``***``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from ..store.sql.engine import normalize_url

    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unparsable URL>"


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on now (in use, not an address here), or ``None``."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        return f"{host}: {exc}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
        try:
            probe.bind(address)
        except OSError as exc:
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def _example(base: str, key: str, model: str) -> str:
    body = '{"model": "' + model + '", "messages": [{"role": "user", "content": "Hello"}]}'
    return f"""
curl -s {base}/v1/chat/completions -H "Authorization: Bearer {key}" -H "Content-Type: application/json" -d {shlex.quote(body)}

python - <<'PY'
from openai import OpenAI
client = OpenAI(base_url="{base}/v1", api_key="{key}")
reply = client.chat.completions.create(model="{model}", messages=[{{"role": "user", "content": "Hello"}}])
print(reply.choices[0].message.content)
PY
"""


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes; they share the database, events and counters.")] = 1,
    demo: Annotated[bool, typer.Option(help="Issue a fresh demo key and print a ready-to-paste example.")] = True,
    demo_entity: Annotated[str, typer.Option(help="The entity the demo person works for.")] = "stripe",
    demo_use_case: Annotated[str, typer.Option(help="The demo key's default use case.")] = "software-engineering",
    demo_model: Annotated[str, typer.Option(help="The model the printed example calls.")] = "mythos-5",
    ssl_certfile: Annotated[Path | None, typer.Option(
        help="Serve HTTPS with this PEM certificate (with --ssl-keyfile): calls then meet `encryption-required`.")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="The certificate's PEM private key.")] = None,
    gateway_config: Annotated[Path | None, typer.Option(
        help="The gateway's YAML file: upstreams per model, trusted_proxies and their location and TLS headers "
             "(a proxy terminating TLS says so with e.g. X-Forwarded-Proto). Same as CLEARANCE_GATEWAY_CONFIG.")] = None,
) -> None:
    """Start the OpenAI-compatible enforcing gateway and the admin API (docs at /docs)."""
    import os

    import uvicorn

    if (ssl_certfile is None) != (ssl_keyfile is None):
        typer.echo("error: give both --ssl-certfile and --ssl-keyfile, or neither", err=True)
        raise typer.Exit(2)
    for option, path in (("--ssl-certfile", ssl_certfile), ("--ssl-keyfile", ssl_keyfile),
                         ("--gateway-config", gateway_config)):
        if path is not None and not path.is_file():
            typer.echo(f"error: {option}: {path} is not a readable file", err=True)
            raise typer.Exit(2)
    if gateway_config is not None:
        os.environ["CLEARANCE_GATEWAY_CONFIG"] = str(gateway_config.resolve())  # the server processes read it
    settings = Settings.from_env()
    if settings.in_memory:
        # Each server process would get a registry of its own, without the keys issued here.
        typer.echo("error: clearance serve needs a database its processes share: use SQLite (the default) "
                   "or PostgreSQL, not memory:", err=True)
        raise typer.Exit(2)
    problem = port_problem(host, port)
    if problem is not None:
        # Before anything is issued: a token printed by a start that then fails would be lost.
        typer.echo(f"error: {problem} (choose another with --port; nothing was issued)", err=True)
        raise typer.Exit(1)
    key, admin, version = _bootstrap(settings, demo_entity, demo_use_case, demo)
    base = f"{'https' if ssl_certfile else 'http'}://{host}:{port}"
    typer.echo(f"clearance gateway on {base} (policy {version}; database {shown_url(settings.database_url)}; "
               f"admin API docs at {base}/docs)")
    if admin:
        typer.echo(f"admin token (shown once): {admin}")
    else:
        typer.echo(f"admin token: issued before and not shown again; {ADMIN_HINT}")
    if key:
        typer.echo(f"demo key (shown once): {key}")
        typer.echo(_example(base, key, demo_model))
    # proxy_headers off: which proxies to believe is the gateway file's `trusted_proxies`, not uvicorn's.
    tls = {"ssl_certfile": str(ssl_certfile), "ssl_keyfile": str(ssl_keyfile)} if ssl_certfile else {}
    uvicorn.run("clearance.server:factory", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False, proxy_headers=False, **tls)
