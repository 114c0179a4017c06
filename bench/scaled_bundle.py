"""A seeded, large policy bundle (10,000 entities, 1,000 authorizations, 200 models).

Why: the example bundle has six models and five authorizations, so it says
nothing about how load, compile and ``decide()`` behave when a regulator's
registry is realistic in size. This writes a bundle in the ordinary YAML format
(:mod:`clearance.policy.schema`), so the benchmark exercises the real loader,
checker and compiler, not a shortcut.

It reuses the example bundle's jurisdiction, tiering, qualification rules,
use-case classes and country groups (read from the shipped YAML, so the regime
stays the example's) and varies everything that scales: entity facts and
designations, restricted parties, model evidence (generated from the tiering
conditions themselves), control timelines and directives, and authorizations
with every kind of coverage, destination rule, use-case rule, validity window
and suspension the format allows.

    python bench/scaled_bundle.py OUT_DIR [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Any

import yaml

from clearance.core.errors import PolicyError
from clearance.policy.snapshot import default_bundle_path
from clearance.policy.source import read_document

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workload import ELSEWHERE, NS, OFFSETS, WINDOW_END, WINDOW_START, format_instant  # noqa: E402

DAY = 86_400 * NS
EXTRA_DESIGNATIONS = ("annex-b", "trusted-partner", "critical-infrastructure", "allied-lab", "cleared-cloud")
KINDS = ("company", "research", "government", "developer", "university")
STATES = ("controlled", "suspended", "not-controlled")


class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Plain YAML: no ``&id001`` anchors where generated lists happen to be shared."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _example_sections() -> dict[str, Any]:
    """The example bundle's sections, read with the project's own YAML rules (``NO`` stays Norway)."""
    sections: dict[str, Any] = {}
    for path in sorted(default_bundle_path().glob("*.yaml")):
        doc, problems = read_document(path, path.name)
        if doc is None or problems:
            raise PolicyError(problems)
        sections.update(doc.data)
    return sections


class _Gen:
    def __init__(self, seed: int, n_entities: int, n_auths: int, n_models: int) -> None:
        self.rng = random.Random(seed)
        self.ex = _example_sections()
        self.seed, self.n_entities, self.n_auths, self.n_models = seed, n_entities, n_auths, n_models
        j = self.ex["jurisdiction"]
        self.home = j["country"]
        self.embargo_groups = list(j.get("embargo_groups", []))
        self.groups = [g["id"] for g in self.ex["country_groups"]]
        self.countries = sorted({c for g in self.ex["country_groups"] for c in g.get("countries", [])} - {self.home})
        classes = self.ex["use_case_classes"]
        self.classes = [c["id"] for c in classes if not c.get("prohibited")]
        self.allowed_uc = [uc for c in classes if not c.get("prohibited") for uc in c["use_cases"]]
        self.prohibited_uc = [uc for c in classes if c.get("prohibited") for uc in c["use_cases"]]
        waivers = [w for q in self.ex.get("qualification", []) for w in q.get("waivers", [])]
        self.kinds = sorted(set(KINDS) | {k for w in waivers for k in w.get("kinds", [])})
        self.designations = sorted(set(EXTRA_DESIGNATIONS) | {d for w in waivers for d in w.get("designations", [])})
        self.requirements = [r for q in self.ex.get("qualification", []) for r in q["requirements"]]

    # -- small helpers -------------------------------------------------------
    def instant(self, ns: int) -> str:
        return format_instant(ns, self.rng.choice(OFFSETS))

    def when(self, lo: int = WINDOW_START, hi: int = WINDOW_END) -> int:
        return self.rng.randrange(lo, hi) // NS * NS

    def some(self, pool: list[Any], lo: int, hi: int) -> list[Any]:
        return self.rng.sample(pool, min(len(pool), self.rng.randint(lo, hi)))

    # -- sections ------------------------------------------------------------
    def entities(self) -> list[dict[str, Any]]:
        rng, out = self.rng, []
        for i in range(self.n_entities):
            r = rng.random()
            country = self.home if r < 0.55 else rng.choice(self.countries if r < 0.9 else ELSEWHERE)
            kind = "developer" if i < 20 else rng.choice(self.kinds)
            e: dict[str, Any] = {"id": f"ent-{i:05d}", "name": f"Entity {i}", "country": country, "kind": kind}
            designations = [d for d in self.designations if rng.random() < 0.04]
            if designations:
                e["designations"] = designations
            facts = self.facts()
            if facts:
                e["facts"] = facts
            if rng.random() < 0.1:
                e["named_use_cases"] = self.some(self.allowed_uc, 1, 2)
            r = rng.random()
            if r < 0.012:
                status = "listed" if r < 0.008 else "possible"
                e["restriction"] = {"status": status, "list": "Entity List", "reference": f"EL-{i}"}
            out.append(e)
        return out

    def facts(self) -> dict[str, Any]:
        """Values around each qualification requirement of the example, sometimes missing."""
        rng, facts = self.rng, {}
        for req in self.requirements:
            if rng.random() < 0.1:
                continue
            if req.get("at_least") is not None:
                facts[req["fact"]] = int(req["at_least"]) + rng.choice((-2, -1, 0, 0, 1, 2))
            else:
                want = req.get("equals", True)
                facts[req["fact"]] = want if rng.random() < 0.75 else (not want if isinstance(want, bool) else "other")
        return facts

    def persons(self) -> list[dict[str, Any]]:
        ids = self.rng.sample(range(100_000), 200)
        return [
            {
                "id": f"p-{i:05d}",
                "restriction": {"status": self.rng.choice(("listed", "possible")), "list": "Denied Persons List"},
            }
            for i in sorted(ids)
        ]

    def evidence(self) -> dict[str, Any]:
        """Evidence meeting or missing each tiering condition of the example at random."""
        rng, ev = self.rng, {}
        t = self.ex["tiering"]
        for cond in [c for r in t.get("rules", []) + t.get("raises", []) for c in r["any_of"]]:
            if rng.random() < 0.4:
                continue
            hit = rng.random() < 0.35
            if "equals" in cond:
                value = cond["equals"] if hit else "none"
            elif "in" in cond:
                value = cond["in"][0] if hit else "none"
            else:
                ((op, limit),) = ((k, v) for k, v in cond.items() if k != "field")
                step = 0.05 if op in ("above", "at_least") else -0.05
                value = round(limit + (step if hit else -step), 4)
            *parents, leaf = cond["field"].split(".")
            node = ev
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = value
        return ev

    def models(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rng, models = self.rng, []
        for i in range(self.n_models):
            mid = f"model-{i:03d}"
            released = self.when(WINDOW_START - 20 * DAY, WINDOW_START + 90 * DAY) // 3600 // NS * 3600 * NS
            m: dict[str, Any] = {"id": mid, "name": f"Model {i}", "released": self.instant(released)}
            if rng.random() < 0.3:
                m["developer"] = f"ent-{rng.randrange(20):05d}"
            if rng.random() < 0.1:
                m["tier"] = rng.choice(self.ex["tiering"]["tiers"])
            else:
                m["evidence"] = self.evidence()
            r = rng.random()
            plan = (
                []
                if r < 0.15
                else ["controlled"]
                if r < 0.6
                else ["suspended", "controlled"]
                if r < 0.75
                else ["controlled", "suspended", "controlled"][: rng.randint(2, 3)]
                if r < 0.85
                else ["controlled", "not-controlled"]
                if r < 0.95
                else ["suspended"]
            )
            at = released
            controls = []
            for k, state in enumerate(plan):
                at = (
                    (at + rng.randrange(0, 60) * DAY) // 3600 // NS * 3600 * NS
                )  # whole hours: no clash with directives
                note = f"control change {k} of {mid}"
                controls.append({"id": f"ctl-{mid}-{k}", "at": self.instant(at), "state": state, "note": note})
                at += DAY
            if controls:
                m["controls"] = controls
            models.append(m)
        directives = []
        for d in range(25):  # distinct instants at half past the hour, never on a control change
            at = self.when() // 3600 // NS * 3600 * NS + 1800 * NS + d * NS
            effects = [
                {"model": f"model-{k:03d}", "state": rng.choice(STATES)}
                for k in rng.sample(range(self.n_models), rng.randint(2, 8))
            ]
            directives.append(
                {"id": f"D-{d:03d}", "at": self.instant(at), "title": f"Directive {d}", "effects": effects}
            )
        return models, directives

    def destination(self, role: str) -> dict[str, Any]:
        rng = self.rng
        r = rng.random()
        if r < 0.25:
            return {"any": True, "except_groups": self.embargo_groups or self.some(self.groups, 1, 1)}
        if r < 0.55:
            return {"groups": self.some(self.groups, 1, 2)}
        if r < 0.7:
            return {"countries": self.some(self.countries + list(ELSEWHERE), 2, 8)}
        if r < 0.8:
            return {"any": True, "except_groups": self.some(self.groups, 1, 2)}
        if r < 0.88 and role == "deemed":
            return {"groups": self.some(self.groups, 1, 1), "countries": self.some(list(ELSEWHERE), 1, 3)}
        return {}  # this role covers no country: home persons in the home country only

    def authorizations(self) -> list[dict[str, Any]]:
        rng, out = self.rng, []
        all_entities = [f"ent-{i:05d}" for i in range(self.n_entities)]
        for i in range(self.n_auths):
            r = rng.random()
            n_models = 1 if r < 0.7 else rng.randint(2, 3) if r < 0.95 else rng.randint(5, 10)
            models = [f"model-{k:03d}" for k in rng.sample(range(self.n_models), n_models)]
            start = self.when(WINDOW_START - 30 * DAY, WINDOW_END - 30 * DAY)
            valid: dict[str, str] = {"from": self.instant(start)}
            end = None if rng.random() < 0.4 else start + rng.randint(7, 180) * DAY - NS
            if end is not None:
                valid["until"] = self.instant(end)
            covers: dict[str, Any] = {}
            named: list[str] = []
            r = rng.random()
            if r < 0.6 or r >= 0.9:
                named = self.some(all_entities, 1, 40)
                covers["entities"] = named
            if r >= 0.6:
                covers["designations"] = self.some(self.designations, 1, 1)
            if 0.8 <= r < 0.9:
                covers["model_developer"] = True
            uc: dict[str, Any] = {}
            r = rng.random()
            if r < 0.5:
                uc["use_cases"] = self.some(self.allowed_uc, 1, 3) + (
                    self.some(self.prohibited_uc, 1, 1) if rng.random() < 0.03 else []
                )
            elif r < 0.8:
                uc["classes"] = self.some(self.classes, 1, 1)
            else:
                uc["use_cases"] = self.some(self.allowed_uc, 1, 1)
                uc["classes"] = self.some(self.classes, 1, 1)
            if rng.random() < 0.4:
                uc["entity_named"] = True
            if named and rng.random() < 0.15:
                uc["per_entity"] = {e: self.some(self.allowed_uc, 1, 2) for e in self.some(named, 1, 3)}
            a: dict[str, Any] = {
                "id": f"AUTH-{i:04d}",
                "kind": rng.choice(("individual-licence", "general-exemption", "conditional-access")),
                "title": f"Authorization {i}",
                "models": models,
                "valid": valid,
                "covers": covers,
                "destinations": {"deemed": self.destination("deemed"), "location": self.destination("location")},
                "use_cases": uc,
                "obligations": [{"code": "monitoring"}]
                + ([{"code": "usage-cap", "tokens_per_day": rng.choice((10**5, 10**6))}] if rng.random() < 0.3 else []),
            }
            if rng.random() < 0.25:
                a["suspensions"] = self.suspensions(i, start, end, named)
            out.append(a)
        return out

    def suspensions(self, i: int, start: int, end: int | None, named: list[str]) -> list[dict[str, Any]]:
        rng, out = self.rng, []
        for k in range(rng.randint(1, 3)):
            s_from = rng.randrange(start, (end or start + 120 * DAY) + 1) // NS * NS
            s: dict[str, Any] = {
                "id": f"SUS-{i:04d}-{k}",
                "from": self.instant(s_from),
                "reason": f"threat assessment {i}.{k}",
            }
            if named and rng.random() < 0.8:
                s["entity"] = rng.choice(named)
            if rng.random() < 0.5:
                s["until"] = self.instant(s_from + rng.randint(1, 60) * DAY - NS)
            out.append(s)
        return out


def write_scaled_bundle(
    dir: str | Path, seed: int = 7, entities: int = 10_000, authorizations: int = 1_000, models: int = 200
) -> Path:
    """Write the scaled bundle's YAML files into ``dir`` (created; stale ``*.yaml`` removed); return it."""
    root = Path(dir)
    root.mkdir(parents=True, exist_ok=True)
    for old in root.glob("*.yaml"):
        old.unlink()
    g = _Gen(seed, entities, authorizations, models)
    ex = g.ex
    info = {
        "id": f"scaled-{seed}",
        "title": f"Scaled benchmark bundle (seed {seed})",
        "source": "bench/scaled_bundle.py",
    }
    model_list, directives = g.models()
    files = {
        "policy.yaml": {
            "policy": info,
            "jurisdiction": ex["jurisdiction"],
            "tiering": ex["tiering"],
            "qualification": ex.get("qualification", []),
        },
        "countries.yaml": {"country_groups": ex["country_groups"]},
        "use-cases.yaml": {"use_case_classes": ex["use_case_classes"]},
        "models.yaml": {"models": model_list, "directives": directives},
        "entities.yaml": {"entities": g.entities(), "persons": g.persons()},
        "authorizations.yaml": {"authorizations": g.authorizations()},
    }
    for name, data in files.items():
        with open(root / name, "w", encoding="utf-8") as fh:
            yaml.dump(data, fh, Dumper=Dumper, sort_keys=False, width=160, default_flow_style=None)
    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    print(write_scaled_bundle(args.out, args.seed))


if __name__ == "__main__":
    main()
