"""Measure what a cold start costs, from what `make package` wrote.

    python -m infra.cold_start --stage dev [--runs 9]

Unpacks build/<stage>/deployment.zip and layer-deployment.zip the way Lambda
lays them out (/var/task, /opt), then times `import app` in fresh interpreters
that see only those two directories (-S -I: no site-packages, no user paths,
-B: no bytecode written, as on Lambda's read-only file system). Prints the
sizes (zipped and unpacked, against Lambda's 250 MB limit) and the median
import time. This machine is not Lambda: read the time as a comparison
between builds, not as Lambda's init duration. The layer is for arm64: on an
x86_64 machine its only compiled modules (charset_normalizer's md and cd,
which requests imports) do not load, and Python imports the pure-Python
md.py and cd.py the wheel ships beside them instead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024

_TIMER = """
import json, os, sys, time
os.environ.update(json.loads(sys.argv[3]))
sys.path[:0] = [sys.argv[1], sys.argv[2]]
start = time.perf_counter()
import app
print((time.perf_counter() - start) * 1000)
"""


def measure(stage: str, runs: int) -> dict:
    build = ROOT / "build" / stage
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    environment = {**config["stages"][stage]["environment_variables"], "AWS_DEFAULT_REGION": "us-east-1"}
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="sms-bridge-cold-") as scratch:
        task, opt = Path(scratch, "task"), Path(scratch, "opt")
        for name, target in (("deployment.zip", task), ("layer-deployment.zip", opt)):
            archive = build / name
            if not archive.exists():
                raise SystemExit(f"{archive} is missing: run make package STAGE={stage}")
            with zipfile.ZipFile(archive) as unpacking:
                unpacking.extractall(target)
                unpacked = sum(entry.file_size for entry in unpacking.infolist())
            sizes[name] = {"zipped_mb": round(archive.stat().st_size / 1e6, 1), "unpacked_mb": round(unpacked / 1e6, 1)}
        site = opt / "python" / "lib" / version / "site-packages"
        times = []
        for _ in range(runs):
            result = subprocess.run(
                [sys.executable, "-S", "-I", "-B", "-c", _TIMER, str(task), str(site), json.dumps(environment)],
                capture_output=True,
                text=True,
                check=True,
                cwd=scratch,
            )
            times.append(float(result.stdout.strip()))
    total = sum(size["unpacked_mb"] for size in sizes.values())
    return {
        "stage": stage,
        "sizes": sizes,
        "unpacked_total_mb": round(total, 1),
        "lambda_unpacked_limit_mb": round(LAMBDA_UNZIPPED_LIMIT / 1e6, 1),
        "import_app_ms_median": round(statistics.median(times), 1),
        "import_app_ms_min": round(min(times), 1),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.stage, args.runs), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
