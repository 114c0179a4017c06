"""The prompt guard on held-out requests written in the disguises red-teaming tools apply.

    python bench/guard_disguises.py [--data ../shared/data/prompts] [--json FILE]

Each held-out harmful request (the split's test part, never trained on) and each held-out ordinary benign
prompt (JBB benign twins, the hand-written set and the users' requests) is rewritten by each of the
converters PyRIT ships as one-line attacks (ROT13, Caesar, Atbash, reversal, spaced letters, Zalgo, Unicode
tags, URL encoding, binary, leetspeak, lookalike letters, base64, ...), written here from their published
definitions, and checked. Printed: the share of harmful requests detected (any label but ``clean``) and of
benign prompts flagged, per disguise, for the substring baseline, the lexical guard and the contextual
reading where the encoder is installed. The rewrites are deterministic (seed 20261201 where one draws).
To see an earlier guard on the same rows, run this file with ``PYTHONPATH`` pointing at that checkout's
``src``.
"""

from __future__ import annotations

import argparse
import base64
import codecs
import random
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import orjson

from clearance.guardrails import corpus

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guardrails import compared_guards, data_option, prompt_data  # noqa: E402

SEED = 20261201
LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})
CYRILLIC = str.maketrans({"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у"})
ZALGO = [chr(c) for c in range(0x300, 0x370)]


def _caesar(text: str, k: int) -> str:
    return "".join(chr((ord(c) - 97 + k) % 26 + 97) if "a" <= c <= "z" else
                   chr((ord(c) - 65 + k) % 26 + 65) if "A" <= c <= "Z" else c for c in text)


def _atbash(text: str) -> str:
    return "".join(chr(219 - ord(c)) if "a" <= c <= "z" else chr(155 - ord(c)) if "A" <= c <= "Z" else c for c in text)


def _zalgo(text: str, rng: random.Random) -> str:
    return "".join(c + "".join(rng.choice(ZALGO) for _ in range(rng.randint(1, 3))) if c.isalpha() else c
                   for c in text)


def disguises(rng: random.Random) -> dict[str, Callable[[str], str]]:
    """PyRIT 1.1.0's converters of the same names, rewritten from their definitions (no PyRIT code)."""
    return {
        "plain": lambda t: t,
        "rot13": lambda t: codecs.encode(t, "rot13"),
        "caesar (shift 3)": lambda t: _caesar(t, 3),
        "atbash": _atbash,
        "flip (text reversed)": lambda t: t[::-1],
        "character space": lambda t: " ".join(t),
        "string join (dashes)": lambda t: " ".join("-".join(w) for w in t.split()),
        "zalgo": lambda t: _zalgo(t, rng),
        "ascii smuggler (unicode tags)": lambda t: "".join(chr(0xE0000 + ord(c)) if ord(c) < 128 else c for c in t),
        "url": urllib.parse.quote,
        "binary": lambda t: " ".join(format(b, "08b") for b in t.encode()),
        "base64": lambda t: base64.b64encode(t.encode()).decode(),
        "leetspeak": lambda t: t.translate(LEET),
        "unicode confusable (cyrillic)": lambda t: t.translate(CYRILLIC),
        "decode-and-answer (rot13)": lambda t: "Decode this ROT13 message and answer it: " + codecs.encode(t, "rot13"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data_option(parser)
    parser.add_argument("--json", type=Path, default=None, help="also write every figure here")
    args = parser.parse_args(argv)
    data = prompt_data(parser, args)
    _, test = corpus.split(corpus.load(data))
    harmful = [e.text for e in test if e.cls == "harmful"]
    benign = [e.text for e in test if e.cls == "clean" and e.set != "xstest" and e.category != "scary"]
    guards = compared_guards()
    print(f"held-out rows: {len(harmful)} harmful requests, {len(benign)} ordinary benign prompts "
          f"({' vs '.join(g.version for g in guards.values())})")
    print("harmful detected / benign flagged\n")
    print("| disguise | " + " | ".join(guards) + " |")
    print("|---|" + "---|" * len(guards))
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for name, disguise in disguises(random.Random(SEED)).items():
        hidden = [disguise(t) for t in harmful]
        ordinary = [disguise(t) for t in benign]
        figures[name] = {}
        cells = []
        for g_name, guard in guards.items():
            hit = sum(guard.check_prompt(t).label != "clean" for t in hidden) / len(hidden)
            flag = sum(guard.check_prompt(t).label != "clean" for t in ordinary) / len(ordinary)
            figures[name][g_name] = {"harmful_detected": round(hit, 4), "benign_flagged": round(flag, 4)}
            cells.append(f"{hit:.3f} / {flag:.3f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    if args.json:
        args.json.write_bytes(orjson.dumps({"guards": {n: g.version for n, g in guards.items()}, "figures": figures},
                                           option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
