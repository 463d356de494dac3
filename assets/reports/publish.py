"""Write the published reports of some years from the marts file: the Excel workbook and the HTML pages."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from assets.reports.html import write_html_report, write_report_index
from assets.reports.workbook import write_ranking_workbook

REPORTS_DIR = "reports"


def write_reports(marts_file: Path, years: list[int], out_dir: Path,
                  progress: Callable[[str], None] = lambda _: None) -> dict[int, dict]:
    """Reports of `years` that have a ranking in `marts_file`; returns per year the files and seconds taken."""
    written: dict[int, dict] = {}
    con = duckdb.connect(str(marts_file), read_only=True)
    try:
        ranked = {y for (y,) in con.execute("SELECT DISTINCT year FROM rankings").fetchall()}
        for year in sorted(set(years) & ranked):
            started = time.monotonic()
            xlsx = write_ranking_workbook(con, year, out_dir)
            html = write_html_report(con, year, out_dir)
            pages = len(list((html.parent / "co-quan").glob("*.html")))
            written[year] = {"html": html, "xlsx": xlsx, "profiles": pages,
                             "seconds": round(time.monotonic() - started, 2)}
            progress(f"report {year}: {xlsx.name}, index.html and {pages} agency profiles in {html.parent} "
                     f"({written[year]['seconds']} s)")
    finally:
        con.close()
    write_report_index(out_dir)
    return written
