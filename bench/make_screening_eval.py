"""Build the labelled screening evaluation set: listed names written as traffic writes them, and real non-listed names.

    python bench/make_screening_eval.py [--positives N] [--universities N] [--seed S] [--out FILE]

**Positives** are real list names (primary names and aliases of the 2026-07-31 CSL
and the 2024 SDN file with the 2026 aliases), each changed the way names reach a
screening service:

- ``typo``: one or two letters inserted, deleted, replaced or swapped in long words;
- ``short-typo``: one edit in a word of four to six letters of a short name;
- ``reorder``: an organization's words shuffled;
- ``surname-first``: a person written ``Given Surname``, ``Surname Given`` or
  ``SURNAME, Given`` (with or without the comma), whichever the list did not;
- ``initials``: a person's given names reduced to initials, in any position and
  either order (``J. Michael Doe``, ``DOE, J. M.``, ``J.M. Doe``);
- ``drop-middle``: a person without one of their given names (a middle name,
  a patronymic);
- ``legal-form``: legal-form words dropped, changed, or written in another
  language (``Limited Liability Company`` -> ``OOO``, ``Sendirian Berhad`` ->
  ``Sdn Bhd``, ``GmbH``, ``S.A.``);
- ``abbreviate``: long words abbreviated (``International`` -> ``Intl``);
- ``transliterate``: Russian-looking names written in Cyrillic, others romanized
  another way (``kh`` -> ``h``, ``ou`` -> ``u``, ``y`` -> ``i``);
- ``arabic``: Arabic names in another common romanization
  (``Mohammed``/``Muhammad``/``Mohamed``, ``Abdul``/``Abd al``, ``Hussein``/``Husayn``);
- ``join-split``: two words joined (``Al Quds`` -> ``Alquds``) or a prefix split off;
- ``alias``: an alias of the entry, with its case changed.

**Negatives** are real names that are not on the lists, none taken from them:

- ``bench/data/negative_organizations.txt``: companies (S&P 500 constituents, Fortune
  Global 500 and national index members), banks, universities, public bodies,
  charities, and names that share words with listed ones (``Black``, ``Rock``,
  ``Machine``, ``Group``, ``International``) or are acronyms (``3M``, ``LG``, ``M&G``);
- ``bench/data/negative_people.txt``: public figures (laureates, scientists, writers,
  athletes, artists, founders) of many naming cultures;
- a seeded sample of ``../shared/data/screening/traffic/world_universities_2026-06-20.csv``
  (Hipo/university-domains-list, MIT) with their country codes, taken only from
  countries where the lists name fewer than two educational institutions: the file is
  unlabelled real traffic, and in China, Russia, Iran and a few others a university
  may well be listed (see ``traffic/README.md``).

A candidate negative whose words are those of a listed name (same words in any
order) is dropped and counted: that name *is* listed, whoever carries it. Negatives
named in ``EXCLUDED`` are dropped by hand, each with its reason.

Every row gets a ``split``: ``dev`` or ``test``, drawn with a fixed seed per list
entry (all perturbations of one entry fall in one part) or per negative name.
Thresholds and rules are tuned on ``dev`` only; ``bench/screening.py`` reports both.

The output is deterministic for a seed. Columns: ``query, country, kind, label,
perturbation, expected_uid, source_name, split``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from clearance.screening.importers import read_csl, read_sdn  # noqa: E402
from clearance.screening.index import merge_entries  # noqa: E402
from clearance.screening.lists import ListEntry  # noqa: E402
from clearance.screening.normalize import LEGAL_WORDS, name_tokens  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "screening"
UNIVERSITIES = DATA / "traffic" / "world_universities_2026-06-20.csv"
HERE = ROOT / "bench" / "data"
OUT = HERE / "screening_eval.csv"
FIELDS = ["query", "country", "kind", "label", "perturbation", "expected_uid", "source_name", "split"]

ORG_PERTURBATIONS = ("typo", "short-typo", "reorder", "legal-form", "abbreviate", "transliterate", "arabic",
                     "join-split", "alias")
PERSON_PERTURBATIONS = ("typo", "short-typo", "surname-first", "initials", "drop-middle", "transliterate", "arabic",
                        "join-split", "alias")
ABBREVIATE = {
    "international": "Intl", "corporation": "Corp", "company": "Co", "limited": "Ltd", "technology": "Tech",
    "technologies": "Tech", "manufacturing": "Mfg", "industries": "Inds", "industry": "Ind", "engineering": "Eng",
    "services": "Svcs", "development": "Dev", "national": "Natl", "association": "Assn", "university": "Univ",
    "institute": "Inst", "science": "Sci", "electronics": "Elec", "management": "Mgmt", "holdings": "Hldgs",
    "group": "Grp", "trading": "Trdg", "general": "Gen", "chemical": "Chem", "equipment": "Equip",
}
LEGAL_SWAPS = ("", "Limited", "Ltd", "LLC", "Co.", "Inc.", "Company", "GmbH", "JSC", "OOO", "S.A.", "Sdn Bhd",
               "ZAO", "Co., Ltd.", "S.A. de C.V.", "SARL", "PJSC", "FZE")
# Legal forms as they are written in other languages, for a name that spells one out.
LEGAL_TRANSLATIONS = (
    (r"\blimited liability company\b", ("OOO", "LLC", "TOV", "OOO")),
    (r"\bopen joint[- ]stock company\b", ("OAO", "OJSC")),
    (r"\bclosed joint[- ]stock company\b", ("ZAO", "CJSC")),
    (r"\bpublic joint[- ]stock company\b", ("PAO", "PJSC")),
    (r"\bjoint[- ]stock company\b", ("AO", "JSC", "ZAO")),
    (r"\bsendirian berhad\b", ("Sdn Bhd", "Sdn. Bhd.")),
    (r"\bco\.?,? ltd\.?", ("Company Limited", "Limited", "Co Ltd")),
    (r"\bcompany limited\b", ("Co., Ltd.", "Ltd")),
    (r"\bsociedad anonima\b", ("S.A.",)),
    (r"\bs\.?a\.? de c\.?v\.?", ("SA de CV", "S.A.")),
)
CYRILLIC = [("shch", "щ"), ("iy ", "ий "), ("yy ", "ый "), ("ey ", "ей "), ("ay ", "ай "), ("oy ", "ой "),
            ("yo", "ё"), ("ye", "е"), ("kh", "х"), ("zh", "ж"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"), ("yu", "ю"),
            ("ya", "я"), ("a", "а"), ("b", "б"), ("v", "в"), ("g", "г"), ("d", "д"), ("e", "е"), ("z", "з"),
            ("i", "и"), ("y", "ы"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"),
            ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("c", "к"), ("w", "в"), ("x", "кс"),
            ("h", "х"), ("j", "дж"), ("q", "к")]
ROMANIZE = [("kh", "h"), ("ou", "u"), ("y", "i"), ("ee", "i"), ("ph", "f"), ("dzh", "j"), ("iy", "y"), ("ck", "k"),
            ("ts", "tz"), ("j", "dj")]
# Common romanizations of the same Arabic (and Persian) names; any member may be written as any other.
ARABIC = (
    ("muhammad", "mohammed", "mohamed", "mohammad", "muhammed", "mohamad"),
    ("ahmad", "ahmed"), ("hussein", "husayn", "hussain", "husain", "hosein"), ("hassan", "hasan"),
    ("yusuf", "youssef", "yousef", "yousif"), ("umar", "omar"), ("uthman", "othman", "osman"),
    ("abdullah", "abdallah", "abd allah"), ("abdul", "abd al", "abdel", "abd-al"), ("abu", "abou"),
    ("mahmud", "mahmoud", "mahmood"), ("mustafa", "mostafa", "moustafa"), ("khalid", "khaled"),
    ("sulayman", "suleiman", "sulaiman"), ("ibrahim", "ebrahim"), ("ismail", "esmail", "ismael"),
    ("jafar", "jaafar", "ja'far"), ("nasrallah", "nasr allah"), ("ali", "aly"), ("said", "saeed", "sa'id"),
)
# English words are translated, not transliterated, when a name is written in Russian; a name holding
# one is romanized another way instead of being written in Cyrillic.
ENGLISH = frozenset({
    "company", "joint", "stock", "limited", "liability", "open", "closed", "public", "institute", "research",
    "scientific", "production", "plant", "engineering", "technology", "technologies", "bank", "group", "trading",
    "international", "state", "federal", "enterprise", "design", "bureau", "concern", "center", "centre",
    "academy", "science", "sciences", "of", "the", "and", "for", "main", "directorate", "republic", "machine",
    "building", "shipbuilding", "shipyard", "complex", "new", "service", "services", "commercial", "special",
    "power", "radio", "electronic", "electronics", "military", "construction", "legal", "national", "unitary",
    "management", "holding", "industrial", "association", "branch", "physics", "nuclear", "trade", "import",
    "export", "aviation", "tools", "engine", "united", "central", "north", "south", "east", "west", "regional",
    "moscow", "llc", "ltd", "inc", "co", "jsc", "corp", "soft", "stc",
})
SLAVIC = {"RU", "BY", "UA", "KZ", "KG"}
ORG_WORDS = frozenset({
    "company", "co", "corp", "corporation", "bank", "group", "trading", "limited", "ltd", "llc", "inc", "institute",
    "university", "plant", "factory", "center", "centre", "ministry", "foundation", "organization", "organisation",
    "enterprise", "industries", "industry", "airlines", "shipping", "services", "holding", "holdings", "front",
    "army", "brigade", "party", "council", "office", "bureau", "agency", "network", "association", "committee",
    "laboratory", "lab", "labs", "technology", "technologies", "tech", "electronics", "electronic", "supplies",
    "supply", "systems", "solutions", "logistics", "international", "import", "export", "industrial", "aviation",
    "energy", "engineering", "marine", "trade", "global", "research", "academy", "school", "college", "hospital",
})
# Candidate negatives dropped by hand, with the reason (none so far: a row is added here only
# after reading the list entry it resembles and finding it is the same party).
EXCLUDED: dict[str, str] = {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positives", type=int, default=1800)
    parser.add_argument("--universities", type=int, default=1100)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (the real screening lists live in ../shared/data)")
        return 0
    entries = load_lists()
    rng = random.Random(args.seed)
    rows = positives(entries, args.positives, rng)
    negatives, dropped = negative_rows(entries, args.universities, rng)
    rows += negatives
    assign_splits(rows, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    for part in ("dev", "test"):
        chosen = [r for r in rows if r["split"] == part]
        pos = sum(r["label"] == "1" for r in chosen)
        people = sum(r["perturbation"] == "not-listed-person" for r in chosen)
        print(f"{part}: {pos} positives, {len(chosen) - pos} negatives ({people} people)")
    print(f"wrote {args.out}; dropped {dropped} candidate negatives whose words are a listed name's")
    return 0


def load_lists() -> list[ListEntry]:
    csl = read_csl(DATA / "csl_2026-07-31.jsonl.gz")
    alt_add = DATA / "ofac_legacy_2026-06_alt_add"
    sdn = read_sdn(DATA / "ofac_legacy_2024-05-03" / "sdn.csv.gz", alt_add / "alt.csv", alt_add / "add.csv")
    return merge_entries([*csl.entries, *sdn.entries])


def is_person(entry: ListEntry) -> bool:
    """Typed individuals, and untyped BIS/State entries that read as a person's name."""
    if entry.kind:
        return entry.kind == "individual"
    words = re.findall(r"[a-z]+", entry.name.lower())
    return entry.list in ("DPL", "DTC", "EL") and 2 <= len(words) <= 4 and not set(words) & ORG_WORDS \
        and not set(words) & LEGAL_WORDS


# -- positives ---------------------------------------------------------------------------------


def positives(entries: list[ListEntry], wanted: int, rng: random.Random) -> list[dict[str, str]]:
    pool = [e for e in entries if name_tokens(e.name) and e.kind not in ("vessel", "aircraft")]
    rng.shuffle(pool)
    made_by: dict[str, int] = {}
    rows = []
    for entry in pool:
        if len(rows) >= wanted:
            break
        person = is_person(entry)
        kinds = PERSON_PERTURBATIONS if person else ORG_PERTURBATIONS
        # The kind made least so far goes first, so every kind ends up about equally common.
        for kind in sorted(kinds, key=lambda k: (made_by.get(k, 0), rng.random())):
            made = perturb(entry, kind, person, rng)
            if made is not None and name_tokens(made[0]):
                break
        else:
            continue
        made_by[kind] = made_by.get(kind, 0) + 1
        query, source = made
        country = entry.countries[0] if entry.countries and rng.random() < 0.5 and len(entry.countries[0]) == 2 else ""
        stated = ("individual" if person else "entity") if entry.kind and rng.random() < 0.4 else ""
        rows.append({"query": query, "country": country, "kind": stated, "label": "1", "perturbation": kind,
                     "expected_uid": entry.uid, "source_name": source})
    return rows


def perturb(entry: ListEntry, kind: str, person: bool, rng: random.Random) -> tuple[str, str] | None:
    name = entry.name
    if kind == "alias":
        if not entry.aliases:
            return None
        alias = rng.choice(entry.aliases)
        return (alias.upper() if rng.random() < 0.5 else alias.title()), alias
    if kind in ("surname-first", "initials", "drop-middle"):
        parts = person_parts(name)
        if parts is None:
            return None
        surname, given = parts
        made = {"surname-first": surname_first, "initials": initials, "drop-middle": drop_middle}[kind](
            surname, given, "," in name, rng)
        return None if made is None else (made, name)
    words = name.replace(",", " ").split()
    if kind == "typo":
        long_words = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
        if len(name_tokens(name)) < 2 or not long_words:
            return None
        # At most one typo a word: two in one short word make another word, not a misspelling.
        for i in rng.sample(long_words, 1 if rng.random() < 0.7 or len(long_words) == 1 else 2):
            words[i] = typo(words[i], rng)
        return " ".join(words), name
    if kind == "short-typo":
        short = [i for i, w in enumerate(words) if 4 <= len(w) <= 6 and w.isalpha()]
        if not short or len(name_tokens(name)) > 3:
            return None
        i = rng.choice(short)
        words[i] = typo(words[i], rng)
        return " ".join(words), name
    if kind == "reorder":
        # Initials and dotted legal forms ("K B X", "S.A. de C.V.") move as one unit.
        units = re.findall(r"(?:\b[A-Za-z]\.?(?:\s+|$))+|\S+", name.replace(",", " "))
        units = [u.strip() for u in units if u.strip()]
        if len(set(units)) < 2:
            return None
        shuffled = units[:]
        while shuffled == units:
            rng.shuffle(shuffled)
        return " ".join(shuffled), name
    if kind == "legal-form":
        return legal_form(name, words, rng)
    if kind == "abbreviate":
        hits = [i for i, w in enumerate(words) if w.lower().strip(".,") in ABBREVIATE]
        if not hits or len(name_tokens(name)) < 2:
            return None
        for i in hits:
            words[i] = ABBREVIATE[words[i].lower().strip(".,")]
        return " ".join(words), name
    if kind == "arabic":
        return arabic(name, rng)
    if kind == "join-split":
        return join_split(words, name, person, rng)
    return transliterate(entry, name, rng)


def person_parts(name: str) -> tuple[list[str], list[str]] | None:
    """``(surname words, given names)`` of ``SURNAME, Given Names`` or ``Given Names Surname``."""
    if "," in name:
        surname, given = name.split(",", 1)
        s, g = surname.split(), given.replace(",", " ").split()
    else:
        words = name.split()
        s, g = words[-1:], words[:-1]
    g = [w for w in g if re.fullmatch(r"[A-Za-z][A-Za-z'-]+", w)]
    if not s or not g:
        return None
    return s, g


def surname_first(surname: list[str], given: list[str], comma: bool, rng: random.Random) -> str:
    s, g = " ".join(surname), " ".join(given)
    if comma:  # the list wrote SURNAME, Given: write it as people do, or without the comma
        return rng.choice((f"{g} {s.title()}", f"{s} {g}", f"{g.title()} {s.title()}"))
    return rng.choice((f"{s.upper()}, {g}", f"{s} {g}", f"{s.upper()} {g.upper()}"))


def initials(surname: list[str], given: list[str], comma: bool, rng: random.Random) -> str:
    s = " ".join(surname)
    which = rng.choice(("all", "first", "rest")) if len(given) >= 2 else "all"
    shown = [w[0].upper() + "." if (which == "all" or (which == "first") == (i == 0)) else w.title()
             for i, w in enumerate(given)]
    if rng.random() < 0.2:
        shown = [w.replace(".", "") for w in shown]
    g = " ".join(shown)
    if rng.random() < 0.15 and all(len(w) <= 2 for w in shown):
        g = "".join(shown)  # "J.M."
    return rng.choice((f"{g} {s.title()}", f"{s.upper()}, {g}", f"{s.title()} {g}"))


def drop_middle(surname: list[str], given: list[str], comma: bool, rng: random.Random) -> str | None:
    if len(given) < 2:
        return None
    kept = [w for i, w in enumerate(given) if i != rng.randrange(1, len(given))]
    s, g = " ".join(surname), " ".join(kept)
    return rng.choice((f"{s}, {g}", f"{g} {s.title()}")) if comma else f"{g} {s}"


def legal_form(name: str, words: list[str], rng: random.Random) -> tuple[str, str] | None:
    lowered = name.lower()
    for pattern, written in LEGAL_TRANSLATIONS:
        found = re.search(pattern, lowered)
        if found:
            rest = (name[: found.start()] + " " + name[found.end():]).strip(" ,")
            if not name_tokens(rest):
                return None
            form = rng.choice(written)
            return (f"{form} {rest}" if rng.random() < 0.5 else f"{rest} {form}"), name
    kept = [w for w in words if re.sub(r"[^a-z]", "", w.lower()) not in LEGAL_WORDS]
    if len(kept) == len(words) or not kept:
        return None
    return " ".join([*kept, rng.choice(LEGAL_SWAPS)]).strip(), name


def arabic(name: str, rng: random.Random) -> tuple[str, str] | None:
    lowered = name.lower()
    changed = lowered
    for group in ARABIC:
        for spelling in group:
            pattern = r"(?<![a-z])" + re.escape(spelling).replace(r"\ ", "[ -]") + r"(?![a-z])"
            if re.search(pattern, changed):
                other = rng.choice([g for g in group if g != spelling])
                changed = re.sub(pattern, other, changed)
                break
    changed = re.sub(r"(?<![a-z])al-(?=[a-z])", lambda _: rng.choice(("al ", "el-", "al", "")), changed)
    if changed == lowered:
        return None
    return (changed.upper() if rng.random() < 0.5 else changed.title()), name


def join_split(words: list[str], name: str, person: bool, rng: random.Random) -> tuple[str, str] | None:
    prefixes = ("al", "el", "abd", "abu", "bin", "ibn")
    for i, w in enumerate(words):
        low = w.lower()
        for p in prefixes:
            if low.startswith(p + "-") and len(low) > len(p) + 3:
                return " ".join([*words[:i], w.replace("-", "", 1), *words[i + 1:]]), name
            if low.startswith(p) and len(low) >= len(p) + 4 and low[len(p)] not in "aeiou-":
                return " ".join([*words[:i], w[: len(p)], w[len(p):], *words[i + 1:]]), name
    if person:  # a person's names are not run together; only prefixes come and go
        return None
    plain = [w.isalpha() and w.lower() not in LEGAL_WORDS for w in words]
    pairs = [i for i in range(len(words) - 1) if plain[i] and plain[i + 1]
             and min(len(words[i]), len(words[i + 1])) >= 2 and len(words[i]) + len(words[i + 1]) <= 14]
    if not pairs or len(name_tokens(name)) < 2:
        return None
    i = rng.choice(pairs)
    second = words[i + 1].lower() if words[i].istitle() else words[i + 1]
    return " ".join([*words[:i], words[i] + second, *words[i + 2:]]), name


def transliterate(entry: ListEntry, name: str, rng: random.Random) -> tuple[str, str] | None:
    if len(name_tokens(name)) < 2:
        return None
    words = re.findall(r"[A-Za-z]+", name.lower())
    if set(entry.countries) & SLAVIC and not any(w in ENGLISH for w in words):
        lowered = name.lower().replace(",", "") + " "
        for latin, cyrillic in CYRILLIC:
            lowered = lowered.replace(latin, cyrillic)
        lowered = lowered.strip()
        return lowered.upper() if rng.random() < 0.5 else lowered.title(), name
    rules = rng.sample(ROMANIZE, 3)
    changed = " ".join(_romanize(w, rules) for w in name.lower().split())
    if changed == name.lower():
        return None
    return changed.title(), name


def _romanize(word: str, rules: list[tuple[str, str]]) -> str:
    if len(word) < 5:
        return word
    for a, b in rules:
        word = word.replace(a, b)
    return word


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    op = rng.choice(("insert", "delete", "replace", "swap"))
    letter = rng.choice("aeiourstnlm")
    if op == "insert":
        return word[:i] + letter + word[i:]
    if op == "delete":
        return word[:i] + word[i + 1:]
    if op == "replace":
        return word[:i] + letter + word[i + 1:]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1:]


# -- negatives ---------------------------------------------------------------------------------


def read_names(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return list(dict.fromkeys(line for line in lines if line))


def negative_rows(entries: list[ListEntry], universities: int, rng: random.Random) -> tuple[list[dict[str, str]], int]:
    listed = {tuple(sorted(name_tokens(n))) for e in entries for n in e.names()}
    candidates: list[tuple[str, str, str, str]] = []  # name, country, kind, perturbation
    for name in read_names(HERE / "negative_organizations.txt"):
        candidates.append((name, "", "entity" if rng.random() < 0.3 else "", "not-listed-organization"))
    for name in read_names(HERE / "negative_people.txt"):
        candidates.append((name, "", "individual" if rng.random() < 0.3 else "", "not-listed-person"))
    if UNIVERSITIES.is_file():
        candidates += [(n, c, "entity", "not-listed-university") for n, c in university_sample(entries, universities, rng)]
    rows, dropped = [], 0
    seen: set[str] = set()
    for name, country, kind, what in candidates:
        if name in EXCLUDED or name.lower() in seen:
            continue
        seen.add(name.lower())
        if tuple(sorted(name_tokens(name))) in listed:
            dropped += 1
            continue
        query = name.upper() if rng.random() < 0.15 else name
        rows.append({"query": query, "country": country, "kind": kind, "label": "0", "perturbation": what,
                     "expected_uid": "", "source_name": name})
    return rows, dropped


def university_sample(entries: list[ListEntry], wanted: int, rng: random.Random) -> list[tuple[str, str]]:
    schooling = {"university", "college", "institute", "academy", "school", "universitet"}
    listed_schools: dict[str, int] = {}
    for entry in entries:
        if any(set(name_tokens(n)) & schooling for n in entry.names()):
            for country in entry.countries:
                listed_schools[country] = listed_schools.get(country, 0) + 1
    risky = {c for c, n in listed_schools.items() if n >= 2}
    with UNIVERSITIES.open(encoding="utf-8") as fh:
        rows = [(r["name"].strip(), r["country"].strip()) for r in csv.DictReader(fh)]
    allowed = [r for r in rows if r[1] not in risky and r[0]]
    return rng.sample(allowed, min(wanted, len(allowed)))


def assign_splits(rows: list[dict[str, str]], seed: int) -> None:
    """Half the groups to ``dev``, half to ``test``, by a seeded hash of the group (a list entry, or a
    negative's name): adding or removing one row never moves another between parts."""
    for row in rows:
        group = row["expected_uid"] or "neg:" + row["source_name"]
        digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
        row["split"] = "dev" if digest[0] % 2 == 0 else "test"


if __name__ == "__main__":
    raise SystemExit(main())
