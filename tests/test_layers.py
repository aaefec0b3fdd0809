"""Imports only go down the layer list of DESIGN.md; nothing below imports anything above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Top to bottom; a package may import itself and anything after it.
LAYERS = [
    "app",
    "agent",
    "services",
    "playbooks",
    "guardrails",
    "gitops",
    "tools",
    "warehouse",
    "store",
    "domain",
]
STANDALONE = ["evals"]  # evals may import anything but app (it judges the product from outside)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", LAYERS)
def test_no_upward_imports(package: str) -> None:
    above = set(LAYERS[: LAYERS.index(package)])
    offenders = [
        f"{path.relative_to(ROOT)} imports {sorted(_imports(path) & above)}"
        for path in sorted((ROOT / package).rglob("*.py"))
        if _imports(path) & above
    ]
    assert offenders == []


@pytest.mark.parametrize("package", STANDALONE)
def test_evals_never_import_app(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports app"
        for path in sorted((ROOT / package).rglob("*.py"))
        if "app" in _imports(path)
    ]
    assert offenders == []


def test_nothing_in_the_layers_imports_evals() -> None:
    # evals judge the product from outside; the product never depends on them, except the
    # surfaces (app/) that run the demo and `costpilot eval`.
    offenders = [
        f"{path.relative_to(ROOT)} imports evals"
        for package in LAYERS[1:]
        for path in sorted((ROOT / package).rglob("*.py"))
        if "evals" in _imports(path)
    ]
    assert offenders == []


def test_the_layer_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from app.cli import main\nimport tools.spend\n")
    assert _imports(bad) == {"app", "tools"}
