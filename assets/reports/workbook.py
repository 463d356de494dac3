"""The annual ranking workbook (`<out_dir>/<year>/xep_hang_<year>.xlsx`), like a ranking decision's appendix.

`write_ranking_workbook(marts, year, out_dir)` reads only the marts connection (the published analysts' DuckDB)
and writes, with xlsxwriter:

- one sheet per agency group ranked that year, named and ordered as the marts' `agency_groups` say ("Sở ban
  ngành", "UBND cấp huyện", "UBND cấp xã", "Cơ quan Trung ương", or a rubric's own group): a title row, a note
  row, then the table STT, Mã cơ quan, Tên cơ quan, one column per criterion ("<tên tiêu chí> (<điểm tối
  đa>)"), Tổng điểm, Chỉ số, Xếp loại, Xếp hạng, Thay đổi so với năm trước ("↑3", "↓2", "–", "mới"); ordered by
  rank, then name. Header frozen, autofilter, and each row coloured by its classification (conditional
  formatting on the Xếp loại column, so it follows edits), in the colours of the marts' `rubric_classes`;
- "Phương pháp": the year's rubric (criteria, indicators with their Vietnamese names, points per group
  variant, targets, classification thresholds), from the marts tables rubric_items, rubric_classes and
  indicator_catalogue;
- "Lưu ý chất lượng dữ liệu": the year's data-quality caveats in plain Vietnamese (expectations.sql_checks'
  quality_summary, then the missing returns, quarantined rows and rejected files in detail).

Decimal comma. Cells hold numbers, never text, so totals can be summed, sorted and filtered. The number format
is `[$-42A]#,##0.00` (points) and `[$-42A]0.0000` (index). In the file a format code is locale-neutral: "."
is the decimal point and "," the grouping symbol *of the format code*, and the spreadsheet displays them with
the reader's separators. A Vietnamese-locale Excel (decimal symbol ",", grouping ".") therefore shows 89,50 and
1.234,50; the `[$-42A]` prefix additionally tags the format as Vietnamese (LCID 0x042A), which spreadsheets
that format by the cell's language (LibreOffice Calc) follow whatever the user's locale. An English-locale
Excel still shows 89.50: forcing a comma everywhere would mean writing text, which we refuse. Numbers inside
sentences (titles, notes) are written with a comma by `vn_number`.

No formula injection: every text from the inputs (codes, names, file names, messages) is written with
`write_string`, never `write`, so `=HYPERLINK(...)` as an agency name stays a text cell; the workbook is also
opened with `strings_to_formulas: False` (and `strings_to_urls` / `strings_to_numbers` off) as a second guard.
The file is written under a temporary name and renamed (assets.reports.common.atomic_path), so a reader never
opens half a workbook and a failed run keeps the previous one.

A provisional year (assets.reports.common.provisional, the same rule as the HTML pages) carries the banner in
the note row of every ranking sheet, above an unchanged table layout, and its change column reads "(tạm tính)".
Agencies tied on rank are listed in Vietnamese alphabetical order (common.vi_sort_key).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from assets.reports.common import (
    ClassStyles,
    Provisional,
    agency_groups,
    atomic_path,
    class_styles,
    group_of,
    has_table,
    provisional,
    rank_interval,
    remove_leftovers,
    uncertainty_settings,
    vi_sort_key,
)
from assets.reports.scorecard_766 import SHEET as SCORECARD_766_SHEET
from assets.reports.scorecard_766 import write_766_sheet
from expectations.sql_checks import SOURCE_LABELS, quality_summary, rule_label
from pipelines.core.methods import DEFAULT_METHOD, summary_vi
from pipelines.core.vietnamese import rank_change_text, vn_number

__all__ = ["write_ranking_workbook"]

# Criterion order of the standard rubric (config/rubrics/2016.yaml), for marts files without rubric_items.
USUAL_CRITERIA = ("infrastructure", "internal", "services", "people", "policy", "communes")
METHOD_SHEET = "Phương pháp"
QUALITY_SHEET = "Lưu ý chất lượng dữ liệu"

POINTS_FORMAT = "[$-42A]#,##0.00"
INDEX_FORMAT = "[$-42A]0.0000"
INTEGER_FORMAT = "0"

TITLE_ROW, NOTE_ROW, HEADER_ROW = 0, 1, 2
FIRST_DATA_ROW = HEADER_ROW + 1
FIXED_HEADINGS_LEFT = ("STT", "Mã cơ quan", "Tên cơ quan")
INTERVAL_HEADING = "Khoảng xếp hạng (90%)"  # the rank's 5–95 % interval over the uncertainty runs
UNRANKED = "không đủ dữ liệu"  # a unit without a total: not ranked (rankings.unranked_reason says why)
FIXED_HEADINGS_RIGHT = ("Tổng điểm", "Chỉ số", "Xếp loại", "Xếp hạng", INTERVAL_HEADING, "Thay đổi so với năm trước")
TENTATIVE = " (tạm tính)"  # appended to the change heading of a provisional year
INVALID_SHEET_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})
# Each row goes to a temporary file as soon as the next one starts, so the memory does not grow with the agencies:
# held whole, a group of 10,000 agencies and its 766 sheet took ~300 MB (issue 24). Every sheet is therefore
# written top to bottom: xlsxwriter would drop a cell of a row already left, `_StreamedSheet` refuses it.
STREAMED = {"constant_memory": True}


class _StreamedSheet(Worksheet):
    """A worksheet that raises, rather than silently drops, a cell written to a row already streamed out."""

    def _check_dimensions(self, row: int, col: int, ignore_row: bool = False, ignore_col: bool = False) -> int:
        found = super()._check_dimensions(row, col, ignore_row, ignore_col)
        if found == -2:
            raise RuntimeError(f"sheet {self.name!r}: cell {xl_col_to_name(col)}{row + 1} written after a later row "
                               "(the workbook is streamed row by row)")
        return found


class _Workbook(xlsxwriter.Workbook):
    worksheet_class = _StreamedSheet


@dataclass(frozen=True)
class _Criterion:
    code: str
    name: str
    max_points: float


@dataclass(frozen=True)
class _Ranked:
    agency_code: str
    agency_name: str | None
    total_points: float | None  # None: not ranked (unranked_reason)
    max_points: float
    index_value: float | None
    rank: int | None
    prev_rank: int | None
    rank_change: int | None
    classification: str | None
    rubric_year: int
    q05_rank: int | None = None
    q95_rank: int | None = None
    unranked_reason: str | None = None  # 'không đủ dữ liệu: …' for a unit without a total


# --- small helpers --------------------------------------------------------------------------------------------


_vi_sort_key = vi_sort_key  # the one Vietnamese order (ICU); kept under the name tests/test_report_workbook imports
_has_table = has_table


def _sheet_name(wanted: str, taken: set[str]) -> str:
    name = (wanted.translate(INVALID_SHEET_CHARS).strip().strip("'") or "Nhóm")[:31]
    candidate, n = name, 2
    while candidate.casefold() in taken:
        suffix = f" ({n})"
        candidate, n = name[: 31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.casefold())
    return candidate


def _text(ws: Worksheet, row: int, col: int, value: Any, fmt: Any = None) -> None:
    """Every text cell goes through here: write_string, never write (no formulas, URLs or numbers inferred)."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _number(ws: Worksheet, row: int, col: int, value: float | int | None, fmt: Any = None) -> None:
    if value is None:
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_number(row, col, value, fmt)


def _width(texts: Iterable[Any], minimum: float, maximum: float) -> float:
    longest = max((len(str(t)) for t in texts if t is not None), default=0)
    return max(minimum, min(maximum, longest + 2))


def _heading_row(ws: Worksheet, fmt: _Formats, row: int, heads: list[str], height: float | None = 64) -> None:
    """A row of column headings; tall by default, since the Vietnamese headings wrap."""
    if height:
        ws.set_row(row, height)
    for col, head in enumerate(heads):
        ws.write_string(row, col, head, fmt.heading)


def _text_sheet(wb: Workbook, fmt: _Formats, name: str, widths: list[float], title: str) -> Worksheet:
    """A sheet of explanatory tables: column widths (the last one repeated to column 8) and its title in A1."""
    ws = wb.add_worksheet(name)
    for col, width in enumerate(widths[:-1]):
        ws.set_column(col, col, width)
    ws.set_column(len(widths) - 1, 8, widths[-1])
    ws.write_string(0, 0, title, fmt.title)
    return ws


class _Formats:
    def __init__(self, wb: Workbook, classes: ClassStyles) -> None:
        base = {"font_name": "Times New Roman", "font_size": 12, "valign": "vcenter"}
        cell = {**base, "border": 1}
        self.title = wb.add_format({**base, "bold": True, "font_size": 14})
        self.note = wb.add_format({**base, "italic": True, "font_size": 11})
        banner = {"bold": True, "font_color": "#9C0006", "font_name": "Times New Roman", "font_size": 12}
        self.banner = wb.add_format(banner)
        self.banner_note = wb.add_format({**banner, "bold": False, "italic": True, "font_color": "#000000",
                                          "font_size": 11})
        self.banner_cell = wb.add_format({**base, "text_wrap": True, "valign": "top", "bg_color": "#FFF4CE",
                                          "border": 1, "border_color": "#E08214"})
        self.text = wb.add_format(base)
        self.wrap = wb.add_format({**base, "text_wrap": True, "valign": "top"})
        self.section = wb.add_format({**base, "bold": True, "font_size": 13})
        self.heading = wb.add_format(
            {**cell, "bold": True, "text_wrap": True, "align": "center", "bg_color": "#D9E1F2"}
        )
        self.cell_text = wb.add_format(cell)
        self.cell_wrap = wb.add_format({**cell, "text_wrap": True})
        self.cell_center = wb.add_format({**cell, "align": "center"})
        self.cell_int = wb.add_format({**cell, "align": "center", "num_format": INTEGER_FORMAT})
        self.cell_points = wb.add_format({**cell, "num_format": POINTS_FORMAT})
        self.cell_index = wb.add_format({**cell, "num_format": INDEX_FORMAT})
        self.bold_text = wb.add_format({**cell, "bold": True, "text_wrap": True})
        self.bold_points = wb.add_format({**cell, "bold": True, "num_format": POINTS_FORMAT})
        # A class's row: its light fill, its colour for the text (config/methodology.yaml, or the rubric's).
        self.classes = {
            label: wb.add_format({"bg_color": fill, "font_color": colour}) for label, (colour, fill) in classes.items()
        }
        self.class_cells = {
            label: wb.add_format({**cell, "bold": True, "bg_color": fill, "font_color": colour})
            for label, (colour, fill) in classes.items()
        }
        self._wb, self._cell, self._by_decimals = wb, cell, {}

    def decimal_cells(self, decimals: int) -> tuple[Any, Any]:
        """(points, index) cell formats for totals rounded to `decimals` (the rubric's; 2 gives the usual ones)."""
        if decimals == 2:
            return self.cell_points, self.cell_index
        if decimals not in self._by_decimals:
            points = "[$-42A]#,##0" + ("." + "0" * decimals if decimals else "")
            index = "[$-42A]0." + "0" * max(4, decimals)
            self._by_decimals[decimals] = (self._wb.add_format({**self._cell, "num_format": points}),
                                           self._wb.add_format({**self._cell, "num_format": index}))
        return self._by_decimals[decimals]


# --- reading the marts ----------------------------------------------------------------------------------------


def _rankings(con: duckdb.DuckDBPyConnection, year: int) -> dict[str, list[_Ranked]]:
    uncertain = _has_table(con, "rank_uncertainty")
    reason = "r.unranked_reason" if _has_column(con, "rankings", "unranked_reason") else "NULL"
    rows = con.execute(
        "SELECT r.agency_group, r.agency_code, r.agency_name, r.total_points, r.max_points, r.index_value, r.rank, "
        "r.prev_rank, r.rank_change, r.classification, r.rubric_year, "
        + ("u.q05_rank, u.q95_rank" if uncertain else "NULL, NULL") + f", {reason} FROM rankings AS r "
        + ("LEFT JOIN rank_uncertainty AS u USING (year, agency_group, agency_code)" if uncertain else "")
        + " WHERE r.year = ?",
        [year],
    ).fetchall()
    by_group: dict[str, list[_Ranked]] = {}
    for group, *rest in rows:
        by_group.setdefault(group, []).append(_Ranked(*rest))
    for ranked in by_group.values():  # the units without enough data for a rank last
        ranked.sort(key=lambda r: (r.rank is None, r.rank or 0, vi_sort_key(r.agency_name), r.agency_code))
    groups = agency_groups(con)
    return dict(sorted(by_group.items(), key=lambda kv: (group_of(groups, kv[0]).order, kv[0])))


def _criteria(con: duckdb.DuckDBPyConnection, year: int, group: str) -> list[_Criterion]:
    """The group's top-level criteria in rubric order (rubric_criteria for nested criteria, else rubric_items), else
    as found in criterion_scores."""
    if _has_table(con, "rubric_criteria"):
        rows = con.execute(
            "SELECT criterion_code, criterion_name, max_points FROM rubric_criteria WHERE year = ? AND "
            "agency_group = ? AND level = 1 AND EXISTS (SELECT 1 FROM rubric_criteria AS s WHERE s.year = ? AND "
            "s.agency_group = ? AND s.level > 1) ORDER BY criterion_order", [year, group, year, group]).fetchall()
        if rows:
            return [_Criterion(c, n, round(float(m), 9)) for c, n, m in rows]
    if _has_table(con, "rubric_items"):
        rows = con.execute(
            "SELECT criterion_code, any_value(criterion_name), sum(points) FROM rubric_items "
            "WHERE year = ? AND agency_group = ? GROUP BY criterion_code ORDER BY min(criterion_order), "
            "criterion_code",
            [year, group],
        ).fetchall()
        if rows:
            return [_Criterion(c, n, round(float(m), 9)) for c, n, m in rows]
    rows = con.execute(
        "SELECT criterion_code, any_value(criterion_name), max(max_points) FROM criterion_scores "
        "WHERE year = ? AND agency_group = ? GROUP BY criterion_code ORDER BY criterion_code",
        [year, group],
    ).fetchall()
    usual = {code: i for i, code in enumerate(USUAL_CRITERIA)}  # older marts files: the standard rubric's order
    rows.sort(key=lambda r: (usual.get(r[0], len(usual)), r[0]))
    return [_Criterion(c, n, float(m)) for c, n, m in rows]


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    """Whether a marts table has the column (marts files made before scoring methods lack method, decimals)."""
    return bool(con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ? "
                            "AND table_catalog = current_database()", [table, column]).fetchall()[0][0])


def _decimals(con: duckdb.DuckDBPyConnection, year: int, group: str | None = None) -> int:
    """The decimals the year's totals are rounded to (rubric_classes.decimals; 2 in older marts files)."""
    if not (_has_table(con, "rubric_classes") and _has_column(con, "rubric_classes", "decimals")):
        return 2
    found = con.execute("SELECT max(decimals) FROM rubric_classes WHERE year = ? AND agency_group = coalesce(?, "
                        "agency_group)", [year, group]).fetchall()[0][0]
    return 2 if found is None else int(found)


def _criterion_points(con: duckdb.DuckDBPyConnection, year: int, group: str) -> dict[tuple[str, str], float]:
    return {
        (a, c): p
        for a, c, p in con.execute(
            "SELECT agency_code, criterion_code, points FROM criterion_scores WHERE year = ? AND agency_group = ?",
            [year, group],
        ).fetchall()
    }


# --- the ranking sheets ---------------------------------------------------------------------------------------


def _criterion_heading(c: _Criterion) -> str:
    return f"{c.name} ({vn_number(c.max_points, None)})"


def headings(criteria: Sequence[_Criterion], tentative: bool = False) -> list[str]:
    """The table's headings; `tentative`: the change column of a provisional year says it is not final."""
    right = [*FIXED_HEADINGS_RIGHT[:-1], FIXED_HEADINGS_RIGHT[-1] + (TENTATIVE if tentative else "")]
    return [*FIXED_HEADINGS_LEFT, *(_criterion_heading(c) for c in criteria), *right]


def _ranking_sheet(
    wb: Workbook,
    fmt: _Formats,
    name: str,
    year: int,
    group_label: str,
    criteria: list[_Criterion],
    ranked: list[_Ranked],
    points: dict[tuple[str, str], float],
    class_labels: list[str],
    status: Provisional | None = None,
    decimals: int = 2,
) -> None:
    ws = wb.add_worksheet(name)
    total_cell, index_cell = fmt.decimal_cells(decimals)
    heads = headings(criteria, tentative=status is not None)
    last_col = len(heads) - 1
    n_crit = len(criteria)
    col_total, col_index, col_class, col_rank, col_interval, col_change = range(3 + n_crit, 3 + n_crit + 6)

    ws.write_string(TITLE_ROW, 0, f"Kết quả xếp hạng mức độ ứng dụng CNTT năm {year} – {group_label}", fmt.title)
    rubric_years = sorted({r.rubric_year for r in ranked})
    maximum = max((r.max_points for r in ranked), default=0)
    note = (
        f"{len(ranked)} cơ quan; điểm tối đa {vn_number(maximum, None)}; bộ chỉ số năm "
        f"{', '.join(map(str, rubric_years))} (xem sheet «{METHOD_SHEET}»). Xếp hạng theo tổng điểm làm tròn "
        f"{decimals} chữ số, bằng điểm thì đồng hạng."
    )
    if status is None:
        ws.write_string(NOTE_ROW, 0, note, fmt.note)
    else:  # the banner first, in the note row across the table: the table itself stays where it always is
        ws.merge_range(NOTE_ROW, 0, NOTE_ROW, last_col, "", fmt.banner_cell)
        ws.write_rich_string(NOTE_ROW, 0, fmt.banner, status.banner, fmt.banner_note, " " + note, fmt.banner_cell)
        ws.set_row(NOTE_ROW, 50)
        ws.set_tab_color("#E08214")
    _heading_row(ws, fmt, HEADER_ROW, heads)

    for i, r in enumerate(ranked):
        row = FIRST_DATA_ROW + i
        ws.write_number(row, 0, i + 1, fmt.cell_int)
        _text(ws, row, 1, r.agency_code, fmt.cell_text)
        _text(ws, row, 2, r.agency_name, fmt.cell_text)
        for j, c in enumerate(criteria):
            _number(ws, row, 3 + j, points.get((r.agency_code, c.code)), fmt.cell_points)
        if r.rank is None:  # not ranked: no total, index, class or rank, the reason in their place
            for col in (col_total, col_index, col_rank, col_interval, col_change):
                ws.write_blank(row, col, None, fmt.cell_center)
            _text(ws, row, col_class, r.unranked_reason or UNRANKED, fmt.cell_center)
            continue
        ws.write_number(row, col_total, r.total_points, total_cell)
        ws.write_number(row, col_index, r.index_value, index_cell)
        _text(ws, row, col_class, r.classification, fmt.cell_center)
        ws.write_number(row, col_rank, r.rank, fmt.cell_int)
        _text(ws, row, col_interval, rank_interval(r.q05_rank, r.q95_rank), fmt.cell_center)
        ws.write_string(row, col_change, rank_change_text(r.prev_rank, r.rank), fmt.cell_center)

    last_row = FIRST_DATA_ROW + len(ranked) - 1
    if ranked:
        class_col = xl_col_to_name(col_class)
        for label in class_labels:
            if label in fmt.classes:
                quoted = label.replace('"', '""')
                ws.conditional_format(
                    FIRST_DATA_ROW,
                    0,
                    last_row,
                    last_col,
                    {
                        "type": "formula",
                        "criteria": f'=${class_col}{FIRST_DATA_ROW + 1}="{quoted}"',
                        "format": fmt.classes[label],
                    },
                )
    ws.autofilter(HEADER_ROW, 0, max(last_row, HEADER_ROW), last_col)
    ws.freeze_panes(FIRST_DATA_ROW, 3)
    ws.write_string(
        last_row + 2,
        0,
        (
            f"Thay đổi so với năm {year - 1}: ↑ tăng, ↓ giảm số bậc; – giữ nguyên; «mới»: không có thứ hạng năm "
            f"trước. Chỉ số = tổng điểm / điểm tối đa. {INTERVAL_HEADING}: hạng trong 90% số lần tính lại khi trọng "
            f"số các chỉ số thay đổi (xem sheet «{METHOD_SHEET}», mục 3)."
            + (" Số liệu tạm tính: thay đổi thứ hạng chưa phải kết quả chính thức." if status else "")
        ),
        fmt.note,
    )

    ws.set_column(0, 0, 6)
    ws.set_column(1, 1, _width((r.agency_code for r in ranked), 11, 16))
    ws.set_column(2, 2, _width((r.agency_name for r in ranked), 24, 48))
    if criteria:
        ws.set_column(3, 2 + n_crit, 17)
    ws.set_column(col_total, col_total, 11)
    ws.set_column(col_index, col_index, 10)
    ws.set_column(col_class, col_class, 13)
    ws.set_column(col_rank, col_rank, 10)
    ws.set_column(col_interval, col_interval, 12)
    ws.set_column(col_change, col_change, 14)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(HEADER_ROW)


# --- the methodology sheet ------------------------------------------------------------------------------------


def _variants(rows: list[tuple], groups: list[str], labels: dict[str, str]) -> list[tuple[str, list[str], Any]]:
    """Groups sharing the same rows are shown once: [(heading label, groups, rows), …] in group order."""
    by_group: dict[str, list[tuple]] = {}
    for group, *rest in rows:
        by_group.setdefault(group, []).append(tuple(rest))
    variants: list[tuple[list[str], tuple]] = []
    for g in groups:
        key = tuple(by_group.get(g, []))
        if not key:
            continue
        for members, existing in variants:
            if existing == key:
                members.append(g)
                break
        else:
            variants.append(([g], key))
    return [(", ".join(labels.get(g, g) for g in members), members, key) for members, key in variants]


AGGREGATE_VI = {"arithmetic": "cộng điểm các thành phần", "geometric": "trung bình nhân có trọng số của tỷ lệ điểm "
                "các thành phần (một thành phần 0 điểm thì bằng 0)"}
MISSING_VI = {"zero": "thành phần không có số liệu được 0 điểm",
              "skip": "bỏ qua thành phần không có số liệu, chia lại trọng số cho các thành phần còn lại"}


def _tree(con: duckdb.DuckDBPyConnection, year: int) -> tuple[dict[str, str], list[str]]:
    """For a rubric with nested criteria or other rules than the sum (rubric_criteria, rubric_classes; docs/rubrics.md
    §2c): each criterion's path of names ("Chỉ số phụ A › Trụ cột A1") and a sentence per rule in Vietnamese;
    nothing for a rubric of one level that sums its points (the sheet stays as it was)."""
    if not (_has_table(con, "rubric_criteria") and _has_column(con, "rubric_classes", "aggregate")):
        return {}, []
    rows = con.execute("SELECT DISTINCT criterion_code, criterion_name, parent_code, level, aggregate, missing, "
                       "min_coverage FROM rubric_criteria WHERE year = ? ORDER BY level, criterion_code",
                       [year]).fetchall()
    totals = con.execute("SELECT DISTINCT aggregate, missing, min_coverage, rounding FROM rubric_classes "
                         "WHERE year = ?", [year]).fetchall()
    names = {code: name for code, name, *_ in rows}
    parents = {code: parent for code, _, parent, *_ in rows}

    def path(code: str) -> str:
        return f"{path(parents[code])} › {names[code]}" if parents.get(code) else names[code]

    def rule(aggregate: str, missing: str, coverage: float) -> str:
        text = f"{AGGREGATE_VI.get(aggregate, aggregate)}; {MISSING_VI.get(missing, missing)}"
        return text + (f"; cần số liệu cho ít nhất {vn_number(coverage * 100, None)}% trọng số" if coverage else "")

    plain = ("arithmetic", "zero", 0.0)
    lines = [f"Tổng điểm: {rule(*t[:3])}." for t in totals if tuple(t[:3]) != plain]
    lines += [f"Tiêu chí «{path(code)}»: {rule(a, m, c)}." for code, _, _, _, a, m, c in rows if (a, m, c) != plain]
    if any(t[3] == "index" for t in totals):
        lines.append("Xếp loại và xếp hạng theo chỉ số (tổng điểm / điểm tối đa) đã làm tròn.")
    nested = any(level > 1 for _, _, _, level, *_ in rows)
    if nested:
        lines.insert(0, "Bộ chỉ số có tiêu chí nhiều cấp: điểm của một tiêu chí tổng hợp từ các tiêu chí con của nó "
                        "(cột «Tiêu chí» ghi cả đường dẫn); mỗi tiêu chí ở mọi cấp đều được chấm và xếp hạng.")
    return ({code: path(code) for code in names} if nested else {}), lines


def _method_descriptions(con: duckdb.DuckDBPyConnection, used: list[str]) -> list[tuple[str, str]]:
    """(method, Vietnamese formula) of the methods used: from the marts' scoring_methods, else the registry."""
    from pipelines.core.methods import METHODS

    found: dict[str, str] = {}
    if _has_table(con, "scoring_methods"):
        found = dict(con.execute("SELECT method, description_vi FROM scoring_methods").fetchall())
    return [(m, found.get(m) or (METHODS[m].description_vi if m in METHODS else m)) for m in used]


def _method_sheet(
    wb: Workbook,
    fmt: _Formats,
    con: duckdb.DuckDBPyConnection,
    year: int,
    groups: list[str],
    labels: dict[str, str],
    rubric_years: list[int],
) -> None:
    ws = _text_sheet(wb, fmt, METHOD_SHEET, [44, 28, 52, 11, 20],
                     f"Phương pháp đánh giá, xếp hạng mức độ ứng dụng CNTT năm {year}")
    has_items = _has_table(con, "rubric_items")
    with_methods = has_items and _has_column(con, "rubric_items", "method")
    items = con.execute(
        "SELECT agency_group, criterion_order, criterion_code, criterion_name, item_order, indicator_code, points, "
        + ("target, method, CAST(params AS VARCHAR)" if with_methods else "target, NULL, NULL")
        + " FROM rubric_items WHERE year = ? ORDER BY agency_group, criterion_order, item_order",
        [year],
    ).fetchall() if has_items else []
    used = sorted({r[8] or DEFAULT_METHOD for r in items})
    decimals = _decimals(con, year)
    lines = [f"Bộ chỉ số áp dụng: bộ chỉ số năm {', '.join(map(str, rubric_years)) or '(không rõ)'}."]
    descriptions = _method_descriptions(con, used or [DEFAULT_METHOD])
    if len(descriptions) == 1:  # one method (the standard rubric: target): its formula in the sentence
        lines.append(f"Điểm đạt của mỗi chỉ số: {descriptions[0][1]} Chỉ số không có số liệu (cơ quan chưa gửi báo "
                     "cáo) được 0 điểm. Chỉ số dạng có/không (0/1) có mục tiêu là 1.")
    else:
        lines.append("Điểm đạt của mỗi chỉ số = điểm tối đa của chỉ số × tỷ lệ điểm theo phương pháp chấm của chỉ số "
                     "(cột «Cách chấm»); chỉ số không có số liệu được 0 điểm. Các phương pháp dùng năm nay:")
        lines += [f"– {method}: {text}" for method, text in descriptions]
    lines += [
        f"Tổng điểm = tổng điểm đạt của các chỉ số, làm tròn {decimals} chữ số; Chỉ số = tổng điểm / điểm tối đa "
        "(0 đến 1).",
        "Xếp hạng trong từng năm và nhóm cơ quan theo tổng điểm giảm dần; bằng điểm thì đồng hạng (1, 2, 2, 4).",
    ]
    paths, rules = _tree(con, year)
    lines += rules
    row = 1
    for line in lines:
        ws.write_string(row, 0, line, fmt.text)
        row += 1
    row += 1

    if not has_items:
        ws.write_string(row, 0, "Tệp marts không có bảng rubric_items: không trình bày được bộ chỉ số.", fmt.text)
        return
    names: dict[str, str] = {}
    if _has_table(con, "indicator_catalogue"):
        names = {
            c: n
            for c, n in con.execute(
                "SELECT indicator_code, label_vi FROM indicator_catalogue WHERE label_vi IS NOT NULL"
            ).fetchall()
        }
    variants = _variants(items, groups, labels)

    ws.write_string(row, 0, "1. Tiêu chí, chỉ số thành phần và điểm", fmt.section)
    row += 1
    how_col = 4 + len(variants) if used not in ([], [DEFAULT_METHOD]) else None  # "Cách chấm": other methods only
    heads = ["Tiêu chí", "Mã chỉ số", "Chỉ số thành phần", "Mục tiêu", *(f"Điểm – {label}" for label, _, _ in variants)]
    _heading_row(ws, fmt, row, heads + (["Cách chấm"] if how_col else []))
    if how_col:
        ws.set_column(how_col, how_col, 44)
    row += 1
    # The union of every variant's criteria and items, in rubric order (a district's extra criterion last).
    criteria: dict[str, tuple[str, dict[str, tuple]]] = {}
    points: list[dict[tuple[str, str], float]] = []
    for _, _, key in variants:
        got: dict[tuple[str, str], float] = {}
        for _, ccode, cname, _, icode, pts, target, method, params in key:
            criteria.setdefault(ccode, (cname, {}))[1].setdefault(icode, (target, method, params))
            got[(ccode, icode)] = pts
        points.append(got)
    for ccode, (cname, indicators) in criteria.items():
        _text(ws, row, 0, paths.get(ccode, cname), fmt.bold_text)
        for col in (1, 2, 3):
            ws.write_blank(row, col, None, fmt.bold_text)
        for v, got in enumerate(points):
            total = [p for (c, _), p in got.items() if c == ccode]
            if total:
                ws.write_number(row, 4 + v, round(sum(total), 9), fmt.bold_points)
            else:
                ws.write_string(row, 4 + v, "không áp dụng", fmt.bold_text)
        row += 1
        for icode, (target, method, params) in indicators.items():
            ws.write_blank(row, 0, None, fmt.cell_text)
            _text(ws, row, 1, icode, fmt.cell_text)
            _text(ws, row, 2, names.get(icode, icode), fmt.cell_wrap)
            if target is None:  # relative to the group (fraction_of_max, minmax)
                ws.write_string(row, 3, "theo nhóm", fmt.cell_center)
            else:
                ws.write_number(row, 3, target, fmt.cell_points)
            if how_col:
                _text(ws, row, how_col, summary_vi(method or DEFAULT_METHOD, params), fmt.cell_wrap)
            for v, got in enumerate(points):
                if (ccode, icode) in got:
                    ws.write_number(row, 4 + v, got[(ccode, icode)], fmt.cell_points)
                else:
                    ws.write_string(row, 4 + v, "–", fmt.cell_center)
            row += 1
    ws.write_string(row, 0, "Tổng điểm tối đa", fmt.bold_text)
    for col in (1, 2, 3):
        ws.write_blank(row, col, None, fmt.bold_text)
    for v, got in enumerate(points):
        ws.write_number(row, 4 + v, round(sum(got.values()), 9), fmt.bold_points)
    row += 2

    ws.write_string(row, 0, f"2. Xếp loại theo tổng điểm (làm tròn {decimals} chữ số)", fmt.section)
    row += 1
    if not _has_table(con, "rubric_classes"):
        ws.write_string(row, 0, "Tệp marts không có bảng rubric_classes.", fmt.text)
        return
    classes = con.execute(
        "SELECT agency_group, label, min_total FROM rubric_classes WHERE year = ? "
        "ORDER BY agency_group, min_total DESC",
        [year],
    ).fetchall()
    class_variants = _variants(classes, groups, labels)
    heads = ["Xếp loại", *(f"Từ (điểm) – {label}" for label, _, _ in class_variants)]
    _heading_row(ws, fmt, row, heads)
    row += 1
    order: dict[str, float] = {}
    for _, _, key in class_variants:
        for label, minimum in key:
            order[label] = max(order.get(label, minimum), minimum)
    for label in sorted(order, key=lambda lab: -order[lab]):
        _text(ws, row, 0, label, fmt.class_cells.get(label, fmt.bold_text))
        for v, (_, _, key) in enumerate(class_variants):
            mins = dict(key)
            _number(ws, row, 1 + v, mins.get(label), fmt.cell_points)
        row += 1
    ws.write_string(
        row, 0, "Mỗi loại áp dụng từ điểm tối thiểu của loại đến dưới điểm tối thiểu của loại cao hơn.", fmt.note
    )
    _robustness_section(ws, fmt, con, year, groups, labels, row + 2)


def _what_moved(settings: dict) -> str:
    """The uncertainty runs' settings in a sentence of the methodology sheet."""
    text = (f"Xếp hạng được tính lại {settings['runs']:,} lần".replace(",", ".")
            + f"; mỗi lần, điểm tối đa của từng chỉ số được nhân với một hệ số ngẫu nhiên trong khoảng "
            f"±{vn_number(settings['weights'] * 100, None)}% rồi quy lại để tổng điểm tối đa không đổi")
    if settings["targets"]:
        text += f", mục tiêu (tham số chấm) của từng chỉ số thay đổi ±{vn_number(settings['targets'] * 100, None)}%"
    if settings["methods"] not in (None, "", "{}"):
        text += ", một số chỉ số được chấm ngẫu nhiên theo một trong các phương pháp bộ chỉ số cho phép"
    return text + "."


def _robustness_section(ws: Worksheet, fmt: _Formats, con: duckdb.DuckDBPyConnection, year: int, groups: list[str],
                        labels: dict[str, str], row: int) -> None:
    """Section 3: how the rank intervals were made, and which criteria drive the ranking most (Sobol indices)."""
    settings = uncertainty_settings(con, year)
    if settings is None or not _has_table(con, "rank_sensitivity"):
        return
    ws.write_string(row, 0, "3. Độ vững của xếp hạng khi phương pháp thay đổi", fmt.section)
    lines = [_what_moved(settings),
             f"«{INTERVAL_HEADING}» ở các sheet xếp hạng: hạng của cơ quan trong 90% số lần tính lại (bỏ 5% tốt nhất "
             "và 5% kém nhất). Khoảng này cho biết thứ hạng phụ thuộc bao nhiêu vào lựa chọn trọng số của bộ chỉ số; "
             "nó không phản ánh sai số của số liệu.",
             "Ảnh hưởng của tiêu chí: chỉ số Sobol toàn phần của trọng số các chỉ số thuộc tiêu chí đối với mức thay "
             "đổi thứ hạng bình quân (0: không ảnh hưởng; gần 1: quyết định gần như toàn bộ mức thay đổi)."]
    sensitivity = con.execute(
        "SELECT s.agency_group, s.criterion_code, any_value(r.criterion_name), s.total_order "
        "FROM rank_sensitivity AS s LEFT JOIN rubric_items AS r USING (year, agency_group, criterion_code) "
        "WHERE s.year = ? GROUP BY ALL ORDER BY s.agency_group, s.total_order DESC NULLS LAST", [year]).fetchall()
    by_group: dict[str, list[tuple[str, str, float | None]]] = {}
    for group, code, name, total in sensitivity:
        by_group.setdefault(group, []).append((code, name or code, total))
    for group in groups:
        ranked = [(name, total) for _, name, total in by_group.get(group, []) if total is not None]
        if ranked:
            top = "; ".join(f"{name} ({vn_number(total, 2)})" for name, total in ranked[:2])
            lines.append(f"{labels.get(group, group)}: tiêu chí ảnh hưởng nhiều nhất đến xếp hạng: {top}.")
        elif group in by_group:
            lines.append(f"{labels.get(group, group)}: thứ hạng không thay đổi khi trọng số thay đổi.")
    row += 1
    for line in lines:
        ws.write_string(row, 0, line, fmt.text)
        row += 1
    shown = [g for g in groups if g in by_group]
    if not shown:
        return
    row += 1
    _heading_row(ws, fmt, row, ["Tiêu chí", *(f"Ảnh hưởng – {labels.get(g, g)}" for g in shown)], height=48)
    row += 1
    order = dict(con.execute("SELECT criterion_code, min(criterion_order) FROM rubric_items WHERE year = ? "
                             "GROUP BY ALL", [year]).fetchall())
    names = dict(sorted({code: name for rows in by_group.values() for code, name, _ in rows}.items(),
                        key=lambda kv: (order.get(kv[0], 1 << 30), kv[0])))
    totals = {(g, code): total for g in shown for code, _, total in by_group[g]}
    for code, name in names.items():
        _text(ws, row, 0, name, fmt.cell_wrap)
        for col, g in enumerate(shown, start=1):
            value = totals.get((g, code))
            if (g, code) in totals and value is not None:
                ws.write_number(row, col, value, fmt.cell_index)
            else:
                ws.write_string(row, col, "–", fmt.cell_center)
        row += 1


# --- the data-quality sheet -----------------------------------------------------------------------------------


def _rules_text(source: str, by_rule: str | None) -> str:
    """'duplicate: 2; invalid: 1' → 'trùng MaHoSo: 2; sai định dạng: 1'."""
    parts = []
    for part in (by_rule or "").split(";"):
        rule, _, n = part.strip().partition(":")
        if rule:
            parts.append(f"{rule_label(source, rule.strip())}: {n.strip()}" if n else rule_label(source, rule))
    return "; ".join(parts)


def _table(ws: Worksheet, fmt: _Formats, row: int, heads: list[str], rows: list[list[Any]]) -> int:
    _heading_row(ws, fmt, row, heads, height=None)
    row += 1
    for values in rows:
        for col, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, int | float):
                _text(ws, row, col, value, fmt.cell_wrap)
            else:
                ws.write_number(row, col, value, fmt.cell_int if isinstance(value, int) else fmt.cell_points)
        row += 1
    return row + 1


def _quality_sheet(
    wb: Workbook, fmt: _Formats, con: duckdb.DuckDBPyConnection, year: int, labels: dict[str, str]
) -> None:
    ws = _text_sheet(wb, fmt, QUALITY_SHEET, [28, 40, 22, 48, 14],
                     f"Lưu ý về chất lượng dữ liệu năm {year}")
    ws.write_string(
        1,
        0,
        "Các lưu ý dưới đây giúp đọc đúng kết quả xếp hạng: chỉ số của báo cáo chưa gửi được 0 "
        "điểm; dòng dữ liệu bị cách ly không được tính.",
        fmt.note,
    )
    row = 3
    ws.write_string(row, 0, "1. Tóm tắt", fmt.section)
    row += 1
    for line in quality_summary(con, year):
        ws.merge_range(row, 0, row, 5, "", fmt.wrap)
        ws.write_string(row, 0, f"• {line}", fmt.wrap)
        ws.set_row(row, 16 * (1 + len(line) // 140))
        row += 1
    row += 1

    registry = _has_table(con, "agencies")
    name_join = "LEFT JOIN agencies AS a ON a.agency_code = d.agency_code" if registry else ""
    name_cols = "a.agency_name, a.agency_group" if registry else "NULL, NULL"
    if _has_table(con, "data_quality"):
        missing = con.execute(
            f"SELECT d.agency_code, {name_cols}, list(d.source ORDER BY d.source) FROM data_quality AS d "
            f"{name_join} WHERE d.year = ? AND d.missing_return GROUP BY ALL",
            [year],
        ).fetchall()
        groups = agency_groups(con)
        missing.sort(key=lambda r: (group_of(groups, r[2]).order if r[2] else 1 << 31, r[0]))
        ws.write_string(row, 0, f"2. Cơ quan chưa gửi báo cáo năm {year} ({len(missing)} cơ quan)", fmt.section)
        row += 1
        if missing:
            row = _table(
                ws,
                fmt,
                row,
                ["Mã cơ quan", "Tên cơ quan", "Nhóm cơ quan", "Báo cáo chưa gửi"],
                [
                    [code, name, labels.get(group, group), "; ".join(SOURCE_LABELS.get(s, s) for s in sources)]
                    for code, name, group, sources in missing
                ],
            )
        else:
            ws.write_string(row, 0, "Mọi cơ quan được đánh giá đã gửi đủ báo cáo.", fmt.text)
            row += 2

        quarantined = con.execute(
            f"SELECT d.agency_code, {name_cols}, d.source, d.rows_quarantined, d.quarantined_by_rule "
            f"FROM data_quality AS d {name_join} WHERE d.year = ? AND d.agency_code IS DISTINCT FROM '*' "
            "AND d.rows_quarantined > 0 ORDER BY d.agency_code NULLS LAST, d.source",
            [year],
        ).fetchall()
        ws.write_string(row, 0, "3. Dòng dữ liệu bị cách ly (không được tính), theo cơ quan", fmt.section)
        row += 1
        if quarantined:
            row = _table(
                ws,
                fmt,
                row,
                ["Mã cơ quan", "Tên cơ quan", "Nguồn dữ liệu", "Lý do", "Số dòng"],
                [
                    [
                        code or "(không đọc được mã cơ quan)",
                        name or ("mã không có trong danh mục cơ quan" if code else ""),
                        SOURCE_LABELS.get(source, source),
                        _rules_text(source, rules),
                        int(n),
                    ]
                    for code, name, _, source, n, rules in quarantined
                ],
            )
        else:
            ws.write_string(row, 0, "Không có dòng nào của cơ quan bị cách ly.", fmt.text)
            row += 2

    if _has_table(con, "ingested_files"):
        files = con.execute(
            "SELECT source, file, message FROM ingested_files WHERE status = 'rejected' "
            "AND (year = ? OR (year IS NULL AND source = 'agencies')) ORDER BY source, file",
            [year],
        ).fetchall()
        ws.write_string(row, 0, "4. Tệp bị từ chối cả tệp", fmt.section)
        row += 1
        if files:
            _table(
                ws,
                fmt,
                row,
                ["Nguồn dữ liệu", "Tệp", "Lý do (thông báo của hệ thống)"],
                [[SOURCE_LABELS.get(s, s), f, m] for s, f, m in files],
            )
        else:
            ws.write_string(row, 0, "Không có tệp nào bị từ chối.", fmt.text)


# --- the workbook ---------------------------------------------------------------------------------------------


def write_ranking_workbook(marts: duckdb.DuckDBPyConnection, year: int, out_dir: Path, *,
                           now: datetime | None = None) -> Path:
    """Write `out_dir/<year>/xep_hang_<year>.xlsx` from the marts connection and return its path.

    `now` decides whether the year is still running (default: now, Vietnam time). Raises ValueError when the
    marts hold no ranking for `year`."""
    year = int(year)
    ranked_by_group = _rankings(marts, year)
    if not ranked_by_group:
        raise ValueError(f"the marts hold no ranking for {year}: run the pipeline for {year} first")
    groups = agency_groups(marts)
    labels = {code: g.label_vi for code, g in groups.items()}
    classes = class_styles(marts, year)

    status = provisional(marts, year, now)
    path = Path(out_dir) / str(year) / f"xep_hang_{year}.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path.parent)
    with atomic_path(path) as tmp:
        wb = _Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                  "strings_to_numbers": False, **STREAMED})
        properties = {"title": f"Xếp hạng mức độ ứng dụng CNTT năm {year}", "language": "vi-VN"}
        if status:
            properties |= {"title": properties["title"] + " (số liệu tạm tính)", "comments": status.banner}
        wb.set_properties(properties)
        fmt = _Formats(wb, classes)
        taken = {METHOD_SHEET.casefold(), QUALITY_SHEET.casefold(), SCORECARD_766_SHEET.casefold()}
        for group, ranked in ranked_by_group.items():
            name = _sheet_name(group_of(groups, group).sheet, taken)
            _ranking_sheet(
                wb,
                fmt,
                name,
                year,
                group_of(groups, group).label_vi,
                _criteria(marts, year, group),
                ranked,
                _criterion_points(marts, year, group),
                list(classes),
                status,
                _decimals(marts, year, group),
            )
        rubric_years = sorted({r.rubric_year for ranked in ranked_by_group.values() for r in ranked})
        _method_sheet(wb, fmt, marts, year, list(ranked_by_group), labels, rubric_years)
        _quality_sheet(wb, fmt, marts, year, labels)
        write_766_sheet(wb, fmt, marts, year)
        wb.close()
    return path
