"""The evaluations page: a finished run's report, and the tier it gives a model once accepted as evidence."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from clearance.api.app import create_app
from clearance.evals.evidence import accept
from clearance.evals.judges.base import REFUSAL
from clearance.evals.runs import Runs
from clearance.settings import Settings
from clearance.store.sql.evals import SqlEvalStore
from clearance.wiring import build_app

MODEL = "gpt-5.6-terra"


def test_a_run_and_the_tier_it_gives_are_shown_with_their_evidence(tmp_path):
    app = build_app(Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", audit_keys=str(tmp_path / "keys")))
    try:
        runs = Runs(SqlEvalStore(app.engine), app.clock.now_ns)
        data = tmp_path / "data"
        data.mkdir()
        (data / "p.csv").write_text("prompt\n" + "".join(f"harmful ask {i}\n" for i in range(40)))
        (tmp_path / "s.yaml").write_text("suite: s\nmeasures: refusal\nsources:\n  - {file: p.csv}\njudge: strmatch\n")
        run_id = runs.create(str(tmp_path / "s.yaml"), "http://127.0.0.1:9", MODEL, data=str(data))
        now = app.clock.now_ns()
        runs.store.add_items(run_id, [
            {"idx": i, "key": f"p.csv:{i}", "category": "", "template": None, "prompt": f"harmful ask {i}",
             "response": "no", "label": REFUSAL if i < 30 else "full-compliance", "score": 1.0, "latency_ms": 1.0,
             "attempts": 1, "status": "done", "error": None, "at_ns": now} for i in range(40)])
        runs.store.update_run(run_id, status="finished")
        before = accept(runs, app.service, run_id, MODEL, "tester", "measured")
        token = app.service.create_credential(["auditor"], reason="test").token
        client = TestClient(create_app(app))
        form = client.get("/console/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        client.post("/console/login", data={"csrf": csrf, "token": token})
        listing = client.get("/console/evals").text
        assert f"/console/evals/{run_id}" in listing
        terra = listing[listing.index(f"<code>{MODEL}</code>"):]
        terra = terra[:terra.index("</section>")]
        assert f"tier <strong>{before['tier_after']}</strong>" in terra and "derived from evidence" in terra
        assert run_id in terra and "guardrails.harmful_refusal_rate = 0.75" in terra
        report = client.get(f"/console/evals/{run_id}").text
        assert "75.0 %" in report and "40 of 40 stored" in report
        assert client.get("/console/evals/no-such-run").status_code == 404
    finally:
        app.close()
