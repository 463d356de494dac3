"""The annual ranking workbook, written from a real marts file (tests/conftest.py: report_marts) and read back
with openpyxl: sheets, headings, values against the marts, Vietnamese number formats, and no formula injection."""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import openpyxl
import pytest
from conftest import EVIL_AGENCY_CODE, EVIL_AGENCY_NAME, PROJECT, change_text
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from assets.reports.workbook import write_ranking_workbook
from pipelines.core.vietnamese import rank_change_text, vn_number

YEAR = 2024
GROUP_SHEETS = {
    "department": "Sở ban ngành",
    "district": "UBND cấp huyện",
    "commune": "UBND cấp xã",
    "central": "Cơ quan Trung ương",
}
HEADER_ROW = 3  # 1-based, as openpyxl counts
STANDARD = [
    "Hạ tầng kỹ thuật CNTT và ATTT",
    "Ứng dụng CNTT trong hoạt động nội bộ",
    "Ứng dụng CNTT phục vụ người dân và doanh nghiệp",
    "Nguồn nhân lực CNTT",
    "Môi trường tổ chức và chính sách",
]
LEFT = ["STT", "Mã cơ quan", "Tên cơ quan"]
RIGHT = ["Tổng điểm", "Chỉ số", "Xếp loại", "Xếp hạng", "Khoảng xếp hạng (90%)", "Thay đổi so với năm trước"]


@pytest.fixture(scope="module")
def marts(report_marts: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(report_marts), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def xlsx(marts: duckdb.DuckDBPyConnection, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_ranking_workbook(marts, YEAR, tmp_path_factory.mktemp("reports"))


@pytest.fixture(scope="module")
def book(xlsx: Path) -> Workbook:
    return openpyxl.load_workbook(xlsx)


def documented(first_heading: str) -> dict[str, list[str]]:
    """A table of the analyst guide (docs/analysts.md), the workbook's published contract: for each row, its
    first cell and the `quoted` values in it."""
    lines = (PROJECT / "docs" / "analysts.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_heading} |"))
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows[line.strip("|").split("|")[0].strip()] = re.findall(r"`([^`]+)`", line)
    return rows


def table(ws: Worksheet) -> tuple[list[str], list[tuple]]:
    """The heading row and the data rows (up to the first empty row) of a ranking sheet."""
    rows = list(ws.iter_rows(min_row=HEADER_ROW, values_only=True))
    data = []
    for row in rows[1:]:
        if row[0] is None:
            break
        data.append(row)
    return list(rows[0]), data


def test_path_and_sheet_names(xlsx: Path, book: Workbook):
    assert xlsx.name == f"xep_hang_{YEAR}.xlsx" and xlsx.parent.name == str(YEAR)
    assert not [p for p in xlsx.parent.iterdir() if p.name != xlsx.name]  # no temporary file left
    assert book.sheetnames == [
        *GROUP_SHEETS.values(),
        "Phương pháp",
        "Lưu ý chất lượng dữ liệu",
        "Chỉ số 766 theo tháng",
        "Hồ sơ mất điểm 766",
    ]


def test_title_and_heading_rows_exactly(book: Workbook):
    assert book["Sở ban ngành"]["A1"].value == f"Kết quả xếp hạng mức độ ứng dụng CNTT năm {YEAR} – Sở, ban, ngành"
    assert book["UBND cấp huyện"]["A1"].value.endswith("– UBND cấp huyện")
    assert table(book["Sở ban ngành"])[0] == [
        "STT",
        "Mã cơ quan",
        "Tên cơ quan",
        "Hạ tầng kỹ thuật CNTT và ATTT (20)",
        "Ứng dụng CNTT trong hoạt động nội bộ (20)",
        "Ứng dụng CNTT phục vụ người dân và doanh nghiệp (40)",
        "Nguồn nhân lực CNTT (10)",
        "Môi trường tổ chức và chính sách (10)",
        "Tổng điểm",
        "Chỉ số",
        "Xếp loại",
        "Xếp hạng",
        "Khoảng xếp hạng (90%)",
        "Thay đổi so với năm trước",
    ]
    district = [f"{n} ({m})" for n, m in zip(STANDARD, [18, 18, 36, 9, 9], strict=True)]
    assert table(book["UBND cấp huyện"])[0] == [*LEFT, *district, "Ứng dụng CNTT tại UBND cấp xã (10)", *RIGHT]
    for sheet in ("UBND cấp xã", "Cơ quan Trung ương"):
        assert table(book[sheet])[0] == table(book["Sở ban ngành"])[0]


@pytest.mark.parametrize("group", list(GROUP_SHEETS))
def test_rows_equal_the_rankings_mart(book: Workbook, marts: duckdb.DuckDBPyConnection, group: str):
    heads, rows = table(book[GROUP_SHEETS[group]])
    col = {h: i for i, h in enumerate(heads)}
    expected = {
        code: rest
        for code, *rest in marts.execute(
            "SELECT agency_code, agency_name, total_points, index_value, classification, rank, prev_rank "
            "FROM rankings WHERE year = ? AND agency_group = ?",
            [YEAR, group],
        ).fetchall()
    }
    assert len(rows) == len(expected) > 0
    assert [r[col["STT"]] for r in rows] == list(range(1, len(rows) + 1))
    for row in rows:
        name, total, index, classification, rank, prev_rank = expected[row[col["Mã cơ quan"]]]
        assert row[col["Tên cơ quan"]] == name
        assert row[col["Tổng điểm"]] == total
        assert row[col["Chỉ số"]] == pytest.approx(index)
        assert row[col["Xếp loại"]] == classification
        assert row[col["Xếp hạng"]] == rank
        assert row[col["Thay đổi so với năm trước"]] == change_text(prev_rank, rank)
    ranks = [r[col["Xếp hạng"]] for r in rows]
    assert ranks == sorted(ranks)  # ties: test_ties_are_listed_in_vietnamese_alphabetical_order
    # Criterion points of a few agencies: top, middle and bottom of the sheet.
    criteria = [h for h in heads if h not in LEFT and h not in RIGHT]
    for row in (rows[0], rows[len(rows) // 2], rows[-1]):
        points = dict(
            marts.execute(
                "SELECT criterion_name, points FROM criterion_scores WHERE year = ? AND agency_code = ?",
                [YEAR, row[col["Mã cơ quan"]]],
            ).fetchall()
        )
        assert {h.rsplit(" (", 1)[0]: row[col[h]] for h in criteria} == pytest.approx(points)
        assert sum(points.values()) == pytest.approx(row[col["Tổng điểm"]], abs=0.006)


def test_ties_are_listed_in_vietnamese_alphabetical_order(report_marts: Path, tmp_path: Path):
    """Agencies of the same rank come by name as a Vietnamese reader looks them up: tones do not count first and
    Đ follows D (a code-point sort would put "Ánh" after "Bình", and "Đ" after "E")."""
    copy = tmp_path / "egov.duckdb"
    shutil.copyfile(report_marts, copy)
    con = duckdb.connect(str(copy))
    codes = [
        c
        for (c,) in con.execute(
            "SELECT agency_code FROM rankings WHERE year = ? AND agency_group = "
            "'department' ORDER BY agency_code LIMIT 5",
            [YEAR],
        ).fetchall()
    ]
    names = ["Sở Em", "Sở Đào tạo", "Sở Bình", "Sở Dân tộc", "Sở Ánh sáng"]
    for code, name in zip(codes, names, strict=True):
        con.execute(
            "UPDATE rankings SET agency_name = ?, rank = 1 WHERE year = ? AND agency_code = ?", [name, YEAR, code]
        )
    xlsx = write_ranking_workbook(con, YEAR, tmp_path / "reports")
    con.close()
    heads, rows = table(openpyxl.load_workbook(xlsx)["Sở ban ngành"])
    shown = [r[heads.index("Tên cơ quan")] for r in rows if r[heads.index("Mã cơ quan")] in codes]
    assert shown == ["Sở Ánh sáng", "Sở Bình", "Sở Dân tộc", "Sở Đào tạo", "Sở Em"]


def test_totals_are_shown_with_the_rubrics_decimals_and_never_a_default_of_its_own(report_marts: Path, tmp_path: Path):
    """The rounding of totals is the rubric's (rubric_classes.decimals, whose default is the registry's): the
    workbook kept a fallback of 2 of its own, used when the marts did not say (issue 25)."""
    copy = tmp_path / "egov.duckdb"
    shutil.copyfile(report_marts, copy)
    con = duckdb.connect(str(copy))
    con.execute("UPDATE rubric_classes SET decimals = 3 WHERE year = ? AND agency_group = 'department'", [YEAR])
    sheet = openpyxl.load_workbook(write_ranking_workbook(con, YEAR, tmp_path / "three"))["Sở ban ngành"]
    assert "làm tròn 3 chữ số" in sheet.cell(row=2, column=1).value
    heads, _ = table(sheet)
    assert sheet.cell(row=HEADER_ROW + 1, column=heads.index("Tổng điểm") + 1).number_format.endswith("#,##0.000")
    con.execute("DELETE FROM rubric_classes WHERE year = ? AND agency_group = 'department'", [YEAR])
    with pytest.raises(
        ValueError,
        match=f"the marts hold no classes \\(rubric_classes\\) of group 'department' in "
        f"{YEAR}: the decimals its totals are rounded to are unknown",
    ):
        write_ranking_workbook(con, YEAR, tmp_path / "none")
    con.close()


def test_changes_cover_up_down_and_new(book: Workbook, marts: duckdb.DuckDBPyConnection, tmp_path: Path):
    texts = {r[-1] for s in GROUP_SHEETS.values() for r in table(book[s])[1]}
    assert any(t.startswith("↑") for t in texts) and any(t.startswith("↓") for t in texts)
    earlier = write_ranking_workbook(marts, YEAR - 1, tmp_path)
    first = openpyxl.load_workbook(earlier, read_only=True)
    assert {r[-1] for r in table(first["Sở ban ngành"])[1]} == {"mới"}  # the first year has no previous rank
    first.close()
    assert rank_change_text(5, 2) == "↑3" and rank_change_text(2, 4) == "↓2"
    assert rank_change_text(3, 3) == "–" and rank_change_text(None, 1) == "mới"


def test_numbers_stay_numbers_with_vietnamese_formats(book: Workbook):
    ws = book["Sở ban ngành"]
    heads, _ = table(ws)
    first = HEADER_ROW + 1
    total = ws.cell(first, heads.index("Tổng điểm") + 1)
    index = ws.cell(first, heads.index("Chỉ số") + 1)
    criterion = ws.cell(first, 4)
    assert total.data_type == index.data_type == criterion.data_type == "n"
    formats = documented("cells")
    [points_format], [index_format] = formats["points per criterion, Tổng điểm"], formats["Chỉ số"]
    assert points_format.startswith("[$-42A]") and index_format.startswith("[$-42A]")  # tagged Vietnamese
    assert total.number_format == criterion.number_format == points_format
    assert index.number_format == index_format
    assert ws.cell(first, heads.index("Xếp hạng") + 1).data_type == "n"
    assert vn_number(89.5, 2) == "89,50" and vn_number(1234.5, None) == "1.234,5" and vn_number(18, None) == "18"


def test_frozen_header_filter_widths_and_class_colours(book: Workbook):
    documented_colours = documented("Xếp loại")  # docs/analysts.md: background and text colour per class
    assert set(documented_colours) == {"Tốt", "Khá", "Trung bình", "Yếu"}
    for sheet in GROUP_SHEETS.values():
        ws = book[sheet]
        heads, rows = table(ws)
        last = openpyxl.utils.get_column_letter(len(heads))
        assert ws.freeze_panes == f"D{HEADER_ROW + 1}"  # below the heading row, code and name kept in view
        assert ws.auto_filter.ref == f"A{HEADER_ROW}:{last}{HEADER_ROW + len(rows)}"
        assert ws.column_dimensions["C"].width >= 24  # names are readable
        rules = {
            (str(cf.sqref), rule.formula[0], (rule.dxf.fill.bgColor.rgb, rule.dxf.font.color.rgb))
            for cf in ws.conditional_formatting
            for rule in cf.rules
        }
        class_col = openpyxl.utils.get_column_letter(heads.index("Xếp loại") + 1)
        area = f"A{HEADER_ROW + 1}:{last}{HEADER_ROW + len(rows)}"
        formulas = {f for s, f, _ in rules if s == area}
        assert formulas == {f'${class_col}{HEADER_ROW + 1}="{c}"' for c in ("Tốt", "Khá", "Trung bình", "Yếu")}
        colours = {f.split('"')[1]: colour for s, f, colour in rules if s == area}
        assert colours == {
            label: ("FF" + background[1:], "FF" + text[1:]) for label, (background, text) in documented_colours.items()
        }


def test_formula_looking_names_are_text_cells(book: Workbook, xlsx: Path):
    ws = book["Sở ban ngành"]
    heads, rows = table(ws)
    row = next(i for i, r in enumerate(rows, start=HEADER_ROW + 1) if r[heads.index("Mã cơ quan")] == EVIL_AGENCY_CODE)
    cell = ws.cell(row, heads.index("Tên cơ quan") + 1)
    assert cell.value == EVIL_AGENCY_NAME
    assert cell.data_type == "s"
    assert not [c.coordinate for w in book.worksheets for r in w.iter_rows() for c in r if c.data_type == "f"]
    with zipfile.ZipFile(xlsx) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets and not [n for n in sheets if "<f>" in z.read(n).decode("utf-8")]
        # the name is a text cell: inline in its sheet (the workbook is streamed row by row, without shared strings)
        assert "HYPERLINK" in "".join(z.read(n).decode("utf-8") for n in sheets)


def test_methodology_sheet_lists_the_rubric_with_the_district_variant(book: Workbook):
    rows = [r for r in book["Phương pháp"].iter_rows(values_only=True) if any(v is not None for v in r)]
    heading = next(r for r in rows if r[0] == "Tiêu chí")
    assert heading[:4] == ("Tiêu chí", "Mã chỉ số", "Chỉ số thành phần", "Mục tiêu")
    district = heading.index("Điểm – UBND cấp huyện")
    standard = next(i for i, h in enumerate(heading) if h and h.startswith("Điểm – Sở, ban, ngành"))
    items = {r[1]: r for r in rows if r[1] and r[1] != "Mã chỉ số"}
    assert items["computers_per_staff"][2] == "Số máy tính trên cán bộ"
    assert items["computers_per_staff"][3] == 1 and items["edoc_ratio"][3] == 0.9
    assert items["computers_per_staff"][standard] == 6
    assert items["computers_per_staff"][district] == pytest.approx(5.4)
    assert items["commune_lan_ratio"][district] == 2.5 and items["commune_lan_ratio"][standard] == "–"
    assert next(r for r in rows if r[0] == "Tổng điểm tối đa")[4:6] == (100, 100)
    classes = {r[0]: r[1] for r in rows if r[0] in ("Tốt", "Khá", "Trung bình", "Yếu")}
    assert classes == {"Tốt": 80, "Khá": 65, "Trung bình": 50, "Yếu": 0}


RETURN_LABELS = {
    "infrastructure": "hạ tầng kỹ thuật",
    "capacity": "ứng dụng CNTT nội bộ, nhân lực và chính sách",
    "one_stop": "sử dụng phần mềm một cửa điện tử",
}  # the returns as the evaluation team names them


def test_quality_sheet_lists_the_years_caveats(book: Workbook, marts: duckdb.DuckDBPyConnection):
    rows = [r for r in book["Lưu ý chất lượng dữ liệu"].iter_rows(values_only=True) if any(v is not None for v in r)]
    texts = [r[0] for r in rows]
    assert texts[0] == f"Lưu ý về chất lượng dữ liệu năm {YEAR}"
    bullets = [t[2:] for t in texts if t and t.startswith("• ")]
    # The summary: one line per return some agencies did not send, one for the quarantined dossier rows.
    missing = marts.execute(
        "SELECT source, list(DISTINCT agency_code) FROM data_quality WHERE year = ? AND missing_return GROUP BY ALL",
        [YEAR],
    ).fetchall()
    assert missing
    for source, codes in missing:
        assert (
            sum(
                b.startswith(f"{len(codes)} cơ quan chưa gửi báo cáo {RETURN_LABELS[source]} năm {YEAR}: ")
                for b in bullets
            )
            == 1
        ), (source, bullets)
    held = dict(
        marts.execute(
            "SELECT rule, count(*) FROM quarantine WHERE year = ? AND source = 'dossiers' GROUP BY ALL", [YEAR]
        ).fetchall()
    )
    [line] = [b for b in bullets if "dòng hồ sơ thủ tục hành chính bị cách ly" in b]
    assert line.startswith(f"{sum(held.values())} dòng hồ sơ") and f"{held['duplicate']} trùng MaHoSo" in line
    # 2.: every agency with a missing return, once.
    start = next(i for i, t in enumerate(texts) if t.startswith("2. Cơ quan chưa gửi báo cáo"))
    end = next(i for i, t in enumerate(texts) if t.startswith("3. "))
    listed = [r[0] for r in rows[start + 2 : end]]
    assert len(listed) == len(set(listed)) and set(listed) == {c for _, codes in missing for c in codes}
    # 3.: the quarantined rows per agency add up to the quarantine table.
    stop = next(i for i, t in enumerate(texts) if t.startswith("4. "))
    per_agency: dict[str | None, int] = {}
    for r in rows[end + 2 : stop]:  # "(…)": no agency code (unreadable, or a rating's, which is its dossier's)
        code = None if r[0].startswith("(") else r[0]
        per_agency[code] = per_agency.get(code, 0) + r[4]
    assert per_agency == dict(
        marts.execute("SELECT agency_code, count(*) FROM quarantine WHERE year = ? GROUP BY ALL", [YEAR]).fetchall()
    )


def test_writing_twice_gives_the_same_sheets(marts: duckdb.DuckDBPyConnection, xlsx: Path, tmp_path: Path):
    again = write_ranking_workbook(marts, YEAR, tmp_path)
    with zipfile.ZipFile(xlsx) as a, zipfile.ZipFile(again) as b:
        parts = [n for n in a.namelist() if n.startswith("xl/")]
        assert parts == [n for n in b.namelist() if n.startswith("xl/")]
        assert all(a.read(n) == b.read(n) for n in parts)


def test_a_year_without_ranking_is_refused(marts: duckdb.DuckDBPyConnection, tmp_path: Path):
    with pytest.raises(ValueError, match="no ranking for 2031"):
        write_ranking_workbook(marts, 2031, tmp_path)
    assert not (tmp_path / "2031" / "xep_hang_2031.xlsx").exists()
