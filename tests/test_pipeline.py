"""End to end on a small sample province: real Dagster runs, a real warehouse, real marts and Data Docs."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
from conftest import YEARS

from assets.marts.dictionary import load_dictionary
from pipelines.cli.runs import run_pipeline
from pipelines.core.settings import PROJECT_ROOT

PERSONAL = {"chuhoso", "sogiayto", "sodienthoai", "email"}


def marts(base: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(base / "marts" / "egov.duckdb"), read_only=True)


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_year_and_group_is_ranked_with_spread_scores(province: Path):
    con = marts(province)
    evaluated = dict(
        ((y, g), n)
        for y, g, n in con.execute(
            "SELECT year, agency_group, count(*) FROM agency_years WHERE evaluated GROUP BY ALL"
        ).fetchall()
    )
    ranked = dict(
        ((y, g), n)
        for y, g, n in con.execute("SELECT year, agency_group, count(*) FROM rankings GROUP BY ALL").fetchall()
    )
    assert ranked == evaluated
    assert {y for y, _ in ranked} == set(YEARS)
    assert ("district", 2025) not in {(g, y) for y, g in ranked}  # districts were abolished on 1/7/2025
    lo, hi = con.execute(
        "SELECT min(total_points), max(total_points) FROM rankings WHERE year = 2024 AND agency_group = 'department'"
    ).fetchall()[0]
    assert 0 <= lo < hi <= 100 and hi - lo > 15
    assert {c for (c,) in con.execute("SELECT DISTINCT classification FROM rankings").fetchall()} <= {
        "Tốt",
        "Khá",
        "Trung bình",
        "Yếu",
    }
    first = con.execute("SELECT min(rank) FROM rankings GROUP BY year, agency_group").fetchall()
    assert {r for (r,) in first} == {1}
    moved = con.execute(
        "SELECT count(*) FROM rankings WHERE year = 2024 AND prev_rank IS NOT NULL AND rank_change = prev_rank - rank"
    ).fetchall()[0][0]
    assert moved > 0


def test_marts_describe_every_column_and_hold_no_personal_data(province: Path):
    con = marts(province)
    columns = con.execute(
        "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE database_name = 'egov' AND NOT internal"
    ).fetchall()
    tables = {t for t, _, _ in columns}
    assert {
        "indicators",
        "criterion_scores",
        "rankings",
        "quarantine",
        "agencies",
        "dossier_indicators_ytd",
        "data_quality",
        "ingested_files",
        "indicator_scores",
    } <= tables
    undocumented = [(t, c) for t, c, comment in columns if not comment]
    assert undocumented == []
    # Every comment is its table's (or view's) data dictionary (assets/marts/dictionary/<table>.yaml), which
    # describes every column of every marts table and view and no other column.
    dictionary = load_dictionary()
    in_tables = {(t, c): comment for t, c, comment in columns}
    assert in_tables == {(t, c): text for t, entry in dictionary.items() for c, text in entry.columns.items()}
    assert dict(
        con.execute(
            "SELECT table_name, comment FROM duckdb_tables() WHERE database_name = 'egov' UNION ALL "
            "SELECT view_name, comment FROM duckdb_views() WHERE database_name = 'egov' AND NOT internal"
        ).fetchall()
    ) == {t: entry.description for t, entry in dictionary.items()}
    assert not {c.lower() for _, c, _ in columns} & PERSONAL
    planted = con.execute("SELECT count(*) FROM quarantine WHERE raw ILIKE '%@%' OR raw ~ '09[0-9]{8}'").fetchall()[0][
        0
    ]
    assert planted == 0


def test_counts_reconcile_and_injected_faults_are_quarantined(province: Path):
    con = marts(province)
    read, loaded, held = con.execute(
        "SELECT sum(rows_read), sum(rows_loaded), sum(rows_quarantined) FROM ingested_files"
    ).fetchall()[0]
    assert read == loaded + held
    assert held == con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0]
    warehouse = duckdb.connect(str(province / "warehouse" / "egov.duckdb"), read_only=True)
    staged = sum(
        warehouse.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        for t in (
            "stg_agencies",
            "stg_services",
            "stg_dossiers",
            "stg_one_stop",
            "stg_infrastructure",
            "stg_capacity",
            "stg_assessments",
            "stg_ratings",
            "stg_feedback",
        )
    )
    warehouse.close()
    assert staged == loaded
    # The faults in the raw dossier files, counted here from the files themselves, are exactly the rows held.
    files = [str(p) for p in sorted((province / "raw" / "dossiers").rglob("*")) if p.suffix in (".csv", ".parquet")]
    assert files and all(f.endswith(".parquet") for f in files)  # the sample writes Parquet from 2021 on
    in_files = (
        duckdb.connect()
        .execute(
            """
        SELECT count(*) - count(DISTINCT MaHoSo),
               count(*) FILTER (DonViXuLy = 'XXX-UNKNOWN'),
               count(*) FILTER (try_strptime(NgayTiepNhan, '%Y%m%d%H%M%S') IS NULL),
               count(*) FILTER (try_strptime(NgayHenTra, '%Y%m%d%H%M%S')
                                < try_strptime(NgayTiepNhan, '%Y%m%d%H%M%S'))
        FROM read_parquet(?)""",
            [files],
        )
        .fetchall()[0]
    )
    held = dict(con.execute("SELECT rule, count(*) FROM quarantine WHERE source = 'dossiers' GROUP BY ALL").fetchall())
    assert all(n > 0 for n in in_files)
    assert (held.pop("duplicate"), held.pop("unknown_agency"), held.pop("invalid"), held.pop("rule")) == in_files
    assert held == {}


def test_analyst_guide_queries_run_as_written(province: Path):
    guide = (PROJECT_ROOT / "docs" / "analysts.md").read_text(encoding="utf-8")
    queries = re.findall(r"```sql\n(.*?)```", guide, flags=re.S)
    assert len(queries) >= 10
    con = marts(province)
    results = [con.execute(q).fetchall() for q in queries]
    assert results[0] and results[3]  # this year's district ranking; online ratio by month
    assert all(len(row) == 5 for row in results[0])


def test_data_docs_are_built_at_a_stable_path(province: Path):
    site = province / "quality" / "data_docs"
    html = (site / "index.html").read_text(encoding="utf-8")
    pages = set(re.findall(r"validations/[^\"'\\ ]+?\.html", html))
    assert pages and all((site / page).is_file() for page in pages)  # every result listed can be opened
    validated = {page.split("/")[1] for page in pages}
    # README: every run validates the returns and the marts; the label of this run is its years.
    assert {"stg_services", "stg_one_stop", "stg_infrastructure", "stg_capacity", "indicators", "rankings"} <= validated
    assert all(page.split("/")[2] == f"{YEARS[0]}-{YEARS[-1]}" for page in pages)


def test_rerun_changes_nothing_and_a_reader_is_never_blocked(own_province: Path):
    province = own_province
    con = marts(province)
    before = con.execute("SELECT * FROM rankings ORDER BY ALL").fetchall()
    indicators = con.execute("SELECT * FROM indicators ORDER BY ALL").fetchall()
    con.close()
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import duckdb, time
        con = duckdb.connect({str(province / "marts" / "egov.duckdb")!r}, read_only=True)
        n = 0
        end = time.time() + 8
        while time.time() < end:
            n += con.execute("SELECT count(*) FROM rankings").fetchall()[0][0] > 0
            time.sleep(0.05)
        print(n)
    """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert run_pipeline(YEARS, data_dir=province)
    out, _ = reader.communicate(timeout=60)
    assert reader.returncode == 0 and int(out) > 0
    con = marts(province)
    assert con.execute("SELECT * FROM rankings ORDER BY ALL").fetchall() == before
    assert con.execute("SELECT * FROM indicators ORDER BY ALL").fetchall() == indicators


def test_a_blocking_quality_failure_leaves_the_published_marts_unchanged(own_province: Path):
    province = own_province
    published = province / "marts" / "egov.duckdb"
    digest = file_hash(published)
    bad = province / "raw" / "dossiers" / "2025" / "12" / "broken_export.csv"
    header = (
        "MaHoSo,MaTTHC,DonViXuLy,KenhThucHien,MucDo,NgayTiepNhan,NgayHenTra,NgayKetThucXuLy,NgayTra,"
        "TrangThaiHoSo,LePhi,DuocThanhToanTrucTuyen,HoSoCoThanhPhanSoHoa,LoaiDoiTuong"
    )
    rows = [f"BAD{i},P,NO-SUCH-AGENCY,1,,20251215080000,,,,2,0,0,0,1" for i in range(5000)]
    bad.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    assert not run_pipeline([2025], data_dir=province)
    assert file_hash(published) == digest
    bad.unlink()  # the agency withdraws the broken export
    assert run_pipeline([2025], data_dir=province)  # recovers with no manual cleanup


def snapshot(base: Path) -> dict[str, list]:
    """Every table of the marts, sorted: a rerun on the same inputs must give the same contents to the last digit."""
    con = marts(base)
    try:
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in tables}
    finally:
        con.close()


def test_cli_backfill_twice_gives_identical_marts(own_province: Path):
    import os

    province = own_province
    env = dict(os.environ)  # EGOV_DATA_DIR and DAGSTER_HOME: this test's copy
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "asset",
        "materialize",
        "-m",
        "pipelines.definitions",
        "--select",
        "not group:national",
        "--partition-range",
        "2024...2025",
    ]
    results = []
    for _ in range(2):
        done = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        results.append(snapshot(province))
    assert results[0] == results[1]
    assert {y for y, *_ in results[0]["rankings"]} == set(YEARS)  # other years kept in the marts


def test_a_run_killed_halfway_leaves_the_marts_and_the_next_run_recovers(own_province: Path):
    import os
    import signal
    import time

    province = own_province
    published = province / "marts" / "egov.duckdb"
    digest = file_hash(published)
    before = snapshot(province)
    env = dict(os.environ)  # EGOV_DATA_DIR and DAGSTER_HOME: this test's copy
    egov = str(Path(sys.executable).parent / "egov")
    victim = subprocess.Popen(
        [egov, "backfill", "--years", "2023-2025", "--verbose"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.time() + 120
    for line in victim.stdout:  # kill it in the middle of loading the dossier log
        if "dossiers/2024" in line or time.time() > deadline:
            break
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    assert file_hash(published) == digest
    done = subprocess.run([egov, "run", "--years", "2023-2025"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    after = snapshot(province)
    assert after["rankings"] == before["rankings"] and after["indicators"] == before["indicators"]


def test_an_incremental_night_reads_only_the_new_file(own_province: Path):
    import dagster as dg

    province = own_province
    new_day = province / "raw" / "dossiers" / "2025" / "12" / "hoso_2025_12_31.csv"
    header = (
        "MaHoSo,MaTTHC,DonViXuLy,KenhThucHien,MucDo,NgayTiepNhan,NgayHenTra,NgayKetThucXuLy,NgayTra,"
        "TrangThaiHoSo,LePhi,DuocThanhToanTrucTuyen,HoSoCoThanhPhanSoHoa,LoaiDoiTuong"
    )
    new_day.write_text(
        header + "\nNIGHT-1,1.010001,SO-TP,2,4,20251231090000,20260105170000,,,4,0,0,0,1\n", encoding="utf-8"
    )
    assert run_pipeline([2025], data_dir=province)
    with dg.DagsterInstance.get() as instance:  # this test's DAGSTER_HOME
        event = instance.get_latest_materialization_event(dg.AssetKey("stg_dossiers"))
    metadata = event.asset_materialization.metadata
    assert metadata["files_read"].value == 1 and metadata["rows_read"].value == 1
    assert metadata["files_unchanged"].value == 12
