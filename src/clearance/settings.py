"""Settings: read once at start-up from the environment, typed, frozen, and passed down.

| variable | meaning | default |
|---|---|---|
| ``CLEARANCE_DATABASE_URL`` | registry database (SQLAlchemy URL) | ``sqlite:///clearance.db`` |
| ``CLEARANCE_BUNDLE`` | policy bundle directory | the shipped example |
| ``CLEARANCE_EVENTS_URL`` | change events: ``redis://…``, ``postgresql://…`` or ``memory:`` | ``memory:`` |
| ``CLEARANCE_BACKDATE_GRACE`` | how far in the past (seconds) a change may take effect | ``300`` |
| ``CLEARANCE_GATEWAY_CONFIG`` | the gateway's YAML file: upstreams per model, trusted proxies and headers | none: the demo model serves every model |
| ``CLEARANCE_COUNTERS_URL`` | usage-cap counters: ``redis://…`` | the database (memory for ``memory:``) |
| ``CLEARANCE_AUDIT_HEAD_INTERVAL`` | seconds between signed tree heads while ``clearance serve`` runs | ``30`` |
| ``CLEARANCE_AUDIT_ORIGIN`` | the log's name in its C2SP checkpoints (a schema-less URL, e.g. ``audit.example.org/clearance``) | ``clearance.invalid/audit/<first key id>`` |
| ``CLEARANCE_AUDIT_KEYS`` | directory of the audit log's signing keys (created if absent) | beside a SQLite file (``clearance.db.keys``), else ``clearance-keys``; a temporary one for ``memory:`` |
| ``CLEARANCE_LOG_FORMAT`` | ``text`` or ``json`` (one object per line, with ``request_id``) | ``text`` |
| ``CLEARANCE_LOG_LEVEL`` | the root log level | ``WARNING`` |
| ``CLEARANCE_LOG_REPEAT_INTERVAL`` | seconds a repeated log message is held back (``0``: never) | ``30`` |
| ``CLEARANCE_OTEL_ENDPOINT`` | OTLP/HTTP traces endpoint; needs the ``otel`` extra | none: no traces |
| ``CLEARANCE_ADMIN_PORT`` | the port of the admin/audit listener (set by ``clearance serve --admin-port``) | none: one port serves both |
| ``CLEARANCE_READY_MAX_LAG`` | seconds the registry snapshot may trail the store before ``/readyz`` fails | ``10`` |
| ``CLEARANCE_GUARDS`` | the gateway's prompt and answer guards: ``trained`` (the shipped models) or ``off`` | ``trained`` |
| ``CLEARANCE_REDIS_NAMESPACE`` | prefix of every Redis key and channel (usage counters, change events), so deployments can share one Redis | ``clearance`` |
| ``CLEARANCE_GUARD_SCAN`` | how much of a long prompt the guard reads: ``sampled`` (head, tail, slices) or ``full`` | ``sampled`` |
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .core.errors import ClearanceError


class SettingsError(ClearanceError):
    """A setting has a value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///clearance.db"
    bundle: str | None = None
    events_url: str = "memory:"
    backdate_grace_s: int = 300
    audit_keys: str | None = None
    gateway_config: str | None = None
    audit_head_interval_s: float = 30.0
    counters_url: str | None = None
    audit_origin: str | None = None
    log_format: str = "text"
    log_level: str = "WARNING"
    log_repeat_interval_s: float = 30.0
    otel_endpoint: str | None = None
    admin_port: int | None = None
    ready_max_lag_s: float = 10.0
    guards: str = "trained"
    guard_scan: str = "sampled"
    redis_namespace: str = "clearance"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        grace = env.get("CLEARANCE_BACKDATE_GRACE", "300")
        try:
            grace_s = int(grace)
        except ValueError:
            raise SettingsError(f"CLEARANCE_BACKDATE_GRACE: `{grace}` is not a whole number of seconds") from None
        if grace_s < 0:
            raise SettingsError("CLEARANCE_BACKDATE_GRACE: must not be negative")
        return cls(
            database_url=env.get("CLEARANCE_DATABASE_URL", cls.database_url),
            bundle=env.get("CLEARANCE_BUNDLE") or None,
            events_url=env.get("CLEARANCE_EVENTS_URL", cls.events_url),
            backdate_grace_s=grace_s,
            audit_keys=env.get("CLEARANCE_AUDIT_KEYS") or None,
            gateway_config=env.get("CLEARANCE_GATEWAY_CONFIG") or None,
            audit_head_interval_s=_positive(env, "CLEARANCE_AUDIT_HEAD_INTERVAL", 30.0),
            counters_url=env.get("CLEARANCE_COUNTERS_URL") or None,
            audit_origin=_origin(env.get("CLEARANCE_AUDIT_ORIGIN") or None),
            log_format=_choice(env, "CLEARANCE_LOG_FORMAT", ("text", "json"), "text"),
            log_level=_choice(env, "CLEARANCE_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), "WARNING"),
            log_repeat_interval_s=_non_negative(env, "CLEARANCE_LOG_REPEAT_INTERVAL", 30.0),
            otel_endpoint=env.get("CLEARANCE_OTEL_ENDPOINT") or None,
            admin_port=_port(env, "CLEARANCE_ADMIN_PORT"),
            ready_max_lag_s=_positive(env, "CLEARANCE_READY_MAX_LAG", 10.0),
            guards=_choice(env, "CLEARANCE_GUARDS", ("trained", "off"), "trained"),
            guard_scan=_choice(env, "CLEARANCE_GUARD_SCAN", ("sampled", "full"), "sampled"),
            redis_namespace=_namespace(env),
        )

    @property
    def in_memory(self) -> bool:
        """The registry and audit log live in this process only (``memory:``): for tests and trials."""
        return self.database_url.strip() in ("memory:", "memory://")

    def audit_keys_dir(self) -> str | None:
        """Where the audit signing keys live; ``None``: a throw-away directory (memory database)."""
        if self.audit_keys:
            return self.audit_keys
        url = self.database_url
        if self.in_memory:
            return None
        if url.startswith("sqlite:///") or "://" not in url:
            return url.removeprefix("sqlite:///") + ".keys"
        return "clearance-keys"


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    return _seconds(env, name, default, zero=False)


def _seconds(env: Mapping[str, str], name: str, default: float, zero: bool) -> float:
    text = env.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name}: `{text}` is not a number of seconds") from None
    if value < 0 or (value == 0 and not zero):
        raise SettingsError(f"{name}: must {'not be negative' if zero else 'be positive'}")
    return value


def _origin(value: str | None) -> str | None:
    if value is not None and (any(c.isspace() or ord(c) < 0x20 for c in value) or "+" in value):
        raise SettingsError("CLEARANCE_AUDIT_ORIGIN: one token without spaces, control characters or '+'")
    return value


def _namespace(env: Mapping[str, str]) -> str:
    text = (env.get("CLEARANCE_REDIS_NAMESPACE") or "clearance").strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", text):
        raise SettingsError(f"CLEARANCE_REDIS_NAMESPACE: `{text}` must be 1-64 letters, digits, `_`, `.` or `-`")
    return text


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    text = (env.get(name) or default).strip()
    for option in allowed:
        if text.lower() == option.lower():
            return option
    raise SettingsError(f"{name}: `{text}` is not one of {', '.join(allowed)}")


def _non_negative(env: Mapping[str, str], name: str, default: float) -> float:
    return _seconds(env, name, default, zero=True)


def _port(env: Mapping[str, str], name: str) -> int | None:
    text = env.get(name)
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SettingsError(f"{name}: `{text}` is not a TCP port (1-65535)")
    return int(text)
