"""The workbook's layout shared by its sheets: sheet names, cell formats (Vietnamese number formats, class colours)
and the cell writers that keep every text from the inputs a text cell.

Number formats: `[$-42A]#,##0.00` (points) and `[$-42A]0.0000` (index). In the file a format code is
locale-neutral: "." is the decimal point and "," the grouping symbol *of the format code*, and the spreadsheet
displays them with the reader's separators. A Vietnamese-locale Excel (decimal symbol ",", grouping ".") therefore
shows 89,50 and 1.234,50; the `[$-42A]` prefix additionally tags the format as Vietnamese (LCID 0x042A), which
spreadsheets that format by the cell's language (LibreOffice Calc) follow whatever the user's locale. An
English-locale Excel still shows 89.50: forcing a comma everywhere would mean writing text, which we refuse.

No formula injection: every text from the inputs (codes, names, file names, messages) is written with `text`
(`write_string`), never `write`, so `=HYPERLINK(...)` as an agency name stays a text cell.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from assets.reports.common import ClassStyles

METHOD_SHEET = "Phương pháp"
QUALITY_SHEET = "Lưu ý chất lượng dữ liệu"
INTERVAL_HEADING = "Khoảng xếp hạng (90%)"  # the rank's 5–95 % interval over the uncertainty runs

POINTS_FORMAT = "[$-42A]#,##0.00"
INDEX_FORMAT = "[$-42A]0.0000"
INTEGER_FORMAT = "0"
INVALID_SHEET_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})


class Formats:
    """The workbook's cell formats, made once per workbook (xlsxwriter formats belong to one workbook)."""

    def __init__(self, wb: Workbook, classes: ClassStyles) -> None:
        base = {"font_name": "Times New Roman", "font_size": 12, "valign": "vcenter"}
        cell = {**base, "border": 1}
        self.title = wb.add_format({**base, "bold": True, "font_size": 14})
        self.note = wb.add_format({**base, "italic": True, "font_size": 11})
        banner = {"bold": True, "font_color": "#9C0006", "font_name": "Times New Roman", "font_size": 12}
        self.banner = wb.add_format(banner)
        self.banner_note = wb.add_format(
            {**banner, "bold": False, "italic": True, "font_color": "#000000", "font_size": 11}
        )
        self.banner_cell = wb.add_format(
            {**base, "text_wrap": True, "valign": "top", "bg_color": "#FFF4CE", "border": 1, "border_color": "#E08214"}
        )
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
            self._by_decimals[decimals] = (
                self._wb.add_format({**self._cell, "num_format": points}),
                self._wb.add_format({**self._cell, "num_format": index}),
            )
        return self._by_decimals[decimals]


def sheet_name(wanted: str, taken: set[str]) -> str:
    """A valid sheet name (31 characters, none of []:*?/\\) not yet `taken` (case-insensitively); adds it there."""
    name = (wanted.translate(INVALID_SHEET_CHARS).strip().strip("'") or "Nhóm")[:31]
    candidate, n = name, 2
    while candidate.casefold() in taken:
        suffix = f" ({n})"
        candidate, n = name[: 31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.casefold())
    return candidate


def text(ws: Worksheet, row: int, col: int, value: Any, fmt: Any = None) -> None:
    """Every text cell goes through here: write_string, never write (no formulas, URLs or numbers inferred)."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def number(ws: Worksheet, row: int, col: int, value: float | int | None, fmt: Any = None) -> None:
    if value is None:
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_number(row, col, value, fmt)


def width(texts: Iterable[Any], minimum: float, maximum: float) -> float:
    longest = max((len(str(t)) for t in texts if t is not None), default=0)
    return max(minimum, min(maximum, longest + 2))


def heading_row(ws: Worksheet, fmt: Formats, row: int, heads: list[str], height: float | None = 64) -> None:
    """A row of column headings; tall by default, since the Vietnamese headings wrap."""
    if height:
        ws.set_row(row, height)
    for col, head in enumerate(heads):
        ws.write_string(row, col, head, fmt.heading)


def text_sheet(wb: Workbook, fmt: Formats, name: str, widths: list[float], title: str) -> Worksheet:
    """A sheet of explanatory tables: column widths (the last one repeated to column 8) and its title in A1."""
    ws = wb.add_worksheet(name)
    for col, w in enumerate(widths[:-1]):
        ws.set_column(col, col, w)
    ws.set_column(len(widths) - 1, 8, widths[-1])
    ws.write_string(0, 0, title, fmt.title)
    return ws


def table(ws: Worksheet, fmt: Formats, row: int, heads: list[str], rows: list[list[Any]]) -> int:
    """A table of texts and numbers under its headings; returns the row after it and a blank one."""
    heading_row(ws, fmt, row, heads, height=None)
    row += 1
    for values in rows:
        for col, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, int | float):
                text(ws, row, col, value, fmt.cell_wrap)
            else:
                ws.write_number(row, col, value, fmt.cell_int if isinstance(value, int) else fmt.cell_points)
        row += 1
    return row + 1
