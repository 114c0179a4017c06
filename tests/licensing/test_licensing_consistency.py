"""Identical applications get identical assessments; reviewer decisions that diverge are reported."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.core.instant import parse_instant
from clearance.licensing import consistency
from clearance.licensing.applications import assess, fingerprint
from clearance.licensing.record import ApplicationInput

MODELS = ["mythos-5", "fable-5", "gpt-5.6-sol", "gpt-5.6-terra", "open-7b"]
USE_CASES = ["research", "general", "financial-risk-management", "military-command-control"]
USERS = [
    {"citizenships": ["US"], "location": "US"},
    {"citizenships": ["IN"], "location": "US"},
    {"citizenships": ["JP"], "location": "JP", "label": "Tokyo team"},
    {"citizenships": ["IR"], "location": "US"},
]
ENTITIES = ["stripe", "contoso-bank", "northwind", "vector-institute", "qihoo-360", "nist"]
AT = int(parse_instant("2026-07-21T12:00:00Z"))


@settings(max_examples=60, deadline=None)
@given(
    entity=st.sampled_from(ENTITIES),
    models=st.lists(st.sampled_from(MODELS), min_size=1, max_size=3),
    use_cases=st.lists(st.sampled_from(USE_CASES), min_size=1, max_size=2),
    users=st.lists(st.sampled_from(USERS), min_size=1, max_size=3),
    data=st.data(),
)
def test_identical_applications_get_identical_assessments(example_snapshot, entity, models, use_cases, users, data):
    first = ApplicationInput(entity=entity, models=models, use_cases=use_cases, users=users, justification="a")
    # The same request, told differently: lists reordered and repeated, another justification.
    again = ApplicationInput(
        entity=entity,
        models=data.draw(st.permutations(models)) + models[:1],
        use_cases=data.draw(st.permutations(use_cases)),
        users=data.draw(st.permutations(users)) + users[-1:],
        justification="b",
    )
    assert assess(example_snapshot, first, AT) == assess(example_snapshot, again, AT)
    assert fingerprint(entity, models, use_cases, first.users) == fingerprint(entity, again.models, again.use_cases, again.users)


def test_report_lists_decisions_against_the_assessment_and_between_equivalents(world):
    lic = world.licensing
    luna = {"models": ["gpt-5.6-luna"], "use_cases": ["general"], "users": [USERS[0]], "justification": "tool"}
    # amazon and palantir stand in the same place for Luna: same models, users, assessment.
    lic.submit({**luna, "entity": "amazon"}, "entity:amazon", app_id="APP-A")
    lic.submit({**luna, "entity": "palantir"}, "entity:palantir", app_id="APP-P")
    lic.submit({**luna, "entity": "qihoo-360"}, "entity:qihoo-360", app_id="APP-Q")
    lic.act("APP-A", "approve", "rev-1")
    lic.act("APP-P", "intend-to-deny", "rev-2", {"criteria": ["authorization"]})
    world.days(21)
    lic.act("APP-P", "deny", "rev-2", {"criteria": ["authorization"]})
    lic.act("APP-Q", "approve", "rev-3")
    report = consistency.report(lic.all())
    assert report["decided"] == 3
    assert [(d["application"], d["recommendation"], d["decided"]) for d in report["differ_from_assessment"]] == [
        ("APP-P", "approve", "deny"),
        ("APP-Q", "deny", "approve"),
    ]
    [group] = report["inconsistent_groups"]
    assert [(d["application"], d["decided"]) for d in group["decisions"]] == [("APP-A", "approve"), ("APP-P", "deny")]
