"""One source's ingest alone, timed (wall and CPU of this process), on a warehouse the harness built.

PYTHONPATH=<tree> python bench/ingest_source.py <data-dir> [source] [--year Y] [--rounds N]   # e.g. ratings

Reloads every raw file of the source and year (`ingest(..., full_refresh=True)`, as `egov backfill` does) N times and
prints each round's wall and CPU seconds and the rows read, loaded and quarantined, to compare two versions of the
loader on the same files (run one version, then the other, on the same copy). Rewrites the source's staged rows: use
a copy of the data directory. Runs on any version of the code.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from assets.ingestion.load import ingest
from pipelines.core.registry.sources import load_sources
from pipelines.core.warehouse import connect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("source", nargs="?", default="ratings", help="a source of config/sources.yaml")
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    contract = load_sources()[args.source]
    con = connect(args.data_dir / "warehouse" / "egov.duckdb")
    for round_ in range(args.rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        report = ingest(con, contract, args.data_dir / "raw", args.year, full_refresh=True)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"{args.source} {args.year} round {round_}: wall {wall:.2f} s, CPU {cpu:.2f} s; rows read "
            f"{report.rows_read:,}, loaded {report.rows_loaded:,}, quarantined {report.rows_quarantined:,}; "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    con.close()


if __name__ == "__main__":
    main()
