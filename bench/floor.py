"""What any pipeline run costs before it does any work: the floor under the incremental night.

The night's goal (issue 17) is a share of the full run: ≤ 10% of 46.8 s at 10M dossiers is 4.7 s. Part of every run
does not depend on what arrived: starting Python, importing Dagster and our definitions, Dagster executing the job's
steps (events written to the instance's SQLite), and importing Great Expectations once a table changed. This script
measures those parts with no data work at all, each in its own process under /usr/bin/time, lowest of `--repeat`:

- `interpreter`: `python -c pass`;
- `definitions`: `import pipelines.definitions` (Dagster, DuckDB, Polars, pydantic, the registry: what `egov run`
  imports before its run starts);
- `noop_run`: the import above, then a run of as many no-op steps as the pipeline's job has (a chain of yearly
  partitioned assets, one partition, persistent SQLite instance in a temporary DAGSTER_HOME, the log level `egov run`
  uses): Dagster's own cost per run;
- `gx_import`: `import great_expectations` and an ephemeral context, which every run that validates a changed table
  pays (in a worker process beside the run, `expectations/gx_worker.py`).

    .venv/bin/python bench/floor.py --repeat 3 --results bench/results/results-10000000-incremental-i17r3.json

With `--results`, the floor is set against 10% of that file's full pipeline run and against its measured night.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NOOP_RUN = """
import time
import dagster as dg
from pipelines.definitions import PIPELINE_JOB, defs
steps = len(defs.resolve_job_def(PIPELINE_JOB).graph.node_dict)
years = dg.StaticPartitionsDefinition(["2024"])
names = [f"step_{i:02d}" for i in range(steps)]
chain = []
for i, name in enumerate(names):
    @dg.asset(name=name, deps=names[i - 1:i], partitions_def=years)
    def _noop() -> None:
        return None
    chain.append(_noop)
job = dg.Definitions(assets=chain, jobs=[dg.define_asset_job("noop", partitions_def=years)]).resolve_job_def("noop")
started = time.perf_counter()
with dg.DagsterInstance.get() as instance:
    result = job.execute_in_process(instance=instance, partition_key="2024",
                                    run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
assert result.success
print(f"STEPS {steps} RUN {time.perf_counter() - started:.3f}")
"""

PROBES = {
    "interpreter": "pass",
    "definitions": "import pipelines.definitions",
    "noop_run": NOOP_RUN,
    "gx_import": "import great_expectations as gx; gx.get_context(mode='ephemeral')",
}


def timed(code: str, env: dict[str, str]) -> dict[str, float]:
    """Wall and CPU seconds of `python -c code` (GNU time), plus the in-process run seconds when it prints them."""
    done = subprocess.run(
        ["/usr/bin/time", "-f", "TIME %e %U %S", sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"probe failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    wall, user, system = map(float, re.search(r"TIME ([\d.]+) ([\d.]+) ([\d.]+)", done.stderr).groups())
    out = {"wall_s": wall, "cpu_s": round(user + system, 2)}
    run = re.search(r"STEPS (\d+) RUN ([\d.]+)", done.stdout)
    if run:
        out["steps"], out["run_s"] = int(run.group(1)), float(run.group(2))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per probe; the lowest wall time is kept")
    parser.add_argument("--results", type=Path, help="a bench/run.py --incremental results file to compare with")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()

    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="egov-floor-") as home:
        (Path(home) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = {**os.environ, "DAGSTER_HOME": home, "PYTHONWARNINGS": "ignore"}
        for name, code in PROBES.items():
            runs = [timed(code, env) for _ in range(args.repeat)]
            figures[name] = min(runs, key=lambda r: r["wall_s"])
            print(f"{name:12s} {figures[name]}", flush=True)

    noop = figures["noop_run"]
    floor = noop["wall_s"]
    print(
        f"\nA run of {noop['steps']} no-op steps, from process start to exit: {floor:.2f} s wall, "
        f"{noop['cpu_s']:.2f} s CPU (Dagster executing the steps: {noop['run_s']:.2f} s); Great Expectations' "
        f"import beside it: {figures['gx_import']['cpu_s']:.2f} s CPU."
    )
    report: dict[str, object] = {"probes": figures, "repeat": args.repeat}
    if args.results:
        measured = json.loads(args.results.read_text())
        full = measured["results"]["pipeline"]["wall_s"]
        night = measured["incremental"]["one_new_day"]["wall_s"]
        budget = 0.10 * full
        report.update(results=str(args.results), full_run_s=full, night_s=night, night_budget_s=round(budget, 2))
        print(
            f"{measured['dossiers']:,} dossiers: full run {full} s, so a night within 10% has {budget:.2f} s; "
            f"the floor alone takes {floor / budget:.0%} of that, leaving {budget - floor:.2f} s for the work "
            f"(the measured night: {night} s, of which {night - floor:.2f} s above the floor)."
        )
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
