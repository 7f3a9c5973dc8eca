"""The repository's own import graph, read from the source (ast), and its cycles.

Every import statement counts, wherever it is written: at module level, inside a
function, under `if TYPE_CHECKING:` or in a `try:`. So an import moved into a
function to dodge a circle at import time is still an edge here, and the circle
is still found.

Module names are the ones Python gives the files: dotted from the repository
root for app, chalicelib, devstack, bench, infra and scripts (a namespace
package); for tests, as pytest's default "prepend" import mode names them,
relative to the first directory upwards without an __init__.py (so
tests/deploy/packaged.py is `packaged`, tests/usecases/support.py is
`usecases.support`), with tests/ itself on the path (the root conftest's).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from repo_files import own_files

TESTS_DIR = "tests"


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    search_root: Path  # where its absolute imports are looked up first

    @property
    def package(self) -> str:
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


def _module_name(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _search_root(root: Path, path: Path) -> Path:
    """The directory a file's module name is relative to."""
    relative = path.relative_to(root)
    if relative.parts[0] != TESTS_DIR:
        return root
    directory = path.parent
    while (directory / "__init__.py").exists():
        directory = directory.parent
    return directory


def modules(root: Path) -> dict[Path, Module]:
    found = {}
    for path in own_files(root, ".py"):
        search_root = _search_root(root, path)
        found[path] = Module(_module_name(path.relative_to(search_root)), path, search_root)
    return found


class _Resolver:
    def __init__(self, root: Path, found: dict[Path, Module]):
        self.roots_after = [root, root / TESTS_DIR]
        self.by_place = {(m.search_root, m.name): m for m in found.values()}

    def find(self, importer: Module, name: str) -> Module | None:
        for search_root in [importer.search_root, *self.roots_after]:
            module = self.by_place.get((search_root, name))
            if module is not None:
                return module
        return None

    def targets(self, importer: Module, node: ast.Import | ast.ImportFrom) -> set[Module]:
        """The modules an import statement runs: each package on the way, and the module
        or, for `from package import name`, the submodule `name` where there is one."""
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                package = importer.package.split(".") if importer.package else []
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, *([base] if base else [])])
            names = [base, *(f"{base}.{alias.name}" if base else alias.name for alias in node.names)]
        found = set()
        for name in names:
            parts = name.split(".")
            for end in range(1, len(parts) + 1):
                module = self.find(importer, ".".join(parts[:end]))
                if module is not None:
                    found.add(module)
        found.discard(importer)
        return found


def graph(root: Path) -> dict[str, set[str]]:
    """Module name (its path, relative to root) -> the module paths it imports."""
    found = modules(root)
    resolver = _Resolver(root, found)
    edges: dict[str, set[str]] = {}
    for module in found.values():
        key = module.path.relative_to(root).as_posix()
        edges[key] = set()
        for node in ast.walk(ast.parse(module.path.read_text(), filename=str(module.path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges[key].update(t.path.relative_to(root).as_posix() for t in resolver.targets(module, node))
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of more than one module (Tarjan's algorithm), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(edges.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(groups)
