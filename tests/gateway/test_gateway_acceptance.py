"""Every acceptance case of shared/scenarios/decisions.jsonl through the REST API and the gateway.

``POST /v1/decisions`` of a running ``clearance serve`` takes each case as it is, with a
``gateway``-scoped credential. The gateway takes a case as a customer's call: the case's person
is registered with a key bound to them, the use case and location come as a deployment sends
them (the key's defaults for half the cases, ``X-Clearance-Use-Case`` and a trusted proxy's
``X-Client-Country`` for the other half), and the gateway decides at its clock, which is set
to the case's instant. A permit is a 200 from the model, a deny or review a 403 with the code.

A case the gateway cannot be asked is one whose request the gateway itself builds correctly:
a naive timestamp (the gateway supplies the instant) or an action other than inference
(the gateway only serves inference) or an entity the registry does not know (a caller is
always a registered person of a registered entity). Those stay with the core, CLI and REST tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from gateway_kit import Server
from inprocess_kit import served

from clearance import load_policy
from clearance.core.instant import parse_instant
from clearance.store.clock import FixedClock
from needs import missing

SCENARIOS = Path(__file__).resolve().parents[2].parent / "shared" / "scenarios" / "decisions.jsonl"

if not SCENARIOS.exists():
    missing("shared", f"acceptance cases not found at {SCENARIOS} (the shared/ folder sits beside the repo)",
            module_level=True)

CASES = [json.loads(line) for line in SCENARIOS.read_text().splitlines() if line.strip()]


ENTITIES = set(load_policy().entities)


def gateway_can_ask(case: dict) -> bool:
    request = case["request"]
    if request.get("action", "inference") != "inference" or request["entity"] not in ENTITIES:
        return False
    try:
        parse_instant(request["at"])
    except Exception:  # noqa: BLE001 - a naive or malformed instant: the gateway never sends one
        return False
    return True


THROUGH_GATEWAY = [c for c in CASES if gateway_can_ask(c)]
NOT_THROUGH_GATEWAY = sorted(c["name"] for c in CASES if not gateway_can_ask(c))


def test_the_cases_the_gateway_cannot_be_asked_are_the_three_it_cannot_be_sent():
    assert len(CASES) == 30
    assert NOT_THROUGH_GATEWAY == ["naive timestamp is rejected", "unknown action is rejected",
                                   "unknown model is reported before unknown entity"]
    assert len(THROUGH_GATEWAY) == 27


# -- REST ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gateway_token(server: Server) -> str:
    issued = server.admin_call("POST", "/v1/credentials", json={"scopes": ["gateway"], "reason": "acceptance"})
    assert issued.status_code == 201, issued.text
    return issued.json()["token"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_rest_decides_every_case_as_expected(server, gateway_token, case):
    response = httpx.post(server.base + "/v1/decisions", json=case["request"], timeout=30,
                          headers={"Authorization": f"Bearer {gateway_token}"})
    assert response.status_code == 200, response.text
    decision = response.json()
    assert (decision["outcome"], decision["code"]) == (case["expect"]["outcome"], case["expect"]["code"])
    if "authorization" in case["expect"]:
        assert decision["authorization"] == case["expect"]["authorization"]


# -- the gateway --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(tmp_path_factory):
    earliest = min(int(parse_instant(c["request"]["at"])) for c in THROUGH_GATEWAY)
    clock = FixedClock(earliest - 3600 * 1_000_000_000)  # the admin token predates every case
    with served(tmp_path_factory.mktemp("acceptance"), clock) as running:
        yield running


@pytest.mark.parametrize("number,case", list(enumerate(THROUGH_GATEWAY)), ids=[c["name"] for c in THROUGH_GATEWAY])
def test_the_gateway_enforces_every_case_as_expected(app, number, case):
    request = case["request"]
    app.clock.set(int(parse_instant(request["at"])))
    person = {k: v for k, v in request["person"].items() if k != "id"}
    person["entity"] = request["entity"]
    pid = f"case-{number}"
    stored = app.admin_call("PUT", f"/v1/people/{pid}", json={"record": person, "reason": "acceptance"})
    assert stored.status_code == 201, stored.text
    by_key = number % 2 == 0
    issue = {"scopes": ["gateway"], "person": pid, "reason": "acceptance"}
    headers = {"X-Forwarded-Proto": "https"}  # deployed behind a TLS-terminating proxy
    if by_key:
        issue.update(default_use_case=request["use_case"], default_location=request["person"]["location"])
    else:
        headers.update({"X-Clearance-Use-Case": request["use_case"], "X-Client-Country": request["person"]["location"]})
    issued = app.admin_call("POST", "/v1/credentials", json=issue)
    assert issued.status_code == 201, issued.text
    headers["Authorization"] = f"Bearer {issued.json()['token']}"
    body = {"model": request["model"], "messages": [{"role": "user", "content": f"case {number}"}]}
    response = app.client.post("/v1/chat/completions", json=body, headers=headers)
    expect = case["expect"]
    if expect["outcome"] == "permit":
        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["message"]["content"]
    else:
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert (error["clearance"]["outcome"], error["code"]) == (expect["outcome"], expect["code"])
    recorded = app.admin_call("GET", "/v1/audit/records", params={"person": pid, "kind": "decision"}).json()["records"]
    assert [(r["body"]["decision"]["outcome"], r["body"]["decision"]["code"]) for r in recorded] == \
        [(expect["outcome"], expect["code"])]
