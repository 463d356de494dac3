"""The fixed cost of a run: the tests' two-province national directory (tests/test_national.py `write_national`, a
handful of dossiers each) run once in-process, as its `national` fixture does, in a new data directory each time.

    .venv/bin/python bench/small_run.py [--root /tmp/small_run] [--repeat 3]

With so little data, what a run costs is what every run pays whatever its size: Python and Dagster, opening the
warehouse once per step, Great Expectations' project and validation, the reports. Run it under `/usr/bin/time -f
"%U %S %e"` to see the CPU of the GX worker processes too; the script prints its own process's CPU and wall per
repetition. Set EGOV_GX_WORKER=0 to validate in this process, EGOV_CACHE_DIR to choose the prepared GX project's
cache (docs/operators.md). Not part of the tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT), str(PROJECT / "tests")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=None, help="where the data directories go (default: a temp dir)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="egov-small-run-"))

    from test_national import write_national  # the tests' own small national directory

    from pipelines.cli.runs import execute_pipeline

    for i in range(args.repeat):
        work = root / f"run{i}"
        shutil.rmtree(work, ignore_errors=True)
        base = write_national(work / "data")
        home = work / "dagster_home"
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        os.environ["EGOV_DATA_DIR"], os.environ["DAGSTER_HOME"] = str(base), str(home)
        wall, cpu = time.perf_counter(), time.process_time()
        status = execute_pipeline([2024], data_dir=base, full_refresh=True)
        print(
            f"run {i}: exit {status}, wall {time.perf_counter() - wall:.2f} s, CPU of this process "
            f"{time.process_time() - cpu:.2f} s",
            flush=True,
        )
        if status:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
