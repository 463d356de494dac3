"""The annual ranking workbook (`<out_dir>/<year>/xep_hang_<year>.xlsx`), like a ranking decision's appendix.

`write_ranking_workbook(marts, year, out_dir)` reads only the marts connection (the published analysts' DuckDB),
through the report data layer (assets/reports/data.py) for the ranking, and writes with xlsxwriter, one module
per concern:

- `rankings`: one sheet per agency group ranked that year, named and ordered as the marts' `agency_groups` say
  ("Sở ban ngành", "UBND cấp huyện", "UBND cấp xã", "Cơ quan Trung ương", or a rubric's own group), ordered by
  rank, then Vietnamese alphabetical order of the name (common.vi_sort_key), each row coloured by its class;
- `methodology`: "Phương pháp", the year's rubric and how robust the ranking is;
- `quality`: "Lưu ý chất lượng dữ liệu", the year's data-quality caveats;
- the QĐ 766 sheet (assets/reports/scorecard_766.py) when the marts hold the scorecard of the year;
- `formats`: the sheet names, the cell formats (decimal comma, `[$-42A]` Vietnamese number formats) and the cell
  writers shared by the sheets.

Cells hold numbers, never text, so totals can be summed, sorted and filtered; numbers inside sentences (titles,
notes) are written with a comma by `vn_number`. Every text from the inputs is written with `write_string`, and the
workbook is opened with `strings_to_formulas: False` (and `strings_to_urls` / `strings_to_numbers` off) as a
second guard. The file is written under a temporary name and renamed (`new_workbook`, common.atomic_path), so a
reader never opens half a workbook and a failed run keeps the previous one; the national workbook of provinces is
written the same way (assets/national/reports.py).

A provisional year (assets.reports.common.provisional, the same rule as the HTML pages) carries the banner in
the note row of every ranking sheet, above an unchanged table layout, and its change column reads "(tạm tính)".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from assets.reports.common import Provisional, agency_groups, atomic_path, class_styles, provisional, remove_leftovers
from assets.reports.data import ranking
from assets.reports.scorecard_766 import RECORDS_SHEET as SCORECARD_766_RECORDS_SHEET
from assets.reports.scorecard_766 import SHEET as SCORECARD_766_SHEET
from assets.reports.scorecard_766 import CostlyRecords, write_766_sheet
from assets.reports.workbook.formats import METHOD_SHEET, QUALITY_SHEET, Formats, sheet_name
from assets.reports.workbook.methodology import method_sheet
from assets.reports.workbook.quality import quality_sheet
from assets.reports.workbook.rankings import ranking_sheet

__all__ = ["new_workbook", "write_ranking_workbook"]

# Nothing a cell holds is ever read as a formula, a link or a number: the second guard behind `formats.text`.
SAFE_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
# Each row goes to a temporary file as soon as the next one starts, so the memory does not grow with the agencies:
# held whole, a group of 10,000 agencies and its 766 sheet took ~300 MB (issue 24). Every sheet is therefore
# written top to bottom: xlsxwriter would drop a cell of a row already left, `_StreamedSheet` refuses it.
STREAMED = {"constant_memory": True}


class _StreamedSheet(Worksheet):
    """A worksheet that raises, rather than silently drops, a cell written to a row already streamed out."""

    def _check_dimensions(self, row: int, col: int, ignore_row: bool = False, ignore_col: bool = False) -> int:
        found = super()._check_dimensions(row, col, ignore_row, ignore_col)
        if found == -2:
            raise RuntimeError(
                f"sheet {self.name!r}: cell {xl_col_to_name(col)}{row + 1} written after a later row "
                "(the workbook is streamed row by row)"
            )
        return found


class _StreamedWorkbook(xlsxwriter.Workbook):
    worksheet_class = _StreamedSheet


@contextmanager
def new_workbook(path: Path, title: str, status: Provisional | None = None) -> Iterator[Workbook]:
    """A workbook for `path`, titled (and, for a provisional year, commented with the banner) in Vietnamese, written
    atomically when the block ends; a failed block leaves the previous file (and no temporary one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path.parent)
    with atomic_path(path) as tmp:
        wb = _StreamedWorkbook(str(tmp), SAFE_OPTIONS | STREAMED)
        properties = {"title": title, "language": "vi-VN"}
        if status:
            properties |= {"title": title + " (số liệu tạm tính)", "comments": status.banner}
        wb.set_properties(properties)
        yield wb
        wb.close()


def write_ranking_workbook(
    marts: duckdb.DuckDBPyConnection,
    year: int,
    out_dir: Path,
    *,
    now: datetime | None = None,
    costly_766: CostlyRecords | None = None,
) -> Path:
    """Write `out_dir/<year>/xep_hang_<year>.xlsx` from the marts connection and return its path.

    `now` decides whether the year is still running (default: now, Vietnam time); `costly_766`: the year's
    `scorecard_766.costly_records` when the caller has read them (write_reports, for the pages too). Raises ValueError
    when the marts hold no ranking for `year`."""
    year = int(year)
    groups = ranking(marts, year)
    if not groups:
        raise ValueError(f"the marts hold no ranking for {year}: run the pipeline for {year} first")
    labels = {code: g.label_vi for code, g in agency_groups(marts).items()}
    classes = class_styles(marts, year)
    status = provisional(marts, year, now)
    path = Path(out_dir) / str(year) / f"xep_hang_{year}.xlsx"
    with new_workbook(path, f"Xếp hạng mức độ ứng dụng CNTT năm {year}", status) as wb:
        fmt = Formats(wb, classes)
        taken = {
            METHOD_SHEET.casefold(),
            QUALITY_SHEET.casefold(),
            SCORECARD_766_SHEET.casefold(),
            SCORECARD_766_RECORDS_SHEET.casefold(),
        }
        for group in groups:
            ranking_sheet(wb, fmt, sheet_name(group["sheet"], taken), year, group, list(classes), status)
        method_sheet(wb, fmt, marts, year, groups, labels)
        quality_sheet(wb, fmt, marts, year, labels)
        write_766_sheet(wb, fmt, marts, year, costly_766)
    return path
