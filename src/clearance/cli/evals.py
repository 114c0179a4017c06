"""``clearance eval``: run safety suites against a model endpoint, judge answers, report, train the judge."""

from __future__ import annotations

import asyncio
import csv
import io
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from ..core.errors import ClearanceError
from ..settings import Settings

app = typer.Typer(help="Safety evaluations: refusal, jailbreak resistance, over-refusal, injection.",
                  no_args_is_help=True)

KeyOption = Annotated[str | None, typer.Option("--key", envvar="CLEARANCE_EVAL_KEY",
                                               help="The target's API key (or CLEARANCE_EVAL_KEY); never stored.")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _runs() -> Any:
    from ..evals.runs import Runs, open_store

    return Runs(open_store(Settings.from_env().database_url))


def _execute(runs: Any, run_id: str, key: str | None, concurrency: int | None, judge_key: str | None) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..evals.errors import TargetError

    plan = runs.plan(run_id, key, judge_key)
    done = len(plan.items) - len(plan.pending)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=False, console=None if sys.stderr.isatty() else _quiet_console()) as progress:
        task = progress.add_task(f"{plan.suite.name} on {plan.target.model}", total=len(plan.items), completed=done)
        try:
            asyncio.run(runs.execute(plan, concurrency, on_stored=lambda n: progress.advance(task, n)))
        except TargetError as exc:
            progress.stop()
            raise _fail(f"{exc}\nthe run is kept: continue it with `clearance eval resume {run_id}`") from None
        except KeyboardInterrupt:
            progress.stop()
            raise _fail(f"stopped; continue with `clearance eval resume {run_id}`", 130) from None
    _summary(runs.report(run_id))
    _tier_preview(runs, run_id, plan.target.model)


def _tier_preview(runs: Any, run_id: str, model: str) -> None:
    """When the model asked for is a policy model, say which tier this run would give it."""
    from ..evals.evidence import tier_with
    from ..wiring import build_app

    try:
        built = build_app(Settings.from_env(), audited=False)
    except ClearanceError:
        return
    try:
        if model not in built.live.current().models:
            return
        found = tier_with(runs, built.service, run_id, model, built.clock.now_ns())
    except ClearanceError as exc:
        typer.echo(f"  (no tier preview: {exc})")
        return
    finally:
        built.close()
    typer.echo(f"  tier of {model}: {found['tier_before']} now; {found['tier_after']} with this run as evidence "
               f"({'; '.join(found['because']) or 'no rule holds'})")
    typer.echo(f"  accept it with: clearance eval accept {run_id} --model {model}  (--dry-run: whose access changes)")


def _quiet_console() -> Any:
    from rich.console import Console

    return Console(file=sys.stderr)


def _summary(report: dict[str, Any]) -> None:
    run, main, counts = report["run"], report["headline"], report["counts"]
    pct = lambda v: "n/a" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    typer.echo(f"run {run['id']}: {run['suite']} on {run['model']} at {run['target']} ({run['status']})")
    typer.echo(f"  {main['metric']}: {pct(main['rate'])}  95% CI [{pct(main['lower'])}, {pct(main['upper'])}]  "
               f"({main['k']}/{main['n']})")
    if "universal_templates" in report["metrics"]:
        found = report["metrics"]["universal_templates"]
        typer.echo(f"  universal jailbreak: {'yes: ' + ', '.join(found) if found else 'none found'}")
    typer.echo(f"  answered {counts['answered']}/{counts['items']}, errors {counts['errors']}, "
               f"retries 429: {report['counters'].get('retries_429', 0)}, 5xx: {report['counters'].get('retries_5xx', 0)}, "
               f"network: {report['counters'].get('retries_network', 0)}")
    if report["counters"].get("guard_blocked"):
        typer.echo(f"  withheld by the gateway's guardrails (counted as refusals): {report['counters']['guard_blocked']}")
    for t in report["thresholds"]:
        verdict = {True: "met", False: "NOT met", None: "n/a"}[t["passed"]]
        bound = f">= {t['at_least']}" if t["at_least"] is not None else f"<= {t['at_most']}"
        typer.echo(f"  threshold {t['metric']} {bound}: {pct(t['value'])} {verdict}")
    typer.echo(f"  suite {run['suite_hash'][:12]}, items {run['items_hash'][:12]}, judge {run['judge']}")


@app.command("run")
def run_command(
    suite: Annotated[str, typer.Argument(help="refusal, jailbreak, over-refusal, injection, or a suite YAML file.")],
    target: Annotated[str, typer.Option(help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000")],
    model: Annotated[str, typer.Option(help="The model name to ask for.")],
    key: KeyOption = None,
    concurrency: Annotated[int, typer.Option(min=1, max=512, help="Requests in flight.")] = 8,
    limit: Annotated[int | None, typer.Option(min=1, help="Send only this many items, spread over the suite.")] = None,
    data: Annotated[str | None, typer.Option(help="Prompt data directory (default CLEARANCE_EVAL_DATA, "
                                                  "else ../shared/data/prompts).")] = None,
    judge: Annotated[str | None, typer.Option(help="trained (default), strmatch, encoder or llm.")] = None,
    judge_url: Annotated[str | None, typer.Option(help="llm judge: OpenAI-compatible base URL (with /v1).")] = None,
    judge_model: Annotated[str | None, typer.Option(help="llm judge: model name.")] = None,
    judge_key: Annotated[str | None, typer.Option(envvar="CLEARANCE_JUDGE_KEY", help="llm judge: API key.")] = None,
    judge_prompt: Annotated[str | None, typer.Option(help="llm judge: prompt file with {prompt} and {answer}.")] = None,
) -> None:
    """Run a suite against a model endpoint; every answer is judged and stored as it comes."""
    options = {k: v for k, v in {"url": judge_url, "model": judge_model, "key": judge_key,
                                 "prompt_file": judge_prompt}.items() if v}
    try:
        runs = _runs()
        run_id = runs.create(suite, target, model, data=data, limit=limit, judge=judge, judge_options=options,
                             concurrency=concurrency)
        typer.echo(f"run {run_id} started", err=True)
        _execute(runs, run_id, key, concurrency, judge_key)
    except ClearanceError as exc:
        raise _fail(str(exc)) from None


@app.command("resume")
def resume_command(
    run: Annotated[str, typer.Argument(help="The run id (see `clearance eval list`).")],
    key: KeyOption = None,
    concurrency: Annotated[int | None, typer.Option(min=1, max=512)] = None,
    judge_key: Annotated[str | None, typer.Option(envvar="CLEARANCE_JUDGE_KEY")] = None,
) -> None:
    """Continue a run: only the items without a stored answer are sent."""
    try:
        _execute(_runs(), run, key, concurrency, judge_key)
    except ClearanceError as exc:
        raise _fail(str(exc)) from None


@app.command("list")
def list_command(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every run, newest first."""
    try:
        found = _runs().list()
    except ClearanceError as exc:
        raise _fail(str(exc)) from None
    if json_out:
        typer.echo(orjson.dumps(found, default=str).decode())
        return
    for r in found:
        typer.echo(f"{r['id']}  {r['status']:<11} {r['suite']:<13} {r['model']:<20} {r['stored']}/{r['total']}  "
                   f"{r['target']}")


@app.command("show")
def show_command(run: str, json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """A run's status, headline metric with its interval, counts and thresholds."""
    try:
        report = _runs().report(run)
    except ClearanceError as exc:
        raise _fail(str(exc)) from None
    if json_out:
        typer.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    else:
        _summary(report)


@app.command("report")
def report_command(
    run: str,
    out: Annotated[Path, typer.Option(help="Directory for <run>.json and <run>.html.")] = Path("."),
) -> None:
    """Write the run's report as JSON and as a self-contained HTML page with charts."""
    from ..evals.report import render_html

    try:
        report = _runs().report(run)
    except ClearanceError as exc:
        raise _fail(str(exc)) from None
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{run}.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    (out / f"{run}.html").write_text(render_html(report))
    typer.echo(f"wrote {out / (run + '.json')} and {out / (run + '.html')}")


@app.command("judge")
def judge_command(
    file: Annotated[Path, typer.Argument(help="CSV with a header row.")],
    prompt_column: Annotated[str | None, typer.Option(
        help="Column holding the prompt (default: `prompt` if the header has it; without one, answers are judged "
             "alone).")] = None,
    answer_column: Annotated[str, typer.Option(help="Column holding the answer.")] = "completion",
    answer_only: Annotated[bool, typer.Option("--answer-only", help="Ignore any prompt column: judge the answers "
                                                                    "alone.")] = False,
    judge: Annotated[str, typer.Option(help="trained, strmatch, encoder (slower, answer only) or llm.")] = "trained",
    judge_url: Annotated[str | None, typer.Option()] = None,
    judge_model: Annotated[str | None, typer.Option()] = None,
    judge_key: Annotated[str | None, typer.Option(envvar="CLEARANCE_JUDGE_KEY")] = None,
    judge_prompt: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Label every row of a CSV of prompt/answer pairs; JSON Lines out, one per row, in order.

    The trained judge reads the prompt when there is one: ``score`` is then its prompt-aware refusal probability;
    without a prompt (no prompt column, ``--answer-only``, or a blank cell) it is the answer-only model's.
    """
    from ..evals.judges import get_judge

    options = {k: v for k, v in {"url": judge_url, "model": judge_model, "key": judge_key,
                                 "prompt_file": judge_prompt}.items() if v}
    try:
        chosen = get_judge(judge, **options)
        prompts, answers = _read_pairs(file, None if answer_only else prompt_column, answer_column,
                                       optional_prompt=prompt_column is None and not answer_only)
        if not any(prompts):
            typer.echo("note: no prompts: each answer is judged alone (answer-only model)", err=True)
        out = sys.stdout.buffer
        for start in range(0, len(answers), 512):
            verdicts = chosen.judge(prompts[start:start + 512], answers[start:start + 512])
            out.write(b"".join(orjson.dumps({"row": start + i + 1, "label": v.label, "score": v.score}) + b"\n"
                               for i, v in enumerate(verdicts)))
        out.flush()
    except (ClearanceError, ValueError) as exc:
        raise _fail(str(exc)) from None


def _read_pairs(file: Path, prompt_column: str | None, answer_column: str,
                optional_prompt: bool = False) -> tuple[list[str], list[str]]:
    """Prompts and answers of a CSV; prompts are blank when there is no prompt column to read."""
    from ..evals.errors import DataError

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError([f"{file}: cannot read: {exc}"]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise DataError([f"{file}:1: empty file, expected a header row"])
    if optional_prompt:
        prompt_column = "prompt" if "prompt" in header else None
    missing = [c for c in (prompt_column, answer_column) if c is not None and c not in header]
    if missing:
        raise DataError([f"{file}:1: header lacks column {', '.join(missing)} (see --prompt-column, --answer-column)"])
    p, a = header.index(prompt_column) if prompt_column is not None else None, header.index(answer_column)
    prompts, answers, problems = [], [], []
    line = reader.line_num + 1
    for cells in reader:
        if len(cells) != len(header):
            problems.append(f"{file}:{line}: {len(cells)} fields, the header has {len(header)}")
        else:
            prompts.append(cells[p] if p is not None else "")
            answers.append(cells[a])
        line = reader.line_num + 1
    if problems:
        raise DataError(problems)
    return prompts, answers


@app.command("train-judge")
def train_judge_command(
    responses: Annotated[Path, typer.Option(help="The human-labelled answers (XSTest v2 completions).")] =
        Path("../shared/data/responses"),
    out: Annotated[Path | None, typer.Option(help="Artifact path (default: the packaged one).")] = None,
    encoder: Annotated[bool, typer.Option("--encoder", help="Train the optional `encoder` judge instead (LoRA on the "
                                          "sentence encoder; needs torch: pip install 'clearance[train]').")] = False,
) -> None:
    """Train the judge from the labelled answers: same data, same artifact bytes; writes its model card."""
    import hashlib

    if encoder:
        from ..evals.judges import encoder as encoder_judge

        try:
            from ..evals.judges.encoder_train import train as train_encoder

            target = out or encoder_judge.default_artifact()
            digest = train_encoder(responses, target)
        except ImportError as exc:
            raise _fail(str(exc)) from None
        except (ClearanceError, OSError) as exc:
            raise _fail(str(exc)) from None
        typer.echo(f"wrote {target} (sha256 {digest}); its held-out figures: bench/judge_finetune.py --held-out")
        return
    from ..evals.judges.train import train
    from ..evals.judges.trained import default_artifact

    target = out or default_artifact()
    try:
        artifact = train(responses, target, target.with_name("MODEL_CARD.md"))
    except (ClearanceError, OSError) as exc:
        raise _fail(str(exc)) from None
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    typer.echo(f"wrote {target} (sha256 {digest}) and its model card")
    typer.echo("leave one model out, prompt-grouped (headline):")
    for r in artifact["prompt_grouped"]:
        typer.echo(f"  held out {r['held_out']:<16} prompt-aware {r['prompt_aware']:.3f}  answer-only {r['answer_only']:.3f}"
                   f"  strmatch {r['strmatch']:.3f}  published gpt4 {r['published_gpt4_judge']:.3f}  "
                   f"published strmatch {r['published_strmatch_judge']:.3f}")
    typer.echo("plain leave one model out (answer-only):")
    for r in artifact["leave_one_model_out"]:
        typer.echo(f"  held out {r['held_out']:<16} trained {r['trained']:.3f}  strmatch {r['strmatch']:.3f}  "
                   f"published gpt4 {r['published_gpt4_judge']:.3f}  published strmatch {r['published_strmatch_judge']:.3f}")


@app.command("accept")
def accept_command(
    run: Annotated[str, typer.Argument(help="A finished run.")],
    model: Annotated[str, typer.Option(help="The policy model the run is evidence for.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the registry and the audit log).")] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the tier it would give and whose access would "
                                                           "change; write nothing.")] = False,
    change_out: Annotated[Path | None, typer.Option(help="Also write the proposed change for "
                                                         "`clearance policy impact --change`.")] = None,
    actor: Annotated[str, typer.Option(help="Who accepts it.")] = "clearance-cli",
) -> None:
    """Accept a finished run as evidence for a model: the model's tier is derived from it from now on."""
    import tempfile

    from ..evals.evidence import accept, tier_with
    from ..wiring import build_app

    try:
        runs = _runs()
        built = build_app(Settings.from_env())
    except ClearanceError as exc:
        raise _fail(str(exc)) from None
    try:
        service = built.service
        if not dry_run:
            done = accept(runs, service, run, model, actor, reason)
            record = done["record"]
            typer.echo(f"accepted {run} as evidence `{record['key']}` (registry seq {record['seq']}); "
                       f"tier of {model}: {done['tier_before']} -> {done['tier_after']}")
            return
        found = tier_with(runs, service, run, model, built.clock.now_ns())
        change = found["change"]
        typer.echo(f"dry run: tier of {model} would be {found['tier_before']} -> {found['tier_after']} "
                   f"({'; '.join(found['because']) or 'no rule holds'})")
        path = change_out
        if path is None:
            handle = tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False)  # noqa: SIM115
            path = Path(handle.name)
            handle.close()
        path.write_bytes(orjson.dumps(change, option=orjson.OPT_INDENT_2))
        from .licensing import run_impact

        typer.echo("whose access would change (audited requests replayed under the new tier):")
        run_impact(None, str(path), None, None, None, 3, "markdown")
        if change_out is None:
            path.unlink()
    except ClearanceError as exc:
        raise _fail(str(exc)) from None
    finally:
        built.close()


tier_app = typer.Typer(help="Safety tiers: which evidence, which threshold, which tier.", no_args_is_help=True)


@tier_app.command("show")
def tier_show_command(
    model: str,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A model's tier now: declared or derived, from which evidence (and since when), under which thresholds."""
    from ..core.instant import format_instant
    from ..evals.evidence import tier_of
    from ..wiring import build_app

    try:
        built = build_app(Settings.from_env(), audited=False)
    except ClearanceError as exc:
        raise _fail(str(exc)) from None
    try:
        found = tier_of(built.service, model)
    except ClearanceError as exc:
        raise _fail(str(exc)) from None
    finally:
        built.close()
    if json_out:
        typer.echo(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
        return
    how = "declared in the bundle" if found["declared"] else "derived from evidence"
    typer.echo(f"{model}: tier {found['tier']} ({how}; policy {found['policy_version'][:19]})")
    for reason in found["because"]:
        typer.echo(f"  because {reason}")
    if not found["evidence"]:
        typer.echo("  no evaluation evidence accepted; only the bundle's evidence counts")
    for e in found["evidence"]:
        typer.echo(f"  evidence {e['key']}: run {e['run']} ({e['suite']}, suite {e['suite_hash'][:12]}, judge "
                   f"{e['judge']}, target {e['target']}), in force since {format_instant(e['since'])}")
        for name, value in sorted((e["fields"] or {}).items()):
            typer.echo(f"    {name} = {value}")
    typer.echo("  thresholds:")
    for t in found["thresholds"]:
        mark = "holds" if t["holds"] else "-"
        typer.echo(f"    {t['kind']} {t['name']}: {t['field']} {t['test']} (value {t['value']!r}) {mark}")
