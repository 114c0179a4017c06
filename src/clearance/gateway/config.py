"""The gateway's configuration file: which upstream serves which model, and what headers to trust.

    # gateway.yaml
    upstreams:
      - name: vllm
        base_url: http://127.0.0.1:8000/v1
        api_key_env: VLLM_API_KEY          # the key is read from this variable, never from the file
        models: [mythos-5]                 # policy model ids served here
        dialect: openai                    # its wire format: openai (default) or anthropic
        upstream_model: meta-llama/X       # optional: the name the upstream knows the model by
        timeout_s: 120
    default_upstream: demo                 # models not listed: `demo` (built in) or `none` (refused)
    trusted_proxies: [127.0.0.1]           # peers whose forwarding headers are believed
    location_header: X-Client-Country      # where a trusted proxy puts the caller's country
    tls_header: X-Forwarded-Proto          # where a trusted proxy says the client used https
    default_completion_tokens: 1024        # reserved against a usage cap when a call sets no max_tokens
    model_header: X-Clearance-Model        # ext_authz / auth_request: the model, when the proxy sends no body
    demo_safety:                           # the demo model's guardrail (see gateway/demo.py)
      refuse: ['\bbomb', '\bmalware']      # prompts matching any are refused...
      jailbreaks: ['developer mode']       # ...unless they also match one of these

Without a file, every model is served by the demo upstream and no header is trusted.
Errors name the file and the field path.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..core.errors import ClearanceError
from .demo import DEFAULT_SAFETY, DemoSafety


class ConfigError(ClearanceError):
    pass


class UpstreamSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    base_url: str = Field(pattern=r"^https?://")
    api_key_env: str | None = None
    models: list[str] = Field(min_length=1)
    upstream_model: str | None = None
    dialect: str = Field("openai", pattern=r"^(openai|anthropic)$")
    timeout_s: float = Field(120.0, gt=0)
    connect_timeout_s: float = Field(5.0, gt=0)
    max_connections: int = Field(256, ge=1)


class GatewayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upstreams: list[UpstreamSpec] = []
    default_upstream: str = Field("demo", pattern=r"^(demo|none)$")
    trusted_proxies: list[str] = []
    location_header: str | None = None
    tls_header: str = "X-Forwarded-Proto"
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    # Completion tokens reserved against a usage cap when a call names no max_tokens.
    default_completion_tokens: int = Field(1024, ge=1)
    demo_safety: DemoSafety = DEFAULT_SAFETY
    # For an authorizer that sees no body (nginx auth_request): the header naming the model.
    model_header: str = "X-Clearance-Model"

    def api_key(self, spec: UpstreamSpec) -> str | None:
        if spec.api_key_env is None:
            return None
        value = os.environ.get(spec.api_key_env)
        if not value:
            raise ConfigError(f"upstream `{spec.name}`: environment variable {spec.api_key_env} is not set")
        return value


def load_config(path: str | os.PathLike[str] | None) -> GatewayConfig:
    if path is None:
        return GatewayConfig()
    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{source}: {exc}") from None
    try:
        config = GatewayConfig.model_validate(data)
    except ValidationError as exc:
        problems = [f"{source}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("; ".join(problems)) from None
    served = [m for spec in config.upstreams for m in spec.models]
    twice = sorted({m for m in served if served.count(m) > 1})
    if twice:
        raise ConfigError(f"{source}: upstreams: models served by more than one upstream: {', '.join(twice)}")
    return config
