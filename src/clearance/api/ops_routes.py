"""``GET /metrics``: Prometheus text exposition, for a scraper holding a ``metrics`` (or admin) credential.

It is part of the admin API, so with ``clearance serve --admin-port`` it is only reachable on
the admin listener. Prometheus sends the credential with ``authorization: {credentials: …}``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from ..observability.metrics import exposition
from .auth import require

router = APIRouter(tags=["operations"])


@router.get("/metrics", dependencies=[Depends(require("metrics"))], response_class=Response)
def metrics() -> Response:
    body, content_type = exposition()
    return Response(body, media_type=content_type)
