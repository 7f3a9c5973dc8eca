"""The docs name only what is there: every file, module and section README.md, docs/*.md
and bench/README.md point at exists; no text of the repository cites a Markdown file the
repository does not have (API.md, say); docs/architecture.md's module table lists exactly
the modules of chalicelib."""

from __future__ import annotations

import ast
import importlib.util
import re
from functools import cache
from pathlib import Path

import pytest
from repo_files import own_files

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]
OUR_DIRS = ("chalicelib", "devstack", "bench", "infra", "scripts", "tests", "docs", "twilio_oai", ".github", ".ci")
OUR_PACKAGES = ("app", "chalicelib", "devstack", "bench", "infra", "scripts")
EXTENSIONS = "py|md|yaml|yml|json|txt|lock|sh|png|toml|ini|html|js|css|cfg"

# A path from the repository's root, in prose, a table or a code block: `chalicelib/...`.
ROOTED = re.compile(r"(?<![\w./<>-])((?:" + "|".join(map(re.escape, OUR_DIRS)) + r")/[\w./-]*)")
TICKED = re.compile(r"`([^`\s]+)`")
FILE_NAME = re.compile(r"^[\w.-]*(?:/[\w.-]+)*\.(?:" + EXTENSIONS + ")$")
DOTTED = re.compile(r"^(?:" + "|".join(OUR_PACKAGES) + r")(?:\.\w+)+$")
RUN_MODULE = re.compile(r"python -m ([\w.]+)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
MARKDOWN_NAME = re.compile(r"(?<![\w./-])([\w./-]*\w\.md)\b")


@cache
def repo_files() -> tuple[str, ...]:
    return tuple(p.relative_to(ROOT).as_posix() for p in own_files(ROOT))


def _top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _module_path(dotted: str) -> Path | None:
    base = ROOT / dotted.replace(".", "/")
    for candidate in (base.with_suffix(".py"), base / "__init__.py", base / "__main__.py"):
        if candidate.is_file():
            return candidate
    return None


def rooted_exists(reference: str) -> bool:
    """`chalicelib/core/errors.py`, `tests/unit/core` (a folder), `chalicelib/config` (a
    module), `infra/resources.create_all` (a module's name)."""
    reference = reference.rstrip("/")
    if (ROOT / reference).exists() or (ROOT / f"{reference}.py").is_file():
        return True
    module, _, name = reference.rpartition(".")
    return bool(module) and (ROOT / f"{module}.py").is_file() and name in _top_level_names(ROOT / f"{module}.py")


def dotted_exists(reference: str) -> bool:
    """`devstack.twilio_spec.recording_http_client`: a module of ours, then names in it."""
    parts = reference.split(".")
    for end in range(len(parts), 0, -1):
        path = _module_path(".".join(parts[:end]))
        if path is not None:
            rest = parts[end:]
            return not rest or rest[0] in _top_level_names(path)
    return False


def _third_party_exists(reference: str) -> bool:
    """`twilio/http/async_http_client.py`: a file of an installed package."""
    package = reference.split("/")[0]
    if package in OUR_PACKAGES or not package.isidentifier():
        return False
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    return any((Path(location).parent / reference).exists() for location in locations)


def named_file_exists(reference: str) -> bool:
    """A file named in backticks without its folder (`test_bodies.py`), or from a folder
    the text is about (`core/errors.py` in chalicelib)."""
    if reference.startswith("/"):
        return False
    return (
        (ROOT / reference).exists()
        or any(f == reference or f.endswith("/" + reference) for f in repo_files())
        or _third_party_exists(reference)
    )


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return frozenset(_slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, flags=re.M))


def link_exists(doc: Path, target: str) -> bool:
    path, _, anchor = target.partition("#")
    file = (doc.parent / path).resolve() if path else doc
    if not file.exists():
        return False
    return not anchor or (file.suffix == ".md" and anchor in anchors(file))


def missing_references(doc: Path) -> list[str]:
    text = doc.read_text()
    rooted = [m.group(1).rstrip(".") for m in ROOTED.finditer(text)]
    missing = [f"{reference} (from the root)" for reference in rooted if not rooted_exists(reference)]
    for match in TICKED.finditer(text):
        reference = match.group(1).rstrip(".,:;")
        if "<" in reference or "*" in reference or reference.startswith(tuple(d + "/" for d in OUR_DIRS)):
            continue  # a placeholder, a pattern, or a rooted path (checked above)
        if FILE_NAME.match(reference):
            if not named_file_exists(reference):
                missing.append(f"`{reference}`")
        elif DOTTED.match(reference) and not dotted_exists(reference):
            missing.append(f"`{reference}` (a module or a name in one)")
    missing += [f"python -m {m.group(1)}" for m in RUN_MODULE.finditer(text) if _module_path(m.group(1)) is None]
    links = [m.group(1) for m in LINK.finditer(text) if not re.match(r"^[a-z]+:", m.group(1))]
    missing += [f"link {target}" for target in links if not link_exists(doc, target)]
    return missing


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_docs_name_only_files_modules_and_sections_that_exist(doc):
    assert missing_references(doc) == []


def _own_text_files() -> list[Path]:
    """What people write in this repository (not Twilio's specs, not lock files)."""
    names = [
        f
        for f in repo_files()
        if re.search(r"\.(py|md|ya?ml|sh|toml|ini|txt|cfg)$|(^|/)(Makefile|\.importlinter|run)$", f)
        and not (f.startswith("twilio_oai/") and not f.endswith(".md"))
    ]
    return [ROOT / f for f in names]


def test_no_text_of_the_repository_cites_a_markdown_file_it_does_not_have():
    """API.md was cited as the contract for years and never existed: the contract the
    repository ships is openapi.yaml."""
    cited = [
        f"{path.relative_to(ROOT)}: {m.group(1)}"
        for path in _own_text_files()
        if path != Path(__file__)  # this file names missing ones on purpose
        for m in MARKDOWN_NAME.finditer(path.read_text(errors="replace"))
        if not named_file_exists(m.group(1).lstrip("./")) and not (path.parent / m.group(1)).exists()
    ]
    assert cited == []


def test_the_architecture_table_lists_exactly_the_modules_of_chalicelib():
    chalicelib = ROOT / "chalicelib"
    modules = sorted(p.relative_to(chalicelib).as_posix() for p in chalicelib.rglob("*.py") if p.name != "__init__.py")
    table = (ROOT / "docs" / "architecture.md").read_text().split("## What lives where", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+\.py)` \|", table, flags=re.M)
    assert len(rows) == len(set(rows)), "one row per module"
    assert sorted(rows) == modules


def test_the_reference_checks_catch_what_is_gone(tmp_path):
    """The rules above fail on the kinds of reference the docs had wrong."""
    doc = tmp_path / "doc.md"
    doc.write_text(
        "pure functions in `chalicelib/autoscaler.py`; `chalicelib/sender.py` and `limiter.py`;\n"
        "see [the pool](docs/nowhere.md), [a section](#no-such-section), `python -m bench.nothing`,\n"
        "`devstack.twilio_spec.no_such_name`, `core/no_such.py`, infra/resources.no_such_name.\n"
        "Present: `chalicelib/config.py`, `core/errors.py`, `test_bodies.py`, infra/resources.create_all,\n"
        "`twilio/http/async_http_client.py`, `python -m bench.service`, [here](#a-heading).\n"
        "## A heading\n"
    )
    assert missing_references(doc) == [
        "chalicelib/autoscaler.py (from the root)",
        "chalicelib/sender.py (from the root)",
        "docs/nowhere.md (from the root)",
        "infra/resources.no_such_name (from the root)",
        "`limiter.py`",
        "`devstack.twilio_spec.no_such_name` (a module or a name in one)",
        "`core/no_such.py`",
        "python -m bench.nothing",
        "link docs/nowhere.md",
        "link #no-such-section",
    ]
