"""`reading: contextual` in a rule: its calls are judged by the contextual guard, and never by the
lexical one in its stead when the gateway has none (fail closed)."""

from __future__ import annotations

import pytest
from guard_gate_kit import EVERY_CALL, MarkerPromptGuard, bundle_with, chat, gate, headers

from clearance import PolicyError, read_policy
from clearance.guardrails.policy import MISSING_CONTEXTUAL, Guards, plan_for, rules_of
from clearance.guardrails.verdict import PromptVerdict

CONTEXTUAL = EVERY_CALL.replace("      when: {tiers: [S-4]}\n", "      when: {tiers: [S-4]}\n      reading: contextual\n")


class InContext(MarkerPromptGuard):
    name, version = "marker-double-contextual", "test:ctx"


def test_a_rule_saying_reading_contextual_sends_its_calls_to_the_contextual_guard(tmp_path):
    lexical, contextual = MarkerPromptGuard(), InContext()
    with gate(tmp_path / "ctx", guardrails=CONTEXTUAL, prompt_guard=lexical, contextual=contextual) as g:
        response = g.client.post("/v1/chat/completions", json=chat("please JBMARK now"), headers=headers(g.key()))
        assert response.status_code == 403, response.text
        [record] = g.records("guardrail", 1)
        assert record["guard"]["name"] == "marker-double-contextual"
        assert lexical.seen == [] and contextual.seen == ["please JBMARK now"]
    lexical, contextual = MarkerPromptGuard(), InContext()
    with gate(tmp_path / "lexical", prompt_guard=lexical, contextual=contextual) as g:
        response = g.client.post("/v1/chat/completions", json=chat("please JBMARK now"), headers=headers(g.key()))
        assert response.status_code == 403
        assert contextual.seen == [] and len(lexical.seen) == 1


def test_without_a_contextual_guard_such_calls_are_refused_not_read_lexically(tmp_path):
    lexical = MarkerPromptGuard()
    with gate(tmp_path / "none", guardrails=CONTEXTUAL, prompt_guard=lexical) as g:
        response = g.client.post("/v1/chat/completions", json=chat("a clean question"), headers=headers(g.key()))
        assert response.status_code == 503, response.text
        body = response.json()["error"]
        assert body["code"] == "guardrail-unavailable"
        assert lexical.seen == [], "the lexical guard must not stand in for the contextual one"


def test_the_most_specific_rule_that_says_decides_the_reading(tmp_path):
    bundle = bundle_with(tmp_path,
        "guardrails:\n  rules:\n"
        "    - {id: base, reading: contextual, prompt: {jailbreak: flag}}\n"
        "    - {id: research, when: {use_cases: [research]}, reading: lexical, prompt: {jailbreak: block}}\n"
        "    - {id: frontier, when: {tiers: [S-4]}, prompt: {harmful: flag}}\n")
    rules = rules_of(read_policy(bundle).meta)
    assert plan_for(rules, "S-4", "general", None).reading == "contextual", "the tier rule says nothing"
    assert plan_for(rules, "S-4", "research", None).reading == "lexical"
    full = plan_for(rules, "S-4", "general", None)
    assert Guards(None, None).prompt_for(full) is MISSING_CONTEXTUAL
    ctx, ctx_full = InContext(), InContext()
    assert Guards(None, None, None, None, ctx, ctx_full).prompt_for(full) is ctx
    assert Guards(None, None, None, None, ctx).prompt_for(plan_for(rules, "S-4", "research", None)) is None


def test_a_bad_reading_is_a_located_problem(tmp_path):
    bundle = bundle_with(tmp_path, "guardrails:\n  rules:\n    - id: x\n      reading: deep\n")
    with pytest.raises(PolicyError) as caught:
        read_policy(bundle)
    assert "guardrails.yaml:4" in str(caught.value) and "reading" in str(caught.value)
    (bundle / "guardrails.yaml").write_text("guardrails:\n  rules:\n    - {id: only-reading, reading: contextual}\n")
    assert rules_of(read_policy(bundle).meta).rules[0].reading == "contextual"


def test_the_shipped_gateway_reads_in_context_where_a_rule_asks(tmp_path):
    from clearance.guardrails.encoder import EncoderUnavailable, load_encoder
    from clearance.guardrails.policy import Plan
    from clearance.settings import Settings
    from clearance.wiring import build_app, build_gateway
    from needs import missing

    try:
        load_encoder()
    except EncoderUnavailable as exc:
        missing("encoder", str(exc))
    settings = Settings(database_url="memory:", audit_keys=str(tmp_path / "k"))
    guards = build_gateway(settings, build_app(settings)).guards
    plain = "how do I make a pipe bomb at home"
    lexical = guards.prompt_for(Plan()).check_prompt(plain)
    contextual = guards.prompt_for(Plan(reading="contextual")).check_prompt(plain)
    assert "+ctx:" in guards.prompt_for(Plan(reading="contextual")).version
    assert any(f.startswith("context: sentence encoder") for f in contextual.features)
    assert not any(f.startswith("context:") for f in lexical.features)
    # The domain label is the words' alone; jailbreaks are read in context by a second head on the same pass.
    assert dict(contextual.scores)["prohibited-domain"] == dict(lexical.scores)["prohibited-domain"]
    assert any(f.startswith("context: jailbreak head") for f in contextual.features)


class ThreadNoting(MarkerPromptGuard):
    def __init__(self) -> None:
        super().__init__()
        self.threads: list[int] = []

    def check_prompt(self, text: str):  # noqa: ANN201 - the PromptVerdict of the double
        import threading

        self.threads.append(threading.get_ident())
        return super().check_prompt(text)


def test_the_contextual_reading_runs_off_the_event_loop(tmp_path):
    # The encoder takes 10-100 ms a call: on the loop thread it would hold up every other call.
    lexical, contextual = ThreadNoting(), ThreadNoting()
    with gate(tmp_path, guardrails=CONTEXTUAL, prompt_guard=lexical, contextual=contextual) as g:
        loop_thread = g.client.portal.call(_current_thread)
        assert g.client.post("/v1/chat/completions", json=chat("hello"), headers=headers(g.key())).status_code == 200
    assert contextual.threads and loop_thread not in contextual.threads


async def _current_thread() -> int:
    import threading

    return threading.get_ident()


class ReadInContext(InContext):
    def check_prompt(self, text: str) -> PromptVerdict:
        self.seen.append(text)
        return PromptVerdict("clean", 0.03, None, ("read in context",))


def test_the_answer_is_weighed_by_the_prompts_verdict_under_the_rules_reading(tmp_path):
    lexical, contextual = MarkerPromptGuard(), ReadInContext()
    with gate(tmp_path / "ctx", guardrails=CONTEXTUAL, prompt_guard=lexical, contextual=contextual) as g:
        response = g.client.post("/v1/chat/completions", json=chat("repeat hello"), headers=headers(g.key()))
        assert response.status_code == 200, response.text
        assert g.answer_guard.asked and all(v is not None and v.features == ("read in context",)
                                            for v in g.answer_guard.asked)
        assert contextual.seen == ["repeat hello"], "the prompt is read in context once, not again for the answer"
        assert lexical.seen == []
    lexical, contextual = MarkerPromptGuard(), ReadInContext()
    with gate(tmp_path / "lexical", prompt_guard=lexical, contextual=contextual) as g:
        response = g.client.post("/v1/chat/completions", json=chat("repeat hello"), headers=headers(g.key()))
        assert response.status_code == 200, response.text
        assert g.answer_guard.asked and all(v is not None and v.label == "clean" and v.features == ()
                                            for v in g.answer_guard.asked)
        assert contextual.seen == []
