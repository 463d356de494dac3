"""The `ranking_reports` step's work timed query by query (wall and CPU of this process), on a harness marts file.

PYTHONPATH=<tree> python bench/reports_10m.py run <data-dir> <out-dir> [--years 2024 2025] [--top 15]
python bench/reports_10m.py compare <out-dir-a> <out-dir-b>

`run`: `write_reports` of the years (the asset's call: the year and the next) from <data-dir>/marts/egov.duckdb
into <out-dir>, with every statement the reports send to the marts timed through a thin wrapper around the
connection (its execute and the fetches of its result), grouped by the statement's text; prints the whole call's
wall and CPU (`time.process_time`: every DuckDB thread), the load average, and the costliest statements. Runs on
any version of the code (`PYTHONPATH=<tree>`), so two versions can be timed interleaved on the same marts.
`compare`: the two output folders hold the same pages (every HTML file byte for byte, the same file names) and
workbooks with the same cells (openpyxl values of every sheet); the workbook's zip (timestamps) is not compared.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import zlib
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

STATS: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])  # statement → [calls, wall, CPU]


def _key(sql: str) -> str:
    text = re.sub(r"\s+", " ", sql).strip()
    return text[:150] + (f" …[{zlib.crc32(text.encode()):08x}]" if len(text) > 150 else "")


class _Timed:
    """A statement's result: its fetches are charged to the statement."""

    def __init__(self, cur: Any, key: str) -> None:
        self.cur, self.key = cur, key

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.cur, name)
        if not name.startswith("fetch"):
            return attr

        def timed(*args: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return attr(*args)
            finally:
                STATS[self.key][1] += time.perf_counter() - wall
                STATS[self.key][2] += time.process_time() - cpu

        return timed


class TimedConnection:
    """The marts connection, each statement timed (execute and fetches)."""

    def __init__(self, con: Any) -> None:
        self.con = con

    def __getattr__(self, name: str) -> Any:
        return getattr(self.con, name)

    def execute(self, sql: str, *args: Any) -> _Timed:
        key = _key(sql)
        wall, cpu = time.perf_counter(), time.process_time()
        cur = self.con.execute(sql, *args)
        stat = STATS[key]
        stat[0] += 1
        stat[1] += time.perf_counter() - wall
        stat[2] += time.process_time() - cpu
        return _Timed(cur, key)


def run(data_dir: Path, out_dir: Path, years: list[int], top: int) -> None:
    from assets.reports import publish

    opened = publish.open_marts

    @contextmanager
    def timed_marts(path: Path) -> Iterator[TimedConnection]:
        with opened(path) as con:
            yield TimedConnection(con)

    publish.open_marts = timed_marts
    load = os.getloadavg()
    wall, cpu = time.perf_counter(), time.process_time()
    written = publish.write_reports(data_dir / "marts" / "egov.duckdb", years, out_dir, print, data_dir=data_dir)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"write_reports {years}: wall {wall:.2f} s, CPU {cpu:.2f} s; load average before "
        f"{load[0]:.2f}, after {os.getloadavg()[0]:.2f}; years written {sorted(written)}"
    )
    sql_wall, sql_cpu = sum(s[1] for s in STATS.values()), sum(s[2] for s in STATS.values())
    print(f"statements: {sum(s[0] for s in STATS.values())} calls, wall {sql_wall:.2f} s, CPU {sql_cpu:.2f} s")
    print("| statement (first 150 characters) | calls | wall (s) | CPU (s) |\n|---|---|---|---|")
    for key, (calls, w, c) in sorted(STATS.items(), key=lambda kv: -kv[1][2])[:top]:
        print(f"| `{key}` | {calls} | {w:.2f} | {c:.2f} |")


def compare(a: Path, b: Path) -> int:
    from openpyxl import load_workbook

    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    bad = 0
    for name in sorted(files_a ^ files_b):
        print(f"only in {'a' if name in files_a else 'b'}: {name}")
        bad += 1
    html = xlsx = 0
    for name in sorted(files_a & files_b):
        if name.suffix == ".xlsx":
            xlsx += 1
            book_a, book_b = load_workbook(a / name, read_only=True), load_workbook(b / name, read_only=True)
            if book_a.sheetnames != book_b.sheetnames:
                print(f"{name}: sheets differ: {book_a.sheetnames} / {book_b.sheetnames}")
                bad += 1
                continue
            for sheet in book_a.sheetnames:
                rows_a = list(book_a[sheet].iter_rows(values_only=True))
                rows_b = list(book_b[sheet].iter_rows(values_only=True))
                if rows_a != rows_b:
                    diff = next(
                        i for i, (x, y) in enumerate(zip(rows_a + [None], rows_b + [None], strict=False)) if x != y
                    )
                    print(f"{name} [{sheet}]: rows differ from row {diff + 1} ({len(rows_a)} / {len(rows_b)} rows)")
                    bad += 1
        elif (a / name).read_bytes() != (b / name).read_bytes():
            print(f"{name}: differs")
            bad += 1
        else:
            html += name.suffix == ".html"
    both = len(files_a & files_b)
    print(f"{both} files in both; {html} HTML files identical, {xlsx} workbooks compared; {bad} differences")
    return 1 if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("data_dir", type=Path)
    r.add_argument("out_dir", type=Path)
    r.add_argument("--years", type=int, nargs="+", default=[2024, 2025])
    r.add_argument("--top", type=int, default=15)
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = parser.parse_args()
    if args.command == "run":
        run(args.data_dir, args.out_dir, args.years, args.top)
    else:
        sys.exit(compare(args.a, args.b))


if __name__ == "__main__":
    main()
