"""The repository's own files: what people write and commit, without virtualenvs (any
directory with a pyvenv.cfg: .venv, .venv-scan, .chalice/venv), build output or caches."""

from __future__ import annotations

import os
from pathlib import Path

NOT_OURS = {
    ".git",
    "build",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    ".import_linter_cache",
    ".run",
    "deployments",  # .chalice/deployments: what `make package` downloaded
}


def own_files(root: Path, suffix: str = "") -> list[Path]:
    """Every file under root that is ours, sorted; only those ending in `suffix` if given."""
    found = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(
            d for d in subdirectories if d not in NOT_OURS and not (Path(directory, d) / "pyvenv.cfg").exists()
        )
        found += [Path(directory, name) for name in files if name.endswith(suffix)]
    return sorted(found)
