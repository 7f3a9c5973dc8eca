"""The shape of chalicelib (docs/architecture.md): layers and no import cycles
(import-linter's contracts in .importlinter), modules and functions a reader
can hold in mind, one home for the settings and for every write of a message item."""

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


def _message_model_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """The names a module gives the Message item model (store/models.py's, not the value of
    store/messages.py): (plain names, module names whose `.Message` it is)."""
    names, modules = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "chalicelib.store.models":
            names |= {alias.asname or alias.name for alias in node.names if alias.name == "Message"}
        if isinstance(node, ast.ImportFrom) and node.module == "chalicelib.store":
            modules |= {alias.asname or alias.name for alias in node.names if alias.name == "models"}
    for node in ast.walk(tree):  # an alias: M = models.Message
        value = getattr(node, "value", None)
        if isinstance(node, ast.Assign) and _is_model(value, names, modules):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return names, modules


def _is_model(node, names: set[str], modules: set[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id in names
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "Message"
        and isinstance(node.value, ast.Name)
        and node.value.id in modules
    )


def test_message_items_are_created_and_changed_only_in_the_message_store():
    writers = []
    for path in SOURCES:
        if path.relative_to(ROOT).as_posix() in ("chalicelib/store/dynamodb/messages.py", "chalicelib/store/models.py"):
            continue
        tree = _tree(path)
        names, modules = _message_model_names(tree)
        for node in ast.walk(tree):
            creates = isinstance(node, ast.Call) and _is_model(node.func, names, modules)
            changes = (
                isinstance(node, ast.Attribute)
                and node.attr in ("set", "add", "remove", "delete")
                and isinstance(node.value, ast.Attribute)
                and _is_model(node.value.value, names, modules)
            )
            if creates or changes:
                writers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert writers == []
