"""From a finished run to a model's tier: evidence records, and what the tier rests on.

Accepting a run writes a registry record of kind ``evidence`` (key ``<model>:<measures>``,
bitemporal like every registry record) holding the measured fields and where they came
from: run, suite and items hashes, judge version, target and counts. The registry's audit
observer appends the acceptance to the audit log with that body. The live snapshot is
rebuilt on the commit, so every decision from then on uses the tier the evidence gives.

Universality (is a jailbreak template universal?) is judged with the bundle's
``tiering.universality`` thresholds at acceptance, and recorded with the evidence.
"""

from __future__ import annotations

from typing import Any

from ..core.model import Condition, Tiering, TierRule
from ..core.tiers import tier_from_evidence
from .errors import EvalError
from .runs import Runs

PREFIX = {"refusal": "harmful_refusal_rate", "jailbreak": "jailbreak_attack_success_rate",
          "over-refusal": "over_refusal_rate", "injection": "injection_success_rate"}


def measured_fields(measures: str, metrics: dict[str, Any]) -> dict[str, Any]:
    """The evidence fields a suite's metrics give (``guardrails.*``), rates with their bounds."""
    name = {"refusal": "refusal_rate", "jailbreak": "attack_success_rate", "over-refusal": "over_refusal_rate",
            "injection": "injection_success_rate"}[measures]
    main = metrics[name]
    if main["rate"] is None:
        raise EvalError("the run has no judged answers: there is nothing to accept")
    prefix = f"guardrails.{PREFIX[measures]}"
    fields: dict[str, Any] = {prefix: main["rate"], f"{prefix}_lower": main["lower"], f"{prefix}_upper": main["upper"]}
    if measures == "jailbreak":
        direct = metrics["direct_success_rate"]
        if direct["rate"] is not None:
            fields.update({"guardrails.jailbreak_direct_success_rate": direct["rate"],
                           "guardrails.jailbreak_direct_success_rate_lower": direct["lower"],
                           "guardrails.jailbreak_direct_success_rate_upper": direct["upper"]})
        fields["guardrails.universal_jailbreak"] = bool(metrics["universal_jailbreak"])
        fields["guardrails.universal_templates"] = len(metrics["universal_templates"])
    return fields


def evidence_body(runs: Runs, run_id: str, model: str, universality: dict[str, Any] | None) -> dict[str, Any]:
    """The ``evidence`` record a finished, complete run gives for ``model``."""
    kwargs = {"success_rate": universality["success_rate"], "categories": universality["categories"]} if universality else {}
    report = runs.report(run_id, **kwargs)
    if not report["complete"]:
        raise EvalError(f"run {run_id} is {report['run']['status']} with {report['counts']['stored']} of "
                        f"{report['counts']['items']} items: only a finished run can be evidence (resume it first)")
    run, suite = report["run"], report["suite"]
    return {
        "model": model,
        "measures": suite["measures"],
        "fields": measured_fields(suite["measures"], report["metrics"]),
        "run": run["id"],
        "suite": run["suite"],
        "suite_hash": run["suite_hash"],
        "items_hash": run["items_hash"],
        "judge": run["judge"],
        "target": run["target"],
        "counts": {"items": report["counts"]["items"], "answered": report["counts"]["answered"],
                   "errors": report["counts"]["errors"], "refused": sum(v for k, v in report["counts"]["labels"].items()
                                                                      if k != "full-compliance")},
        "universality": report["metrics"].get("universality") if suite["measures"] == "jailbreak" else None,
    }


def universality_of(service: Any) -> dict[str, Any] | None:
    tiering = service.sections.single.get("tiering")
    found = getattr(tiering.spec, "universality", None) if tiering is not None else None
    return found.model_dump() if found is not None else None


def accept(runs: Runs, service: Any, run_id: str, model: str, actor: str, reason: str) -> dict[str, Any]:
    """Write the run as evidence for ``model``; return the record and the tier before and after."""
    before = tier_of(service, model)
    body = evidence_body(runs, run_id, model, universality_of(service))
    record = service.put("evidence", f"{model}:{body['measures']}", body, actor=actor, reason=reason or f"accept {run_id}")
    return {"record": {"seq": record.seq, "kind": record.kind, "key": record.key, "valid_from": record.valid_from,
                       "recorded_at": record.recorded_at, "body": record.body},
            "tier_before": before["tier"], "tier_after": tier_of(service, model)["tier"]}


def tier_with(runs: Runs, service: Any, run_id: str, model: str, now_ns: int) -> dict[str, Any]:
    """What accepting ``run_id`` for ``model`` would do to its tier; nothing is written."""
    from ..licensing.impact import with_changes

    body = evidence_body(runs, run_id, model, universality_of(service))
    change = [{"kind": "evidence", "key": f"{model}:{body['measures']}", "record": body}]
    proposed = with_changes(service, change, now_ns).models[model]
    return {"tier_before": tier_of(service, model)["tier"], "tier_after": proposed.tier,
            "because": list(proposed.tier_because), "change": change}


def tier_of(service: Any, model: str, valid_at: int | None = None) -> dict[str, Any]:
    """A model's tier now (or at ``valid_at``): declared or derived, the rules that gave it, the evidence in force."""
    compiled = service.snapshot(valid_at)
    found = next((m for m in compiled.policy.models if m.id == model), None)
    if found is None:
        raise EvalError(f"unknown model `{model}` (known: {', '.join(sorted(compiled.models))})")
    index = compiled.models[model]
    records = [r for (kind, key), r in service.state(valid_at, kind="evidence").items() if key.startswith(f"{model}:")]
    tiering = compiled.policy.tiering
    thresholds = []
    for source, entries in (("rule", tiering.rules), ("raise", tiering.raises)):
        for entry in entries:
            name = getattr(entry, "tier", None) if source == "rule" else f"{entry.id} (+{entry.by})"
            for cond in entry.any_of:
                thresholds.append({"kind": source, "name": name, "field": cond.field, "test": _test(cond),
                                   "value": _lookup(found.evidence or {}, cond.field),
                                   "holds": _holds(cond, found.evidence or {})})
    return {
        "model": model,
        "tier": index.tier,
        "declared": found.tier is not None,
        "because": list(index.tier_because),
        "policy_version": compiled.version,
        "evidence": [{"key": r.key, "run": (r.body or {}).get("run"), "suite": (r.body or {}).get("suite"),
                      "suite_hash": (r.body or {}).get("suite_hash"), "judge": (r.body or {}).get("judge"),
                      "target": (r.body or {}).get("target"), "fields": (r.body or {}).get("fields"),
                      "since": r.valid_from, "recorded_at": r.recorded_at, "actor": r.actor, "seq": r.seq}
                     for r in sorted(records, key=lambda r: r.key)],
        "thresholds": thresholds,
    }


def _test(cond: Any) -> str:
    for name, symbol in (("equals", "=="), ("above", ">"), ("below", "<"), ("at_least", ">="), ("at_most", "<=")):
        value = getattr(cond, name)
        if value is not None:
            return f"{symbol} {value!r}"
    return f"in {list(cond.in_)!r}"


def _lookup(evidence: dict[str, Any], path: str) -> Any:
    value: Any = evidence
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _holds(cond: Condition, evidence: dict[str, Any]) -> bool:
    # The core's own evaluation, on a one-condition tiering: no second implementation to drift.
    probe = Tiering(tiers=("no", "yes"), rules=(TierRule("yes", (cond,)),))
    return tier_from_evidence(evidence, probe).tier == "yes"
