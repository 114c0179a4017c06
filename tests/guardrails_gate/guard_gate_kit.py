"""The served gateway with test guards, on a private copy of the example bundle with chosen guard rules.

The guards here are deterministic doubles, not the product's classifiers: a prompt is
`jailbreak`, `harmful` or `prohibited-domain` when it contains the marker word for that label,
and an answer is harmful when it contains ``EVILANSWER``. They exist to test how the gateway
acts on verdicts (block, flag, off, records, streams), which does not depend on how the
verdict was reached.

The caller is a Vector Institute researcher in Canada calling Mythos 5 (tier S-4) under the
`trusted-foreign-research` authorization (monitoring, a usage cap, TLS) on 1 August 2026.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from clearance import default_bundle_path
from clearance.core.instant import parse_instant
from clearance.gateway.authz_http import envoy
from clearance.guardrails.policy import Guards
from clearance.guardrails.verdict import AnswerVerdict, PromptVerdict
from clearance.server import create_server
from clearance.settings import Settings
from clearance.store.clock import FixedClock
from clearance.wiring import build_app, build_gateway

MARKERS = (("PDMARK", "prohibited-domain"), ("JBMARK", "jailbreak"), ("HARMMARK", "harmful"))
AT = "2026-08-01T12:00:00Z"
GATEWAY_YAML = "trusted_proxies: [127.0.0.1/32]\nlocation_header: X-Client-Country\ntls_header: X-Forwarded-Proto\n"

EVERY_CALL = """\
guardrails:
  stream_window_chars: 16
  rules:
    - id: frontier
      when: {tiers: [S-4]}
      prompt:
        jailbreak: block
        prohibited-domain: block
        harmful: flag
      answer:
        harmful: block
"""


class MarkerPromptGuard:
    name, version = "marker-double", "test"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def check_prompt(self, text: str) -> PromptVerdict:
        self.seen.append(text)
        if "EXPLODE" in text:
            raise RuntimeError("the double was told to fail")
        for marker, label in MARKERS:
            if marker in text:
                domain = "synthetic-biology-design" if label == "prohibited-domain" else None
                return PromptVerdict(label, 0.9, domain, (f"marker:{marker}",), ((label, 0.9),))
        return PromptVerdict("clean", 0.02)


class MarkerAnswerGuard:
    name, version = "marker-answer-double", "test"

    def __init__(self) -> None:
        self.calls = 0
        self.asked: list[PromptVerdict | None] = []

    def check_answer(self, prompt: str, answer: str, asked: PromptVerdict | None = None) -> AnswerVerdict:
        self.calls += 1
        self.asked.append(asked)
        harmful = "EVILANSWER" in answer
        return AnswerVerdict(harmful, 0.95 if harmful else 0.01, ("marker:EVILANSWER",) if harmful else ())


@dataclass
class Gate:
    client: TestClient
    admin: str
    prompt_guard: MarkerPromptGuard
    answer_guard: MarkerAnswerGuard
    app: Any

    def admin_call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, path, headers={"Authorization": f"Bearer {self.admin}"}, **kwargs)

    def key(self, person: str = "researcher", entity: str = "vector-institute", country: str = "CA") -> str:
        record = {"entity": entity, "citizenships": [country], "location": country}
        stored = self.admin_call("PUT", f"/v1/people/{person}", json={"record": record, "reason": "test"})
        assert stored.status_code == 201, stored.text
        issued = self.admin_call("POST", "/v1/credentials", json={"scopes": ["gateway"], "person": person,
                                                                  "reason": "test"})
        assert issued.status_code == 201, issued.text
        return issued.json()["token"]

    def records(self, kind: str, at_least: int = 0) -> list[dict[str, Any]]:
        """The bodies of ``kind`` records, read through the remote audit API; completion and flag
        records are queued, so this waits (boundedly) until ``at_least`` are there."""
        for _ in range(200):
            found = self.admin_call("GET", "/v1/audit/records", params={"kind": kind})
            assert found.status_code == 200, found.text
            bodies = [r["body"] for r in found.json()["records"]]
            if len(bodies) >= at_least:
                return bodies
            time.sleep(0.025)
        return bodies


def chat(content: str, **extra: object) -> dict:
    """An OpenAI chat request to the S-4 model, one user message."""
    return {"model": "mythos-5", "messages": [{"role": "user", "content": content}], **extra}


def headers(token: str, use_case: str = "research", **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Clearance-Use-Case": use_case, "X-Forwarded-Proto": "https",
            "X-Client-Country": "CA", **extra}


def bundle_with(tmp_path: Path, guardrails: str | None, edits: dict[str, tuple[str, str]] | None = None) -> Path:
    root = tmp_path / "bundle"
    shutil.copytree(default_bundle_path(), root)
    if guardrails is None:
        (root / "guardrails.yaml").unlink()
    else:
        (root / "guardrails.yaml").write_text(guardrails)
    for name, (old, new) in (edits or {}).items():
        text = (root / name).read_text()
        assert text.count(old) == 1, old
        (root / name).write_text(text.replace(old, new))
    return root


@contextmanager
def gate(tmp_path: Path, guardrails: str | None = EVERY_CALL, edits: dict[str, tuple[str, str]] | None = None,
         guarded: bool = True, prompt_guard: Any = None, prompt_full: Any = None,
         contextual: Any = None) -> Iterator[Gate]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "gateway.yaml").write_text(GATEWAY_YAML)
    settings = Settings(database_url="memory:", audit_keys=str(tmp_path / "keys"),
                        gateway_config=str(tmp_path / "gateway.yaml"),
                        bundle=str(bundle_with(tmp_path, guardrails, edits)),
                        guards="trained" if guarded else "off")
    app = build_app(settings, FixedClock(int(parse_instant(AT))))
    prompts, answers = prompt_guard or MarkerPromptGuard(), MarkerAnswerGuard()
    guards = Guards(prompts, answers, prompt_full, None, contextual)
    gateway = build_gateway(settings, app, guards if guarded else None)
    admin = app.service.create_credential(["admin"], reason="test").token
    server = create_server(gateway, app)
    # Envoy's HTTP external authorization, on the same app and loop as the gateway it asks.
    server.admin.add_route("/ext_authz/{path:path}", envoy, methods=["POST"])
    try:
        with TestClient(server, client=("127.0.0.1", 50000)) as client:
            yield Gate(client, admin, prompts, answers, app)
    finally:
        app.close()
