"""Screening inside decisions: findings from registration and imports, reviews, and the audit trail."""

from __future__ import annotations

import pytest
from screening_kit import CSL_ROWS, EL, NOW, real_lists, write_jsonl

from clearance import decide_json
from clearance.screening.importers import ListFileError, read_csl
from clearance.screening.service import ReviewRejected, ScreeningUnavailable

VECTOR = {"entity_number": None, "source": EL, "source_code": "EL", "type": None, "name": "Vektor Institute",
          "alt_names": [], "countries": ["RU"]}


def request(entity: str, person: str = "p-1") -> dict:
    return {"model": "mythos-5", "entity": entity, "use_case": "software-engineering", "at": NOW,
            "person": {"id": person, "citizenships": ["US"], "location": "US"}}


def decide(world, entity: str, person: str = "p-1"):
    return decide_json(world.live.current(), request(entity, person))


def test_a_listed_entity_registered_under_a_variant_spelling_is_caught_and_denied(world, csl_file):
    world.screening.import_list(read_csl(csl_file), actor="test")
    world.registry.put("entity", "agcc", {"name": "AFGHAN GERMAN CONSTRUCTION CO.", "country": "AF", "kind": "company"},
                       actor="test", reason="onboarding")
    finding = world.registry.state(kind="restriction")[("restriction", "agcc")].body
    assert finding["status"] == "listed"
    assert finding["list"] == EL
    assert "Afghan-German Construction Company" in finding["reason"]
    decision = decide(world, "agcc")
    assert (decision.outcome.value, decision.code.value) == ("deny", "restricted-party")
    flagged = world.audited(entity="agcc")
    assert flagged[-1]["action"] == "flagged"
    assert flagged[-1]["hit"]["entry"]["name"] == "Afghan-German Construction Company"
    assert "country AF" in flagged[-1]["hit"]["agreed"]


def test_a_registered_person_under_a_reordered_name_is_caught(world, csl_file):
    world.screening.import_list(read_csl(csl_file), actor="test")
    world.registry.put("person", "p-9", {"entity": "stripe", "name": "Elena Tsunaeva", "citizenships": ["RU"]},
                       actor="test", reason="onboarding")
    finding = world.registry.state(kind="restriction")[("restriction", "person:p-9")].body
    assert finding["status"] in ("listed", "possible")
    decision = decide(world, "stripe", "p-9")
    assert decision.outcome.value in ("deny", "review")
    assert decision.code.value in ("restricted-party", "pending-review")
    assert world.audited(person="p-9")[-1]["entity"] == "stripe"


def test_clearing_a_possible_match_lets_requests_through_and_is_audited(world, csl_file, tmp_path):
    world.screening.import_list(read_csl(csl_file), actor="test")
    assert decide(world, "vector-institute").outcome.value == "permit"
    world.screening.import_list(read_csl(write_jsonl(tmp_path / "csl2.jsonl", [*CSL_ROWS, VECTOR])), actor="test")
    assert world.registry.state(kind="restriction")[("restriction", "vector-institute")].body["status"] == "possible"
    pending = decide(world, "vector-institute")
    assert (pending.outcome.value, pending.code.value) == ("review", "pending-review")

    world.screening.review("vector-institute", "clear", actor="reviewer-1", reason="Canadian research institute, not the RU entry")
    assert decide(world, "vector-institute").outcome.value == "permit"
    cleared = world.audited(entity="vector-institute")[-1]
    assert (cleared["action"], cleared["actor"], cleared["previous"]) == ("cleared", "reviewer-1", "possible")
    assert cleared["reason"] == "Canadian research institute, not the RU entry"
    # A rescreen (the same list again, or a later one) does not raise the cleared entry again.
    world.screening.rescreen()
    assert decide(world, "vector-institute").outcome.value == "permit"


def test_confirming_a_possible_match_denies(world, csl_file, tmp_path):
    world.screening.import_list(read_csl(write_jsonl(tmp_path / "csl.jsonl", [VECTOR])), actor="test")
    world.screening.review("vector-institute", "confirm", actor="reviewer-2", reason="same party, checked the address")
    assert decide(world, "vector-institute").code.value == "restricted-party"
    assert world.audited(entity="vector-institute")[-1]["action"] == "confirmed"
    with pytest.raises(ReviewRejected):
        world.screening.review("vector-institute", "confirm", actor="reviewer-2", reason="again")


def test_reviews_need_a_finding_and_a_reason(world, csl_file):
    world.screening.import_list(read_csl(csl_file), actor="test")
    with pytest.raises(ReviewRejected, match="no restricted-party finding"):
        world.screening.review("stripe", "clear", actor="r", reason="why not")
    with pytest.raises(ReviewRejected, match="must say why"):
        world.screening.review("stripe", "clear", actor="r", reason=" ")


def test_a_new_snapshot_adding_an_existing_customer_flips_it_to_review_without_a_restart(world, csl_file, tmp_path):
    world.screening.import_list(read_csl(csl_file), actor="test")
    before = world.live.current()
    assert decide_json(before, request("vector-institute")).outcome.value == "permit"
    report = world.screening.import_list(read_csl(write_jsonl(tmp_path / "csl2.jsonl", [*CSL_ROWS, VECTOR])), actor="test")
    assert [e.name for e in report.diff.added] == ["Vektor Institute"]
    assert [(f.subject.key, f.status) for f in report.findings] == [("vector-institute", "possible")]
    # The same long-lived LiveSnapshot object, refreshed by the registry's commit: no restart.
    assert decide(world, "vector-institute").code.value == "pending-review"


def test_the_bundle_own_listing_is_never_downgraded_by_a_possible_match(world, tmp_path):
    qihoo = {"entity_number": None, "source": EL, "source_code": "EL", "type": None,
             "name": "Qihoo 360 Technologies Group", "alt_names": [], "countries": ["IN"]}
    world.screening.import_list(read_csl(write_jsonl(tmp_path / "q.jsonl", [qihoo])), actor="test")
    assert ("restriction", "qihoo-360") not in world.registry.state(kind="restriction")
    assert decide(world, "qihoo-360").code.value == "restricted-party"


def test_identical_content_is_not_imported_twice_and_a_bad_file_keeps_the_live_snapshot(world, csl_file, tmp_path):
    first = world.screening.import_list(read_csl(csl_file), actor="test")
    again = world.screening.import_list(read_csl(csl_file), actor="test")
    assert again.unchanged and again.snapshot.id == first.snapshot.id
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"name": "X", "source": "Entity List (EL)"}\n{"name": ""}\nnot json\n', encoding="utf-8")
    with pytest.raises(ListFileError) as caught:
        world.screening.import_list(read_csl(bad), actor="test")
    assert caught.value.problems == ["bad.jsonl:2: name: missing or empty", "bad.jsonl:3: malformed JSON (Expecting value at column 1)"]
    assert world.screening.lists.live()["csl"].id == first.snapshot.id
    assert world.screening.screen("Bank of Kunlun").outcome == "match"


def test_with_no_list_imported_screening_answers_unavailable_never_no_match(world):
    with pytest.raises(ScreeningUnavailable):
        world.screening.screen("Bank of Kunlun")
    # Registration is not screened until a list exists, and is not blocked either.
    world.registry.put("entity", "acme", {"name": "Acme Widgets", "country": "US", "kind": "company"}, actor="t")
    assert world.registry.state(kind="restriction") == {}


def test_a_screening_failure_on_registration_leaves_a_possible_finding(world, csl_file, monkeypatch):
    world.screening.import_list(read_csl(csl_file), actor="test")

    def broken(*_args, **_kwargs):
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(world.screening, "matcher", broken)
    world.registry.put("entity", "acme", {"name": "Acme Widgets", "country": "US", "kind": "company"}, actor="t")
    finding = world.registry.state(kind="restriction")[("restriction", "acme")].body
    assert finding["status"] == "possible" and "could not run" in finding["reason"]
    assert decide_json(world.live.current(), request("acme")).outcome.value == "review"


def test_a_real_entity_list_party_under_a_variant_spelling_is_denied(world, tmp_path):
    real = real_lists()
    csl = read_csl(real / "csl_2026-07-31.jsonl.gz")
    assert csl.counts["entries"] == 25_921 and csl.counts["list:EL"] == 3_420
    world.screening.import_list(csl, actor="test")
    world.registry.put("entity", "rnii", {"name": "Nauchno Issledovatelskii Institut Sovremennykh Telekomunikatsionnykh Tekhnologii AO",
                                          "country": "RU", "kind": "company"}, actor="test")
    assert decide(world, "rnii").code.value == "restricted-party"
    world.registry.put("entity", "acme", {"name": "Anthropic PBC", "country": "US", "kind": "company"}, actor="test")
    assert ("restriction", "acme") not in world.registry.state(kind="restriction")


def test_a_name_with_nothing_to_compare_is_flagged_for_review(world, csl_file):
    world.screening.import_list(read_csl(csl_file), actor="test")
    world.registry.put("entity", "dots", {"name": "...", "country": "US", "kind": "company"}, actor="t")
    finding = world.registry.state(kind="restriction")[("restriction", "dots")].body
    assert finding["status"] == "possible" and "no letters or digits" in finding["reason"]
