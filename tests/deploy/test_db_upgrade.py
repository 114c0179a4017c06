"""``clearance db upgrade``: processes migrating one fresh database at once all succeed, and the schema is at head."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from clearance.store.sql.migrate import current, head

PROCESSES = 5


def _upgrade_together(url: str, cwd) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "CLEARANCE_DATABASE_URL": url}
    command = [sys.executable, "-c", "from clearance.cli.main import main; main()", "db", "upgrade"]
    started = [subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(PROCESSES)]
    done = []
    for process in started:
        out, err = process.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_concurrent_upgrades_of_a_fresh_schema_all_succeed(backend, request, tmp_path):
    url = request.getfixturevalue("pg_schema_url") if backend == "postgres" else f"sqlite:///{tmp_path / 'fresh.db'}"
    assert current(url) is None
    results = _upgrade_together(url, tmp_path)
    for result in results:
        assert result.returncode == 0, result.stderr
    assert current(url) == head()
    migrated = [r.stdout for r in results if "-> " in r.stdout]
    assert len(migrated) == 1, [r.stdout for r in results]  # one process migrated; the others found it at head
    print(f"{backend}: {PROCESSES} concurrent `clearance db upgrade`: 1 migrated, {PROCESSES - 1} found head")


def test_upgrade_names_an_unreachable_database_without_its_password(tmp_path):
    env = {**os.environ, "CLEARANCE_DATABASE_URL": "postgresql://clearance:pw-5ecret@127.0.0.1:1/x"}
    result = subprocess.run([sys.executable, "-c", "from clearance.cli.main import main; main()", "db", "upgrade"],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "error:" in result.stderr and "Traceback" not in result.stderr
    assert "pw-5ecret" not in result.stderr + result.stdout
