"""OpenTelemetry (the ``otel`` extra): one span per model call, carrying the decision record's id."""

from __future__ import annotations

import asyncio

import pytest
from ops_kit import chat, running

from clearance.observability import tracing
from clearance.settings import Settings

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed (pip install 'clearance[otel]')")


def test_each_model_call_is_a_span_with_its_decision_id(tmp_path):
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    assert tracing.configure(None, exporter=exporter)
    try:
        async def scenario() -> list[int]:
            async with running(Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}")) as run, run.client() as client:
                auth = {"Authorization": f"Bearer {run.key}"}
                ids = []
                for model in ("mythos-5", "no-such-model"):
                    response = await client.post("/v1/chat/completions", json=chat(model), headers=auth)
                    ids.append(int(response.headers["x-clearance-decision-id"]))
                return ids

        ids = asyncio.run(scenario())
    finally:
        tracing.disable()
    spans = exporter.get_finished_spans()
    assert [s.attributes["clearance.decision_id"] for s in spans] == ids
    assert [s.attributes["http.response.status_code"] for s in spans] == [200, 403]
    assert spans[0].name == "clearance /chat/completions"


def test_without_an_endpoint_tracing_stays_off():
    assert tracing.configure(None) is False
    assert tracing.tracer is None
