"""Records that change (config/sources.yaml `key` + `version`, docs/raw_contracts.md "Records that change"): an
incremental feed sends a dossier again at each change of state; the latest version of each key across the files of
its year is the record, older versions are superseded (counted, not quarantined), and the staged log, the per-file
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
