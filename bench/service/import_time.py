"""Section 3 of the service bench: `import app` time against importing, alone, every module
it brings in that is not the project's own (each in a fresh interpreter, median of 7).
Goal: <= 1.3x."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RATIO_GOAL = 1.3

_LIST_MODULES = """
import sys, json
before = set(sys.modules)
import app
print(json.dumps([m for m in sys.modules if m not in before and m.split('.')[0] not in ('app', 'chalicelib')]))
"""
_TIME_IMPORTS = """
import sys, time, json, importlib
names = json.loads(sys.argv[1])
t = time.perf_counter()
for name in names:
    try:
        importlib.import_module(name)
    except Exception:
        pass
print(time.perf_counter() - t)
"""


def import_times(rounds: int = 7) -> dict:
    env = dict(os.environ)
    python = sys.executable
    modules = json.loads(
        subprocess.run(
            [python, "-c", _LIST_MODULES], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        ).stdout
    )
    app_times, dep_times = [], []
    for _ in range(rounds):
        dep_times.append(
            float(
                subprocess.run(
                    [python, "-c", _TIME_IMPORTS, json.dumps(modules)],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
        )
        app_times.append(
            float(
                subprocess.run(
                    [python, "-c", _TIME_IMPORTS, json.dumps(["app"])],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
        )
    ratio = statistics.median(app_times) / statistics.median(dep_times)
    return {
        "import_app_ms": round(statistics.median(app_times) * 1000, 1),
        "import_dependencies_ms": round(statistics.median(dep_times) * 1000, 1),
        "dependency_modules": len(modules),
        "ratio": round(ratio, 3),
        "goal": f"<= {RATIO_GOAL}",
        "met": ratio <= RATIO_GOAL,
    }
