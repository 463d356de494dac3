"""The national report: the ranking of provinces as the ministry publishes it, written like a province's reports
(assets/reports/): read through the same report data layer, rendered through the same Jinja templates (the base
layout, the ranking table, report.css, Plotly offline), numbers in Vietnamese (`0,8123`), every file written
atomically.

    marts/reports/index.html                       the years (as a province's)
    marts/reports/<year>/index.html                the ranking of provinces: class badges, rank intervals when the
                                                   marts hold them, a chart of the index, the trend across years
    marts/reports/<year>/tinh/<code>.html          one page per province: its rank, index and criteria, its years,
                                                   and a link to the province's own report (its agencies' ranking)
    marts/reports/<year>/xep_hang_tinh_<year>.xlsx the ranking sheet of the provincial workbook, for provinces
    marts/reports/<year>/chi-so-766.html           the provinces × months of the QĐ 766 scorecard
                                                   (national_scorecard_766), in the provincial page's layout
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import jinja2

from assets.marts.publish import MARTS_FILE, open_marts
from assets.reports.common import (
    ClassStyles,
    Provisional,
    class_styles,
    page_file,
    provisional,
    remove_leftovers,
    write_text_atomic,
)
from assets.reports.data import RankedGroup, has_table, history, ranked_years, ranking
from assets.reports.html import (
    CATEGORY_AXIS,
    STATIC,
    _bar_height,
    _environment,
    _interval_chart,
    _page_globals,
    install_static,
    write_report_index,
)
from assets.reports.scorecard_766 import PAGE as SCORECARD_766_PAGE
from assets.reports.scorecard_766 import write_766_page
from assets.reports.workbook import new_workbook
from assets.reports.workbook.formats import Formats, sheet_name
from assets.reports.workbook.rankings import PROVINCES, ranking_sheet
from pipelines.core import settings
from pipelines.core.provinces import PROVINCE_GROUP
from pipelines.core.sql import sql_literal

REPORTS_DIR = "reports"
PROVINCE_PAGES = "tinh"
GROUPS = (PROVINCE_GROUP,)  # what the national marts rank (their other groups are the provinces' own)
UNITS = "các tỉnh, thành phố"


def write_national_reports(base: Path, years: list[int], *, now: datetime | None = None) -> dict[int, list[Path]]:
    """The ranking of provinces of each ranked year of `years` (Excel, HTML, a page per province) and the index of
    the years; returns the files written per year. `now` decides whether a year is still running (default: now,
    Vietnam time)."""
    out_dir = settings.marts_dir(base) / REPORTS_DIR
    written: dict[int, list[Path]] = {}
    with open_marts(settings.marts_dir(base) / MARTS_FILE) as con:
        env = _environment()
        install_static(out_dir)
        for year in sorted(set(years) & ranked_years(con, GROUPS)):
            written[year] = _write_year(con, env, out_dir, year, now)
        write_report_index(out_dir, con, now)
    return written


def _write_year(
    con: duckdb.DuckDBPyConnection, env: jinja2.Environment, out_dir: Path, year: int, now: datetime | None
) -> list[Path]:
    year_dir = out_dir / str(year)
    pages_dir = year_dir / PROVINCE_PAGES
    pages_dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(year_dir, pages_dir)
    groups = ranking(con, year, GROUPS)
    status = provisional(con, year, now)
    classes = class_styles(con, year, GROUPS)
    trend = history(con, year, GROUPS)
    common = {**_page_globals(con, status), "class_colours": classes.colours(), "data_docs": None}
    workbook = _workbook(year_dir / f"xep_hang_tinh_{year}.xlsx", year, groups, classes, status)
    page_766 = _write_766(con, env, year, year_dir, common)
    index = write_text_atomic(
        year_dir / "index.html",
        env.get_template("national.html").render(
            year=year,
            groups=groups,
            charts=_charts(groups, trend, year, classes),
            pages=PROVINCE_PAGES,
            workbook=workbook.name,
            scorecard_766=SCORECARD_766_PAGE if page_766 else None,
            rubric_year=groups[0]["rows"][0]["rubric_year"],
            static=f"../{STATIC}",
            **common,
        ),
    )
    template = env.get_template("province.html")
    pages = []
    for group in groups:
        for row in group["rows"]:
            code = row["agency_code"]
            # From reports/<year>/tinh/<page>.html up to the national data directory, then the province's own
            # report (the code one path segment of the link, whatever it holds).
            own = f"../../../../provinces/{quote(code, safe='')}/marts/reports/{year}/index.html"
            years = trend.get(code, [])
            pages.append(
                write_text_atomic(
                    pages_dir / page_file(code),
                    template.render(  # never a path: page_file
                        year=year,
                        g=group,
                        r=row,
                        history=years,
                        own=own,
                        charts=_province_charts(years),
                        static=f"../../{STATIC}",
                        **common,
                    ),
                )
            )
    for stale in pages_dir.glob("*.html"):  # a province no longer ranked that year
        if stale not in pages:
            stale.unlink()
    return [workbook, index, *pages, *([page_766] if page_766 else [])]


def _write_766(
    con: duckdb.DuckDBPyConnection, env: jinja2.Environment, year: int, year_dir: Path, common: dict[str, Any]
) -> Path | None:
    """reports/<year>/chi-so-766.html: the provinces ranked by their QĐ 766 scorecard every month, quarter and year,
    written by the provincial page's code (assets/reports/scorecard_766.py) on a cursor of its own whose temporary
    views show national_scorecard_766 as that page reads a province's scorecard (a unit per province, one group)."""
    if not has_table(con, "national_scorecard_766"):
        return None
    cur = con.cursor()
    try:
        # Copied first: the marts' views bind their tables by name when read, and the views below take those names.
        cur.execute(
            "CREATE TEMP TABLE egov_n766 AS SELECT * FROM national_scorecard_766 WHERE left(period, 4) = ?", [str(year)]
        )
        cur.execute(
            "CREATE TEMP TABLE egov_n766_levels AS SELECT DISTINCT year, label, min_share, colour, fill "
            "FROM scorecard_766_levels WHERE year = ?",
            [year],
        )
        cur.execute(f"""CREATE TEMP VIEW scorecard_766_totals AS
            SELECT period, period_type, province_code AS agency_code, {sql_literal(PROVINCE_GROUP)} AS agency_group,
                   total_points, computable_max, rank
            FROM egov_n766""")
        cur.execute("""CREATE TEMP VIEW agencies AS
            SELECT DISTINCT province_code AS agency_code, coalesce(province_name, province_code) AS agency_name
            FROM egov_n766""")
        cur.execute("CREATE TEMP VIEW scorecard_766_levels AS SELECT * FROM egov_n766_levels")
        cur.execute("CREATE TEMP TABLE scorecard_766_items AS SELECT * FROM scorecard_766_items WHERE false")
        return write_766_page(cur, env, year, year_dir, {**common, "national": True, "static": f"../{STATIC}"})
    finally:
        cur.close()


def _workbook(
    path: Path, year: int, groups: list[RankedGroup], classes: ClassStyles, status: Provisional | None
) -> Path:
    """The ranking of provinces as the provincial workbook's ranking sheet: same layout, formats and guards."""
    with new_workbook(path, f"Xếp hạng mức độ ứng dụng CNTT {UNITS} năm {year}", status) as wb:
        fmt = Formats(wb, classes)
        taken: set[str] = set()
        for group in groups:
            ranking_sheet(wb, fmt, sheet_name(group["sheet"], taken), year, group, list(classes), status, PROVINCES)
    return path


def _charts(
    groups: list[RankedGroup], trend: dict[str, list[dict[str, Any]]], year: int, classes: ClassStyles
) -> dict[str, dict]:
    """Per group: the index of each province (coloured by class), the rank intervals when the marts hold them,
    and each province's index over the years when there are several."""
    charts: dict[str, dict] = {}
    for g in groups:
        rows = list(reversed(g["rows"]))  # the best on top
        names = [r["agency_name"] for r in rows]
        charts[f"index_{g['group']}"] = {
            "data": [
                {
                    "type": "bar",
                    "orientation": "h",
                    "y": names,
                    "x": [r["index_value"] for r in rows],
                    "marker": {"color": [classes.colour(r["classification"]) for r in rows]},
                    "hovertemplate": "%{y}: chỉ số %{x:.4f}<extra></extra>",
                }
            ],
            "layout": {
                "title": {"text": f"Chỉ số {UNITS}, năm {year}"},
                "height": _bar_height(len(rows)),
                "yaxis": {"automargin": True, "dtick": 1},
                "xaxis": {"range": [0, 1]},
                "separators": ",.",
            },
        }
        if any(r["q05_rank"] is not None for r in rows):
            charts[f"interval_{g['group']}"] = _interval_chart({**g, "label": UNITS})
        years = sorted({h["year"] for r in rows for h in trend.get(r["agency_code"], [])})
        if len(years) > 1:
            charts[f"trend_{g['group']}"] = {
                "data": [
                    {
                        "type": "scatter",
                        "mode": "lines+markers",
                        "name": r["agency_name"],
                        "x": [str(h["year"]) for h in trend.get(r["agency_code"], [])],
                        "y": [h["index_value"] for h in trend.get(r["agency_code"], [])],
                        "hovertemplate": "%{fullData.name}, %{x}: chỉ số %{y:.4f}<extra></extra>",
                    }
                    for r in g["rows"]
                ],
                "layout": {
                    "title": {"text": f"Chỉ số {UNITS} qua các năm"},
                    "height": 420,
                    "xaxis": {**CATEGORY_AXIS, "categoryorder": "array", "categoryarray": list(map(str, years))},
                    "yaxis": {"range": [0, 1.05], "title": {"text": "Chỉ số"}},
                    "separators": ",.",
                },
            }
    return charts


def _province_charts(years: list[dict[str, Any]]) -> dict[str, dict]:
    """The province's index over the years, each point labelled with its rank; none for a single year."""
    if len(years) < 2:
        return {}
    return {
        "history": {
            "data": [
                {
                    "type": "scatter",
                    "mode": "lines+markers+text",
                    "x": [str(h["year"]) for h in years],
                    "y": [h["index_value"] for h in years],
                    "text": [f"hạng {h['rank']}" for h in years],
                    "textposition": "top center",
                    "name": "Chỉ số",
                    "hovertemplate": "%{x}: chỉ số %{y:.4f}, %{text}<extra></extra>",
                }
            ],
            "layout": {
                "title": {"text": "Chỉ số và xếp hạng qua các năm"},
                "height": 320,
                "separators": ",.",
                "xaxis": {"type": "category"},
                "yaxis": {"range": [0, 1.05], "title": {"text": "Chỉ số"}},
            },
        }
    }
