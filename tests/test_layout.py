"""The shape of the package: the public API, the import layers and module size."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import clearance

SRC = Path(clearance.__file__).parent
MAX_LINES = 800


def modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                depth = len(path.relative_to(SRC).parts) - node.level
                base = ".".join(("clearance", *path.relative_to(SRC).parts[:depth]))
                names.add(f"{base}.{node.module}" if node.module else base)
            else:
                names.add(node.module or "")
    return names


def test_public_api_is_pinned():
    assert sorted(clearance.__all__) == [
        "ClearanceError", "Code", "CompiledPolicy", "Decision", "Outcome", "PersonRef", "PolicyError",
        "Problem", "Reason", "Request", "RequestError", "decide", "decide_json", "default_bundle_path",
        "load_policy", "parse_request", "read_policy", "snapshot",
    ]
    for name in clearance.__all__:
        assert getattr(clearance, name) is not None


def test_core_imports_only_the_standard_library_and_itself():
    stdlib = sys.stdlib_module_names | {"__future__"}
    for path in modules("core"):
        for name in imported(path):
            top = name.split(".")[0]
            assert top in stdlib or name.startswith("clearance.core"), f"{path.relative_to(SRC)} imports {name}"


def test_policy_never_imports_interfaces():
    for path in modules("policy"):
        for name in imported(path):
            assert not name.startswith("clearance.cli"), f"{path.relative_to(SRC)} imports {name}"


def test_no_module_is_too_long():
    for path in SRC.rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= MAX_LINES, f"{path.relative_to(SRC)} has {lines} lines (limit {MAX_LINES})"


INTERFACES = ("clearance.api", "clearance.cli", "clearance.gateway")


def test_inner_layers_never_import_an_interface():
    for package in ("core", "policy", "registry", "store", "events", "audit", "services"):
        for path in modules(package):
            for name in imported(path):
                assert not name.startswith(INTERFACES), f"{path.relative_to(SRC)} imports {name}"


def test_interfaces_never_import_each_other():
    # cli may start a server through the composition modules (server, wiring), never another interface.
    for own in INTERFACES:
        package = own.removeprefix("clearance.")
        for path in modules(package):
            for name in imported(path):
                others = tuple(i for i in INTERFACES if i != own)
                assert not name.startswith(others), f"{path.relative_to(SRC)} imports {name}"


def test_serving_interfaces_reach_decisions_only_through_the_enforcer():
    # The offline CLI (`clearance decide`, `explain`) may call the pure core; anything that
    # serves calls (the gateway, the admin API) decides, enforces and records through
    # clearance.enforcement only, so there is one path to get right.
    past_the_enforcer = ("clearance.core.decide", "clearance.services.audit_trail", "clearance.obligations",
                         "clearance.enforcement.counters", "clearance.enforcement.freshness")
    for package in ("gateway", "api", "plugins"):
        for path in modules(package):
            for name in imported(path):
                assert not name.startswith(past_the_enforcer), f"{path.relative_to(SRC)} imports {name}"
