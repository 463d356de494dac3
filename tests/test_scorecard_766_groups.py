"""The QĐ 766 transparency and satisfaction groups (docs/rubrics.md §8) on a small hand-computed log, through real
Dagster runs of the ingestion and scorecard assets on a real DuckDB warehouse: one record per rule.

Catalogue 2024: SO-TP P1 published (synced_national 1), P2 not (0); SO-YT P1 published.
Dossiers (all online services, finished 4 days after reception, on time; flags 1):
  SO-TP March  S1 synced the same morning, fee paid online; S2 synced on 2/4 (after March's instant 1/4);
               S3 never synced; S4 refused (3: out of the sync item); S5 synced, finished and never rated
  SO-TP May    L1 unfinished, received 20/5 10:00 (the log's last record: the year's instant), synced at 11:00
  SO-YT March  Y1 synced, fee paid online
Ratings: S1 1 (11/3) then 3 (5/4); S2 2 (12/3) then 4 (15/3); S3 3; Y1 2; HS9 (no such dossier) quarantined.
Feedback (due HanXuLy): SO-TP F1 answered early, F2 on its due date, F3 late, F4 unanswered and past due at 1/4,
F5 withdrawn (all due in March); F6 unanswered, due 25/5, after May's instant; SO-YT F7 answered early in March.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest
from conftest import DOSSIER_HEADER, dossier, write_csv

from pipelines.defs.ingestion import ingestion_assets
from pipelines.defs.resources import build_resources
from pipelines.defs.scorecard import scorecard_766, scorecard_766_facts

SYNC = [
    "NgayYeuCauBoSung",
    "NgayCongDanBoSung",
    "SoLanBoSung",
    "CoKetQuaDienTu",
    "DaSoHoaKetQua",
    "DuocLayTuKhoDMQG",
    "NgayDongBo",
]
HEADER = DOSSIER_HEADER + SYNC
SERVICES = [
    "year",
    "agency_code",
    "procedure_code",
    "procedure_name",
    "level",
    "has_fee",
    "published_on",
    "synced_national",
]
STAGING = [
    a
    for a in ingestion_assets
    if a.key.path[-1] in ("stg_agencies", "stg_services", "stg_dossiers", "stg_ratings", "stg_feedback")
]


def row(code: str, agency: str, received: str, synced: str, *, status: int = 10, fee: int = 0) -> list[object]:
    finished = "" if status == 4 else None  # None: 4 days after reception (due after 5)
    base = dossier(
        code,
        agency,
        received=received,
        status=status,
        fee=fee,
        paid=1 if fee else 0,
        finished=finished,
        returned="" if status == 4 else None,
    )
    return base + ["", "", "", 1, 1, 1, synced]


LOG = [
    row("S1", "SO-TP", "20240304080000", "20240304090000", fee=50000),
    row("S2", "SO-TP", "20240305080000", "20240402080000"),
    row("S3", "SO-TP", "20240306080000", ""),
    row("S4", "SO-TP", "20240306080000", "", status=3),
    row("S5", "SO-TP", "20240307080000", "20240307090000"),
    row("L1", "SO-TP", "20240520100000", "20240520110000", status=4),
    row("Y1", "SO-YT", "20240304080000", "20240304100000", fee=10000),
]
RATINGS = [
    ["S1", "20240311090000", 1, 1],
    ["S1", "20240405090000", 3, 2],
    ["S2", "20240312090000", 2, 1],
    ["S2", "20240315090000", 4, 2],
    ["S3", "20240313090000", 3, 3],
    ["Y1", "20240309090000", 2, 1],
    ["HS9", "20240313090000", 1, 1],
]
FEEDBACK = [
    ["F1", "SO-TP", "20240301080000", "20240315170000", "20240314100000", 3],
    ["F2", "SO-TP", "20240301080000", "20240315170000", "20240315170000", 3],
    ["F3", "SO-TP", "20240301080000", "20240315170000", "20240318100000", 3],
    ["F4", "SO-TP", "20240305080000", "20240320170000", "", 2],
    ["F5", "SO-TP", "20240305080000", "20240320170000", "", 4],
    ["F6", "SO-TP", "20240515080000", "20240525170000", "", 1],
    ["F7", "SO-YT", "20240301080000", "20240315170000", "20240310100000", 3],
]


def write_log(data_dir: Path, *, inputs: bool = True) -> None:
    raw = data_dir / "raw"
    if inputs:
        write_csv(
            raw / "services" / "2024" / "dm.csv",
            SERVICES,
            [
                [2024, "SO-TP", "P1", "A", 3, 1, "2023-05-02", 1],
                [2024, "SO-TP", "P2", "B", 3, 0, "", 0],
                [2024, "SO-YT", "P1", "A", 3, 1, "2023-05-02", 1],
            ],
        )
        write_csv(raw / "dossiers" / "2024" / "hs.csv", HEADER, LOG)
        write_csv(raw / "ratings" / "2024" / "dg.csv", ["MaHoSo", "NgayDanhGia", "MucDo", "KenhDanhGia"], RATINGS)
        write_csv(
            raw / "feedback" / "2024" / "pakn.csv",
            ["MaPhanAnh", "DonViXuLy", "NgayTiepNhan", "HanXuLy", "NgayXuLy", "TrangThai"],
            FEEDBACK,
        )
    else:  # the same catalogue and log as a province without the four inputs sends them
        write_csv(
            raw / "services" / "2024" / "dm.csv",
            SERVICES[:-2],
            [[2024, "SO-TP", "P1", "A", 3, 1], [2024, "SO-TP", "P2", "B", 3, 0], [2024, "SO-YT", "P1", "A", 3, 1]],
        )
        write_csv(raw / "dossiers" / "2024" / "hs.csv", HEADER[:-1], [r[:-1] for r in LOG])


def scorecard_metadata(data_dir: Path, year: str) -> dict:
    """Run the ingestion and scorecard assets for `year`; the metadata of scorecard_766's materialization."""
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*STAGING, scorecard_766_facts, scorecard_766],
            partition_key=year,
            instance=instance,
            resources=build_resources(data_dir),
        )
    assert result.success
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == "scorecard_766"]
    return event.materialization.metadata


def run(data_dir: Path, year: str = "2024") -> dict | None:
    """Run the ingestion and scorecard assets for `year`; what scorecard_766 rescored (periods and months)."""
    return scorecard_metadata(data_dir, year)["by_year"].value.get(year)


@pytest.fixture
def scored(data_dir: Path, registry: Path) -> duckdb.DuckDBPyConnection:
    write_log(data_dir)
    run(data_dir)
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    yield con
    con.close()


def item(con: duckdb.DuckDBPyConnection, period: str, agency: str, code: str) -> tuple:
    return con.execute(
        "SELECT numerator, denominator, value, points, max_points FROM scorecard_766 "
        "WHERE period = ? AND agency_code = ? AND indicator_code = ?",
        [period, agency, code],
    ).fetchone()


def total(con: duckdb.DuckDBPyConnection, period: str, agency: str) -> tuple:
    return con.execute(
        "SELECT total_points, computable_max, rank FROM scorecard_766_totals WHERE period = ? AND agency_code = ?",
        [period, agency],
    ).fetchone()


@pytest.mark.slow
def test_published_counts_the_procedures_in_force_synced_with_the_national_database(scored):
    assert item(scored, "2024-03", "SO-TP", "published_766") == (1, 2, 0.5, 4.5, 9.0)
    assert item(scored, "2024-03", "SO-YT", "published_766") == (1, 1, 1.0, 9.0, 9.0)
    assert item(scored, "2024-03", "PROVINCE", "published_766")[:2] == (2, 3)


@pytest.mark.slow
def test_synced_counts_dossiers_synced_by_the_periods_reference_instant(scored):
    # March (instant 1/4): S1, S5 synced; S2 synced on 2/4, S3 never; S4 refused is out → 2/4
    assert item(scored, "2024-03", "SO-TP", "synced_766") == (2, 4, 0.5, 4.5, 9.0)
    # the year (instant 20/5 10:00, the last record): S2 counts now; L1, synced at 11:00, does not → 3/5
    assert item(scored, "2024", "SO-TP", "synced_766") == (3, 5, 0.6, 5.4, 9.0)
    assert item(scored, "2024-03", "SO-YT", "synced_766") == (1, 1, 1.0, 9.0, 9.0)


@pytest.mark.slow
def test_satisfied_counts_each_dossiers_latest_rating_in_the_period_of_its_date(scored):
    # March: S1 1 (satisfied; its April rating is later than March), S2 4 (its 2 was replaced), S3 3 → 1/3
    assert item(scored, "2024-03", "SO-TP", "satisfied_766") == (1, 3, pytest.approx(1 / 3), 2.0, 6.0)
    assert item(scored, "2024-03", "SO-YT", "satisfied_766") == (1, 1, 1.0, 6.0, 6.0)  # 2: hài lòng
    assert item(scored, "2024-04", "SO-TP", "satisfied_766") == (0, 1, 0.0, 0.0, 6.0)  # S1's 3
    assert item(scored, "2024-05", "SO-TP", "satisfied_766") == (0, 0, None, None, 6.0)  # no ratings: NULL
    # the year: each dossier once, its latest: S1 3, S2 4, S3 3 → 0/3
    assert item(scored, "2024", "SO-TP", "satisfied_766")[:3] == (0, 3, 0.0)
    # the rating of no dossier was quarantined, not counted
    assert scored.execute("SELECT rule FROM quarantine WHERE source = 'ratings'").fetchall() == [("unknown_key",)]


@pytest.mark.slow
def test_rated_counts_finished_dossiers_with_a_rating(scored):
    # finished in March: S1, S2, S3, S5 (S4 refused); rated: all but S5 → 3/4
    assert item(scored, "2024-03", "SO-TP", "rated_766") == (3, 4, 0.75, 4.5, 6.0)
    assert item(scored, "2024-03", "SO-YT", "rated_766") == (1, 1, 1.0, 6.0, 6.0)
    # May: nothing finished, no rating given in the province: unknown
    assert item(scored, "2024-05", "SO-TP", "rated_766") == (None, 0, None, None, 6.0)


@pytest.mark.slow
def test_feedback_on_time_is_judged_at_its_due_date_and_the_reference_instant(scored):
    # due in March: F1, F2 on time; F3 late; F4 past due at 1/4: late; F5 withdrawn: out → 2/4
    assert item(scored, "2024-03", "SO-TP", "feedback_on_time_766") == (2, 4, 0.5, 3.0, 6.0)
    # due 25/5, unanswered, not yet due at May's instant (20/5 10:00): on time
    assert item(scored, "2024-05", "SO-TP", "feedback_on_time_766") == (1, 1, 1.0, 6.0, 6.0)
    assert item(scored, "2024-04", "SO-TP", "feedback_on_time_766") == (0, 0, None, None, 6.0)


@pytest.mark.slow
def test_with_the_four_inputs_the_scorecard_reaches_100_computable_points(scored):
    # SO-YT March: every item full: 20 + 12 + 10 + 4 × 5.5 + 9 + 9 + 6 + 6 + 6 = 100
    assert total(scored, "2024-03", "SO-YT") == (100.0, 100.0, 1)
    # SO-TP March: on time 4/4 20, online 4/4 12, paid 1/1 10, flags 22, published 4.5, synced 4.5, satisfied 2,
    # rated 4.5, feedback 3 = 82.5
    assert total(scored, "2024-03", "SO-TP") == (82.5, 100.0, 2)
    assert total(scored, "2024-03", "PROVINCE")[1] == 100.0


@pytest.mark.slow
def test_without_the_inputs_the_new_items_are_not_computable_and_the_totals_unchanged(data_dir: Path, registry: Path):
    write_log(data_dir, inputs=False)
    run(data_dir)
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    try:
        for code in ("published_766", "synced_766", "rated_766"):
            numerator, _, value, points, _ = item(con, "2024-03", "SO-TP", code)
            assert (numerator, value, points) == (None, None, None), code
        for code in ("satisfied_766", "feedback_on_time_766"):
            assert item(con, "2024-03", "SO-TP", code) == (0, 0, None, None, 6.0), code
        # the dossier items only: 20 + 12 + 10 + 22 = 64 of 64
        assert total(con, "2024-03", "SO-TP") == (64.0, 64.0, 1)
        assert total(con, "2024-03", "SO-YT") == (64.0, 64.0, 1)
    finally:
        con.close()


def lost(con: duckdb.DuckDBPyConnection, period: str, agency: str) -> set[tuple]:
    return set(
        con.execute(
            "SELECT indicator_code, record_code, reason_code, days_late FROM scorecard_766_dossiers "
            "WHERE period = ? AND agency_code = ?",
            [period, agency],
        ).fetchall()
    )


@pytest.mark.slow
def test_the_trace_holds_exactly_the_records_each_item_lost(scored):
    # SO-TP March: the dossier items lost nothing (all on time, online, paid, flagged); P2 is not published; S2
    # synced a day after the instant (2/4 08:00 - 1/4 00:00: 1 day, rounded up to 2), S3 never; S2 rated 4 and S3 3;
    # S5 never rated; F3 answered 3 days late (18/3 10:00 - 15/3 17:00 → 2.7 → 3), F4 unanswered 12 days past due
    # at 1/4 (1/4 - 20/3 17:00 → 11.3 → 12)
    assert lost(scored, "2024-03", "SO-TP") == {
        ("published_766", "P2", "not_published", None),
        ("synced_766", "S2", "synced_late", 2),
        ("synced_766", "S3", "not_synced", None),
        ("satisfied_766", "S2", "rated_unsatisfied", None),
        ("satisfied_766", "S3", "rated_neutral", None),
        ("rated_766", "S5", "not_rated", None),
        ("feedback_on_time_766", "F3", "answered_late", 3),
        ("feedback_on_time_766", "F4", "unanswered_late", 12),
    }
    assert lost(scored, "2024-03", "SO-YT") == set()  # 100 of 100: nothing lost
    # April: S1's latest rating (3) costs April, not March; May: F6 is not yet due, L1 not yet late
    assert lost(scored, "2024-04", "SO-TP") == {
        ("satisfied_766", "S1", "rated_neutral", None),
        ("published_766", "P2", "not_published", None),
    }
    # every item: the records lost are its denominator minus its numerator, for every agency and month
    off = scored.execute("""
        SELECT s.period, s.agency_code, s.indicator_code FROM scorecard_766 AS s
        LEFT JOIN (SELECT period, agency_code, indicator_code, count(*) AS n FROM scorecard_766_dossiers
                   GROUP BY ALL) AS t USING (period, agency_code, indicator_code)
        WHERE s.period_type = 'month' AND s.agency_code <> 'PROVINCE'
          AND coalesce(t.n, 0) <> CASE WHEN s.points IS NOT NULL THEN s.denominator - s.numerator ELSE 0 END
        """).fetchall()
    assert off == []


@pytest.mark.slow
def test_the_trace_names_late_dossiers_with_their_days(data_dir: Path, registry: Path):
    """The dossier items: a dossier finished late, one asked twice for a supplement, one unfinished past its due
    date, one in person among online services, one with its fee paid at the counter."""
    raw = data_dir / "raw" / "dossiers" / "2024" / "hs.csv"
    write_csv(
        raw,
        HEADER,
        [
            row("T1", "SO-TP", "20240304080000", "20240304090000"),  # counts everywhere
            dossier("T2", received="20240304080000", due="20240309080000", finished="20240312100000")
            + ["", "", "", 1, 1, 1, "20240304090000"],  # 3 days 2 h late → 4
            dossier("T3", received="20240304080000", finished="20240305080000")
            + ["20240304100000", "20240304120000", 2, 1, 1, 1, "20240304090000"],  # asked twice
            dossier("T4", received="20240320080000", due="20240328080000", finished="", returned="", status=4)
            + ["", "", "", 1, 1, 1, "20240320090000"],  # open, 1/4 - 28/3 8:00 → 4
            dossier("T5", channel=1, received="20240304080000", fee=20000, paid=0)
            + ["", "", "", 1, 1, 1, "20240304090000"],  # in person, fee unpaid
            row("T6", "SO-TP", "20240410080000", "20240410090000"),  # the log goes on in April
        ],
    )
    run(data_dir)
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    try:
        assert lost(con, "2024-03", "SO-TP") == {
            ("on_time_766", "T2", "late", 4),
            ("on_time_766", "T3", "asked_twice", None),
            ("on_time_766", "T4", "open_late", 4),
            ("online_submission_766", "T5", "not_online", None),
            ("paid_online_766", "T5", "not_paid_online", None),
        }
        assert con.execute("SELECT reason FROM scorecard_766_dossiers WHERE record_code = 'T2'").fetchone() == (
            "Giải quyết trễ hạn 4 ngày",
        )
    finally:
        con.close()


def tables(data_dir: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    try:
        return {
            t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("scorecard_766", "scorecard_766_totals", "scorecard_766_dossiers")
        }
    finally:
        con.close()


def rebuilt_from_the_same_files(data_dir: Path, fresh: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[tuple]]:
    """The scorecard tables of a first run on a copy of `data_dir`'s raw files in a fresh data directory."""
    import shutil

    shutil.copytree(data_dir / "raw", fresh / "raw")
    monkeypatch.setenv("EGOV_DATA_DIR", str(fresh))
    try:
        run(fresh)
    finally:
        monkeypatch.setenv("EGOV_DATA_DIR", str(data_dir))
    return tables(fresh)


@pytest.mark.slow
def test_inputs_added_then_removed_rescore_like_a_run_that_never_had_them(data_dir: Path, registry: Path):
    import shutil

    write_log(data_dir, inputs=False)
    run(data_dir)
    without = tables(data_dir)
    write_log(data_dir)  # the same log with the four inputs: every month rescored with them
    run(data_dir)
    assert tables(data_dir) != without
    shutil.rmtree(data_dir / "raw" / "ratings")
    shutil.rmtree(data_dir / "raw" / "feedback")
    write_log(data_dir, inputs=False)
    run(data_dir)
    assert tables(data_dir) == without


@pytest.mark.slow
def test_nights_with_ratings_rescore_the_months_they_move_and_equal_a_rebuild(
    data_dir: Path, registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """With ratings, a night rescores only the months its dossier files move (reception, finish and rating months,
    issue 29), and after every night the scorecard and its trace equal a rebuild from the same raw files."""

    write_log(data_dir)
    run(data_dir)
    dossiers = data_dir / "raw" / "dossiers" / "2024"

    def rebuilt(night: int) -> dict[str, list[tuple]]:
        return rebuilt_from_the_same_files(data_dir, tmp_path / f"rebuilt{night}", monkeypatch)

    # 1: one more SO-YT dossier, received and finished in May before the log's last record: May, Q2, the year
    write_csv(dossiers / "hs_0515.csv", HEADER, [row("N1", "SO-YT", "20240515090000", "20240515100000")])
    assert run(data_dir) == {"periods": 3, "months": 1}
    assert tables(data_dir) == rebuilt(1)

    # 2: the first file again with S1 handled by SO-YT (its ratings of 11/3 and 5/4 move with it) and S5 not
    # finished: its months March (S1, S5 received and finished; S1 rated) and May (L1), and April (S1 rated)
    log = [row("S1", "SO-YT", "20240304080000", "20240304090000", fee=50000)] + LOG[1:4]
    log += [row("S5", "SO-TP", "20240307080000", "20240307090000", status=4)] + LOG[5:]
    write_csv(dossiers / "hs.csv", HEADER, log)
    assert run(data_dir) == {"periods": 6, "months": 3}  # 3 months, Q1, Q2, the year
    assert tables(data_dir) == rebuilt(2)

    # 3: the new file removed: May again
    (dossiers / "hs_0515.csv").unlink()
    assert run(data_dir) == {"periods": 3, "months": 1}
    assert tables(data_dir) == rebuilt(3)


@pytest.mark.slow
def test_nights_with_rating_and_feedback_files_rescore_the_months_they_count_in_and_equal_a_rebuild(
    data_dir: Path, registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A rating or feedback file that comes marks the months its rows count in (a rating's date, its dossier's
    finish; a feedback's due date), one that changes or goes as well (a rating file: every month of the year, its
    dossiers may have finished elsewhere since), instead of rescoring the year; after every night the scorecard and
    its trace equal a rebuild from the same raw files (issue 29)."""

    write_log(data_dir)
    run(data_dir)
    raw = data_dir / "raw"

    def rebuilt(night: int) -> dict[str, list[tuple]]:
        return rebuilt_from_the_same_files(data_dir, tmp_path / f"rebuilt{night}", monkeypatch)

    rating_header = ["MaHoSo", "NgayDanhGia", "MucDo", "KenhDanhGia"]
    # 1: S2 (finished 9 March) rated again on 2 May, unsatisfied: May (its date) and March (its finish), Q1, Q2, the
    # year; its rating of 15 March stops being its latest in the year (not in March or Q1)
    write_csv(raw / "ratings" / "2024" / "dg_0502.csv", rating_header, [["S2", "20240502090000", 4, 1]])
    assert run(data_dir) == {"periods": 5, "months": 2}
    assert tables(data_dir) == rebuilt(1)

    # 2: a feedback due in June, after the log's last month (May): rescored with May, so Q2 and the year count it
    write_csv(
        raw / "feedback" / "2024" / "pakn_06.csv",
        ["MaPhanAnh", "DonViXuLy", "NgayTiepNhan", "HanXuLy", "NgayXuLy", "TrangThai"],
        [["F8", "SO-YT", "20240520080000", "20240610170000", "", 1]],
    )
    assert run(data_dir) == {"periods": 3, "months": 1}
    assert tables(data_dir) == rebuilt(2)

    # 3: the first rating file rewritten without S3's rating of 13 March: a changed rating file rescores the year
    write_csv(raw / "ratings" / "2024" / "dg.csv", rating_header, [r for r in RATINGS if r[0] != "S3"])
    assert run(data_dir) == {"periods": 8, "months": 5}  # 5 months, Q1, Q2, the year
    assert tables(data_dir) == rebuilt(3)

    # 4: the feedback file removed: its month again (June, rescored as May)
    (raw / "feedback" / "2024" / "pakn_06.csv").unlink()
    assert run(data_dir) == {"periods": 3, "months": 1}
    assert tables(data_dir) == rebuilt(4)

    # 5: nothing new: nothing rescored
    assert run(data_dir) == {"periods": 0, "months": 0}


@pytest.mark.slow
def test_a_rating_or_feedback_of_another_year_marks_only_the_years_it_counts_in_and_names_them(
    data_dir: Path, registry: Path
):
    """A rating counts in its own year's periods (and later ones), a feedback in those of its due date: a 2025 rating
    of a dossier finished in 2024 marks nothing of 2024, a 2024 feedback due in January 2025 marks that month and
    names 2025 for `egov run` (other_years_changed), as a dossier file does (issue 29)."""
    from pipelines.defs.ingestion import OTHER_YEARS

    def other_years(year: str) -> list[int]:
        return scorecard_metadata(data_dir, year)[OTHER_YEARS].value

    def dirty() -> set[tuple[int, int]]:
        con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
        try:
            return set(con.execute("SELECT year, month FROM scorecard_766_dirty").fetchall())
        finally:
            con.close()

    write_log(data_dir)
    raw = data_dir / "raw"
    write_csv(raw / "dossiers" / "2025" / "hs.csv", HEADER, [row("T1", "SO-TP", "20250106080000", "20250106090000")])
    run(data_dir)
    run(data_dir, "2025")
    assert dirty() == set()

    # S1, a dossier of 2024 finished in March 2024, rated again in January 2025: 2025's January only
    write_csv(
        raw / "ratings" / "2025" / "dg.csv",
        ["MaHoSo", "NgayDanhGia", "MucDo", "KenhDanhGia"],
        [["S1", "20250110090000", 4, 1]],
    )
    assert other_years("2025") == []
    assert dirty() == set()  # scored: nothing of 2024 marked

    # a 2024 feedback due in January 2025: 2025's January marked, and 2025 named for the run to follow
    write_csv(
        raw / "feedback" / "2024" / "pakn_late.csv",
        ["MaPhanAnh", "DonViXuLy", "NgayTiepNhan", "HanXuLy", "NgayXuLy", "TrangThai"],
        [["F9", "SO-TP", "20241220080000", "20250105170000", "", 1]],
    )
    assert other_years("2024") == [2025]
    assert dirty() == {(2025, 1)}


def marts_rows(marts: Path) -> dict[str, list[tuple]]:
    """Every table and view of a marts file, rows sorted."""
    con = duckdb.connect(str(marts / "egov.duckdb"), read_only=True)
    try:
        names = [n for (n,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
        return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetchall() for n in names}
    finally:
        con.close()


@pytest.mark.slow
def test_the_marts_write_again_only_the_trace_months_rescored_and_equal_a_whole_build(
    data_dir: Path, registry: Path, tmp_path: Path
):
    """A province's publish starts from its published marts and writes again only the trace's months rescored since
    (issue 29); the result equals the marts built whole from the same warehouse, and a published file an analyst
    changed is never started from."""
    from assets.marts.publish import publish_marts
    from pipelines.core.warehouse import connect

    marts, warehouse = data_dir / "marts", data_dir / "warehouse" / "egov.duckdb"

    def publish() -> list[str]:
        said: list[str] = []
        con = connect(warehouse)
        try:
            publish_marts(con, marts, keep_unchanged_trace=True, log=said.append)
            publish_marts(con, tmp_path / "whole")  # the reference: every table built from the warehouse
        finally:
            con.close()
        return said

    from pipelines.cli.runs import run_pipeline

    write_log(data_dir)
    # a dossier finished in January 2025: a month of a year never scored stays marked, and has no trace
    late = row("N0", "SO-TP", "20241230090000", "20241230100000")
    late[HEADER.index("NgayKetThucXuLy")] = "20250103090000"
    write_csv(data_dir / "raw" / "dossiers" / "2024" / "hs_1230.csv", HEADER, [late])
    assert run_pipeline([2024], data_dir=data_dir)  # every table of the marts, published (the trace whole)
    assert publish() == ["the 766 trace kept from the published file but 0 period(s) written again: none"]
    assert marts_rows(marts) == marts_rows(tmp_path / "whole")

    # a night: one more SO-YT dossier of May (rescored: May, Q2 and the year; the trace is monthly)
    write_csv(
        data_dir / "raw" / "dossiers" / "2024" / "hs_0515.csv",
        HEADER,
        [row("N1", "SO-YT", "20240515090000", "")],  # never synced: a record of May's trace
    )
    run(data_dir)
    said = publish()
    assert said == ["the 766 trace kept from the published file but 3 period(s) written again: 2024, 2024-05, 2024-Q2"]
    published = marts_rows(marts)
    assert ("2024-05", "SO-YT", "N1") in {row[:3] for row in published["scorecard_766_lost"]}
    assert published == marts_rows(tmp_path / "whole")

    # a night with a rating file: S3 (finished 10 March) rated unsatisfied on 2 May, so May's trace names it
    write_csv(
        data_dir / "raw" / "ratings" / "2024" / "dg_0502.csv",
        ["MaHoSo", "NgayDanhGia", "MucDo", "KenhDanhGia"],
        [["S3", "20240502090000", 4, 1]],
    )
    run(data_dir)
    assert publish() == [
        "the 766 trace kept from the published file but 5 period(s) written again: "
        "2024, 2024-03, 2024-05, 2024-Q1, 2024-Q2"
    ]
    published = marts_rows(marts)
    assert ("2024-05", "SO-TP", "S3") in {row[:3] for row in published["scorecard_766_lost"]}
    assert published == marts_rows(tmp_path / "whole")

    # an analyst's read-write session deletes March's trace from the published file: built whole again
    con = duckdb.connect(str(marts / "egov.duckdb"))
    con.execute("DELETE FROM scorecard_766_lost WHERE period = '2024-03'")
    con.close()
    assert publish() == ["the 766 trace built whole"]
    assert marts_rows(marts) == marts_rows(tmp_path / "whole")


@pytest.mark.slow
def test_synced_judges_each_month_quarter_and_the_year_at_its_own_instant(data_dir: Path, registry: Path):
    """The sync item counts each dossier once per month bucket of its sync instant (scorecard_766.sql), the trace's
    view judges the dossiers from the log at each month's instant: both must give what a judgement of each dossier at
    each period's instant gives. The log's last record is L1 (20/5 10:00): May, Q2 and the year are judged then."""
    raw = data_dir / "raw"
    write_csv(
        raw / "services" / "2024" / "dm.csv",
        SERVICES,
        [[2024, "SO-TP", "P1", "A", 3, 1, "2023-05-02", 1], [2024, "SO-YT", "P1", "A", 3, 1, "2023-05-02", 1]],
    )
    write_csv(
        raw / "dossiers" / "2024" / "hs.csv",
        HEADER,
        [
            row("A1", "SO-TP", "20240110080000", "20240201000000"),  # at January's instant exactly: in time
            row("A2", "SO-TP", "20240111080000", "20240201000001"),  # a second after it: 1 day late; Q1 in time
            row("A3", "SO-TP", "20240210080000", "20240401000000"),  # February: 31 days late; Q1's instant exactly
            row("A4", "SO-TP", "20240305080000", "20240520090000"),  # March, Q1: 49 d 9 h → 50; the year: in time
            row("A5", "SO-TP", "20240112080000", ""),  # never
            row("L1", "SO-TP", "20240520100000", "20240520100000", status=4),  # the last record, synced then
            row("L2", "SO-TP", "20240520090000", "20240520100001", status=4),  # a second after it: late
            dossier("L3", received="20240502080000", due="20240510080000", finished="", returned="", status=4)
            + ["", "", "", 1, 1, 1, "20240502090000"],  # open, 20/5 10:00 - 10/5 08:00 = 10 d 2 h → 11
        ],
    )
    run(data_dir)
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    try:
        synced = {
            period: item(con, period, "SO-TP", "synced_766")[:2]
            for period in ("2024-01", "2024-02", "2024-03", "2024-05", "2024-Q1", "2024-Q2", "2024")
        }
        assert synced == {
            "2024-01": (1, 3),  # A1
            "2024-02": (0, 1),
            "2024-03": (0, 1),
            "2024-05": (2, 3),  # L1, L3
            "2024-Q1": (3, 5),  # A1, A2, A3
            "2024-Q2": (2, 3),
            "2024": (6, 8),  # all but A5, L2
        }
        assert item(con, "2024-05", "SO-TP", "on_time_766")[:2] == (2, 3)  # L3 late at 20/5 10:00
        trace = set(
            con.execute(
                "SELECT period, indicator_code, record_code, reason_code, days_late FROM scorecard_766_dossiers "
                "WHERE agency_code = 'SO-TP'"
            ).fetchall()
        )
    finally:
        con.close()
    assert trace == {
        ("2024-01", "synced_766", "A2", "synced_late", 1),
        ("2024-01", "synced_766", "A5", "not_synced", None),
        ("2024-02", "synced_766", "A3", "synced_late", 31),
        ("2024-03", "synced_766", "A4", "synced_late", 50),
        ("2024-05", "synced_766", "L2", "synced_late", 1),
        ("2024-05", "on_time_766", "L3", "open_late", 11),
    }
