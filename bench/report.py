"""Markdown tables for docs/benchmarks.md from the harness's results files.

python bench/report.py bench/out/results-1000000.json bench/out/results-10000000-incremental.json ...

Ratios are taken within one results file (one harness run), never across runs: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

LABELS = {
    "pipeline": "pipeline (everything, CSV)",
    "pipeline_parquet": "pipeline (everything, Parquet dossiers)",
    "duckdb": "bare DuckDB, aggregate only",
    "duckdb_typed": "bare DuckDB, typed table into a file, then aggregate",
    "duckdb_parquet": "bare DuckDB, aggregate on Parquet",
    "polars": "Polars",
    "pandas": "pandas",
}


def _cpu(s: dict) -> float | None:
    cpu = [run["cpu_s"] for run in s.get("runs", []) if "cpu_s" in run]
    return round(statistics.median(cpu), 1) if cpu else None


def main(paths: list[str]) -> None:
    reports = sorted((json.loads(Path(p).read_text()) for p in paths), key=lambda r: r["dossiers"])
    print(
        "| dossiers (files on disk) | contender | median wall (s) | median CPU (s) | peak RSS (MB) | × bare DuckDB "
        "aggregate | × bare DuckDB typed table | runs |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in reports:
        gen = r["generation"]
        size = f"{gen['dossiers']:,} ({gen.get('disk_mb', 0) / 1024:.1f} GB CSV)"
        base = r["results"].get("duckdb", {}).get("wall_s")
        typed = r["results"].get("duckdb_typed", {}).get("wall_s")
        for name, s in r["results"].items():
            cpu = _cpu(s)
            print(
                f"| {size} | {LABELS.get(name, name)} | {s['wall_s']:.1f} | {cpu if cpu is not None else '-'} "
                f"| {s['peak_rss_mb']:.0f} | {s['wall_s'] / base:.2f} | "
                f"{s['wall_s'] / typed:.2f} | {len(s['runs'])} |"
                if base and typed
                else f"| {size} | {LABELS.get(name, name)} | {s['wall_s']:.1f} | {cpu} | {s['peak_rss_mb']:.0f} "
                f"| - | - | {len(s['runs'])} |"
            )
            size = ""
        for name, why in r.get("skipped", {}).items():
            print(f"| {size} | {LABELS.get(name, name)} | - | - | - | - | - | {why} |")
        if "incremental" in r:
            inc = r["incremental"]
            night, none = inc["one_new_day"], inc["nothing_new"]
            full = r["results"]["pipeline"]
            print(
                f"| | incremental night (+{inc['new_day_dossiers']:,} dossiers, `egov run`) | {night['wall_s']:.1f} "
                f"| {_cpu(night)} | {night['peak_rss_mb']:.0f} | {night['wall_s'] / full['wall_s']:.0%} of the "
                f"full run | | {len(night['runs'])} |"
            )
            none_cpu = round(none["cpu_s"], 2) if "cpu_s" in none else "-"
            print(
                f"| | rerun with nothing new (`egov run`) | {none['wall_s']:.2f} | {none_cpu} "
                f"| {none['peak_rss_mb']:.0f} | | | |"
            )
    for r in reports:
        if "pipeline" not in r["results"]:
            continue
        print(f"\nPer step, {r['generation']['dossiers']:,} dossiers (median s; Dagster event log):\n")
        steps = r["results"]["pipeline"]["steps"]
        inc = r.get("incremental", {}).get("one_new_day", {}).get("steps", {})
        print("| step | full run | incremental night |" if inc else "| step | full run |")
        print("|---|---|---|" if inc else "|---|---|")
        for step, seconds in steps.items():
            print(f"| {step} | {seconds} | {inc.get(step, '-')} |" if inc else f"| {step} | {seconds} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", help="results-<N>[-incremental].json files written by bench/run.py")
    main(parser.parse_args().results)
