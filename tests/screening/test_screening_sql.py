"""On a database: an import by one process reaches another process's live snapshot with no restart."""

from __future__ import annotations

import pytest
from screening_kit import CSL_ROWS, EL, NOW, write_jsonl

from clearance import decide_json
from clearance.registry.live import LiveSnapshot
from clearance.registry.service import RegistryService
from clearance.screening.importers import read_csl
from clearance.store.sql import SqlRegistry, make_engine, migrate
from clearance.store.sql.screening import SqlListStore
from clearance.wiring import attach_screening

NORDWIND = {"source": EL, "source_code": "EL", "name": "Nordwind Avionika", "alt_names": [], "countries": ["RU"]}
REQUEST = {"model": "mythos-5", "entity": "vector-institute", "use_case": "software-engineering", "at": NOW,
           "person": {"id": "p-1", "citizenships": ["US"], "location": "US"}}


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return request.getfixturevalue("pg_schema_url")


def test_an_import_in_one_process_flips_a_customer_to_review_in_another(db_url, clock, tmp_path):
    migrate(db_url)
    importer_engine, gateway_engine = make_engine(db_url), make_engine(db_url)
    try:
        # The "gateway" process: its own registry service and live snapshot over the same database.
        gateway = RegistryService(SqlRegistry(gateway_engine, clock), clock)
        live = LiveSnapshot(gateway, clock)
        assert decide_json(live.current(), REQUEST).outcome.value == "permit"

        admin = RegistryService(SqlRegistry(importer_engine, clock), clock)
        screening = attach_screening(SqlListStore(importer_engine, clock), admin, None)
        vektor = {**NORDWIND, "name": "Vektor Institute"}
        screening.import_list(read_csl(write_jsonl(tmp_path / "a.jsonl", CSL_ROWS)), actor="test")
        report = screening.import_list(read_csl(write_jsonl(tmp_path / "b.jsonl", [*CSL_ROWS, vektor])), actor="test")
        assert [(f.subject.key, f.status) for f in report.findings] == [("vector-institute", "possible")]

        live.refresh()  # what the follower's watcher does on the change event or its next poll
        decision = decide_json(live.current(), REQUEST)
        assert (decision.outcome.value, decision.code.value) == ("review", "pending-review")
        assert [s.id for s in SqlListStore(gateway_engine).snapshots()] == [1, 2]
    finally:
        importer_engine.dispose()
        gateway_engine.dispose()
