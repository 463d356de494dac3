"""The QĐ 766 scorecard (docs/rubrics.md §8) on a small hand-computed dossier log, through real Dagster runs of the
ingestion and scorecard assets on a real DuckDB warehouse.

The log (2024, the registry fixture's agencies; MucDo 3 = an online service unless said otherwise):
  SO-TP January   B1 finished on time, online
  SO-TP February  nothing
  SO-TP March     A1 on time (online, fee paid online, electronic result)
                  A2 finished 2 days after its due date, but a supplement paused it 3 days: on time (fee unpaid,
                     no electronic result)
                  A3 the same dates without the supplement: late (fee paid on the provincial portal)
                  A4 finished early but asked twice for a supplement: late
                  A5 unfinished, due 28/3: late at the reference instant (1/4)
                  A6 unfinished, due 10/4: on time at 1/4 (the month, the quarter); late at the year's instant
                  A7 refused (3), A8 withdrawn (7, online), A9 stopped (8, level 2), A10 registered (1): out of on time
  SO-TP April     C1 unfinished, due 10/5: on time for April (instant 1/5), late for Q2 (instant 20/5 10:00)
  SO-TP May       D1 unfinished, due 27/5, received 20/5 10:00: the last record of the log
  SO-YT March     E1 on time, online, from the data store; E2 late, in person
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

SYNC = ["NgayYeuCauBoSung", "NgayCongDanBoSung", "SoLanBoSung", "CoKetQuaDienTu", "DaSoHoaKetQua", "DuocLayTuKhoDMQG"]
HEADER = DOSSIER_HEADER + SYNC
STAGING = [a for a in ingestion_assets if a.key.path[-1] in ("stg_agencies", "stg_services", "stg_dossiers")]


def row(
    code: str,
    agency: str,
    received: str,
    due: str,
    finished: str = "",
    *,
    status: int = 10,
    channel: int = 2,
    level: int = 3,
    fee: int = 0,
    paid: int = 0,
    asked: str = "",
    replied: str = "",
    times: object = "",
    e_result: object = "",
    store: object = "",
) -> list[object]:
    """A dossier with the sync columns; dates as yyyyMMddHHmmss."""
    base = dossier(
        code,
        agency,
        channel=channel,
        level=level,
        received=received,
        due=due,
        finished=finished,
        returned=finished if status == 10 else "",
        status=status,
        fee=fee,
        paid=paid,
        digitised=1,
    )
    return base + [asked, replied, times, e_result, "", store]


LOG = [
    row("B1", "SO-TP", "20240110080000", "20240117080000", "20240115080000"),
    row("A1", "SO-TP", "20240304080000", "20240311080000", "20240310080000", fee=50000, paid=1, e_result=1),
    row(
        "A2",
        "SO-TP",
        "20240304080000",
        "20240311080000",
        "20240313080000",
        channel=1,
        fee=50000,
        paid=0,
        asked="20240305080000",
        replied="20240308080000",
        times=1,
        e_result=0,
    ),
    row("A3", "SO-TP", "20240304080000", "20240311080000", "20240313080000", channel=1, fee=20000, paid=2),
    row("A4", "SO-TP", "20240304080000", "20240311080000", "20240306080000", channel=1, times=2),
    row("A5", "SO-TP", "20240320080000", "20240328080000", status=4, channel=1),
    row("A6", "SO-TP", "20240325080000", "20240410080000", status=4, channel=1),
    row("A7", "SO-TP", "20240305080000", "20240312080000", status=3, fee=50000),
    row("A8", "SO-TP", "20240305080000", "20240312080000", status=7),
    row("A9", "SO-TP", "20240305080000", "20240312080000", status=8, level=2),
    row("A10", "SO-TP", "20240305080000", "20240312080000", status=1),
    row("C1", "SO-TP", "20240415080000", "20240510080000", status=4),
    row("D1", "SO-TP", "20240520100000", "20240527100000", status=4),
    row("E1", "SO-YT", "20240304080000", "20240311080000", "20240308080000", store=1),
    row("E2", "SO-YT", "20240304080000", "20240311080000", "20240315080000", channel=1),
]


def run(data_dir: Path, partition: str = "2024") -> dg.ExecuteInProcessResult:
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*STAGING, scorecard_766_facts, scorecard_766],
            partition_key=partition,
            instance=instance,
            resources=build_resources(data_dir),
        )
    assert result.success
    return result


@pytest.fixture
def scored(data_dir: Path, registry: Path) -> duckdb.DuckDBPyConnection:
    write_csv(data_dir / "raw" / "dossiers" / "2024" / "hoso_2024.csv", HEADER, LOG)
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
        "SELECT total_points, computable_max, rank, agency_group FROM scorecard_766_totals "
        "WHERE period = ? AND agency_code = ?",
        [period, agency],
    ).fetchone()


@pytest.mark.slow
def test_on_time_counts_the_pause_the_second_supplement_and_unfinished_dossiers_at_the_reference_instant(scored):
    # counted: A1..A6 (A7..A10 are refused, withdrawn, stopped, registered); on time: A1, A2 (paused), A6 (due 10/4
    # after the instant 1/4); late: A3 (no pause), A4 (two supplements), A5 (due 28/3 before 1/4)
    assert item(scored, "2024-03", "SO-TP", "on_time_766") == (3, 6, 0.5, 10.0, 20.0)


@pytest.mark.slow
def test_other_items_follow_their_definitions_and_thresholds(scored):
    # accepted dossiers of online services: A1..A6, A8 (A9 is level 2); online: A1, A8 → 2/7, full points at 50%
    assert item(scored, "2024-03", "SO-TP", "online_submission_766") == (2, 7, pytest.approx(2 / 7), 6.86, 12.0)
    # accepted with a fee: A1, A2, A3 (A7 refused); paid online (1 or 2): A1, A3
    assert item(scored, "2024-03", "SO-TP", "paid_online_766") == (2, 3, pytest.approx(2 / 3), 6.67, 10.0)
    # electronic result: known for A1 (1) and A2 (0); share of the 8 accepted: 5.5 × 1/8 = 0.6875 → 0.69
    assert item(scored, "2024-03", "SO-TP", "e_result_766") == (1, 8, 0.125, 0.69, 5.5)
    assert item(scored, "2024-03", "SO-TP", "digitised_766") == (8, 8, 1.0, 5.5, 5.5)
    # the data store flag is empty for every SO-TP dossier of March: unknown, not 0
    assert item(scored, "2024-03", "SO-TP", "data_store_766") == (None, 8, None, None, 5.5)
    assert item(scored, "2024-03", "SO-YT", "data_store_766") == (1, 2, 0.5, 2.75, 5.5)
    # without the optional inputs (catalogue sync flags, NgayDongBo, ratings, feedback): shown with their points, no
    # value, so out of the computable maximum; the sync item's denominator is the on-time item's (A1..A6)
    assert item(scored, "2024-03", "SO-TP", "published_766") == (None, 0, None, None, 9.0)
    assert item(scored, "2024-03", "SO-TP", "synced_766") == (None, 6, None, None, 9.0)
    assert item(scored, "2024-03", "SO-TP", "satisfied_766") == (0, 0, None, None, 6.0)
    assert item(scored, "2024-03", "SO-TP", "rated_766") == (None, 4, None, None, 6.0)  # finished: A1..A4
    assert item(scored, "2024-03", "SO-TP", "feedback_on_time_766") == (0, 0, None, None, 6.0)


@pytest.mark.slow
def test_totals_read_x_of_the_computable_points_and_rank_within_the_group(scored):
    # SO-TP: 10 + 6.86 + 6.67 + 0.69 + 5.5 = 29.72 of 20 + 12 + 10 + 5.5 + 5.5 = 53
    # SO-YT: on time 1/2 → 10, online 1/2 → 12, digitised 5.5, data store 2.75 = 30.25 of 20 + 12 + 5.5 + 5.5 = 43
    assert total(scored, "2024-03", "SO-TP") == (29.72, 53.0, 2, "department")
    assert total(scored, "2024-03", "SO-YT") == (30.25, 43.0, 1, "department")
    assert total(scored, "2024-03", "SO-TC") == (None, 0.0, None, "department")  # no dossiers: not ranked


@pytest.mark.slow
def test_a_month_without_dossiers_gives_null_values(scored):
    rows = scored.execute(
        "SELECT indicator_code, numerator, denominator, value, points FROM scorecard_766 "
        "WHERE period = '2024-02' AND agency_code = 'SO-TP' AND indicator_code = 'on_time_766'"
    ).fetchall()
    assert rows == [("on_time_766", 0, 0, None, None)]
    assert total(scored, "2024-02", "SO-TP")[:2] == (None, 0.0)


@pytest.mark.slow
def test_a_quarter_is_its_own_ratio_judged_at_its_own_instant(scored):
    # Q1: January 1/1 and March 3/6; the quarter is 4/7, not the mean of its months (0.75)
    assert item(scored, "2024-01", "SO-TP", "on_time_766")[:3] == (1, 1, 1.0)
    assert item(scored, "2024-Q1", "SO-TP", "on_time_766") == (4, 7, pytest.approx(4 / 7), 11.43, 20.0)
    # C1 (due 10/5): on time for April (instant 1/5); late for Q2, whose instant is the last record (20/5 10:00)
    assert item(scored, "2024-04", "SO-TP", "on_time_766")[:3] == (1, 1, 1.0)
    assert item(scored, "2024-05", "SO-TP", "on_time_766")[:3] == (1, 1, 1.0)
    assert item(scored, "2024-Q2", "SO-TP", "on_time_766")[:3] == (1, 2, 0.5)
    # the year, judged at 20/5 10:00: B1, A1, A2, D1 on time; A6 and C1 are now past due
    assert item(scored, "2024", "SO-TP", "on_time_766")[:3] == (4, 9, pytest.approx(4 / 9))
    periods = [p for (p,) in scored.execute("SELECT DISTINCT period FROM scorecard_766_totals ORDER BY 1").fetchall()]
    assert periods == ["2024", "2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-Q1", "2024-Q2"]
    types = dict(scored.execute("SELECT DISTINCT period, period_type FROM scorecard_766").fetchall())
    assert (types["2024"], types["2024-Q2"], types["2024-05"]) == ("year", "quarter", "month")


@pytest.mark.slow
def test_the_province_row_is_the_sum_of_its_agencies(scored):
    # March: SO-TP 3/6 and SO-YT 1/2 on time → 4/8
    assert item(scored, "2024-03", "PROVINCE", "on_time_766") == (4, 8, 0.5, 10.0, 20.0)
    assert total(scored, "2024-03", "PROVINCE")[2:] == (None, None)  # not ranked, no group
    mismatches = scored.execute("""
        SELECT p.period, p.indicator_code FROM scorecard_766 AS p
        JOIN (SELECT period, indicator_code, sum(numerator) AS n, sum(denominator) AS d FROM scorecard_766
              WHERE agency_code <> 'PROVINCE' GROUP BY ALL) AS a USING (period, indicator_code)
        WHERE p.agency_code = 'PROVINCE' AND p.denominator IS NOT NULL
          AND (p.denominator <> a.d OR coalesce(p.numerator, -1) <> coalesce(a.n, -1))""").fetchall()
    assert mismatches == []


@pytest.mark.slow
def test_the_published_figure_588_received_486_on_time_earns_16_53(data_dir: Path, registry: Path):
    """BQL các KCN, Phú Thọ, August 2026, as published on the national portal (here as SO-YT, August 2024)."""
    rows = [
        row(f"F{i}", "SO-YT", "20240805080000", "20240812080000", "20240810080000" if i < 486 else "20240814080000")
        for i in range(588)
    ]
    # received at 05:00 on 1 September, Vietnam time (22:00 on 31 August in UTC): a September dossier
    rows.append(row("H1", "SO-TP", "20240901050000", "20240908050000", "20240905050000"))
    write_csv(data_dir / "raw" / "dossiers" / "2024" / "08" / "hoso.csv", HEADER, rows)
    run(data_dir)
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    try:
        assert item(con, "2024-08", "SO-YT", "on_time_766") == (486, 588, pytest.approx(486 / 588), 16.53, 20.0)
        assert item(con, "2024-08", "SO-TP", "on_time_766")[:2] == (0, 0)
        assert item(con, "2024-09", "SO-TP", "on_time_766")[:2] == (1, 1)
    finally:
        con.close()


@pytest.mark.slow
def test_a_night_rescores_only_the_months_its_new_file_touches(data_dir: Path, registry: Path):
    write_csv(data_dir / "raw" / "dossiers" / "2024" / "hoso_2024.csv", HEADER, LOG)
    run(data_dir)
    # tonight's export: one more SO-YT dossier received on 21 May (the log's new last record)
    write_csv(
        data_dir / "raw" / "dossiers" / "2024" / "05" / "hoso_0521.csv",
        HEADER,
        [row("G1", "SO-YT", "20240521090000", "20240528090000", "20240522090000")],
    )
    result = run(data_dir)
    by_year = {
        e.asset_key.path[-1]: e.materialization.metadata["by_year"].value["2024"]
        for e in result.get_asset_materialization_events()
        if e.asset_key.path[-1] in ("scorecard_766_facts", "scorecard_766")
    }
    assert by_year["scorecard_766_facts"] == {
        "files_counted": 1,
        "files_removed": 0,
        "whole_year": 0,
        "dirty_months": 1,
    }
    assert by_year["scorecard_766"] == {"periods": 3, "months": 1}  # 2024-05, 2024-Q2, 2024
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    try:
        assert item(con, "2024-05", "SO-YT", "on_time_766")[:3] == (1, 1, 1.0)
        # Q2 is judged at the new last record (21/5 09:00): C1 (due 10/5) still late, D1 (due 27/5) on time
        assert item(con, "2024-Q2", "PROVINCE", "on_time_766")[:3] == (2, 3, pytest.approx(2 / 3))
        assert item(con, "2024-03", "SO-TP", "on_time_766") == (3, 6, 0.5, 10.0, 20.0)  # kept as it was
    finally:
        con.close()


def scorecard_tables(data_dir: Path) -> dict[str, list[tuple]]:
    """The scorecard's rows and totals, every year and period, in a fixed order."""
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    try:
        return {
            t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("scorecard_766", "scorecard_766_totals")
        }
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.parametrize("night", ["without_the_rubric", "failing_at_the_scoring_step"])
def test_months_to_rescore_stay_marked_until_they_are_scored(
    data_dir: Path, registry: Path, tmp_path: Path, night: str
):
    """A night that builds a new file's facts but scores nothing (no 766 rubric in the deployment's folder, or the
    scoring step failing) must leave its months to the next night that scores: the result equals a rebuild."""
    import shutil

    rubrics = deployment_rubrics(data_dir)
    rubric = rubrics / "periodic" / "766" / "2022.yaml"
    text = rubric.read_text(encoding="utf-8")
    write_csv(data_dir / "raw" / "dossiers" / "2024" / "hoso_2024.csv", HEADER, LOG)
    run(data_dir)
    # tonight's export: four SO-TP dossiers of March finished four days late (the log's last record stays D1)
    write_csv(
        data_dir / "raw" / "dossiers" / "2024" / "03" / "hoso_0322.csv",
        HEADER,
        [row(f"L{i}", "SO-TP", "20240311080000", "20240318080000", "20240322080000", channel=1) for i in range(4)],
    )
    if night == "without_the_rubric":
        shutil.rmtree(rubric.parent)
        result = run(data_dir)
        [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == "scorecard_766"]
        # March waits; the 8 periods scored before (5 months, 2 quarters, the year) are kept, with a warning
        assert event.materialization.metadata["by_year"].value["2024"] == {
            "periods": 0,
            "months_waiting": 1,
            "periods_kept": 8,
        }
        rubric.parent.mkdir()
    else:  # an item the SQL does not compute: the scoring step stops (RubricError), the facts step has run
        rubric.write_text(
            text.replace("{code: paid_online_766, points: 10}", "{code: sync_rate_766, points: 10}").replace(
                "periodic_indicators:\n",
                'periodic_indicators:\n  - {code: sync_rate_766, name_vi: "Tỷ lệ đồng bộ hồ sơ"}\n',
            ),
            encoding="utf-8",
        )
        with dg.DagsterInstance.ephemeral() as instance:
            failed = dg.materialize(
                [*STAGING, scorecard_766_facts, scorecard_766],
                partition_key="2024",
                instance=instance,
                resources=build_resources(data_dir),
                raise_on_error=False,
            )
        assert not failed.success
        assert [e.step_key for e in failed.get_step_failure_events()] == ["scorecard_766"]
    rubric.write_text(text, encoding="utf-8")
    run(data_dir)

    rebuilt = tmp_path / "rebuilt"  # the same raw files and rubrics, scored once from scratch
    shutil.copytree(data_dir / "raw", rebuilt / "raw")
    shutil.copytree(rubrics, rebuilt / "rubrics")
    run(rebuilt)
    assert scorecard_tables(data_dir) == scorecard_tables(rebuilt)
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    try:
        # SO-TP March: A1, A2, A6 on time of A1..A6 (3/6), and the four late ones → 3/10
        assert item(con, "2024-03", "SO-TP", "on_time_766")[:3] == (3, 10, 0.3)
        # Q1: January 1/1 and March 3/10 → 4/11; the year (at 20/5 10:00): B1, A1, A2, D1 of 9 + 4 late → 4/13
        assert item(con, "2024-Q1", "SO-TP", "on_time_766")[:3] == (4, 11, pytest.approx(4 / 11))
        assert item(con, "2024", "SO-TP", "on_time_766")[:3] == (4, 13, pytest.approx(4 / 13))
        # the province in March: SO-TP 3/10 and SO-YT 1/2 → 4/12
        assert item(con, "2024-03", "PROVINCE", "on_time_766")[:3] == (4, 12, pytest.approx(4 / 12))
    finally:
        con.close()


@pytest.mark.slow
def test_a_supplement_pauses_a_dossier_only_inside_its_processing_window(data_dir: Path, registry: Path):
    """Supplement dates outside [received, finished] are quarantined by the loader, and never move a due date: a
    dossier nine months late with a request dated 2010 stays late (staged by hand, past the loader's rules); an
    unfinished dossier's supplement pauses it only at an instant by which it was provided."""
    rows = [
        # SO-YT, received 4/3 08:00, due 11/3 08:00
        row(
            "N1",
            "SO-YT",
            "20240304080000",
            "20240311080000",
            "20241211080000",
            channel=1,  # nine months late
            asked="20100115080000",
            replied="20241202080000",
            times=1,
        ),
        row(
            "N2",
            "SO-YT",
            "20240304080000",
            "20240311080000",
            "20240313080000",
            channel=1,  # paused 3 days: on time
            asked="20240305080000",
            replied="20240308080000",
            times=1,
        ),
        row(
            "N3",
            "SO-YT",
            "20240304080000",
            "20240311080000",
            "20240313080000",
            channel=1,
            asked="20240305080000",
            replied="20240320080000",
            times=1,
        ),
        row(
            "N4",
            "SO-YT",
            "20240304080000",
            "20240311080000",
            "20240313080000",
            channel=1,
            asked="20240314080000",
            replied="20240316080000",
            times=1,
        ),
        row(
            "N5",
            "SO-YT",
            "20240304080000",
            "20240311080000",
            "20240313080000",
            channel=1,
            asked="20240308080000",
            replied="20240305080000",
            times=1,
        ),
        # SO-TP, unfinished, received 20/3, due 28/3; March and Q1 are judged at 1/4, the year at 20/5 10:00 (P1)
        row(
            "O1",
            "SO-TP",
            "20240320080000",
            "20240328080000",
            status=4,
            channel=1,  # provided 30/3: due 5/4
            asked="20240322080000",
            replied="20240330080000",
            times=1,
        ),
        row(
            "O2",
            "SO-TP",
            "20240320080000",
            "20240328080000",
            status=4,
            channel=1,  # provided 3/4, after 1/4
            asked="20240322080000",
            replied="20240403080000",
            times=1,
        ),
        row(
            "O3",
            "SO-TP",
            "20240320080000",
            "20240328080000",
            status=4,
            channel=1,  # provided in 2030
            asked="20240322080000",
            replied="20300101080000",
            times=1,
        ),
        row("P1", "SO-TP", "20240520100000", "20240527100000", "20240522100000"),
    ]
    write_csv(data_dir / "raw" / "dossiers" / "2024" / "03" / "hoso.csv", HEADER, rows)
    run(data_dir)
    warehouse = data_dir / "warehouse" / "egov.duckdb"
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        held = con.execute(
            "SELECT line, rule, reason FROM quarantine WHERE source = 'dossiers' ORDER BY line"
        ).fetchall()
        assert held == [
            (2, "rule", "NgayYeuCauBoSung (supplement requested) is before NgayTiepNhan (received)"),
            (4, "rule", "NgayCongDanBoSung (supplement provided) is after NgayKetThucXuLy (processing finished)"),
            (
                5,
                "rule",
                "NgayYeuCauBoSung (supplement requested) is after NgayKetThucXuLy (processing finished); "
                "NgayCongDanBoSung (supplement provided) is after NgayKetThucXuLy (processing finished)",
            ),
            (6, "rule", "NgayCongDanBoSung (supplement provided) is before NgayYeuCauBoSung (supplement requested)"),
        ]
        assert item(con, "2024-03", "SO-YT", "on_time_766")[:2] == (1, 1)  # N2
        # at 1/4: O1 due 5/4 on time; O2 not provided yet, due 28/3: late; O3 not provided yet: late
        assert item(con, "2024-03", "SO-TP", "on_time_766")[:2] == (1, 3)
        assert item(con, "2024-Q1", "SO-TP", "on_time_766")[:2] == (1, 3)
        # at 20/5 10:00: O1 (due 5/4) and O2 (provided, due 28/3 + 12 days = 9/4) late, O3 late; P1 on time
        assert item(con, "2024", "SO-TP", "on_time_766")[:2] == (1, 4)
    finally:
        con.close()

    # N1 staged by hand (an analyst's fix typed into staging, past the loader's rules): nine months late it stays
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(
            "INSERT INTO stg_dossiers (year, MaHoSo, MaTTHC, DonViXuLy, KenhThucHien, MucDo, NgayTiepNhan, "
            "NgayHenTra, NgayKetThucXuLy, TrangThaiHoSo, NgayYeuCauBoSung, NgayCongDanBoSung, SoLanBoSung) "
            "VALUES (2024, 'N1', 'P1', 'SO-YT', 1, 3, TIMESTAMP '2024-03-04 08:00:00', "
            "TIMESTAMP '2024-03-11 08:00:00', TIMESTAMP '2024-12-11 08:00:00', 10, "
            "TIMESTAMP '2010-01-15 08:00:00', TIMESTAMP '2024-12-02 08:00:00', 1)"
        )
    finally:
        con.close()
    run(data_dir)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert item(con, "2024-03", "SO-YT", "on_time_766")[:2] == (1, 2)  # N2 on time, N1 late
    finally:
        con.close()


# --- the sample province: every month of its years, the monthly page, the agency pages, the workbook -------------


def marts(province: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(province / "marts" / "egov.duckdb"), read_only=True)


def test_the_sample_is_scored_for_every_month_quarter_and_year(province: Path):
    from conftest import YEARS

    con = marts(province)
    try:
        periods = {
            p
            for (p,) in con.execute(
                "SELECT DISTINCT period FROM scorecard_766_totals WHERE agency_code = 'PROVINCE'"
            ).fetchall()
        }
        expected = {f"{y}-{m:02d}" for y in YEARS for m in range(1, 13)} | {
            f"{y}-Q{q}" for y in YEARS for q in range(1, 5)
        }
        assert periods == expected | {str(y) for y in YEARS}
        # the optional sync columns are in the sample: the flag items have values, growing from year to year
        shares = dict(
            con.execute(
                "SELECT period, value FROM scorecard_766 WHERE agency_code = 'PROVINCE' "
                "AND indicator_code = 'e_result_766' AND period_type = 'year'"
            ).fetchall()
        )
        assert 0 < shares["2023"] < shares["2024"] < shares["2025"] < 1
        # the province row sums its agencies, every period and item
        off = con.execute("""
            SELECT count(*) FROM scorecard_766 AS p
            JOIN (SELECT period, indicator_code, sum(denominator) AS d FROM scorecard_766
                  WHERE agency_code <> 'PROVINCE' GROUP BY ALL) AS a USING (period, indicator_code)
            WHERE p.agency_code = 'PROVINCE' AND p.denominator <> a.d""").fetchone()[0]
        assert off == 0
        # a total reads x of y computable points: never above them; with the sample's catalogue sync flags,
        # NgayDongBo, ratings and feedback (from 2022), the province computes all 100 points every period
        bad = con.execute(
            "SELECT count(*) FROM scorecard_766_totals WHERE total_points > computable_max + 1e-9 "
            "OR computable_max > 100 + 1e-9"
        ).fetchone()[0]
        assert bad == 0
        assert (
            con.execute(
                "SELECT count(*) FROM scorecard_766_totals WHERE agency_code = 'PROVINCE' AND computable_max <> 100"
            ).fetchone()[0]
            == 0
        )
        # the trace: every agency's month and item has exactly as many records lost as its denominator minus its
        # numerator (none when the item has no value)
        off = con.execute("""
            SELECT count(*) FROM scorecard_766 AS s
            LEFT JOIN (SELECT period, agency_code, indicator_code, count(*) AS n FROM scorecard_766_dossiers
                       GROUP BY ALL) AS t USING (period, agency_code, indicator_code)
            WHERE s.period_type = 'month' AND s.agency_code <> 'PROVINCE'
              AND coalesce(t.n, 0) <> CASE WHEN s.points IS NOT NULL THEN s.denominator - s.numerator ELSE 0 END
            """).fetchone()[0]
        assert off == 0
        assert con.execute("SELECT count(DISTINCT indicator_code) FROM scorecard_766_dossiers").fetchone()[0] >= 10
    finally:
        con.close()


def test_the_year_report_links_the_monthly_page_and_agency_pages_show_their_months(province: Path):
    import re

    from openpyxl import load_workbook

    year_dir = province / "marts" / "reports" / "2024"
    assert 'href="chi-so-766.html"' in (year_dir / "index.html").read_text(encoding="utf-8")
    page = (year_dir / "chi-so-766.html").read_text(encoding="utf-8")
    con = marts(province)
    try:
        total, computable = con.execute(
            "SELECT total_points, computable_max FROM scorecard_766_totals "
            "WHERE period = '2024-08' AND agency_code = 'SO-YT'"
        ).fetchone()
        cell = re.search(
            r'<tr data-agency="SO-YT">.*?<td class="num" data-period="2024-08"[^>]*>([^<]*)<span '
            r'class="of">/([^<]*)</span>',
            page,
            re.S,
        )
        assert cell and cell.groups() == (f"{total:.2f}".replace(".", ","), f"{computable:g}".replace(".", ","))
        assert "Tỷ lệ điểm đạt" in page or "tỷ lệ điểm đạt" in page  # the province's trend chart
        # the agency page: its months, and the items it lost most points on in the latest month (December)
        lost = con.execute("""
            SELECT i.name_vi FROM scorecard_766 AS s JOIN scorecard_766_items AS i
                 ON i.year = 2024 AND i.indicator_code = s.indicator_code
            WHERE s.period = '2024-12' AND s.agency_code = 'SO-YT' AND s.points < s.max_points
            ORDER BY s.max_points - s.points DESC, i.criterion_order, i.item_order LIMIT 3""").fetchall()
    finally:
        con.close()
    profile = (year_dir / "co-quan" / "SO-YT.html").read_text(encoding="utf-8")
    section = profile[profile.index('id="chi-so-766"') :]
    assert section.count('<tr data-period="2024-') == 12
    shown = re.findall(r"<li>([^:<]+): mất", section[section.index('class="lost-766"') :])
    assert shown == [name for (name,) in lost] and len(shown) >= 1
    # the records that cost it most in its latest month, each a record the trace holds for it then
    con = marts(province)
    try:
        traced = {
            r
            for (r,) in con.execute(
                "SELECT record_code FROM scorecard_766_dossiers WHERE period = '2024-12' AND agency_code = 'SO-YT'"
            ).fetchall()
        }
    finally:
        con.close()
    listed = re.findall(r'<tr data-record="([^"]+)">', section)
    assert 1 <= len(listed) <= 10 and set(listed) <= traced
    book = load_workbook(year_dir / "xep_hang_2024.xlsx", read_only=True)
    records_sheet = [r for r in book["Hồ sơ mất điểm 766"].iter_rows(values_only=True) if r[0] == "SO-YT"]
    assert [r[4] for r in records_sheet] == listed
    sheet = load_workbook(year_dir / "xep_hang_2024.xlsx", read_only=True)["Chỉ số 766 theo tháng"]
    rows = list(sheet.iter_rows(values_only=True))
    assert "T8: điểm" in rows[2]
    so_yt = next(r for r in rows if r[1] == "SO-YT")
    assert so_yt[rows[2].index("T8: điểm")] == pytest.approx(total)


# --- the periodic rubric as data: where it lives, what it may name -------------------------------------------------


def deployment_rubrics(data_dir: Path) -> Path:
    """A deployment's own rubric folder: the bundled annual rubric and the 766 folder, to edit in a test."""
    import shutil

    from conftest import PROJECT

    rubrics = data_dir / "rubrics"
    shutil.copytree(PROJECT / "config" / "rubrics", rubrics, ignore=shutil.ignore_patterns("published"))
    return rubrics


def test_the_766_rubric_is_in_force_from_2022_and_cites_its_points(data_dir: Path):
    from pipelines.core.registry import load_registry

    registry = load_registry(data_dir)
    assert registry.periodic_rubric("766", 2021) is None  # before the decision: no scorecard
    rubric = registry.periodic_rubric("766", 2026)
    assert (rubric.year, rubric.period, rubric.maximum) == (2022, "month", 100)
    assert list(registry.rubrics) == [2016]  # not picked up as an annual rubric
    criteria = next(iter(rubric.variants.values())).criteria
    # the decision's six groups and their points
    assert [c.max_points for c in criteria] == [18, 20, 12, 10, 22, 18]
    # every item is computed (issue 27): the transparency and satisfaction groups from the optional inputs
    not_computable = sum(i.points for c in criteria for i in c.items if not rubric.indicators[i.code].computable)
    assert not_computable == 0
    assert [[i.points for i in c.items] for c in criteria] == [[9, 9], [20], [12], [10], [5.5] * 4, [6, 6, 6]]


def test_a_monthly_rubric_among_the_annual_ones_is_refused(data_dir: Path):
    from pipelines.core.registry import load_registry
    from pipelines.core.registry.reading import RubricError

    rubrics = deployment_rubrics(data_dir)
    (rubrics / "2022.yaml").write_text(
        (rubrics / "periodic" / "766" / "2022.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with pytest.raises(RubricError, match=r"2022.yaml: period: a monthly rubric belongs in periodic/<name>/"):
        load_registry(data_dir)


def test_a_periodic_item_must_be_declared_and_computed(data_dir: Path):
    from assets.scorecard.build import check_rubric
    from pipelines.core.registry import load_registry
    from pipelines.core.registry.reading import RubricError

    path = deployment_rubrics(data_dir) / "periodic" / "766" / "2022.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("{code: paid_online_766, points: 10}", "{code: paid_later_766, points: 10}"), encoding="utf-8"
    )
    with pytest.raises(
        RubricError,
        match=r"criterion 'online_payment', indicator 'paid_later_766': unknown "
        r"indicator code",
    ):
        load_registry(data_dir)
    # declared, but no SQL computes it: the run stops instead of scoring it NULL every month
    path.write_text(
        text.replace("{code: paid_online_766, points: 10}", "{code: sync_rate_766, points: 10}").replace(
            "periodic_indicators:\n",
            'periodic_indicators:\n  - {code: sync_rate_766, name_vi: "Tỷ lệ đồng bộ hồ sơ"}\n',
        ),
        encoding="utf-8",
    )
    rubric = load_registry(data_dir).periodic_rubric("766", 2024)
    with pytest.raises(RubricError, match=r"periodic_indicators \['sync_rate_766'\] are marked computable"):
        check_rubric(rubric)
