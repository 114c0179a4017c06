# clearance gateway image: python:3.11-slim, runs as an unprivileged user.
# Build: docker build -t clearance .   Run: see deploy/compose.yaml and the README's "Deployment".
FROM python:3.11-slim AS build
WORKDIR /src
# gcc compiles the prompt guard's term table (src/clearance/guardrails/_terms.c) into the wheel;
# the runtime stage below needs no compiler.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml setup.py README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[otel]"

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/clearance --create-home clearance
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels "clearance[otel]" && rm -rf /wheels
USER 10001:10001
WORKDIR /var/lib/clearance
ENV PYTHONUNBUFFERED=1 \
    CLEARANCE_LOG_FORMAT=json \
    CLEARANCE_LOG_LEVEL=INFO
# 8000: model routes and probes (behind the load balancer); 9000: admin/audit API and /metrics (internal only).
EXPOSE 8000 9000
HEALTHCHECK --interval=5s --timeout=4s --start-period=30s --retries=2 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=3).status == 200 else 1)"]
ENTRYPOINT ["clearance"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--admin-port", "9000", "--workers", "2", "--no-demo"]
