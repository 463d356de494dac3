"""A national run's fixed cost per province: national directories of N tiny provinces (the tests' own province,
tests/test_national.py `write_province`: two departments, a handful of dossiers), each run once in-process.

    .venv/bin/python bench/per_province.py [--provinces 2,8] [--root /tmp/per_province]

With so little data a province costs what every province pays whatever its size: its provincial Dagster run
(~25 steps in-process, its warehouse and marts, GX, its reports) inside the national run's `province_pipeline` step.
For each N the script prints the run's wall and this process's CPU, the province steps' times (from the run's
Dagster event log, bench/steps.py) and the national steps'; the cost per province is the slope between two Ns
(wall and CPU), which includes what the national steps pay per province. The CPU of ended child processes (GX
workers, expectations/gx_worker.py) is reported beside the process's own; GX runs in its worker as in a
deployment unless EGOV_GX_WORKER=0 (GX in this process, as in the tests). `--province-events memory` records the
province runs' events in an in-memory Dagster instance instead of the national run's (SQLite in DAGSTER_HOME): what
the event log costs per province (a measurement only: a deployment keeps every province's run). Not part of the
tests.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT), str(PROJECT / "tests"), str(PROJECT / "bench")]

# A deployment's default: GX validated in its worker process (the tests' conftest, imported below, turns it off
# unless it is set); EGOV_GX_WORKER=0 keeps GX in this process, as the tests do.
os.environ.setdefault("EGOV_GX_WORKER", "1")

NATIONAL_STEPS = ("national_rankings", "national_marts", "national_reports")


def provinces(n: int) -> dict:
    """`n` provinces like the tests' AAA (codes P01…), each with its two departments."""
    from test_national import PROVINCES

    return {f"P{i:02d}": (f"Tỉnh {i}", PROVINCES["AAA"][1]) for i in range(1, n + 1)}


def _children_cpu() -> float:
    """CPU seconds of this process's ended children (GX workers: one per province run unless EGOV_GX_WORKER=0)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(root: Path, n: int) -> dict:
    import dagster as dg
    from steps import step_durations
    from test_national import write_national

    from expectations import gx_worker
    from pipelines.cli.runs import execute_pipeline
    from pipelines.defs.provinces import PROVINCE_TAG

    work = root / f"n{n}"
    shutil.rmtree(work, ignore_errors=True)
    base = write_national(work / "data", provinces(n))
    home = work / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ["EGOV_DATA_DIR"], os.environ["DAGSTER_HOME"] = str(base), str(home)
    wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    status = execute_pipeline([2024], data_dir=base, full_refresh=True)
    gx_worker.stop()  # as the process's exit would: a worker kept for later runs is ended, so its CPU is counted
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    children = _children_cpu() - children
    if status:
        raise SystemExit(f"{n} provinces: exit {status}")
    with dg.DagsterInstance.get() as instance:
        national = [r.dagster_run.run_id for r in instance.get_run_records() if PROVINCE_TAG not in r.dagster_run.tags]
        steps = step_durations(instance, national[0])  # the national run: the one run not of a single province
    province = [s for k, s in steps.items() if k.startswith("province_results.province_pipeline[")]
    return {
        "provinces": n,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "children_cpu_s": round(children, 2),
        "province_step_s": {"median": round(statistics.median(province), 2), "sum": round(sum(province), 2)},
        "national_steps_s": {k: steps.get(k) for k in NATIONAL_STEPS},
        "load_average": os.getloadavg(),
    }


def record_province_runs_in_memory() -> None:
    """The province runs of this process recorded in an in-memory instance (their tags name the province)."""
    import dagster as dg

    from pipelines.defs.provinces import PROVINCE_TAG

    execute = dg.JobDefinition.execute_in_process

    def in_memory(self, *args, **kwargs):
        if PROVINCE_TAG in (kwargs.get("tags") or {}):
            kwargs["instance"] = dg.DagsterInstance.ephemeral()
        return execute(self, *args, **kwargs)

    dg.JobDefinition.execute_in_process = in_memory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=None, help="where the data directories go (default: a temp dir)")
    parser.add_argument("--provinces", default="2,8", help="the sizes to run, comma-separated (default 2,8)")
    parser.add_argument(
        "--province-events",
        choices=["instance", "memory"],
        default="instance",
        help="where the province runs' events go: the national run's instance (default), or memory",
    )
    args = parser.parse_args()
    if args.province_events == "memory":
        record_province_runs_in_memory()
    root = args.root or Path(tempfile.mkdtemp(prefix="egov-per-province-"))
    results = [run(root, int(n)) for n in args.provinces.split(",")]
    for result in results:
        print(json.dumps(result), flush=True)
    first, last = results[0], results[-1]
    if last["provinces"] > first["provinces"]:
        extra = last["provinces"] - first["provinces"]
        print(
            f"per province: wall {(last['wall_s'] - first['wall_s']) / extra:.2f} s, "
            f"CPU {(last['cpu_s'] - first['cpu_s']) / extra:.2f} s, "
            f"its children's CPU {(last['children_cpu_s'] - first['children_cpu_s']) / extra:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
