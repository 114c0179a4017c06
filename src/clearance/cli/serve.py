"""``clearance serve``: the enforcing gateway and the admin API, ready to try on the embedded defaults.

With nothing configured it serves the example policy from a SQLite file in the working
directory, with the built-in demo model as every model's upstream. On start it issues a
fresh demo key (a US employee of the demo entity; the previous demo key is retired) and,
the first time only, an admin token; both are printed once and stored only as hashes.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from ..settings import Settings

DEMO_PERSON = "demo-user"
DEMO_LABEL = "clearance serve demo key"
BOOTSTRAP_LABEL = "clearance serve bootstrap admin token"
ACTOR = "clearance-serve"
ADMIN_HINT = "make one with `clearance registry token create --scope admin --reason ...` (same database settings)"


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
    admin_port: Annotated[int | None, typer.Option(
        help="Serve the admin/audit API and /metrics on this port only (model routes stay on --port).")] = None,
    ssl_certfile: Annotated[Path | None, typer.Option(
        help="Serve HTTPS with this PEM certificate (with --ssl-keyfile): calls then meet `encryption-required`.")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="The certificate's PEM private key.")] = None,
    gateway_config: Annotated[Path | None, typer.Option(
        help="The gateway's YAML file: upstreams per model, trusted_proxies and their location and TLS headers "
             "(a proxy terminating TLS says so with e.g. X-Forwarded-Proto). Same as CLEARANCE_GATEWAY_CONFIG.")] = None,
) -> None:
    """Start the OpenAI-compatible enforcing gateway and the admin API (docs at /docs)."""
    if admin_port is not None:
        if admin_port == port or not 0 < admin_port < 65536:
            typer.echo(f"error: --admin-port {admin_port} must be a TCP port other than --port", err=True)
            raise typer.Exit(2)
        os.environ["CLEARANCE_ADMIN_PORT"] = str(admin_port)  # read by every worker's Settings
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
    tls = {"ssl_certfile": str(ssl_certfile), "ssl_keyfile": str(ssl_keyfile)} if ssl_certfile else {}
    metrics_dir = _metrics_dir(workers)  # before anything imports prometheus_client
    try:
        _serve(host, port, workers, demo, demo_entity, demo_use_case, demo_model, admin_port, tls)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _metrics_dir(workers: int) -> str | None:
    """With several workers, prometheus-client's multiprocess mode: a fresh directory all workers write to.

    Returns the directory to remove at exit (``None`` when the operator chose one, or one worker).
    An operator's own ``PROMETHEUS_MULTIPROC_DIR`` is emptied first: files of a previous run would
    otherwise be summed into this one's counters.
    """
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        return None
    if workers <= 1:
        return None
    made = tempfile.mkdtemp(prefix="clearance-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    return made


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        typer.echo(f"error: cannot listen on {host}:{port}: {exc.strerror} (choose another with --port; nothing was issued)",
                   err=True)
        raise typer.Exit(1) from None
    return sock


def _serve(host: str, port: int, workers: int, demo: bool, demo_entity: str, demo_use_case: str, demo_model: str,
           admin_port: int | None, tls: dict[str, str]) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from ..observability import logs, metrics

    settings = Settings.from_env()
    logs.configure(settings.log_format, settings.log_level, settings.log_repeat_interval_s)
    if settings.in_memory:
        # Each server process would get a registry of its own, without the keys issued here.
        typer.echo("error: clearance serve needs a database its processes share: use SQLite (the default) "
                   "or PostgreSQL, not memory:", err=True)
        raise typer.Exit(2)
    # Each worker listens on every socket given; the listener a request came in on decides what it reaches.
    # Bound before anything is issued: a token printed by a start that then fails would be lost.
    sockets = [_bind(host, port)] + ([_bind(host, admin_port)] if admin_port is not None else [])
    key, admin, version = _bootstrap(settings, demo_entity, demo_use_case, demo)
    if workers > 1:
        metrics.worker_exited(os.getpid())  # this supervisor serves no calls: its live gauges are not a worker's
    scheme = "https" if tls else "http"
    base = f"{scheme}://{host}:{port}"
    admin_base = f"{scheme}://{host}:{admin_port}" if admin_port is not None else base
    typer.echo(f"clearance gateway on {base} (policy {version}; database {logs.redact(settings.database_url)}; "
               f"admin API and /metrics on {admin_base}, docs at {admin_base}/docs)")
    if admin:
        typer.echo(f"admin token (shown once): {admin}")
    else:
        typer.echo(f"admin token: issued before and not shown again; {ADMIN_HINT}")
    typer.echo(f"console: {admin_base}/console (sign in with an admin or auditor token)")
    if key:
        typer.echo(f"demo key (shown once): {key}")
        typer.echo(_example(base, key, demo_model))
    # proxy_headers off: which proxies to believe is the gateway file's `trusted_proxies`, not uvicorn's.
    # log_config None: the workers' logging is clearance's own (observability.logs), set up in server.factory.
    config = uvicorn.Config("clearance.server:factory", factory=True, host=host, port=port, workers=workers,
                            log_level=settings.log_level.lower(), log_config=None, access_log=False,
                            proxy_headers=False, **tls)
    server = uvicorn.Server(config)
    try:
        if workers > 1:
            Multiprocess(config, sockets=sockets).run()
        else:
            server.run(sockets=sockets)
    except KeyboardInterrupt:
        pass
    finally:
        for sock in sockets:
            sock.close()
