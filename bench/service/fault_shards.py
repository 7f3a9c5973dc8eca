"""Section 4 of the service bench: the fault run (bench/service/fault_run.py) with 10,000
messages, split over processes (Plan.split: each a whole service of its own, on in-process
moto, with its share of the users, pool numbers and messages); their figures are added up
(merge_figures). Each shard is a spawned process; the service's logs (stdout) and the
stand-in's request log go to one file per shard."""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import traceback
from multiprocessing.connection import wait
from pathlib import Path

from bench.kit.seams import Seams
from bench.service.fault_plan import Plan, merge_figures
from bench.service.fault_run import FaultRun
from bench.service.local_service import LocalService
from bench.service.settings import prepare_environment


def fault_run(messages: int, shards: int = 1, log_dir: str | None = None) -> dict:
    """The fault run with `messages` messages over `shards` processes; the merged figures."""
    log_dir = log_dir or tempfile.mkdtemp(prefix="sms-bridge-fault-run-")
    plans = Plan(messages=messages).split(shards)
    context = multiprocessing.get_context("spawn")
    running = {}
    for i, plan in enumerate(plans):
        log_path = str(Path(log_dir) / f"shard-{i}.log")
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=_fault_shard, args=(plan, log_path, sender), name=f"fault-shard-{i}")
        process.start()
        sender.close()
        running[receiver] = (i, process, log_path)
    print(f"[faults] {len(plans)} shard(s), the service's logs in {log_dir}/", flush=True)
    figures: dict[int, dict] = {}
    try:
        while running:
            for receiver in wait(list(running)):
                i, process, log_path = running[receiver]
                try:
                    kind, payload = receiver.recv()
                except EOFError:
                    process.join()
                    kind, payload = "error", f"its process ended (exit code {process.exitcode}) without its figures"
                if kind == "progress":
                    print(f"[shard {i}] {payload}" if len(plans) > 1 else payload, flush=True)
                    continue
                del running[receiver]
                process.join()
                if kind == "error":
                    raise RuntimeError(f"fault run shard {i} failed (log: {log_path}):\n{payload}")
                figures[i] = payload
    finally:
        for _, process, _ in running.values():
            process.terminate()
    return merge_figures([figures[i] for i in range(len(plans))])


def _fault_shard(plan: Plan, log_path: str, conn) -> None:
    """One shard, in its own process: the service on in-process moto, the stand-in, the chat receiver."""
    with open(log_path, "w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        prepare_environment()
        with LocalService(in_process=True) as service, Seams() as seams:
            run = FaultRun(
                plan,
                app_module=service.app_module,
                api=service.client,
                standin=service.standin,
                chat=service.chat,
                seams=seams,
                out=lambda line: conn.send(("progress", line)),
            )
            conn.send(("figures", run.run()))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        sys.stdout.flush()
        conn.close()
