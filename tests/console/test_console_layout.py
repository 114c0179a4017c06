"""Where the console sits: an interface over the services, reaching no other interface."""

from __future__ import annotations

from pathlib import Path

import clearance
from clearance.console import web

SRC = Path(clearance.__file__).parent


def imported(path: Path) -> set[str]:
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            depth = len(path.relative_to(SRC).parts) - node.level
            base = ".".join(("clearance", *path.relative_to(SRC).parts[:depth]))
            names.add(f"{base}.{node.module}" if node.module else base)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_console_imports_no_other_interface_and_never_enforces():
    # It renders what the services say and changes things only through them; decisions it shows are
    # replays of audited ones (like `clearance explain --decision-id`), never new decisions or records.
    forbidden = ("clearance.cli", "clearance.gateway", "clearance.plugins", "clearance.enforcement",
                 "clearance.obligations", "clearance.services.audit_trail")
    for path in sorted((SRC / "console").rglob("*.py")):
        for name in imported(path):
            assert not name.startswith(forbidden), f"{path.relative_to(SRC)} imports {name}"


def test_no_inner_layer_imports_the_console():
    for package in ("core", "policy", "registry", "store", "events", "audit", "services", "licensing", "screening"):
        for path in sorted((SRC / package).rglob("*.py")):
            assert not any(n.startswith("clearance.console") for n in imported(path)), path


def test_assets_are_vendored_and_small():
    # Air-gapped: no CDN, no framework; the page must work with what the package carries.
    assert set(web.STATIC) == {"console.css", "console.js"}
    assert len(web.STATIC["console.js"]) < 2000
    for template in (SRC / "console" / "templates").glob("*.html"):
        text = template.read_text()
        assert "http://" not in text and "https://" not in text, template.name
