"""Impact analysis replays audited requests under a proposed policy; its fast path is the core's answer."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from clearance import decide_json, load_policy
from clearance.cli.main import app
from clearance.core.instant import parse_instant
from clearance.licensing.impact import Replayer, audited, replay
from clearance.store.audit_memory import MemoryAuditStore

USERS = [
    {"citizenships": ["US"], "location": "US"},
    {"citizenships": ["IN"], "location": "US", "id": "p-in"},
    {"citizenships": ["GB"], "location": "GB"},
    {"citizenships": ["CN"], "location": "US"},
]
INSTANTS = ["2026-06-28T10:00:00-04:00", "2026-07-21T12:00:00Z", "2026-10-02T08:30:00.5+09:00"]


def drop_annex_a(bundle_dir):
    path = bundle_dir / "authorizations.yaml"
    text, removed = re.subn(r"  - id: annex-a\n(?:    .*\n|      .*\n)+\n", "", path.read_text())
    assert removed == 1
    path.write_text(text)
    return bundle_dir


def audited_log(policy):
    """Every scenario entity's employees asking for every model, as the audit trail records it."""
    store = MemoryAuditStore()
    entries = []
    at_ns = int(parse_instant("2026-06-01T00:00:00Z"))
    for entity in policy.policy.entities:
        for model in policy.models:
            for use_case in ("research", "general", "financial-risk-management", "military-command-control"):
                for person in USERS:
                    for when in INSTANTS:
                        request = {"model": model, "entity": entity.id, "use_case": use_case, "person": person, "at": when}
                        decision = decide_json(policy, request).to_dict()
                        at_ns += 1_000_000_000
                        entries.append((at_ns, "decision", {"request": request, "decision": decision, "source": "test"}))
    # Not decisions, or not replayable: skipped or ignored, never fatal.
    entries.append((at_ns + 1, "licensing", {"entity": "stripe", "action": "submit"}))
    entries.append((at_ns + 2, "decision", {"request": {"unparsed": "'x'"}, "decision": None}))
    store.append_batch(entries)
    return store


def test_removing_annex_a_loses_exactly_the_entities_it_permitted(example_snapshot, bundle_dir):
    store = audited_log(example_snapshot)
    proposed = load_policy(drop_annex_a(bundle_dir))
    report = replay(proposed, audited(store, page=997), examples=2)
    permits = [r.body for r in store.query(kinds=["decision"], limit=10**6) if (r.body.get("decision") or {}).get("outcome") == "permit"]
    by_annex_a = {b["request"]["entity"] for b in permits if b["decision"]["authorization"] == "annex-a"}
    by_core = {b["request"]["entity"] for b in permits if decide_json(proposed, b["request"]).outcome != "permit"}
    assert report["lost_entities"] == sorted(by_annex_a) == sorted(by_core)
    assert set(report["lost_entities"]) == {"amazon", "anthropic", "darpa", "nist", "northwind", "nsa", "palantir", "stripe"} - {"northwind"}
    assert report["gained"] == 0 and report["gained_entities"] == []
    assert report["lost"] == sum(1 for b in permits if b["decision"]["authorization"] == "annex-a")
    assert report["by_model"].keys() == {"mythos-5"}
    assert set(report["by_code"]) <= {"permit/authorized -> deny/license-required", "deny/destination-not-authorized -> deny/license-required",
                                      "deny/use-case-not-authorized -> deny/license-required"}
    assert report["skipped"] == 1 and report["replayed"] == len(permits) + sum(
        1 for r in store.query(kinds=["decision"], limit=10**6) if r.body.get("decision") and r.body["decision"]["outcome"] != "permit")
    example = report["examples"]["lost"][0]
    assert example["recorded"]["authorization"] == "annex-a" and example["proposed"]["code"] == "license-required"


def test_the_same_policy_changes_nothing_and_a_period_limits_the_replay(example_snapshot):
    store = audited_log(example_snapshot)
    report = replay(example_snapshot, audited(store))
    assert (report["gained"], report["lost"], report["recoded"]) == (0, 0, 0)
    first = store.records(0, 1)[0].at_ns
    report = replay(example_snapshot, audited(store, since_ns=first, until_ns=first + 9_000_000_000))
    assert report["replayed"] == 10


def test_the_cli_reports_impact_from_a_jsonl_log(example_snapshot, bundle_dir, tmp_path):
    store = audited_log(example_snapshot)
    log = tmp_path / "audit.jsonl"
    log.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in store.records(0, store.size())))
    result = CliRunner().invoke(app, ["policy", "impact", "--proposed", str(drop_annex_a(bundle_dir)), "--log", str(log), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["lost_entities"] == ["amazon", "anthropic", "darpa", "nist", "nsa", "palantir", "stripe"]
    result = CliRunner().invoke(app, ["policy", "impact", "--log", str(log)])
    assert result.exit_code == 2


OFFSETS = st.sampled_from(["Z", "z", "+00:00", "-04:00", "+05:30", "+14:00", "-23:59", "+24:00", "+0400", "-04"])
DATES = st.sampled_from(["2026-06-11", "2026-06-12", "2026-06-25", "2026-06-26", "2026-06-27", "2026-07-20", "2026-09-30",
                         "2026-10-01", "2026-12-31", "2027-01-01", "2026-02-30", "2026-13-01"])


@st.composite
def instants(draw):
    hour = draw(st.integers(0, 25))
    text = f"{draw(DATES)}T{hour:02d}:{draw(st.integers(0, 60)):02d}"
    if draw(st.booleans()):
        text += f":{draw(st.integers(0, 60)):02d}"
        if draw(st.booleans()):
            text += draw(st.sampled_from([".", ","])) + draw(st.text("0123456789", min_size=1, max_size=12))
    return text + draw(OFFSETS)


@st.composite
def requests(draw, policy):
    countries = st.sampled_from(["US", "IN", "GB", "ir", "CN", "JP", "XX", "SG", "BR", "RU", "CU", "TW", "MO", "CA"])
    person = {"citizenships": draw(st.lists(countries, max_size=2)), "location": draw(countries)}
    for name in ("permanent_residency", "deemed_country"):
        if draw(st.integers(0, 3)) == 0:
            person[name] = draw(countries)
    if draw(st.booleans()):
        person["employer"] = draw(st.sampled_from([e.id for e in policy.policy.entities]))
    if draw(st.booleans()):
        person["id"] = draw(st.sampled_from(["p-1", "p-2", "", 7]))
    request = {
        "model": draw(st.one_of(st.sampled_from([*policy.models, "gpt-9"]), st.just(["mythos-5"]))),
        "entity": draw(st.sampled_from([e.id for e in policy.policy.entities])),
        "use_case": draw(st.sampled_from([*policy.use_cases, "poetry"])),
        "person": person,
        "at": draw(st.one_of(instants(), st.sampled_from([None, 5, "2026-07-20T09:00:00"]))),
    }
    if draw(st.booleans()):
        request["action"] = draw(st.sampled_from(["inference", "fine-tune", "teleport", None]))
    if draw(st.integers(0, 9)) == 0:
        request["extra"] = 1
    return request


REPLAYER = {}


@settings(max_examples=600, deadline=None)
@given(data=st.data())
def test_the_fast_path_always_agrees_with_decide(example_snapshot, data):
    replayer = REPLAYER.setdefault("r", Replayer(example_snapshot))
    request = data.draw(requests(example_snapshot))
    expected = decide_json(example_snapshot, request)
    assert replayer.outcome(request) == (str(expected.outcome), str(expected.code))
    assert replayer.outcome(request) == (str(expected.outcome), str(expected.code))


def test_restricted_people_keep_their_own_verdicts(bundle_dir):
    (bundle_dir / "persons.yaml").write_text(
        "persons:\n"
        "  - {id: p-listed, restriction: {status: listed, list: Denied Persons List}}\n"
        "  - {id: p-possible, restriction: {status: possible, list: SDN}}\n"
    )
    policy = load_policy(bundle_dir)
    replayer = Replayer(policy)
    base = {"model": "mythos-5", "entity": "stripe", "use_case": "research", "at": "2026-07-21T12:00:00Z"}
    for pid in ("p-1", "p-listed", "p-possible", "p-2", None):
        person = {"citizenships": ["US"], "location": "US", **({"id": pid} if pid else {})}
        request = {**base, "person": person}
        expected = decide_json(policy, request)
        assert replayer.outcome(request) == (str(expected.outcome), str(expected.code)), pid
    assert replayer.outcome({**base, "person": {"citizenships": ["US"], "location": "US", "id": "p-listed"}})[1] == "restricted-party"


def test_a_proposed_registry_change_is_replayed_without_being_written(world):
    import pytest

    from clearance.licensing.impact import with_changes
    from clearance.licensing.record import InputError

    live = world.live.current()
    store = audited_log(live)
    suspend = [{"kind": "suspension", "key": "SUS-stripe", "record": {
        "authorization": "annex-a", "entity": "stripe", "from": "2026-06-01T00:00:00Z", "reason": "audit"}}]
    proposed = with_changes(world.registry, suspend, world.clock.now_ns())
    report = replay(proposed, audited(store))
    assert report["lost_entities"] == ["stripe"]
    assert "permit/authorized -> deny/authorization-suspended" in report["by_code"]
    assert world.registry.history("suspension", "SUS-stripe") == []
    with pytest.raises(InputError) as exc:
        with_changes(world.registry, [{"kind": "authorization", "key": "L", "record": {"models": ["gpt-9"]}}, {"kind": "x", "key": "y"}], 0)
    assert exc.value.problems == ["[1].kind: must be one of entity, authorization, suspension, restriction, evidence"]
    with pytest.raises(InputError, match="registry:proposed"):
        with_changes(world.registry, [{"kind": "authorization", "key": "L", "record": {"models": ["gpt-9"]}}], 0)


def test_impact_against_the_live_registry_replays_each_decision_as_of_its_instant(tmp_path, bundle_dir, monkeypatch):
    """Issue 13: an identical bundle changes nothing, though entities and a licence came through the
    registry and the licence was retired after the decisions; a real change names exactly its people."""
    import asyncio
    import shutil

    from clearance import default_bundle_path
    from clearance.settings import Settings
    from clearance.store.clock import FixedClock
    from clearance.wiring import build_app

    t0 = int(parse_instant("2026-07-20T12:00:00Z"))
    clock = FixedClock(t0)
    url = f"sqlite:///{tmp_path / 'live.db'}"
    built = build_app(Settings(database_url=url, audit_keys=str(tmp_path / "keys")), clock)
    service = built.service
    service.put("entity", "acme-labs", {"name": "Acme Labs", "country": "US", "kind": "company"}, reason="t")
    licence = {"kind": "individual-licence", "models": ["gpt-5.6-luna"], "valid": {"from": "2026-07-20T12:00:00Z"},
               "covers": {"entities": ["acme-labs"]}, "use_cases": {"use_cases": ["general"]},
               "obligations": [{"code": "monitoring"}]}
    service.put("authorization", "LIC-ACME", licence, reason="t")
    outcomes = {}
    for i, (entity, model, use_case) in enumerate([("acme-labs", "gpt-5.6-luna", "general")] * 3
                                                  + [("stripe", "mythos-5", "software-engineering")] * 3):
        clock.set(t0 + (i + 1) * 60 * 10**9)
        document = {"model": model, "entity": entity, "use_case": use_case,
                    "person": {"id": f"p-{i}", "citizenships": ["US"], "location": "US"}}
        enforced, _ = asyncio.run(built.enforcer.enforce_document(document, "test", clock.now_ns()))
        outcomes[i] = enforced.contract["code"]
    assert set(outcomes.values()) == {"authorized"}, outcomes
    clock.set(t0 + 3600 * 10**9)
    service.retire("authorization", "LIC-ACME", reason="later, after the decisions")
    built.close()
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", url)
    monkeypatch.setenv("CLEARANCE_AUDIT_KEYS", str(tmp_path / "keys"))

    def impact(*args: str) -> dict:
        result = CliRunner().invoke(app, ["policy", "impact", *args, "--format", "json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    same = shutil.copytree(default_bundle_path(), tmp_path / "same")
    report = impact("--proposed", str(same))
    assert (report["replayed"], report["gained"], report["lost"], report["recoded"]) == (6, 0, 0, 0), report
    unrelated = tmp_path / "unrelated.json"
    unrelated.write_text(json.dumps([{"kind": "restriction", "key": "nobody-we-know", "record": None}]))
    assert impact("--change", str(unrelated))["lost"] == 0  # the later retirement is not counted
    retire = tmp_path / "retire.json"
    retire.write_text(json.dumps([{"kind": "authorization", "key": "LIC-ACME", "record": None}]))
    report = impact("--change", str(retire))
    assert (report["lost"], report["lost_entities"], report["gained"]) == (3, ["acme-labs"], 0), report
    report = impact("--proposed", str(drop_annex_a(bundle_dir)))
    assert report["lost_entities"] == ["stripe"] and report["lost"] == 3, report


def test_decide_and_explain_replay_a_recorded_decision_by_its_id(tmp_path, monkeypatch):
    """A gateway caller's decision_id, decided again as the server decided it (the registry of that instant)."""
    import asyncio

    from clearance.settings import Settings
    from clearance.store.clock import FixedClock
    from clearance.wiring import build_app

    clock = FixedClock(int(parse_instant("2026-07-20T12:00:00Z")))
    url = f"sqlite:///{tmp_path / 'live.db'}"
    built = build_app(Settings(database_url=url, audit_keys=str(tmp_path / "keys")), clock)
    built.service.put("entity", "acme-labs", {"name": "Acme Labs", "country": "US", "kind": "company"}, reason="t")
    built.service.put("authorization", "LIC-ACME", {
        "kind": "individual-licence", "models": ["gpt-5.6-luna"], "valid": {"from": "2026-07-20T12:00:00Z"},
        "covers": {"entities": ["acme-labs"]}, "use_cases": {"use_cases": ["general"]},
        "obligations": [{"code": "monitoring"}]}, reason="t")
    clock.set(clock.now_ns() + 60 * 10**9)
    document = {"model": "gpt-5.6-luna", "entity": "acme-labs", "use_case": "general",
                "person": {"id": "p-1", "citizenships": ["US"], "location": "US"}}
    enforced, _ = asyncio.run(built.enforcer.enforce_document(document, "test", clock.now_ns()))
    clock.set(clock.now_ns() + 60 * 10**9)
    built.service.retire("authorization", "LIC-ACME", reason="later")
    built.close()
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", url)
    monkeypatch.setenv("CLEARANCE_AUDIT_KEYS", str(tmp_path / "keys"))
    runner = CliRunner()
    again = runner.invoke(app, ["decide", "--decision-id", str(enforced.decision_id)])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["authorization"] == "LIC-ACME"  # as then, though retired since
    shown = runner.invoke(app, ["explain", "--decision-id", str(enforced.decision_id), "--width", "100"])
    assert shown.exit_code == 0 and "PERMIT" in shown.stdout and "LIC-ACME" in shown.stdout
    missing = runner.invoke(app, ["decide", "--decision-id", "999"])
    assert missing.exit_code == 2 and "no decision 999" in missing.output


def test_the_timeline_state_is_the_stores_bitemporal_state_at_every_instant(world):
    """RegistryTimeline computes the state from rows read once; it must be the store's ``state`` exactly."""
    from clearance.licensing.impact import RegistryTimeline

    registry, clock = world.registry, world.clock
    start = clock.now_ns()
    registry.put("entity", "e-1", {"name": "E1", "country": "US", "kind": "company"}, reason="t")
    clock.advance(10)
    registry.put("entity", "e-1", {"name": "E1 renamed", "country": "US", "kind": "company"},
                 effective=clock.now_ns() + 100, reason="t")  # takes effect later than recorded
    clock.advance(10)
    registry.put("entity", "e-2", {"name": "E2", "country": "CA", "kind": "company"}, reason="t")
    clock.advance(200)
    registry.retire("entity", "e-2", reason="t")
    timeline = RegistryTimeline(registry, registry.sections)
    for at in [start - 1, *timeline.instants, *(i + 1 for i in timeline.instants), clock.now_ns() + 10**9]:
        expected = {k: r.seq for k, r in registry.policy_state(at, at).items() if r.op == "put"}
        assert {k: r.seq for k, r in timeline.state_at(at).items()} == expected, at
