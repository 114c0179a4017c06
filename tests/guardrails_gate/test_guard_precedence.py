"""Which rule decides a label, and properties that hold for every set of rules and every verdict."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.guardrails.policy import (
    PROMPT_LABELS,
    RANK,
    Rule,
    Rules,
    Setting,
    judge_answer,
    judge_prompt,
    plan_for,
)
from clearance.guardrails.verdict import AnswerVerdict, PromptVerdict


def rule(rid: str, *, tiers=(), use_cases=(), authorizations=(), answer=None, **prompt: str) -> Rule:
    settings_ = tuple((label.replace("_", "-"), Setting(action, 0.5, rid)) for label, action in prompt.items())
    return Rule(rid, frozenset(tiers), frozenset(use_cases), frozenset(authorizations), settings_,
                None if answer is None else Setting(answer, 0.5, rid))


def chosen(rules: list[Rule], label: str, tier="S-4", use_case="research", authorization="LIC-1") -> tuple[str, str]:
    setting = dict(plan_for(Rules(tuple(rules)), tier, use_case, authorization).prompt)[label]
    return setting.rule, setting.action


def test_authorization_beats_use_case_beats_tier_beats_the_default():
    rules = [rule("default", jailbreak="flag"), rule("tier", tiers=["S-4"], jailbreak="block"),
             rule("use-case", use_cases=["research"], jailbreak="off"),
             rule("licence", authorizations=["LIC-1"], jailbreak="flag")]
    assert chosen(rules, "jailbreak") == ("licence", "flag")
    assert chosen(rules, "jailbreak", authorization="LIC-2") == ("use-case", "off")
    assert chosen(rules, "jailbreak", authorization="LIC-2", use_case="general") == ("tier", "block")
    assert chosen(rules, "jailbreak", authorization="LIC-2", use_case="general", tier="S-1") == ("default", "flag")


def test_naming_more_fields_beats_naming_fewer_and_authorization_outweighs_use_case_plus_tier():
    rules = [rule("use-case", use_cases=["research"], harmful="flag"),
             rule("use-case+tier", use_cases=["research"], tiers=["S-4"], harmful="block"),
             rule("licence", authorizations=["LIC-1"], harmful="off")]
    assert chosen(rules, "harmful") == ("licence", "off")
    assert chosen(rules, "harmful", authorization=None) == ("use-case+tier", "block")


def test_a_label_a_specific_rule_does_not_set_falls_through_to_a_less_specific_rule():
    rules = [rule("default", jailbreak="block", answer="flag"), rule("licence", authorizations=["LIC-1"], harmful="flag")]
    assert chosen(rules, "jailbreak") == ("default", "block")
    assert chosen(rules, "prohibited-domain") == (None, "off")
    assert plan_for(Rules(tuple(rules)), "S-4", None, "LIC-1").answer.action == "flag"


def test_an_obligation_level_raises_and_never_lowers():
    rules = Rules((rule("default", jailbreak="block", harmful="off"),))
    plan = plan_for(rules, None, None, None, level="flag")
    assert dict(plan.prompt)["jailbreak"].action == "block"
    assert dict(plan.prompt)["harmful"].action == "flag"
    assert plan.answer.action == "flag"


def test_the_strongest_action_wins_then_the_higher_score():
    plan = plan_for(Rules((rule("r", jailbreak="flag", harmful="block", prohibited_domain="flag"),)), None, None, None)
    verdict = PromptVerdict("jailbreak", 0.9, "cbrn", ("x",), (("jailbreak", 0.9), ("harmful", 0.6),
                                                                ("prohibited-domain", 0.95)))
    hit = judge_prompt(plan, verdict)
    assert (hit.label, hit.action, hit.score) == ("harmful", "block", 0.6)
    assert judge_prompt(plan, PromptVerdict("clean", 0.1, scores=(("jailbreak", 0.4),))) is None
    # Without per-label scores, the verdict's own label and score are used.
    hit = judge_prompt(plan, PromptVerdict("prohibited-domain", 0.8, "cbrn"))
    assert (hit.label, hit.domain, hit.action) == ("prohibited-domain", "cbrn", "flag")


# -- properties ---------------------------------------------------------------------------------------

ACTIONS = st.sampled_from(["off", "flag", "block"])
TIERS, USE_CASES, AUTHS = ["S-1", "S-2", "S-3", "S-4"], ["research", "general"], ["LIC-1", "LIC-2"]


@st.composite
def rule_sets(draw):
    rules = []
    for i in range(draw(st.integers(0, 5))):
        pick = lambda values: draw(st.lists(st.sampled_from(values), unique=True, max_size=2))  # noqa: E731
        prompt = tuple((label, Setting(draw(ACTIONS), draw(st.sampled_from([0.3, 0.5, 0.8])), f"r{i}"))
                       for label in PROMPT_LABELS if draw(st.booleans()))
        answer = Setting(draw(ACTIONS), 0.5, f"r{i}") if draw(st.booleans()) else None
        rules.append(Rule(f"r{i}", frozenset(pick(TIERS)), frozenset(pick(USE_CASES)), frozenset(pick(AUTHS)),
                          prompt, answer))
    return rules


SCORES = st.floats(0, 1)
VERDICTS = st.builds(lambda j, h, p: PromptVerdict("clean", 0.0, None, (), (("jailbreak", j), ("harmful", h),
                                                                             ("prohibited-domain", p))),
                     SCORES, SCORES, SCORES)
CALLS = st.tuples(st.sampled_from([*TIERS, None]), st.sampled_from([*USE_CASES, None]), st.sampled_from([*AUTHS, None]))


def action(rules: list[Rule], call, verdict: PromptVerdict, level=None) -> int:
    hit = judge_prompt(plan_for(Rules(tuple(rules)), *call, level), verdict)
    return 0 if hit is None else RANK[hit.action]


@settings(max_examples=150, deadline=None)
@given(rule_sets(), CALLS, VERDICTS, st.data())
def test_turning_any_setting_from_off_to_block_never_lets_a_blocked_call_through(rules, call, verdict, data):
    candidates = [(i, label) for i, r in enumerate(rules) for label, s in r.prompt if s.action == "off"]
    if not candidates:
        return
    i, label = data.draw(st.sampled_from(candidates))
    raised = list(rules)
    prompt = tuple((lb, Setting("block", s.threshold, s.rule) if lb == label else s) for lb, s in rules[i].prompt)
    raised[i] = Rule(rules[i].id, rules[i].tiers, rules[i].use_cases, rules[i].authorizations, prompt, rules[i].answer)
    assert action(raised, call, verdict) >= action(rules, call, verdict)


@settings(max_examples=150, deadline=None)
@given(rule_sets(), CALLS, VERDICTS, st.sampled_from(["flag", "block"]))
def test_a_guardrail_obligation_never_weakens_what_the_rules_do(rules, call, verdict, level):
    assert action(rules, call, verdict, level) >= max(action(rules, call, verdict), 0)
    assert action(rules, call, verdict, "block") >= action(rules, call, verdict, level)


@settings(max_examples=200, deadline=None)
@given(rule_sets(), CALLS, SCORES, SCORES)
def test_a_higher_answer_score_never_gets_a_weaker_action(rules, call, low, high):
    low, high = sorted((low, high))
    plan = plan_for(Rules(tuple(rules)), *call)
    weak, strong = judge_answer(plan, AnswerVerdict(False, low)), judge_answer(plan, AnswerVerdict(True, high))
    assert (0 if strong is None else RANK[strong.action]) >= (0 if weak is None else RANK[weak.action])


def test_without_a_threshold_the_guard_s_own_label_decides_and_with_one_the_score_does():
    from clearance.guardrails.policy import Plan, Setting, judge_answer, judge_prompt
    from clearance.guardrails.verdict import AnswerVerdict, PromptVerdict

    own = Plan((("harmful", Setting("flag", None, "r")),), Setting("block", None, "r"), 400)
    bound = Plan((("harmful", Setting("flag", 0.5, "r")),), Setting("block", 0.5, "r"), 400)
    # A benign prompt the shipped guard scores 0.63 on `harmful` but labels clean (its own bar is higher).
    benign = PromptVerdict("clean", 0.63, scores=(("harmful", 0.63),))
    harmful = PromptVerdict("harmful", 0.93, scores=(("harmful", 0.93),))
    assert judge_prompt(own, benign) is None
    hit = judge_prompt(own, harmful)
    assert hit is not None and hit.action == "flag" and hit.threshold is None
    assert judge_prompt(bound, benign) is not None, "an explicit threshold reads the score"
    assert judge_answer(own, AnswerVerdict(False, 0.6)) is None
    assert judge_answer(own, AnswerVerdict(True, 0.6)).blocks
    assert judge_answer(bound, AnswerVerdict(False, 0.6)).blocks
