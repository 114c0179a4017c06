"""Schemathesis against every admin and audit operation: whatever it sends, never a 5xx (issue 13).

The API runs in-process (ASGI) on SQLite and on PostgreSQL, called with an admin token; the
number of examples per operation is bounded so the suite stays fast. A 5xx here is a bug: bad
input must get a 4xx naming the problem, and a false 503 would hide a real outage.
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from clearance.api.app import create_app
from clearance.screening.importers import read_csl
from clearance.settings import Settings
from clearance.store.sql import normalize_url
from clearance.wiring import build_app

# Per operation and mode; raise it for a longer probe: CLEARANCE_FUZZ_EXAMPLES=300 python -m pytest tests/api/test_api_fuzz.py
EXAMPLES = int(os.environ.get("CLEARANCE_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def api_schema(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("fuzz")
    url = normalize_url(workdir / "r.db") if request.param == "sqlite" else request.getfixturevalue(
        "pg_schema_url_module")
    built = build_app(Settings(database_url=url, audit_keys=str(workdir / "keys")))
    token = built.service.create_credential(["admin"], reason="fuzz").token
    rows = [{"entity_number": "1", "source": "Entity List (EL)", "source_code": "EL", "type": None,
             "name": "Example Trading Company", "alt_names": [], "countries": ["AF"]}]
    listed = workdir / "csl.jsonl"
    listed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    built.screening.import_list(read_csl(listed), actor="fuzz")
    built.audit.sign_if_grown()
    yield schemathesis.openapi.from_asgi("/openapi.json", create_app(built)), token
    built.close()


def test_no_operation_answers_5xx(api_schema):
    schema, token = api_schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30  # every admin and audit operation, not a handful
    for operation in operations:
        for mode in GenerationMode:  # valid values, then values outside the schema (wrong types, out of range)
            _fuzz(operation, mode, token)


def _fuzz(operation, mode: GenerationMode, token: str) -> None:
    @given(operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} query={case.query} body={case.body!r:.200}: "
            f"{response.status_code} {response.text[:300]}")

    run()
