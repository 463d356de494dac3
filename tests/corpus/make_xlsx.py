"""Write the corpus's XLSX cases (run once; the .xlsx files are committed so the corpus is real files).

    .venv/bin/python tests/corpus/make_xlsx.py

Each workbook looks like a return an agency fills in from the province's Excel template: title rows, merged
group headings above the column names, formulas with the values Excel cached when it saved the file, an
instructions sheet before the data, a hidden sheet, codes typed as numbers.
Deterministic: fixed document dates, so a re-run gives byte-identical files.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).parent
SAVED = datetime(2025, 1, 15, 9, 30)

INFRA_HEADER = [
    "year",
    "agency_code",
    "staff_count",
    "computers",
    "computers_internet",
    "has_lan",
    "bandwidth_mbps",
    "has_firewall",
    "has_antivirus",
    "has_backup",
    "security_assessed",
    "offline_computer_secret",
    "has_website",
]
INFRA_ROWS = [
    ["SO-TP", 64, 70, 70, 1, 100, 1, 1, 1, 1, 1, 1],
    ["SO-YT", 152, 160, 158, 1, 300, 1, 1, 1, 1, 1, 1],
    ["SO-GDDT", 118, 121, 121, 1, 200, 1, 1, 0, 1, 1, 1],
    ["SO-TC", 96, 99, 97, 1, 200, 1, 1, 1, 1, 1, 1],
    ["SO-XD", 71, 74, 74, 1, 100, 1, 1, 1, 0, 1, 1],
    ["SO-CT", 58, 60, 60, 1, 80, 1, 1, 0, 0, 1, 1],
    ["SO-NV", 66, 65, 65, 1, 100, 1, 1, 1, 1, 1, 1],
    ["SO-KHCN", 47, 52, 52, 1, "80,5", 1, 1, 1, 1, 1, 1],
    ["SO-VHTTDL", 83, 80, 78, 1, 100, 0, 1, 0, 0, 1, 1],
    ["CT-THUE", 210, 230, 230, 1, 500, 1, 1, 1, 1, 1, 1],
    ["H01", 95, 101, 99, 1, 200, 1, 1, 1, 0, 1, 1],
    ["H02", 72, 70, 66, 1, 100, 0, 1, 0, 0, 0, 1],
    ["X001", 21, 14, 14, 1, 40, 0, 1, 0, 0, 0, 1],
    ["X003", 19, 9, 7, 0, 20, 0, 1, 0, 0, 0, 0],
    ["X005", 18, 8, 8, 1, 20, 0, 1, 0, 0, 0, 0],
]

CAPACITY_HEADER = [
    "year",
    "agency_code",
    "docs_sent_total",
    "docs_sent_electronic",
    "docs_signed_digital",
    "staff_with_email",
    "it_staff",
    "it_staff_security_trained",
    "staff_it_trained",
    "has_it_plan",
    "has_it_regulation",
    "it_budget_vnd",
]
# agency, docs sent, electronic share, signed share, staff with email, IT staff, trained, staff trained, plan,
# regulation, budget parts (hardware, software) in VND
CAPACITY_ROWS = [
    ["SO-TP", 2140, 0.95, 0.90, 64, 2, 1, 40, 1, 1, 85_000_000, 35_000_000],
    ["SO-YT", 5320, 0.92, 0.85, 150, 4, 2, 96, 1, 1, 240_000_000, 110_000_000],
    ["SO-GDDT", 4410, 0.97, 0.93, 118, 3, 3, 80, 1, 1, 150_000_000, 60_000_000],
    ["SO-TC", 3880, 0.96, 0.94, 96, 3, 2, 70, 1, 1, 120_000_000, 45_000_000],
    ["SO-XD", 2975, 1.05, 0.90, 70, 2, 1, 35, 1, 0, 60_000_000, 20_000_000],  # 105 %: a wrong template formula
    ["SO-CT", 2410, 0.88, 0.80, 55, 1, 1, 30, 0, 1, 40_000_000, 0],
    ["SO-NV", 3105, 0.93, 0.91, 66, 2, 2, 50, 1, 1, 90_000_000, 30_000_000],
    ["SO-KHCN", 1890, 0.98, 0.96, 47, 5, 4, 47, 1, 1, 310_000_000, 190_000_000],
    ["H01", 6120, 0.90, 0.82, 95, 2, 1, 60, 1, 1, 130_000_000, 50_000_000],
    ["H02", 4350, 0.86, 0.75, 70, 1, 0, 41, 1, 0, 70_000_000, 25_000_000],
]


def _book(path: Path) -> xlsxwriter.Workbook:
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"author": "Văn phòng Sở", "created": SAVED})
    return book


def infrastructure_with_title_and_merged_header() -> Path:
    """Two title rows, a blank row, merged group headings, the template's column names (row 5), a blank row at 16."""
    path = HERE / "xlsx_title_merged_header_infrastructure" / "raw" / "infrastructure" / "2024"
    path = path / "BaoCao_HaTang_CNTT_2024.xlsx"
    book = _book(path)
    sheet = book.add_worksheet("Biểu 01")
    bold = book.add_format({"bold": True, "align": "center", "valign": "vcenter", "border": 1})
    sheet.merge_range(0, 0, 0, 12, "ỦY BAN NHÂN DÂN TỈNH QUẢNG NAM", bold)
    sheet.merge_range(1, 0, 1, 12, "BIỂU 01: HIỆN TRẠNG HẠ TẦNG KỸ THUẬT CNTT VÀ AN TOÀN THÔNG TIN NĂM 2024", bold)
    sheet.merge_range(3, 0, 3, 2, "Thông tin chung", bold)
    sheet.merge_range(3, 3, 3, 6, "Máy tính và mạng", bold)
    sheet.merge_range(3, 7, 3, 11, "An toàn thông tin", bold)
    sheet.write(3, 12, "Cổng TTĐT", bold)
    sheet.write_row(4, 0, INFRA_HEADER, bold)
    for i, row in enumerate(INFRA_ROWS):  # a blank row separates the provincial agencies from the local ones
        sheet.write_row(5 + i + (i >= 10), 0, [2024, *row])
    book.close()
    return path


def capacity_with_formulas() -> Path:
    """Electronic and signed documents and the IT budget are formulas, saved with Excel's cached values.

    Two are wrong as agencies' sheets are: a 105 % share (row 6) and a budget formula left with #REF! (row 11).
    """
    path = HERE / "xlsx_formula_capacity" / "raw" / "capacity" / "2024" / "NangLuc_UngDungCNTT_2024.xlsx"
    book = _book(path)
    sheet = book.add_worksheet("Biểu 02")
    sheet.write_row(0, 0, CAPACITY_HEADER)
    for i, (agency, total, e_share, s_share, email, it, trained, staff_tr, plan, reg, hw, sw) in enumerate(
        CAPACITY_ROWS
    ):
        r, excel_row = 1 + i, 2 + i
        electronic = round(total * e_share)
        signed = round(electronic * s_share)
        sheet.write_row(r, 0, [2024, agency, total])
        sheet.write_formula(r, 3, f"=ROUND(C{excel_row}*{e_share},0)", None, electronic)
        sheet.write_formula(r, 4, f"=ROUND(D{excel_row}*{s_share},0)", None, signed)
        sheet.write_row(r, 5, [email, it, trained, staff_tr, plan, reg])
        if agency == "H02":  # the hardware column the formula summed was deleted: Excel saved #REF!
            sheet.write_formula(r, 11, f"=#REF!+{sw}", None, "#REF!")
        else:
            sheet.write_formula(r, 11, f"={hw}+{sw}", None, hw + sw)
    book.close()
    return path


SERVICES_HEADER = ["year", "agency_code", "procedure_code", "procedure_name", "level", "has_fee"]
CATALOGUE = [
    ("1.001193", "Đăng ký khai sinh", "một phần", 0),
    ("1.000656", "Đăng ký kết hôn", "toàn trình", 0),
    ("2.000908", "Cấp phiếu lý lịch tư pháp cho công dân Việt Nam", "toàn trình", 1),
    ("1.001022", "Chứng thực bản sao từ bản chính", 3, 1),
    ("2.000986", "Đăng ký thay đổi, cải chính hộ tịch", 3, 0),
]


def services_on_two_sheets() -> Path:
    """The catalogues of two departments, one per sheet: the second must not be ignored."""
    path = HERE / "xlsx_two_sheets_services" / "raw" / "services" / "2024" / "DanhMucTTHC_2024.xlsx"
    book = _book(path)
    for name, agency, rows in (("Sở Tư pháp", "SO-TP", CATALOGUE), ("Sở Y tế", "SO-YT", CATALOGUE[:4])):
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, SERVICES_HEADER)
        for i, (code, title, level, fee) in enumerate(rows, start=1):
            sheet.write_row(i, 0, [2024, agency, code, title, level, fee])
    book.close()
    return path


INSTRUCTIONS = [
    "HƯỚNG DẪN ĐIỀN BIỂU 01",
    "1. Điền số liệu vào sheet 'Biểu 01', mỗi cơ quan một dòng; không đổi tên, không xóa cột.",
    "2. Các cột có/không ghi 1 hoặc 0.",
    "3. Băng thông (bandwidth_mbps) ghi theo Mbps, được dùng dấu phẩy thập phân.",
]


def infrastructure_after_instructions() -> list[Path]:
    """An instructions sheet before the data (read the data sheet), and a workbook whose data sheet was hidden."""
    folder = HERE / "xlsx_instructions_first_infrastructure" / "raw" / "infrastructure" / "2024"
    first = folder / "BaoCao_HaTang_2024.xlsx"
    book = _book(first)
    guide = book.add_worksheet("Hướng dẫn")
    for i, line in enumerate(INSTRUCTIONS):
        guide.write(i, 0, line)
    sheet = book.add_worksheet("Biểu 01")
    sheet.write_row(0, 0, INFRA_HEADER)
    for i, row in enumerate(INFRA_ROWS[:6], start=1):
        sheet.write_row(i, 0, [2024, *row])
    book.close()
    hidden = folder / "BaoCao_HaTang_X005_2024.xlsx"
    book = _book(hidden)
    guide = book.add_worksheet("Hướng dẫn")
    for i, line in enumerate(INSTRUCTIONS):
        guide.write(i, 0, line)
    sheet = book.add_worksheet("Data")
    sheet.write_row(0, 0, INFRA_HEADER)
    sheet.write_row(1, 0, [2024, *INFRA_ROWS[-1]])
    sheet.hide()
    book.close()
    return [first, hidden]


DOSSIER_HEADER = [
    "MaHoSo",
    "MaTTHC",
    "DonViXuLy",
    "KenhThucHien",
    "MucDo",
    "NgayTiepNhan",
    "NgayHenTra",
    "NgayKetThucXuLy",
    "NgayTra",
    "TrangThaiHoSo",
    "LePhi",
    "DuocThanhToanTrucTuyen",
    "HoSoCoThanhPhanSoHoa",
    "LoaiDoiTuong",
    "ChuHoSo",
    "SoGiayTo",
    "SoDienThoai",
    "Email",
]
# code, typed as a number?, applicant, ID number, phone, e-mail
DOSSIER_ROWS = [
    ("1.004946", False, "Trần Thị Mỹ Dung", "049187011111", "0905111222", "mydung.tran@gmail.com"),
    ("1.001190", True, "Lê Văn Sáu", "049076022222", "0935222333", "sau.le76@gmail.com"),
    ("1.004946", False, "Nguyễn Thị Bé", "049191033333", "0914333444", "be.nguyen@yahoo.com"),
    ("1.002399", False, "Phạm Văn Lực", "049083044444", "0983444555", "luc.pham83@gmail.com"),
    ("1.001190", False, "Hồ Thị Xuân", "049195055555", "0766555666", "xuan.ho95@gmail.com"),
    ("2.000510", True, "Võ Văn Tám", "049070066666", "0905666777", "tam.vo70@gmail.com"),
    ("1.002399", False, "Đinh Thị Hạnh", "049188077777", "0935777888", "hanh.dinh@gmail.com"),
    ("1.004946", False, "Lương Văn Phúc", "049092088888", "0914888999", "phuc.luong92@gmail.com"),
]


def dossiers_with_numeric_codes() -> Path:
    """MaTTHC typed as a number in two rows: Excel shows 1.001190 and stores 1.00119."""
    path = HERE / "xlsx_numeric_code_dossiers" / "raw" / "dossiers" / "2024" / "06" / "HoSo_SoYTe_T06_2024.xlsx"
    book = _book(path)
    sheet = book.add_worksheet("Hồ sơ")
    sheet.write_row(0, 0, DOSSIER_HEADER)
    for i, (code, as_number, *person) in enumerate(DOSSIER_ROWS, start=1):
        received = f"202406{i + 2:02d}0830{i:02d}"
        due = f"202406{i + 9:02d}170000"
        sheet.write_row(i, 0, [f"SO-YT-202406-{i:07d}"])
        if as_number:
            sheet.write_number(i, 1, float(code), book.add_format({"num_format": "0.000000"}))
        else:
            sheet.write_string(i, 1, code)
        sheet.write_row(i, 2, ["SO-YT", 2, 3, received, due, "", "", 4, 0, 0, 1, 1, *person])
    book.close()
    return path


if __name__ == "__main__":
    for made in (
        infrastructure_with_title_and_merged_header(),
        capacity_with_formulas(),
        services_on_two_sheets(),
        *infrastructure_after_instructions(),
        dossiers_with_numeric_codes(),
    ):
        print(made.relative_to(HERE))
