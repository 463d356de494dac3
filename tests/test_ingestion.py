"""Ingestion: raw files of every format → typed staging, and every contract violation quarantined."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import AGENCY_HEADER, DOSSIER_HEADER, dossier, to_cp1258, write_csv

from assets.ingestion.load import ingest
from assets.ingestion.readers import FileRejected, detect_encoding
from pipelines.core.registry.sources import ColumnContract, load_sources
from pipelines.core.staging import staging_ddl
from pipelines.core.warehouse import connect

CONTRACTS = load_sources()
SERVICES_HEADER = ["year", "agency_code", "procedure_code", "procedure_name", "level", "has_fee"]
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


def load(con: duckdb.DuckDBPyConnection, data_dir: Path, source: str, year: int | None = 2024, **kw):
    return ingest(con, CONTRACTS[source], data_dir / "raw", year, **kw)


def quarantined(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple]:
    return con.execute(
        "SELECT file, line, rule, reason FROM quarantine WHERE source = ? ORDER BY file, line", [source]
    ).fetchall()


def test_agency_registry_types_dates_in_both_formats(con):
    rows = con.execute(
        "SELECT agency_code, agency_group, parent_code, valid_from, valid_to, successor_code "
        "FROM stg_agencies ORDER BY agency_code"
    ).fetchall()
    assert len(rows) == 7
    by_code = {r[0]: r for r in rows}
    assert by_code["SO-KH"][3:] == (date(2016, 1, 1), date(2025, 2, 28), "SO-TC")
    assert by_code["SO-TC"][3] is None
    assert by_code["X001"][2] == "H01"


def test_dossiers_csv_and_parquet_load_typed_without_personal_data(con, data_dir):
    raw = data_dir / "raw" / "dossiers" / "2024"
    write_csv(
        raw / "01" / "hoso_01.csv",
        DOSSIER_HEADER,
        [
            dossier("HS1", fee="50.000", paid=1),
            dossier("HS2", channel="", level="", status=4, finished="", returned=""),
        ],
    )
    frame = pl.DataFrame(
        [
            dict(
                zip(
                    DOSSIER_HEADER,
                    map(
                        str,
                        dossier(
                            "HS3",
                            "SO-YT",
                            received="20240210093000",
                            due="20240215170000",
                            finished="20240216100000",
                            returned="",
                        ),
                    ),
                    strict=True,
                )
            )
        ]
    )
    (raw / "02").mkdir()
    frame.write_parquet(raw / "02" / "hoso_02.parquet")
    report = load(con, data_dir, "dossiers")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (3, 3, 0)
    rows = con.execute(
        "SELECT MaHoSo, DonViXuLy, KenhThucHien, MucDo, NgayTiepNhan, NgayKetThucXuLy, TrangThaiHoSo, "
        "LePhi, DuocThanhToanTrucTuyen, source_file, source_line FROM stg_dossiers ORDER BY MaHoSo"
    ).fetchall()
    assert rows[0] == (
        "HS1",
        "SO-TP",
        2,
        3,
        datetime(2024, 1, 5, 8),
        datetime(2024, 1, 9, 8),
        10,
        50000,
        1,
        "dossiers/2024/01/hoso_01.csv",
        2,
    )
    assert rows[1][2:4] == (1, None)  # empty channel means in person; empty level falls back to the catalogue
    assert rows[1][5] is None
    assert rows[2][:2] == ("HS3", "SO-YT") and rows[2][9:] == ("dossiers/2024/02/hoso_02.parquet", 1)
    columns = {c for (c,) in con.execute("SELECT column_name FROM information_schema.columns").fetchall()}
    assert not columns & {"ChuHoSo", "SoGiayTo", "SoDienThoai", "Email"}
    assert (
        con.execute("SELECT count(*) FROM quarantine WHERE raw LIKE '%Nguyễn%' OR raw LIKE '%0912345678%'").fetchall()[
            0
        ][0]
        == 0
    )


@pytest.mark.parametrize("scratch", ["memory", "file"])
def test_every_dossier_violation_is_quarantined_with_file_line_and_reason(con, data_dir, monkeypatch, scratch):
    """The same outcome whether the parsed rows are held in memory or, as for files bigger than half the memory
    limit, in a scratch database file (removed after the load)."""
    import assets.ingestion.load as loader

    locations: list[str] = []

    def recorded(*args: object) -> str:
        locations.append(where := choose(*args))
        return where

    choose = loader._scratch_location
    monkeypatch.setattr(loader, "SCRATCH_FILE_RATIO", 0 if scratch == "file" else loader.SCRATCH_FILE_RATIO)
    monkeypatch.setattr(loader, "_scratch_location", recorded)
    raw = data_dir / "raw" / "dossiers" / "2024"
    write_csv(
        raw / "01" / "a.csv",
        DOSSIER_HEADER,
        [
            dossier("OK1"),
            dossier("BAD-DATE", received="20240231080000"),  # 31/02 does not exist
            dossier("BAD-DUE", due="20240101080000"),  # due before received
            dossier("BAD-AGENCY", "SO-XX"),
            dossier("DUP"),
            dossier("BAD-STATUS", status=11),
            dossier("BAD-FEE", fee=-5),
            dossier("BAD-NUM", fee="năm mươi"),
            dossier("OLD", received="20231231235959", due="20240105080000"),
            dossier(
                "",
            ),
        ],
    )
    write_csv(raw / "02" / "b.csv", DOSSIER_HEADER, [dossier("DUP", received="20240201080000")])
    (raw / "02" / "b.csv").open("a").write("TRUNCATED,P1,SO-TP,2,3,2024020")  # a cut-off last line
    report = load(con, data_dir, "dossiers")
    got = quarantined(con, "dossiers")
    assert [(f.split("/")[-1], line, rule) for f, line, rule, _ in got] == [
        ("a.csv", 3, "invalid"),
        ("a.csv", 4, "rule"),
        ("a.csv", 5, "unknown_agency"),
        ("a.csv", 7, "not_allowed"),
        ("a.csv", 8, "negative"),
        ("a.csv", 9, "invalid"),
        ("a.csv", 10, "wrong_year"),
        ("a.csv", 11, "empty"),
        ("b.csv", 2, "duplicate"),
        ("b.csv", 3, "unreadable_record"),
    ]
    reasons = [r for *_, r in got]
    assert reasons[0] == "NgayTiepNhan: '20240231080000' is not a valid date-time (yyyyMMddHHmmss)"
    assert reasons[1] == "NgayHenTra (due) is before NgayTiepNhan (received)"
    assert reasons[2] == "unknown agency SO-XX (not in the agency registry)"
    assert reasons[5] == "LePhi: 'năm mươi' is not a valid whole number"
    assert reasons[8] == "duplicate MaHoSo DUP: the first one is kept (dossiers/2024/01/a.csv:6)"
    assert reasons[9].startswith("unreadable record (missing columns): 6 fields where the header has 18")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (12, 2, 10)
    assert sorted(r[0] for r in con.execute("SELECT MaHoSo FROM stg_dossiers").fetchall()) == ["DUP", "OK1"]
    [where] = locations
    assert (where == ":memory:") == (scratch == "memory")
    assert scratch == "memory" or (where.endswith(".tmp/egov_scratch.duckdb") and not Path(where).exists())
    attached = con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = 'egov_scratch'").fetchone()
    assert attached == (0,)


def test_counts_reconcile_per_file_and_with_the_tables(con, data_dir):
    raw = data_dir / "raw" / "dossiers" / "2024" / "03"
    write_csv(raw / "c.csv", DOSSIER_HEADER, [dossier(f"R{i}") for i in range(50)] + [dossier("R1"), dossier("X", "?")])
    load(con, data_dir, "dossiers")
    files = con.execute(
        "SELECT rows_read, rows_loaded, rows_quarantined FROM ingested_files WHERE source = 'dossiers'"
    ).fetchall()
    assert files == [(52, 50, 2)]
    staged = con.execute("SELECT count(*) FROM stg_dossiers").fetchall()[0][0]
    held = con.execute("SELECT count(*) FROM quarantine WHERE source = 'dossiers'").fetchall()[0][0]
    assert (staged, held) == (50, 2)


def test_services_levels_bom_decree42_labels_and_xlsx_with_title_rows(con, data_dir):
    raw = data_dir / "raw" / "services" / "2024"
    write_csv(
        raw / "catalogue.csv",
        SERVICES_HEADER,
        [
            [2024, "SO-TP", "P1", "Đăng ký khai sinh", "một phần", 0],
            [2024, "SO-TP", "P2", "Cấp phiếu lý lịch tư pháp", "Toàn trình", 1],
            [2024, "SO-TP", "P3", "Chứng thực bản sao", "2", 1],
            [2024, "SO-TP", "P4", "Thủ tục giấy", "", 0],
            [2024, "SO-TP", "P5", "Mức lạ", "mức cao", 0],
        ],
        encoding="utf-8-sig",
    )
    import xlsxwriter

    book = xlsxwriter.Workbook(str(raw / "catalogue_yte.xlsx"))
    sheet = book.add_worksheet()
    sheet.merge_range(0, 0, 0, 5, "DANH MỤC THỦ TỤC HÀNH CHÍNH NĂM 2024")
    sheet.write_row(1, 0, SERVICES_HEADER)
    sheet.write_row(2, 0, [2024, "SO-YT", "Y1", "Cấp chứng chỉ hành nghề", 4, 1])
    sheet.write_row(3, 0, [2024, "SO-YT", "Y2", "Cấp giấy phép", 3])
    sheet.write_formula(3, 5, "=1*1", None, 1)
    book.close()
    report = load(con, data_dir, "services")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (7, 6, 1)
    levels = dict(con.execute("SELECT procedure_code, level FROM stg_services").fetchall())
    assert levels == {"P1": 3, "P2": 4, "P3": 2, "P4": None, "Y1": 4, "Y2": 3}
    assert con.execute("SELECT has_fee FROM stg_services WHERE procedure_code = 'Y2'").fetchall() == [(1,)]
    assert quarantined(con, "services") == [
        (
            "services/2024/catalogue.csv",
            6,
            "invalid",
            "level: 'mức cao' is not a valid service level (1-4, một phần, toàn trình)",
        )
    ]
    label = con.execute("SELECT level_label FROM stg_services WHERE procedure_code = 'P2'").fetchall()[0][0]
    assert label == "Toàn trình"


def test_returns_decimal_comma_semicolon_and_year_mismatch(con, data_dir):
    raw = data_dir / "raw"
    write_csv(
        raw / "infrastructure" / "2024" / "ht.csv",
        INFRA_HEADER,
        [
            [2024, "SO-TP", 40, 38, 38, 1, "89,5", 1, 1, 0, 1, 1, 1],
            [2024, "SO-YT", "1.250", 900, 880, 1, "1.024,75", 1, 1, 1, 0, 1, 1],
            [2023, "X001", 20, 9, 9, 0, 10, 0, 1, 0, 0, 0, 0],
            [2024, "X002", 20, -1, 0, 0, 10, 0, 1, 0, 0, 0, 0],
        ],
        delimiter=";",
    )
    report = load(con, data_dir, "infrastructure")
    assert (report.rows_loaded, report.rows_quarantined) == (2, 2)
    rows = con.execute("SELECT agency_code, staff_count, bandwidth_mbps FROM stg_infrastructure ORDER BY 1").fetchall()
    assert rows == [("SO-TP", 40, 89.5), ("SO-YT", 1250, 1024.75)]
    assert [r[2:] for r in quarantined(con, "infrastructure")] == [
        ("wrong_year", "year 2023 is not the year of its folder (2024)"),
        ("negative", "computers is negative (-1); computers_internet is greater than computers"),
    ]


def test_missing_column_and_empty_file_are_rejected_with_the_file_named(con, data_dir):
    raw = data_dir / "raw" / "capacity" / "2024"
    write_csv(raw / "thieu_cot.csv", CAPACITY_HEADER[:-1], [[2024, "SO-TP", 1, 1, 1, 1, 1, 1, 1, 1, 1]])
    (raw / "rong.csv").write_bytes(b"")
    report = load(con, data_dir, "capacity")
    messages = {f.file: f.message for f in report.rejected_files}
    assert messages["capacity/2024/thieu_cot.csv"].startswith(
        "file rejected: the file misses the required column(s) it_budget_vnd"
    )
    assert messages["capacity/2024/rong.csv"] == "file rejected: the file is empty (0 bytes)"
    assert [(f, line, rule) for f, line, rule, _ in quarantined(con, "capacity")] == [
        ("capacity/2024/rong.csv", 0, "file_rejected"),
        ("capacity/2024/thieu_cot.csv", 0, "file_rejected"),
    ]


def test_windows_1258_export_is_decoded_exactly(con, data_dir):
    path = data_dir / "raw" / "services" / "2024" / "cp1258.csv"
    path.parent.mkdir(parents=True)
    names = [
        "Đăng ký kết hôn có yếu tố nước ngoài",
        "Cấp giấy chứng nhận quyền sử dụng đất",
        "Thủ tục hòa giải ở cơ sở",
    ]
    lines = [",".join(SERVICES_HEADER)] + [f"2024,SO-TP,K{i},{n},3,0" for i, n in enumerate(names)]
    path.write_bytes(to_cp1258("\r\n".join(lines) + "\r\n"))
    assert detect_encoding(path) == "windows-1258"
    load(con, data_dir, "services")
    got = [n for (n,) in con.execute("SELECT procedure_name FROM stg_services ORDER BY procedure_code").fetchall()]
    assert got == names
    assert con.execute("SELECT encoding FROM ingested_files WHERE source = 'services'").fetchall() == [
        ("windows-1258",)
    ]


def test_windows_1252_is_read_when_unambiguous_and_rejected_when_not(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_bytes("name\nCà phê Sài Gòn\n".encode("cp1252"))  # same text in 1252 and 1258
    assert detect_encoding(plain) == "windows-1252"
    western = tmp_path / "western.csv"
    western.write_bytes("name\nStraße Zürich Ærø\n".encode("cp1252"))
    with pytest.raises(FileRejected, match="neither UTF-8 nor a recognisable"):
        detect_encoding(western)


def test_rerun_of_a_partition_gives_identical_tables_and_skips_unchanged_files(con, data_dir):
    raw = data_dir / "raw" / "dossiers" / "2024"
    write_csv(raw / "01" / "a.csv", DOSSIER_HEADER, [dossier(f"A{i}") for i in range(20)] + [dossier("A1")])
    write_csv(
        raw / "02" / "b.csv",
        DOSSIER_HEADER,
        [dossier(f"B{i}", received="20240203080000", due="20240210080000") for i in range(5)],
    )

    def snapshot():
        return (
            con.execute("SELECT * FROM stg_dossiers ORDER BY MaHoSo").fetchall(),
            con.execute("SELECT * FROM quarantine ORDER BY file, line").fetchall(),
        )

    load(con, data_dir, "dossiers")
    first = snapshot()
    again = load(con, data_dir, "dossiers")
    assert again.skipped_unchanged == 2 and again.files == []
    assert snapshot() == first
    load(con, data_dir, "dossiers", full_refresh=True)
    assert snapshot() == first
    # One new file: only it is read; the earlier duplicate key now also counts against staged rows.
    write_csv(
        raw / "03" / "c.csv",
        DOSSIER_HEADER,
        [
            dossier("C1", received="20240303080000", due="20240310080000"),
            dossier("B1", received="20240303080000", due="20240310080000"),
        ],
    )
    night = load(con, data_dir, "dossiers")
    assert [f.file for f in night.files] == ["dossiers/2024/03/c.csv"] and night.skipped_unchanged == 2
    assert con.execute("SELECT count(*) FROM stg_dossiers").fetchall()[0][0] == 26
    assert con.execute("SELECT reason FROM quarantine WHERE file LIKE '%c.csv'").fetchall() == [
        ("duplicate MaHoSo B1: the first one is kept (dossiers/2024/02/b.csv:3)",)
    ]


def test_registry_xlsx_with_extra_columns(data_dir):
    import xlsxwriter

    path = data_dir / "raw" / "agencies" / "registry.xlsx"
    path.parent.mkdir(parents=True)
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, AGENCY_HEADER + ["ghi_chu"])
    sheet.write_row(1, 0, ["SO-TP", "Sở Tư pháp", "Department", "", "2016-01-01", "", "", "x"])
    book.close()
    con = connect(":memory:")
    report = ingest(con, CONTRACTS["agencies"], data_dir / "raw", None)
    assert report.rows_loaded == 1
    assert report.files[0].message == "ignored extra column(s): ghi_chu"
    assert con.execute("SELECT agency_group FROM stg_agencies").fetchall() == [("department",)]


def test_huge_field_header_only_crlf_unknown_procedure_and_unsupported_files(con, data_dir):
    raw = data_dir / "raw" / "dossiers" / "2024"
    huge = dossier("HUGE")
    huge[14] = "x" * 1_500_000  # a 1.5 MB applicant name: over the 1 MB line limit
    write_csv(raw / "01" / "huge.csv", DOSSIER_HEADER, [dossier("H1"), huge, dossier("H2")])
    write_csv(raw / "02" / "header_only.csv", DOSSIER_HEADER, [])
    crlf = raw / "03" / "crlf.csv"
    crlf.parent.mkdir(parents=True)
    lines = [
        ",".join(DOSSIER_HEADER),
        ",".join(map(str, dossier("C1", procedure="NOT-IN-CATALOGUE", received="20240305080000"))),
    ]
    crlf.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    (raw / "04").mkdir()
    (raw / "04" / "old_export.xls").write_bytes(b"\xd0\xcf\x11\xe0 not a csv")
    report = load(con, data_dir, "dossiers")
    files = {f.file.split("/")[-1]: (f.status, f.rows_read, f.rows_loaded, f.rows_quarantined) for f in report.files}
    assert files["huge.csv"] == ("loaded", 3, 2, 1)
    assert files["header_only.csv"] == ("loaded", 0, 0, 0)
    assert files["crlf.csv"] == ("loaded", 1, 1, 0)  # an unknown procedure is loaded (a quality warning later)
    assert files["old_export.xls"][0] == "rejected"
    assert "unsupported extension '.xls'" in report.rejected_files[0].message
    huge_row = con.execute("SELECT line, rule, raw FROM quarantine WHERE file LIKE '%huge.csv'").fetchall()
    assert [(line, rule) for line, rule, _ in huge_row] == [(3, "unreadable_record")]
    assert "xxxx" not in (huge_row[0][2] or "")  # the oversized personal field is not kept
    assert con.execute("SELECT MaTTHC FROM stg_dossiers WHERE MaHoSo = 'C1'").fetchall() == [("NOT-IN-CATALOGUE",)]


def test_parquet_with_typed_columns_is_read_like_text(con, data_dir):
    import datetime as dt

    path = data_dir / "raw" / "dossiers" / "2024" / "05" / "typed.parquet"
    path.parent.mkdir(parents=True)
    pl.DataFrame(
        {
            "MaHoSo": ["P1", "P2"],
            "MaTTHC": ["X", "X"],
            "DonViXuLy": ["SO-TP", "SO-TP"],
            "KenhThucHien": [2, None],
            "MucDo": [4, 3],
            "NgayTiepNhan": [20240501080000, 20240502080000],  # yyyyMMddHHmmss as integers
            "NgayHenTra": [dt.datetime(2024, 5, 6, 17), dt.datetime(2024, 5, 7, 17)],  # real timestamps
            "NgayKetThucXuLy": [None, None],
            "NgayTra": [None, None],
            "TrangThaiHoSo": [4, 4],
            "LePhi": [50000, 0],
            "DuocThanhToanTrucTuyen": [1, 0],
            "HoSoCoThanhPhanSoHoa": [1, 0],
            "LoaiDoiTuong": [1, 2],
        }
    ).write_parquet(path)
    report = load(con, data_dir, "dossiers")
    assert (report.rows_read, report.rows_loaded) == (2, 2)
    rows = con.execute(
        "SELECT MaHoSo, KenhThucHien, NgayTiepNhan, NgayHenTra, source_line FROM stg_dossiers ORDER BY MaHoSo"
    ).fetchall()
    assert rows == [
        ("P1", 2, datetime(2024, 5, 1, 8), datetime(2024, 5, 6, 17), 1),
        ("P2", 1, datetime(2024, 5, 2, 8), datetime(2024, 5, 7, 17), 2),
    ]


# Typed Parquet values the contract reads exactly (taken typed) and values only its text parser decides (a 19-digit
# number, a fraction of a second, a year before 1000): the rows below, by MaHoSo, with the rule each must get.
TYPED_PARQUET_ROWS = """
SELECT * FROM (VALUES
  ('T01', 'SO-TP', 2, 3, TIMESTAMP '2024-05-01 08:00:00', TIMESTAMP '2024-05-06 17:00:00', 10, 50000, 1, NULL),
  ('T02', 'SO-TP', NULL, 3, TIMESTAMP '2024-05-01 08:00:00', NULL, 4, 0, 0, 2),
  ('T03', 'SO-TP', 2, 3, TIMESTAMP '2024-05-01 08:00:00', NULL, 4, 9223372036854775807, 1, NULL),
  ('T04', 'SO-TP', 2, 3, TIMESTAMP '2024-05-01 08:00:00', NULL, 4, -5, 1, NULL),
  ('T05', 'SO-TP', 2, 3, TIMESTAMP '2024-05-01 08:00:00', NULL, 11, 0, 1, NULL),
  ('T06', 'SO-TP', 2, 3, TIMESTAMP '2024-05-01 08:00:00', TIMESTAMP '2024-05-06 17:00:00.5', 4, 0, 1, NULL),
  ('T07', 'SO-TP', 2, 3, TIMESTAMP '2023-12-31 23:00:00', NULL, 4, 0, 1, NULL),
  ('T08', 'SO-TP', 2, 3, TIMESTAMP '2024-05-01 08:00:00', TIMESTAMP '2024-04-30 08:00:00', 4, 0, 1, NULL),
  ('T09', 'SO-TP', 2, 3, TIMESTAMP '2024-05-01 08:00:00', TIMESTAMP '0999-05-06 17:00:00', 4, 0, 1, NULL),
  ('T01', 'SO-TP', 2, 3, TIMESTAMP '2024-05-02 08:00:00', NULL, 4, 0, 1, NULL),
  ('T10', 'SO-TP', 2, 3, TIMESTAMP '2024-05-01 08:00:00', NULL, 4, 999999999999999999, 1, 0),
  ('T11', 'SO-XX', 2, 3, TIMESTAMP '2024-05-01 08:00:00', NULL, 4, 0, 1, NULL),
  ('T12', 'SO-TP', 2, 0, TIMESTAMP '2024-05-01 08:00:00', NULL, 4, 0, 1, NULL),
  ('T13', 'SO-TP', 2, 3, NULL, NULL, 4, 0, 1, NULL),
  ('T14', 'SO-TP', 2, 3, TIMESTAMP '2024-05-01 08:00:00', NULL, 4, -999999999999999999, 1, NULL),
  ('T15', 'SO-TP', 2, 3, TIMESTAMP '2024-05-01 08:00:00', NULL, 4, 0, 7, NULL)
) AS t(MaHoSo, DonViXuLy, KenhThucHien, MucDo, NgayTiepNhan, NgayHenTra, TrangThaiHoSo, LePhi,
       HoSoCoThanhPhanSoHoa, SoLanBoSung)
"""
TYPED_PARQUET_RULES = {  # independent of the loader: what the contract (config/sources.yaml) says of each row
    "T03": "invalid",
    "T04": "negative",
    "T05": "not_allowed",
    "T06": "invalid",
    "T07": "wrong_year",
    "T08": "rule",
    "T01": "duplicate",
    "T11": "unknown_agency",
    "T12": "not_allowed",
    "T13": "empty",
    "T14": "negative",
    "T15": "not_allowed",
}


def test_typed_parquet_values_load_exactly_as_their_text_would(con, data_dir):
    """Integers and timestamps taken typed from Parquet give the same staged rows, reasons and raw text as the same
    values written as text, which take the text parser (the reference)."""
    from assets.ingestion.readers import open_raw_file

    path = data_dir / "raw" / "dossiers" / "2024" / "05" / "typed.parquet"
    path.parent.mkdir(parents=True)
    typed = (
        f"SELECT MaHoSo, 'X' AS MaTTHC, * EXCLUDE (MaHoSo), NULL::TIMESTAMP AS NgayKetThucXuLy, "
        f"NULL::TIMESTAMP AS NgayTra, 0 AS DuocThanhToanTrucTuyen, SMALLINT '1' AS LoaiDoiTuong "
        f"FROM ({TYPED_PARQUET_ROWS})"
    )
    as_text = (
        "SELECT "
        + ", ".join(
            f"CAST({c} AS VARCHAR) AS {c}"
            for c in [
                "MaHoSo",
                "MaTTHC",
                "DonViXuLy",
                "KenhThucHien",
                "MucDo",
                "NgayTiepNhan",
                "NgayHenTra",
                "TrangThaiHoSo",
                "LePhi",
                "HoSoCoThanhPhanSoHoa",
                "SoLanBoSung",
                "NgayKetThucXuLy",
                "NgayTra",
                "DuocThanhToanTrucTuyen",
                "LoaiDoiTuong",
            ]
        )
        + f" FROM ({typed})"
    )
    results = {}
    for name, select in (("typed", typed), ("text", as_text)):
        con.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
        native = open_raw_file(con, path, CONTRACTS["dossiers"], data_dir).native
        report = load(con, data_dir, "dossiers", full_refresh=True)
        results[name] = (
            sorted(native),
            (report.rows_read, report.rows_loaded, report.rows_quarantined),
            con.execute("SELECT * EXCLUDE (source_file) FROM stg_dossiers ORDER BY source_line").fetchall(),
            con.execute(
                "SELECT line, rule, reason, agency_code, raw FROM quarantine WHERE source = 'dossiers' ORDER BY line"
            ).fetchall(),
        )
    assert results["typed"][0] == [
        "DuocThanhToanTrucTuyen",
        "HoSoCoThanhPhanSoHoa",
        "KenhThucHien",
        "LePhi",
        "LoaiDoiTuong",
        "MucDo",
        "NgayHenTra",
        "NgayKetThucXuLy",
        "NgayTiepNhan",
        "NgayTra",
        "SoLanBoSung",
        "TrangThaiHoSo",
    ]
    assert results["text"][0] == []
    assert results["typed"][1:] == results["text"][1:]
    counts, staged, held = results["typed"][1:]
    assert counts == (16, 3, 13)
    assert [row[1] for row in staged] == ["T01", "T02", "T10"]
    assert [row[11] for row in staged] == [50000, 0, 999999999999999999]  # LePhi, 18 digits taken as they are
    lines = {line: rule for line, rule, *_ in held}
    # A Parquet row's line is its row number.
    by_code = dict(con.execute(f"SELECT MaHoSo, row_number() OVER () FROM ({TYPED_PARQUET_ROWS})").fetchall())
    assert {
        code: lines.get(line) for code, line in by_code.items() if code in TYPED_PARQUET_RULES
    } == TYPED_PARQUET_RULES
    assert "LePhi: '9223372036854775807' is not a valid whole number" in held[0][2]
    assert "NgayHenTra: '2024-05-06 17:00:00.5' is not a valid date-time" in held[3][2]
    assert staged[1][4] == 1  # T02's KenhThucHien is empty: the contract's default


# --- numbers as statistics packages and spreadsheets write them (issue 24, round 3, item 4) ----------------------

ASSESSMENT_HEADER = ["year", "agency_code", "indicator_code", "value"]


def assessed(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], float]:
    return {
        (a, i): v
        for a, i, v in con.execute("SELECT agency_code, indicator_code, value FROM stg_assessments").fetchall()
    }


def test_scientific_notation_and_a_leading_separator_are_numbers_and_inf_nan_overflow_are_not(con, data_dir):
    """R, Python and Excel write small values as 9.207108589519956e-06; Stata as .5. Each is its exact value; inf,
    NaN and values beyond a DOUBLE (1e999, 1e-400 that would become 0) are quarantined, never loaded as inf or 0."""
    write_csv(
        data_dir / "raw" / "assessments" / "2024" / "r_export.csv",
        ASSESSMENT_HEADER,
        [
            [2024, "SO-TP", "portal_score", "9.207108589519956e-06"],
            [2024, "SO-TP", "service_satisfaction", "1E0"],
            [2024, "SO-TP", "computers_per_staff", "1e+01"],  # thresholds.yaml: [0, 10]
            [2024, "SO-YT", "portal_score", ".5"],
            [2024, "SO-YT", "service_satisfaction", "7,5E-01"],  # Excel's scientific format, decimal comma
            [2024, "SO-YT", "computers_per_staff", "-1.5e+2"],  # read as -150: out of range, not unreadable
            [2024, "SO-KH", "portal_score", "inf"],
            [2024, "SO-KH", "service_satisfaction", "NaN"],
            [2024, "SO-KH", "computers_per_staff", "1e999"],
            [2024, "SO-TC", "portal_score", "1e-400"],
            [2024, "SO-TC", "service_satisfaction", "0e-5"],  # a real zero
            [2024, "SO-TC", "computers_per_staff", "5."],  # no tool writes it: a cut value?
        ],
    )
    report = load(con, data_dir, "assessments")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (12, 6, 6)
    assert assessed(con) == {
        ("SO-TP", "portal_score"): 9.207108589519956e-06,
        ("SO-TP", "service_satisfaction"): 1.0,
        ("SO-TP", "computers_per_staff"): 10.0,
        ("SO-YT", "portal_score"): 0.5,
        ("SO-YT", "service_satisfaction"): 0.75,
        ("SO-TC", "service_satisfaction"): 0.0,
    }
    file = "assessments/2024/r_export.csv"
    assert quarantined(con, "assessments") == [
        (file, 7, "out_of_range", "value -1.5e+2 is outside [0, 10] for indicator computers_per_staff"),
        (file, 8, "invalid", "value: 'inf' is not a valid number"),
        (file, 9, "invalid", "value: 'NaN' is not a valid number"),
        (file, 10, "invalid", "value: '1e999' is not a valid number"),
        (file, 11, "invalid", "value: '1e-400' is not a valid number"),
        (file, 13, "invalid", "value: '5.' is not a valid number"),
    ]


def test_whole_numbers_in_scientific_notation_only_when_whole(con, data_dir):
    """1E3 is 1000 and 1.5e1 is 15 in a whole-number column; 1.5e0 is not whole; 1.000 stays a thousands group; a
    19-digit number quarantines its row instead of rejecting the whole file."""
    write_csv(
        data_dir / "raw" / "capacity" / "2024" / "nang_luc.csv",
        CAPACITY_HEADER,
        [
            [2024, "SO-TP", "1E3", "9.5e2", "1,5E+02", "1.000", "1.5e1", 2, 3, 1, 1, "1.2E+9"],
            [2024, "SO-YT", 10, 5, 5, 10, "1.5e0", 0, 3, 1, 1, 0],
            [2024, "SO-KH", 10, 5, 5, 10, 2, 0, 3, 1, 1, "1.000.000.000.000.000.000"],
            [2024, "SO-TC", "1500e-2", "1501e-2", 5, 10, 2, 0, 3, 1, 1, "-1E3"],
        ],
    )
    report = load(con, data_dir, "capacity")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (4, 1, 3)
    assert con.execute(
        "SELECT agency_code, docs_sent_total, docs_sent_electronic, docs_signed_digital, "
        "staff_with_email, it_staff, it_budget_vnd FROM stg_capacity"
    ).fetchall() == [("SO-TP", 1000, 950, 150, 1000, 15, 1_200_000_000)]
    file = "capacity/2024/nang_luc.csv"
    assert quarantined(con, "capacity") == [
        (file, 3, "invalid", "it_staff: '1.5e0' is not a valid whole number"),
        (file, 4, "invalid", "it_budget_vnd: '1.000.000.000.000.000.000' is not a valid whole number"),
        (
            file,
            5,
            "invalid",
            "docs_sent_electronic: '1501e-2' is not a valid whole number; it_budget_vnd is negative (-1E3)",
        ),
    ]


def test_number_cells_of_xlsx_and_doubles_of_parquet_load_with_their_exact_value(con, data_dir):
    """The XLSX reader's text of a number cell keeps 9 decimals (9.207108589519956e-06 became 0.000009207, 1.5e-10
    became 0); a Parquet DOUBLE's text is in scientific notation. Both load as the value the file holds."""
    import xlsxwriter

    raw = data_dir / "raw" / "assessments" / "2024"
    raw.mkdir(parents=True)
    book = xlsxwriter.Workbook(str(raw / "cham_diem.xlsx"))
    sheet = book.add_worksheet("Data")
    sheet.write_row(0, 0, ASSESSMENT_HEADER)
    sheet.write_row(1, 0, [2024, "SO-TP", "portal_score", 9.207108589519956e-06])
    sheet.write_row(2, 0, [2024, "SO-TP", "service_satisfaction", 1.5e-10])
    sheet.write_row(3, 0, [2024, "SO-TP", "computers_per_staff", "9,2E-01"])  # a text cell
    sheet.write_row(4, 0, [2024, "SO-YT", "portal_score"])
    sheet.write_formula(4, 3, "=1/3", None, 1 / 3)  # its cached value
    sheet.write_row(5, 0, [2024, "SO-YT", "service_satisfaction", 0.5])
    sheet.write_row(6, 0, [2024, "SO-YT", "computers_per_staff", True])  # a flag is no number
    book.close()
    pl.DataFrame(
        {
            "year": [2024, 2024, 2024],
            "agency_code": ["SO-KH", "SO-KH", "SO-KH"],  # value: a DOUBLE column
            "indicator_code": ["portal_score", "service_satisfaction", "computers_per_staff"],
            "value": [9.207108589519956e-06, float("nan"), float("inf")],
        }
    ).write_parquet(raw / "cham_diem.parquet")
    report = load(con, data_dir, "assessments")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (9, 6, 3)
    assert assessed(con) == {
        ("SO-TP", "portal_score"): 9.207108589519956e-06,
        ("SO-TP", "service_satisfaction"): 1.5e-10,
        ("SO-TP", "computers_per_staff"): 0.92,
        ("SO-YT", "portal_score"): 1 / 3,
        ("SO-YT", "service_satisfaction"): 0.5,
        ("SO-KH", "portal_score"): 9.207108589519956e-06,
    }
    assert [r[1:] for r in quarantined(con, "assessments")] == [
        (2, "invalid", "value: 'nan' is not a valid number"),
        (3, "invalid", "value: 'inf' is not a valid number"),
        (7, "invalid", "value: 'true' is not a valid number"),
    ]


# --- the staging tables, generated from the contracts --------------------------------------------------------


def described(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str, str]]:
    """(column, type, nullable) of a table, in order."""
    return [(name, kind, null) for name, kind, null, *_ in con.execute(f"DESCRIBE {table}").fetchall()]


def test_staging_tables_are_typed_by_their_contracts():
    """Written by hand from config/sources.yaml: codes (`allowed`) and the year are INTEGER, counts and amounts
    BIGINT, flags and levels INTEGER; required columns, and a code with a default, NOT NULL; the level's label right
    after it; personal columns absent; source_file and source_line last."""
    con = connect(":memory:")
    assert described(con, "stg_services") == [
        ("year", "INTEGER", "NO"),
        ("agency_code", "VARCHAR", "NO"),
        ("procedure_code", "VARCHAR", "NO"),
        ("procedure_name", "VARCHAR", "YES"),
        ("level", "INTEGER", "YES"),
        ("level_label", "VARCHAR", "YES"),
        ("has_fee", "INTEGER", "YES"),
        ("published_on", "DATE", "YES"),
        ("synced_national", "INTEGER", "YES"),
        ("source_file", "VARCHAR", "YES"),
        ("source_line", "BIGINT", "YES"),
    ]
    assert described(con, "stg_agencies")[:3] == [
        ("agency_code", "VARCHAR", "NO"),
        ("agency_name", "VARCHAR", "NO"),
        ("agency_group", "VARCHAR", "NO"),
    ]
    assert described(con, "stg_assessments") == [
        ("year", "INTEGER", "NO"),
        ("agency_code", "VARCHAR", "NO"),
        ("indicator_code", "VARCHAR", "NO"),
        ("value", "DOUBLE", "NO"),
        ("source_file", "VARCHAR", "YES"),
        ("source_line", "BIGINT", "YES"),
    ]
    one_stop = {name: (kind, null) for name, kind, null in described(con, "stg_one_stop")}
    assert (one_stop["month"], one_stop["uses_software"], one_stop["dossiers_total"]) == (
        ("INTEGER", "NO"),
        ("INTEGER", "YES"),
        ("BIGINT", "YES"),
    )
    assert {name: kind for name, kind, _ in described(con, "stg_infrastructure")}["bandwidth_mbps"] == "DOUBLE"
    dossiers = {name: (kind, null) for name, kind, null in described(con, "stg_dossiers")}
    assert dossiers["year"] == ("INTEGER", "NO")  # from NgayTiepNhan: not a column of the files
    assert dossiers["KenhThucHien"] == ("INTEGER", "NO")  # empty reads as 1
    assert dossiers["MucDo"] == dossiers["CoKetQuaDienTu"] == ("INTEGER", "YES")
    assert dossiers["TrangThaiHoSo"] == ("INTEGER", "NO")
    assert dossiers["LePhi"] == dossiers["SoLanBoSung"] == ("BIGINT", "YES")
    assert dossiers["NgayTiepNhan"] == ("TIMESTAMP", "NO") and dossiers["NgayCongDanBoSung"] == ("TIMESTAMP", "YES")
    assert not {"ChuHoSo", "SoGiayTo", "SoDienThoai", "Email"} & set(dossiers)
    assert list(dossiers)[-2:] == ["source_file", "source_line"]


def test_a_column_added_to_a_contract_reaches_an_existing_warehouse(data_dir, registry):
    """A warehouse made under a contract gets a column added to it later (its DDL adds every missing column), and
    the loader fills it; the rows of a file without it keep it empty."""
    path = data_dir / "warehouse" / "egov.duckdb"
    raw = data_dir / "raw" / "capacity" / "2024"
    write_csv(raw / "old.csv", CAPACITY_HEADER, [[2024, "SO-TP", 10, 8, 6, 5, 2, 1, 3, 1, 0, 1000]])
    con = connect(path)
    ingest(con, CONTRACTS["agencies"], data_dir / "raw", None)
    assert load(con, data_dir, "capacity").rows_loaded == 1
    con.close()

    extended = replace(
        CONTRACTS["capacity"],
        columns=(
            *CONTRACTS["capacity"].columns,
            ColumnContract(name="cloud_services", type="int", min=0, optional=True),
            ColumnContract(name="has_cloud_plan", type="flag", optional=True),
        ),
    )
    write_csv(
        raw / "new.csv",
        [*CAPACITY_HEADER, "cloud_services", "has_cloud_plan"],
        [[2024, "SO-YT", 20, 18, 12, 9, 3, 2, 6, 1, 1, 2000, 4, "có"]],
    )
    con = connect(path)
    con.execute(staging_ddl(extended))
    assert described(con, "stg_capacity")[-2:] == [
        ("cloud_services", "BIGINT", "YES"),
        ("has_cloud_plan", "INTEGER", "YES"),
    ]
    report = ingest(con, extended, data_dir / "raw", 2024)
    assert (report.rows_read, report.rows_loaded) == (2, 2)
    assert con.execute(
        "SELECT agency_code, it_budget_vnd, cloud_services, has_cloud_plan FROM stg_capacity ORDER BY agency_code"
    ).fetchall() == [("SO-TP", 1000, None, None), ("SO-YT", 2000, 4, 1)]
    con.execute(staging_ddl(extended))  # a second time changes nothing
    assert len(described(con, "stg_capacity")) == len(CAPACITY_HEADER) + 4
    con.close()


def test_a_warehouse_from_before_the_sync_columns_gets_them_and_loads_them(data_dir, registry):
    """A warehouse made before the dossier contract gained the national sync columns: its stg_dossiers (typed here
    as it then was) gains them on open, after source_line, and a file carrying them loads."""
    path = data_dir / "warehouse" / "egov.duckdb"
    path.parent.mkdir(parents=True)
    old = duckdb.connect(str(path))
    old.execute("""CREATE TABLE stg_dossiers (
        year INTEGER NOT NULL, MaHoSo VARCHAR NOT NULL, MaTTHC VARCHAR NOT NULL, DonViXuLy VARCHAR NOT NULL,
        KenhThucHien INTEGER NOT NULL, MucDo INTEGER, NgayTiepNhan TIMESTAMP NOT NULL, NgayHenTra TIMESTAMP,
        NgayKetThucXuLy TIMESTAMP, NgayTra TIMESTAMP, TrangThaiHoSo INTEGER NOT NULL, LePhi BIGINT,
        DuocThanhToanTrucTuyen INTEGER, HoSoCoThanhPhanSoHoa INTEGER, LoaiDoiTuong INTEGER,
        source_file VARCHAR, source_line BIGINT)""")
    old.close()
    con = connect(path)
    assert described(con, "stg_dossiers")[-10:] == [
        ("source_file", "VARCHAR", "YES"),
        ("source_line", "BIGINT", "YES"),
        ("NgayYeuCauBoSung", "TIMESTAMP", "YES"),
        ("NgayCongDanBoSung", "TIMESTAMP", "YES"),
        ("SoLanBoSung", "BIGINT", "YES"),
        ("CoKetQuaDienTu", "INTEGER", "YES"),
        ("DaSoHoaKetQua", "INTEGER", "YES"),
        ("DuocLayTuKhoDMQG", "INTEGER", "YES"),
        ("NgayDongBo", "TIMESTAMP", "YES"),
        ("NgayCapNhat", "TIMESTAMP", "YES"),
    ]
    ingest(con, CONTRACTS["agencies"], data_dir / "raw", None)
    sync = [
        "NgayYeuCauBoSung",
        "NgayCongDanBoSung",
        "SoLanBoSung",
        "CoKetQuaDienTu",
        "DaSoHoaKetQua",
        "DuocLayTuKhoDMQG",
    ]
    write_csv(
        data_dir / "raw" / "dossiers" / "2024" / "01" / "sync.csv",
        DOSSIER_HEADER + sync,
        [dossier("S1") + ["20240106080000", "20240107080000", 1, 1, 0, 1]],
    )
    assert load(con, data_dir, "dossiers").rows_loaded == 1
    assert con.execute(
        "SELECT MaHoSo, KenhThucHien, NgayCongDanBoSung, SoLanBoSung, DuocLayTuKhoDMQG, source_line FROM stg_dossiers"
    ).fetchall() == [("S1", 2, datetime(2024, 1, 7, 8), 1, 1, 2)]
    con.close()
