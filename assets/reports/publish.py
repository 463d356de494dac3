"""Write the published reports of some years from the marts file: the Excel workbook and the HTML pages.

Never a traceback for a year without ranking: a year the marts know (it has indicators or agencies) but with no
ranked agency gets a page saying "Chưa có xếp hạng cho năm …"; a year the marts do not know at all (the year
after the latest, which a run also refreshes) is skipped with a log line; a missing or empty marts file too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb

from assets.marts.publish import open_marts
from assets.reports.common import data_docs_page
from assets.reports.data import has_table, ranked_years
from assets.reports.html import write_html_report, write_report_index, write_unranked_page
from assets.reports.scorecard_766 import costly_records
from assets.reports.workbook import write_ranking_workbook
from pipelines.core import settings
from pipelines.core.warehouse import set_memory_limit

REPORTS_DIR = "reports"
# Tables whose years the marts "know" (a year can have indicators and agencies before anyone is ranked).
YEAR_TABLES = ("rankings", "agency_years", "indicators", "dossier_indicators_ytd")


def _known_years(con: duckdb.DuckDBPyConnection) -> set[int]:
    years: set[int] = set()
    for table in YEAR_TABLES:
        if has_table(con, table):
            years |= {int(y) for (y,) in con.execute(f"SELECT DISTINCT year FROM {table}").fetchall()}
    return years


def write_reports(
    marts_file: Path,
    years: list[int],
    out_dir: Path,
    progress: Callable[[str], None] = lambda _: None,
    *,
    data_dir: Path | None = None,
    now: datetime | None = None,
) -> dict[int, dict]:
    """Reports of `years` from `marts_file`; returns per year written its files, seconds taken and whether it
    is ranked.

    `data_dir`: the data directory whose Data Docs the pages link (default: EGOV_DATA_DIR, else data/, as the
    CLI uses); `now`: when the running year is decided (default: now, Vietnam time)."""
    written: dict[int, dict] = {}
    marts_file, out_dir = Path(marts_file), Path(out_dir)
    if not marts_file.is_file():
        progress(f"reports: no marts file at {marts_file}, nothing to report: run the pipeline first")
        return written
    docs = data_docs_page(data_dir or settings.data_dir())
    with open_marts(marts_file) as con:
        set_memory_limit(con)  # the warehouse's budget, not DuckDB's default of 80 % of RAM
        ranked, known = ranked_years(con), _known_years(con)
        if not ranked:
            progress(f"reports: the marts {marts_file} hold no ranking of any year")
        for year in sorted(set(years)):
            started = time.monotonic()
            if year in ranked:
                costly = costly_records(con, year)  # read once: the workbook's sheet and the agency pages list them
                xlsx = write_ranking_workbook(con, year, out_dir, now=now, costly_766=costly)
                html = write_html_report(con, year, out_dir, data_docs=docs, now=now, costly_766=costly)
                pages = len(list((html.parent / "co-quan").glob("*.html")))
                written[year] = {
                    "html": html,
                    "xlsx": xlsx,
                    "profiles": pages,
                    "ranked": True,
                    "seconds": round(time.monotonic() - started, 2),
                }
                progress(
                    f"report {year}: {xlsx.name}, index.html and {pages} agency profiles in {html.parent} "
                    f"({written[year]['seconds']} s)"
                )
            elif year in known:
                html, withdrawn = write_unranked_page(con, year, out_dir, data_docs=docs, now=now)
                written[year] = {
                    "html": html,
                    "profiles": 0,
                    "ranked": False,
                    "seconds": round(time.monotonic() - started, 2),
                }
                progress(
                    f"report {year}: no agency is ranked in {year}; wrote {html} saying so (Chưa có xếp hạng"
                    f" cho năm {year})"
                    + (f" and withdrew {len(withdrawn)} files of an earlier ranking" if withdrawn else "")
                )
            else:
                progress(f"report {year}: skipped, the marts hold no data for {year}")
        write_report_index(out_dir, con, now)
    return written
