"""OpenAI-style error answers, so the official SDKs raise their usual exceptions.

The body is ``{"error": {"message", "type", "code", "param"}}`` as OpenAI sends it; a refusal
also carries the decision's remedies, its id in the audit log and the policy version, under
``error.clearance``, which SDKs ignore and people and tools can read.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
         404: "not_found_error", 429: "rate_limit_error", 502: "upstream_error", 503: "service_unavailable",
         504: "upstream_timeout"}


def error(status: int, code: str, message: str, *, headers: dict[str, str] | None = None,
          param: str | None = None, **clearance: Any) -> Response:
    body: dict[str, Any] = {"message": message, "type": TYPES.get(status, "api_error"), "code": code, "param": param}
    if clearance:
        body["clearance"] = clearance
    return Response(orjson.dumps({"error": body}), status_code=status, headers=headers,
                    media_type="application/json")


def refusal(status: int, decision: dict[str, Any], decision_id: int | None) -> Response:
    """A deny or review answered as an OpenAI error carrying the decision's code, message and remedies."""
    reasons = decision.get("reasons") or []
    message = reasons[0]["message"] if reasons else f"request refused: {decision['code']}"
    return error(status, decision["code"], message, outcome=decision["outcome"], remedies=decision.get("remedies", []),
                 reasons=reasons, decision_id=decision_id, policy_version=decision.get("policy_version"))
