"""The four optional inputs of the QĐ 766 transparency and satisfaction groups (docs/raw_contracts.md): the
catalogue's national-database columns, the dossier log's NgayDongBo, and the ratings and feedback sources. Each is
read through the same contract machinery (quarantine with line and reason, personal columns dropped), and
absent is never an error."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
from conftest import DOSSIER_HEADER, dossier, write_csv

from assets.ingestion.load import ingest
from pipelines.core.registry.sources import load_sources

CONTRACTS = load_sources()
RATINGS_HEADER = ["MaHoSo", "NgayDanhGia", "MucDo", "KenhDanhGia"]
FEEDBACK_HEADER = [
    "MaPhanAnh",
    "DonViXuLy",
    "NgayTiepNhan",
    "HanXuLy",
    "NgayXuLy",
    "TrangThai",
    "NoiDung",
    "HoTen",
    "SoDienThoai",
    "DiaChi",
]
PERSON = ["Đường tắc nghẽn trước nhà", "Trần Thị Bình", "0987654321", "12 Lê Lợi, Tân An"]


def load(con: duckdb.DuckDBPyConnection, data_dir: Path, source: str, year: int = 2024):
    return ingest(con, CONTRACTS[source], data_dir / "raw", year)


def quarantined(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple]:
    return con.execute(
        "SELECT file, line, rule, reason FROM quarantine WHERE source = ? ORDER BY file, line", [source]
    ).fetchall()


def test_the_catalogue_carries_its_national_database_columns_when_given(con, data_dir):
    header = ["year", "agency_code", "procedure_code", "procedure_name", "level", "has_fee"]
    write_csv(
        data_dir / "raw" / "services" / "2024" / "dm.csv",
        header + ["published_on", "synced_national"],
        [
            [2024, "SO-TP", "P1", "A", 3, 0, "2023-05-02", 1],
            [2024, "SO-TP", "P2", "B", 4, 0, "", 0],
            [2024, "SO-YT", "P1", "A", 2, 0, "", ""],
        ],
    )
    write_csv(
        data_dir / "raw" / "services" / "2025" / "dm.csv", header, [[2025, "SO-TP", "P1", "A", 3, 0]]
    )  # an older catalogue without them: loads, the values unknown
    assert load(con, data_dir, "services").rows_loaded == 3
    assert load(con, data_dir, "services", 2025).rows_loaded == 1
    assert con.execute(
        "SELECT year, agency_code, procedure_code, published_on, synced_national FROM stg_services ORDER BY ALL"
    ).fetchall() == [
        (2024, "SO-TP", "P1", date(2023, 5, 2), 1),
        (2024, "SO-TP", "P2", None, 0),
        (2024, "SO-YT", "P1", None, None),
        (2025, "SO-TP", "P1", None, None),
    ]


def test_the_dossier_log_carries_ngaydongbo_and_a_sync_before_reception_is_quarantined(con, data_dir):
    write_csv(
        data_dir / "raw" / "dossiers" / "2024" / "hs.csv",
        DOSSIER_HEADER + ["NgayDongBo"],
        [
            dossier("HS1") + ["20240105083000"],
            dossier("HS2") + [""],  # never synced
            dossier("HS3") + ["20240104080000"],  # synced the day before it was received
        ],
    )
    report = load(con, data_dir, "dossiers")
    assert (report.rows_loaded, report.rows_quarantined) == (2, 1)
    assert con.execute("SELECT MaHoSo, NgayDongBo FROM stg_dossiers ORDER BY MaHoSo").fetchall() == [
        ("HS1", datetime(2024, 1, 5, 8, 30)),
        ("HS2", None),
    ]
    assert quarantined(con, "dossiers") == [
        (
            "dossiers/2024/hs.csv",
            4,
            "rule",
            "NgayDongBo (synced to the national portal) is before NgayTiepNhan (received)",
        )
    ]


def test_a_rating_must_name_a_dossier_of_the_log_and_a_known_level(con, data_dir):
    write_csv(
        data_dir / "raw" / "dossiers" / "2023" / "hs.csv", DOSSIER_HEADER, [dossier("HS0", received="20231228080000")]
    )
    write_csv(data_dir / "raw" / "dossiers" / "2024" / "hs.csv", DOSSIER_HEADER, [dossier("HS1")])
    load(con, data_dir, "dossiers", 2023)
    load(con, data_dir, "dossiers")
    write_csv(
        data_dir / "raw" / "ratings" / "2024" / "dg.csv",
        RATINGS_HEADER,
        [
            ["HS1", "20240110090000", 1, 1],
            ["HS0", "20240102090000", 4, 2],  # a dossier of the year before: known
            ["HS9", "20240110090000", 2, 1],  # no such dossier
            ["HS1", "20240111090000", 5, 1],  # no such level
            ["HS1", "20240110090000", 3, 3],  # the same dossier and instant again
            ["HS1", "20230110090000", 3, 3],  # in the folder of another year
        ],
    )
    report = load(con, data_dir, "ratings")
    assert (report.rows_read, report.rows_loaded) == (6, 2)
    assert con.execute(
        "SELECT year, MaHoSo, NgayDanhGia, MucDo, KenhDanhGia FROM stg_ratings ORDER BY ALL"
    ).fetchall() == [(2024, "HS0", datetime(2024, 1, 2, 9), 4, 2), (2024, "HS1", datetime(2024, 1, 10, 9), 1, 1)]
    rules = [(line, rule) for _, line, rule, _ in quarantined(con, "ratings")]
    assert rules == [(4, "unknown_key"), (5, "not_allowed"), (6, "duplicate"), (7, "wrong_year")]
    reason = quarantined(con, "ratings")[0][3]
    assert reason == "unknown MaHoSo HS9 (not in Hồ sơ thủ tục hành chính)"


def test_a_rating_file_is_read_again_when_its_dossier_arrives(con, data_dir):
    write_csv(data_dir / "raw" / "ratings" / "2024" / "dg.csv", RATINGS_HEADER, [["HS1", "20240110090000", 2, 1]])
    assert load(con, data_dir, "ratings").rows_loaded == 0  # the dossier's file has not come yet
    write_csv(data_dir / "raw" / "dossiers" / "2024" / "hs.csv", DOSSIER_HEADER, [dossier("HS1")])
    load(con, data_dir, "dossiers")
    report = load(con, data_dir, "ratings")
    assert (report.rows_loaded, report.rows_quarantined) == (1, 0)


def test_new_dossiers_read_a_rating_file_again_only_when_a_key_it_names_came_or_went(con, data_dir):
    """A night's new dossiers do not reload the year's rating files (issue 29): only a file with a quarantined row
    whose dossier came or went, or with a staged row whose dossier went, is read again; a file whose unknown
    dossiers are still unknown is kept."""
    dossiers, ratings = data_dir / "raw" / "dossiers" / "2024", data_dir / "raw" / "ratings" / "2024"
    write_csv(dossiers / "hs1.csv", DOSSIER_HEADER, [dossier("HS1"), dossier("HS2")])
    write_csv(ratings / "dg1.csv", RATINGS_HEADER, [["HS1", "20240110090000", 1, 1]])
    write_csv(ratings / "dg2.csv", RATINGS_HEADER, [["HS3", "20240110090000", 2, 1]])
    write_csv(ratings / "dg3.csv", RATINGS_HEADER, [["HS2", "20240110090000", 5, 1]])  # a known dossier, no such level
    load(con, data_dir, "dossiers")
    first = load(con, data_dir, "ratings")
    assert (first.rows_loaded, first.rows_quarantined, first.skipped_unchanged) == (1, 2, 0)

    def staged() -> list[str]:
        return [k for (k,) in con.execute("SELECT MaHoSo FROM stg_ratings ORDER BY ALL").fetchall()]

    def reasons() -> list[tuple[str, str, str]]:
        return [(f, rule, reason) for f, _, rule, reason in quarantined(con, "ratings")]

    write_csv(dossiers / "hs2.csv", DOSSIER_HEADER, [dossier("HS4")])  # a dossier no rating names
    load(con, data_dir, "dossiers")
    assert load(con, data_dir, "ratings").skipped_unchanged == 3  # dg2's HS3 is still unknown, dg3's HS2 known
    assert staged() == ["HS1"] and [r[1] for r in reasons()] == ["unknown_key", "not_allowed"]

    write_csv(dossiers / "hs3.csv", DOSSIER_HEADER, [dossier("HS3")])  # dg2's dossier arrives
    load(con, data_dir, "dossiers")
    assert load(con, data_dir, "ratings").skipped_unchanged == 2  # dg2 read again
    assert staged() == ["HS1", "HS3"] and [r[:2] for r in reasons()] == [("ratings/2024/dg3.csv", "not_allowed")]

    (dossiers / "hs1.csv").unlink()  # HS1 and HS2 go: dg1's staged rating and dg3's quarantined one name neither
    load(con, data_dir, "dossiers")
    assert load(con, data_dir, "ratings").skipped_unchanged == 1  # dg1 and dg3 read again, dg2 kept
    assert staged() == ["HS3"]
    (dg1, dg1_rule, _), (dg3, dg3_rule, dg3_reason) = reasons()
    assert (dg1, dg1_rule, dg3, dg3_rule) == (
        "ratings/2024/dg1.csv",
        "unknown_key",
        "ratings/2024/dg3.csv",
        "not_allowed",
    )
    assert "unknown MaHoSo HS2" in dg3_reason  # the reason now names the dossier that went

    assert load(con, data_dir, "ratings").skipped_unchanged == 3  # the keys as at the last load: nothing read

    # A dossier file rewritten without a rated dossier (not removed): its rating is read again and quarantined.
    write_csv(dossiers / "hs3.csv", DOSSIER_HEADER, [dossier("HS7")])
    load(con, data_dir, "dossiers")
    assert load(con, data_dir, "ratings").skipped_unchanged == 2  # dg2 read again
    assert staged() == [] and [r[:2] for r in reasons()][1] == ("ratings/2024/dg2.csv", "unknown_key")

    # A warehouse from before the quarantined rows' keys were recorded: a file with a quarantined row is read again
    # whenever the keys move, and its keys are recorded then.
    con.execute("DELETE FROM quarantined_keys")
    write_csv(dossiers / "hs4.csv", DOSSIER_HEADER, [dossier("HS5")])
    load(con, data_dir, "dossiers")
    assert load(con, data_dir, "ratings").skipped_unchanged == 0  # dg1, dg2 and dg3 read again
    write_csv(dossiers / "hs5.csv", DOSSIER_HEADER, [dossier("HS6")])
    load(con, data_dir, "dossiers")
    assert load(con, data_dir, "ratings").skipped_unchanged == 3


def test_feedback_drops_its_text_and_the_petitioner_and_checks_its_dates(con, data_dir):
    write_csv(
        data_dir / "raw" / "feedback" / "2024" / "pakn.csv",
        FEEDBACK_HEADER,
        [
            ["PA1", "SO-TP", "20240301080000", "20240315170000", "20240314100000", 3, *PERSON],
            ["PA2", "SO-XX", "20240301080000", "20240315170000", "", 1, *PERSON],
            ["PA3", "SO-TP", "20240301080000", "20240229170000", "", 2, *PERSON],
            ["PA4", "SO-TP", "20240301080000", "20240315170000", "", 3, *PERSON],
            ["PA5", "SO-TP", "20240301080000", "20240315170000", "", 4, *PERSON],
        ],
    )
    report = load(con, data_dir, "feedback")
    assert (report.rows_loaded, report.rows_quarantined) == (2, 3)
    assert con.execute(
        "SELECT MaPhanAnh, DonViXuLy, HanXuLy, NgayXuLy, TrangThai FROM stg_feedback ORDER BY 1"
    ).fetchall() == [
        ("PA1", "SO-TP", datetime(2024, 3, 15, 17), datetime(2024, 3, 14, 10), 3),
        ("PA5", "SO-TP", datetime(2024, 3, 15, 17), None, 4),
    ]
    assert [(line, rule) for _, line, rule, _ in quarantined(con, "feedback")] == [
        (3, "unknown_agency"),
        (4, "rule"),
        (5, "rule"),
    ]
    columns = {
        c
        for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'stg_feedback'"
        ).fetchall()
    }
    assert not columns & {"NoiDung", "HoTen", "SoDienThoai", "DiaChi", "Email"}
    for value in PERSON:
        assert (
            con.execute(
                "SELECT count(*) FROM quarantine WHERE raw LIKE ? OR reason LIKE ?", [f"%{value}%", f"%{value}%"]
            ).fetchone()[0]
            == 0
        )


def test_absent_ratings_and_feedback_are_no_error_and_no_missing_source(con, data_dir):
    from expectations.sql_checks import YEARLY_SOURCES

    for source in ("ratings", "feedback"):
        report = load(con, data_dir, source)
        assert (report.rows_read, report.rejected_files) == (0, [])
    assert "ratings" not in YEARLY_SOURCES and "feedback" not in YEARLY_SOURCES and "dossiers" in YEARLY_SOURCES
