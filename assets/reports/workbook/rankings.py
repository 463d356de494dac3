"""The ranking sheets: one per ranked group (assets/reports/data.py `ranking`), a title row, a note row, then the
table STT, code, name, one column per criterion ("<tên tiêu chí> (<điểm tối đa>)"), Tổng điểm, Chỉ số, Xếp loại,
Xếp hạng, the 90 % rank interval, Thay đổi so với năm trước ("↑3", "↓2", "–", "mới"). Header frozen, autofilter,
each row coloured by its class (conditional formatting on the Xếp loại column, so it follows edits). A provisional
year carries the banner in the note row, above an unchanged table layout, and its change column reads
"(tạm tính)". The provincial workbook lists agencies; the national one provinces (`Units`)."""

from __future__ import annotations

from dataclasses import dataclass

from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook

from assets.reports.common import Provisional, rank_interval
from assets.reports.data import Criterion, RankedGroup
from assets.reports.workbook.formats import INTERVAL_HEADING, METHOD_SHEET, Formats, heading_row, number, text, width
from pipelines.core.vietnamese import rank_change_text, vn_number

TITLE_ROW, NOTE_ROW, HEADER_ROW = 0, 1, 2
FIRST_DATA_ROW = HEADER_ROW + 1
FIXED_HEADINGS_RIGHT = ("Tổng điểm", "Chỉ số", "Xếp loại", "Xếp hạng", INTERVAL_HEADING, "Thay đổi so với năm trước")
TENTATIVE = " (tạm tính)"  # appended to the change heading of a provisional year
UNRANKED = "không đủ dữ liệu"  # a unit without a total: not ranked (rankings.unranked_reason says why)


@dataclass(frozen=True)
class Units:
    """How a ranking sheet names what it ranks, and the methodology sheet its notes point to (None: none)."""

    code: str = "Mã cơ quan"
    name: str = "Tên cơ quan"
    noun: str = "cơ quan"
    title: str = "Kết quả xếp hạng mức độ ứng dụng CNTT năm {year} – {label}"
    method_sheet: str | None = METHOD_SHEET


AGENCIES = Units()
PROVINCES = Units(
    "Mã tỉnh",
    "Tỉnh, thành phố",
    "tỉnh, thành phố",
    "Kết quả xếp hạng mức độ ứng dụng CNTT các tỉnh, thành phố năm {year}",
    None,
)


def _criterion_heading(c: Criterion) -> str:
    return f"{c['criterion_name']} ({vn_number(c['max_points'], None)})"


def headings(criteria: list[Criterion], tentative: bool = False, units: Units = AGENCIES) -> list[str]:
    """The table's headings; `tentative`: the change column of a provisional year says it is not final."""
    right = [*FIXED_HEADINGS_RIGHT[:-1], FIXED_HEADINGS_RIGHT[-1] + (TENTATIVE if tentative else "")]
    return ["STT", units.code, units.name, *(_criterion_heading(c) for c in criteria), *right]


def ranking_sheet(
    wb: Workbook,
    fmt: Formats,
    name: str,
    year: int,
    group: RankedGroup,
    class_labels: list[str],
    status: Provisional | None = None,
    units: Units = AGENCIES,
) -> None:
    ws = wb.add_worksheet(name)
    criteria, ranked, decimals = group["criteria"], group["rows"], group["decimals"]
    total_cell, index_cell = fmt.decimal_cells(decimals)
    heads = headings(criteria, tentative=status is not None, units=units)
    last_col = len(heads) - 1
    n_crit = len(criteria)
    col_total, col_index, col_class, col_rank, col_interval, col_change = range(3 + n_crit, 3 + n_crit + 6)
    see_method = f" (xem sheet «{units.method_sheet}»)" if units.method_sheet else ""

    ws.write_string(TITLE_ROW, 0, units.title.format(year=year, label=group["label"]), fmt.title)
    rubric_years = sorted({r["rubric_year"] for r in ranked})
    maximum = max((r["max_points"] for r in ranked), default=0)
    note = (
        f"{len(ranked)} {units.noun}; điểm tối đa {vn_number(maximum, None)}; bộ chỉ số năm "
        f"{', '.join(map(str, rubric_years))}{see_method}. Xếp hạng theo tổng điểm làm tròn "
        f"{decimals} chữ số, bằng điểm thì đồng hạng."
    )
    if status is None:
        ws.write_string(NOTE_ROW, 0, note, fmt.note)
    else:  # the banner first, in the note row across the table: the table itself stays where it always is
        ws.merge_range(NOTE_ROW, 0, NOTE_ROW, last_col, "", fmt.banner_cell)
        ws.write_rich_string(NOTE_ROW, 0, fmt.banner, status.banner, fmt.banner_note, " " + note, fmt.banner_cell)
        ws.set_row(NOTE_ROW, 50)
        ws.set_tab_color("#E08214")
    heading_row(ws, fmt, HEADER_ROW, heads)

    for i, r in enumerate(ranked):
        row = FIRST_DATA_ROW + i
        ws.write_number(row, 0, i + 1, fmt.cell_int)
        text(ws, row, 1, r["agency_code"], fmt.cell_text)
        text(ws, row, 2, r["agency_name"], fmt.cell_text)
        for j, c in enumerate(criteria):
            number(ws, row, 3 + j, r["criteria"].get(c["criterion_code"]), total_cell)
        if r["rank"] is None:  # not ranked: no total, index, class or rank, the reason in their place
            for col in (col_total, col_index, col_rank, col_interval, col_change):
                ws.write_blank(row, col, None, fmt.cell_center)
            text(ws, row, col_class, r["unranked_reason"] or UNRANKED, fmt.cell_center)
            continue
        ws.write_number(row, col_total, r["total_points"], total_cell)
        ws.write_number(row, col_index, r["index_value"], index_cell)
        text(ws, row, col_class, r["classification"], fmt.cell_center)
        ws.write_number(row, col_rank, r["rank"], fmt.cell_int)
        text(ws, row, col_interval, rank_interval(r["q05_rank"], r["q95_rank"]), fmt.cell_center)
        ws.write_string(row, col_change, rank_change_text(r["prev_rank"], r["rank"]), fmt.cell_center)

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
            "số các chỉ số thay đổi"
            + (f" (xem sheet «{units.method_sheet}», mục 3)." if units.method_sheet else ".")
            + (" Số liệu tạm tính: thay đổi thứ hạng chưa phải kết quả chính thức." if status else "")
        ),
        fmt.note,
    )

    ws.set_column(0, 0, 6)
    ws.set_column(1, 1, width((r["agency_code"] for r in ranked), 11, 16))
    ws.set_column(2, 2, width((r["agency_name"] for r in ranked), 24, 48))
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
