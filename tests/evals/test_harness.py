"""The harness against a real loopback target: retries counted, failures kept resumable, kill -9 loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from clearance.evals.errors import TargetError
from clearance.evals.harness import HarnessSettings
from clearance.evals.runs import Runs, open_store

HERE = Path(__file__).parent
PROMPTS = 120


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    rows = [f"ask {'refuse' if i % 3 == 0 else 'please'} number {i}" for i in range(1, PROMPTS + 1)]
    (data / "asks.csv").write_text("prompt,kind\n" + "".join(f"{r},{'odd' if i % 2 else 'even'}\n" for i, r in enumerate(rows)))
    path = tmp_path / "suite.yaml"
    path.write_text("suite: asks\nmeasures: refusal\nsources:\n  - {file: asks.csv, category: kind}\njudge: strmatch\n")
    return path


def _target(tmp_path: Path, *flags: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port, log = _port(), tmp_path / f"sent-{time.monotonic_ns()}.log"
    log.touch()
    proc = subprocess.Popen([sys.executable, str(HERE / "mock_target.py"), str(port), str(log), *flags])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}", log
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeError("mock target did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def runs(tmp_path: Path) -> Runs:
    store = open_store(f"sqlite:///{tmp_path / 'evals.db'}")
    yield Runs(store)
    store.close()


FAST = HarnessSettings(concurrency=8, backoff_s=0.01, backoff_cap_s=0.05, max_attempts=4, flush_s=0.05)


def test_429_and_5xx_are_retried_and_counted(tmp_path, suite, runs):
    proc, url, log = _target(tmp_path, "--flaky")
    try:
        run_id = runs.create(str(suite), url, "m", data=str(suite.parent / "data"))
        finished = asyncio.run(runs.execute(runs.plan(run_id), settings=FAST))
    finally:
        _stop(proc)
    numbers = range(1, PROMPTS + 1)
    assert finished["status"] == "finished" and finished["stored"] == PROMPTS
    assert finished["counters"]["retries_429"] == sum(1 for n in numbers if n % 5 == 0)
    assert finished["counters"]["retries_5xx"] == sum(1 for n in numbers if n % 7 == 0 and n % 5 != 0)
    report = runs.report(run_id)
    assert report["headline"]["k"] == sum(1 for n in numbers if n % 3 == 0)  # the refused ones, judged by strmatch
    assert report["complete"] is True


def test_a_wrong_key_stops_the_run_at_once_and_keeps_it(tmp_path, suite, runs):
    proc, url, _ = _target(tmp_path, "--key", "right")
    try:
        run_id = runs.create(str(suite), url, "m", data=str(suite.parent / "data"))
        with pytest.raises(TargetError, match=r"refused the key \(HTTP 401\): bad key"):
            asyncio.run(runs.execute(runs.plan(run_id, key="wrong"), settings=FAST))
        assert runs.get(run_id)["status"] == "interrupted"
        finished = asyncio.run(runs.execute(runs.plan(run_id, key="right"), settings=FAST))
    finally:
        _stop(proc)
    assert finished["status"] == "finished" and finished["stored"] == PROMPTS


def test_an_unreachable_target_is_named_and_the_run_resumable(tmp_path, suite, runs):
    url = f"http://127.0.0.1:{_port()}"
    run_id = runs.create(str(suite), url, "m", data=str(suite.parent / "data"))
    with pytest.raises(TargetError, match=rf"cannot reach {url}/v1/chat/completions.*gave up after 4 attempts"):
        asyncio.run(runs.execute(runs.plan(run_id), settings=FAST))
    run = runs.get(run_id)
    assert run["status"] == "interrupted" and "cannot reach" in run["error"]
    assert len(runs.plan(run_id).pending) == PROMPTS


def test_resume_after_kill_9_loses_and_repeats_nothing(tmp_path, suite):
    proc, url, log = _target(tmp_path, "--delay", "0.05")
    db = tmp_path / "cli.db"
    env = {**os.environ, "CLEARANCE_DATABASE_URL": f"sqlite:///{db}"}
    cli = [sys.executable, "-m", "clearance.cli"]
    try:
        runner = subprocess.Popen([*cli, "eval", "run", str(suite), "--target", url, "--model", "m",
                                   "--data", str(suite.parent / "data"), "--concurrency", "2"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        engine = create_engine(f"sqlite:///{db}")
        stored: set[int] = set()
        deadline = time.monotonic() + 60
        while len(stored) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
            try:
                with engine.connect() as conn:
                    stored = {r[0] for r in conn.execute(text("SELECT idx FROM eval_items"))}
            except Exception:  # noqa: BLE001 - the table appears once the run has migrated the database
                continue
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        with engine.connect() as conn:
            before = {r[0] for r in conn.execute(text("SELECT idx FROM eval_items"))}
            run_id = conn.execute(text("SELECT id FROM eval_runs")).scalar_one()
        assert 20 <= len(before) < PROMPTS, "the kill must land mid-run"
        sent_before = len(log.read_text().splitlines())
        resumed = subprocess.run([*cli, "eval", "resume", run_id], env=env, capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        with engine.connect() as conn:
            after = [r[0] for r in conn.execute(text("SELECT idx FROM eval_items ORDER BY idx"))]
        engine.dispose()
    finally:
        _stop(proc)
    assert after == list(range(PROMPTS)), "every item stored exactly once"
    resent = log.read_text().splitlines()[sent_before:]
    rows = (suite.parent / "data" / "asks.csv").read_text().splitlines()[1:]
    stored_prompts = {rows[i].rsplit(",", 1)[0] for i in before}
    assert not stored_prompts & set(resent), "a stored answer was asked again"
    assert len(set(resent)) == PROMPTS - len(before)


def _run_prompts(tmp_path: Path, runs: Runs, prompts: list[str]) -> tuple[str, Path]:
    """A three-line suite of ``prompts`` run to the end against the mock target: the run and the target's log."""
    data = tmp_path / "d"
    data.mkdir()
    (data / "p.csv").write_text("prompt\n" + "".join(f"{p}\n" for p in prompts))
    (tmp_path / "s.yaml").write_text("suite: s\nmeasures: refusal\nsources:\n  - {file: p.csv}\njudge: strmatch\n")
    proc, url, log = _target(tmp_path)
    try:
        run_id = runs.create(str(tmp_path / "s.yaml"), url, "m", data=str(data))
        asyncio.run(runs.execute(runs.plan(run_id), settings=FAST))
    finally:
        _stop(proc)
    return run_id, log


def test_an_answer_the_target_will_not_give_is_stored_as_that_items_error(tmp_path, runs):
    run_id, log = _run_prompts(tmp_path, runs, ["please 1", "toolong 2", "refuse 3"])
    report = runs.report(run_id)
    assert report["counts"] == {"items": 3, "stored": 3, "answered": 2, "errors": 1,
                                "labels": {"full-compliance": 1, "full-refusal": 1}}
    assert (report["headline"]["k"], report["headline"]["n"]) == (1, 2), "an error is neither a refusal nor an answer"
    assert log.read_text().count("toolong") == 1, "a 400 is not retried"
    assert [i["error"] for i in runs.store.items(run_id) if i["status"] == "error"] == ["HTTP 400: context length exceeded"]


def test_a_guardrail_block_is_a_refusal_of_that_item_and_the_run_goes_on(tmp_path, runs):
    run_id, log = _run_prompts(tmp_path, runs, ["please 1", "guardblock 2", "please 3"])
    report = runs.report(run_id)
    assert report["counts"]["labels"] == {"full-compliance": 2, "full-refusal": 1}
    assert report["counters"]["guard_blocked"] == 1
    assert log.read_text().count("guardblock") == 1, "a block is the gateway's answer, not a failure to retry"
