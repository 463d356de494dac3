"""The national report: the ranking of provinces as the ministry publishes it (Excel and HTML), and one page per
province with its category indices and a link to the province's own report (its agencies' ranking)."""

from __future__ import annotations

from html import escape
from pathlib import Path
from urllib.parse import quote

import xlsxwriter

from assets.marts.publish import MARTS_FILE, open_marts
from assets.reports.common import page_file
from pipelines.core import settings

REPORTS_DIR = "reports"
PROVINCE_PAGES = "tinh"
STYLE = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
         "padding:4px 8px}td.n{text-align:right}")


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='vi'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>")


def _ranking(con, year: int) -> tuple[list[str], list[tuple]]:
    """Criteria in rubric order, and per province: rank, code, name, index, change, criterion points."""
    criteria = [c for c, _ in con.execute(
        "SELECT DISTINCT criterion_name, criterion_order FROM rubric_items WHERE year = ? AND agency_group = "
        "'province' AND province_code = '*' ORDER BY criterion_order", [year]).fetchall()]
    rows = con.execute("""
        SELECT r.rank, r.agency_code, r.agency_name, r.index_value, r.rank_change_label,
               list(c.points ORDER BY i.criterion_order) AS points
        FROM rankings AS r
        JOIN criterion_scores AS c USING (year, agency_code, agency_group, province_code)
        JOIN (SELECT DISTINCT criterion_code, criterion_order FROM rubric_items
              WHERE year = ? AND agency_group = 'province' AND province_code = '*') AS i USING (criterion_code)
        WHERE r.year = ? AND r.agency_group = 'province'
        GROUP BY ALL ORDER BY r.rank, r.agency_code""", [year, year]).fetchall()
    return criteria, rows


def write_national_reports(base: Path, years: list[int]) -> dict[int, list[Path]]:
    """Excel and HTML ranking of provinces for each ranked year of `years`; returns the files written per year."""
    marts = settings.marts_dir(base) / MARTS_FILE
    written: dict[int, list[Path]] = {}
    with open_marts(marts) as con:
        ranked = {y for (y,) in con.execute(
            "SELECT DISTINCT year FROM rankings WHERE agency_group = 'province'").fetchall()}
        for year in sorted(set(years) & ranked):
            out = settings.marts_dir(base) / REPORTS_DIR / str(year)
            (out / PROVINCE_PAGES).mkdir(parents=True, exist_ok=True)
            criteria, rows = _ranking(con, year)
            written[year] = [_workbook(out / f"xep_hang_tinh_{year}.xlsx", year, criteria, rows),
                             _index(out, year, criteria, rows)]
            written[year] += [_province_page(out, year, criteria, row) for row in rows]
    return written


def _workbook(path: Path, year: int, criteria: list[str], rows: list[tuple]) -> Path:
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet("province")
    sheet.write_row(0, 0, [f"Xếp hạng mức độ ứng dụng CNTT các tỉnh, thành phố năm {year}"])
    sheet.write_row(2, 0, ["Xếp hạng", "Mã tỉnh", "Tỉnh, thành phố", *criteria, "Chỉ số", "Thay đổi"])
    for i, (rank, code, name, index, change, points) in enumerate(rows, start=3):
        sheet.write_row(i, 0, [rank, code, name, *points, index, change or ""])
    book.close()
    return path


def _index(out: Path, year: int, criteria: list[str], rows: list[tuple]) -> Path:
    head = "".join(f"<th>{escape(c)}</th>" for c in ["Xếp hạng", "Tỉnh, thành phố", *criteria, "Chỉ số", "Thay đổi"])
    body = "".join(
        f"<tr><td class=n>{rank}</td><td><a href='{PROVINCE_PAGES}/{escape(page_file(code))}'>{escape(name)}</a></td>"
        + "".join(f"<td class=n>{p:.4f}</td>" for p in points)
        + f"<td class=n>{index:.4f}</td><td>{escape(change or '')}</td></tr>"
        for rank, code, name, index, change, points in rows)
    path = out / "index.html"
    path.write_text(_page(f"Xếp hạng mức độ ứng dụng CNTT các tỉnh, thành phố năm {year}",
                          f"<p><a href='xep_hang_tinh_{year}.xlsx'>Excel</a></p><table><tr>{head}</tr>{body}</table>"),
                    encoding="utf-8")
    return path


def _province_page(out: Path, year: int, criteria: list[str], row: tuple) -> Path:
    rank, code, name, index, change, points = row
    # From marts/reports/<year>/tinh/<page>.html up to the national data directory, then the province's own report
    # (the code one path segment of the link, whatever it holds).
    own = f"../../../../provinces/{quote(code, safe='')}/marts/reports/{year}/index.html"
    items = "".join(f"<tr><td>{escape(c)}</td><td class=n>{p:.4f}</td></tr>" for c, p in zip(criteria, points,
                                                                                           strict=True))
    path = out / PROVINCE_PAGES / page_file(code)  # the code comes from the national registry: never a path
    path.write_text(_page(f"{name} — năm {year}", (
        f"<p>Xếp hạng {rank}, chỉ số {index:.4f} {escape(change or '')}</p><table>{items}</table>"
        f"<p><a href='{escape(own)}'>Báo cáo xếp hạng các cơ quan, đơn vị của tỉnh</a> · "
        "<a href='../index.html'>Xếp hạng các tỉnh</a></p>")), encoding="utf-8")
    return path
