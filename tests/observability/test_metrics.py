"""``/metrics``: what a Prometheus scrape of a gateway shows after calls, and who may scrape it."""

from __future__ import annotations

import asyncio

from ops_kit import ADMIN, MAIN, chat, running
from prometheus_client import REGISTRY

from clearance.settings import Settings


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_scrape_counts_decisions_latencies_and_audit_records(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}")

    async def scenario() -> str:
        async with running(settings) as run, run.client() as client:
            before = {
                "permit": sample("clearance_decisions_total", outcome="permit", code="authorized"),
                "unknown": sample("clearance_decisions_total", outcome="deny", code="unknown-model"),
                "requests": sample("clearance_request_seconds_count", route="/chat/completions"),
                "upstream": sample("clearance_upstream_seconds_count", upstream="demo"),
                "records": sample("clearance_audit_records_total"),
                "decided": sample("clearance_decision_seconds_count"),
            }
            headers = {"Authorization": f"Bearer {run.key}"}
            for _ in range(3):
                assert (await client.post("/v1/chat/completions", json=chat(), headers=headers)).status_code == 200
            denied = await client.post("/v1/chat/completions", json=chat("no-such-model"), headers=headers)
            assert denied.status_code == 403
            await asyncio.sleep(0.2)  # completion records ride the next batch or go alone after 50 ms
            assert sample("clearance_decisions_total", outcome="permit", code="authorized") == before["permit"] + 3
            assert sample("clearance_decisions_total", outcome="deny", code="unknown-model") == before["unknown"] + 1
            assert sample("clearance_request_seconds_count", route="/chat/completions") == before["requests"] + 3
            assert sample("clearance_upstream_seconds_count", upstream="demo") == before["upstream"] + 3
            assert sample("clearance_decision_seconds_count") == before["decided"] + 4
            # 4 decision records and 3 completion records were made durable
            assert sample("clearance_audit_records_total") >= before["records"] + 7
            scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {run.admin_token}"})
            assert scraped.status_code == 200
            assert scraped.headers["content-type"].startswith("text/plain")
            return scraped.text

    text = asyncio.run(scenario())
    for name in ("clearance_decisions_total", "clearance_decision_seconds_bucket", "clearance_request_seconds_bucket",
                 "clearance_upstream_seconds_bucket", "clearance_audit_commit_seconds_bucket",
                 "clearance_audit_queue_depth", "clearance_registry_seq", "clearance_cap_refusals_total",
                 "clearance_cap_reservations_total", "clearance_screening_findings_total",
                 "clearance_event_lag_seconds"):
        assert name in text, name


def test_metrics_need_a_metrics_or_admin_credential(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}")

    async def scenario() -> None:
        async with running(settings) as run, run.client() as client:
            assert (await client.get("/metrics")).status_code == 401
            gateway_key = await client.get("/metrics", headers={"Authorization": f"Bearer {run.key}"})
            assert gateway_key.status_code == 403
            scraper = run.app.service.create_credential(["metrics"], actor="test", reason="prometheus").token
            assert (await client.get("/metrics", headers={"Authorization": f"Bearer {scraper}"})).status_code == 200

    asyncio.run(scenario())


def test_with_an_admin_port_models_and_admin_api_are_apart(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}")

    async def scenario() -> None:
        async with running(settings, admin_port=9000) as run, run.client(MAIN) as main, run.client(ADMIN) as admin:
            auth = {"Authorization": f"Bearer {run.admin_token}"}
            model = {"Authorization": f"Bearer {run.key}"}
            assert (await main.post("/v1/chat/completions", json=chat(), headers=model)).status_code == 200
            assert (await main.get("/metrics", headers=auth)).status_code == 404
            assert (await main.get("/v1/audit/records", headers=auth)).status_code == 404
            assert (await main.get("/docs")).status_code == 404
            assert (await admin.get("/metrics", headers=auth)).status_code == 200
            assert (await admin.get("/v1/people/ops-user", headers=auth)).status_code == 200
            assert (await admin.post("/v1/chat/completions", json=chat(), headers=model)).status_code in (404, 405)
            for probe in ("/livez", "/readyz", "/healthz"):
                assert (await main.get(probe)).status_code == 200, probe
                assert (await admin.get(probe)).status_code == 200, probe

    asyncio.run(scenario())
