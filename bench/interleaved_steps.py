"""CPU and wall time of pipeline steps in several versions of the code, measured in interleaved rounds.

    python3 bench/interleaved_steps.py ROUNDS OUT.jsonl --version NAME=CHECKOUT:DATA_DIR[:PYTHON] ... -- STEP ...
    python3 bench/interleaved_steps.py --table REFERENCE OUT.jsonl [OUT2.jsonl ...]

Each step is the plain function its Dagster asset calls (`STEPS` below, what pipelines/defs/*.py calls for the year
2024), run in one long-lived worker process per version (CHECKOUT's code, its `.venv/bin/python` unless PYTHON is
given, on its own copy of a data directory: the steps rewrite the warehouse and the marts). In each round every step
runs in every version, the versions' order rotated and reversed from round to round; round 0 warms the processes up
and is left out. CPU = `time.process_time()` of the worker (every DuckDB thread), wall = `perf_counter`. On a shared
machine the medians of CPU over many rounds compare versions; wall times move with the other processes' load.
`--table` prints the medians of the files' rounds, and each version's change from the REFERENCE version (a NAME),
over all the files and per file (per run, whose spread shows the noise).
Used for docs/benchmarks.md, "Issue 26".
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time


def worker(checkout: str, data_dir: str) -> None:
    """Read step names on stdin, run each in this process, print one JSON line per step."""
    import inspect
    from pathlib import Path

    os.environ["EGOV_DATA_DIR"] = data_dir
    os.chdir(checkout)
    sys.path.insert(0, checkout)
    from assets.marts.publish import publish_marts
    from assets.profiles.profiles import build_profiles
    from assets.scoring.score import score_years, years_without_records
    from assets.scoring.uncertainty import analyse_years
    from expectations.sql_checks import run_sql_checks
    from pipelines.core.registry import load_registry
    from pipelines.core.registry.thresholds import load_thresholds
    from pipelines.core.settings import rubric_dir
    from pipelines.core.warehouse import write_agency_groups
    from pipelines.defs.resources import build_resources

    base = Path(data_dir).resolve()
    wh = build_resources(base)["warehouse"]
    years = [2024]
    # versions after issue 26 pass the data directory's registry to the checks, as their steps do
    check_kw = "registry" in inspect.signature(run_sql_checks).parameters

    def checks(names: list[str]) -> list:
        with wh.connect() as con:
            kw = {"registry": load_registry(base)} if check_kw else {}
            return [(r.name, r.failed) for r in run_sql_checks(con, years, names=names, **kw)]

    def scores() -> object:
        registry = load_registry(base)
        with wh.connect() as con:
            write_agency_groups(con, registry.agency_groups)
            empty = years_without_records(con, years, registry.sources)
            return score_years(con, years, registry.rubric_dir, not_ranked=empty)

    def agency_profiles() -> object:
        with wh.connect() as con:
            return build_profiles(con, rubric_dir(base))

    def rank_uncertainty() -> object:
        with wh.connect() as con:
            return analyse_years(con, years, load_registry(base).rubric_dir)

    def marts() -> object:
        limit = float(load_thresholds()["max_published_drop_share"])
        with wh.connect() as con:
            return len(publish_marts(con, wh.marts_dir, max_drop_share=limit))

    steps = {
        "scores": scores,
        "agency_profiles": agency_profiles,
        "rank_uncertainty": rank_uncertainty,
        "marts": marts,
        "rank_checks": lambda: checks(["rankings_rank_sequence", "criterion_rank_sequence"]),
    }
    print(json.dumps({"ready": checkout}), flush=True)
    for line in sys.stdin:
        name = line.strip()
        if name:
            w0, c0 = time.perf_counter(), time.process_time()
            result = steps[name]()
            w1, c1 = time.perf_counter(), time.process_time()
            print(json.dumps({"step": name, "wall": w1 - w0, "cpu": c1 - c0, "result": str(result)[:300]}), flush=True)


def drive(rounds: int, out: str, versions: dict[str, tuple[str, str, str]], steps: list[str]) -> None:
    """Start a worker per version and run the steps in interleaved rounds, appending each timing to `out`."""
    workers = {}
    for name, (checkout, data_dir, python) in versions.items():
        proc = subprocess.Popen(
            [python, os.path.abspath(__file__), "--worker", checkout, data_dir],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        print(proc.stdout.readline().strip(), flush=True)
        workers[name] = proc
    names = list(versions)
    with open(out, "a", encoding="utf-8") as f:
        for rnd in range(rounds + 1):  # round 0: the warm-up
            order = names[rnd % len(names) :] + names[: rnd % len(names)]
            order = order if rnd % 2 else order[::-1]
            for step in steps:
                for name in order:
                    proc = workers[name]
                    proc.stdin.write(step + "\n")
                    proc.stdin.flush()
                    line = proc.stdout.readline()
                    if not line:
                        raise SystemExit(f"the {name} worker died on {step}")
                    row = json.loads(line) | {"version": name, "rep": rnd, "load": os.getloadavg()[0]}
                    f.write(json.dumps(row) + "\n")
                    f.flush()
                    print(f"{rnd} {step:18s} {name:8s} wall {row['wall']:7.3f} cpu {row['cpu']:7.3f}", flush=True)
    for proc in workers.values():
        proc.stdin.close()
        proc.wait()


def table(ref: str, files: list[str]) -> None:
    """A Markdown table of the medians of every measured round (round 0 left out), against version `ref`."""
    rows = []
    for i, path in enumerate(files):
        with open(path, encoding="utf-8") as f:
            rows += [json.loads(line) | {"file": i} for line in f if line.strip()]
    rows = [r for r in rows if r["rep"] > 0]
    steps = list(dict.fromkeys(r["step"] for r in rows))
    others = sorted({r["version"] for r in rows} - {ref})
    versions = [ref, *others]

    def med(step: str, version: str, key: str, file: int | None = None) -> float | None:
        xs = [r[key] for r in rows if (r["step"], r["version"]) == (step, version) and file in (None, r["file"])]
        return statistics.median(xs) if xs else None

    def change(new: float | None, old: float | None) -> str:
        return f"{100 * (new / old - 1):+.0f}%" if new and old else "–"

    print(
        "| step | rounds | "
        + " | ".join(f"CPU {v}" for v in versions)
        + " | "
        + " | ".join(f"wall {v}" for v in versions)
        + " | per file, CPU "
        + " / ".join(others)
        + f" vs {ref} |"
    )
    print("|" + "---|" * (3 + 2 * len(versions)))
    for s in steps:
        n = sum(1 for r in rows if (r["step"], r["version"]) == (s, ref))
        cpu = {v: med(s, v, "cpu") for v in versions}
        wall = {v: med(s, v, "wall") for v in versions}
        per_file = [
            " / ".join(change(med(s, v, "cpu", i), med(s, ref, "cpu", i)) for v in others) for i in range(len(files))
        ]
        print(
            f"| {s} | {n} | {cpu[ref]:.3f} s | "
            + " | ".join(f"{cpu[v]:.3f} s ({change(cpu[v], cpu[ref])})" for v in others)
            + " | "
            + " | ".join(f"{wall[v]:.2f} s" for v in versions)
            + " | "
            + ", ".join(per_file)
            + " |"
        )


def main(argv: list[str]) -> None:
    if argv[:1] == ["--worker"]:
        worker(argv[1], argv[2])
    elif argv[:1] == ["--table"]:
        table(argv[1], argv[2:])
    else:
        rounds, out, rest = int(argv[0]), argv[1], argv[2:]
        split = rest.index("--")
        versions = {}
        for i in range(0, split, 2):
            if rest[i] != "--version":
                raise SystemExit(__doc__)
            name, spec = rest[i + 1].split("=", 1)
            checkout, data_dir, *python = spec.split(":")
            versions[name] = (checkout, data_dir, python[0] if python else f"{checkout}/.venv/bin/python")
        drive(rounds, out, versions, rest[split + 1 :])


if __name__ == "__main__":
    main(sys.argv[1:])
