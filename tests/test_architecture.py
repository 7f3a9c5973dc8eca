"""The shape of the code (docs/architecture.md): chalicelib's layers (import-linter's
contracts in .importlinter), no import cycle anywhere in the repository (import_graph.py,
which counts imports inside functions too, so none can hide a circle), modules and
functions a reader can hold in mind, one home for the settings and for every write of a
message."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import import_graph
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "chalicelib").rglob("*.py"))
MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 60
# The local stack, the benchmarks and the scripts: one file, one thing a reader can hold.
TOOL_DIRS = ("devstack", "bench", "scripts")
MAX_TOOL_FILE_LINES = 600
TOOL_FILES = sorted(p for d in TOOL_DIRS for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts)
OUR_PACKAGES = ("app", "chalicelib", "devstack", "bench", "infra", "scripts")


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


def _ours(name: str) -> bool:
    return name.split(".")[0] in OUR_PACKAGES


@pytest.mark.parametrize("path", [*SOURCES, ROOT / "app.py"], ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_of_our_own_code_hides_inside_a_function(path):
    """The deployed code imports all of its own modules at the top: what a Lambda loads is
    what the module says. (devstack, bench, scripts and tests may import lazily, to start a
    piece on demand or import app after its environment is set: the cycle test below sees
    those imports too.)"""
    hidden = [
        f"line {inner.lineno}"
        for node in ast.walk(_tree(path))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for inner in ast.walk(node)
        if (isinstance(inner, ast.ImportFrom) and (inner.level or _ours(inner.module or "")))
        or (isinstance(inner, ast.Import) and any(_ours(a.name) for a in inner.names))
    ]
    assert hidden == []


def test_no_import_cycle_anywhere_in_the_repository():
    """app, chalicelib, devstack, bench, infra, scripts and every module under tests:
    no circle of imports, counting the imports written inside functions, so a lazy import
    cannot hide one."""
    edges = import_graph.graph(ROOT)
    assert "scripts/doctor.py" in edges and "tests/deploy/packaged.py" in edges["tests/deploy/test_workflow.py"]
    assert import_graph.cycles(edges) == []


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_cycle_search_finds_a_circle_closed_by_an_import_inside_a_function(tmp_path):
    root = _write(
        tmp_path,
        {
            "scripts/checks.py": "from scripts.targets import Target\n",
            "scripts/targets.py": "class Target: ...\ndef main():\n    from scripts import checks\n",
            "scripts/alone.py": "import scripts.targets\n",
        },
    )
    assert import_graph.cycles(import_graph.graph(root)) == [["scripts/checks.py", "scripts/targets.py"]]


def test_the_cycle_search_names_modules_as_python_and_pytest_do(tmp_path):
    """Relative imports, packages on the way, and test helpers imported by their bare name
    (pytest puts the first directory without an __init__.py on sys.path)."""
    root = _write(
        tmp_path,
        {
            "chalicelib/__init__.py": "",
            "chalicelib/usecases/__init__.py": "",
            "chalicelib/usecases/a.py": "from . import b\n",
            "chalicelib/usecases/b.py": "from chalicelib.usecases.a import x\n",
            "tests/deploy/packaged.py": "import test_rules\n",
            "tests/deploy/test_rules.py": "if True:\n    from packaged import ROOT\n",
            "tests/usecases/__init__.py": "",
            "tests/usecases/support.py": "from .test_x import y\n",
            "tests/usecases/test_x.py": "from usecases.support import z\n",
        },
    )
    edges = import_graph.graph(root)
    assert "chalicelib/usecases/__init__.py" in edges["chalicelib/usecases/b.py"]
    assert import_graph.cycles(edges) == [
        ["chalicelib/usecases/a.py", "chalicelib/usecases/b.py"],
        ["tests/deploy/packaged.py", "tests/deploy/test_rules.py"],
        ["tests/usecases/support.py", "tests/usecases/test_x.py"],
    ]


@pytest.mark.parametrize("path", TOOL_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_files_of_the_local_stack_benches_and_scripts_stay_short(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_TOOL_FILE_LINES, f"{lines} lines: split it by what its parts do"


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
