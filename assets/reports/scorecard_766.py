"""The QĐ 766 scorecard in the year's reports (docs/rubrics.md §8), read from the published marts:

- `write_766_page`: reports/<year>/chi-so-766.html, agencies × months (points of the computable maximum, coloured by
  the rubric's level), the quarters and the year, and the province's total by month against the previous year;
- `agency_766`: an agency's months and the items where it lost most points in the latest month (its profile page);
- `write_766_sheet`: the same table as a workbook sheet, and a sheet of the records that cost each agency most points
  in its latest month (`costly_records`, from scorecard_766_dossiers; also on the agency pages).
A year without the scorecard (before the decision) yields no page, section or sheet.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import jinja2

from assets.reports.common import vi_sort_key, write_text_atomic
from assets.reports.data import has_table, records

PAGE = "chi-so-766.html"
SHEET = "Chỉ số 766 theo tháng"
RECORDS_SHEET = "Hồ sơ mất điểm 766"
PROVINCE = "PROVINCE"
PROVINCE_NAME = "Toàn tỉnh"
LOST_SHOWN = 3  # items listed where an agency lost most in the latest month
RECORDS_SHOWN = 10  # records listed that cost an agency most in the latest month (page and workbook)


def has_scorecard(con: duckdb.DuckDBPyConnection, year: int) -> bool:
    """Whether the marts hold the 766 scorecard of `year`."""
    return bool(con.execute("SELECT count(*) FROM scorecard_766_totals WHERE period = ?", [str(year)]).fetchone()[0])


def _levels(con: duckdb.DuckDBPyConnection, year: int) -> list[dict[str, Any]]:
    return records(
        con,
        "SELECT label, min_share, colour, fill FROM scorecard_766_levels WHERE year = ? ORDER BY min_share DESC",
        [year],
    )


def level_of(levels: list[dict[str, Any]], total: float | None, computable: float) -> dict[str, Any] | None:
    """The level of a total, on its share of the computable points; None without a total."""
    if total is None or not computable:
        return None
    share = 100 * total / computable
    return next((lv for lv in levels if share >= lv["min_share"] - 1e-9), levels[-1] if levels else None)


class Cell(NamedTuple):
    """A unit's total of one period, as the page and the sheet show it."""

    total_points: float | None
    computable_max: float
    rank: int | None
    level: dict[str, Any] | None


def table(con: duckdb.DuckDBPyConnection, year: int) -> dict[str, Any]:
    """The page's table: columns (periods: the months, the quarters, the year) and one row per unit grouped by
    agency group, province first. Read in batches into one small Cell per unit and period: a group of 10,000
    units has some 170,000 of them."""
    levels = _levels(con, year)
    cells: dict[str, dict[str, Cell]] = defaultdict(dict)
    units: dict[str, tuple[str | None, str, str | None, int | None]] = {}
    types: dict[str, str] = {}
    cur = con.execute(
        """
        SELECT t.period, t.period_type, t.agency_code, t.agency_group, t.total_points, t.computable_max, t.rank,
               coalesce(a.agency_name, ?) AS agency_name, g.label_vi AS group_label, g.group_order
        FROM scorecard_766_totals AS t
        LEFT JOIN agencies AS a USING (agency_code)
        LEFT JOIN agency_groups AS g ON g.agency_group = t.agency_group
        WHERE t.period LIKE ? || '%'""",
        [PROVINCE_NAME, str(year)],
    )
    while batch := cur.fetchmany(10_000):
        for period, period_type, code, group, total, computable, rank, name, group_label, group_order in batch:
            cells[code][period] = Cell(total, computable, rank, level_of(levels, total, computable))
            units[code] = (group, name, group_label, group_order)
            types[period] = period_type
    groups: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for code, (group, name, _, _) in units.items():
        groups[group].append({"code": code, "name": name, "cells": cells[code]})
    kinds = {"month": 0, "quarter": 1, "year": 2}
    heading = {
        "month": lambda p: f"T{int(p[-2:])}",
        "quarter": lambda p: p[-2:].replace("Q", "Quý "),
        "year": lambda p: f"Năm {p}",
    }
    ordered = sorted(groups.items(), key=lambda kv: (kv[0] is not None, units[kv[1][0]["code"]][3] or 0, kv[0] or ""))
    return {
        "columns": [(p, heading[types[p]](p)) for p in sorted(types, key=lambda p: (kinds[types[p]], p))],
        "levels": levels,
        "groups": [
            {
                "group": g,
                "label": units[rows[0]["code"]][2] or g or PROVINCE_NAME,
                "rows": sorted(rows, key=lambda r: (vi_sort_key(r["name"]), r["code"])),
            }
            for g, rows in ordered
        ],
    }


def _trend_chart(con: duckdb.DuckDBPyConnection, year: int) -> dict[str, Any]:
    """The province's share of computable points by month, this year against the previous one."""
    rows = con.execute(
        """
        SELECT CAST(left(period, 4) AS INTEGER) AS y, CAST(right(period, 2) AS INTEGER) AS m,
               100 * total_points / nullif(computable_max, 0) AS share
        FROM scorecard_766_totals
        WHERE agency_code = ? AND period_type = 'month' AND left(period, 4) IN (?, ?)
        ORDER BY y, m""",
        [PROVINCE, str(year - 1), str(year)],
    ).fetchall()
    by_year: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for y, m, share in rows:
        by_year[y].append((m, share))
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"Năm {y}",
                "x": [m for m, _ in pts],
                "y": [s for _, s in pts],
                "line": {"width": 3 if y == year else 1.5, "dash": "solid" if y == year else "dot"},
            }
            for y, pts in sorted(by_year.items())
        ],
        "layout": {
            "title": {"text": "Toàn tỉnh: tỷ lệ điểm đạt trên điểm tính được, theo tháng"},
            "height": 360,
            "xaxis": {"title": {"text": "Tháng"}, "dtick": 1, "range": [0.5, 12.5]},
            "yaxis": {"title": {"text": "% điểm tính được"}, "rangemode": "tozero"},
            "separators": ",.",
        },
    }


def _not_computable(con: duckdb.DuckDBPyConnection, year: int) -> list[dict[str, Any]]:
    """The items without a value for the province's year: not computable from the records, or their optional input
    (catalogue sync flags, NgayDongBo, ratings, feedback) was not sent."""
    return records(
        con,
        """
        SELECT i.name_vi, i.max_points FROM scorecard_766_items AS i
        LEFT JOIN scorecard_766 AS s ON s.period = CAST(i.year AS VARCHAR) AND s.agency_code = 'PROVINCE'
                                    AND s.indicator_code = i.indicator_code
        WHERE i.year = ? AND (NOT i.computable OR s.points IS NULL)
        ORDER BY i.criterion_order, i.item_order""",
        [year],
    )


def write_766_page(
    con: duckdb.DuckDBPyConnection, env: jinja2.Environment, year: int, year_dir: Path, page_globals: dict[str, Any]
) -> Path | None:
    """Write reports/<year>/chi-so-766.html, or remove a stale one when the year has no scorecard."""
    path = year_dir / PAGE
    if not has_scorecard(con, year):
        path.unlink(missing_ok=True)
        return None
    html = env.get_template("scorecard_766.html").generate(
        year=year,
        t=table(con, year),
        charts={"trend_766": _trend_chart(con, year)},
        not_computable=_not_computable(con, year),
        **{"national": False, **page_globals},
    )
    return write_text_atomic(path, html)


# Per agency, the records that cost it most in its latest month (`costly_records`): read once per report year for
# every agency and given to the workbook and the profile pages, not read again per chunk of pages.
CostlyRecords = dict[str, list[dict[str, Any]]]


def agency_766(
    con: duckdb.DuckDBPyConnection, year: int, codes: list[str], costly: CostlyRecords | None = None
) -> dict[str, dict[str, Any]]:
    """Per agency of `codes` (the profile pages', a chunk at a time): its months (total, computable maximum, rank),
    the items it lost most points on in its latest scored month and the records that cost it most then (from
    `costly`, the year's `costly_records` of every agency, when given; else read for `codes`)."""
    if not has_scorecard(con, year):
        return {}
    levels = _levels(con, year)
    months: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records(
        con,
        """
            SELECT agency_code, period, total_points, computable_max, rank FROM scorecard_766_totals
            WHERE period_type = 'month' AND left(period, 4) = ? AND agency_code IN (SELECT unnest(?::VARCHAR[]))
            ORDER BY agency_code, period""",
        [str(year), codes],
    ):
        months[r["agency_code"]].append(r | {"level": level_of(levels, r["total_points"], r["computable_max"])})
    lost: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records(
        con,
        """
            WITH latest AS (
                SELECT agency_code, max(period) AS period FROM scorecard_766_totals
                WHERE period_type = 'month' AND left(period, 4) = ? AND total_points IS NOT NULL
                      AND agency_code IN (SELECT unnest(?::VARCHAR[])) GROUP BY ALL
            )
            SELECT s.agency_code, s.period, i.name_vi, s.value, s.points, s.max_points,
                   s.max_points - s.points AS lost
            FROM scorecard_766 AS s JOIN latest USING (agency_code, period)
            JOIN scorecard_766_items AS i ON i.year = ? AND i.indicator_code = s.indicator_code
            WHERE s.points IS NOT NULL AND s.max_points > s.points
            QUALIFY row_number() OVER (PARTITION BY s.agency_code ORDER BY lost DESC, i.criterion_order,
                                       i.item_order) <= ?
            ORDER BY s.agency_code, lost DESC, i.criterion_order, i.item_order""",
        [str(year), codes, year, LOST_SHOWN],
    ):
        lost[r["agency_code"]].append(r)
    records_lost = costly_records(con, year, codes) if costly is None else costly
    return {
        code: {"months": months[code], "lost": lost.get(code, []), "records": records_lost.get(code, [])}
        for code in months
    }


# Each agency's latest scored month (of the year's; `codes`): the month whose records its pages and sheet list.
_LATEST_MONTHS = """
    SELECT agency_code, max(period) AS period FROM scorecard_766_totals
    WHERE period_type = 'month' AND left(period, 4) = ? AND total_points IS NOT NULL
          AND agency_code <> 'PROVINCE'
          AND agency_code IN (SELECT unnest(?::VARCHAR[])) GROUP BY ALL"""


def costly_records(
    con: duckdb.DuckDBPyConnection, year: int, codes: list[str] | None = None, limit: int = RECORDS_SHOWN
) -> CostlyRecords:
    """Per agency (of `codes`, or every one), the records that cost it most points in its latest scored month
    (scorecard_766_dossiers): what a record cost is its item's lost points shared among the item's lost records, so
    a late dossier among 10 costs more than one among 1,000, and a record of an item at its full points costs 0
    (left out). Ordered by cost, then days late (most first, none last), the item's rubric order, the record's code.

    One statement for every agency asked, in two ways that keep it from growing with the trace (docs/benchmarks.md
    "Issue 29: the reports at 10M"): the latest months are bound as constants, a filter DuckDB pushes below the view's
    unnest into the scan of the compact table (joined with the latest months alone, it unnested every month's rows
    first: ~40M at 10M dossiers); and each agency's first `limit` rows are kept by `min_by` over a sort key, a
    bounded heap per agency, instead of a window sorting all of the month's rows (~3M)."""
    if not has_table(con, "scorecard_766_dossiers"):
        return {}
    if codes is None:
        codes = [
            c
            for (c,) in con.execute(
                "SELECT DISTINCT agency_code FROM scorecard_766_totals WHERE left(period, 4) = ?", [str(year)]
            ).fetchall()
        ]
    months = [
        m for (m,) in con.execute(f"SELECT DISTINCT period FROM ({_LATEST_MONTHS})", [str(year), codes]).fetchall()
    ]
    out: CostlyRecords = defaultdict(list)
    if not months:
        return out
    for r in records(
        con,
        f"""
            WITH latest AS ({_LATEST_MONTHS}),
            lost AS (
                SELECT t.agency_code, t.period, i.name_vi, t.record_code, t.reason, t.days_late,
                       (s.max_points - s.points) / (s.denominator - s.numerator) AS cost, i.criterion_order,
                       i.item_order
                FROM scorecard_766_dossiers AS t JOIN latest USING (agency_code, period)
                JOIN scorecard_766 AS s USING (period, agency_code, indicator_code)
                JOIN scorecard_766_items AS i ON i.year = ? AND i.indicator_code = t.indicator_code
                WHERE s.max_points > s.points AND list_contains(?::VARCHAR[], t.period)
            ),
            kept AS (
                SELECT unnest(min_by(lost, create_sort_key(cost, 'DESC NULLS LAST', days_late, 'DESC NULLS LAST',
                                                           criterion_order, 'ASC NULLS LAST', item_order,
                                                           'ASC NULLS LAST', record_code, 'ASC NULLS LAST'), ?))
                           AS r
                FROM lost GROUP BY agency_code
            )
            SELECT r.agency_code, r.period, r.name_vi, r.record_code, r.reason, r.days_late, r.cost FROM kept
            ORDER BY r.agency_code, r.cost DESC, r.days_late DESC NULLS LAST, r.criterion_order, r.item_order,
                     r.record_code""",
        [str(year), codes, year, months, limit],
    ):
        out[r["agency_code"]].append(r)
    return out


def write_766_sheet(
    wb: Any, fmt: Any, con: duckdb.DuckDBPyConnection, year: int, costly: CostlyRecords | None = None
) -> bool:
    """The page's table as a sheet: a row per unit, per period its points and the computable maximum; and the records
    that cost each agency most (`costly`: the year's `costly_records`, read here when not given)."""
    if not has_scorecard(con, year):
        return False
    t = table(con, year)
    ws = wb.add_worksheet(SHEET)
    ws.write_string(
        0,
        0,
        f"Chỉ số phục vụ người dân, doanh nghiệp (QĐ 766/QĐ-TTg) năm {year}: điểm đạt / điểm "
        "tính được, tính từ hồ sơ của tỉnh",
        fmt.title,
    )
    missing = _not_computable(con, year)
    ws.write_string(
        1,
        0,
        "Điểm tính được: các chỉ số có số liệu trong kỳ"
        + ("; không có số liệu cả năm: " + "; ".join(i["name_vi"] for i in missing) if missing else "")
        + ". Hạng: trong nhóm cơ quan, theo tổng điểm.",
        fmt.note,
    )
    heads = ["Nhóm", "Mã cơ quan", "Tên cơ quan"]
    for _, label in t["columns"]:
        heads += [f"{label}: điểm", f"{label}: tính được", f"{label}: hạng"]
    for col, head in enumerate(heads):
        ws.write_string(2, col, head, fmt.heading)
    ws.set_row(2, 48)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 12)
    ws.set_column(2, 2, 40)
    ws.set_column(3, 2 + 3 * len(t["columns"]), 9)
    ws.freeze_panes(3, 3)
    row = 3
    for g in t["groups"]:
        for r in g["rows"]:
            ws.write_string(row, 0, g["label"], fmt.cell_text)
            ws.write_string(row, 1, r["code"], fmt.cell_text)
            ws.write_string(row, 2, r["name"], fmt.cell_text)
            for i, (period, _) in enumerate(t["columns"]):
                c = r["cells"].get(period)
                for j, key in enumerate(("total_points", "computable_max", "rank")):
                    value = getattr(c, key) if c else None
                    if value is None:
                        ws.write_blank(row, 3 + 3 * i + j, None, fmt.cell_text)
                    else:
                        ws.write_number(row, 3 + 3 * i + j, value, fmt.cell_int if key == "rank" else fmt.cell_points)
            row += 1
    _records_sheet(wb, fmt, year, t, costly_records(con, year) if costly is None else costly)
    return True


def _records_sheet(wb: Any, fmt: Any, year: int, t: dict[str, Any], by_agency: CostlyRecords) -> None:
    """Per agency, the records that cost it most points in its latest month: the agency page's list."""
    ws = wb.add_worksheet(RECORDS_SHEET)
    ws.write_string(
        0,
        0,
        f"Chỉ số 766 năm {year}: hồ sơ làm mất nhiều điểm nhất trong tháng gần nhất của mỗi cơ "
        f"quan (tối đa {RECORDS_SHOWN} hồ sơ)",
        fmt.title,
    )
    ws.write_string(
        1,
        0,
        "Điểm mất của một hồ sơ: số điểm chỉ số bị mất chia đều cho các hồ sơ không đạt của chỉ số "
        "đó. Bảng scorecard_766_dossiers của kho dữ liệu có mọi hồ sơ.",
        fmt.note,
    )
    heads = ["Mã cơ quan", "Tên cơ quan", "Tháng", "Chỉ số", "Mã hồ sơ", "Lý do", "Điểm mất"]
    for col, head in enumerate(heads):
        ws.write_string(2, col, head, fmt.heading)
    for col, width in enumerate((12, 40, 9, 40, 22, 50, 9)):
        ws.set_column(col, col, width)
    ws.freeze_panes(3, 0)
    row = 3
    for g in t["groups"]:
        for r in g["rows"]:
            for rec in by_agency.get(r["code"], []):
                for col, value in enumerate(
                    (r["code"], r["name"], rec["period"], rec["name_vi"], rec["record_code"], rec["reason"])
                ):
                    ws.write_string(row, col, str(value), fmt.cell_text)
                ws.write_number(row, 6, rec["cost"], fmt.cell_points)
                row += 1
