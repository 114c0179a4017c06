"""Normalization, candidates and scores: variant spellings caught, unrelated names left alone, every hit explained."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.screening.evidence import Evidence
from clearance.screening.index import NameIndex, token_similarity
from clearance.screening.lists import ListEntry
from clearance.screening.match import MATCH, NO_MATCH, POSSIBLE, Matcher, Thresholds
from clearance.screening.normalize import country_code, fold, name_tokens, skeleton

ENTRIES = [
    ListEntry("EL:1", "EL", "Entity List", "Afghan-German Construction Company", countries=("AF",)),
    ListEntry("OFAC:15268", "CAP", "Capta List", "BANK OF KUNLUN CO LTD", "entity", ("KARAMAY CITY COMMERCIAL BANK",), ("CN",)),
    ListEntry("OFAC:35490", "SDN", "SDN", "TSUNAEVA, Elena Moiseevna", "individual", countries=("RU",)),
    ListEntry("OFAC:2", "SDN", "SDN", "MUHJAT ALQUDS FOUNDATION", "entity", countries=("PS",)),
    ListEntry("OFAC:3", "SDN", "SDN", "MOHAMMED AL-HASSAN TRADING", "entity", countries=("AE",)),
    ListEntry("EL:4", "EL", "Entity List", "Joint Stock Company Zvezdochka Shipyard", countries=("RU",)),
    ListEntry("EL:5", "EL", "Entity List", "Vista Optics", countries=("CN",)),
]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(NameIndex(ENTRIES), Thresholds())


def test_names_fold_to_tokens_without_case_punctuation_scripts_or_legal_forms():
    assert name_tokens("BANK OF KUNLUN CO., LTD.") == ("bank", "kunlun")
    assert name_tokens("Tose'e Ta’avon Bank") == ("tosee", "taavon", "bank")
    assert name_tokens("Анинский Элеватор ООО") == ("aninskiy", "elevator")
    assert name_tokens("Société Générale S.A.") == ("societe", "generale")
    assert name_tokens("OPEN JOINT STOCK COMPANY CHAYKA") == ("chayka",)
    assert name_tokens("Open Society Foundations") == ("open", "society", "foundation")
    assert name_tokens("I.B.M. Intl Corp") == ("ibm", "international")
    assert name_tokens("Grupo Carhern, S.A. de C.V.") == ("grupo", "carhern")
    assert name_tokens("The Company") == ("the", "company")  # only legal and filler words: kept as written
    assert name_tokens("...") == ()
    assert fold("Ｔｏｋｙｏ  Ｅｌｅｃｔｒｏｎ") == "tokyo electron"
    assert skeleton("mohammed") == skeleton("muhammad")
    assert country_code("United Kingdom") == "GB" and country_code("cn") == "CN" and country_code("Atlantis") is None


def test_token_similarity_forgives_typos_in_long_words_only():
    assert token_similarity("construction", "constrcution") >= 0.9
    assert token_similarity("visa", "vista") < 0.84
    assert token_similarity("li", "lu") == 0.0
    assert token_similarity("mohammed", "muhammad") >= 0.8


@pytest.mark.parametrize(("query", "uid"), [
    ("Afghan German Construction Co", "EL:1"),          # punctuation, legal form
    ("Construction Company Afghan-German", "EL:1"),     # reordered
    ("Afgan German Constrution Company", "EL:1"),       # typos
    ("Kunlun Bank Limited", "OFAC:15268"),              # reordered, legal form changed
    ("Karamay City Commercial Bank", "OFAC:15268"),     # an alias
    ("Elena Moiseevna Tsunaeva", "OFAC:35490"),         # SURNAME, Given written Given Surname
    ("Muhjat Al-Quds Foundation", "OFAC:2"),            # split word
    ("Muhammad Al Hassan Trading LLC", "OFAC:3"),       # transliteration
    ("АО Звездочка Шипярд", "EL:4"),                    # Cyrillic
])
def test_variant_spellings_of_listed_names_are_caught(matcher, query, uid):
    result = matcher.screen(query)
    assert result.outcome in (MATCH, POSSIBLE), result
    assert result.best is not None and result.best.entry.uid == uid


@pytest.mark.parametrize("query", ["Vista Outdoor", "Anthropic PBC", "Bank of America", "Elena Petrova", "Construction Partners"])
def test_other_names_are_not_flagged(matcher, query):
    assert matcher.screen(query).outcome == NO_MATCH


def test_every_hit_explains_itself(matcher):
    hit = matcher.screen("Kunlun Bank", ["CN"]).best
    assert hit is not None
    explained = hit.to_dict()
    assert explained["entry"]["uid"] == "OFAC:15268" and explained["entry"]["list"] == "CAP"
    assert explained["matched_name"] == "BANK OF KUNLUN CO LTD" and not explained["matched_alias"]
    assert explained["agreed"] == ["name", "country CN"] and explained["disagreed"] == []
    assert {t["query"]: t["list"] for t in explained["tokens"]} == {"kunlun": "kunlun", "bank": "bank"}
    assert "Capta" not in hit.summary() and "OFAC:15268" in hit.summary()
    alias = matcher.screen("Karamay City Commercial Bank").best
    assert alias is not None and alias.alias and alias.matched_name == "KARAMAY CITY COMMERCIAL BANK"


def test_country_and_kind_are_supporting_evidence(matcher):
    same = matcher.screen("Kunlun Bank", ["CN"]).best
    other = matcher.screen("Kunlun Bank", ["US"]).best
    assert same is not None and other is not None and same.score > other.score
    assert other.disagreed == ("country (US vs CN)",)
    # Both sides state kinds that cannot be one party: strong contrary evidence, no hit at all.
    assert matcher.screen("Bank of Kunlun", kind="individual").outcome == NO_MATCH
    hit = matcher._score(name_tokens("Bank of Kunlun"), 1, Evidence.of("Bank of Kunlun", kind="individual"), {})
    assert any(d.startswith("kind") for d in hit.disagreed) and hit.score < matcher.thresholds.possible


def test_thresholds_decide_the_outcome():
    strict = Matcher(NameIndex(ENTRIES), Thresholds(match=0.999, possible=0.99))
    assert strict.screen("Afgan German Constrution Company").outcome == NO_MATCH
    assert strict.screen("Afghan German Construction").outcome == MATCH


WORDS = st.sampled_from(["Afghan-German", "Construction", "Company", "Ltd", "LLC", "Co.", "GmbH", "the"])


@settings(max_examples=60, deadline=None)
@given(order=st.permutations(["Afghan-German", "Construction"]), suffix=st.sampled_from(["", "Ltd", "LLC", "Co.", "GmbH", "OOO", "JSC"]),
       upper=st.booleans())
def test_order_case_and_legal_suffixes_never_change_the_answer(matcher, order, suffix, upper):
    query = " ".join([*order, suffix]).strip()
    result = matcher.screen(query.upper() if upper else query)
    assert result.outcome == MATCH and result.best is not None and result.best.entry.uid == "EL:1"
    assert result.best.score == 1.0


@settings(max_examples=80, deadline=None)
@given(position=st.integers(min_value=1, max_value=10), letter=st.sampled_from("aeioustrnl"))
def test_one_typo_in_a_long_word_is_still_caught(matcher, position, letter):
    word = "Construction"
    typo = word[:position] + letter + word[position + 1:]
    result = matcher.screen(f"Afghan German {typo}")
    assert result.outcome != NO_MATCH and result.best is not None and result.best.entry.uid == "EL:1"


@settings(max_examples=60, deadline=None)
@given(name=st.text(min_size=0, max_size=40))
def test_any_text_gets_an_answer(matcher, name):
    result = matcher.screen(name)
    assert result.outcome in (MATCH, POSSIBLE, NO_MATCH)
    assert all(0.0 <= h.score <= 1.0 for h in result.hits)
