"""Names and countries reduced to the form they are compared in.

A name becomes a tuple of tokens: every script transliterated to ASCII
(``anyascii``), case folded, punctuation dropped, runs of single letters joined
(``S.A.`` and ``I.B.M.`` become one token), common abbreviations expanded,
plural endings stripped, and legal-form and filler words removed. The same
steps run on list names and on queries, so any choice made here is made
symmetrically: a crude rule merges variants but never makes one side unmatchable.

``skeleton`` is a coarse phonetic key (consonants after the first letter, with
letters that transliterations confuse mapped together) used only to find
candidates, never to score them.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from anyascii import anyascii
from rapidfuzz.distance import OSA

# Multi-word legal forms go first: their single words (``joint``, ``stock``) are not
# legal forms on their own.
LEGAL_PHRASES = (
    "public joint stock company", "open joint stock company", "closed joint stock company",
    "joint stock company", "joint stock", "limited liability company", "limited liability partnership",
    "limited liability", "public limited company", "private limited company", "private limited",
    "societe anonyme", "sociedad anonima", "sociedade anonima", "societa per azioni",
    "de capital variable", "sociedad de responsabilidad limitada", "sociedad limitada",
    "obshchestvo s ogranichennoi otvetstvennostiu", "obshchestvo s ogranichennoy otvetstvennostyu",
    "aktsionernoe obshchestvo", "aktsionernoye obshchestvo", "publichnoe aktsionernoe obshchestvo",
    "kabushiki kaisha", "sendirian berhad", "sdn bhd", "pte ltd", "pvt ltd", "pty ltd", "co ltd",
    "company limited", "gesellschaft mit beschrankter haftung",
)
LEGAL_WORDS = frozenset({
    "kompaniya", "kompaniia", "ltd", "limited", "co", "company", "companies", "corp", "corporation", "inc",
    "incorporated", "llc", "llp", "lp", "plc", "gmbh", "mbh", "ag", "kg", "ohg", "ooo", "oao", "zao", "pao", "ao",
    "jsc", "ojsc", "cjsc", "pjsc", "tov", "pp", "sa", "sas", "sarl", "srl", "spa", "sl", "bv", "nv", "ab", "oy",
    "oyj", "aps", "asa", "pte", "pty", "pvt", "private", "sdn", "bhd", "berhad", "kk", "gk", "yk", "cv", "sapi",
    "fzc", "fze", "fzco", "fzllc", "wll", "est", "sae", "sal", "sak", "ulc", "lc", "ltda", "eirl",
    "doo", "eood", "ood", "kft", "zrt", "sro", "tbk", "sab", "bvba", "sprl", "kgaa", "eurl", "snc",
})
# Words that are legal forms only beside another legal-form word ("Open Joint Stock Company",
# "Public Company Limited"), and otherwise part of a name ("Open Society", "Public Bank").
CONTEXT_LEGAL_WORDS = frozenset({
    "joint", "stock", "liability", "public", "open", "closed", "private", "obshchestvo", "aktsionernoe",
    "aktsionernoye", "otkrytoe", "zakrytoe", "ogranichennoi", "ogranichennoy", "otvetstvennostiu",
    "otvetstvennostyu", "publichnoe", "kompani", "tovarystvo", "s",
})
FUZZY_CONTEXT_WORDS = ("joint", "stock", "liability", "public", "closed", "obshchestvo", "aktsionernoe", "otkrytoe",
                       "aktsionernoye", "otkrytoye", "zakrytoye",
                       "zakrytoe", "publichnoe", "ogranichennoi", "ogranichennoy", "otvetstvennostiu",
                       "otvetstvennostyu")
# Long legal-form words are dropped even misspelt ("Limted", "Corporaton"): left in, a typo
# in a legal form would count as a rare word that the listed name lacks.
LONG_LEGAL_WORDS = tuple(w for w in LEGAL_WORDS | {"kompaniya", "kompaniia", "liability"} if len(w) >= 6)
FILLER_WORDS = frozenset({
    "the", "and", "of", "for", "de", "del", "la", "le", "les", "des", "du", "da", "do", "dos", "das", "y", "et", "und",
})
PERSONAL_TITLES = frozenset({
    "mr", "mrs", "ms", "miss", "dr", "prof", "professor", "sir", "dame", "sheikh", "shaykh", "shaikh", "haji",
    "hajji", "mullah", "mulla", "maulana", "jr", "junior", "sr", "senior",
})
ABBREVIATIONS = {
    "intl": "international", "int": "international", "natl": "national", "mfg": "manufacturing",
    "tech": "technology", "techn": "technology", "grp": "group", "ind": "industry", "inds": "industry",
    "eng": "engineering", "engg": "engineering", "svc": "service", "svcs": "service", "dev": "development",
    "assn": "association", "assoc": "association", "univ": "university", "inst": "institute",
    "sci": "science", "elec": "electronic", "bros": "brother", "ctr": "center", "centre": "center",
    "mgmt": "management", "dept": "department", "hldg": "holding", "hldgs": "holding", "invest": "investment",
    "petro": "petroleum", "chem": "chemical", "pharma": "pharmaceutical", "equip": "equipment",
    "sys": "system", "trdg": "trading", "imp": "import", "exp": "export", "gen": "general",
    "st": "saint", "mt": "mount", "ft": "fort", "shpg": "shipping", "nav": "navigation",
}
# The words an abbreviation stands for, with the abbreviations of four letters or more ("tech",
# "invest"): a typo in the abbreviation ("tceh", "inviest") is still that word.
ABBREVIATED = {}
for _short, _long in ABBREVIATIONS.items():
    if len(_short) >= 4:
        ABBREVIATED.setdefault(_long, []).append(_short)
# Legal forms of four letters or more, the ones a typo can be told from a word in ("cjsc", "gmbh");
# one letter off a three-letter form is too often a word ("wood"/"ood", "best"/"est").
_TYPO_LEGAL = tuple(sorted(w for w in LEGAL_WORDS if len(w) >= 4))
# Common romanizations of one Arabic (or Persian) name, each read as the first spelling, on both
# sides alike: the spellings differ by more than one edit ("mohamed"/"muhammad") or are too short
# for a typo to be forgiven ("ali"/"aly"), so similarity alone would not join them.
NAME_VARIANTS = {
    spelling: group[0]
    for group in (
        ("muhammad", "mohammed", "mohamed", "mohammad", "muhammed", "mohamad", "mohamud", "mohd", "muhamad",
         "mehmet", "mehmed", "mukhammad", "mukhammed", "magomed"),
        ("ahmad", "ahmed", "akhmad", "akhmed"), ("husayn", "hussein", "hussain", "husain", "hosein", "hossein",
                                                  "huseyin", "husein", "hossain"),
        ("hasan", "hassan"), ("yusuf", "youssef", "yousef", "yousif", "yusif", "yousuf", "yussuf", "josef"),
        ("umar", "omar"), ("uthman", "othman", "osman", "usman"), ("abdullah", "abdallah", "abdulla"),
        ("abu", "abou"), ("mahmud", "mahmoud", "mahmood"), ("mustafa", "mostafa", "moustafa"),
        ("khalid", "khaled"), ("sulayman", "suleiman", "sulaiman", "suleyman", "soleiman", "soleyman"),
        ("ibrahim", "ebrahim"), ("ismail", "esmail", "ismael", "esmaeil"), ("jafar", "jaafar", "djafar"),
        ("ali", "aly"), ("said", "saeed", "sayed", "sayyed", "sayyid", "sayid", "syed"), ("hamid", "hameed"),
        ("rashid", "rasheed"), ("majid", "majeed"), ("walid", "waleed"), ("khalil", "khaleel"),
        ("yahya", "yahia", "yehia"), ("musa", "moussa", "mousa"), ("isa", "issa", "eisa"),
        ("nasrallah", "nasrullah"), ("abd", "abdu"),
    )
    for spelling in group
}
# Written joined to the article or apart: "Abdul Aziz", "Abd al-Aziz", "Abdel Aziz" all read "abd al aziz".
ARTICLE_PREFIXES = ("abdul", "abdel", "abdal", "abdol", "abdoul")
_APOSTROPHES = re.compile(r"['`\u2018\u2019\u02bc\u02bb]")
_DOTTED = re.compile(r"\b[a-z](?:\.[a-z])+\.?")
_NON_WORD = re.compile(r"[^a-z0-9]+")
# "M&G", "AT&T", "P & G": letters joined by an ampersand are one acronym, not two letters and "and".
_LETTER_AMPERSAND = re.compile(r"\b([a-z0-9]{1,2})\s?&\s?([a-z0-9]{1,2})\b")
_PHRASES = re.compile(r"\b(?:" + "|".join(sorted(LEGAL_PHRASES, key=len, reverse=True)) + r")\b")


def fold(text: str) -> str:
    """ASCII, lower case, words separated by single spaces; ``&`` reads as ``and``; ``S.A.`` reads as ``sa``."""
    ascii_text = anyascii(unicodedata.normalize("NFKC", text)).lower()
    ascii_text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), ascii_text)
    ascii_text = _LETTER_AMPERSAND.sub(r"\1\2", ascii_text).replace("&", " and ")
    return _NON_WORD.sub(" ", _APOSTROPHES.sub("", ascii_text)).strip()


@lru_cache(maxsize=262_144)
def name_tokens(text: str) -> tuple[str, ...]:
    """The comparison form of a name (see the module docstring); may be empty."""
    folded = _articles(fold(text).split())
    words = _join_letters(folded)
    # An acronym ("M&T", "S.T.", "M G") never expands into words ("mount", "saint"): only words
    # written as words are abbreviations.
    acronyms = set(words) - set(folded) | _written_acronyms(text)
    words = [w if w in acronyms else ABBREVIATIONS.get(w, w) for w in words]
    words = [NAME_VARIANTS.get(w, w) for w in words]
    stripped = _PHRASES.sub(" ", " ".join(words)).split()
    legal = [w for w in stripped if _is_legal(w)]
    contextual = len(legal) + sum(_is_context_legal(w) for w in stripped) >= 2 or len(stripped) != len(words)
    # "y" joins Spanish names ("Gomez y Cia") but ends or starts a name as an initial ("ZHAO, Y").
    kept = [
        singular(w) for i, w in enumerate(stripped)
        if (w not in FILLER_WORDS or (w == "y" and i in (0, len(stripped) - 1)))
        and not _is_legal(w) and not (contextual and _is_context_legal(w))
    ]
    # Titles and generational suffixes are how a person is addressed, not their name: "Dr. John
    # Doe", "Sheikh Ahmad", "John Doe Jr." (dropped only while two other words remain).
    titled = [w for w in kept if w not in PERSONAL_TITLES]
    if len(titled) >= 2:
        kept = titled
    if kept:
        return tuple(kept)
    # A name made only of legal-form or filler words ("The Company") is compared as written.
    return tuple(singular(w) for w in words)


def is_legal_word(word: str) -> bool:
    """A legal-form word (``ltd``, ``ooo``, ``gmbh``), long ones also with one typo (``kompanii``)."""
    return _is_legal(word)


@lru_cache(maxsize=65_536)
def _is_legal(word: str) -> bool:
    if word in LEGAL_WORDS:
        return True
    return len(word) >= 6 and any(OSA.distance(word, w, score_cutoff=1) <= 1 for w in LONG_LEGAL_WORDS)


@lru_cache(maxsize=65_536)
def near_legal_form(word: str) -> bool:
    """A legal form of four letters or more with a letter left out, added or swapped ("cnjsc",
    "ocrp", "fco"); a letter changed makes words ("wood"/"eood", "cord"/"corp")."""
    if len(word) < 3 or not word.isalpha() or word in LEGAL_WORDS:
        return False
    return any(OSA.distance(word, w, score_cutoff=1) <= 1 and (len(word) != len(w) or sorted(word) == sorted(w))
               for w in _TYPO_LEGAL)


@lru_cache(maxsize=65_536)
def _is_context_legal(word: str) -> bool:
    if word in CONTEXT_LEGAL_WORDS:
        return True
    return len(word) >= 4 and any(OSA.distance(word, w, score_cutoff=1) <= 1 for w in FUZZY_CONTEXT_WORDS)


def _written_acronyms(text: str) -> set[str]:
    if "&" not in text and "." not in text:
        return set()
    lowered = anyascii(unicodedata.normalize("NFKC", text)).lower()
    found = {m.group(0).replace(".", "") for m in _DOTTED.finditer(lowered)}
    return found | {m.group(1) + m.group(2) for m in _LETTER_AMPERSAND.finditer(lowered)}


def _articles(words: list[str]) -> list[str]:
    out: list[str] = []
    for word in words:
        if word == "el":
            out.append("al")
            continue
        if word == "allah" and out and out[-1] == "abd":
            out[-1] = "abdullah"  # "Abd Allah" is "Abdullah"
            continue
        prefix = None if word in NAME_VARIANTS else next((p for p in ARTICLE_PREFIXES if word.startswith(p)), None)
        if prefix is None:
            out.append(word)
        elif len(word) == len(prefix):
            out += ["abd", "al"]
        elif len(word) - len(prefix) >= 3:
            out += ["abd", "al", word[len(prefix):]]
        else:
            out.append(word)
    return out


_CIS = ("RU", "BY", "KZ", "KG", "UZ", "TJ", "TM", "AM", "AZ", "MD", "UA", "GE")
_BALKANS = ("RS", "HR", "SI", "BA", "ME", "MK")
# Legal forms that exist under one country's law (or a few neighbours'): "OOO GAS" is a company
# registered where an OOO is, whatever else the query says.
LEGAL_FORM_COUNTRIES = {
    **dict.fromkeys(("ooo", "oao", "zao", "pao", "obshchestvo", "aktsionernoe", "aktsionernoye"), _CIS),
    "tov": ("UA",), "gmbh": ("DE", "AT", "CH", "LI"), "mbh": ("DE", "AT", "CH", "LI"), "kgaa": ("DE",),
    "sdn": ("MY",), "bhd": ("MY", "BN"), "berhad": ("MY", "BN"), "fze": ("AE",), "fzc": ("AE",), "fzco": ("AE",),
    "fzllc": ("AE",), "doo": _BALKANS, "eood": ("BG",), "ood": ("BG",), "kft": ("HU",), "zrt": ("HU",),
    "sro": ("CZ", "SK"), "tbk": ("ID",), "kk": ("JP",), "yk": ("JP",), "sapi": ("MX",), "bvba": ("BE",),
    "sprl": ("BE",), "oyj": ("FI",), "eirl": ("FR", "PE", "CL"),
}


def legal_form_countries(text: str) -> tuple[str, ...]:
    """The countries whose law has the legal forms ``text`` is written with (``OOO``: Russia and its
    neighbours, ``GmbH``: the German-speaking countries); empty for forms found everywhere (``Ltd``)."""
    words = _join_letters(fold(text).split())
    return tuple(dict.fromkeys(c for w in words for c in LEGAL_FORM_COUNTRIES.get(w, ())))


def is_organization_name(text: str) -> bool:
    """Whether a name says it is an organization: it carries a legal form (``Inc.``, ``OOO``, ``GmbH``)."""
    words = _join_letters(fold(text).split())
    return bool(_PHRASES.search(" ".join(words))) or any(_is_legal(w) for w in words)


def _join_letters(words: list[str]) -> list[str]:
    out: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        if run:
            out.append("".join(run))
            run = []
        if word:
            out.append(word)
    return out


def singular(word: str) -> str:
    """``industries`` -> ``industry``, ``systems`` -> ``system``; a crude rule, applied to both sides alike."""
    if len(word) > 4 and word.endswith("ies") and any(ch in "aeiou" for ch in word[:-3]):
        return word[:-3] + "y"  # not "mnies" (a misspelt "mines"): no vowel would be left
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_SKELETON_PAIRS = (("dzh", "j"), ("dj", "j"), ("zh", "j"), ("kh", "h"), ("gh", "g"), ("ph", "f"), ("th", "t"), ("sh", "s"),
                   ("ch", "k"), ("ck", "k"), ("ou", "u"), ("ee", "i"), ("oo", "u"))
_SKELETON_LETTERS = str.maketrans({"c": "k", "q": "k", "x": "ks", "z": "s", "w": "v", "y": "i"})
_VOWELS_AND_H = re.compile(r"[aeiouh]")
_REPEATS = re.compile(r"(.)\1+")


@lru_cache(maxsize=262_144)
def skeleton(token: str) -> str:
    """A coarse phonetic key: ``mohammed`` and ``muhammad`` both give ``mhmd``."""
    for a, b in _SKELETON_PAIRS:
        token = token.replace(a, b)
    token = _REPEATS.sub(r"\1", token.translate(_SKELETON_LETTERS))
    if not token:
        return token
    return token[0] + _VOWELS_AND_H.sub("", token[1:])


# Country names as the lists write them (OFAC address files, CSL raw strings), to ISO 3166-1.
COUNTRY_NAMES = {
    "afghanistan": "AF", "albania": "AL", "algeria": "DZ", "angola": "AO", "argentina": "AR", "armenia": "AM",
    "australia": "AU", "austria": "AT", "azerbaijan": "AZ", "bahrain": "BH", "bangladesh": "BD", "belarus": "BY",
    "belgium": "BE", "belize": "BZ", "bolivia": "BO", "bosnia and herzegovina": "BA", "brazil": "BR",
    "british virgin islands": "VG", "virgin islands british": "VG", "bulgaria": "BG", "burma": "MM",
    "myanmar": "MM", "cambodia": "KH", "canada": "CA", "cayman islands": "KY", "chile": "CL", "china": "CN",
    "prc": "CN", "region china": "CN", "colombia": "CO", "congo democratic republic of the": "CD",
    "congo republic of the": "CG", "costa rica": "CR", "croatia": "HR", "cuba": "CU", "cyprus": "CY",
    "czech republic": "CZ", "czechia": "CZ", "denmark": "DK", "dominican republic": "DO", "ecuador": "EC",
    "egypt": "EG", "el salvador": "SV", "eritrea": "ER", "estonia": "EE", "ethiopia": "ET", "finland": "FI",
    "france": "FR", "georgia": "GE", "germany": "DE", "ghana": "GH", "greece": "GR", "guatemala": "GT",
    "haiti": "HT", "honduras": "HN", "hong kong": "HK", "hungary": "HU", "india": "IN", "indonesia": "ID",
    "iran": "IR", "region iran": "IR", "iraq": "IQ", "ireland": "IE", "israel": "IL", "italy": "IT",
    "japan": "JP", "jordan": "JO", "kazakhstan": "KZ", "kenya": "KE", "korea north": "KP",
    "north korea": "KP", "korea south": "KR", "south korea": "KR", "kosovo": "XK", "kuwait": "KW",
    "kyrgyzstan": "KG", "laos": "LA", "latvia": "LV", "lebanon": "LB", "liberia": "LR", "libya": "LY",
    "liechtenstein": "LI", "lithuania": "LT", "luxembourg": "LU", "macau": "MO", "macao": "MO",
    "malaysia": "MY", "maldives": "MV", "mali": "ML", "malta": "MT", "marshall islands": "MH", "mexico": "MX",
    "moldova": "MD", "mongolia": "MN", "montenegro": "ME", "morocco": "MA", "nepal": "NP",
    "netherlands": "NL", "new zealand": "NZ", "nicaragua": "NI", "niger": "NE", "nigeria": "NG",
    "north macedonia": "MK", "norway": "NO", "oman": "OM", "pakistan": "PK", "palestinian": "PS",
    "region gaza": "PS", "region west bank": "PS", "panama": "PA", "paraguay": "PY", "peru": "PE",
    "philippines": "PH", "poland": "PL", "portugal": "PT", "qatar": "QA", "romania": "RO", "russia": "RU",
    "region russia": "RU", "russian federation": "RU", "saudi arabia": "SA", "senegal": "SN", "serbia": "RS",
    "seychelles": "SC", "singapore": "SG", "slovakia": "SK", "slovenia": "SI", "somalia": "SO",
    "south africa": "ZA", "south sudan": "SS", "spain": "ES", "sri lanka": "LK", "sudan": "SD", "sweden": "SE",
    "switzerland": "CH", "syria": "SY", "taiwan": "TW", "tajikistan": "TJ", "tanzania": "TZ", "thailand": "TH",
    "tunisia": "TN", "turkey": "TR", "turkiye": "TR", "turkmenistan": "TM", "uganda": "UG", "ukraine": "UA",
    "crimea occupied": "UA", "united arab emirates": "AE", "united kingdom": "GB", "united states": "US",
    "uruguay": "UY", "uzbekistan": "UZ", "venezuela": "VE", "vietnam": "VN", "yemen": "YE", "zimbabwe": "ZW",
    "isle of man": "IM", "man isle of": "IM", "panama city": "PA",
}


def country_code(text: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code for a code or a country name as the lists write it; else ``None``."""
    if not text:
        return None
    raw = text.strip()
    if len(raw) == 2 and raw.isalpha():
        return raw.upper()
    return COUNTRY_NAMES.get(fold(raw))
