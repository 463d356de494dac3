"""The QĐ 766 scoring on a warehouse the harness built, timed per SQL file (wall and CPU of this process).

PYTHONPATH=. python bench/trace_766.py <data-dir> [explain.txt]   # e.g. /work/benchdata/i27/data-1000000

Clears the year's 766 state so that `score_dirty` rescores every month (as a first run does), times
scorecard_766.sql and scorecard_766_dossiers.sql through a thin wrapper around the connection (the trace under
EXPLAIN ANALYZE when a file is given), then the marts' whole publish into a temporary folder (`publish_marts`, the
`marts` step's work, which copies the trace), and prints a checksum of the trace rows to compare two versions of the
SQL. Rewrites the warehouse's 766 tables: use a copy. Runs on any version of the code (`PYTHONPATH=<tree>`).
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from assets.marts.publish import publish_marts
from assets.scorecard import build
from pipelines.core.registry import load_registry
from pipelines.core.warehouse import connect

YEAR = 2024
CHECKSUM = (
    "SELECT count(*), bit_xor(hash(year, period, agency_code, indicator_code, record_code, reason_code, "
    "reason, days_late)) FROM scorecard_766_dossiers"
)


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Timed:
    """The connection, with the two scoring SQL files timed."""

    def __init__(self, con, explain: str | None) -> None:
        self.con, self.explain = con, explain
        self.names = {build._sql(n): n for n in ("scorecard_766", "scorecard_766_dossiers")}
        written_in = getattr(build, "_bits_written_in", None)  # the reasons' bits as constants (issue 27, third part)
        if written_in is not None:
            self.names[written_in(build._sql("scorecard_766_dossiers"))] = "scorecard_766_dossiers"

    def __getattr__(self, name: str):
        return getattr(self.con, name)

    def execute(self, sql: str, *args):
        name = self.names.get(sql)
        if name is None:
            return self.con.execute(sql, *args)
        wall, used = time.perf_counter(), cpu()
        if self.explain and name == "scorecard_766_dossiers":
            Path(self.explain).write_text(self.con.execute("EXPLAIN ANALYZE " + sql, *args).fetchall()[0][1])
            out = None
        else:
            out = self.con.execute(sql, *args)
        print(f"  {name}.sql: wall {time.perf_counter() - wall:.2f} s, CPU {cpu() - used:.2f} s", flush=True)
        return out


def main() -> None:
    base = Path(sys.argv[1])
    con = connect(base / "warehouse" / "egov.duckdb")
    build.ensure_schema(con)
    print("trace rows, checksum before:", con.execute(CHECKSUM).fetchone(), flush=True)
    con.execute("DELETE FROM scorecard_766_state WHERE year = ?", [YEAR])
    wall, used = time.perf_counter(), cpu()
    print(build.score_dirty(Timed(con, sys.argv[2] if len(sys.argv) > 2 else None), YEAR, load_registry(base)))
    print(f"score_dirty (every month): wall {time.perf_counter() - wall:.2f} s, CPU {cpu() - used:.2f} s")
    print("trace rows, checksum after:", con.execute(CHECKSUM).fetchone(), flush=True)
    for table in ("scorecard_766", "scorecard_766_totals"):
        print(
            f"{table} rows, checksum:", con.execute(f"SELECT count(*), bit_xor(hash(t)) FROM {table} AS t").fetchone()
        )
    with tempfile.TemporaryDirectory(dir=base) as marts:
        wall, used = time.perf_counter(), cpu()
        counts = publish_marts(con, Path(marts))
        print(
            f"publish_marts (the marts step; trace rows {counts.get('scorecard_766_dossiers')}, compact rows "
            f"{counts.get('scorecard_766_lost')}): wall {time.perf_counter() - wall:.2f} s, CPU {cpu() - used:.2f} s"
        )


if __name__ == "__main__":
    main()
