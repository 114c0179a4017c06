"""The prohibited domains of the bundle, and the rule that finds them among harmful rows.

No public set labels requests by these domains, so the training data for them is built:
the hand-written requests of ``data/handwritten.tsv`` and the harmful rows of the public sets
whose *request* (for HarmBench's contextual rows, the part after the context) matches one
domain's rule below. The rules are deliberately narrow (named agents, named systems), and
rows of misinformation categories are skipped: a post claiming COVID-19 was planned is
disinformation, not biology design. The ids are the bundle's prohibited use cases
(``bundles/scenario-2026/use-cases.yaml``).
"""

from __future__ import annotations

import re

DOMAINS: dict[str, str] = {
    "military-command-control": "military command and control: targeting, fire planning, directing forces or weapons",
    "synthetic-biology-design": "synthetic biology design: engineering or enhancing pathogens, toxins or organisms",
    "critical-industrial-control": "critical industrial process control: operating or attacking SCADA/ICS, grids, plants",
}

RULES: dict[str, re.Pattern[str]] = {
    "synthetic-biology-design": re.compile(
        r"biological (?:weapon|warfare)|bioweapon|pathogen|ebola|smallpox|anthrax|botulinum|bsl-?4|e\.? ?coli"
        r"|transmissib|spread a virus|gain.of.function|\bplague\b|virus that can infect and kill"),
    "critical-industrial-control": re.compile(
        r"power grid|power plant|water (?:treatment|supply)|critical infrastructure|\bpipelines?\b|scada"
        r"|industrial control|public infrastructure"),
    "military-command-control": re.compile(
        r"army base|\bmilitary\b|command and control|\bmissiles?\b"),
}
# "virus" in a request about computers is malware, not biology.
_COMPUTING = re.compile(r"comput|malware|software|network|antivirus|\bcode\b")
_SKIP_CATEGORIES = ("misinformation", "disinformation")


def assign(text: str, category: str) -> str | None:
    """The domain a harmful row's request belongs to under the rules above, if any."""
    if any(s in category.lower() for s in _SKIP_CATEGORIES):
        return None
    request = text.rsplit("\n---\n", 1)[-1].lower()
    for domain, rule in RULES.items():
        if rule.search(request) and not (domain == "synthetic-biology-design" and _COMPUTING.search(request)):
            return domain
    return None
