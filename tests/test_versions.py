"""Records that change (config/sources.yaml `key` + `version`, docs/raw_contracts.md "Records that change"): an
incremental feed sends a dossier again at each change of state; the latest version of each key across the files of
every year is the record, older versions are superseded (counted, not quarantined), and the staged log, the per-file
facts, the indicators and the QĐ 766 scorecard after night-by-night loads equal those of a full reload of a single
export of the final state. Expected values are worked out by hand from the rows written here.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from conftest import DOSSIER_HEADER, dossier, write_csv

from assets.ingestion.load import ingest
from pipelines.core.registry.sources import load_sources
from pipelines.core.warehouse import connect

CONTRACTS = load_sources()
HEADER = DOSSIER_HEADER + ["NgayCapNhat"]
STAGED = (
    "SELECT MaHoSo, DonViXuLy, NgayTiepNhan, NgayKetThucXuLy, TrangThaiHoSo, NgayCapNhat FROM stg_dossiers "
    "ORDER BY MaHoSo"
)


def hs(
    code: str,
    version: str,
    *,
    received: str = "20240305080000",
    status: int = 10,
    finished: str | None = None,
    agency: str = "SO-TP",
) -> list[object]:
    """A dossier row with its version (NgayCapNhat); an unfinished one (status 4) has no finish or return date."""
    if status != 10:
        return dossier(code, agency, received=received, status=status, finished="", returned="") + [version]
    return dossier(code, agency, received=received, finished=finished) + [version]


def load(con: duckdb.DuckDBPyConnection, raw: Path, **kw):
    return ingest(con, CONTRACTS["dossiers"], raw, 2024, **kw)


def files(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "SELECT file, rows_read, rows_loaded, rows_quarantined, rows_superseded FROM ingested_files "
        "WHERE source = 'dossiers' ORDER BY file"
    ).fetchall()


def quarantine(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "SELECT file, line, rule, reason FROM quarantine WHERE source = 'dossiers' ORDER BY file, line"
    ).fetchall()


def test_a_dossier_sent_again_in_a_later_month_is_one_record_its_latest_state(con, data_dir):
    raw = data_dir / "raw"
    march = raw / "dossiers" / "2024" / "03" / "changed_0305.csv"
    april = raw / "dossiers" / "2024" / "04" / "changed_0402.csv"
    # March: HS1 received and being processed, HS2 received and finished.
    write_csv(
        march, HEADER, [hs("HS1", "20240305090000", status=4), hs("HS2", "20240306090000", received="20240306080000")]
    )
    report = load(con, raw)
    assert (report.rows_read, report.rows_loaded, report.rows_superseded) == (2, 2, 0)
    # April: HS1 finished on 2 April (received in March still), HS3 new.
    write_csv(
        april,
        HEADER,
        [
            hs("HS1", "20240402090000", finished="20240402080000"),
            hs("HS3", "20240403090000", received="20240403080000"),
        ],
    )
    report = load(con, raw)
    assert report.skipped_unchanged == 1  # the March file is not read again
    final = [
        ("HS1", "SO-TP", datetime(2024, 3, 5, 8), datetime(2024, 4, 2, 8), 10, datetime(2024, 4, 2, 9)),
        ("HS2", "SO-TP", datetime(2024, 3, 6, 8), datetime(2024, 3, 10, 8), 10, datetime(2024, 3, 6, 9)),
        ("HS3", "SO-TP", datetime(2024, 4, 3, 8), datetime(2024, 4, 7, 8), 10, datetime(2024, 4, 3, 9)),
    ]
    assert con.execute(STAGED).fetchall() == final
    # The March file's HS1 moved from loaded to superseded; nothing is quarantined.
    assert files(con) == [
        ("dossiers/2024/03/changed_0305.csv", 2, 1, 0, 1),
        ("dossiers/2024/04/changed_0402.csv", 2, 2, 0, 0),
    ]
    assert quarantine(con) == []
    assert con.execute("SELECT source_file FROM stg_dossiers WHERE MaHoSo = 'HS1'").fetchall() == [
        ("dossiers/2024/04/changed_0402.csv",)
    ]

    # A late export of an older state of HS1 (version 1 April) changes nothing but its own count.
    write_csv(raw / "dossiers" / "2024" / "04" / "late_0401.csv", HEADER, [hs("HS1", "20240401090000", status=4)])
    load(con, raw)
    assert con.execute(STAGED).fetchall() == final
    assert files(con)[2] == ("dossiers/2024/04/late_0401.csv", 1, 0, 0, 1)

    # A full reload gives the same records and counts.
    before = files(con)
    load(con, raw, full_refresh=True)
    assert con.execute(STAGED).fetchall() == final and files(con) == before and quarantine(con) == []

    # So does a single export of the final state, in another warehouse.
    other = data_dir.parent / "other"
    shutil.copytree(raw / "agencies", other / "raw" / "agencies")
    write_csv(
        other / "raw" / "dossiers" / "2024" / "all.csv",
        HEADER,
        [
            hs("HS1", "20240402090000", finished="20240402080000"),
            hs("HS2", "20240306090000", received="20240306080000"),
            hs("HS3", "20240403090000", received="20240403080000"),
        ],
    )
    once = connect(other / "egov.duckdb")
    try:
        ingest(once, CONTRACTS["agencies"], other / "raw", None)
        load(once, other / "raw")
        assert once.execute(STAGED).fetchall() == final
    finally:
        once.close()


def test_same_version_with_other_values_is_quarantined_as_conflicting(con, data_dir):
    raw = data_dir / "raw"
    write_csv(raw / "dossiers" / "2024" / "a.csv", HEADER, [hs("HS1", "20240310090000", status=4)])
    load(con, raw)
    # b.csv: HS1 again under the same version, finished (other values): conflicting; HS2 twice, the same state
    # under the same version (an overlap of two exports): one record, the copy superseded.
    write_csv(
        raw / "dossiers" / "2024" / "b.csv",
        HEADER,
        [hs("HS1", "20240310090000"), hs("HS2", "20240311090000"), hs("HS2", "20240311090000")],
    )
    load(con, raw)
    assert quarantine(con) == [
        (
            "dossiers/2024/b.csv",
            2,
            "conflicting",
            "conflicting MaHoSo HS1: version 2024-03-10 09:00:00 is also in dossiers/2024/a.csv:2 with other values: "
            "the first one is kept",
        )
    ]
    assert con.execute(
        "SELECT MaHoSo, TrangThaiHoSo, source_file, source_line FROM stg_dossiers ORDER BY 1"
    ).fetchall() == [("HS1", 4, "dossiers/2024/a.csv", 2), ("HS2", 10, "dossiers/2024/b.csv", 3)]
    assert files(con) == [("dossiers/2024/a.csv", 1, 1, 0, 0), ("dossiers/2024/b.csv", 3, 1, 1, 1)]


def test_without_a_version_the_duplicate_rule_stands(con, data_dir):
    """Rows whose version is empty keep the first of each key, as a contract without key/version does; a row with
    a version supersedes them."""
    raw = data_dir / "raw"
    write_csv(raw / "dossiers" / "2024" / "a.csv", HEADER, [hs("HS1", ""), hs("HS1", ""), hs("HS2", "")])
    write_csv(raw / "dossiers" / "2024" / "b.csv", HEADER, [hs("HS2", "20240320090000", status=4)])
    load(con, raw)
    assert quarantine(con) == [
        ("dossiers/2024/a.csv", 3, "duplicate", "duplicate MaHoSo HS1: the first one is kept (dossiers/2024/a.csv:2)")
    ]
    assert con.execute("SELECT MaHoSo, TrangThaiHoSo, source_file FROM stg_dossiers ORDER BY 1").fetchall() == [
        ("HS1", 10, "dossiers/2024/a.csv"),
        ("HS2", 4, "dossiers/2024/b.csv"),
    ]
    assert files(con) == [("dossiers/2024/a.csv", 3, 1, 1, 1), ("dossiers/2024/b.csv", 1, 1, 0, 0)]


def test_a_removed_file_gives_back_the_versions_it_superseded(con, data_dir):
    raw = data_dir / "raw"
    write_csv(raw / "dossiers" / "2024" / "a.csv", HEADER, [hs("HS1", "20240305090000", status=4)])
    later = write_csv(raw / "dossiers" / "2024" / "b.csv", HEADER, [hs("HS1", "20240306090000")])
    load(con, raw)
    assert con.execute("SELECT TrangThaiHoSo FROM stg_dossiers").fetchall() == [(10,)]
    later.unlink()
    load(con, raw)
    assert con.execute("SELECT TrangThaiHoSo, source_file FROM stg_dossiers").fetchall() == [(4, "dossiers/2024/a.csv")]
    assert files(con) == [("dossiers/2024/a.csv", 1, 1, 0, 0)]


# The night's facts, the indicators and the 766 scorecard: real Dagster runs, night after night, then a full reload.
FACTS = (
    "SELECT month, agency_code, sum(received), sum(accepted), sum(processed), sum(processed_on_time) "
    "FROM dossier_file_facts WHERE year = 2024 GROUP BY ALL ORDER BY ALL"
)
SCORECARD = (
    "SELECT period, agency_code, indicator_code, numerator, denominator, value, points FROM scorecard_766 "
    "WHERE agency_code <> 'PROVINCE' ORDER BY ALL"
)
INDICATORS = "SELECT * FROM dossier_indicators_ytd WHERE year = 2024 ORDER BY ALL"


def night(data_dir: Path, *, full_refresh: bool = False) -> dict[str, list[tuple]]:
    from pipelines.defs.indicators import dossier_indicators_ytd
    from pipelines.defs.ingestion import ingestion_assets
    from pipelines.defs.resources import build_resources
    from pipelines.defs.scorecard import scorecard_766, scorecard_766_facts

    staging = [a for a in ingestion_assets if a.key.path[-1] in ("stg_agencies", "stg_services", "stg_dossiers")]
    config = {"ops": {"stg_dossiers": {"config": {"full_refresh": True}}}} if full_refresh else None
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*staging, dossier_indicators_ytd, scorecard_766_facts, scorecard_766],
            partition_key="2024",
            instance=instance,
            resources=build_resources(data_dir),
            run_config=config,
        )
    assert result.success
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    try:
        figures = {
            name: con.execute(sql).fetchall()
            for name, sql in (("facts", FACTS), ("scorecard", SCORECARD), ("indicators", INDICATORS))
        }
        assert all(figures.values())
        return figures
    finally:
        con.close()


@pytest.mark.slow
def test_night_by_night_changes_give_the_figures_of_a_full_reload(data_dir: Path, registry: Path):
    dossiers = data_dir / "raw" / "dossiers" / "2024"
    # Night 1 (5 March): HS1 received 5 March, being processed (due 10 March); HS2 received and finished on time.
    write_csv(
        dossiers / "changed_20240305.csv", HEADER, [hs("HS1", "20240305090000", status=4), hs("HS2", "20240305100000")]
    )
    first = night(data_dir)
    # Received in March: 2, accepted 2, processed 1 (HS2), on time 1.
    assert first["facts"] == [(3, "SO-TP", 2, 2, 1, 1)]
    # Night 2 (12 April): HS1 finished on 12 April, late; it stays a March dossier, counted once.
    write_csv(dossiers / "changed_20240412.csv", HEADER, [hs("HS1", "20240412090000", finished="20240412080000")])
    second = night(data_dir)
    assert second["facts"] == [(3, "SO-TP", 2, 2, 2, 1)]
    # The counts reconcile with the superseded version (read 3 = loaded 2 + superseded 1); no copy of a key is staged.
    from expectations.sql_checks import run_sql_checks

    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"))
    try:
        checks = run_sql_checks(con, [2024], names=["ingest_reconciliation", "dossier_duplicate_mahoso"])
        assert {c.name: c.failed for c in checks} == {"ingest_reconciliation": 0, "dossier_duplicate_mahoso": 0}
        assert con.execute(
            "SELECT sum(rows_read), sum(rows_loaded), sum(rows_superseded) FROM ingested_files "
            "WHERE source = 'dossiers'"
        ).fetchone() == (3, 2, 1)
    finally:
        con.close()
    # A full reload of the same files, and of one export of the final state, give the same figures.
    assert night(data_dir, full_refresh=True) == second
    for f in dossiers.iterdir():
        f.unlink()
    write_csv(
        dossiers / "final.csv",
        HEADER,
        [hs("HS1", "20240412090000", finished="20240412080000"), hs("HS2", "20240305100000")],
    )
    assert night(data_dir) == second


def test_a_copy_of_a_loaded_version_in_a_later_file_is_superseded_not_conflicting(con, data_dir):
    """An extract read again after a crash sends rows already loaded: the staged row (typed as staging stores it)
    and the parsed copy are the same state."""
    raw = data_dir / "raw"
    write_csv(raw / "dossiers" / "2024" / "a.csv", HEADER, [hs("HS1", "20240305090000", status=4)])
    load(con, raw)
    write_csv(raw / "dossiers" / "2024" / "b.csv", HEADER, [hs("HS1", "20240305090000", status=4)])
    load(con, raw)
    assert quarantine(con) == []
    assert files(con) == [("dossiers/2024/a.csv", 1, 1, 0, 0), ("dossiers/2024/b.csv", 1, 0, 0, 1)]


# Versions across years: the reception date (NgayTiepNhan) decides a dossier's year folder; a corrected reception
# date, or an export filing a new version under another year, moves the record. The latest version across every
# year of the source is the only staged record, whichever year is loaded first.
MOVED = "SELECT year, MaHoSo, NgayTiepNhan, TrangThaiHoSo, source_file FROM stg_dossiers ORDER BY MaHoSo"
# HS1 received 30 Dec 2024 (being processed), its reception date corrected to 2 Jan 2025 by a later version, which
# the export files under 2025; HS2 stays a 2024 dossier, HS3 a 2025 one.
HS1_2024 = hs("HS1", "20241230090000", received="20241230080000", status=4)
HS1_2025 = hs("HS1", "20250103090000", received="20250102080000")
HS2 = hs("HS2", "20241229090000", received="20241229080000")
HS3 = hs("HS3", "20250104090000", received="20250104080000")
MOVED_FINAL = [
    (2025, "HS1", datetime(2025, 1, 2, 8), 10, "dossiers/2025/b.csv"),
    (2024, "HS2", datetime(2024, 12, 29, 8), 10, "dossiers/2024/a.csv"),
    (2025, "HS3", datetime(2025, 1, 4, 8), 10, "dossiers/2025/b.csv"),
]


def load_year(con: duckdb.DuckDBPyConnection, raw: Path, year: int, **kw):
    return ingest(con, CONTRACTS["dossiers"], raw, year, **kw)


def single_export(data_dir: Path) -> list[tuple]:
    """The staged log of one export of the final state (HS2 in 2024, HS1 and HS3 in 2025) in another warehouse."""
    other = data_dir.parent / "other"
    shutil.copytree(data_dir / "raw" / "agencies", other / "raw" / "agencies")
    write_csv(other / "raw" / "dossiers" / "2024" / "a.csv", HEADER, [HS2])
    write_csv(other / "raw" / "dossiers" / "2025" / "b.csv", HEADER, [HS1_2025, HS3])
    once = connect(other / "egov.duckdb")
    try:
        ingest(once, CONTRACTS["agencies"], other / "raw", None)
        for year in (2024, 2025):
            load_year(once, other / "raw", year)
        return once.execute(MOVED).fetchall()
    finally:
        once.close()


def test_a_later_version_in_another_year_supersedes_the_staged_one(con, data_dir):
    raw = data_dir / "raw"
    write_csv(raw / "dossiers" / "2024" / "a.csv", HEADER, [HS1_2024, HS2])
    load_year(con, raw, 2024)
    # The 2024 file's facts were counted (as the facts step records it): they must be counted again.
    con.execute(
        "INSERT INTO file_facts_built VALUES ('dossier_file_facts', 'dossiers', 2024, 'dossiers/2024/a.csv', 's')"
    )
    write_csv(raw / "dossiers" / "2025" / "b.csv", HEADER, [HS1_2025, HS3])
    report = load_year(con, raw, 2025)
    # HS1 leaves 2024's staging in the 2025 load: one record, in 2025; a.csv: read 2 = loaded 1 + superseded 1.
    assert con.execute(MOVED).fetchall() == MOVED_FINAL
    assert report.other_years == {2024}
    assert files(con) == [("dossiers/2024/a.csv", 2, 1, 0, 1), ("dossiers/2025/b.csv", 2, 2, 0, 0)]
    assert quarantine(con) == []
    built = "SELECT count(*) FROM file_facts_built WHERE source_file = 'dossiers/2024/a.csv'"
    assert con.execute(built).fetchone() == (0,)
    # Each year reconciles (2024: read 2 = loaded 1 + superseded 1, one staged row), and no code is staged twice.
    from expectations.sql_checks import run_sql_checks

    checks = run_sql_checks(con, [2024, 2025], names=["ingest_reconciliation", "dossier_duplicate_mahoso"])
    assert {c.name: c.failed for c in checks} == {"ingest_reconciliation": 0, "dossier_duplicate_mahoso": 0}
    # Loading 2024 again changes nothing (its file is unchanged), and the final state is a single export's.
    assert load_year(con, raw, 2024).skipped_unchanged == 1
    assert con.execute(MOVED).fetchall() == MOVED_FINAL == single_export(data_dir)
    # A full reload of either year gives the same records and counts.
    before = files(con)
    for year in (2024, 2025):
        load_year(con, raw, year, full_refresh=True)
        assert con.execute(MOVED).fetchall() == MOVED_FINAL and files(con) == before


def test_an_older_version_arriving_later_in_another_year_is_superseded(con, data_dir):
    raw = data_dir / "raw"
    write_csv(raw / "dossiers" / "2025" / "b.csv", HEADER, [HS1_2025, HS3])
    load_year(con, raw, 2025)
    # The 2024 export with HS1's older state arrives after the 2025 one was loaded.
    write_csv(raw / "dossiers" / "2024" / "a.csv", HEADER, [HS1_2024, HS2])
    report = load_year(con, raw, 2024)
    assert (report.rows_read, report.rows_loaded, report.rows_superseded, report.other_years) == (2, 1, 1, set())
    assert con.execute(MOVED).fetchall() == MOVED_FINAL == single_export(data_dir)
    assert files(con) == [("dossiers/2024/a.csv", 2, 1, 0, 1), ("dossiers/2025/b.csv", 2, 2, 0, 0)]
    assert quarantine(con) == []


def test_the_same_version_in_two_years_with_other_values_is_conflicting(con, data_dir):
    raw = data_dir / "raw"
    write_csv(raw / "dossiers" / "2024" / "a.csv", HEADER, [HS1_2024])
    load_year(con, raw, 2024)
    # The same version of HS1 filed under 2025 with another reception date: two states under one version.
    write_csv(raw / "dossiers" / "2025" / "b.csv", HEADER, [hs("HS1", "20241230090000", received="20250102080000")])
    load_year(con, raw, 2025)
    assert quarantine(con) == [
        (
            "dossiers/2025/b.csv",
            2,
            "conflicting",
            "conflicting MaHoSo HS1: version 2024-12-30 09:00:00 is also in dossiers/2024/a.csv:2 with other values: "
            "the first one is kept",
        )
    ]
    assert con.execute("SELECT year, MaHoSo, source_file FROM stg_dossiers").fetchall() == [
        (2024, "HS1", "dossiers/2024/a.csv")
    ]


def test_a_removed_file_gives_back_the_version_it_superseded_in_another_year(con, data_dir):
    raw = data_dir / "raw"
    write_csv(raw / "dossiers" / "2024" / "a.csv", HEADER, [HS1_2024, HS2])
    later = write_csv(raw / "dossiers" / "2025" / "b.csv", HEADER, [HS1_2025, HS3])
    load_year(con, raw, 2024)
    load_year(con, raw, 2025)
    later.unlink()
    report = load_year(con, raw, 2025)
    # The 2025 file went: HS1's 2024 version is the record again, read back in the same load.
    assert report.other_years == {2024}
    assert con.execute(MOVED).fetchall() == [
        (2024, "HS1", datetime(2024, 12, 30, 8), 4, "dossiers/2024/a.csv"),
        (2024, "HS2", datetime(2024, 12, 29, 8), 10, "dossiers/2024/a.csv"),
    ]
    assert files(con) == [("dossiers/2024/a.csv", 2, 2, 0, 0)]


YEARS_FACTS = (
    "SELECT year, month, agency_code, sum(received), sum(accepted), sum(processed), sum(processed_on_time) "
    "FROM dossier_file_facts GROUP BY ALL ORDER BY ALL"
)
RANKINGS = "SELECT year, agency_group, agency_code, total_points, rank, classification FROM rankings ORDER BY ALL"


def year_night(data_dir: Path, year: int) -> tuple[dict[str, list[tuple]], list[int]]:
    """One Dagster run of `year`: every load, the indicators, scores and rankings, the 766 scorecard; returns the
    figures of every year, and the other years whose staged rows the run's loads changed, which `egov run` and
    other_years_sensor (evaluated here on the run) run after it."""
    from pipelines.defs.indicators import dossier_indicators_ytd, indicator_values
    from pipelines.defs.ingestion import ingestion_assets, years_changed
    from pipelines.defs.resources import build_resources
    from pipelines.defs.scorecard import scorecard_766, scorecard_766_facts
    from pipelines.defs.scoring import scores
    from pipelines.defs.sensors import other_years_sensor

    assets = [*ingestion_assets, indicator_values, scores, dossier_indicators_ytd, scorecard_766_facts, scorecard_766]
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(assets, partition_key=str(year), instance=instance, resources=build_resources(data_dir))
        assert result.success
        others = years_changed(result.all_events)
        # What other_years_sensor asks for after this run, in the daemon (the CLI's rule, tested below).
        [success] = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)
        context = dg.build_run_status_sensor_context(
            sensor_name="other_years_sensor",
            dagster_event=success.dagster_event,
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(result.run_id),
        )
        requested = [int(r.partition_key) for r in other_years_sensor(context)]
        assert requested == [y for y in others if y != year]
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    try:
        figures = {
            name: con.execute(sql).fetchall()
            for name, sql in (
                ("facts", YEARS_FACTS),
                ("scorecard", SCORECARD),
                ("indicators", "SELECT * FROM dossier_indicators_ytd ORDER BY ALL"),
                ("rankings", RANKINGS),
            )
        }
        return figures, others
    finally:
        con.close()


@pytest.mark.slow
def test_a_dossier_moving_between_years_gives_the_figures_of_a_full_reload(
    tmp_path: Path, data_dir: Path, registry: Path
):
    """Night by night, one year per run as the nightly schedule does, in both orders of arrival; the year a load
    changed besides its own is named by the run and run after it (as `egov run` does): its staged rows, or the
    QĐ 766 months its dossiers finished in (rated_766 of 2025 counts the dossiers of every year finished in 2025)."""
    dossiers = data_dir / "raw" / "dossiers"
    write_csv(dossiers / "2024" / "a.csv", HEADER, [HS1_2024, HS2])
    first, others = year_night(data_dir, 2024)
    # December 2024: HS1 and HS2 received and accepted, HS2 processed on time (4 days, due in 5).
    assert (first["facts"], others) == ([(2024, 12, "SO-TP", 2, 2, 1, 1)], [])
    write_csv(dossiers / "2025" / "b.csv", HEADER, [HS1_2025, HS3])
    second, others = year_night(data_dir, 2025)
    # HS1 left 2024's staging in the 2025 run; 2024's figures are counted again when 2024 runs.
    assert others == [2024]
    assert second["facts"] == [(2024, 12, "SO-TP", 2, 2, 1, 1), (2025, 1, "SO-TP", 2, 2, 2, 2)]
    incremental, others = year_night(data_dir, 2024)
    assert others == []
    # January 2025: HS1 and HS3, both processed on time; December 2024: HS2 alone.
    assert incremental["facts"] == [(2024, 12, "SO-TP", 1, 1, 1, 1), (2025, 1, "SO-TP", 2, 2, 2, 2)]
    # Finished in January 2025: HS1 and HS3 (2025), HS2 (2024, finished 2 January); no ratings, so no numerator.
    assert ("2025-01", "SO-TP", "rated_766", None, 3.0, None, None) in incremental["scorecard"]

    def fresh(name: str) -> Path:
        base = tmp_path / name
        shutil.copytree(data_dir / "raw" / "agencies", base / "raw" / "agencies")
        return base

    # The other order: the 2025 export first, the older 2024 state of HS1 after it.
    reverse = fresh("reverse")
    write_csv(reverse / "raw" / "dossiers" / "2025" / "b.csv", HEADER, [HS1_2025, HS3])
    assert year_night(reverse, 2025)[1] == []
    write_csv(reverse / "raw" / "dossiers" / "2024" / "a.csv", HEADER, [HS1_2024, HS2])
    # HS2, received in December 2024, finished in January 2025: 2025's rated_766 counts it (3 finished, not 2).
    assert year_night(reverse, 2024)[1] == [2025]
    assert year_night(reverse, 2025) == (incremental, [])

    # A full reload of one export of the final state.
    once = fresh("once")
    write_csv(once / "raw" / "dossiers" / "2024" / "a.csv", HEADER, [HS2])
    write_csv(once / "raw" / "dossiers" / "2025" / "b.csv", HEADER, [HS1_2025, HS3])
    year_night(once, 2024)
    assert year_night(once, 2025) == (incremental, [])


@pytest.mark.slow
def test_egov_run_of_one_year_runs_the_year_a_record_left(data_dir: Path, registry: Path, capfd):
    """`egov run --year 2025` after HS1 moved from 2024 to 2025: the 2024 figures are counted again in the same
    command, so the published marts never count HS1 in both years."""
    from pipelines.cli.runs import run_pipeline

    dossiers = data_dir / "raw" / "dossiers"
    write_csv(dossiers / "2024" / "a.csv", HEADER, [HS1_2024, HS2])
    assert run_pipeline([2024], data_dir=data_dir)
    write_csv(dossiers / "2025" / "b.csv", HEADER, [HS1_2025, HS3])
    capfd.readouterr()
    assert run_pipeline([2025], data_dir=data_dir)
    said = capfd.readouterr().out
    assert (
        "Records of 2024 changed (extracted, moved between years, or finished there from an earlier year); "
        "running those years too" in said
    )
    marts = duckdb.connect(str(data_dir / "marts" / "egov.duckdb"), read_only=True)
    try:
        # The province's accepted dossiers year to date (the digitised ratio's denominator): 2024 through December,
        # HS2 alone (HS1 would make 2 if it stayed); 2025 through January, HS1 and HS3.
        assert marts.execute(
            "SELECT year, month, denominator FROM dossier_indicators_ytd WHERE agency_code = '*' "
            "AND indicator_code = 'dossier_digitized_ratio' AND (year, month) IN ((2024, 12), (2025, 1)) "
            "ORDER BY ALL"
        ).fetchall() == [(2024, 12, 1.0), (2025, 1, 2.0)]
    finally:
        marts.close()


def test_a_new_registry_does_not_make_the_years_read_one_another_again(con, data_dir):
    """A new agency registry changes every file's context: each year is read again when it is loaded, and a year's
    load does not read the other years (which would read it again in turn: a load per year per year)."""
    raw = data_dir / "raw"
    for year in (2024, 2025):
        write_csv(
            raw / "dossiers" / str(year) / "a.csv",
            HEADER,
            [hs("HS1", f"{year}0305090000", received=f"{year}0305080000", status=4)],
        )
        write_csv(
            raw / "dossiers" / str(year) / "b.csv",
            HEADER,
            [hs("HS1", f"{year}0306090000", received=f"{year}0305080000")],
        )
        load_year(con, raw, year)
    # HS1 is one record: its 2025 version; 2024's two versions are superseded, and 2025's first one.
    assert con.execute("SELECT year, source_file FROM stg_dossiers").fetchall() == [(2025, "dossiers/2025/b.csv")]
    with (raw / "agencies" / "agencies.csv").open("a", encoding="utf-8") as f:
        f.write("SO-NV,Sở Nội vụ,department,,2016-01-01,,\n")
    ingest(con, CONTRACTS["agencies"], raw, None)
    lines: list[str] = []
    report = load_year(con, raw, 2024, log=lines.append)
    assert (report.other_years, report.skipped_unchanged, report.rows_read) == (set(), 0, 2)
    assert not [line for line in lines if "read again" in line and "2025" in line]
    report = load_year(con, raw, 2025)
    assert (report.other_years, report.skipped_unchanged) == (set(), 0)
    assert con.execute("SELECT year, source_file FROM stg_dossiers").fetchall() == [(2025, "dossiers/2025/b.csv")]
    assert files(con) == [
        ("dossiers/2024/a.csv", 1, 0, 0, 1),
        ("dossiers/2024/b.csv", 1, 0, 0, 1),
        ("dossiers/2025/a.csv", 1, 0, 0, 1),
        ("dossiers/2025/b.csv", 1, 1, 0, 0),
    ]


def test_a_file_marked_to_read_again_is_read_at_the_next_load_of_its_year(con, data_dir):
    """A crash after the load that marked other years' files (in its transaction) and before they were read leaves
    them marked: the next load of their year reads them."""
    raw = data_dir / "raw"
    write_csv(raw / "dossiers" / "2024" / "a.csv", HEADER, [HS1_2024, HS2])
    write_csv(raw / "dossiers" / "2025" / "b.csv", HEADER, [HS1_2025, HS3])
    load_year(con, raw, 2024)
    load_year(con, raw, 2025)
    con.execute("UPDATE ingested_files SET context_hash = 'reread' WHERE file = 'dossiers/2024/a.csv'")
    report = load_year(con, raw, 2024)
    assert (report.skipped_unchanged, report.rows_read, report.rows_superseded) == (0, 2, 1)
    assert con.execute(MOVED).fetchall() == MOVED_FINAL
    assert con.execute("SELECT count(*) FROM ingested_files WHERE context_hash = 'reread'").fetchone() == (0,)
