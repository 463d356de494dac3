"""The national marts' publish alone (the `national_marts` asset's work), before and after a change, interleaved.

    .venv/bin/python bench/national_marts.py DATA [--before c7f2c04] [--rounds 3] [--work /tmp/national-marts]

DATA is a national data directory already run once (its provinces' marts and the national warehouse built, e.g.
bench/national.py's). Each round publishes the national marts with the `national_marts_sql` of commit `--before`
(read with `git show`) and with this checkout's, in alternating order, each on its own copy of the national
warehouse (copied untimed) into its own marts folder, exactly as the asset does (`ensure_national_tables`, the
provinces' marts attached, `publish_marts` without the shrink guard; the warehouse's memory limit,
EGOV_DUCKDB_MEMORY_LIMIT or 900 MB). Prints wall (perf_counter) and CPU (process_time: every DuckDB thread) per
publish with the load average, then whether both versions' marts hold the same rows (bench/marts_digest.py, every
table and view). Not part of the tests.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT), str(PROJECT / "bench")]


def before_module(commit: str, work: Path):
    """assets/national/build.py as it was at `commit`, imported under another name (the rest is this checkout's)."""
    source = subprocess.run(
        ["git", "show", f"{commit}:assets/national/build.py"], cwd=PROJECT, check=True, capture_output=True, text=True
    ).stdout
    path = work / f"build_{commit}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"build_{commit}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def publish(data: Path, out: Path, marts_sql) -> tuple[float, float]:
    """One national publish into `out` from a fresh copy of `data`'s warehouse: (wall, CPU) seconds."""
    from assets.marts.publish import publish_marts
    from assets.national.build import attached, ensure_national_tables, province_marts
    from pipelines.core.warehouse import connect

    shutil.rmtree(out, ignore_errors=True)
    (out / "warehouse").mkdir(parents=True)
    shutil.copyfile(data / "warehouse" / "egov.duckdb", out / "warehouse" / "egov.duckdb")
    con = connect(out / "warehouse" / "egov.duckdb")  # as the asset's: the same memory limit
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        ensure_national_tables(con)
        with attached(con, province_marts(data)) as names:
            publish_marts(con, out / "marts", lambda built: marts_sql(built, names))
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="a national data directory already run once")
    parser.add_argument("--before", default="c7f2c04", help="the commit whose national_marts_sql is 'before'")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/national-marts"))
    parser.add_argument("--no-compare", action="store_true", help="skip the comparison (minutes at 10M dossiers)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    from marts_digest import digest

    from assets.national import build

    versions = {"before": before_module(args.before, args.work).national_marts_sql, "after": build.national_marts_sql}
    times: dict[str, list[tuple[float, float]]] = {v: [] for v in versions}
    for round_ in range(args.rounds):
        order = list(versions) if round_ % 2 == 0 else list(reversed(versions))
        for version in order:
            wall, cpu = publish(args.data, args.work / version, versions[version])
            times[version].append((wall, cpu))
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            print(f"round {round_} {version:6}: wall {wall:6.2f} s, CPU {cpu:6.2f} s, load {load}", flush=True)
    for version, measured in times.items():
        print(
            f"{version:6} median: wall {statistics.median(w for w, _ in measured):.2f} s, "
            f"CPU {statistics.median(c for _, c in measured):.2f} s"
        )
    if args.no_compare:
        return 0
    digests = {v: digest(str(args.work / v / "marts" / "egov.duckdb")) for v in versions}
    same = digests["before"] == digests["after"]
    print(f"marts: {'the same rows in every table and view' if same else 'DIFFERENT'} ({len(digests['after'])} tables)")
    if not same:
        for a, b in zip(digests["before"], digests["after"], strict=False):
            if a != b:
                print(f"  before {a}\n  after  {b}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
