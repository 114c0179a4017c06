"""Consistency: reviewer decisions that differ from the assessment, or from each other.

Two applications are *equivalent* when they ask for the same models and use
cases for users with the same destinations, and their automatic assessments
found the same thing in every cell and for every requirement: the applicants
stood in the same place, whoever they are. Equivalent applications that ended
differently are listed together, so a reviewer's inconsistency is visible.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

FINAL = {"approved": "approve", "reversed": "approve", "denied": "deny", "upheld": "deny"}
AGREES = {"approve": {"approve"}, "no-licence-needed": {"approve"}, "deny": {"deny"}, "review": {"approve", "deny"}}


def equivalence_key(body: dict[str, Any]) -> str:
    a = body["assessment"]
    cells = sorted(
        (c["model"], c["use_case"], tuple(c["destinations"]), c["outcome"], c["code"]) for c in a["cells"]
    )
    requirements = sorted((r["id"], r["status"]) for r in a["requirements"])
    return json.dumps({"policy_version": a["policy_version"], "cells": cells, "requirements": requirements}, sort_keys=True)


def report(applications: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The consistency report over ``{id: latest application body}``."""
    differs = []
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for app_id, body in sorted(applications.items()):
        decided = FINAL.get(body["state"])
        if decided is None:
            continue
        recommended = body["assessment"]["recommendation"]
        if decided not in AGREES[recommended]:
            differs.append(
                {
                    "application": app_id,
                    "entity": body["entity"],
                    "recommendation": recommended,
                    "decided": decided,
                    "state": body["state"],
                    "reviewer": body.get("reviewer"),
                    "basis": body.get("basis"),
                }
            )
        groups[equivalence_key(body)].append((app_id, body))
    inconsistent = []
    for members in groups.values():
        outcomes = {FINAL[b["state"]] for _, b in members}
        if len(outcomes) > 1:
            first = members[0][1]
            inconsistent.append(
                {
                    "models": sorted(set(first["models"])),
                    "use_cases": sorted(set(first["use_cases"])),
                    "recommendation": first["assessment"]["recommendation"],
                    "decisions": [
                        {"application": i, "entity": b["entity"], "decided": FINAL[b["state"]], "reviewer": b.get("reviewer")}
                        for i, b in members
                    ],
                }
            )
    decided_count = sum(1 for b in applications.values() if b["state"] in FINAL)
    return {
        "applications": len(applications),
        "decided": decided_count,
        "differ_from_assessment": differs,
        "inconsistent_groups": inconsistent,
    }
