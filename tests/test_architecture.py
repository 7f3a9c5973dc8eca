"""The shape of chalicelib (docs/architecture.md): layers and no import cycles
(import-linter's contracts in .importlinter), modules and functions a reader
can hold in mind, one home for the settings and for every write of a message."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "chalicelib").rglob("*.py"))
MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 60


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def test_import_linter_contracts_are_kept(monkeypatch):
    from importlinter.cli import lint_imports

    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / ".importlinter")) == 0, "lint-imports shows which import broke what"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_and_functions_stay_short(path):
    assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES
    long = [
        f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(_tree(path))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


@pytest.mark.parametrize("path", [*SOURCES, ROOT / "app.py"], ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_of_our_own_code_hides_inside_a_function(path):
    hidden = [
        f"line {inner.lineno}"
        for node in ast.walk(_tree(path))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for inner in ast.walk(node)
        if (isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("chalicelib"))
        or (isinstance(inner, ast.Import) and any(a.name.startswith("chalicelib") for a in inner.names))
    ]
    assert hidden == []


def test_only_config_reads_the_environment():
    readers = [
        str(path.relative_to(ROOT))
        for path in [*SOURCES, ROOT / "app.py"]
        if path.name != "config.py" and re.search(r"\bos\.environ\b|\bgetenv\(", path.read_text())
    ]
    assert readers == []


def test_message_items_are_created_and_changed_only_in_usecases_messages():
    writers = []
    for path in SOURCES:
        if path.relative_to(ROOT).as_posix() in ("chalicelib/usecases/messages.py", "chalicelib/store/models.py"):
            continue
        for node in ast.walk(_tree(path)):
            creates = isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Message"
            changes = (
                isinstance(node, ast.Attribute)
                and node.attr in ("set", "add", "remove", "delete")
                and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name)
                and node.value.value.id == "Message"
            )
            if creates or changes:
                writers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert writers == []
