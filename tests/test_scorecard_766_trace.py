"""The QĐ 766 trace stored compactly (docs/rubrics.md §8, docs/benchmarks.md "Issue 27"): `scorecard_766_lost` holds a
record's lost reasons as bits, and the view `scorecard_766_dossiers` (warehouse and marts) gives one row per lost
item with its Vietnamese reason, as the table it replaced did. The trace's rows themselves are checked by hand in
test_scorecard_766.py and test_scorecard_766_groups.py."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from test_scorecard_766_groups import run, write_log

from assets.marts.publish import open_marts_for_queries
from assets.scorecard.build import ensure_schema
from pipelines.core.warehouse import connect

# The trace as main's warehouse held it before the compact table (a table, one row per lost item): a dossier late
# and synced late (two day counts), one asked twice and never synced, a feedback answered late, a procedure.
OLD_TRACE = [
    (2024, "2024-03", "SO-TP", "on_time_766", "A1", "late", "Giải quyết trễ hạn 4 ngày", 4),
    (
        2024,
        "2024-03",
        "SO-TP",
        "synced_766",
        "A1",
        "synced_late",
        "Đồng bộ lên Cổng Dịch vụ công quốc gia sau thời điểm tính điểm (2 ngày)",
        2,
    ),
    (2024, "2024-03", "SO-TP", "e_result_766", "A1", "no_e_result", "Không cấp kết quả điện tử", None),
    (2024, "2024-03", "SO-TP", "on_time_766", "A2", "asked_twice", "Yêu cầu bổ sung hồ sơ từ 2 lần trở lên", None),
    (2024, "2024-03", "SO-TP", "synced_766", "A2", "not_synced", "Chưa đồng bộ lên Cổng Dịch vụ công quốc gia", None),
    (
        2024,
        "2024-04",
        "SO-YT",
        "feedback_on_time_766",
        "F1",
        "answered_late",
        "Phản ánh, kiến nghị trả lời trễ hạn 3 ngày",
        3,
    ),
    (
        2024,
        "2024-04",
        "SO-YT",
        "published_766",
        "P2",
        "not_published",
        "Thủ tục chưa được công bố trên CSDLQG về TTHC",
        None,
    ),
]


def test_a_warehouse_with_the_old_trace_table_keeps_its_rows_behind_the_view(tmp_path: Path):
    path = tmp_path / "egov.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE scorecard_766_dossiers (year INTEGER NOT NULL, period VARCHAR NOT NULL, agency_code VARCHAR "
        "NOT NULL, indicator_code VARCHAR NOT NULL, record_code VARCHAR NOT NULL, reason_code VARCHAR NOT NULL, "
        "reason VARCHAR NOT NULL, days_late INTEGER)"
    )
    con.executemany("INSERT INTO scorecard_766_dossiers VALUES (?, ?, ?, ?, ?, ?, ?, ?)", OLD_TRACE)
    con.close()
    con = connect(path)
    try:
        ensure_schema(con)
        ensure_schema(con)  # again: nothing more to fold
        kinds = dict(
            con.execute(
                "SELECT table_name, table_type FROM information_schema.tables WHERE table_name LIKE 'scorecard_766_%'"
            ).fetchall()
        )
        assert kinds["scorecard_766_dossiers"] == "VIEW"
        assert "scorecard_766_dossiers_by_item" not in kinds
        assert con.execute("SELECT * FROM scorecard_766_dossiers ORDER BY ALL").fetchall() == sorted(
            OLD_TRACE, key=lambda r: tuple((v is None, v) for v in r)
        )
        # 7 lost items, 4 records and months: A1 (3 reasons), A2 (2), F1, P2
        assert con.execute("SELECT count(*) FROM scorecard_766_lost").fetchone() == (4,)
    finally:
        con.close()


def test_a_warehouse_with_the_compact_table_keeps_its_rows_behind_the_view(tmp_path: Path):
    """A warehouse of the second layout (a table scorecard_766_lost holding every lost record, the dossiers' own
    reasons too) opens: the table is renamed scorecard_766_lost_scored and read through the view of its old name
    (which adds the dossiers' reasons of the months scored from then on: none yet), so the trace is unchanged."""
    path = tmp_path / "egov.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE scorecard_766_lost (year INTEGER NOT NULL, period VARCHAR NOT NULL, agency_code VARCHAR NOT "
        "NULL, record_code VARCHAR NOT NULL, reasons UINTEGER NOT NULL, days_late INTEGER, sync_days_late INTEGER)"
    )
    # A1: late (bit 1) 4 days, no electronic result (bit 128), synced late (bit 16384) 2 days; F1: answered late
    # (bit 262144) 3 days
    rows = [(2024, "2024-03", "SO-TP", "A1", 1 + 128 + 16384, 4, 2), (2024, "2024-04", "SO-YT", "F1", 262144, 3, None)]
    con.executemany("INSERT INTO scorecard_766_lost VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    con.close()
    con = connect(path)
    try:
        ensure_schema(con)
        ensure_schema(con)  # again: nothing more to rename
        kinds = dict(
            con.execute(
                "SELECT table_name, table_type FROM information_schema.tables WHERE table_name LIKE 'scorecard_766_%'"
            ).fetchall()
        )
        assert (kinds["scorecard_766_lost"], kinds["scorecard_766_lost_scored"]) == ("VIEW", "BASE TABLE")
        assert con.execute("SELECT * FROM scorecard_766_lost ORDER BY ALL").fetchall() == rows
        assert con.execute(
            "SELECT record_code, reason_code, days_late FROM scorecard_766_dossiers ORDER BY ALL"
        ).fetchall() == [
            ("A1", "late", 4),
            ("A1", "no_e_result", None),
            ("A1", "synced_late", 2),
            ("F1", "answered_late", 3),
        ]
    finally:
        con.close()


@pytest.mark.slow
def test_the_views_rows_carry_the_reasons_labels(data_dir: Path, registry: Path):
    """The groups' log (test_scorecard_766_groups.py), March of SO-TP: every reason's Vietnamese text, with the days
    written in where the reason has them."""
    write_log(data_dir)
    run(data_dir)
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT indicator_code, record_code, reason, days_late FROM scorecard_766_dossiers "
            "WHERE period = '2024-03' AND agency_code = 'SO-TP'"
        ).fetchall()
        lost_bits = con.execute("SELECT sum(bit_count(reasons)) FROM scorecard_766_lost").fetchone()[0]
        every_row = con.execute("SELECT count(*) FROM scorecard_766_dossiers").fetchone()[0]
    finally:
        con.close()
    assert sorted(rows) == sorted(
        [
            ("published_766", "P2", "Thủ tục chưa được công bố trên CSDLQG về TTHC", None),
            ("synced_766", "S2", "Đồng bộ lên Cổng Dịch vụ công quốc gia sau thời điểm tính điểm (2 ngày)", 2),
            ("synced_766", "S3", "Chưa đồng bộ lên Cổng Dịch vụ công quốc gia", None),
            ("satisfied_766", "S2", "Đánh giá: không hài lòng", None),
            ("satisfied_766", "S3", "Đánh giá: bình thường", None),
            ("rated_766", "S5", "Đã giải quyết nhưng chưa được đánh giá", None),
            ("feedback_on_time_766", "F3", "Phản ánh, kiến nghị trả lời trễ hạn 3 ngày", 3),
            ("feedback_on_time_766", "F4", "Phản ánh, kiến nghị chưa trả lời, quá hạn 12 ngày", 12),
        ]
    )
    assert every_row == lost_bits  # one row per bit: nothing lost, nothing doubled


def test_the_marts_view_reads_like_the_table_it_replaced_in_an_analysts_session(province: Path):
    """`egov sql`'s read-only session: the view's columns and types are the old table's, its rows are the
    warehouse's trace (without `year`), and docs/analysts.md's query 10b runs on it."""
    with duckdb.connect(str(province / "warehouse" / "egov.duckdb"), read_only=True) as wh:
        expected = wh.execute(
            "SELECT period, agency_code, indicator_code, record_code, reason_code, reason, days_late "
            "FROM scorecard_766_dossiers ORDER BY ALL"
        ).fetchall()
    with open_marts_for_queries(province / "marts" / "egov.duckdb") as con:
        assert con.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_name = 'scorecard_766_dossiers'"
        ).fetchone() == ("VIEW",)
        assert con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'scorecard_766_dossiers' "
            "ORDER BY ordinal_position"
        ).fetchall() == [
            ("period", "VARCHAR"),
            ("agency_code", "VARCHAR"),
            ("indicator_code", "VARCHAR"),
            ("record_code", "VARCHAR"),
            ("reason_code", "VARCHAR"),
            ("reason", "VARCHAR"),
            ("days_late", "INTEGER"),
        ]
        assert con.execute("SELECT * FROM scorecard_766_dossiers ORDER BY ALL").fetchall() == expected
        assert len(expected) > con.execute("SELECT count(*) FROM scorecard_766_lost").fetchone()[0] > 0
        period, agency = con.execute(
            "SELECT period, agency_code FROM scorecard_766_dossiers WHERE indicator_code = 'on_time_766' "
            "ORDER BY period DESC, agency_code LIMIT 1"
        ).fetchone()
        query = (Path(__file__).parents[1] / "docs" / "analysts.md").read_text(encoding="utf-8")
        query = query[query.index("SELECT t.record_code, t.reason, t.days_late") :]
        query = query[: query.index("```")].replace("'2026-08'", f"'{period}'").replace("'SO-TP'", f"'{agency}'")
        late = con.execute(query).fetchall()
        assert late and all(points >= 0 for *_, points in late)
