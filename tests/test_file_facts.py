"""Dossier facts and dossier check counts kept per raw file (pipelines/core/file_facts.py): through real Dagster
runs of the staging and dossier-indicator assets on a real DuckDB warehouse, every change of the files (a new
night's file, a changed file, a duplicate that a full refresh gives to another file, a removed file, rows staged by
hand) leaves facts equal to counting the staged log from scratch (this file's own SQL), a night counts its new file
only, and the staging checks still find a copy of a dossier that arrives in another year's file.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest
from conftest import DOSSIER_HEADER, dossier, write_csv

from expectations.gx_runner import load_frames
from expectations.sql_checks import run_sql_checks
from pipelines.defs.indicators import dossier_indicators_ytd
from pipelines.defs.ingestion import ingestion_assets
from pipelines.defs.resources import build_resources

pytestmark = pytest.mark.slow  # each test runs the ingestion and indicator assets in Dagster, night after night

STAGING = [a for a in ingestion_assets if a.key.path[-1] in ("stg_agencies", "stg_services", "stg_dossiers")]
# Counted from the staged log directly: the definitions of docs/domain.md §4, written here independently.
FROM_SCRATCH = """
SELECT month(NgayTiepNhan) AS month, DonViXuLy AS agency, MaTTHC AS procedure, MucDo AS mucdo,
       count(*) AS received,
       count(*) FILTER (WHERE TrangThaiHoSo NOT IN (1, 3)) AS accepted,
       count(*) FILTER (WHERE TrangThaiHoSo NOT IN (1, 3) AND KenhThucHien = 2) AS accepted_online,
       count(*) FILTER (WHERE TrangThaiHoSo IN (9, 10)) AS processed,
       count(*) FILTER (WHERE TrangThaiHoSo IN (9, 10) AND NgayKetThucXuLy <= NgayHenTra) AS on_time,
       count(*) FILTER (WHERE TrangThaiHoSo NOT IN (1, 3) AND LePhi > 0) AS with_fee,
       count(*) FILTER (WHERE TrangThaiHoSo NOT IN (1, 3) AND LePhi > 0 AND DuocThanhToanTrucTuyen IN (1, 2))
           AS paid_online,
       count(*) FILTER (WHERE TrangThaiHoSo NOT IN (1, 3) AND HoSoCoThanhPhanSoHoa = 1) AS digitised
FROM stg_dossiers WHERE year = 2024 GROUP BY ALL ORDER BY ALL"""
KEPT = """
SELECT month, agency_code, procedure_code, mucdo, sum(received), sum(accepted), sum(accepted_online),
       sum(processed), sum(processed_on_time), sum(accepted_with_fee), sum(paid_online), sum(digitised)
FROM dossier_file_facts WHERE year = 2024 GROUP BY ALL ORDER BY ALL"""


def night(data_dir: Path, *, full_refresh: bool = False, year: int = 2024) -> dict[str, int]:
    """One run of staging and the year-to-date indicators; returns what the dossier facts counted for the year."""
    config = {"ops": {"stg_dossiers": {"config": {"full_refresh": True}}}} if full_refresh else None
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*STAGING, dossier_indicators_ytd],
            partition_key=str(year),
            instance=instance,
            resources=build_resources(data_dir),
            run_config=config,
        )
    assert result.success
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == "dossier_indicators_ytd"]
    return event.materialization.metadata["rows"].value["dossier_facts"][str(year)]


def facts_and_scratch(data_dir: Path) -> tuple[list[tuple], list[tuple]]:
    """The kept facts and the log counted from scratch; checks on the way that the data-quality aggregate (GX's
    dossier_agency_month frame, added up from the kept facts) equals the log counted from scratch by month and
    agency."""
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"))
    try:
        frame = load_frames(con, [2024], ["dossier_agency_month"])["dossier_agency_month"]
        by_agency = con.execute(
            f"SELECT month, agency, sum(COLUMNS(* EXCLUDE (month, agency, procedure, mucdo))) "
            f"FROM ({FROM_SCRATCH}) GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        assert [
            tuple(int(v) if k != "agency_code" else v for k, v in r.items() if k != "year")
            for r in frame.to_dict("records")
        ] == by_agency
        return con.execute(KEPT).fetchall(), con.execute(FROM_SCRATCH).fetchall()
    finally:
        con.close()


def received(data_dir: Path) -> dict[tuple[int, str], int]:
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    try:
        return dict(
            ((m, a), n)
            for m, a, n in con.execute(
                "SELECT month, agency_code, sum(received)::INTEGER FROM dossier_file_facts WHERE year = 2024 "
                "GROUP BY ALL"
            ).fetchall()
        )
    finally:
        con.close()


def test_facts_follow_every_change_of_the_files(data_dir: Path, registry: Path):
    march = data_dir / "raw" / "dossiers" / "2024" / "b_march.csv"
    may = data_dir / "raw" / "dossiers" / "2024" / "a_may.csv"  # sorts first: the first file on a full refresh
    write_csv(
        march,
        DOSSIER_HEADER,
        [
            dossier("K1", "SO-TP", received="20240304080000", fee=20000, paid=1),
            dossier("K2", "SO-YT", received="20240305080000", status=3, level=""),
            dossier("K3", "SO-YT", received="20240306080000", channel=1, finished="20240320080000"),  # late
        ],
    )
    assert night(data_dir) == {"files_counted": 1, "files_removed": 0, "whole_year": 0}
    kept, scratch = facts_and_scratch(data_dir)
    assert kept == scratch and received(data_dir) == {(3, "SO-TP"): 1, (3, "SO-YT"): 2}

    # The next night's file repeats K1 (another agency and month): the staged copy in b_march.csv is kept.
    write_csv(
        may,
        DOSSIER_HEADER,
        [dossier("K1", "SO-YT", received="20240502080000"), dossier("K4", "SO-TP", received="20240503080000")],
    )
    assert night(data_dir) == {"files_counted": 1, "files_removed": 0, "whole_year": 0}
    kept, scratch = facts_and_scratch(data_dir)
    assert kept == scratch and received(data_dir) == {(3, "SO-TP"): 1, (3, "SO-YT"): 2, (5, "SO-TP"): 1}

    # A night with nothing new counts nothing.
    assert night(data_dir) == {"files_counted": 0, "files_removed": 0, "whole_year": 0}

    # b_march.csv is sent again without K3.
    write_csv(
        march,
        DOSSIER_HEADER,
        [
            dossier("K1", "SO-TP", received="20240304080000", fee=20000, paid=1),
            dossier("K2", "SO-YT", received="20240305080000", status=3, level=""),
        ],
    )
    assert night(data_dir) == {"files_counted": 1, "files_removed": 1, "whole_year": 0}
    kept, scratch = facts_and_scratch(data_dir)
    assert kept == scratch and received(data_dir) == {(3, "SO-TP"): 1, (3, "SO-YT"): 1, (5, "SO-TP"): 1}

    # A full refresh takes files in name order: K1 of a_may.csv is now the first one, b_march.csv loses its K1
    # (the counts of a file change with no change of the file itself).
    assert night(data_dir, full_refresh=True) == {"files_counted": 2, "files_removed": 2, "whole_year": 0}
    kept, scratch = facts_and_scratch(data_dir)
    assert kept == scratch and received(data_dir) == {(3, "SO-YT"): 1, (5, "SO-YT"): 1, (5, "SO-TP"): 1}

    may.unlink()
    assert night(data_dir) == {"files_counted": 0, "files_removed": 1, "whole_year": 0}
    kept, scratch = facts_and_scratch(data_dir)
    assert kept == scratch and received(data_dir) == {(3, "SO-YT"): 1}


def test_rows_staged_by_hand_are_counted_by_counting_the_year_again(data_dir: Path, registry: Path):
    write_csv(
        data_dir / "raw" / "dossiers" / "2024" / "01" / "hoso.csv",
        DOSSIER_HEADER,
        [dossier("K1", "SO-TP", received="20240104080000")],
    )
    night(data_dir)
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"))
    try:  # an analyst's fix typed into staging (no file): not from the loader, so no file's facts hold it
        con.execute(
            "INSERT INTO stg_dossiers (year, MaHoSo, MaTTHC, DonViXuLy, KenhThucHien, NgayTiepNhan, "
            "TrangThaiHoSo) VALUES (2024, 'K9', 'P1', 'SO-YT', 2, TIMESTAMP '2024-02-01 08:00:00', 2)"
        )
    finally:
        con.close()
    assert night(data_dir)["whole_year"] == 1
    kept, scratch = facts_and_scratch(data_dir)
    assert kept == scratch and received(data_dir) == {(1, "SO-TP"): 1, (2, "SO-YT"): 1}


def test_a_nights_file_repeating_a_code_of_another_year_is_quarantined_naming_the_first_copy(
    data_dir: Path, registry: Path
):
    """The dossier log's key is unique across years (records that change: versions are resolved over every year).
    A copy without a version in another year's file is a duplicate at ingestion, naming the copy kept; nothing is
    staged twice, so the staged-duplicate check and the per-file repeated keys find none."""
    write_csv(
        data_dir / "raw" / "dossiers" / "2024" / "a.csv",
        DOSSIER_HEADER,
        [dossier("K1", "SO-TP", received="20240304080000"), dossier("K2", "SO-TP", received="20240305080000")],
    )
    night(data_dir)
    write_csv(
        data_dir / "raw" / "dossiers" / "2025" / "b.csv",
        DOSSIER_HEADER,
        [dossier("K1", "SO-YT", received="20250106080000"), dossier("K3", "SO-YT", received="20250107080000")],
    )
    night(data_dir, year=2025)
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"))
    try:
        assert con.execute("SELECT year, file, line, rule, reason FROM quarantine").fetchall() == [
            (
                2025,
                "dossiers/2025/b.csv",
                2,
                "duplicate",
                "duplicate MaHoSo K1: the first one is kept (dossiers/2024/a.csv:2)",
            )
        ]
        assert con.execute("SELECT year, MaHoSo FROM stg_dossiers ORDER BY 1, 2").fetchall() == [
            (2024, "K1"),
            (2024, "K2"),
            (2025, "K3"),
        ]
        [dup] = run_sql_checks(con, [2024, 2025], names=["dossier_duplicate_mahoso"])
        assert dup.failed == 0
        assert con.execute(
            "SELECT year, source_file, received, repeated_keys FROM dossier_file_checks ORDER BY year"
        ).fetchall() == [(2024, "dossiers/2024/a.csv", 2, 0), (2025, "dossiers/2025/b.csv", 1, 0)]
    finally:
        con.close()
