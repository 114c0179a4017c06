"""A broken bundle is rejected with every problem located: file, 1-based line and field path.

Each test breaks a private copy of the example bundle by editing its text, then
finds the expected line by searching the text it wrote, so the expectations do
not depend on the shipped files' layout.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from clearance import PolicyError, Problem, decide_json, read_policy, snapshot


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in ``path`` by ``new``."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    """The 1-based number of the one line of ``path`` that contains ``needle`` (a final newline
    in ``needle`` anchors it at the end of the line)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    found = [n for n, line in enumerate(lines, 1) if needle in line]
    assert len(found) == 1, f"{needle!r} is on lines {found} of {path.name}"
    return found[0]


def index_of(path: Path, section: str, item_id: str) -> int:
    """Position of the item ``item_id`` in the list ``section`` of ``path``."""
    items = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)[section]
    return [item["id"] for item in items].index(item_id)


def problems(root: Path) -> list[Problem]:
    with pytest.raises(PolicyError) as caught:
        read_policy(root)
    found = caught.value.problems
    assert found, "a PolicyError must list at least one problem"
    for p in found:  # every problem is also in the error's text, located
        assert str(p) in str(caught.value)
    return found


def assert_reported(found: list[Problem], file: str, line: int, field: str, *words: str) -> Problem:
    """One of ``found`` is at ``file``:``line`` on ``field`` and its message has every word."""
    for p in found:
        if (p.file, p.line, p.field) == (file, line, field) and all(w in p.message for w in words):
            assert str(p).startswith(f"{file}:{line}: ")
            return p
    raise AssertionError(f"no problem at {file}:{line} {field} with {words}; got:\n" + "\n".join(map(repr, found)))


def test_the_unbroken_copy_reads(bundle_dir):
    assert read_policy(bundle_dir) == read_policy()


# --- one problem at a time -----------------------------------------------------------------------


def test_a_yaml_syntax_error_gives_its_line(bundle_dir):
    path = bundle_dir / "entities.yaml"
    edit(path, "    name: National Security Agency\n", "    name: National Security: Agency\n")
    found = problems(bundle_dir)
    assert_reported(found, "entities.yaml", line_of(path, "National Security: Agency"), "", "YAML")


def test_an_unknown_key_is_an_error_not_ignored(bundle_dir):
    path = bundle_dir / "entities.yaml"
    edit(path, "    name: National Security Agency\n", "    name: National Security Agency\n    colour: blue\n")
    i = index_of(path, "entities", "nsa")
    assert_reported(
        problems(bundle_dir), "entities.yaml", line_of(path, "colour: blue"), f"entities[{i}].colour", "unknown"
    )


def test_an_unknown_top_level_section_is_an_error(bundle_dir):
    path = bundle_dir / "zz-extra.yaml"
    path.write_text("# extra rules\nlicences:\n  - id: LIC-1\n", encoding="utf-8")
    assert_reported(problems(bundle_dir), "zz-extra.yaml", 2, "licences", "unknown")


@pytest.mark.parametrize(
    ("file", "old", "new", "needle", "section", "item", "field"),
    [
        (
            "authorizations.yaml",
            "covers: {designations: [annex-a], model_developer: true}",
            "covers: {designations: [annex-a], model_developer: maybe}",
            "model_developer: maybe",
            "authorizations",
            "annex-a",
            "covers.model_developer",
        ),
        (
            "entities.yaml",
            "facts: {cmmc_level: 1, conduct_commitment: true, audit_access: true}",
            "facts: [cmmc_level, conduct_commitment]",
            "facts: [cmmc_level, conduct_commitment]",
            "entities",
            "contoso-bank",
            "facts",
        ),
        (
            "entities.yaml",
            "    named_use_cases: [medical-diagnostics]\n",
            "    named_use_cases: {medical-diagnostics: true}\n",
            "named_use_cases: {medical-diagnostics: true}",
            "entities",
            "vector-institute",
            "named_use_cases",
        ),
        (
            "use-cases.yaml",
            "    prohibited: true\n",
            "    prohibited: sometimes\n",
            "prohibited: sometimes",
            "use_case_classes",
            "prohibited",
            "prohibited",
        ),
        (
            "entities.yaml",
            "    restriction:\n      status: listed\n",
            "    restriction:\n      status: rumoured\n",
            "status: rumoured",
            "entities",
            "qihoo-360",
            "restriction.status",
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_located(bundle_dir, file, old, new, needle, section, item, field):
    path = bundle_dir / file
    edit(path, old, new)
    i = index_of(path, section, item)
    assert_reported(problems(bundle_dir), file, line_of(path, needle), f"{section}[{i}].{field}")


@pytest.mark.parametrize(
    ("old", "new", "needle", "auth", "field", "word"),
    [
        (
            "valid: {from: 2026-06-26T00:00:00-04:00, until: 2026-09-30T23:59:59-04:00}",
            "valid: {from: 2026-06-26T00:00:00, until: 2026-09-30T23:59:59-04:00}",
            "from: 2026-06-26T00:00:00,",
            "LIC-2026-0042",
            "valid.from",
            "offset",
        ),
        (
            "valid: {from: 2026-06-27T00:00:00-04:00, until: 2026-12-31T23:59:59-05:00}",
            "valid: {from: 2026-06-27T00:00:00-04:00, until: 2026-12-31T23:59:59}",
            "until: 2026-12-31T23:59:59}",
            "trusted-foreign-research",
            "valid.until",
            "offset",
        ),
        (
            "        from: 2026-07-20T09:00:00-04:00\n",
            "        from: 2026-07-20\n",
            "from: 2026-07-20\n",
            "trusted-foreign-research",
            "suspensions[0].from",
            "offset",
        ),
        (
            "valid: {from: 2026-06-26T00:00:00-04:00, until: 2026-09-30T23:59:59-04:00}",
            "valid: {from: 2026-06-26T00:00:00-04:00, until: 2026-09-31T23:59:59-04:00}",
            "until: 2026-09-31T23:59:59-04:00",
            "LIC-2026-0042",
            "valid.until",
            "2026-09-31",
        ),
        (
            "valid: {from: 2026-06-26T00:00:00-04:00, until: 2026-09-30T23:59:59-04:00}",
            "valid: {from: 2026-06-26T00:00:00.0000000001-04:00, until: 2026-09-30T23:59:59-04:00}",
            "from: 2026-06-26T00:00:00.0000000001-04:00",
            "LIC-2026-0042",
            "valid.from",
            "precision",
        ),
    ],
)
def test_a_bad_instant_is_located(bundle_dir, old, new, needle, auth, field, word):
    path = bundle_dir / "authorizations.yaml"
    edit(path, old, new)
    i = index_of(path, "authorizations", auth)
    assert_reported(
        problems(bundle_dir), "authorizations.yaml", line_of(path, needle), f"authorizations[{i}].{field}", word
    )


def test_a_naive_directive_instant_is_located(bundle_dir):
    path = bundle_dir / "models.yaml"
    edit(path, "    at: 2026-06-12T00:00:00-04:00\n", "    at: 2026-06-12T00:00:00\n")
    i = index_of(path, "directives", "D-2026-06-12")
    found = problems(bundle_dir)
    assert_reported(found, "models.yaml", line_of(path, "at: 2026-06-12T00:00:00\n"), f"directives[{i}].at", "offset")


@pytest.mark.parametrize(
    ("old", "new", "needle", "auth", "field", "unknown"),
    [
        (
            "    models: [gpt-5.6-terra]\n",
            "    models: [gpt-5.6-terra, gpt-5.6-tera]\n",
            "gpt-5.6-tera]",
            "LIC-2026-0051",
            "models[1]",
            "gpt-5.6-tera",
        ),
        (
            "    covers: {entities: [vector-institute, preferred-networks, deepmind-uk]}\n",
            "    covers: {entities: [vector-institute, preferred-network, deepmind-uk]}\n",
            "preferred-network,",
            "trusted-foreign-research",
            "covers.entities[1]",
            "preferred-network",
        ),
        (
            "      deemed: {groups: [allies]}\n",
            "      deemed: {groups: [alies]}\n",
            "groups: [alies]",
            "trusted-foreign-research",
            "destinations.deemed.groups[0]",
            "alies",
        ),
        (
            "      deemed: {any: true, except_groups: [embargoed]}\n",
            "      deemed: {any: true, except_groups: [embargo]}\n",
            "except_groups: [embargo]",
            "annex-a",
            "destinations.deemed.except_groups[0]",
            "embargo",
        ),
        (
            "    use_cases: {use_cases: [financial-risk-management, general]}\n",
            "    use_cases: {use_cases: [financial-risk-managment, general]}\n",
            "financial-risk-managment",
            "LIC-2026-0051",
            "use_cases.use_cases[0]",
            "financial-risk-managment",
        ),
        (
            "    use_cases: {classes: [ordinary], entity_named: true}\n",
            "    use_cases: {classes: [ordinary, extraordinary], entity_named: true}\n",
            "extraordinary",
            "annex-a",
            "use_cases.classes[1]",
            "extraordinary",
        ),
        (
            "        entity: preferred-networks\n",
            "        entity: preferred-networx\n",
            "entity: preferred-networx",
            "trusted-foreign-research",
            "suspensions[0].entity",
            "preferred-networx",
        ),
    ],
)
def test_a_dangling_reference_is_located(bundle_dir, old, new, needle, auth, field, unknown):
    path = bundle_dir / "authorizations.yaml"
    edit(path, old, new)
    i = index_of(path, "authorizations", auth)
    found = problems(bundle_dir)
    assert_reported(found, "authorizations.yaml", line_of(path, needle), f"authorizations[{i}].{field}", f"`{unknown}`")


def test_dangling_references_in_models_and_directives_are_located(bundle_dir):
    path = bundle_dir / "models.yaml"
    edit(path, "      - {model: fable-5, state: suspended}\n", "      - {model: fable-6, state: suspended}\n")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    developer: anthropic\n", "    developer: anthropic-pbc\n", 1), encoding="utf-8")
    found = problems(bundle_dir)
    d = index_of(path, "directives", "D-2026-06-12")
    assert_reported(found, "models.yaml", line_of(path, "fable-6"), f"directives[{d}].effects[1].model", "`fable-6`")
    m = index_of(path, "models", "mythos-5")
    assert_reported(found, "models.yaml", line_of(path, "anthropic-pbc"), f"models[{m}].developer", "`anthropic-pbc`")


def test_a_duplicate_id_in_another_file_is_located_in_both(bundle_dir):
    original = bundle_dir / "entities.yaml"
    extra = bundle_dir / "zz-more-entities.yaml"
    extra.write_text(
        "# entities added later\nentities:\n  - id: acme\n    country: US\n    kind: company\n"
        "  - id: nsa\n    name: No Such Agency\n    country: US\n    kind: government\n",
        encoding="utf-8",
    )
    found = problems(bundle_dir)
    p = assert_reported(found, "zz-more-entities.yaml", line_of(extra, "id: nsa"), "entities[1].id", "`nsa`")
    assert f"entities.yaml:{line_of(original, 'id: nsa')}" in p.message
    assert len(found) == 1, found


def test_a_duplicate_authorization_id_across_files_is_located(bundle_dir):
    extra = bundle_dir / "zz-licences.yaml"
    extra.write_text(
        "authorizations:\n"
        "  - id: LIC-2026-0099\n    kind: individual-licence\n    models: [gpt-5.6-luna]\n"
        "    valid: {from: 2026-07-01T00:00:00Z}\n    covers: {entities: [amazon]}\n    use_cases: {use_cases: [general]}\n"
        "  - id: annex-a\n    kind: individual-licence\n    models: [gpt-5.6-luna]\n"
        "    valid: {from: 2026-07-01T00:00:00Z}\n    covers: {entities: [amazon]}\n    use_cases: {use_cases: [general]}\n",
        encoding="utf-8",
    )
    found = problems(bundle_dir)
    p = assert_reported(found, "zz-licences.yaml", line_of(extra, "id: annex-a"), "authorizations[1].id", "`annex-a`")
    assert "authorizations.yaml:" in p.message


def test_a_cycle_of_country_groups_is_located(bundle_dir):
    path = bundle_dir / "countries.yaml"
    edit(path, "    countries: [CU, IR, KP, SY]\n", "    countries: [CU, IR, KP, SY]\n    includes: [concern]\n")
    found = problems(bundle_dir)
    # Either group of the cycle may carry the problem, at its own `includes` line.
    lines = {
        f"country_groups[{index_of(path, 'country_groups', 'embargoed')}].includes": line_of(
            path, "includes: [concern]"
        ),
        f"country_groups[{index_of(path, 'country_groups', 'concern')}].includes": line_of(
            path, "includes: [embargoed]"
        ),
    }
    cycles = [p for p in found if p.file == "countries.yaml" and p.field in lines and p.line == lines[p.field]]
    assert cycles, found
    assert "embargoed" in cycles[0].message and "concern" in cycles[0].message


def test_a_group_including_itself_is_a_cycle(bundle_dir):
    path = bundle_dir / "countries.yaml"
    edit(path, "    includes: [embargoed]\n", "    includes: [embargoed, concern]\n")
    i = index_of(path, "country_groups", "concern")
    assert_reported(
        problems(bundle_dir),
        "countries.yaml",
        line_of(path, "includes: [embargoed, concern]"),
        f"country_groups[{i}].includes",
        "concern",
    )


def test_a_validity_ending_before_it_starts_is_located(bundle_dir):
    path = bundle_dir / "authorizations.yaml"
    edit(
        path,
        "valid: {from: 2026-06-27T00:00:00-04:00, until: 2026-12-31T23:59:59-05:00}",
        "valid: {from: 2026-06-27T00:00:00-04:00, until: 2026-06-27T03:59:59Z}",
    )
    i = index_of(path, "authorizations", "trusted-foreign-research")
    assert_reported(
        problems(bundle_dir),
        "authorizations.yaml",
        line_of(path, "until: 2026-06-27T03:59:59Z"),
        f"authorizations[{i}].valid.until",
        "before",
    )


def test_a_validity_of_one_instant_is_accepted(bundle_dir):
    # Both ends are inclusive, so from == until (written with two offsets) is a valid range.
    path = bundle_dir / "authorizations.yaml"
    edit(
        path,
        "valid: {from: 2026-06-27T00:00:00-04:00, until: 2026-12-31T23:59:59-05:00}",
        "valid: {from: 2026-06-27T00:00:00-04:00, until: 2026-06-27T04:00:00Z}",
    )
    read_policy(bundle_dir)


def test_a_suspension_ending_before_it_starts_is_located(bundle_dir):
    path = bundle_dir / "authorizations.yaml"
    edit(
        path,
        "        from: 2026-07-20T09:00:00-04:00\n",
        "        from: 2026-07-20T09:00:00-04:00\n        until: 2026-07-20T08:59:59-04:00\n",
    )
    i = index_of(path, "authorizations", "trusted-foreign-research")
    assert_reported(
        problems(bundle_dir),
        "authorizations.yaml",
        line_of(path, "until: 2026-07-20T08:59:59-04:00"),
        f"authorizations[{i}].suspensions[0].until",
        "before",
    )


def test_a_declared_tier_contradicting_its_evidence_is_located(bundle_dir):
    path = bundle_dir / "models.yaml"
    edit(
        path,
        "  - id: gpt-5.6-sol\n    name: GPT-5.6 Sol\n",
        "  - id: gpt-5.6-sol\n    name: GPT-5.6 Sol\n    tier: S-2\n",
    )
    i = index_of(path, "models", "gpt-5.6-sol")
    found = problems(bundle_dir)
    p = assert_reported(found, "models.yaml", line_of(path, "tier: S-2"), f"models[{i}].tier", "S-2")
    assert "S-3" in p.message  # what the evidence gives


def test_a_declared_tier_agreeing_with_its_evidence_is_accepted(bundle_dir):
    path = bundle_dir / "models.yaml"
    edit(
        path,
        "  - id: gpt-5.6-sol\n    name: GPT-5.6 Sol\n",
        "  - id: gpt-5.6-sol\n    name: GPT-5.6 Sol\n    tier: S-3\n",
    )
    read_policy(bundle_dir)


# --- every problem at once ------------------------------------------------------------------------


def test_independent_schema_errors_in_several_files_are_all_reported(bundle_dir):
    entities, auths, models, countries = (
        bundle_dir / f for f in ("entities.yaml", "authorizations.yaml", "models.yaml", "countries.yaml")
    )
    edit(entities, "    name: National Security Agency\n", "    name: National Security Agency\n    colour: blue\n")
    edit(entities, "    named_use_cases: [medical-diagnostics]\n", "    named_use_cases: {medical-diagnostics: true}\n")
    edit(
        auths,
        "covers: {designations: [annex-a], model_developer: true}",
        "covers: {designations: [annex-a], model_developer: maybe}",
    )
    edit(models, "    at: 2026-06-12T00:00:00-04:00\n", "    at: 2026-06-12T00:00:00\n")
    edit(countries, "    name: Countries of concern\n", "    name: Countries of concern\n    colour: red\n")
    found = problems(bundle_dir)
    assert_reported(
        found,
        "entities.yaml",
        line_of(entities, "colour: blue"),
        f"entities[{index_of(entities, 'entities', 'nsa')}].colour",
    )
    assert_reported(
        found,
        "entities.yaml",
        line_of(entities, "{medical-diagnostics: true}"),
        f"entities[{index_of(entities, 'entities', 'vector-institute')}].named_use_cases",
    )
    assert_reported(
        found,
        "authorizations.yaml",
        line_of(auths, "model_developer: maybe"),
        f"authorizations[{index_of(auths, 'authorizations', 'annex-a')}].covers.model_developer",
    )
    assert_reported(
        found,
        "models.yaml",
        line_of(models, "at: 2026-06-12T00:00:00\n"),
        f"directives[{index_of(models, 'directives', 'D-2026-06-12')}].at",
    )
    assert_reported(
        found,
        "countries.yaml",
        line_of(countries, "colour: red"),
        f"country_groups[{index_of(countries, 'country_groups', 'concern')}].colour",
    )
    assert len(found) == 5, found


def test_a_syntax_error_does_not_hide_errors_in_other_files(bundle_dir):
    entities, auths = bundle_dir / "entities.yaml", bundle_dir / "authorizations.yaml"
    edit(entities, "    name: National Security Agency\n", "    name: National Security: Agency\n")
    edit(
        auths,
        "covers: {designations: [annex-a], model_developer: true}",
        "covers: {designations: [annex-a], model_developer: maybe}",
    )
    found = problems(bundle_dir)
    assert_reported(found, "entities.yaml", line_of(entities, "National Security: Agency"), "")
    assert_reported(
        found,
        "authorizations.yaml",
        line_of(auths, "model_developer: maybe"),
        f"authorizations[{index_of(auths, 'authorizations', 'annex-a')}].covers.model_developer",
    )


def test_independent_reference_errors_are_all_reported(bundle_dir):
    auths, countries, models = (
        bundle_dir / "authorizations.yaml",
        bundle_dir / "countries.yaml",
        bundle_dir / "models.yaml",
    )
    edit(auths, "    models: [gpt-5.6-terra]\n", "    models: [gpt-5.6-tera]\n")
    edit(auths, "      deemed: {groups: [allies]}\n", "      deemed: {groups: [alies]}\n")
    edit(
        auths,
        "valid: {from: 2026-06-27T00:00:00-04:00, until: 2026-12-31T23:59:59-05:00}",
        "valid: {from: 2026-06-27T00:00:00-04:00, until: 2026-06-01T00:00:00-04:00}",
    )
    edit(countries, "    countries: [CU, IR, KP, SY]\n", "    countries: [CU, IR, KP, SY]\n    includes: [concern]\n")
    edit(
        models,
        "  - id: gpt-5.6-sol\n    name: GPT-5.6 Sol\n",
        "  - id: gpt-5.6-sol\n    name: GPT-5.6 Sol\n    tier: S-4\n",
    )
    (bundle_dir / "zz-more-entities.yaml").write_text(
        "entities:\n  - {id: stripe, country: US, kind: company}\n", encoding="utf-8"
    )
    found = problems(bundle_dir)
    a = lambda item: index_of(auths, "authorizations", item)  # noqa: E731
    assert_reported(
        found,
        "authorizations.yaml",
        line_of(auths, "[gpt-5.6-tera]"),
        f"authorizations[{a('LIC-2026-0051')}].models[0]",
        "`gpt-5.6-tera`",
    )
    assert_reported(
        found,
        "authorizations.yaml",
        line_of(auths, "[alies]"),
        f"authorizations[{a('trusted-foreign-research')}].destinations.deemed.groups[0]",
        "`alies`",
    )
    assert_reported(
        found,
        "authorizations.yaml",
        line_of(auths, "until: 2026-06-01"),
        f"authorizations[{a('trusted-foreign-research')}].valid.until",
    )
    assert any(p.file == "countries.yaml" and p.field.endswith(".includes") for p in found), found
    assert_reported(
        found, "models.yaml", line_of(models, "tier: S-4"), f"models[{index_of(models, 'models', 'gpt-5.6-sol')}].tier"
    )
    assert_reported(found, "zz-more-entities.yaml", 2, "entities[0].id", "`stripe`")
    assert len(found) == 6, found


# --- YAML 1.1 traps ------------------------------------------------------------------------------


def test_norway_stays_a_country_code(example_policy):
    allies = next(g for g in example_policy.country_groups if g.id == "allies")
    assert "NO" in allies.countries
    assert all(isinstance(c, str) for g in example_policy.country_groups for c in g.countries)


def test_norway_in_any_spelling_is_a_country_not_a_boolean(bundle_dir):
    path = bundle_dir / "entities.yaml"
    path.write_text(
        path.read_text(encoding="utf-8")
        + "  - {id: equinor, name: Equinor ASA, country: NO, kind: company}\n"
        + "  - {id: telenor, name: Telenor ASA, country: no, kind: company}\n",
        encoding="utf-8",
    )
    countries = bundle_dir / "countries.yaml"
    edit(countries, "    countries: [CU, IR, KP, SY]\n", "    countries: [CU, IR, KP, SY, No]\n")
    policy = read_policy(bundle_dir)
    by_id = {e.id: e for e in policy.entities}
    assert by_id["equinor"].country == "NO" and by_id["telenor"].country == "NO"
    embargoed = next(g for g in policy.country_groups if g.id == "embargoed")
    assert "NO" in embargoed.countries and False not in embargoed.countries
    request = {
        "model": "mythos-5",
        "entity": "stripe",
        "person": {"citizenships": ["US"], "location": "NO"},
        "use_case": "general",
        "at": "2026-07-01T12:00:00Z",
    }
    assert decide_json(snapshot(policy), request).code == "destination-embargoed"


def test_a_norwegian_location_is_an_ally_in_the_example(example_snapshot):
    request = {
        "model": "mythos-5",
        "entity": "stripe",
        "person": {"citizenships": ["US"], "location": "NO"},
        "use_case": "general",
        "at": "2026-07-01T12:00:00Z",
    }
    decision = decide_json(example_snapshot, request).to_dict()
    assert (decision["outcome"], decision["authorization"], decision["destinations"]) == ("permit", "annex-a", ["NO"])


def test_an_alias_bomb_is_a_located_problem_not_a_hang(bundle_dir):
    laughs = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    laughs += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    (bundle_dir / "entities.yaml").write_text("\n".join(laughs) + "\n")
    found = problems(bundle_dir)
    assert any(p.file == "entities.yaml" and "expands to more than" in p.message for p in found), found


@pytest.mark.parametrize("depth", [100, 5000])
def test_deep_nesting_is_a_located_problem_not_a_recursion_error(bundle_dir, depth):
    (bundle_dir / "entities.yaml").write_text("entities: " + "[" * depth + "]" * depth + "\n")
    found = problems(bundle_dir)
    assert any(p.file == "entities.yaml" and "nested" in p.message for p in found), found
