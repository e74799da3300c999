"""Imports go one way: nothing below ``ivr.app`` imports it (not even inside a function)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

IVR = Path(__file__).resolve().parents[2] / "ivr"
BELOW_APP = ("core", "store", "telephony", "web", "archive")


def imported(path: Path) -> set[str]:
    """Every module a file imports, at any depth of its code."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("layer", BELOW_APP)
def test_no_layer_below_the_app_imports_it(layer: str) -> None:
    files = sorted((IVR / layer).rglob("*.py"))
    assert files
    upward = {str(f.relative_to(IVR.parent)): sorted(n for n in imported(f)
                                                    if n == "ivr.app" or n.startswith("ivr.app."))
              for f in files}
    assert {f: n for f, n in upward.items() if n} == {}
