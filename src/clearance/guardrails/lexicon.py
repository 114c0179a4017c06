"""Harm-concept families: prior knowledge the linear heads may weigh, one feature per family.

The public sets have thousands of harmful requests but few ordinary benign prompts, so a
model over words alone learns the benchmarks' phrasing ("how can i", "write a") instead of
what makes a request harmful. A family fires when one of its entries occurs, and its weight
is learned like any other feature, so a family that does not separate harmful from benign
gets little weight. The entries were written from general knowledge of content-policy
categories, not from the evaluation rows.

An entry is a word, a word with ``*`` (any word starting so), or two words (a phrase, each
part may end in ``*``). Matching is per token and per word pair, cached per token, so it
costs a few dictionary lookups per word whatever the number of entries.
"""

from __future__ import annotations

from functools import lru_cache

FAMILIES: dict[str, str] = {
    "weapons": "bomb bombs explosive* detonat* grenade* firearm* gun guns rifle* ammunition ammo silencer* molotov "
               "ied napalm pipe_bomb ghost_gun untraceable_gun* untraceable_weapon* homemade_weapon*",
    "drugs": "meth methamphetamine cocaine heroin fentanyl opioid* narcotic* lsd mdma ecstasy crack_cocaine "
             "drug_dealer* illegal_drug* controlled_substance* precursor*",
    "cyber": "hack* malware ransomware keylogger* botnet* ddos exploit* backdoor* phishing spyware trojan* rootkit* "
             "sql_injection brute_force zero-day steal_data steal_credentials steal_password* crack_password*",
    "fraud": "fraud* scam* counterfeit* launder* forge forged forgery forging fake_id* fake_review* fake_document* "
             "ponzi embezzl* insider_trading tax_evasion evade_tax* identity_theft credit_card* stolen_card*",
    "violence": "kill* murder* assassinat* tortur* kidnap* maim stab stabbing strangl* massacre* mass_shooting "
                "shoot_up hurt_someone hurt_people beat_up violent* attack_people",
    "crime": "steal* stole stolen shoplift* robbery rob burglar* break_into smuggl* traffick* illegal* unlawful* "
             "getting_caught get_caught avoid_detection evade_police undetected untraceable blackmail* extort* "
             "bribe* vandal* arson",
    "hate": "racis* sexis* slur slurs inferior subhuman hate_speech hateful bigot* xenophob* homophob* antisemit* "
            "supremacis* nazi nazis ethnic_cleansing genocide stereotyp* discriminat*",
    "harass": "harass* bully* stalk* humiliat* threaten* intimidat* dox* revenge_porn insult* defam* cyberbully* "
              "troll*",
    "sexual": "sex sexual* sexy porn* explicit nude* naked erotic* fetish* orgasm* genital* prostitut* escort*",
    "self_harm": "suicid* self-harm cut_myself kill_myself end_my overdose starv* anorexi* bulimi*",
    "privacy": "home_address phone_number social_security ssn personal_information private_information "
               "medical_record* track_someone spy_on surveil* without_consent their_knowledge",
    "extremism": "terroris* extremis* jihad* radicali* isis al-qaeda manifesto*",
    "chemistry": "poison* toxin* toxic_gas nerve_agent* sarin vx ricin cyanide mustard_gas chlorine_gas anthrax "
                 "bioweapon* biological_weapon* chemical_weapon* pathogen* lethal_dose radioactive dirty_bomb",
    "deception": "disinformation misinformation propaganda fake_news conspiracy hoax mislead* manipulat* deceiv* "
                 "deceptive impersonat* pretend_to",
    "groups": "black_people blacks asian* muslim* jew* jewish arab* mexican* hispanic* latino* immigrant* refugee* "
              "gay gays lesbian* transgender* trans_people disabled indigenous middle_eastern african* chinese_people "
              "women_are men_are old_people elderly_people fat_people poor_people minorit* race races ethnic* "
              "religio* christian* hindu* catholic* democrats republicans liberals conservatives",
    "slurs": "stupid dumb idiot* moron* lazy ugly disgusting unintelligent inferior_to worthless savage* criminals "
             "derogatory offensive_joke* racist_joke* make_fun annoying pathetic loser* trash",
    "private_data": "address addresses passport* password* login* credentials salary income tax_return* bank_account* "
                    "email_address medical_history diagnos* report_card* criminal_record* whereabouts location "
                    "residential private_email personal_details dna_data biometric* fingerprint*",
    "secrets": "confidential undisclosed leaked leak* internal_policy internal_documents proprietary classified "
               "trade_secret* insider secret_plan* unreleased contingency_plan* standing_orders",
}

#: Whom a harmful act is done to: with a violence, crime, harassment or chemistry word just before
#: it (stopwords skipped), ``x:harm_person`` fires ("kill a person", not "kill a process").
_PEOPLE = (
    "person people someone somebody human humans man men woman women child children kid kids baby babies boy "
    "girl wife husband girlfriend boyfriend ex neighbor neighbour neighbors neighbours boss coworker colleague "
    "teacher student classmate friend friends family parent parents mother father mom dad brother sister "
    "stranger strangers victim victims date president senator politician police officer cop cops crowd "
    "someone's people's him her them myself yourself herself himself")
PEOPLE = frozenset(_PEOPLE.split())
ACTS = frozenset({"violence", "crime", "harass", "chemistry", "weapons"})
#: Words skipped when pairing content words ("kill a person" gives the pair "kill person").
_STOPWORDS = (
    "a an the my your his her their our its this that these those some any of to in on at for with from by "
    "about into and or i me you it is are was were be been do does did can could would should will shall "
    "how what which who whom whose where when why just really best good way ways")
STOPWORDS = frozenset(_STOPWORDS.split())


def _tables() -> tuple[dict[str, str], tuple[tuple[str, str], ...], dict[str, tuple[tuple[str, str], ...]]]:
    exact: dict[str, str] = {}
    stems: list[tuple[str, str]] = []
    phrases: dict[str, list[tuple[str, str]]] = {}
    for family, entries in FAMILIES.items():
        for entry in entries.split():
            if "_" in entry:
                first, _, second = entry.partition("_")
                phrases.setdefault(first, []).append((second, family))
            elif entry.endswith("*"):
                stems.append((entry[:-1], family))
            else:
                exact[entry] = family
    return exact, tuple(stems), {k: tuple(v) for k, v in phrases.items()}


_EXACT, _STEMS, _PHRASES = _tables()


@lru_cache(maxsize=65536)
def _word(token: str) -> str | None:
    found = _EXACT.get(token)
    if found is None:
        for stem, family in _STEMS:
            if token.startswith(stem):
                return family
    return found


def _phrase(first: str, second: str) -> str | None:
    for pattern, family in _PHRASES[first]:
        if second == pattern or (pattern.endswith("*") and second.startswith(pattern[:-1])):
            return family
    return None


def _harm_before(tokens: list[str], person: str) -> bool:
    """Whether a harmful act is the content word just before some occurrence of ``person``."""
    at = tokens.index(person)
    while True:
        j = at - 1
        while j >= 0 and tokens[j] in STOPWORDS:
            j -= 1
        if j >= 0 and _word(tokens[j]) in ACTS:
            return True
        try:
            at = tokens.index(person, at + 1)
        except ValueError:
            return False


def families(tokens: list[str]) -> set[str]:
    """The families with an entry among ``tokens`` (the words of a normalized text, in order)."""
    found = {f for f in map(_word, set(tokens)) if f}
    for a, b in zip(tokens, tokens[1:], strict=False):
        if a in _PHRASES:
            hit = _phrase(a, b)
            if hit:
                found.add(hit)
    if not ACTS.isdisjoint(found) and "harm_person" not in found:
        for person in PEOPLE.intersection(tokens):  # each place a person is named: the content word before it
            if _harm_before(tokens, person):
                found.add("harm_person")
                break
    return found
