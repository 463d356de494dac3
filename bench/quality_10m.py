"""The quality steps' work at scale, as plain functions on a built data directory: CPU and wall per part.

    python bench/quality_10m.py DATA [--warm] [--out results.json] [--no-gx]
    python bench/quality_10m.py DATA --gx-ab 3     # the ratings frame validated both ways, interleaved

DATA: a data directory the pipeline has built (e.g. bench/run.py's `data-10000000`), written to: the script brings
its dossier facts, check results and `data_quality` table up to date as the run would. Default (cold): the dossier
log's per-file facts and screens are forgotten first, as a backfill finds them (every file reloaded), so
`staging_checks` counts the whole log again; `--warm` keeps them (a rerun with nothing new). Then, in the run's
order:

- staging_checks: `table_fingerprints` of the staged GX tables (dossier aggregate into its table), then the SQL
  checks it runs (quarantine, dossier log consistency and completeness);
- data_quality: the other SQL checks, the fingerprints of the mart tables, `load_frames` of every GX table, the
  tables written as Parquet and read back (what the GX worker's hand-over costs: `export_frames`, `read_frames`),
  `validate_in_process` of every frame (GX in this process, a fresh copy of DATA/quality per invocation so that
  every table is validated), and `build_data_quality`.

CPU = `time.process_time()` (every thread of the process, DuckDB's included). The outcomes (check results,
fingerprints, GX summaries without their seconds, the `data_quality` rows) go to --out, so two versions of the
code can be compared: run it once per version (before = main via PYTHONPATH=<checkout of main>).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

YEARS = [2024]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path)
    parser.add_argument("--warm", action="store_true", help="keep the dossier log's per-file facts and screens")
    parser.add_argument("--out", type=Path, help="the outcomes and timings as JSON")
    parser.add_argument("--no-gx", action="store_true", help="skip the GX validation (SQL and frames only)")
    parser.add_argument(
        "--gx-ab",
        type=int,
        metavar="ROUNDS",
        help="only validate the stg_ratings frame, ROUNDS times each way, interleaved in one process: GX hashing the "
        "frame for its batch marker and every text cell matched for escaping (as before issue 29's cut), or not",
    )
    args = parser.parse_args()
    data = args.data.resolve()
    os.environ["EGOV_DATA_DIR"] = str(data)

    from expectations import sql_checks
    from expectations.gx_runner import export_frames, load_frames, read_frames, table_fingerprints, validate_in_process
    from expectations.sql_checks import build_data_quality, run_sql_checks
    from pipelines.core.registry import load_registry
    from pipelines.core.warehouse import connect
    from pipelines.defs import quality

    print(f"code: {Path(sql_checks.__file__).resolve().parents[1]}; load average {os.getloadavg()[0]:.2f}", flush=True)
    registry = load_registry(data)
    timings: list[tuple[str, float, float]] = []

    @contextmanager
    def timed(label: str):
        cpu, wall = time.process_time(), time.perf_counter()
        yield
        timings.append((label, time.process_time() - cpu, time.perf_counter() - wall))
        print(f"{label:<48} cpu {timings[-1][1]:7.2f} s  wall {timings[-1][2]:7.2f} s", flush=True)

    con = connect(data / "warehouse" / "egov.duckdb")
    if args.gx_ab:
        frames = load_frames(con, YEARS, ["stg_ratings"])
        con.close()
        return gx_ab(frames, data, registry, args.gx_ab)
    if not args.warm:
        con.execute(
            "DELETE FROM file_facts_built WHERE facts IN ('dossier_file_facts', 'dossier_file_checks');CHECKPOINT"
        )
    outcomes: dict = {}
    staging_names = [*quality.QUARANTINE_CHECKS, *quality.DOSSIER_ERRORS, *quality.DOSSIER_WARNINGS]
    with timed("staging_checks (total)"):
        with timed("  fingerprints, staged GX tables"):
            staged = table_fingerprints(
                con, YEARS, quality.GX_STAGING_TABLES, aggregate=quality.AGGREGATE_TABLE, temporary=False
            )
        with timed("  SQL checks of the staging step"):
            first = run_sql_checks(con, YEARS, names=staging_names, registry=registry)
    for r in first:
        print(f"    {r.name:<40} {r.seconds:6.2f} s (wall)")
    with timed("data_quality (total, GX in process)"):
        with timed("  SQL checks, the rest"):
            rest = run_sql_checks(
                con, YEARS, names=[c.name for c in sql_checks.CHECKS if c.name not in staging_names], registry=registry
            )
        for r in rest:
            print(f"    {r.name:<40} {r.seconds:6.2f} s (wall)")
        with timed("  fingerprints, mart tables"):
            marts = table_fingerprints(con, YEARS, [t for t in quality.GX_TABLES if t not in staged])
        frames = {}
        for name in quality.GX_TABLES:
            with timed(f"  load_frames {name}"):
                frames.update(load_frames(con, YEARS, [name], aggregate=quality.AGGREGATE_TABLE))
        with timed("  Parquet files written and read back (worker hand-over)"), tempfile.TemporaryDirectory() as tmp:
            read_frames(export_frames(con, YEARS, list(frames), Path(tmp), aggregate=quality.AGGREGATE_TABLE))
        gx_results = {}
        if not args.no_gx:
            with tempfile.TemporaryDirectory(prefix="h29q-gx-") as tmp:
                site = Path(tmp) / "quality" / "data_docs"
                shutil.copytree(data / "quality", site.parent)
                shutil.rmtree(site.parent / "gx" / "validations", ignore_errors=True)
                with timed("  GX import and context"):
                    from expectations.gx_runner import gx_context

                    gx_context(site, registry)
                with timed("  validate_in_process, every frame"):
                    gx_results = validate_in_process(frames, site, run_name="2024", keep_runs=2, registry=registry)
                for name, r in gx_results.items():
                    print(f"    {name:<40} {r['seconds']:6.2f} s (wall, checkpoint run)")
        checks = [*first, *rest]
        checks = [next(c for c in checks if c.name == n.name) for n in sql_checks.CHECKS]
        with timed("  build_data_quality"):
            rows = build_data_quality(con, YEARS, gx_results, checks)
    con.execute(f"DROP TABLE IF EXISTS {quality.AGGREGATE_TABLE}")
    table = con.execute("SELECT * FROM data_quality ORDER BY ALL").fetchall()
    con.close()
    outcomes = {
        "fingerprints": {**staged, **marts},
        "checks": {
            c.name: {"failed": c.failed, "sample": c.sample, "by_key": sorted(map(repr, c.by_key.items()))}
            for c in checks
        },
        "gx": {t: {k: v for k, v in r.items() if k != "seconds"} for t, r in gx_results.items()},
        "data_quality_rows": rows,
        "data_quality": [list(map(repr, row)) for row in table],
        "frames": {n: [len(f), [str(t) for t in f.dtypes]] for n, f in frames.items()},
    }
    if args.out:
        args.out.write_text(
            json.dumps({"timings": timings, "outcomes": outcomes, "load": os.getloadavg()}, indent=1, default=str)
        )
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


def gx_ab(frames: dict, data: Path, registry, rounds: int) -> int:
    """CPU of `validate_in_process` of the same frame with GX's batch hash and the per-cell escape match (before)
    and without them (after); the summaries must be equal."""
    from great_expectations.execution_engine import pandas_execution_engine

    from expectations import gx_runner, suites

    kept = (gx_runner._no_batch_hash, suites._nothing_to_escape, pandas_execution_engine.HASH_THRESHOLD)
    summaries = []
    with tempfile.TemporaryDirectory(prefix="h29q-gx-") as tmp:
        site = Path(tmp) / "quality" / "data_docs"
        shutil.copytree(data / "quality", site.parent)
        gx_runner.gx_context(site, registry)
        for _ in range(rounds):
            for way in ("before", "after"):
                pandas_execution_engine.HASH_THRESHOLD = kept[2]
                if way == "before":
                    gx_runner._no_batch_hash, suites._nothing_to_escape = (lambda: None), (lambda column: False)
                else:
                    gx_runner._no_batch_hash, suites._nothing_to_escape = kept[0], kept[1]
                cpu, wall = time.process_time(), time.perf_counter()
                result = gx_runner.validate_in_process(frames, site, run_name="2024", keep_runs=2, registry=registry)
                print(
                    f"{way:<7} cpu {time.process_time() - cpu:5.2f} s  wall {time.perf_counter() - wall:5.2f} s  "
                    f"load {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
                summaries.append({k: v for k, v in result["stg_ratings"].items() if k != "seconds"})
    print("summaries equal:", all(s == summaries[0] for s in summaries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
