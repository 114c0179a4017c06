"""Evaluation runs: start one, resume it, and say what it measured.

A run is fixed when it starts: the suite (file, ``suite_hash``), the items drawn from the
data (``items_hash``), the target and model, the judge and its version. Resuming
rebuilds the items and refuses to go on if the data now gives different ones. The key is
never stored: a resumed run is given it again.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..policy.source import Document
from .errors import EvalError, TargetError
from .harness import Harness, HarnessSettings, Target
from .judges import get_judge, is_refusal
from .judges.base import Judge
from .metrics import Outcome, headline, suite_metrics
from .prompts import data_dir
from .suite import Item, Suite, SuiteSpec, build_items, describe, items_hash, load_suite

FINISHED, RUNNING, INTERRUPTED = "finished", "running", "interrupted"


def open_store(database_url: str) -> Any:
    """The evaluation store beside the registry: the same database, migrated."""
    from ..store.sql.engine import make_engine
    from ..store.sql.evals import SqlEvalStore
    from ..store.sql.migrate import migrate

    if database_url.startswith("memory:"):
        raise EvalError("evaluation runs are stored in the registry database; memory: keeps nothing to resume")
    migrate(database_url)
    return SqlEvalStore(make_engine(database_url))


def select(items: list[Item], limit: int | None) -> list[Item]:
    """``limit`` items spread evenly over the suite (every source and template stays represented)."""
    if limit is None or limit >= len(items):
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


@dataclass
class Plan:
    run_id: str
    suite: Suite
    items: list[Item]
    pending: list[Item]
    target: Target
    judge: Judge
    run: dict[str, Any]


class Runs:
    def __init__(self, store: Any, now_ns: Callable[[], int] = time.time_ns) -> None:
        self.store = store
        self.now_ns = now_ns

    def create(self, suite_name: str, target_url: str, model: str, *, data: str | None = None, limit: int | None = None,
               judge: str | None = None, judge_options: dict[str, str] | None = None, concurrency: int = 8) -> str:
        suite = load_suite(suite_name)
        directory = data_dir(data).resolve()
        items = select(build_items(suite, directory), limit)
        judge_name = judge or suite.spec.judge
        chosen = get_judge(judge_name, **(judge_options or {}))
        run_id = "ev-" + secrets.token_hex(6)
        now = self.now_ns()
        safe_options = {k: v for k, v in (judge_options or {}).items() if k != "key"}
        self.store.create_run({
            "id": run_id, "suite": suite.name, "suite_hash": suite.suite_hash, "items_hash": items_hash(items),
            "target": target_url, "model": model, "judge": chosen.version, "status": RUNNING, "total": len(items),
            "created_at": now, "updated_at": now, "counters": {}, "error": None,
            "config": {"suite_file": suite.file, "spec": suite.spec.model_dump(mode="json"), "data": str(directory), "limit": limit, "judge_name": judge_name,
                       "judge_options": safe_options, "concurrency": concurrency,
                       "request": suite.spec.request.model_dump(), "sources": describe(suite)["sources"]},
        })
        return run_id

    def plan(self, run_id: str, key: str | None = None, judge_key: str | None = None) -> Plan:
        run = self.get(run_id)
        config = run["config"]
        suite = load_suite(config["suite_file"])
        if suite.suite_hash != run["suite_hash"]:
            raise EvalError(f"run {run_id}: the suite file {config['suite_file']} changed since the run started "
                            f"(hash {suite.suite_hash[:12]}, run {run['suite_hash'][:12]}); start a new run")
        items = select(build_items(suite, Path(config["data"])), config["limit"])
        if items_hash(items) != run["items_hash"]:
            raise EvalError(f"run {run_id}: the prompt data in {config['data']} gives other items than when the run "
                            "started; start a new run")
        options = dict(config.get("judge_options") or {})
        if judge_key:
            options["key"] = judge_key
        judge = get_judge(config["judge_name"], **options)
        if judge.version != run["judge"]:
            raise EvalError(f"run {run_id}: judge {run['judge']} is not available here (found {judge.version})")
        stored = self.store.stored_indexes(run_id)
        pending = [i for i in items if i.index not in stored]
        return Plan(run_id, suite, items, pending, Target(run["target"], run["model"], key), judge, run)

    async def execute(self, plan: Plan, concurrency: int | None = None,
                      on_stored: Callable[[int], None] | None = None, settings: HarnessSettings | None = None) -> dict[str, Any]:
        """Send the plan's pending items; mark the run finished, or interrupted (and re-raise) on failure."""
        settings = settings or HarnessSettings()
        settings.concurrency = concurrency or plan.run["config"].get("concurrency") or settings.concurrency
        harness = Harness(self.store, plan.judge, settings, self.now_ns, on_stored)
        self.store.update_run(plan.run_id, status=RUNNING, error=None, updated_at=self.now_ns())
        try:
            counters = await harness.run(plan.run_id, plan.target, plan.pending, plan.suite.spec.request,
                                         plan.run.get("counters") or {})
        except TargetError as exc:
            self.store.update_run(plan.run_id, status=INTERRUPTED, error=str(exc), updated_at=self.now_ns())
            raise
        except BaseException:
            self.store.update_run(plan.run_id, status=INTERRUPTED, error="stopped before it finished",
                                  updated_at=self.now_ns())
            raise
        self.store.update_run(plan.run_id, status=FINISHED, counters=counters, updated_at=self.now_ns())
        return self.get(plan.run_id)

    def get(self, run_id: str) -> dict[str, Any]:
        run = self.store.get_run(run_id)
        if run is None:
            raise EvalError(f"no evaluation run `{run_id}` (see `clearance eval list`)")
        return run

    def list(self, limit: int = 100) -> list[dict[str, Any]]:
        return list(self.store.list_runs(limit))

    def report(self, run_id: str, success_rate: float | None = None, categories: int | None = None) -> dict[str, Any]:
        """Everything a run measured: its provenance, counts, metrics with intervals, thresholds met."""
        run = self.get(run_id)
        # The suite as it was when the run started: the report never depends on the file still being there.
        spec = SuiteSpec.model_validate(run["config"]["spec"])
        suite = Suite(spec, run["config"]["suite_file"], run["suite_hash"], Document(run["config"]["suite_file"], None))
        items = self.store.items(run_id)
        answered = [i for i in items if i["status"] == "done"]
        outcomes = [Outcome(i["category"], i["template"], is_refusal(i["label"])) for i in answered]
        rate = success_rate if success_rate is not None else spec.universality.success_rate
        needed = categories if categories is not None else spec.universality.categories
        metrics = suite_metrics(spec.measures, outcomes, rate, needed)
        name, main = headline(spec.measures, metrics)
        labels: dict[str, int] = {}
        for i in answered:
            labels[i["label"]] = labels.get(i["label"], 0) + 1
        latencies = sorted(i["latency_ms"] for i in answered)
        return {
            "run": {k: run[k] for k in ("id", "suite", "suite_hash", "items_hash", "target", "model", "judge", "status",
                                        "total", "stored", "created_at", "updated_at", "error")},
            "suite": {**describe(suite), "title": spec.title, "description": spec.description,
                      "safe_answer": suite.safe_answer()},
            "counts": {"items": run["total"], "stored": len(items), "answered": len(answered),
                       "errors": len(items) - len(answered), "labels": dict(sorted(labels.items()))},
            "counters": run["counters"],
            "latency_ms": _quantiles(latencies),
            "headline": {"metric": name, **main},
            "metrics": metrics,
            "thresholds": _thresholds(spec.thresholds, name, main),
            "complete": run["status"] == FINISHED and len(items) == run["total"],
        }


def _quantiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    pick = lambda q: round(values[min(len(values) - 1, int(q * len(values)))], 3)  # noqa: E731
    return {"p50": pick(0.5), "p95": pick(0.95), "max": round(values[-1], 3)}


def _thresholds(thresholds: dict[str, Any], name: str, main: dict[str, Any]) -> list[dict[str, Any]]:
    values = {name: main["rate"], f"{name}_lower": main["lower"], f"{name}_upper": main["upper"]}
    out = []
    for metric, bound in sorted(thresholds.items()):
        value = values.get(metric)
        if value is None:
            passed = None
        elif bound.at_least is not None:
            passed = value >= bound.at_least
        else:
            passed = value <= bound.at_most
        out.append({"metric": metric, "at_least": bound.at_least, "at_most": bound.at_most, "value": value,
                    "passed": passed})
    return out
