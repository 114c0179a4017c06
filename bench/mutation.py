"""Mutation check: make small bugs in the enforcement code and see whether the tests notice.

Each mutant is one syntactic change found by walking the AST of a source file: a comparison
flipped (``>=``/``>``, ``<=``/``<``, ``==``/``!=``, ``in``/``not in``, ``is``/``is not``), ``and``
and ``or`` swapped, a ``not`` removed, ``True``/``False`` swapped, an integer moved by one, a
returned value replaced by ``None``, a statement of an ``if`` body deleted, a ``[0]``/``[-1]``
index swapped, ``+``/``-`` swapped. Only the text of the changed node is rewritten; the rest
of the file keeps its bytes, so line numbers in the report are the real ones.

The working tree is never written. Each worker (two by default, the machine has two cores)
owns a copy of the checkout (without ``.git``, environments and caches) in a temporary directory (with ``../shared`` linked
beside it, so the acceptance cases run); a mutant is written into that copy, the fast test
subset of its source directory runs there with ``PYTHONPATH`` pointing at the copy (servers
the tests start inherit it), and the file is restored from memory. ``PYTHONDONTWRITEBYTECODE``
keeps a stale ``.pyc`` of a mutant from surviving its restore. Ctrl-C kills the running test
process groups and removes the copies.

A mutant is *killed* when its subset fails (or times out: reported apart), *survives* when it
passes. Before the first mutant every subset runs once unmutated and must pass.

    python bench/mutation.py --max-mutants 200 --seed 11
    python bench/mutation.py src/clearance/core/tiers.py --list
    python bench/mutation.py --map src/clearance/gateway=tests/gateway,tests/api --jobs 2

Lines carrying ``# pragma: no mutate`` are skipped (for example log messages).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PATHS = ["src/clearance/core", "src/clearance/gateway", "src/clearance/enforcement",
                 "src/clearance/obligations"]
# Source directory -> the fast test directories that guard it (longest prefix wins).
DEFAULT_MAP = {
    "src/clearance/core": ["tests/core", "tests/scenarios", "tests/policy"],
    # The shared-counter cases start two-worker servers on four stores: a minute, for what
    # tests/gateway's other files already check per mutant. Items starting with "-" go to pytest.
    "src/clearance/gateway": ["tests/gateway", "--ignore=tests/gateway/test_gateway_counters.py"],
    "src/clearance/enforcement": ["tests/enforcement", "tests/gateway", "tests/api",
                                  "--ignore=tests/gateway/test_gateway_counters.py"],
    "src/clearance/obligations": ["tests/enforcement", "tests/gateway", "tests/policy",
                                  "--ignore=tests/gateway/test_gateway_counters.py"],
}
FLIPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.GtE: ast.Gt, ast.Gt: ast.GtE, ast.LtE: ast.Lt, ast.Lt: ast.LtE, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}


@dataclass(frozen=True)
class Mutant:
    path: str  # relative to the repository root
    line: int
    col: int
    end_line: int
    end_col: int
    kind: str
    before: str
    after: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def apply(self, source: str) -> str:
        lines = source.splitlines(keepends=True)
        start = sum(len(x) for x in lines[: self.line - 1]) + _byte_to_char(lines[self.line - 1], self.col)
        end = sum(len(x) for x in lines[: self.end_line - 1]) + _byte_to_char(lines[self.end_line - 1], self.end_col)
        return source[:start] + self.after + source[end:]


def _byte_to_char(line: str, offset: int) -> int:
    """AST offsets count UTF-8 bytes; strings are indexed by characters."""
    return len(line.encode("utf-8")[:offset].decode("utf-8", errors="ignore"))


# -- making mutants --------------------------------------------------------------------------


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """Nodes inside annotations, ``if TYPE_CHECKING:`` blocks and docstrings: no behaviour to mutate."""
    skip = _docstring_nodes(tree)

    def mark(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            mark(node.returns)
            for arg in [*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs, node.args.vararg,
                        node.args.kwarg]:
                if arg is not None:
                    mark(arg.annotation)
            for decorator in node.decorator_list:
                mark(decorator)  # declarations (`@dataclass(frozen=True)`, `@lru_cache(8)`), not behaviour
        elif isinstance(node, ast.ClassDef):
            for decorator in node.decorator_list:
                mark(decorator)
        elif isinstance(node, ast.AnnAssign):
            mark(node.annotation)
        elif isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            mark(node)
    return skip


def _neg_one(node: ast.AST) -> bool:
    return (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)
            and node.operand.value == 1 and type(node.operand.value) is int)


def _variants(node: ast.AST) -> Iterator[tuple[str, ast.AST | str]]:
    """``(kind, replacement)`` for each mutation of ``node``; a string replacement is used as is."""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            flipped = FLIPS.get(type(op))
            if flipped is not None:
                ops = list(node.ops)
                ops[i] = flipped()
                yield "compare", ast.Compare(node.left, ops, node.comparators)
    elif isinstance(node, ast.BoolOp):
        yield "boolop", ast.BoolOp(ast.Or() if isinstance(node.op, ast.And) else ast.And(), node.values)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "not", node.operand
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        yield "bool", ast.Constant(not node.value)
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        yield "int+1", ast.Constant(node.value + 1)
        if node.value != 0:
            yield "int-1", ast.Constant(node.value - 1)
    elif isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        yield "return", "return None"
    elif isinstance(node, ast.Subscript):
        index = node.slice
        if isinstance(index, ast.Constant) and index.value == 0 and type(index.value) is int:
            yield "index", ast.Subscript(node.value, ast.UnaryOp(ast.USub(), ast.Constant(1)), node.ctx)
        elif _neg_one(index):
            yield "index", ast.Subscript(node.value, ast.Constant(0), node.ctx)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)) and not (
            isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)):  # string joins
        yield "arith", ast.BinOp(node.left, ast.Sub() if isinstance(node.op, ast.Add) else ast.Add(), node.right)


def mutants_of(path: Path, root: Path = ROOT) -> list[Mutant]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    skip = _skipped_nodes(tree)
    lines = source.splitlines()
    rel = str(path.resolve().relative_to(root))
    found: list[Mutant] = []

    def add(node: ast.AST, kind: str, replacement: ast.AST | str, statement: bool = False) -> None:
        before = ast.get_source_segment(source, node) or ""
        if isinstance(replacement, str):
            after = replacement
        else:
            after = ast.unparse(replacement)
            if not statement and not isinstance(replacement, (ast.Constant, ast.Subscript, ast.Name)):
                after = f"({after})"  # keeps the precedence of the spot it is put in
        found.append(Mutant(rel, node.lineno, node.col_offset, node.end_lineno or node.lineno,
                            node.end_col_offset or node.col_offset, kind, before, after))

    for node in ast.walk(tree):
        if id(node) in skip or not hasattr(node, "lineno"):
            continue
        if "pragma: no mutate" in lines[node.lineno - 1]:
            continue
        if isinstance(node, ast.If):
            for stmt in node.body:
                if not isinstance(stmt, ast.Pass) and id(stmt) not in skip:
                    add(stmt, "delete", "pass", statement=True)
        for kind, replacement in _variants(node):
            add(node, kind, replacement, statement=isinstance(node, ast.stmt))
    found.sort(key=lambda m: (m.line, m.col, m.kind, m.after))
    return found


def collect(paths: list[str], root: Path = ROOT) -> list[Mutant]:
    files: list[Path] = []
    for p in paths:
        target = (root / p) if not Path(p).is_absolute() else Path(p)
        if target.is_dir():
            files.extend(sorted(target.rglob("*.py")))
        elif target.suffix == ".py" and target.exists():
            files.append(target)
    out: list[Mutant] = []
    for f in files:
        out.extend(mutants_of(f, root))
    return out


def tests_for(path: str, mapping: dict[str, list[str]]) -> list[str]:
    best = max((src for src in mapping if path.startswith(src.rstrip("/") + "/") or path == src), key=len, default=None)
    if best is None:
        raise SystemExit(f"{path}: no test directories mapped for it (use --map {Path(path).parent}=tests/...)")
    return mapping[best]


# -- running them ----------------------------------------------------------------------------


@dataclass
class Result:
    mutant: Mutant
    status: str  # killed, survived, timeout, error
    seconds: float
    detail: str = ""


class Workspace:
    """A private copy of the repository's ``src`` and ``tests`` where mutants are written."""

    def __init__(self, base: Path, index: int) -> None:
        self.home = base / f"w{index}"
        self.repo = self.home / "repo"
        self.repo.mkdir(parents=True)
        # The whole checkout but its history, environments and caches: tests read files beside
        # src and tests (examples, deployment files, bench data).
        skip = shutil.ignore_patterns(".git", ".venv*", "__pycache__", "*.pyc", ".pytest_cache", ".hypothesis",
                                      ".ruff_cache", "*.egg-info", "*.db", "*.db-wal", "*.db-shm", "out")
        for part in ROOT.iterdir():
            if skip(str(ROOT), [part.name]):
                continue
            if part.is_dir():
                shutil.copytree(part, self.repo / part.name, ignore=skip)
            else:
                shutil.copy2(part, self.repo / part.name)
        shared = ROOT.parent / "shared"
        if shared.exists():
            (self.home / "shared").symlink_to(shared)
        self.basetemp = self.home / "pytest-tmp"

    def run(self, test_dirs: list[str], timeout_s: float, running: set[subprocess.Popen]) -> tuple[str, str]:
        env = {**os.environ, "PYTHONPATH": str(self.repo / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("PYTEST_ADDOPTS", None)
        shutil.rmtree(self.basetemp, ignore_errors=True)
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--basetemp",
                   str(self.basetemp), *test_dirs]
        process = subprocess.Popen(command, cwd=self.repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   start_new_session=True, text=True)
        running.add(process)
        try:
            out, _ = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.communicate()
            return "timeout", ""
        finally:
            running.discard(process)
        if process.returncode == 0:
            return "survived", ""
        if process.returncode in (1, 2, 3, 4):
            # Failed tests, or a suite that no longer imports or collects: the unmutated tree
            # passed, so the mutant is what broke it.
            failed = [line for line in out.splitlines() if line.startswith(("FAILED", "ERROR"))]
            return "killed", failed[0] if failed else out.strip().splitlines()[-1] if out.strip() else ""
        return "error", out[-2000:]  # no tests collected (5) or a crash: not a verdict


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the test run's own group: pytest and the servers it started


def run_all(mutants: list[Mutant], mapping: dict[str, list[str]], jobs: int, timeout_s: float,
            progress: bool = True, log_path: str | None = None) -> list[Result]:
    """Test every mutant; each verdict is also appended to ``log_path`` (JSON lines) as it comes."""
    log = open(log_path, "a", encoding="utf-8") if log_path else None  # noqa: SIM115 - closed below
    running: set[subprocess.Popen] = set()
    results: list[Result] = []
    lock = threading.Lock()
    sources = {m.path: (ROOT / m.path).read_text(encoding="utf-8") for m in mutants}
    with tempfile.TemporaryDirectory(prefix="clearance-mutation-") as tmp:
        spaces: queue.Queue[Workspace] = queue.Queue()
        made = [Workspace(Path(tmp), i) for i in range(jobs)]
        for w in made:
            spaces.put(w)
        subsets = sorted({tuple(tests_for(m.path, mapping)) for m in mutants})
        for subset in subsets:
            existing = [d for d in subset if d.startswith("-") or (ROOT / d).exists()]
            status, detail = made[0].run(existing, timeout_s * 3, running)
            if status != "survived":
                raise SystemExit(f"the unmutated tree fails {' '.join(existing)} ({status}): {detail}\n"
                                 "fix the suite first; a mutation score over a failing suite means nothing")

        def one(mutant: Mutant) -> Result:
            space = spaces.get()
            target = space.repo / mutant.path
            started = time.monotonic()
            try:
                mutated = mutant.apply(sources[mutant.path])
                try:
                    compile(mutated, mutant.path, "exec")
                except SyntaxError as exc:
                    return Result(mutant, "error", 0.0, f"mutant does not compile: {exc}")
                target.write_text(mutated, encoding="utf-8")
                dirs = [d for d in tests_for(mutant.path, mapping) if d.startswith("-") or (ROOT / d).exists()]
                status, detail = space.run(dirs, timeout_s, running)
                return Result(mutant, status, time.monotonic() - started, detail)
            finally:
                target.write_text(sources[mutant.path], encoding="utf-8")
                spaces.put(space)

        pool = ThreadPoolExecutor(max_workers=jobs)
        try:
            for result in pool.map(one, mutants):
                with lock:
                    results.append(result)
                if log is not None:
                    log.write(json.dumps({**asdict(result.mutant), "status": result.status,
                                          "seconds": round(result.seconds, 1)}) + "\n")
                    log.flush()
                if progress:
                    m = result.mutant
                    print(f"[{len(results)}/{len(mutants)}] {result.status:8} {m.where} {m.kind}: "
                          f"{m.before[:60]!r} -> {m.after[:60]!r} ({result.seconds:.0f} s)", file=sys.stderr,
                          flush=True)
        except KeyboardInterrupt:
            for process in list(running):
                _kill_group(process)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        if log is not None:
            log.close()
    return results


def report(results: list[Result], equivalent: set[str]) -> dict:
    per_module: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in results:
        status = "equivalent" if _key(r.mutant) in equivalent and r.status == "survived" else r.status
        per_module[r.mutant.path][status] += 1
    rows = []
    for path in sorted(per_module):
        counts = per_module[path]
        judged = counts["killed"] + counts["timeout"] + counts["survived"]
        rows.append({"module": path, **counts, "kill_rate": (counts["killed"] + counts["timeout"]) / judged if judged else None})
    judged = [r for r in results if r.status in ("killed", "timeout", "survived")
              and not (r.status == "survived" and _key(r.mutant) in equivalent)]
    killed = sum(r.status in ("killed", "timeout") for r in judged)
    survivors = [r for r in results if r.status == "survived" and _key(r.mutant) not in equivalent]
    return {
        "mutants": len(results), "judged": len(judged), "killed": killed,
        "kill_rate": killed / len(judged) if judged else None,
        "timeouts": sum(r.status == "timeout" for r in results),
        "errors": [f"{r.mutant.where} {r.mutant.kind}: {r.detail[:200]}" for r in results if r.status == "error"],
        "equivalent": sorted(_key(r.mutant) for r in results if r.status == "survived" and _key(r.mutant) in equivalent),
        "modules": rows,
        "survivors": [asdict(r.mutant) for r in survivors],
    }


def _key(m: Mutant) -> str:
    return f"{m.path}:{m.line}:{m.kind}:{m.after}"


def _print(summary: dict) -> None:
    print(f"{'module':55} {'killed':>6} {'t/out':>5} {'surv':>5} {'equiv':>5} {'rate':>6}")
    for row in summary["modules"]:
        rate = "-" if row["kill_rate"] is None else f"{row['kill_rate']:.0%}"
        print(f"{row['module']:55} {row.get('killed', 0):6} {row.get('timeout', 0):5} {row.get('survived', 0):5} "
              f"{row.get('equivalent', 0):5} {rate:>6}")
    rate = summary["kill_rate"]
    print(f"\n{summary['killed']} of {summary['judged']} judged mutants killed"
          f" ({'-' if rate is None else f'{rate:.1%}'}); {summary['mutants']} run, "
          f"{len(summary['equivalent'])} listed as equivalent, {len(summary['errors'])} errors")
    if summary["survivors"]:
        print("\nsurvivors:")
        for m in summary["survivors"]:
            print(f"  {m['path']}:{m['line']}  {m['kind']}: {m['before'][:70]!r} -> {m['after'][:70]!r}")
    for line in summary["errors"]:
        print(f"  error: {line}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def parse_map(items: list[str]) -> dict[str, list[str]]:
    mapping = dict(DEFAULT_MAP)
    for item in items:
        src, sep, tests = item.partition("=")
        if not sep or not tests:
            raise SystemExit(f"--map {item}: expected SRC_DIR=TEST_DIR[,TEST_DIR...]")
        mapping[src.rstrip("/")] = [t for t in tests.split(",") if t]
    return mapping


def load_equivalent(path: str | None) -> set[str]:
    """Keys (``path:line:kind:after``) of mutants judged equivalent, one a line, ``#`` comments."""
    if path is None:
        return set()
    out = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.add(line)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", default=DEFAULT_PATHS, help="source files or directories to mutate")
    parser.add_argument("--max-mutants", type=int, default=200, help="sample size (0: every mutant)")
    parser.add_argument("--seed", type=int, default=11, help="seed of the sample, for a reproducible run")
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per mutant's test run")
    parser.add_argument("--map", action="append", default=[], metavar="SRC=TESTS",
                        help="test directories for a source directory (comma-separated), added to the defaults")
    parser.add_argument("--equivalent", default=str(ROOT / "bench" / "data" / "mutation-equivalent.txt"),
                        help="file of mutants judged equivalent (not counted)")
    parser.add_argument("--json", help="write the summary and every result here")
    parser.add_argument("--list", action="store_true", help="list the sampled mutants and stop")
    parser.add_argument("--resume", action="store_true",
                        help="keep the verdicts already in the --json run's progress file; test only the rest")
    parser.add_argument("--retest", metavar="JSON",
                        help="test again only the survivors of an earlier --json run (after adding tests); "
                             "the earlier verdicts of the rest are kept")
    args = parser.parse_args(argv)
    # A background run has SIGINT ignored: SIGTERM stops it as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)

    paths = [p for p in args.paths if (ROOT / p).exists() or Path(p).exists()]
    mutants = collect(paths)
    if not mutants:
        raise SystemExit(f"no mutants in {', '.join(args.paths)}")
    sample = list(mutants)
    random.Random(args.seed).shuffle(sample)
    if args.max_mutants:
        sample = sample[: args.max_mutants]
    # Tested in the sample's random order, so a run cut short is still a random subsample.
    print(f"{len(mutants)} mutants in {', '.join(paths)}; testing {len(sample)} (seed {args.seed})", file=sys.stderr)
    if args.list:
        for m in sorted(sample, key=lambda m: (m.path, m.line, m.col, m.kind, m.after)):
            print(f"{m.where} {m.kind}: {m.before!r} -> {m.after!r}")
        return 0
    mapping = parse_map(args.map)
    equivalent = load_equivalent(args.equivalent if Path(args.equivalent).exists() else None)
    started = time.monotonic()
    kept: list[Result] = []
    if args.retest:
        earlier = json.loads(Path(args.retest).read_text())["results"]
        fields = {f for f in Mutant.__dataclass_fields__}
        for row in earlier:
            mutant = Mutant(**{k: v for k, v in row.items() if k in fields})
            if row["status"] not in ("survived", "error") or (row["status"] == "survived" and _key(mutant) in equivalent):
                kept.append(Result(mutant, row["status"], row["seconds"], row.get("detail", "")))
        sample = [m for m, status in ((Mutant(**{k: v for k, v in row.items() if k in fields}), row["status"])
                                      for row in earlier)
                  if status == "error" or (status == "survived" and _key(m) not in equivalent)]
        print(f"retesting the {len(sample)} survivors (and errors) of {args.retest}", file=sys.stderr)
    log_path = str(Path(args.json).with_suffix(".progress.jsonl")) if args.json else None
    if args.resume and log_path and Path(log_path).exists():
        fields = set(Mutant.__dataclass_fields__)
        done = {}
        for line in Path(log_path).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            done[_key(Mutant(**{k: v for k, v in row.items() if k in fields}))] = row
        kept += [Result(m, done[_key(m)]["status"], done[_key(m)]["seconds"]) for m in sample if _key(m) in done]
        sample = [m for m in sample if _key(m) not in done]
        print(f"resuming: {len(kept)} verdicts kept from {log_path}, {len(sample)} to test", file=sys.stderr)
    results = kept + run_all(sample, mapping, args.jobs, args.timeout, log_path=log_path)
    summary = report(results, equivalent)
    summary["seconds"] = round(time.monotonic() - started)
    summary["command"] = " ".join(["python", "bench/mutation.py", *(argv if argv is not None else sys.argv[1:])])
    _print(summary)
    print(f"\n{summary['seconds']} s", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps({**summary, "results": [
            {**asdict(r.mutant), "status": r.status, "seconds": round(r.seconds, 1), "detail": r.detail}
            for r in results]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
