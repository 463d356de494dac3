"""Nothing an analyst, an empty folder, a killed run or a full disk does may lose the published results.

Each test reproduces a defect found by trying the pipeline as an adversary would (issue "Data safety"), on its own
copy of the sample province, with real DuckDB files, real Dagster runs and the real `egov` command: its `main` in
this process (`egov`), as a separate process where a test needs one (`start_run`, `egov(..., process=True)`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from conftest import egov_in_process
from dagster._core.events import DagsterEvent, DagsterEventType

from assets.marts.publish import check_shrinkage, open_marts
from pipelines.core.settings import PROJECT_ROOT

EGOV = str(Path(sys.executable).parent / "egov")
YEAR = 2025


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def egov(
    base: Path, *args: str, timeout: int = 600, env: dict | None = None, process: bool = False
) -> subprocess.CompletedProcess:
    """`egov *args` on the data directory `base`: its exit code and what it printed.

    By default the command's `main` runs in this process (a new interpreter would import Dagster and Great
    Expectations again: ~6 s of CPU a command); `process=True` runs the installed `egov` script instead."""
    environment = {"EGOV_DATA_DIR": str(base), "DAGSTER_HOME": str(base.parent / "dagster_home"), **(env or {})}
    if process:
        return subprocess.run(
            [EGOV, *args],
            env={**os.environ, **environment},
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=PROJECT_ROOT,
        )
    return egov_in_process(list(args), environment)


def ranked_with_points(marts_file: Path, year: int) -> int:
    with open_marts(marts_file) as con:
        return con.execute("SELECT count(*) FROM rankings WHERE year = ? AND total_points > 0", [year]).fetchone()[0]


# --- 1. an analyst's read-write session on the published file

ANALYST = textwrap.dedent("""
    import duckdb, sys, time
    con = duckdb.connect(sys.argv[1])              # read-write: the DuckDB default
    con.execute("CREATE TABLE my_notes AS SELECT 1 AS x")
    print("opened", flush=True)
    sys.stdin.readline()                           # the pipeline publishes meanwhile
    con.execute("CHECKPOINT")
    con.execute("INSERT INTO my_notes SELECT 2")   # a new WAL beside the *new* file, for the old one
    print("wrote", flush=True)
    time.sleep(600)
""")


def test_an_analysts_read_write_session_never_makes_the_marts_unreadable(own_province: Path):
    marts_file = own_province / "marts" / "egov.duckdb"
    expected = ranked_with_points(marts_file, YEAR)
    assert expected > 0
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(marts_file)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert analyst.stdout.readline().strip() == "opened"
        done = egov(own_province, "run", "--year", str(YEAR))
        assert done.returncode == 0, done.stdout[-3000:]  # ranking_reports read the new file after publishing
        analyst.stdin.write("go\n")
        analyst.stdin.flush()
        assert analyst.stdout.readline().strip() == "wrote"
        assert (own_province / "marts" / "egov.duckdb.wal").exists()  # the stale WAL the analyst left
        with pytest.raises(duckdb.Error, match="WAL"):
            duckdb.connect(str(marts_file), read_only=True).close()
        # Every reader of ours still reads the published file.
        assert ranked_with_points(marts_file, YEAR) == expected
        sql = egov(
            own_province, "sql", f"SELECT count(*) AS n FROM rankings WHERE year = {YEAR} AND total_points > 0", "--csv"
        )
        assert sql.returncode == 0 and sql.stdout.split() == ["n", str(expected)], sql.stdout + sql.stderr
        report = egov(own_province, "report", "--year", str(YEAR), "--no-files")
        assert report.returncode == 0, report.stdout[-2000:]
    finally:
        analyst.kill()
        analyst.wait()
    # The analyst is gone, its WAL stays: the next run publishes a file every plain reader opens again.
    done = egov(own_province, "run", "--year", str(YEAR))
    assert done.returncode == 0, done.stdout[-3000:]
    assert not (own_province / "marts" / "egov.duckdb.wal").exists()
    con = duckdb.connect(str(marts_file), read_only=True)
    assert (
        con.execute("SELECT count(*) FROM rankings WHERE year = ? AND total_points > 0", [YEAR]).fetchone()[0]
        == expected
    )
    con.close()


def test_egov_sql_is_read_only(own_province: Path):
    marts_file = own_province / "marts" / "egov.duckdb"
    digest = file_hash(marts_file)
    done = egov(own_province, "sql", "CREATE TABLE mine AS SELECT 1")
    assert done.returncode == 2 and "read-only" in done.stdout
    done = egov(own_province, "sql", "DROP TABLE rankings")
    assert done.returncode == 2
    assert file_hash(marts_file) == digest
    assert not (own_province / "marts" / "egov.duckdb.wal").exists()


# --- egov sql changes nothing published, reads no file and writes none unless told (issue 24, round 3)


def _small_marts(data_dir: Path) -> dict[str, str]:
    """A published marts folder (the file, a Parquet copy, a report) written by hand; the hash of each file."""
    marts = data_dir / "marts"
    (marts / "parquet").mkdir(parents=True)
    (marts / "reports" / "2024").mkdir(parents=True)
    with duckdb.connect(str(marts / "egov.duckdb")) as con:
        con.execute(
            "CREATE TABLE rankings AS SELECT * FROM (VALUES ('SO-TP', 'Sở Tư pháp', 81.5, 1), "
            "('SO-YT', 'Sở Y tế', 64.25, 2)) t(agency_code, agency_name, total_points, rank)"
        )
        con.execute(f"COPY rankings TO '{marts / 'parquet' / 'rankings.parquet'}' (FORMAT parquet)")
    (marts / "reports" / "2024" / "index.html").write_text("<h1>Xếp hạng 2024</h1>", encoding="utf-8")
    return _hashes(marts)


def _hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): file_hash(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _sql(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    from pipelines.cli import main

    code = main(["sql", *args])
    return code, capsys.readouterr().out


def test_egov_sql_writes_nothing_into_the_marts_folder_even_with_allow_files(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    published = _small_marts(data_dir)
    marts = data_dir / "marts"
    mine = tmp_path / "mine"
    mine.mkdir()
    targets = [
        f"{marts / 'egov.duckdb'}' (FORMAT csv, USE_TMP_FILE false)",  # what DuckDB alone lets a session do
        f"{marts / 'egov.duckdb.wal'}' (FORMAT csv)",
        f"{marts / 'parquet' / 'rankings.parquet'}' (FORMAT parquet)",
        f"{marts / 'reports' / '2024' / 'index.html'}' (FORMAT csv)",
    ]
    for allow in ([], ["--allow-files", str(mine)]):
        for target in targets:
            code, out = _sql(capsys, f"COPY rankings TO '{target}", *allow)
            assert code == 2 and "Permission Error" in out, (target, allow, out)
    assert _hashes(marts) == published  # nothing changed, and nothing added (.readers/ is left empty)
    assert list((marts / ".readers").iterdir()) == []

    # The names DuckDB allows for the database it opened (its private link's) make new files, removed on close.
    probe = (
        "import sys\nfrom pathlib import Path\nfrom assets.marts.publish import open_marts_for_queries\n"
        "with open_marts_for_queries(Path(sys.argv[1])) as con:\n"
        "    for (p,) in con.sql(\"SELECT unnest(current_setting('allowed_paths'))\").fetchall():\n"
        "        con.execute(f\"COPY rankings TO '{p}' (FORMAT csv, USE_TMP_FILE false)\")\n"
        "    print(con.execute('SELECT count(*) FROM rankings').fetchone()[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(marts / "egov.duckdb")],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=True,
    )
    assert done.stdout.split() == ["2"]
    assert _hashes(marts) == published and list((marts / ".readers").iterdir()) == []

    for folder in (marts, marts / "reports", data_dir, tmp_path):  # a folder holding or inside the data directory
        code, out = _sql(capsys, "SELECT 1", "--allow-files", str(folder))
        assert (
            code == 2 and f"--allow-files {folder}: queries may not write where the pipeline keeps its files" in out
        ), out


def test_egov_sql_reads_no_file_installs_nothing_and_keeps_its_settings(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    _small_marts(data_dir)
    assert _sql(capsys, "SELECT agency_code, total_points FROM rankings ORDER BY rank", "--csv") == (
        0,
        "agency_code,total_points\nSO-TP,81.50\nSO-YT,64.25\n",
    )  # DECIMAL(4, 2)
    refused = {
        "SELECT * FROM read_csv('/etc/passwd', sep = ':')": "Permission Error",
        "SELECT * FROM read_text('/etc/hostname')": "Permission Error",
        "INSTALL httpfs": "Permission Error",
        "LOAD httpfs": "Permission Error",
        f"ATTACH '{tmp_path / 'elsewhere.duckdb'}' AS mine": "Permission Error",
        "SET enable_external_access = true": "the configuration has been locked",
        "RESET enable_external_access": "the configuration has been locked",
        "SET allowed_directories = ['/']": "the configuration has been locked",
        "SET lock_configuration = false": "the configuration has been locked",
    }
    for query, reason in refused.items():
        code, out = _sql(capsys, query)
        assert code == 2 and reason in out, (query, out)

    mine = tmp_path / "mine"  # a folder of the analyst's own: its files, and those only
    mine.mkdir()
    code, out = _sql(
        capsys, f"COPY (SELECT agency_code, rank FROM rankings) TO '{mine / 'r.csv'}'", "--allow-files", str(mine)
    )
    assert code == 0, out
    assert (mine / "r.csv").read_text(encoding="utf-8").splitlines() == ["agency_code,rank", "SO-TP,1", "SO-YT,2"]
    assert _sql(
        capsys, f"SELECT sum(rank) AS s FROM read_csv('{mine / 'r.csv'}')", "--csv", "--allow-files", str(mine)
    ) == (0, "s\n3\n")
    code, out = _sql(capsys, "SELECT * FROM read_csv('/etc/passwd', sep = ':')", "--allow-files", str(mine))
    assert code == 2 and "Permission Error" in out


def test_egov_sql_csv_escapes_text_a_spreadsheet_would_run_and_keeps_numbers(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
):
    import csv
    import io

    _small_marts(data_dir)
    query = (
        'SELECT * FROM (VALUES (\'=HYPERLINK("http://evil","x")\', -0.5, -0.5::DECIMAL(4, 2), -3), '
        "('+1', 0.25, 1.50::DECIMAL(4, 2), 7), ('-2', -1e-3, -0.01::DECIMAL(4, 2), 0), "
        "('@SUM(A1)', NULL, NULL, NULL), (chr(9) || 'tab', 1, 1, 1), (chr(13) || 'cr', 1, 1, 1), "
        "('Sở Tư pháp - Hà Nội', 1, 1, 1), ('a=b', 1, 1, 1)) t(\"=name\", share, points, change)"
    )
    code, out = _sql(capsys, query, "--csv")
    assert code == 0, out
    assert list(csv.reader(io.StringIO(out, newline=""))) == [
        ["'=name", "share", "points", "change"],
        ['\'=HYPERLINK("http://evil","x")', "-0.5", "-0.50", "-3"],  # text escaped, numbers as they are
        ["'+1", "0.25", "1.50", "7"],
        ["'-2", "-0.001", "-0.01", "0"],
        ["'@SUM(A1)", "", "", ""],
        ["'\ttab", "1.0", "1.00", "1"],
        ["'\rcr", "1.0", "1.00", "1"],
        ["Sở Tư pháp - Hà Nội", "1.0", "1.00", "1"],
        ["a=b", "1.0", "1.00", "1"],
    ]


# --- 2. an empty or unmounted raw folder


def test_the_shrink_guard_threshold_is_a_share_of_each_published_year():
    published = {("rankings", 2024): 281, ("indicators", 2024): 1000, ("rankings", 2023): 10}
    # Keeping 141 of 281 (50.2%) is fine at a 50% limit, 140 (49.8%) is not.
    check_shrinkage(published, {("rankings", 2024): 141, ("indicators", 2024): 1000, ("rankings", 2023): 10}, 0.5)
    with pytest.raises(RuntimeError, match=r"2024: 281 ranked units with points → 140"):
        check_shrinkage(published, {("rankings", 2024): 140, ("indicators", 2024): 1000, ("rankings", 2023): 10}, 0.5)
    with pytest.raises(RuntimeError, match=r"2023: 10 ranked units with points → 0"):  # a year gone entirely
        check_shrinkage(published, {("rankings", 2024): 281, ("indicators", 2024): 1000}, 0.5)
    check_shrinkage(published, {}, 1.0)  # a share of 1 allows anything


def test_a_raw_folder_emptied_by_a_lost_mount_never_replaces_the_ranking(own_province: Path):
    marts_file = own_province / "marts" / "egov.duckdb"
    digest = file_hash(marts_file)
    ranked = ranked_with_points(marts_file, YEAR)
    raw, away = own_province / "raw", own_province / "raw.bak"
    raw.rename(away)
    raw.mkdir()
    done = egov(own_province, "run", "--year", str(YEAR))  # nothing at all: stopped before running
    assert done.returncode == 2 and "No raw files" in done.stdout, done.stdout
    shutil.copytree(away / "agencies", raw / "agencies")  # only the registry: every agency would score 0
    done = egov(own_province, "run", "--year", str(YEAR))
    assert done.returncode == 1
    assert (
        f"Not published: this run would drop more than 50% of what the published marts hold ({YEAR}: "
        f"{ranked:,} ranked units with points → 0" in done.stdout
    ), done.stdout[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    assert file_hash(marts_file) == digest
    done = egov(own_province, "run", "--year", str(YEAR), "--allow-shrink")  # the operator's explicit choice
    assert done.returncode == 0, done.stdout[-3000:]
    assert ranked_with_points(marts_file, YEAR) == 0
    shutil.rmtree(raw)
    away.rename(raw)
    done = egov(own_province, "run", "--year", str(YEAR))
    assert done.returncode == 0 and ranked_with_points(marts_file, YEAR) == ranked


def rankings_of(marts_file: Path) -> list[tuple]:
    with open_marts(marts_file) as con:
        return con.execute("SELECT * FROM rankings ORDER BY ALL").fetchall()


def test_a_year_whose_every_source_folder_is_empty_is_not_ranked(own_province: Path):
    # 2026: a folder for every yearly source, none with a file; the agency registry lists 2026's agencies, which
    # were all ranked 1st at 0,00 (issue 24): 103 of them, after the 2025 mergers
    marts_file = own_province / "marts" / "egov.duckdb"
    before = rankings_of(marts_file)
    for source in ("dossiers", "services", "one_stop", "infrastructure", "capacity", "assessments"):
        (own_province / "raw" / source / "2026").mkdir(parents=True)
    done = egov(own_province, "run", "--year", "2026")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "no records for year 2026: not ranked" in done.stdout, done.stdout[-3000:]
    assert rankings_of(marts_file) == before  # no 2026 row; 2023–2025 as published
    with open_marts(marts_file) as con:
        assert con.execute("SELECT count(*) FROM agency_years WHERE year = 2026 AND evaluated").fetchone()[0] > 0
        for table in ("criterion_scores", "agency_profiles", "rank_uncertainty"):
            assert con.execute(f"SELECT count(*) FROM {table} WHERE year = 2026").fetchone()[0] == 0, table
    unranked = (own_province / "marts" / "reports" / "2026" / "index.html").read_text(encoding="utf-8")
    assert "Chưa có xếp hạng cho năm 2026" in unranked
    assert "Không có bản ghi nào của năm 2026 trong các nguồn dữ liệu theo năm" in unranked
    assert "năm 2026 không được xếp hạng" in unranked
    assert "0,00" not in unranked
    report = egov(own_province, "report", "--year", "2026", "--no-files")
    assert report.returncode == 2
    assert "no records for year 2026: not ranked" in report.stdout, report.stdout


def test_a_backfill_on_an_empty_data_directory_publishes_nothing(tmp_path: Path):
    base = tmp_path / "data"
    (base / "raw").mkdir(parents=True)
    (tmp_path / "dagster_home").mkdir()
    done = egov(base, "backfill", "--years", "2024", process=True)  # the installed script, end to end
    assert done.returncode == 2 and "No raw files" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert not (base / "marts").exists()


def test_one_unreadable_assessment_value_stops_the_run_before_the_marts_naming_its_row(own_province: Path):
    """A value that cannot be read scores 0 and can move its group's minimum and so the ranks (issue 24, round 3):
    one quarantined assessment row blocks the publish (thresholds.yaml: assessments 0), named on the console."""
    marts_file = own_province / "marts" / "egov.duckdb"
    digest = file_hash(marts_file)
    path = own_province / "raw" / "assessments" / str(YEAR) / f"assessments_{YEAR}.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "year,agency_code,indicator_code,value" and len(lines) > 2
    lines[1] = lines[1].rsplit(",", 1)[0] + ",NA"  # R's missing value, in the first record (line 2)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = egov(own_province, "run", "--year", str(YEAR))
    assert done.returncode == 1, done.stdout[-3000:]
    assert f"assessments/{YEAR}/assessments_{YEAR}.csv:2 (value: 'NA' is not a valid number)" in done.stdout, (
        done.stdout[-3000:]
    )
    assert "✓ marts" not in done.stdout and "the published marts were left as they were" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert file_hash(marts_file) == digest


# --- 4. a killed run, a second run, leftovers


def start_run(base: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "EGOV_DATA_DIR": str(base), "DAGSTER_HOME": str(base.parent / "dagster_home")}
    return subprocess.Popen(
        [EGOV, "run", "--full-refresh", "--verbose", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        cwd=PROJECT_ROOT,
    )


def wait_for(process: subprocess.Popen, text: str) -> list[str]:
    seen = []
    for line in process.stdout:
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"never printed {text!r}: {''.join(seen)[-2000:]}")


def test_a_killed_run_is_recognised_and_does_not_block_the_next(own_province: Path):
    home = own_province.parent / "dagster_home"
    victim = start_run(own_province, "--year", str(YEAR))
    wait_for(victim, "… stg_dossiers")
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(home))
        with dg.DagsterInstance.get() as instance:
            stuck = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
            assert len(stuck) == 1  # Dagster alone keeps the killed run STARTED
            stuck_id = stuck[0].run_id
    done = egov(own_province, "run", "--year", str(YEAR))
    assert done.returncode == 0, done.stdout[-3000:]
    assert f"Run {stuck_id[:8]}" in done.stdout and "marked failed" in done.stdout
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(home))
        with dg.DagsterInstance.get() as instance:
            assert instance.get_run_by_id(stuck_id).status == dg.DagsterRunStatus.FAILURE


def test_the_sensor_unblocks_the_queue_behind_a_killed_run(tmp_path: Path):
    from pipelines.defs.jobs import WAREHOUSE_TAG
    from pipelines.defs.resources import Warehouse
    from pipelines.defs.runs import process_tags
    from pipelines.defs.sensors import raw_files_sensor

    gone = subprocess.Popen(["sleep", "60"])
    tags = process_tags(gone.pid)  # recorded while it lives, as a run does at its start
    gone.kill()
    gone.wait()
    with dg.instance_for_test() as instance:
        run = instance.create_run_for_job(dg.GraphDefinition("noop").to_job(), tags={**WAREHOUSE_TAG, **tags})
        # The run as a killed process leaves it: started, never ended.
        instance.report_dagster_event(
            DagsterEvent(DagsterEventType.RUN_START.value, job_name=run.job_name), run_id=run.run_id
        )
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
        context = dg.build_sensor_context(instance=instance, resources={"warehouse": Warehouse(data_dir=str(tmp_path))})
        raw_files_sensor(context)
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE


def test_a_second_run_says_at_once_that_another_run_is_writing(own_province: Path):
    first = start_run(own_province, "--year", str(YEAR))
    try:
        wait_for(first, "… stg_dossiers")
        second = egov(own_province, "run", "--year", str(YEAR), timeout=120)
        assert second.returncode == 1
        assert "Another run is writing the warehouse" in second.stdout, second.stdout
        assert "Traceback" not in second.stdout + second.stderr
    finally:
        rest, _ = first.communicate(timeout=600)
    assert first.returncode == 0, rest[-3000:]


def test_leftovers_of_a_killed_publish_are_removed(own_province: Path):
    marts_dir = own_province / "marts"
    leftovers = [
        marts_dir / ".egov.duckdb.999999.building",
        marts_dir / ".egov.duckdb.999999.building.wal",
        marts_dir / "parquet" / ".rankings.999999.parquet",
    ]
    for path in leftovers:
        path.write_bytes(b"half written")
    done = egov(own_province, "run", "--year", str(YEAR))
    assert done.returncode == 0, done.stdout[-3000:]
    assert [p for p in leftovers if p.exists()] == []


# --- the CLI: progress, reports of unknown years, full disk, the UI


def test_a_run_prints_each_step_with_its_time_and_reports_name_the_right_data_docs(own_province: Path):
    done = egov(own_province, "run", "--year", str(YEAR))
    assert done.returncode == 0
    finished = [line.split()[1] for line in done.stdout.splitlines() if line.strip().startswith("✓")]
    assert {"stg_agencies", "stg_dossiers", "scores", "marts", "ranking_reports"} <= set(finished)
    assert finished.index("stg_dossiers") < finished.index("scores") < finished.index("marts")
    report = egov(own_province, "report", "--year", "2024", "--no-files")
    assert str(own_province / "quality" / "data_docs" / "index.html") in report.stdout


def test_a_report_for_a_year_without_a_ranking_fails_clearly(own_province: Path):
    reports = own_province / "marts" / "reports"
    before = sorted(p.name for p in reports.iterdir())
    done = egov(own_province, "report", "--year", "2030")
    assert done.returncode == 2
    assert "no ranking for 2030" in done.stdout and "2023–2025" in done.stdout
    assert sorted(p.name for p in reports.iterdir()) == before


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare for a private tmpfs")
def test_a_full_disk_gives_one_line_and_keeps_the_marts(own_province: Path, tmp_path: Path):
    marts_file = own_province / "marts" / "egov.duckdb"
    digest = file_hash(marts_file)
    small = tmp_path / "small_disk"
    small.mkdir()
    # A 512 KB disk for the Dagster instance, in a private mount namespace (nothing to unmount afterwards).
    script = (
        f"mount -t tmpfs -o size=512k tmpfs {small} && head -c 400000 /dev/zero > {small}/filler && "
        f"DAGSTER_HOME={small} exec {EGOV} run --year {YEAR}"
    )
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"user namespaces unavailable here: {probe.stderr.decode()[:200]}")
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "EGOV_DATA_DIR": str(own_province)},
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-3000:]
    assert "The disk is full" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-3000:]
    assert file_hash(marts_file) == digest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_egov_ui_starts_from_a_clean_shell_and_stops_on_the_first_ctrl_c(data_dir: Path):
    port = free_port()
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != venv_bin)
    ui = subprocess.Popen(
        [str(PROJECT_ROOT / "egov"), "ui", "--port", str(port)],
        env={**os.environ, "PATH": path},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as response:
                    assert response.status == 200
                break
            except OSError:
                assert ui.poll() is None, ui.stdout.read()[-2000:]
                assert time.time() < deadline, "the UI did not come up in 120 s"
                time.sleep(1)
        os.kill(ui.pid, signal.SIGINT)  # what Ctrl-C sends to the foreground process
        ui.wait(timeout=20)
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5)
    finally:
        if ui.poll() is None:
            os.killpg(ui.pid, signal.SIGKILL)


def run_command(script: str, **popen: object) -> subprocess.CompletedProcess:
    """`script` in a new interpreter with block-buffered output, as `egov` has when its output is a file or a pipe
    (PYTHONUNBUFFERED, which this environment may set, would hide a missing flush)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], text=True, cwd=PROJECT_ROOT, env=env, timeout=120, **popen
    )


def test_the_egov_command_ends_with_its_status_its_output_flushed_and_its_exit_handlers_run():
    """`egov` ends its process at once after `main` (pipelines/cli `command`): what the command printed without a
    newline on either stream, what another thread still had to do and what an exit handler prints all come out,
    with the command's exit code."""
    done = run_command(
        """
        import atexit, sys, threading, time
        import pipelines.cli as cli

        atexit.register(lambda: print(" / the exit handler ran"))

        def command():
            threading.Thread(target=lambda: (time.sleep(0.5), print(" / the thread finished", end=""))).start()
            print("the command's output", end="")
            print("its message", end="", file=sys.stderr)
            return 3

        cli.main = command
        cli.command()
        print("never printed: the process ended in command()")
        """,
        capture_output=True,
    )
    assert done.returncode == 3, done.stderr[-2000:]
    assert done.stdout == "the command's output / the thread finished / the exit handler ran\n"
    assert done.stderr == "its message"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_output_that_cannot_be_written_makes_the_egov_command_fail_and_say_so():
    """A full disk under `egov sql ... > out.csv`: the command's last output is lost, so it must not exit 0."""
    with open("/dev/full", "w") as full:
        done = run_command(
            """
            import pipelines.cli as cli

            cli.main = lambda: (print("rows the disk has no room for"), 0)[1]
            cli.command()
            """,
            stdout=full,
            stderr=subprocess.PIPE,
        )
    assert done.returncode != 0
    assert "egov: the output could not be written" in done.stderr


def test_the_egov_console_script_is_the_command_that_ends_at_once():
    """The installed `egov` runs `command` (pyproject.toml), not `main` alone."""
    text = Path(EGOV).read_text(encoding="utf-8")
    assert "from pipelines.cli import command" in text
