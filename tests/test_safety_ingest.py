"""The ingestion items of the data-safety issue, each reproduced through the real loaders or a real Dagster run.

Every expected number below is counted by hand from the rows the test writes; personal data is the dossier
fixture's applicant (conftest.dossier) and must appear in no table, Parquet file, log or console output.
"""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import subprocess
import sys
import unicodedata
import zipfile
from dataclasses import replace
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
import xlsxwriter
from conftest import AGENCY_HEADER, DOSSIER_HEADER, PROJECT, dossier, write_csv

from assets.ingestion.load import ingest
from pipelines.core.registry.sources import load_sources
from pipelines.core.warehouse import connect
from pipelines.defs.ingestion import ingestion_assets
from pipelines.defs.resources import build_resources

CONTRACTS = load_sources()
PERSONAL = ["Nguyễn Văn An", "001099012345", "0912345678", "an.nguyen@example.vn"]
SERVICES_HEADER = ["year", "agency_code", "procedure_code", "procedure_name", "level", "has_fee"]
ASSESSMENT_HEADER = ["year", "agency_code", "indicator_code", "value"]


def load(con: duckdb.DuckDBPyConnection, data_dir: Path, source: str, year: int | None = 2024):
    return ingest(con, CONTRACTS[source], data_dir / "raw", year)


def files(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, tuple]:
    """file → (status, rows read, loaded, quarantined, message) as ingested_files holds it."""
    rows = con.execute(
        "SELECT file, status, rows_read, rows_loaded, rows_quarantined, message FROM ingested_files "
        "WHERE source = ? ORDER BY file",
        [source],
    ).fetchall()
    return {f: tuple(rest) for f, *rest in rows}


def held(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple]:
    return con.execute(
        "SELECT file, line, rule, reason, raw FROM quarantine WHERE source = ? ORDER BY file, line", [source]
    ).fetchall()


def texts_of(con: duckdb.DuckDBPyConnection) -> str:
    """Every text value of every table of a database (to search it for personal data)."""
    out = []
    for schema, table in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal AND database_name = current_database()"
    ).fetchall():
        out += [r for (r,) in con.execute(f'SELECT CAST(t AS VARCHAR) FROM "{schema}"."{table}" AS t').fetchall()]
    return "\n".join(out)


def leaks(text: str | bytes) -> list[str]:
    """The personal values found in `text` (bytes: also their JSON-escaped form, as event logs store them)."""
    if isinstance(text, bytes):
        forms = {v: [v.encode(), json.dumps(v)[1:-1].encode()] for v in PERSONAL}
        return [v for v, encoded in forms.items() if any(e in text for e in encoded)]
    return [v for v in PERSONAL if v in text]


def headerless_lines(codes: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(dossier(c) for c in codes)
    return buffer.getvalue()


# --- 3 and 9: personal data, end to end -----------------------------------------------------------------------


@pytest.mark.slow
def test_headerless_and_shifted_dossier_files_and_a_0_100_score_in_a_real_run(data_dir, registry, capfd):
    """3a, 3b and 9 through `egov run`'s own pipeline: no personal value reaches any output, counts reconcile,
    and an inspector's 0-100 score is quarantined at ingestion and blocks the run by name (a quarantined assessment
    can move a rank: thresholds.yaml gives assessments a share of 0) until the inspectors correct it."""
    from pipelines.cli.runs import run_pipeline

    raw = data_dir / "raw"
    write_csv(raw / "dossiers" / "2024" / "01" / "good.csv", DOSSIER_HEADER, [dossier(f"G{i}") for i in range(6)])
    (raw / "dossiers" / "2024" / "01" / "no_header.csv").write_text(
        headerless_lines(["N1", "N2", "N3"]), encoding="utf-8"
    )
    shifted = [",".join(map(str, dossier(f"S{i}", received="20240205080000"))) for i in range(4)]
    shifted[2] = shifted[2].replace("Nguyễn Văn An", "Nguyễn Văn An, con ông Nguyễn Văn Bình")  # unquoted comma
    (raw / "dossiers" / "2024" / "02").mkdir(parents=True)
    (raw / "dossiers" / "2024" / "02" / "shifted.csv").write_text(
        ",".join(DOSSIER_HEADER) + "\n" + "\n".join(shifted) + "\n", encoding="utf-8"
    )
    write_csv(
        raw / "assessments" / "2024" / "cham_diem.csv",
        ASSESSMENT_HEADER,
        [
            [2024, "SO-TP", "security_assessed", 85],  # scored 0-100 by the inspectors
            [2024, "SO-YT", "security_assessed", 1],
        ],
    )

    assert not run_pipeline([2024], data_dir=data_dir)
    blocked = capfd.readouterr()
    assert (
        "assessments/2024/cham_diem.csv:2 (value 85 is outside [0, 1] for indicator security_assessed)" in blocked.out
    )
    assert not (data_dir / "marts" / "egov.duckdb").exists()

    warehouse = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    try:
        dossier_files = files(warehouse, "dossiers")
        rejected = dossier_files.pop("dossiers/2024/01/no_header.csv")
        assert rejected[:4] == ("rejected", 0, 0, 0) and "header" in rejected[4]
        assert dossier_files == {
            "dossiers/2024/01/good.csv": ("loaded", 6, 6, 0, None),
            "dossiers/2024/02/shifted.csv": ("loaded", 4, 3, 1, None),
        }
        ((file, line, rule, reason, raw_text),) = [r for r in held(warehouse, "dossiers") if r[1] > 0]
        assert (file, line, rule) == ("dossiers/2024/02/shifted.csv", 4, "unreadable_record")
        assert "19 fields where the header has 18 (1 more): record withheld, it may hold personal data" in reason
        assert raw_text is None or raw_text.startswith("[withheld")
        assert warehouse.execute("SELECT count(*) FROM stg_dossiers").fetchone()[0] == 6 + 3
        assert files(warehouse, "assessments") == {"assessments/2024/cham_diem.csv": ("loaded", 2, 1, 1, None)}
        assert [r[2:4] for r in held(warehouse, "assessments")] == [
            ("out_of_range", "value 85 is outside [0, 1] for indicator security_assessed")
        ]
        assert leaks(texts_of(warehouse)) == []
    finally:
        warehouse.close()
    write_csv(
        raw / "assessments" / "2024" / "cham_diem.csv",
        ASSESSMENT_HEADER,
        [
            [2024, "SO-TP", "security_assessed", 0.85],  # corrected by the inspectors
            [2024, "SO-YT", "security_assessed", 1],
        ],
    )
    assert run_pipeline([2024], data_dir=data_dir)

    marts = duckdb.connect(str(data_dir / "marts" / "egov.duckdb"), read_only=True)
    try:
        assert marts.execute("SELECT count(*) FROM ingested_files WHERE status = 'rejected'").fetchone()[0] == 1
        assert leaks(texts_of(marts)) == []
    finally:
        marts.close()
    parquet = sorted((data_dir / "marts").rglob("*.parquet"))
    assert "quarantine" in {p.stem for p in parquet}
    for path in parquet:
        values = duckdb.sql(f"SELECT CAST(t AS VARCHAR) FROM read_parquet('{path}') AS t").fetchall()
        assert leaks("\n".join(v for (v,) in values)) == [], path
    out, err = capfd.readouterr()
    assert leaks(blocked.out + blocked.err + out + err) == []
    dagster_home = Path(os.environ["DAGSTER_HOME"])  # the run's event log and compute logs
    logged = [p for p in dagster_home.rglob("*") if p.is_file()]
    assert logged and [(p.name, leaks(p.read_bytes())) for p in logged if leaks(p.read_bytes())] == []


def test_a_record_with_more_or_fewer_fields_than_the_header_is_withheld(con, data_dir):
    """3b at the loader: the mask by position cannot be trusted once fields shift, so nothing of it is kept."""
    lines = [",".join(map(str, dossier(f"W{i}"))) for i in range(5)]
    lines[1] = lines[1].replace("Nguyễn Văn An", "Nguyễn Văn An, Lê Thị Hoa, Trần Văn Cường")  # 2 more
    lines[3] = ",".join(lines[3].split(",")[:16])  # cut after SoGiayTo: 2 fewer
    path = data_dir / "raw" / "dossiers" / "2024" / "03" / "w.csv"
    path.parent.mkdir(parents=True)
    path.write_text(",".join(DOSSIER_HEADER) + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    report = load(con, data_dir, "dossiers")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (5, 3, 2)
    got = held(con, "dossiers")
    assert [(line, rule) for _, line, rule, _, _ in got] == [(3, "unreadable_record"), (5, "unreadable_record")]
    assert "20 fields where the header has 18 (2 more): record withheld" in got[0][3]
    assert "16 fields where the header has 18 (2 fewer): record withheld" in got[1][3]
    assert leaks(texts_of(con)) == []


def test_rejections_of_a_source_with_personal_data_quote_none_of_its_values(con, data_dir):
    """3a at the loader, also for a workbook and a legacy code page: messages name columns, never values."""
    raw = data_dir / "raw" / "dossiers" / "2024" / "04"
    raw.mkdir(parents=True)
    (raw / "no_header.csv").write_text(headerless_lines(["HS-NO-HEADER-1", "HS-NO-HEADER-2"]), encoding="utf-8")
    book = xlsxwriter.Workbook(str(raw / "no_header.xlsx"))
    book.add_worksheet("Hồ sơ").write_row(0, 0, dossier("HS-XLSX-1"))
    book.close()
    western = dossier("HS-CP1252")  # a Western-locale Excel: the applicant's 'Nguyễn Văn' became 'Nguy?n V?n'
    western[14] = "Nguy?n V?n Hoà"
    (raw / "cp1252.csv").write_bytes(
        (",".join(DOSSIER_HEADER) + "\n" + ",".join(map(str, western)) + "\n").encode("cp1252")
    )
    write_csv(
        raw / "old_software.csv", DOSSIER_HEADER[:12] + DOSSIER_HEADER[13:], [dossier("O1")[:12] + dossier("O1")[13:]]
    )
    load(con, data_dir, "dossiers")
    got = files(con, "dossiers")
    assert {f: s[0] for f, s in got.items()} == {
        f"dossiers/2024/04/{n}": "rejected"
        for n in ("cp1252.csv", "no_header.csv", "no_header.xlsx", "old_software.csv")
    }
    assert "has no header row" in got["dossiers/2024/04/no_header.csv"][4]
    assert "has no header row" in got["dossiers/2024/04/no_header.xlsx"][4]
    assert (
        "misses the required column(s) HoSoCoThanhPhanSoHoa (header has: MaHoSo, MaTTHC"
        in got["dossiers/2024/04/old_software.csv"][4]
    )
    messages = "\n".join(s[4] for s in got.values())
    assert leaks(messages) == [] and "Nguy?n" not in messages and "HS-" not in messages


# --- 5: one bad file rejects only itself ----------------------------------------------------------------------


@pytest.mark.slow
def test_an_oversized_header_and_an_undecodable_file_name_reject_only_their_file_in_a_dagster_run(data_dir, registry):
    raw = data_dir / "raw" / "dossiers" / "2024" / "03"
    write_csv(raw / "good.csv", DOSSIER_HEADER, [dossier(f"G{i}", received="20240304080000") for i in range(5)])
    write_csv(
        raw / "note_in_header.csv",
        DOSSIER_HEADER[:-1] + ["Email " + "ghi chú " * 20_000],
        [dossier("B1", received="20240304080000")],
    )
    # A Windows archive unzipped on Linux: 'Tháng' in Windows-1258 is not UTF-8 ('\udce1' once decoded).
    fd = os.open(os.fsencode(raw) + b"/HoSo_Th\xe1ng03.csv", os.O_WRONLY | os.O_CREAT)
    os.write(
        fd,
        (
            ",".join(DOSSIER_HEADER) + "\n" + ",".join(map(str, dossier("B2", received="20240304080000"))) + "\n"
        ).encode(),
    )
    os.close(fd)
    registry_asset, dossiers_asset = (
        next(a for a in ingestion_assets if a.key.path[-1] == name) for name in ("stg_agencies", "stg_dossiers")
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [registry_asset, dossiers_asset],
            partition_key="2024",
            instance=instance,
            resources=build_resources(data_dir),
            raise_on_error=False,
        )
    assert result.success
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    try:
        got = files(con, "dossiers")
        assert got["dossiers/2024/03/good.csv"] == ("loaded", 5, 5, 0, None)
        header = got["dossiers/2024/03/note_in_header.csv"]
        assert header[:4] == ("rejected", 0, 0, 0) and "field larger than field limit (131072)" in header[4]
        name = got["dossiers/2024/03/HoSo_Th\\xe1ng03.csv"]
        assert name[:4] == ("rejected", 0, 0, 0) and "not valid UTF-8" in name[4]
        assert len(got) == 3 and con.execute("SELECT count(*) FROM stg_dossiers").fetchone()[0] == 5
        assert sorted(f for (f,) in con.execute("SELECT file FROM quarantine WHERE line = 0").fetchall()) == [
            "dossiers/2024/03/HoSo_Th\\xe1ng03.csv",
            "dossiers/2024/03/note_in_header.csv",
        ]
    finally:
        con.close()


def test_a_control_character_in_a_file_name_is_escaped_and_the_file_rejected(con, data_dir):
    folder = data_dir / "raw" / "services" / "2024"
    write_csv(folder / "DanhMuc\u00a0SoTuPhap.csv", SERVICES_HEADER, [[2024, "SO-TP", "P1", "Thủ tục", 3, 0]])
    write_csv(folder / "DanhMuc\rSoYTe.csv", SERVICES_HEADER, [[2024, "SO-YT", "P1", "Thủ tục", 3, 0]])
    load(con, data_dir, "services")
    got = files(con, "services")
    assert got["services/2024/DanhMuc\u00a0SoTuPhap.csv"][:4] == ("loaded", 1, 1, 0)  # a no-break space is text
    assert got["services/2024/DanhMuc\\rSoYTe.csv"][:4] == ("rejected", 0, 0, 0)
    assert "control character in its name" in got["services/2024/DanhMuc\\rSoYTe.csv"][4]


def test_the_raw_files_sensor_survives_an_undecodable_file_name(data_dir, registry):
    from pipelines.defs.sensors import raw_fingerprints

    folder = data_dir / "raw" / "dossiers" / "2024"
    folder.mkdir(parents=True)
    os.close(os.open(os.fsencode(folder) + b"/HoSo_Th\xe1ng03.csv", os.O_WRONLY | os.O_CREAT))
    assert set(raw_fingerprints(data_dir / "raw")) == {"registry", "2024"}


# --- 6: workbooks with several sheets -------------------------------------------------------------------------


def workbook(path: Path, sheets: list[tuple[str, list[list[object]], bool]]) -> Path:
    """An XLSX with (name, rows, hidden) sheets, in order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    for name, rows, hidden in sheets:
        sheet = book.add_worksheet(name)
        for i, row in enumerate(rows):
            sheet.write_row(i, 0, row)
        if hidden:
            sheet.hide()
    book.close()
    return path


def catalogue(agency: str, n: int) -> list[list[object]]:
    return [SERVICES_HEADER] + [[2024, agency, f"{agency}-{i}", f"Thủ tục {i}", 3, 0] for i in range(n)]


INSTRUCTIONS = [["Hướng dẫn: điền số liệu vào sheet Data, không đổi tên cột."]]


def test_workbook_sheets_are_read_as_the_contract_says_or_the_file_is_rejected_naming_them(con, data_dir):
    raw = data_dir / "raw" / "services" / "2024"
    workbook(
        raw / "two_sheets.xlsx", [("Sheet1", catalogue("SO-TP", 3), False), ("Sheet2", catalogue("SO-YT", 2), False)]
    )
    workbook(
        raw / "instructions_first.xlsx", [("Hướng dẫn", INSTRUCTIONS, False), ("Data", catalogue("SO-KH", 4), False)]
    )
    workbook(
        raw / "hidden_lists_first.xlsx",
        [("DanhMuc", [["mức độ"], [3], [4]], True), ("Báo cáo", catalogue("SO-TC", 2), False)],
    )
    workbook(raw / "hidden_data.xlsx", [("Hướng dẫn", INSTRUCTIONS, False), ("Data", catalogue("H01", 2), True)])
    report = load(con, data_dir, "services")
    got = files(con, "services")
    assert got["services/2024/two_sheets.xlsx"] == (
        "rejected",
        0,
        0,
        0,
        "file rejected: the file has 2 sheets that hold data (Sheet1, Sheet2): keep one, or "
        "name it in the contract (sheet: in config/sources.yaml)",
    )
    assert got["services/2024/instructions_first.xlsx"][:4] == ("loaded", 4, 4, 0)
    assert "sheet Data" in got["services/2024/instructions_first.xlsx"][4]
    assert got["services/2024/hidden_lists_first.xlsx"][:4] == ("loaded", 2, 2, 0)
    assert got["services/2024/hidden_data.xlsx"][:4] == ("rejected", 0, 0, 0)
    assert got["services/2024/hidden_data.xlsx"][4].startswith(
        "file rejected: the file has no visible sheet with the columns of Danh mục thủ tục hành chính"
    )
    assert got["services/2024/hidden_data.xlsx"][4].endswith("; sheets: Hướng dẫn, Data (hidden)")
    assert (report.rows_read, report.rows_loaded) == (6, 6)
    # A contract that names its sheet reads that one, hidden or not, and rejects a workbook without it.
    named = replace(CONTRACTS["services"], sheet="Sheet2")
    ingest(con, named, data_dir / "raw", 2024, full_refresh=True)
    got = files(con, "services")
    assert got["services/2024/two_sheets.xlsx"][:4] == ("loaded", 2, 2, 0)
    assert got["services/2024/instructions_first.xlsx"][:2] == ("rejected", 0)
    assert got["services/2024/instructions_first.xlsx"][4] == (
        "file rejected: the file has no sheet named Sheet2 (sheets: Hướng dẫn, Data)"
    )


# --- 7: codes altered on the way in, stray files, registry links ---------------------------------------------


def test_a_code_that_arrives_as_a_number_is_quarantined_not_altered(con, data_dir):
    raw = data_dir / "raw" / "services" / "2024"
    workbook(
        raw / "catalogue.xlsx",
        [
            (
                "Data",
                [
                    SERVICES_HEADER,
                    [2024, "SO-TP", 1.001190, "Đăng ký khai sinh", 3, 0],
                    [2024, "SO-TP", "1.001190", "Đăng ký khai sinh", 3, 0],
                    [2024, "SO-TP", 2.000986, "Đăng ký kết hôn", 4, 1],
                ],
                False,
            )
        ],
    )
    folder = data_dir / "raw" / "dossiers" / "2024" / "05"
    folder.mkdir(parents=True)
    row = dossier("P1", received="20240502080000")
    pl.DataFrame({name: [str(v)] for name, v in zip(DOSSIER_HEADER, row, strict=True)}).with_columns(
        pl.lit(1.00119).alias("MaTTHC")
    ).write_parquet(folder / "float_codes.parquet")
    load(con, data_dir, "services")
    load(con, data_dir, "dossiers")
    assert files(con, "services")["services/2024/catalogue.xlsx"][:4] == ("loaded", 3, 1, 2)
    assert con.execute("SELECT procedure_code FROM stg_services").fetchall() == [("1.001190",)]
    assert [(line, rule, reason) for _, line, rule, reason, _ in held(con, "services")] == [
        (
            2,
            "invalid",
            "procedure_code arrived as a number (1.00119): format the column as text in Excel; "
            "zeros at the start or end of a code may be lost",
        ),
        (
            4,
            "invalid",
            "procedure_code arrived as a number (2.000986): format the column as text in Excel; "
            "zeros at the start or end of a code may be lost",
        ),
    ]
    assert [(line, rule, reason) for _, line, rule, reason, _ in held(con, "dossiers")] == [
        (
            1,
            "invalid",
            "MaTTHC arrived as a number (1.00119): store it as text (string) in the Parquet file; "
            "zeros at the start or end of a code may be lost",
        )
    ]


def test_a_control_character_in_a_key_quarantines_its_row(con, data_dir):
    write_csv(
        data_dir / "raw" / "dossiers" / "2024" / "06" / "nul.csv",
        DOSSIER_HEADER,
        [
            dossier("SO-TP-202406-0001", received="20240603080000"),
            dossier("SO-TP-202406-\x000002", received="20240603080000"),
            dossier("SO-TP-202406-0003", "SO-TP\t", received="20240603080000"),
        ],
    )
    write_csv(
        data_dir / "raw" / "services" / "2024" / "s.csv",
        SERVICES_HEADER,
        [
            [2024, "SO-TP", "1.001193", "Đăng ký khai sinh\n(cấp bản chính)", 3, 0],  # a line break in a name is kept
            [2024, "SO-TP", "1.0011\x0794", "Đăng ký kết hôn", 3, 0],
        ],
    )
    load(con, data_dir, "dossiers")
    load(con, data_dir, "services")
    got = [(line, rule, reason) for _, line, rule, reason, _ in held(con, "dossiers")]
    assert got[0] == (3, "invalid", "MaHoSo holds a control character (U+0000) after 'SO-TP-202406-'")
    assert got[1][:2] == (4, "invalid") and got[1][2].startswith(
        "DonViXuLy holds a control character (U+0009) after 'SO-TP'"
    )
    assert len(got) == 2
    assert [(line, rule, reason) for _, line, rule, reason, _ in held(con, "services")] == [
        (4, "invalid", "procedure_code holds a control character (U+0007) after '1.0011'")
    ]
    assert files(con, "dossiers")["dossiers/2024/06/nul.csv"][:4] == ("loaded", 3, 1, 2)
    assert con.execute("SELECT count(*) FROM quarantine WHERE raw LIKE '%' || chr(0) || '%'").fetchone()[0] == 0


def test_files_outside_the_source_and_year_folders_are_listed_as_rejected(con, data_dir):
    from expectations.sql_checks import build_data_quality, quality_summary

    raw = data_dir / "raw"
    row = [dossier("Y1", received="20240110080000")]
    write_csv(raw / "dossiers" / "2024" / "01" / "good.csv", DOSSIER_HEADER, row)
    write_csv(raw / "dossier" / "2024" / "01" / "misspelt.csv", DOSSIER_HEADER, row)
    write_csv(raw / "dossiers" / "2024x" / "typo_year.csv", DOSSIER_HEADER, row)
    write_csv(raw / "dossiers" / "HoSo_T01_2024.csv", DOSSIER_HEADER, row)
    write_csv(raw / "dossiers" / "no_year.csv", DOSSIER_HEADER, row)
    write_csv(raw / "dossiers" / "2023x" / "other_year.csv", DOSSIER_HEADER, row)
    write_csv(raw / "hoso" / "2024" / "unknown_folder.csv", DOSSIER_HEADER, row)
    write_csv(raw / "stray.csv", DOSSIER_HEADER, row)
    write_csv(
        raw / "agencies" / "2024" / "old_registry.csv",
        AGENCY_HEADER,
        [["SO-TP", "Sở Tư pháp", "department", "", "", "", ""]],
    )
    load(con, data_dir, "dossiers")
    ingest(con, CONTRACTS["agencies"], raw, None)
    got = files(con, "dossiers")
    assert got.pop("dossiers/2024/01/good.csv") == ("loaded", 1, 1, 0, None)
    assert {f: s[:4] for f, s in got.items()} == {
        f: ("rejected", 0, 0, 0)
        for f in (
            "dossier/2024/01/misspelt.csv",
            "dossiers/2024x/typo_year.csv",
            "dossiers/HoSo_T01_2024.csv",
            "dossiers/no_year.csv",
        )
    }
    assert got["dossier/2024/01/misspelt.csv"][4] == (
        "file rejected: the file is in raw/dossier/, not raw/dossiers/ (a misspelt folder?): not read"
    )
    assert got["dossiers/2024x/typo_year.csv"][4] == (
        "file rejected: the file is not in a year folder (raw/dossiers/<year>/, e.g. raw/dossiers/2024/): not read"
    )
    registry = files(con, "agencies")
    assert {f: s[0] for f, s in registry.items()} == {
        "agencies/agencies.csv": "loaded",
        "agencies/2024/old_registry.csv": "rejected",
        "hoso/2024/unknown_folder.csv": "rejected",
        "stray.csv": "rejected",
    }
    assert "one registry for all years" in registry["agencies/2024/old_registry.csv"][4]
    assert "is not in the folder of any source" in registry["hoso/2024/unknown_folder.csv"][4]
    build_data_quality(con, [2024])
    summary = "\n".join(quality_summary(con, 2024))
    assert "dossier/2024/01/misspelt.csv" in summary and "dossiers/no_year.csv" in summary
    assert "hoso/2024/unknown_folder.csv" in summary


def test_registry_links_to_unknown_agencies_themselves_or_in_a_cycle_are_quarantined(data_dir):
    write_csv(
        data_dir / "raw" / "agencies" / "agencies.csv",
        AGENCY_HEADER,
        [
            ["SO-TP", "Sở Tư pháp", "department", "", "2016-01-01", "", ""],
            ["H01", "UBND huyện Sông Lam", "district", "", "2016-01-01", "", ""],
            ["X001", "UBND xã Tân An", "commune", "H01", "2016-01-01", "", ""],
            ["X002", "UBND xã Phú Hòa", "commune", "H09", "2016-01-01", "", ""],  # no such district
            ["X003", "UBND xã Bình Minh", "commune", "X003", "2016-01-01", "", ""],  # its own parent
            ["SO-A", "Sở A", "department", "", "2016-01-01", "2025-02-28", "SO-B"],
            ["SO-B", "Sở B", "department", "", "2016-01-01", "2025-02-28", "SO-A"],  # A → B → A
            ["SO-C", "Sở C", "department", "", "2016-01-01", "2025-02-28", "SO-ZZ"],  # no such successor
            ["SO-D", "Sở D", "department", "", "2016-01-01", "2025-02-28", "SO-TP"],
        ],
    )
    con = connect(data_dir / "warehouse" / "egov.duckdb")
    report = ingest(con, CONTRACTS["agencies"], data_dir / "raw", None)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (9, 4, 5)
    assert [(line, rule, reason) for _, line, rule, reason, _ in held(con, "agencies")] == [
        (5, "bad_link", "parent_code H09 is not an agency_code of Danh mục cơ quan"),
        (6, "bad_link", "parent_code X003 is the row's own agency_code"),
        (7, "bad_link", "successor_code forms a cycle: SO-A → SO-B → SO-A"),
        (8, "bad_link", "successor_code forms a cycle: SO-B → SO-A → SO-B"),
        (9, "bad_link", "successor_code SO-ZZ is not an agency_code of Danh mục cơ quan"),
    ]
    assert sorted(c for (c,) in con.execute("SELECT agency_code FROM stg_agencies").fetchall()) == [
        "H01",
        "SO-D",
        "SO-TP",
        "X001",
    ]
    con.close()


# --- 8: links that leave the raw directory --------------------------------------------------------------------


def test_links_out_of_the_raw_directory_are_rejected_without_being_read(con, data_dir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n" + ",".join(PERSONAL) + "\n")
    write_csv(outside / "2024" / "catalogue.csv", SERVICES_HEADER, [[2024, "SO-TP", "P1", "Thủ tục", 3, 0]])
    raw = data_dir / "raw" / "services" / "2024"
    write_csv(raw / "catalogue.csv", SERVICES_HEADER, [[2024, "SO-TP", f"P{i}", "Thủ tục", 3, 0] for i in range(4)])
    (raw / "passwd.csv").symlink_to(outside / "passwd")
    (raw / "more").symlink_to(outside / "2024", target_is_directory=True)
    (raw / "same.csv").symlink_to(raw / "catalogue.csv")  # inside the raw directory: read like any file
    (raw / "gone.csv").symlink_to(outside / "deleted.csv")
    load(con, data_dir, "services")
    got = files(con, "services")
    assert {f: s[:4] for f, s in got.items()} == {
        "services/2024/catalogue.csv": ("loaded", 4, 4, 0),
        "services/2024/same.csv": ("loaded", 4, 0, 4),
        "services/2024/passwd.csv": ("rejected", 0, 0, 0),
        "services/2024/more": ("rejected", 0, 0, 0),
        "services/2024/gone.csv": ("rejected", 0, 0, 0),
    }
    assert got["services/2024/passwd.csv"][4] == (
        "file rejected: the file is a link that leads outside the raw directory: not followed, nothing of it read"
    )
    assert got["services/2024/more"][4] == got["services/2024/passwd.csv"][4]
    assert "broken link" in got["services/2024/gone.csv"][4]
    everything = texts_of(con)
    assert "root:x" not in everything and leaks(everything) == []


def test_a_non_personal_file_without_header_is_not_quoted_either(con, data_dir):
    path = data_dir / "raw" / "services" / "2024" / "passwd.csv"
    path.parent.mkdir(parents=True)
    path.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    load(con, data_dir, "services")
    message = files(con, "services")["services/2024/passwd.csv"][4]
    assert message.startswith("file rejected: the file has no header row") and "root" not in message


# --- 9: assessed values within their indicator's range; blocking checks that say what failed -----------------


def test_assessed_values_are_checked_against_the_indicator_ranges_of_thresholds_yaml(con, data_dir):
    write_csv(
        data_dir / "raw" / "assessments" / "2024" / "a.csv",
        ASSESSMENT_HEADER,
        [
            [2024, "SO-TP", "service_satisfaction", "0,81"],
            [2024, "SO-YT", "service_satisfaction", "85"],  # 0-100
            [2024, "SO-TP", "computers_per_staff", "1,4"],  # thresholds.yaml: [0, 10]
            [2024, "SO-YT", "computers_per_staff", "14"],
            [2024, "SO-TC", "security_assessed", "-1"],
        ],
    )
    report = load(con, data_dir, "assessments")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (5, 2, 3)
    assert [(line, rule, reason) for _, line, rule, reason, _ in held(con, "assessments")] == [
        (3, "out_of_range", "value 85 is outside [0, 1] for indicator service_satisfaction"),
        (5, "out_of_range", "value 14 is outside [0, 10] for indicator computers_per_staff"),
        (6, "out_of_range", "value -1 is outside [0, 1] for indicator security_assessed"),
    ]


def test_blocking_check_results_name_what_failed(con):
    from expectations.sql_checks import run_sql_checks
    from pipelines.defs.quality import _check_result

    con.execute(
        "CREATE TABLE indicator_values (year INTEGER, agency_code VARCHAR, indicator_code VARCHAR, "
        "numerator DOUBLE, denominator DOUBLE, value DOUBLE, source VARCHAR)"
    )
    con.execute(
        "INSERT INTO indicator_values VALUES (2024, 'SO-TP', 'portal_score', 85, NULL, 85, 'assessment'), "
        "(2024, 'SO-YT', 'portal_score', 0.9, NULL, 0.9, 'assessment'), "
        "(2024, 'SO-KH', 'edoc_ratio', 3, 2, 1.5, 'computed')"
    )
    results = run_sql_checks(con, [2024], names=["indicator_ratio_out_of_range"])
    result = _check_result(results, dg.AssetCheckSeverity.ERROR)
    assert not result.passed
    text = result.description
    assert "2 values" in text or "2 failed" in text
    for part in ("2024", "SO-TP", "portal_score", "85", "SO-KH", "edoc_ratio", "1.5"):
        assert part in text, part


# --- low: UTF-16 ----------------------------------------------------------------------------------------------


def test_utf16_is_read_with_a_byte_order_mark_and_named_without_one(con, data_dir):
    raw = data_dir / "raw" / "services" / "2024"
    raw.mkdir(parents=True)
    rows = [
        "\t".join(SERVICES_HEADER),
        "2024\tSO-TP\t1.001193\tĐăng ký khai sinh\tmột phần\t0",
        "2024\tSO-TP\t1.001695\tĐăng ký chấm dứt giám hộ\t3\t0",
    ]
    text = "\r\n".join(rows) + "\r\n"
    (raw / "unicode_text.txt").write_bytes(text.encode("utf-16"))  # Excel's "Unicode Text": BOM, tabs, CRLF
    (raw / "no_bom.csv").write_bytes(text.replace("\t", ",").encode("utf-16-le"))
    load(con, data_dir, "services")
    got = files(con, "services")
    assert got["services/2024/unicode_text.txt"][:4] == ("loaded", 2, 2, 0)
    assert con.execute("SELECT encoding FROM ingested_files WHERE file LIKE '%unicode_text.txt'").fetchone() == (
        "utf-16",
    )
    assert sorted(n for (n,) in con.execute("SELECT procedure_name FROM stg_services").fetchall()) == [
        "Đăng ký chấm dứt giám hộ",
        "Đăng ký khai sinh",
    ]
    assert got["services/2024/no_bom.csv"][0] == "rejected"
    assert "UTF-16" in got["services/2024/no_bom.csv"][4] and "UTF-8" in got["services/2024/no_bom.csv"][4]


# --- round 3, item 2: no record disappears from the reconciliation ------------------------------------------------


def test_a_quote_inside_a_value_does_not_shift_the_lines_after_it(con, data_dir):
    """A quote inside an unquoted value is a character of it for DuckDB: the scan that numbers the lines (run
    because of the blank line) must not take it to open a field that swallows the lines after it."""
    rows = [",".join(map(str, dossier(f"Q{i}", received="20240305080000"))) for i in range(5)]
    rows[1] = rows[1].replace("Nguyễn Văn An", 'Nguyễn Văn "Tý')  # a nickname, one quote: line 3
    path = data_dir / "raw" / "dossiers" / "2024" / "03" / "q.csv"
    path.parent.mkdir(parents=True)
    # header, Q0 (2), Q1 (3), Q2 (4), a blank line (5), Q3 (6), Q4 (7)
    path.write_text("\n".join([",".join(DOSSIER_HEADER), *rows[:3], "", *rows[3:]]) + "\n", encoding="utf-8")
    report = load(con, data_dir, "dossiers")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (5, 5, 0)
    assert con.execute("SELECT MaHoSo, source_line FROM stg_dossiers ORDER BY source_line").fetchall() == [
        ("Q0", 2),
        ("Q1", 3),
        ("Q2", 4),
        ("Q3", 6),
        ("Q4", 7),
    ]


@pytest.mark.slow
def test_a_quote_that_never_closes_in_a_large_file_loses_no_record_unreported(con, data_dir):
    """A MaTTHC typed as "1.001193 opens a quoted field that runs to the end of the file: by CSV's rules the file
    holds 11 records, but DuckDB, past its 8 MB read block, resumed mid-field and read 47,992 of the 100,000 lines
    (read 47,992 = loaded + quarantined: the rest gone unreported). Either the file is counted as 11 records, or it
    is rejected naming the line of the quote; never a count that hides lines."""
    rows = [",".join(map(str, dossier(f"SO-TP-2024-{i:06d}", received="20240405080000"))) for i in range(100_000)]
    rows[10] = rows[10].replace(",P1,", ',"1.001193,', 1)  # record 11, on line 12
    path = data_dir / "raw" / "dossiers" / "2024" / "04" / "big.csv"
    path.parent.mkdir(parents=True)
    path.write_text(",".join(DOSSIER_HEADER) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    load(con, data_dir, "dossiers")
    status, read, loaded, quarantined, message = files(con, "dossiers")["dossiers/2024/04/big.csv"]
    if status == "rejected":
        assert (read, loaded, quarantined) == (0, 0, 0)
        assert "cannot be split into records reliably" in message
        assert "a scan of its lines finds 11 (the last of them opens a quote on line 12 that never closes)" in message
        assert con.execute("SELECT count(*) FROM stg_dossiers").fetchone()[0] == 0
    else:
        assert (status, read, loaded, quarantined) == ("loaded", 11, 10, 1)
        assert [(line, rule) for _, line, rule, _, _ in held(con, "dossiers")] == [(12, "unreadable_record")]


def test_records_over_1_mb_on_one_line_or_many_are_quarantined_at_their_lines(con, data_dir):
    """Once a line over 1 MB shows, every record over 1 MB is taken out before DuckDB reads the file (its reader
    skipped one over 32 MB unreported): also one whose quoted cell runs over 20 short lines, and one that ends the
    file without a line break; CRLF line breaks stay CRLF (DuckDB refuses a file that mixes them)."""
    one_line = "2024,SO-TP,1.000002," + "x" * 1_500_000 + ",3,0"
    many_lines = '2024,SO-TP,1.000004,"' + "\r\n".join(["y" * 100_000] * 20) + '",3,0'
    last = "2024,SO-TP,1.000006," + "z" * 1_200_000 + ",3,0"
    lines = [
        ",".join(SERVICES_HEADER),
        "2024,SO-TP,1.000001,A,3,0",
        one_line,
        "2024,SO-TP,1.000003,B,3,0",
        many_lines,
        "2024,SO-TP,1.000005,C,3,0",
        last,
    ]
    path = data_dir / "raw" / "services" / "2024" / "s.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes("\r\n".join(lines).encode())  # header 1, A 2, one_line 3, B 4, many_lines 5-24, C 25, last 26
    report = load(con, data_dir, "services")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (6, 3, 3)
    assert con.execute("SELECT procedure_name, source_line FROM stg_services ORDER BY 2").fetchall() == [
        ("A", 2),
        ("B", 4),
        ("C", 25),
    ]
    got = held(con, "services")
    assert [(line, rule, reason) for _, line, rule, reason, _ in got] == [
        (
            3,
            "unreadable_record",
            f"unreadable record (line size over maximum): {len(one_line):,} bytes, over the limit of 1 MB",
        ),
        (
            5,
            "unreadable_record",
            f"unreadable record (line size over maximum): {len(many_lines):,} bytes, lines "
            "5-24, over the limit of 1 MB",
        ),
        (
            26,
            "unreadable_record",
            f"unreadable record (line size over maximum): {len(last):,} bytes, over the limit of 1 MB",
        ),
    ]
    assert [raw for *_, raw in got] == [one_line[:2000], many_lines[:2000], last[:2000]]


# --- round 3, item 10: an XLSX bomb ---------------------------------------------------------------------------

INGEST_SERVICES = """
import json, resource, sys
from pathlib import Path
from assets.ingestion.load import ingest
from pipelines.core.registry.sources import load_sources
from pipelines.core.warehouse import connect
contracts, data = load_sources(), Path(sys.argv[1])
con = connect(data / "warehouse" / "egov.duckdb")
ingest(con, contracts["agencies"], data / "raw", None)
ingest(con, contracts["services"], data / "raw", 2024)
files = con.execute("SELECT file, status, rows_read, rows_loaded, message FROM ingested_files "
                    "WHERE source = 'services' ORDER BY file").fetchall()
print(json.dumps({"files": files, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
"""


def _inline_string_bomb(path: Path, rows: int) -> None:
    """A sheet as some exporters write it: every value an inline string, here the services header over one row
    and `rows` - 1 rows of one cell (about 5 MB on disk for a million rows)."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"

    def cell(ref: str, text: str) -> str:
        return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-'
            'types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override '
            'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        book.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{package}"><Relationship Id="rId1" Type="{rel}/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        book.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="Sheet1" '
            'sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{package}"><Relationship Id="rId1" '
            f'Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        with book.open("xl/worksheets/sheet1.xml", "w") as sheet:
            header = "".join(cell(f"{chr(65 + i)}1", name) for i, name in enumerate(SERVICES_HEADER))
            sheet.write(f'<worksheet xmlns="{main}"><sheetData><row r="1">{header}</row>'.encode())
            for start in range(2, rows + 1, 10_000):
                sheet.write(
                    "".join(
                        f'<row r="{r}">{cell(f"A{r}", "x")}</row>' for r in range(start, min(start + 10_000, rows + 1))
                    ).encode()
                )
            sheet.write(b"</sheetData></worksheet>")


@pytest.mark.slow
def test_xlsx_bombs_are_rejected_by_name_before_the_reader_allocates_them(data_dir, registry):
    """10: a million inline strings (5 MB on disk; the reader took 2.4 GB) and one stray value in XFD1048576 (a few
    KB; the reader asked for 17 billion cells and aborted the process, exit 134, naming no file) are rejected by
    name, from their ZIP directory and a streamed pass over their XML; the workbook beside them loads. The load
    runs in a child process capped at 2 GB of address space: what the reader would allocate cannot fit in it."""
    raw = data_dir / "raw" / "services" / "2024"
    raw.mkdir(parents=True)
    _inline_string_bomb(raw / "inline.xlsx", 1_000_000)
    book = xlsxwriter.Workbook(str(raw / "stray.xlsx"))
    sheet = book.add_worksheet("Data")
    for i, row in enumerate([SERVICES_HEADER, [2024, "SO-YT", "1.001193", "Đăng ký khai sinh", 3, 0]]):
        sheet.write_row(i, 0, row)
    sheet.write(1_048_575, 16_383, "x")  # XFD1048576, the last cell of a sheet
    book.close()
    book = xlsxwriter.Workbook(str(raw / "good.xlsx"))
    sheet = book.add_worksheet("Data")
    for i, row in enumerate([SERVICES_HEADER, *([2024, "SO-TP", f"1.00119{k}", "Thủ tục", 3, 0] for k in range(3))]):
        sheet.write_row(i, 0, row)
    book.close()

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    child = subprocess.run(
        [sys.executable, "-c", INGEST_SERVICES, str(data_dir)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        preexec_fn=cap,
        timeout=600,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    got = {file: (status, read, loaded, message) for file, status, read, loaded, message in result["files"]}
    assert got["services/2024/good.xlsx"] == ("loaded", 3, 3, None)
    status, read, _, message = got["services/2024/inline.xlsx"]
    assert (status, read) == ("rejected", 0)
    assert message == (
        "file rejected: the file is too large to read safely: sheet Sheet1 reaches cell F1000000 (1,000,000 rows × "
        f"6 columns = {1_000_000 * 6:,} cells, which the reader would hold in memory), which exceeds the limit of "
        "4,000,000 cells per sheet; delete what lies beyond the data (a stray value far below or right of it), "
        "split it or save it as CSV"
    )
    status, read, _, message = got["services/2024/stray.xlsx"]
    assert (status, read) == ("rejected", 0)
    assert f"sheet Data reaches cell XFD1048576 (1,048,576 rows × 16,384 columns = {1_048_576 * 16_384:,} cells" in (
        message
    )
    assert result["peak_mb"] < 1024


# --- round 3: codes in NFC, invisible characters shown ------------------------------------------------------------


def test_a_code_typed_decomposed_is_the_registry_code(data_dir):
    """A code typed on a Mac arrives decomposed (NFD: 'Ò' as 'O' + U+0300) and reads exactly like the composed
    one (NFC): at ingestion both are NFC, in the registry and in the files, so it is a known agency and a key."""
    nfc = "PHÒNG-GD"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    write_csv(
        data_dir / "raw" / "agencies" / "agencies.csv",
        AGENCY_HEADER,
        [
            ["SO-TP", "Sở Tư pháp", "department", "", "2016-01-01", "", ""],
            [nfd, "Phòng Giáo dục và Đào tạo", "district", "", "2016-01-01", "", ""],
        ],
    )
    write_csv(
        data_dir / "raw" / "services" / "2024" / "s.csv",
        SERVICES_HEADER,
        [
            [2024, nfc, "1.000001", "Thủ tục A", 3, 0],
            [2024, nfd, "1.000001", "Thủ tục A", 3, 0],  # the same key, decomposed
            [2024, nfd, "1.000002", "Thủ tục B", 3, 0],
        ],
    )
    con = connect(data_dir / "warehouse" / "egov.duckdb")
    try:
        ingest(con, CONTRACTS["agencies"], data_dir / "raw", None)
        assert sorted(c for (c,) in con.execute("SELECT agency_code FROM stg_agencies").fetchall()) == [nfc, "SO-TP"]
        report = load(con, data_dir, "services")
        assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (3, 2, 1)
        assert [(line, rule, reason) for _, line, rule, reason, _ in held(con, "services")] == [
            (
                3,
                "duplicate",
                f"duplicate agency_code/procedure_code {nfc}/1.000001: the first one is kept (services/2024/s.csv:2)",
            )
        ]
        assert con.execute("SELECT agency_code, procedure_code FROM stg_services ORDER BY source_line").fetchall() == [
            (nfc, "1.000001"),
            (nfc, "1.000002"),
        ]
    finally:
        con.close()


def test_an_unknown_code_shows_its_invisible_characters(data_dir):
    """A code with a zero-width space (pasted from a web page) is another code, kept as it is; the message shows
    the character, since 'unknown agency SO-TP' beside a registry that holds SO-TP would explain nothing."""
    write_csv(
        data_dir / "raw" / "agencies" / "agencies.csv",
        AGENCY_HEADER,
        [
            ["SO-TP", "Sở Tư pháp", "department", "", "2016-01-01", "", ""],
            ["H01", "UBND huyện Sông Lam", "district", "", "2016-01-01", "", ""],
            ["X001", "UBND xã Tân An", "commune", "H01\u200b", "2016-01-01", "", ""],  # a zero-width space after H01
        ],
    )
    write_csv(
        data_dir / "raw" / "services" / "2024" / "s.csv",
        SERVICES_HEADER,
        [
            [2024, "SO-TP\u200b", "1.000002", "Thủ tục B", 3, 0],
            [2024, "\ufeffSO-TP", "1.000003", "Thủ tục C", 3, 0],  # a byte-order mark, copied from another file
            [2024, "SO-TP", "1.000002", "Thủ tục B", 3, 0],
        ],
    )
    con = connect(data_dir / "warehouse" / "egov.duckdb")
    try:
        registry = ingest(con, CONTRACTS["agencies"], data_dir / "raw", None)
        assert (registry.rows_read, registry.rows_loaded, registry.rows_quarantined) == (3, 2, 1)
        assert [(line, rule, reason) for _, line, rule, reason, _ in held(con, "agencies")] == [
            (4, "bad_link", "parent_code H01\\u200b is not an agency_code of Danh mục cơ quan")
        ]
        report = load(con, data_dir, "services")
        assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (3, 1, 2)
        got = held(con, "services")
        assert [(line, rule, reason) for _, line, rule, reason, _ in got] == [
            (2, "unknown_agency", "unknown agency SO-TP\\u200b (not in the agency registry)"),
            (3, "unknown_agency", "unknown agency \\ufeffSO-TP (not in the agency registry)"),
        ]
        assert "SO-TP\u200b," in got[0][4]  # the raw record keeps the character
    finally:
        con.close()
