"""Markdown tables for docs/benchmarks.md from the harness's results files.

python bench/report.py bench/out/results-1000000.json bench/out/results-10000000-incremental.json ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

LABELS = {"pipeline": "pipeline (everything)", "duckdb": "bare DuckDB", "polars": "Polars", "pandas": "pandas"}


def main(paths: list[str]) -> None:
    reports = sorted((json.loads(Path(p).read_text()) for p in paths), key=lambda r: r["dossiers"])
    print(
        "| dossiers (files on disk) | contender | median wall (s) | median CPU (s) | peak RSS (MB) | × bare DuckDB "
        "| runs |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in reports:
        gen = r["generation"]
        size = f"{gen['dossiers']:,} ({gen.get('disk_mb', 0) / 1024:.1f} GB CSV)"
        base = r["results"].get("duckdb", {}).get("wall_s")
        for name, s in r["results"].items():
            cpu = sorted(run["cpu_s"] for run in s["runs"] if "cpu_s" in run)
            cpu_median = f"{cpu[len(cpu) // 2]:.1f}" if cpu else "-"
            ratio = f"{s['wall_s'] / base:.2f}" if base else "-"
            print(
                f"| {size} | {LABELS.get(name, name)} | {s['wall_s']:.1f} | {cpu_median} | {s['peak_rss_mb']:.0f} "
                f"| {ratio} | {len(s['runs'])} |"
            )
            size = ""
        for name, why in r.get("skipped", {}).items():
            print(f"| {size} | {LABELS.get(name, name)} | - | - | - | - | {why} |")
        print(f"| | (generation, streamed) | {gen['wall_s']:.1f} | - | {gen['peak_rss_mb']:.0f} | - | 1 |")
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
        if inc:
            night = r["incremental"]["one_new_day"]
            full = r["results"]["pipeline"]
            cpu_night = sorted(x["cpu_s"] for x in night["runs"])[len(night["runs"]) // 2]
            cpu_full = sorted(x["cpu_s"] for x in full["runs"])[len(full["runs"]) // 2]
            print(
                f"\nIncremental night ({r['incremental']['new_day_dossiers']:,} new dossiers on "
                f"{r['generation']['dossiers']:,}): {night['wall_s']} s wall / {cpu_night} s CPU, "
                f"{night['peak_rss_mb']} MB = {night['wall_s'] / full['wall_s']:.0%} of the full run's wall "
                f"({full['wall_s']} s), {cpu_night / cpu_full:.0%} of its CPU ({cpu_full} s); a rerun with nothing "
                f"new: {r['incremental']['nothing_new']['wall_s']} s."
            )


if __name__ == "__main__":
    main(sys.argv[1:])
