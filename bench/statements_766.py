"""The QĐ 766 SQL timed statement by statement (wall and CPU of this process), on a warehouse the harness built.

PYTHONPATH=<tree> python bench/statements_766.py <data-dir> [facts] [night] [copy]   # e.g. a copy of a harness data dir

`facts`: count every dossier file's facts again first (`refresh_facts`, as a first run does); then every month is
rescored (`score_dirty`), each statement of the scoring SQL timed; `night`: only what a night with one new day
rescores instead (the scoring's latest instant moved back a day: the last month, its quarter and the year); `copy`:
then the marts' copy of the compact trace alone (marts.sql's statement, into a scratch file). Prints
`bench/trace_766.py`'s checksum of the trace and the scores' to compare two versions. Rewrites the warehouse's 766
tables: use a copy. Runs on any version of the code.
"""

from __future__ import annotations

import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

from trace_766 import CHECKSUM, YEAR

from assets.scorecard import build
from pipelines.core.registry import load_registry
from pipelines.core.warehouse import connect


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Timed:
    """The connection, with each statement of a long SQL script timed."""

    def __init__(self, con) -> None:
        self.con = con

    def __getattr__(self, name: str):
        return getattr(self.con, name)

    def execute(self, sql: str, *args):
        if len(sql) < 400:
            return self.con.execute(sql, *args)
        out = None
        for statement in [s for s in re.split(r";\s*\n", sql) if re.sub(r"--[^\n]*", "", s).strip()]:
            wall, used = time.perf_counter(), cpu()
            out = self.con.execute(statement, *args)
            first = re.sub(r"--[^\n]*\n", "", statement).strip().split("\n")[0][:70]
            print(f"   {time.perf_counter() - wall:7.2f} s wall {cpu() - used:7.2f} s CPU  {first}", flush=True)
        return out


def main() -> None:
    base = Path(sys.argv[1])
    con = connect(base / "warehouse" / "egov.duckdb")
    build.ensure_schema(con)
    if "facts" in sys.argv[2:]:
        con.execute("DELETE FROM file_facts_built WHERE facts = 'scorecard_766_facts'")
        wall, used = time.perf_counter(), cpu()
        print(build.refresh_facts(Timed(con), YEAR))
        print(f"refresh_facts: wall {time.perf_counter() - wall:.2f} s, CPU {cpu() - used:.2f} s", flush=True)
    if "night" in sys.argv[2:]:
        con.execute("UPDATE scorecard_766_state SET latest = latest - INTERVAL 1 DAY WHERE year = ?", [YEAR])
    else:
        con.execute("DELETE FROM scorecard_766_state WHERE year = ?", [YEAR])
    wall, used = time.perf_counter(), cpu()
    print(build.score_dirty(Timed(con), YEAR, load_registry(base)))
    print(
        f"score_dirty: wall {time.perf_counter() - wall:.2f} s, CPU {cpu() - used:.2f} s, load {os.getloadavg()[0]:.1f}"
    )
    print("trace rows, checksum:", con.execute(CHECKSUM).fetchone())
    for table in ("scorecard_766", "scorecard_766_totals"):
        print(
            f"{table} rows, checksum:", con.execute(f"SELECT count(*), bit_xor(hash(t)) FROM {table} AS t").fetchone()
        )
    if "copy" in sys.argv[2:]:
        with tempfile.TemporaryDirectory(dir=base) as scratch:
            con.execute("ATTACH ? AS m", [str(Path(scratch) / "m.duckdb")])
            wall, used = time.perf_counter(), cpu()
            con.execute(
                "CREATE TABLE m.scorecard_766_lost AS "
                "SELECT period, agency_code, record_code, reasons, days_late, sync_days_late FROM scorecard_766_lost"
            )
            print(f"the marts' copy of the trace: wall {time.perf_counter() - wall:.2f} s, CPU {cpu() - used:.2f} s")
            con.execute("DETACH m")


if __name__ == "__main__":
    main()
