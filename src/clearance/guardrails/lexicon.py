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
}


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


def families(tokens: list[str]) -> set[str]:
    """The families with an entry among ``tokens`` (the words of a normalized text, in order)."""
    found = {f for f in map(_word, set(tokens)) if f}
    for a, b in zip(tokens, tokens[1:], strict=False):
        if a in _PHRASES:
            hit = _phrase(a, b)
            if hit:
                found.add(hit)
    return found
