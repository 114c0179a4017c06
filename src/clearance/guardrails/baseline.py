"""The peer the trained guard is measured against: a banned-substring list, as LLM Guard's
``BanSubstrings`` scanner does it (case-insensitive, whole words, any match flags).

The lists were written from general knowledge of what such deployments ban, before looking
at any evaluation rows, and are not tuned on them. The baseline reads the raw prompt (no
normalization): that is how a substring scanner is usually deployed, and it is the gap
the normalizer closes. Score is 1.0 on a match, else 0.0.
"""

from __future__ import annotations

import re

from .verdict import PromptLabel, PromptVerdict

DOMAIN_SUBSTRINGS: dict[str, tuple[str, ...]] = {
    "military-command-control": (
        "airstrike", "air strike", "artillery", "fire mission", "kill chain", "targeting", "battalion", "brigade",
        "troops", "military operation", "command and control", "drone strike", "missile strike", "battlefield",
        "enemy positions", "warhead",
    ),
    "synthetic-biology-design": (
        "bioweapon", "biological weapon", "pathogen", "gain of function", "gain-of-function", "virulence",
        "transmissibility", "anthrax", "smallpox", "ebola", "botulinum", "plasmid", "gene drive", "reverse genetics",
        "select agent",
    ),
    "critical-industrial-control": (
        "scada", "plc", "modbus", "dnp3", "industrial control system", "ics", "power grid", "substation",
        "water treatment", "safety instrumented", "hmi", "reactor", "pipeline pressure", "floodgates",
    ),
}
JAILBREAK_SUBSTRINGS: tuple[str, ...] = (
    "ignore previous instructions", "ignore all previous instructions", "ignore the above", "ignore any previous",
    "disregard previous instructions", "jailbreak", "jailbroken", "developer mode", "do anything now", "dan",
    "no restrictions", "without any restrictions", "not bound by", "stay in character", "pretend to be",
    "you are no longer", "opposite mode", "evil confidant", "anti-dan", "unfiltered", "uncensored",
    "system prompt", "roleplay as", "from now on you",
)
HARMFUL_SUBSTRINGS: tuple[str, ...] = (
    "bomb", "explosive", "kill", "murder", "poison", "weapon", "gun", "shoot", "suicide", "self-harm", "meth",
    "cocaine", "heroin", "fentanyl", "drugs", "hack", "hacking", "malware", "ransomware", "virus", "keylogger",
    "phishing", "steal", "stolen", "fraud", "scam", "counterfeit", "launder", "terrorist", "terrorism",
    "racist", "hate", "harass", "stalk", "blackmail", "extort", "child pornography", "porn", "explicit",
    "illegal", "illegally", "smuggle", "trafficking", "torture", "abuse", "exploit", "evade taxes", "identity theft",
    "credit card numbers", "password", "dox", "address of", "nerve agent", "sarin", "ricin", "chemical weapon",
)


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b",
                      re.IGNORECASE)


_DOMAINS = {d: _pattern(w) for d, w in DOMAIN_SUBSTRINGS.items()}
_JAILBREAK = _pattern(JAILBREAK_SUBSTRINGS)
_HARMFUL = _pattern(HARMFUL_SUBSTRINGS)


class SubstringGuard:
    """:class:`~clearance.guardrails.verdict.PromptGuard` by banned substrings."""

    name = "substrings"
    version = "substrings-1"

    def check_prompt(self, text: str) -> PromptVerdict:
        for domain, rx in _DOMAINS.items():
            m = rx.search(text)
            if m:
                return self._hit("prohibited-domain", m.group(0), domain)
        for label, rx in (("jailbreak", _JAILBREAK), ("harmful", _HARMFUL)):
            m = rx.search(text)
            if m:
                return self._hit(label, m.group(0))  # type: ignore[arg-type]
        return PromptVerdict("clean", 0.0)

    @staticmethod
    def _hit(label: PromptLabel, found: str, domain: str | None = None) -> PromptVerdict:
        return PromptVerdict(label, 1.0, domain, (f"banned substring '{found.lower()}'",), ((label, 1.0),))
