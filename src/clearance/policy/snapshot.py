"""Bundle -> checked :class:`Policy` -> compiled snapshot ready for ``decide()``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..core.errors import PolicyError
from ..core.index import CompiledPolicy, compile_policy
from ..core.model import Policy
from .build import build_policy
from .canonical import policy_version
from .check import check_sections
from .load import read_bundle

DEFAULT_BUNDLE = "scenario-2026"


def default_bundle_path() -> Path:
    """The example bundle shipped in the package (``scenario-2026.md``)."""
    return Path(str(resources.files("clearance") / "bundles" / DEFAULT_BUNDLE))


def read_policy(path: str | Path | None = None) -> Policy:
    """Read, validate and check a bundle directory; raise :class:`PolicyError` listing every problem.

    Two passes: every file against the schema (all files, every problem), then,
    once all files pass, the references across files. Cross-file checks are not
    run on a bundle with schema errors, where a rejected file would make every
    reference to its items look dangling.
    """
    root = Path(path) if path is not None else default_bundle_path()
    sections, problems = read_bundle(root)
    problems += check_sections(sections) if not problems else []
    if problems:
        raise PolicyError(problems)
    return build_policy(sections)


def snapshot(policy: Policy) -> CompiledPolicy:
    """Compile a policy into a snapshot stamped with its content hash."""
    return compile_policy(policy, policy_version(policy))


def load_policy(path: str | Path | None = None) -> CompiledPolicy:
    """Read a bundle (default: the shipped example) and compile it."""
    return snapshot(read_policy(path))
