"""`scan: full` in a rule: the calls it covers are judged by the guard that reads all of a long prompt."""

from __future__ import annotations

from guard_gate_kit import EVERY_CALL, MarkerPromptGuard, bundle_with, chat, gate, headers

from clearance import read_policy
from clearance.guardrails.policy import Guards, plan_for, rules_of


class FullReader(MarkerPromptGuard):
    """A double for the full-scan guard: it finds the marker wherever it is, and says it read in full."""

    name, version = "marker-double-full", "test:full"


class HeadReader(MarkerPromptGuard):
    """A double for the sampled guard: it reads only the first 200 characters."""

    def check_prompt(self, text: str):  # noqa: ANN201 - the PromptVerdict of the double
        return super().check_prompt(text[:200])


def test_a_rule_saying_scan_full_sends_its_calls_to_the_full_reader(tmp_path):
    rules = EVERY_CALL.replace("      when: {tiers: [S-4]}\n", "      when: {tiers: [S-4]}\n      scan: full\n")
    buried = "The committee met. " * 40 + "JBMARK" + " And adjourned." * 10
    sampled, full = HeadReader(), FullReader()
    with gate(tmp_path / "full", guardrails=rules, prompt_guard=sampled, prompt_full=full) as g:
        response = g.client.post("/v1/chat/completions", json=chat(buried), headers=headers(g.key()))
        assert response.status_code == 403, response.text
        [record] = g.records("guardrail", 1)
        assert record["guard"]["name"] == "marker-double-full"
        assert sampled.seen == [] and len(full.seen) == 1
    sampled, full = HeadReader(), FullReader()
    with gate(tmp_path / "sampled", prompt_guard=sampled, prompt_full=full) as g:
        response = g.client.post("/v1/chat/completions", json=chat(buried), headers=headers(g.key()))
        assert response.status_code == 200, "without `scan: full`, the sampled reader judges (and misses) it"
        assert full.seen == [] and len(sampled.seen) == 1


def test_the_most_specific_rule_that_says_decides_the_scan(tmp_path):
    bundle = bundle_with(tmp_path,
        "guardrails:\n  rules:\n"
        "    - {id: base, scan: full, prompt: {jailbreak: flag}}\n"
        "    - {id: research, when: {use_cases: [research]}, scan: sampled, prompt: {jailbreak: block}}\n"
        "    - {id: frontier, when: {tiers: [S-4]}, prompt: {harmful: flag}}\n")
    rules = rules_of(read_policy(bundle).meta)
    assert plan_for(rules, "S-4", "general", None).scan == "full", "the tier rule says nothing: the base rule's"
    assert plan_for(rules, "S-4", "research", None).scan == "sampled"
    assert plan_for(rules, "S-2", "research", None).scan == "sampled"
    assert Guards(None, None).for_scan("full") == (None, None)


def test_a_bad_scan_is_a_located_problem(tmp_path):
    import pytest

    from clearance import PolicyError

    bundle = bundle_with(tmp_path, "guardrails:\n  rules:\n    - id: x\n      scan: everything\n")
    with pytest.raises(PolicyError) as caught:
        read_policy(bundle)
    assert "guardrails.yaml:4" in str(caught.value) and "scan" in str(caught.value)
    (bundle / "guardrails.yaml").write_text("guardrails:\n  rules:\n    - {id: only-scan, scan: full}\n")
    assert rules_of(read_policy(bundle).meta).rules[0].scan == "full"
