"""The QĐ 766 trace stored compactly (docs/rubrics.md §8, docs/benchmarks.md "Issue 27"): `scorecard_766_lost` holds a
record's lost reasons as bits, and the view `scorecard_766_dossiers` (warehouse and marts) gives one row per lost
item with its Vietnamese reason, as the table it replaced did. The trace's rows themselves are checked by hand in
test_scorecard_766.py and test_scorecard_766_groups.py."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import write_csv
from test_scorecard_766_groups import HEADER, SERVICES, item, row, run, write_log

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


# rated_766's trace (not_rated), judged by the view: a dossier finished (9, 10) in a scored month, by its finish date,
# with no rating given by the month's end. SO-TP, each finished 4 days after reception:
#   D0 of 2023 (received 29/12/2023, finished 2/1/2024: January's) and D1 (5/1 → 9/1), never rated;
#   R1 (10/1 → 14/1) rated 15/1; N1 (5/3 → 9/3) never rated; N2 (20/3 → 24/3) rated 2/4, after March's end;
#   N3 (10/3 → 14/3) rated 20/3; N4 (29/3 → 2/4) never rated: April's, by its finish; N5 unfinished (4);
#   A1 (10/4 → 14/4) rated 15/4. Every rating 1 (very satisfied): the satisfied item loses nothing.
NOT_RATED_2023 = [row("D0", "SO-TP", "20231229080000", "20231229090000")]
NOT_RATED_LOG = [
    row("D1", "SO-TP", "20240105080000", "20240105090000"),
    row("R1", "SO-TP", "20240110080000", "20240110090000"),
    row("N1", "SO-TP", "20240305080000", "20240305090000"),
    row("N2", "SO-TP", "20240320080000", "20240320090000"),
    row("N3", "SO-TP", "20240310080000", "20240310090000"),
    row("N4", "SO-TP", "20240329080000", "20240329090000"),
    row("N5", "SO-TP", "20240311080000", "20240311090000", status=4),
    row("A1", "SO-TP", "20240410080000", "20240410090000"),
]
NOT_RATED_RATINGS = [
    ["R1", "20240115090000", 1, 1],
    ["N2", "20240402090000", 1, 1],
    ["N3", "20240320090000", 1, 1],
    ["A1", "20240415090000", 1, 1],
]
# By hand: January finished D0, D1, R1, rated R1; March N1, N2, N3, rated N3 (N2 after 1/4); April N4, A1, rated A1.


def write_not_rated_log(data_dir: Path) -> None:
    raw = data_dir / "raw"
    for year in (2023, 2024):
        write_csv(
            raw / "services" / str(year) / "dm.csv", SERVICES, [[year, "SO-TP", "P1", "A", 3, 1, "2023-05-02", 1]]
        )
    write_csv(raw / "dossiers" / "2023" / "hs.csv", HEADER, NOT_RATED_2023)
    write_csv(raw / "dossiers" / "2024" / "hs.csv", HEADER, NOT_RATED_LOG)
    write_csv(raw / "ratings" / "2024" / "dg.csv", ["MaHoSo", "NgayDanhGia", "MucDo", "KenhDanhGia"], NOT_RATED_RATINGS)
    run(data_dir, "2023")
    run(data_dir)


def not_rated(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return sorted(
        con.execute(
            "SELECT period, record_code FROM scorecard_766_dossiers WHERE indicator_code = 'rated_766' "
            "AND reason_code = 'not_rated' AND agency_code = 'SO-TP'"
        ).fetchall()
    )


EXPECTED_NOT_RATED = [("2024-01", "D0"), ("2024-01", "D1"), ("2024-03", "N1"), ("2024-03", "N2"), ("2024-04", "N4")]


@pytest.mark.slow
def test_the_view_lists_the_finished_dossiers_not_rated_by_their_months_end(data_dir: Path, registry: Path):
    write_not_rated_log(data_dir)
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    try:
        assert item(con, "2024-01", "SO-TP", "rated_766")[:2] == (1, 3)
        assert item(con, "2024-03", "SO-TP", "rated_766")[:2] == (1, 3)
        assert item(con, "2024-04", "SO-TP", "rated_766")[:2] == (1, 2)
        assert not_rated(con) == EXPECTED_NOT_RATED
        # judged by the view, not written by the scoring
        assert con.execute(
            "SELECT count(*) FROM scorecard_766_lost_scored AS l JOIN scorecard_766_reasons AS r "
            "ON l.reasons & r.bit <> 0 WHERE r.reason_code = 'not_rated'"
        ).fetchone() == (0,)
    finally:
        con.close()


@pytest.mark.slow
def test_a_warehouse_whose_scoring_wrote_the_not_rated_rows_lists_them_once(data_dir: Path, registry: Path):
    """A warehouse scored before the view judged the finished dossiers not rated holds them in
    scorecard_766_lost_scored, in the months it scored (masks): opened, those rows are dropped and the view lists
    each once; a month without masks (scored before them) keeps its stored rows, which alone show it."""
    write_not_rated_log(data_dir)
    path = data_dir / "warehouse" / "egov.duckdb"
    con = duckdb.connect(str(path))
    bit = con.execute("SELECT bit FROM scorecard_766_reasons WHERE reason_code = 'not_rated'").fetchone()[0]
    # the rows the earlier scoring wrote, as it wrote them: one per record and month, the not_rated bit alone
    con.execute(
        "INSERT INTO scorecard_766_lost_scored SELECT * FROM scorecard_766_lost WHERE reasons = ? AND year = 2024",
        [bit],
    )
    con.execute("INSERT INTO scorecard_766_lost_scored VALUES (2022, '2022-07', 'SO-TP', 'Z9', ?, NULL, NULL)", [bit])
    assert len(not_rated(con)) == 2 * len(EXPECTED_NOT_RATED) + 1  # twice before it is opened; Z9 once
    con.close()
    con = connect(path)
    try:
        ensure_schema(con)
        assert not_rated(con) == [("2022-07", "Z9"), *EXPECTED_NOT_RATED]
        assert con.execute(
            "SELECT period, record_code FROM scorecard_766_lost_scored WHERE reasons = ?", [bit]
        ).fetchall() == [("2022-07", "Z9")]
    finally:
        con.close()


# The records that cost each agency most in its latest scored month (`costly_records`: the agency pages and the
# workbook's sheet "Hồ sơ mất điểm 766"), on a warehouse written by hand. Items (criterion order, item order, maximum):
# synced (1, 1, 4), e_result (1, 2, 5), digitised (1, 3, 2), on_time (2, 1, 10). A record's cost is its item's lost
# points over its lost records (denominator − numerator):
#   SO-TP, latest month March (April has no total, the quarter is no month): on_time (10 − 4) / (10 − 7) = 2,
#     e_result (5 − 3) / (10 − 9) = 2, synced (4 − 3) / (20 − 16) = 0.25, digitised at its full points (left out);
#   SO-YT, latest month April: on_time 10 / 5 = 2, e_result (5 − 3) / (4 − 3) = 2; its March costs 10 a record.
COSTLY_ITEMS = [
    ("synced_766", 1, 1, "Đồng bộ", 4.0),
    ("e_result_766", 1, 2, "Kết quả điện tử", 5.0),
    ("digitised_766", 1, 3, "Số hóa", 2.0),
    ("on_time_766", 2, 1, "Đúng hạn", 10.0),
]
COSTLY_TOTALS = [  # period, period type, agency, total
    ("2024-02", "month", "SO-TP", 15.0),
    ("2024-03", "month", "SO-TP", 12.0),
    ("2024-04", "month", "SO-TP", None),
    ("2024-Q2", "quarter", "SO-TP", 10.0),
    ("2024-03", "month", "SO-YT", 8.0),
    ("2024-04", "month", "SO-YT", 9.0),
    ("2024-04", "month", "PROVINCE", 20.0),
]
COSTLY_SCORES = [  # period, agency, item, numerator, denominator, points
    ("2024-02", "SO-TP", "on_time_766", 0, 1, 0.0),
    ("2024-03", "SO-TP", "on_time_766", 7, 10, 4.0),
    ("2024-03", "SO-TP", "e_result_766", 9, 10, 3.0),
    ("2024-03", "SO-TP", "synced_766", 16, 20, 3.0),
    ("2024-03", "SO-TP", "digitised_766", 5, 6, 2.0),
    ("2024-04", "SO-TP", "on_time_766", 0, 1, 0.0),
    ("2024-03", "SO-YT", "on_time_766", 0, 1, 0.0),
    ("2024-04", "SO-YT", "on_time_766", 0, 5, 0.0),
    ("2024-04", "SO-YT", "e_result_766", 3, 4, 3.0),
    ("2024-04", "PROVINCE", "on_time_766", 0, 1, 0.0),
]
# Reasons' bits (assets/scorecard/reasons_766.yaml): late 1, asked_twice 4, no_e_result 128, not_digitised 512,
# not_synced 8192, synced_late 16384. Written out of order.
COSTLY_LOST = [  # period, agency, record, reasons, days late, days synced late
    ("2024-03", "SO-TP", "A3", 1, 2, None),
    ("2024-03", "SO-TP", "A6", 16384, None, 3),
    ("2024-03", "SO-TP", "A1", 1 + 128, 5, None),
    ("2024-03", "SO-TP", "A8", 8192, None, None),
    ("2024-03", "SO-TP", "A9", 512, None, None),
    ("2024-03", "SO-TP", "A2", 1, 2, None),
    ("2024-03", "SO-TP", "A7", 16384, None, 1),
    ("2024-03", "SO-TP", "A5", 16384, None, 7),
    ("2024-02", "SO-TP", "Z2", 1, 40, None),
    ("2024-04", "SO-TP", "Z1", 1, 30, None),
    ("2024-03", "SO-YT", "Y9", 1, 50, None),
    ("2024-04", "SO-YT", "B7", 4, None, None),
    ("2024-04", "SO-YT", "B2", 1, 2, None),
    ("2024-04", "SO-YT", "B9", 128, None, None),
    ("2024-04", "SO-YT", "B5", 1, 5, None),
    ("2024-04", "SO-YT", "B1", 1, 1, None),
    ("2024-04", "SO-YT", "B4", 1, 4, None),
    ("2024-04", "SO-YT", "B3", 1, 3, None),
    ("2024-04", "PROVINCE", "P1", 1, 99, None),
]
# By hand, each agency's records by cost, then days late (most first, none last), the item's rubric order (criterion,
# item), the record's code: (period, item, record, days, cost).
COSTLY_SO_TP = [
    ("2024-03", "Đúng hạn", "A1", 5, 2.0),
    ("2024-03", "Đúng hạn", "A2", 2, 2.0),  # A2 and A3: same cost, days and item; by code
    ("2024-03", "Đúng hạn", "A3", 2, 2.0),
    ("2024-03", "Kết quả điện tử", "A1", None, 2.0),  # criterion 1, but no days: after the days at the same cost
    ("2024-03", "Đồng bộ", "A5", 7, 0.25),  # synced: its days are the days synced late
    ("2024-03", "Đồng bộ", "A6", 3, 0.25),
    ("2024-03", "Đồng bộ", "A7", 1, 0.25),
    ("2024-03", "Đồng bộ", "A8", None, 0.25),
]
COSTLY_SO_YT = [
    ("2024-04", "Đúng hạn", "B5", 5, 2.0),
    ("2024-04", "Đúng hạn", "B4", 4, 2.0),
    ("2024-04", "Đúng hạn", "B3", 3, 2.0),
    ("2024-04", "Đúng hạn", "B2", 2, 2.0),
    ("2024-04", "Đúng hạn", "B1", 1, 2.0),
    ("2024-04", "Kết quả điện tử", "B9", None, 2.0),  # no days, same cost as B7: criterion 1 before 2
    ("2024-04", "Đúng hạn", "B7", None, 2.0),
]


def test_the_costliest_records_are_each_agencys_latest_month_in_order_and_at_most_the_limit(tmp_path: Path):
    from assets.reports.scorecard_766 import costly_records

    con = connect(tmp_path / "egov.duckdb")
    try:
        ensure_schema(con)
        con.executemany(
            "INSERT INTO scorecard_766_items VALUES (2024, 2024, 'c' || ?, 'C', ?, ?, ?, NULL, ?, ?, 'ratio', NULL, "
            "true, 2)",
            [(order, order, item, code, name, points) for code, order, item, name, points in COSTLY_ITEMS],
        )
        con.executemany(
            "INSERT INTO scorecard_766_totals VALUES (2024, ?, ?, ?, CASE WHEN ? = 'PROVINCE' THEN NULL ELSE 'dept' "
            "END, ?, 100, NULL)",
            [(period, kind, agency, agency, total) for period, kind, agency, total in COSTLY_TOTALS],
        )
        maximum = {code: points for code, *_, points in COSTLY_ITEMS}
        con.executemany(
            "INSERT INTO scorecard_766 VALUES (2024, ?, 'month', ?, ?, ?, ?, ? / ?, ?, ?)",
            [(p, a, i, n, d, n, d, points, maximum[i]) for p, a, i, n, d, points in COSTLY_SCORES],
        )
        con.executemany("INSERT INTO scorecard_766_lost_scored VALUES (2024, ?, ?, ?, ?, ?, ?)", COSTLY_LOST)

        def shown(found: dict) -> dict:
            return {
                agency: [(r["period"], r["name_vi"], r["record_code"], r["days_late"], r["cost"]) for r in rows]
                for agency, rows in found.items()
            }

        assert shown(costly_records(con, 2024)) == {"SO-TP": COSTLY_SO_TP, "SO-YT": COSTLY_SO_YT}
        assert shown(costly_records(con, 2024, limit=3)) == {"SO-TP": COSTLY_SO_TP[:3], "SO-YT": COSTLY_SO_YT[:3]}
        assert shown(costly_records(con, 2024, ["SO-YT"], limit=6)) == {"SO-YT": COSTLY_SO_YT[:6]}
        assert shown(costly_records(con, 2024, ["SO-TP"], limit=2)) == {"SO-TP": COSTLY_SO_TP[:2]}  # A2, not A3
        first = costly_records(con, 2024, ["SO-TP"], limit=1)["SO-TP"][0]
        assert first["reason"] == "Giải quyết trễ hạn 5 ngày"
        assert costly_records(con, 2023) == {}
    finally:
        con.close()
