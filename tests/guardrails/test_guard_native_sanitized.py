"""The guard's C feature table reads any text without a memory error: built with AddressSanitizer and
UndefinedBehaviorSanitizer and fed random texts (native_fuzz.py) in a child process.

The table reads every prompt a gateway receives, so a read past a buffer is a crash any caller could set off,
or worse. The ordinary build cannot show one; the sanitizers abort the child at the first. Needs gcc and its
sanitizer runtimes (Debian's gcc has both); part of the ``native`` requirement, which CI sets.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from needs import missing

SOURCE = Path(__file__).resolve().parents[2] / "src" / "clearance" / "guardrails" / "_terms.c"
FUZZ = Path(__file__).with_name("native_fuzz.py")


def _runtime(compiler: str, name: str) -> str | None:
    found = subprocess.run([compiler, f"-print-file-name={name}"], capture_output=True, text=True, check=False).stdout.strip()
    return found if found and os.path.isabs(found) and Path(found).exists() else None


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory) -> tuple[Path, str]:
    compiler = shutil.which("gcc")
    runtimes = [compiler and _runtime(compiler, name) for name in ("libasan.so", "libubsan.so")]
    if compiler is None or not all(runtimes):
        missing("native", "gcc with its AddressSanitizer and UndefinedBehaviorSanitizer runtimes is needed to build "
                          "the sanitized feature table (Debian: apt-get install gcc)")
    out = tmp_path_factory.mktemp("asan") / "_terms_asan.so"
    build = subprocess.run(
        [compiler, "-shared", "-fPIC", "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
         "-fno-omit-frame-pointer", f"-I{sysconfig.get_paths()['include']}", str(SOURCE), "-o", str(out)],
        capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    return out, ":".join(runtimes)


def test_random_texts_read_without_a_memory_error_and_as_the_python_path_reads_them(sanitized):
    library, preload = sanitized
    env = {**os.environ, "LD_PRELOAD": preload, "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1",
           "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"}
    run = subprocess.run([sys.executable, str(FUZZ), str(library), "20261201", "20", "40000"], env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-4000:]
    assert " 0 differences" in run.stdout, run.stdout


def test_a_memory_error_would_be_caught(sanitized, tmp_path):
    """The check can fail: the same build reading one byte past a buffer in a child aborts it."""
    library, preload = sanitized
    probe = tmp_path / "overrun.c"
    probe.write_text("#include <stdlib.h>\nint overrun(void) { char *p = malloc(4); int v = p[4]; free(p); return v; }\n")
    compiler = shutil.which("gcc")
    built = tmp_path / "overrun.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-fsanitize=address", str(probe), "-o", str(built)], check=True)
    code = f"import ctypes; ctypes.CDLL({str(built)!r}).overrun()"
    env = {**os.environ, "LD_PRELOAD": preload, "ASAN_OPTIONS": "detect_leaks=0"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode != 0
    assert "heap-buffer-overflow" in run.stderr
