"""Build the labelled screening evaluation set from the real lists in ``../shared/data``.

    python bench/make_screening_eval.py [--positives N] [--seed S] [--out bench/data/screening_eval.csv]

Positives are real list names (primary names and aliases of the 2026-07-31 CSL
and the 2024 SDN file), each changed the way names arrive in practice:

- ``typo``: one or two letters inserted, deleted, replaced or swapped in long words;
- ``reorder``: the words shuffled (``SURNAME, Given`` written ``Given Surname``);
- ``drop-legal``: legal-form words removed or changed (``Co., Ltd.`` -> ``Limited``);
- ``abbreviate``: long words abbreviated (``International`` -> ``Intl``);
- ``transliterate``: Russian-looking names written in Cyrillic, others romanized
  another way (``kh`` -> ``h``, ``ou`` -> ``u``, ``y`` -> ``i``);
- ``alias``: an alias of the entry, with its case changed.

Negatives are real organizations that are not on the lists (written out below
from public knowledge: companies, universities, labs, banks, agencies across
many countries). Any whose normalized name equals a listed name is dropped and
counted, so no negative is in fact listed under that name.

The output is deterministic for a seed. Columns: ``query, country, label,
perturbation, expected_uid, source_name``.
"""

from __future__ import annotations

import argparse
import csv
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
OUT = ROOT / "bench" / "data" / "screening_eval.csv"

PERTURBATIONS = ("typo", "reorder", "drop-legal", "abbreviate", "transliterate", "alias")
ABBREVIATE = {
    "international": "Intl", "corporation": "Corp", "company": "Co", "limited": "Ltd", "technology": "Tech",
    "technologies": "Tech", "manufacturing": "Mfg", "industries": "Inds", "industry": "Ind", "engineering": "Eng",
    "services": "Svcs", "development": "Dev", "national": "Natl", "association": "Assn", "university": "Univ",
    "institute": "Inst", "science": "Sci", "electronics": "Elec", "management": "Mgmt", "holdings": "Hldgs",
    "group": "Grp", "trading": "Trdg", "general": "Gen", "chemical": "Chem", "equipment": "Equip",
}
LEGAL_SWAPS = ("", "Limited", "Ltd", "LLC", "Co.", "Inc.", "Company", "GmbH", "JSC", "OOO", "S.A.")
CYRILLIC = [("shch", "щ"), ("iy ", "ий "), ("yy ", "ый "), ("ey ", "ей "), ("ay ", "ай "), ("oy ", "ой "),
            ("yo", "ё"), ("ye", "е"), ("kh", "х"), ("zh", "ж"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"), ("yu", "ю"),
            ("ya", "я"), ("a", "а"), ("b", "б"), ("v", "в"), ("g", "г"), ("d", "д"), ("e", "е"), ("z", "з"),
            ("i", "и"), ("y", "ы"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"),
            ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("c", "к"), ("w", "в"), ("x", "кс"),
            ("h", "х"), ("j", "дж"), ("q", "к")]
ROMANIZE = [("kh", "h"), ("ou", "u"), ("y", "i"), ("ee", "i"), ("ph", "f"), ("dzh", "j"), ("iy", "y"), ("ck", "k"),
            ("ts", "tz"), ("j", "dj")]
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

NEGATIVES = """
Microsoft Corporation; Apple Inc.; Alphabet Inc.; Amazon.com, Inc.; Meta Platforms, Inc.; Nvidia Corporation;
Intel Corporation; Advanced Micro Devices, Inc.; Qualcomm Incorporated; Broadcom Inc.; Texas Instruments Incorporated;
Cisco Systems, Inc.; Oracle Corporation; Salesforce, Inc.; Adobe Inc.; International Business Machines Corporation;
Hewlett Packard Enterprise Company; Dell Technologies Inc.; Micron Technology, Inc.; Applied Materials, Inc.;
Lam Research Corporation; KLA Corporation; Analog Devices, Inc.; Netflix, Inc.; PayPal Holdings, Inc.; Visa Inc.;
Mastercard Incorporated; JPMorgan Chase & Co.; Bank of America Corporation; Wells Fargo & Company; Citigroup Inc.;
Goldman Sachs Group, Inc.; Morgan Stanley; BlackRock, Inc.; Berkshire Hathaway Inc.; Johnson & Johnson;
Pfizer Inc.; Merck & Co., Inc.; AbbVie Inc.; Eli Lilly and Company; Bristol-Myers Squibb Company; Amgen Inc.;
Gilead Sciences, Inc.; Moderna, Inc.; Procter & Gamble Company; Coca-Cola Company; PepsiCo, Inc.; Walmart Inc.;
Costco Wholesale Corporation; Target Corporation; Home Depot, Inc.; Lowe's Companies, Inc.; Nike, Inc.;
Starbucks Corporation; McDonald's Corporation; Walt Disney Company; Comcast Corporation; Verizon Communications Inc.;
AT&T Inc.; T-Mobile US, Inc.; Ford Motor Company; General Motors Company; Tesla, Inc.; Boeing Company;
Lockheed Martin Corporation; Northrop Grumman Corporation; General Dynamics Corporation; RTX Corporation;
Caterpillar Inc.; Deere & Company; 3M Company; Honeywell International Inc.; General Electric Company;
United Parcel Service, Inc.; FedEx Corporation; Delta Air Lines, Inc.; United Airlines Holdings, Inc.;
Exxon Mobil Corporation; Chevron Corporation; ConocoPhillips; Duke Energy Corporation; NextEra Energy, Inc.;
Stripe, Inc.; Palantir Technologies Inc.; Snowflake Inc.; ServiceNow, Inc.; Workday, Inc.; Autodesk, Inc.;
Intuit Inc.; Zoom Video Communications, Inc.; Dropbox, Inc.; Airbnb, Inc.; Uber Technologies, Inc.; Lyft, Inc.;
DoorDash, Inc.; Shopify Inc.; Spotify Technology S.A.; Anthropic PBC; OpenAI OpCo, LLC; Scale AI, Inc.;
Databricks, Inc.; Hugging Face, Inc.; Cohere Inc.; Mistral AI SAS; Aleph Alpha GmbH; Stability AI Ltd;
Northwind Analytics LLC; Contoso Bank N.A.; Siemens AG; SAP SE; Volkswagen AG; BMW AG; Mercedes-Benz Group AG;
Bosch GmbH; BASF SE; Bayer AG; Allianz SE; Deutsche Bank AG; Commerzbank AG; Deutsche Telekom AG; Infineon Technologies AG;
Zeiss Group; Airbus SE; Thales Group; Safran SA; Dassault Systemes SE; TotalEnergies SE; BNP Paribas SA;
Societe Generale SA; Credit Agricole SA; AXA SA; L'Oreal SA; LVMH Moet Hennessy Louis Vuitton SE; Danone SA;
Orange SA; Capgemini SE; Schneider Electric SE; Michelin; Renault Group; Stellantis N.V.; ASML Holding N.V.;
Philips N.V.; Heineken N.V.; ING Groep N.V.; Unilever PLC; Shell plc; BP p.l.c.; HSBC Holdings plc;
Barclays PLC; Lloyds Banking Group plc; NatWest Group plc; Standard Chartered PLC; GSK plc; AstraZeneca PLC;
Rolls-Royce Holdings plc; BAE Systems plc; Vodafone Group Plc; BT Group plc; Tesco PLC; Diageo plc; Arm Holdings plc;
Google DeepMind; Ocado Group plc; Nestle S.A.; Novartis AG; Roche Holding AG; UBS Group AG; Zurich Insurance Group AG;
ABB Ltd; Logitech International S.A.; Ericsson; Volvo Group; Spotify AB; Nokia Corporation; Kone Oyj;
Novo Nordisk A/S; Maersk; Carlsberg A/S; Equinor ASA; Telenor ASA; Banco Santander, S.A.; BBVA; Telefonica, S.A.;
Iberdrola, S.A.; Inditex; Enel S.p.A.; Eni S.p.A.; Intesa Sanpaolo S.p.A.; UniCredit S.p.A.; Ferrari N.V.;
Leonardo S.p.A.; Pirelli & C. S.p.A.; CD Projekt S.A.; PKO Bank Polski; Erste Group Bank AG; OMV AG;
Toyota Motor Corporation; Honda Motor Co., Ltd.; Nissan Motor Co., Ltd.; Sony Group Corporation; Panasonic Holdings Corporation;
Hitachi, Ltd.; Toshiba Corporation; Mitsubishi Electric Corporation; Fujitsu Limited; NEC Corporation;
Canon Inc.; Nikon Corporation; Nintendo Co., Ltd.; SoftBank Group Corp.; Rakuten Group, Inc.; Keyence Corporation;
Tokyo Electron Limited; Fanuc Corporation; Preferred Networks, Inc.; Mitsubishi UFJ Financial Group, Inc.;
Sumitomo Mitsui Financial Group, Inc.; Mizuho Financial Group, Inc.; Samsung Electronics Co., Ltd.; SK Hynix Inc.;
LG Electronics Inc.; Hyundai Motor Company; Kia Corporation; Naver Corporation; Kakao Corp.; POSCO Holdings Inc.;
Taiwan Semiconductor Manufacturing Company Limited; MediaTek Inc.; Foxconn Technology Group; ASUSTeK Computer Inc.;
Acer Incorporated; United Microelectronics Corporation; Infosys Limited; Tata Consultancy Services Limited;
Wipro Limited; HCL Technologies Limited; Reliance Industries Limited; Tata Motors Limited; Mahindra & Mahindra Limited;
HDFC Bank Limited; ICICI Bank Limited; State Bank of India; Larsen & Toubro Limited; Bharti Airtel Limited;
Sun Pharmaceutical Industries Ltd.; Dr. Reddy's Laboratories Ltd.; AI4Health Pte. Ltd.; DBS Group Holdings Ltd;
Oversea-Chinese Banking Corporation Limited; Singapore Telecommunications Limited; Grab Holdings Limited;
Sea Limited; Commonwealth Bank of Australia; BHP Group Limited; Rio Tinto Group; Atlassian Corporation;
Canva Pty Ltd; Telstra Group Limited; Woolworths Group Limited; Fonterra Co-operative Group Limited;
Royal Bank of Canada; Toronto-Dominion Bank; Bank of Nova Scotia; Shopify; Bombardier Inc.; Magna International Inc.;
Cohere Technologies; Vector Institute; Mila - Quebec Artificial Intelligence Institute; Nubank; Petrobras;
Vale S.A.; Itau Unibanco Holding S.A.; Embraer S.A.; Mercado Libre, Inc.; America Movil; Grupo Bimbo;
Cemex; Femsa; Bancolombia S.A.; Ecopetrol S.A.; Falabella; Codelco; LATAM Airlines Group S.A.; Naspers Limited;
MTN Group Limited; Standard Bank Group; Safaricom PLC; Dangote Cement Plc; Ethiopian Airlines; Attijariwafa Bank;
Emirates NBC; Etihad Airways; Saudi Aramco; Qatar Airways; Turkcell; Koc Holding; Teva Pharmaceutical Industries Ltd.;
Check Point Software Technologies Ltd.; Mobileye Global Inc.; Wix.com Ltd.; Massachusetts Institute of Technology;
Stanford University; Harvard University; University of California, Berkeley; Carnegie Mellon University;
California Institute of Technology; Princeton University; Yale University; Columbia University; Cornell University;
University of Oxford; University of Cambridge; Imperial College London; University College London;
ETH Zurich; Ecole Polytechnique Federale de Lausanne; Technical University of Munich; Max Planck Society;
Fraunhofer Society; Sorbonne University; Karolinska Institutet; University of Toronto; McGill University;
University of Tokyo; Kyoto University; Seoul National University; KAIST; National University of Singapore;
Nanyang Technological University; Australian National University; University of Melbourne; Indian Institute of Science;
Weizmann Institute of Science; Technion; University of Cape Town; Universidade de Sao Paulo; Defense Advanced Research Projects Agency;
National Security Agency; National Institute of Standards and Technology; National Aeronautics and Space Administration;
National Institutes of Health; Centers for Disease Control and Prevention; Federal Reserve Bank of New York;
European Central Bank; Bank of England; Bank of Japan; International Monetary Fund; World Bank Group;
World Health Organization; United Nations Children's Fund; International Committee of the Red Cross;
Medecins Sans Frontieres; Bill & Melinda Gates Foundation; Wellcome Trust; Rockefeller Foundation;
Mozilla Foundation; Wikimedia Foundation; Linux Foundation; Apache Software Foundation; Python Software Foundation;
Allen Institute for Artificial Intelligence; RAND Corporation; Brookings Institution; Mayo Clinic; Cleveland Clinic;
Johns Hopkins University; Kaiser Permanente; UnitedHealth Group Incorporated; CVS Health Corporation; Anthem, Inc.;
Accenture plc; Deloitte Touche Tohmatsu Limited; PricewaterhouseCoopers; Ernst & Young Global Limited; KPMG International;
McKinsey & Company; Boston Consulting Group; Bain & Company; Booz Allen Hamilton Holding Corporation; Leidos Holdings, Inc.;
Science Applications International Corporation; CACI International Inc; Anduril Industries, Inc.; SpaceX; Blue Origin;
Rocket Lab USA, Inc.; Maxar Technologies; Planet Labs PBC; Iridium Communications Inc.; Garmin Ltd.; Trimble Inc.;
Zebra Technologies Corporation; Rockwell Automation, Inc.; Emerson Electric Co.; Eaton Corporation plc; Parker-Hannifin Corporation;
Cummins Inc.; PACCAR Inc; Otis Worldwide Corporation; Carrier Global Corporation; Johnson Controls International plc;
Marriott International, Inc.; Hilton Worldwide Holdings Inc.; Booking Holdings Inc.; Expedia Group, Inc.;
American Express Company; Capital One Financial Corporation; Charles Schwab Corporation; Fidelity Investments;
Vanguard Group; State Street Corporation; Bank of New York Mellon Corporation; Northern Trust Corporation;
Prudential Financial, Inc.; MetLife, Inc.; Aflac Incorporated; Chubb Limited; Travelers Companies, Inc.;
Progressive Corporation; Allstate Corporation; Kraft Heinz Company; Mondelez International, Inc.; General Mills, Inc.;
Kellogg Company; Tyson Foods, Inc.; Archer-Daniels-Midland Company; Cargill, Incorporated; Bunge Global SA;
Colgate-Palmolive Company; Kimberly-Clark Corporation; Estee Lauder Companies Inc.; Sherwin-Williams Company;
Dow Inc.; DuPont de Nemours, Inc.; Linde plc; Air Products and Chemicals, Inc.; Ecolab Inc.; Corning Incorporated;
Western Digital Corporation; Seagate Technology Holdings plc; NetApp, Inc.; Arista Networks, Inc.; Juniper Networks, Inc.;
Fortinet, Inc.; Palo Alto Networks, Inc.; CrowdStrike Holdings, Inc.; Okta, Inc.; Cloudflare, Inc.; Akamai Technologies, Inc.;
Twilio Inc.; Atlassian; GitLab Inc.; HashiCorp, Inc.; MongoDB, Inc.; Elastic N.V.; Confluent, Inc.; Datadog, Inc.;
Splunk Inc.; Unity Software Inc.; Roblox Corporation; Electronic Arts Inc.; Take-Two Interactive Software, Inc.;
Activision Blizzard, Inc.; Ubisoft Entertainment SA; Bandai Namco Holdings Inc.; Square Enix Holdings Co., Ltd.
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positives", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (the real screening lists live in ../shared/data)")
        return 0
    entries = load_lists()
    rng = random.Random(args.seed)
    listed = {name_tokens(n) for e in entries for n in e.names()}
    rows: list[dict[str, str]] = []
    pool = [e for e in entries if len(name_tokens(e.name)) >= 1]
    rng.shuffle(pool)
    made_by = dict.fromkeys(PERTURBATIONS, 0)
    for entry in pool:
        if sum(made_by.values()) >= args.positives:
            break
        # The kind made least so far goes first, so every kind ends up about equally common.
        for kind in sorted(PERTURBATIONS, key=lambda k: made_by[k]):
            made = perturb(entry, kind, rng)
            if made is not None:
                break
        else:
            continue
        made_by[kind] += 1
        query, source = made
        country = entry.countries[0] if entry.countries and rng.random() < 0.5 and len(entry.countries[0]) == 2 else ""
        rows.append({"query": query, "country": country, "label": "1", "perturbation": kind,
                     "expected_uid": entry.uid, "source_name": source})
    dropped = 0
    for name in (n.strip() for n in NEGATIVES.replace("\n", " ").split(";")):
        if not name:
            continue
        if name_tokens(name) in listed:
            dropped += 1
            continue
        rows.append({"query": name, "country": "", "label": "0", "perturbation": "not-listed",
                     "expected_uid": "", "source_name": ""})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["query", "country", "label", "perturbation", "expected_uid", "source_name"])
        writer.writeheader()
        writer.writerows(rows)
    positives = sum(r["label"] == "1" for r in rows)
    print(f"wrote {args.out}: {positives} positives, {len(rows) - positives} negatives "
          f"({dropped} candidate negatives dropped: listed under that name)")
    return 0


def load_lists() -> list[ListEntry]:
    csl = read_csl(DATA / "csl_2026-07-31.jsonl.gz")
    alt_add = DATA / "ofac_legacy_2026-06_alt_add"
    sdn = read_sdn(DATA / "ofac_legacy_2024-05-03" / "sdn.csv.gz", alt_add / "alt.csv", alt_add / "add.csv")
    return merge_entries([*csl.entries, *sdn.entries])


def perturb(entry: ListEntry, kind: str, rng: random.Random) -> tuple[str, str] | None:
    name = entry.name
    words = name.replace(",", " ").split()
    if kind == "alias":
        if not entry.aliases:
            return None
        alias = rng.choice(entry.aliases)
        return (alias.upper() if rng.random() < 0.5 else alias.title()), alias
    if kind == "typo":
        long_words = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
        if len(name_tokens(name)) < 2 or not long_words:
            return None
        # At most one typo a word: two in one short word make another word, not a misspelling.
        for i in rng.sample(long_words, 1 if rng.random() < 0.7 or len(long_words) == 1 else 2):
            words[i] = typo(words[i], rng)
        return " ".join(words), name
    if kind == "reorder":
        if len(words) < 2:
            return None
        if "," in name and entry.kind == "individual":
            surname, given = name.split(",", 1)
            return f"{given.strip()} {surname.strip()}", name
        # Initials and dotted legal forms ("K B X", "S.A. de C.V.") move as one unit.
        units = re.findall(r"(?:\b[A-Za-z]\.?(?:\s+|$))+|\S+", name.replace(",", " "))
        units = [u.strip() for u in units if u.strip()]
        if len(set(units)) < 2:
            return None
        shuffled = units[:]
        while shuffled == units:
            rng.shuffle(shuffled)
        return " ".join(shuffled), name
    if kind == "drop-legal":
        kept = [w for w in words if re.sub(r"[^a-z]", "", w.lower()) not in LEGAL_WORDS]
        if len(kept) == len(words) or not kept:
            return None
        return " ".join([*kept, rng.choice(LEGAL_SWAPS)]).strip(), name
    if kind == "abbreviate":
        hits = [i for i, w in enumerate(words) if w.lower().strip(".,") in ABBREVIATE]
        if not hits or len(name_tokens(name)) < 2:
            return None
        for i in hits:
            words[i] = ABBREVIATE[words[i].lower().strip(".,")]
        return " ".join(words), name
    # transliterate
    if len(name_tokens(name)) < 2:
        return None
    words = re.findall(r"[A-Za-z]+", name.lower())
    if set(entry.countries) & SLAVIC and not any(w in ENGLISH for w in words):
        lowered = name.lower() + " "
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


if __name__ == "__main__":
    raise SystemExit(main())
