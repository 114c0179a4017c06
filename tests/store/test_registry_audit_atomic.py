"""A registry change and its audit record commit together: a kill -9 at any moment leaves both or neither."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from clearance.settings import Settings
from clearance.wiring import build_app
from worker_acks import acks_then_kill

WORKER = Path(__file__).with_name("registry_audit_worker.py")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_kill_between_a_registry_commit_and_its_record_loses_neither(backend, request, tmp_path):
    url = f"sqlite:///{tmp_path / 'crash.db'}" if backend == "sqlite" else request.getfixturevalue("pg_schema_url")
    keys = str(tmp_path / "keys")
    acks, stderr = acks_then_kill([sys.executable, str(WORKER), url, keys], wanted=60)
    assert len(acks) >= 60, stderr
    with build_app(Settings(database_url=url, audit_keys=keys)) as app:
        rows = {r.seq for r in app.service.store.changes_since(0)}
        assert app.audit is not None
        changes = [r.body["change"]["seq"] for r in app.audit.store.records(0, app.audit.store.size())
                   if r.kind == "admin-change"]
        assert set(acks) <= rows  # everything acknowledged is stored
        assert sorted(changes) == sorted(rows)  # each stored change has exactly one record, and no record lacks its row
        app.audit.sign_if_grown()  # as a restarted server does at start-up
        assert app.audit.verify().ok
