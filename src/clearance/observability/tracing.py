"""OpenTelemetry traces, optional: installed with the ``otel`` extra and enabled by a setting.

``CLEARANCE_OTEL_ENDPOINT`` (an OTLP/HTTP traces endpoint, e.g. ``http://collector:4318/v1/traces``)
turns tracing on; without it, or without the packages, :data:`tracer` stays ``None`` and the
gateway's hot path pays one attribute test. Each model call is one span carrying its
``clearance.decision_id`` (the audit record's sequence number), so a trace leads straight to
the decision record and back.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

tracer: Any = None  # an opentelemetry Tracer once configured
server_kind: Any = None  # opentelemetry.trace.SpanKind.SERVER, once imported


def configure(endpoint: str | None, service_name: str = "clearance", exporter: Any = None) -> bool:
    """Trace to ``endpoint`` (or to ``exporter``, for tests); ``False`` when the packages are absent."""
    global tracer, server_kind
    if endpoint is None and exporter is None:
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError:
        log.warning("CLEARANCE_OTEL_ENDPOINT is set but OpenTelemetry is not installed "
                    "(pip install 'clearance[otel]'); tracing is off")
        return False
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.warning("the OTLP exporter is not installed (pip install 'clearance[otel]'); tracing is off")
            return False
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    tracer = provider.get_tracer("clearance")
    server_kind = trace.SpanKind.SERVER
    return True


def disable() -> None:
    global tracer
    tracer = None
