"""Extraction from a real PostgreSQL server (tests/postgres.py starts and stops it) holding a one-stop schema with its
own column names: the watermark across runs, late updates inside the overlap, a dossier whose changes arrive in
another month or year, a killed extract, a wrong password, and the figures after night-by-night extracts equal to
those of one extract of the final state. Expected values are worked out by hand from the rows written here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml
from postgres import PASSWORD, PostgresServer, postgres_server

from assets.extraction.extract import ExtractError, load_extracts, read_state, run_extract
from assets.ingestion.load import ingest
from pipelines.core.registry.sources import load_sources
from pipelines.core.warehouse import connect

pytestmark = pytest.mark.slow  # a PostgreSQL server per module, and Dagster runs

CONTRACTS = load_sources()
PASSWORD_ENV = "EGOV_TEST_MOTCUA_PASSWORD"
# The one-stop system's own names (the contract's on the left).
COLUMNS = {
    "MaHoSo": "ma_ho_so",
    "MaTTHC": "ma_thu_tuc",
    "DonViXuLy": "ma_don_vi",
    "KenhThucHien": "kenh",
    "MucDo": "muc_do",
    "NgayTiepNhan": "ngay_nhan",
    "NgayHenTra": "ngay_hen_tra",
    "NgayKetThucXuLy": "ngay_xong",
    "NgayTra": "ngay_tra",
    "TrangThaiHoSo": "trang_thai",
    "LePhi": "le_phi",
    "DuocThanhToanTrucTuyen": "tt_truc_tuyen",
    "HoSoCoThanhPhanSoHoa": "so_hoa",
    "LoaiDoiTuong": "doi_tuong",
    "NgayYeuCauBoSung": "yc_bo_sung",
    "NgayCongDanBoSung": "cd_bo_sung",
    "SoLanBoSung": "so_lan_bo_sung",
    "NgayCapNhat": "cap_nhat_luc",
}
SCHEMA = """CREATE SCHEMA motcua;
CREATE TABLE motcua.ho_so (
  id bigserial PRIMARY KEY, ma_ho_so text NOT NULL UNIQUE, ma_thu_tuc text, ma_don_vi text, kenh smallint,
  muc_do smallint, ngay_nhan timestamp, ngay_hen_tra timestamp, ngay_xong timestamp, ngay_tra timestamp,
  trang_thai smallint, le_phi bigint, tt_truc_tuyen smallint, so_hoa smallint, doi_tuong smallint,
  yc_bo_sung timestamp, cd_bo_sung timestamp, so_lan_bo_sung integer, chu_ho_so text, dien_thoai text,
  cap_nhat_luc timestamp NOT NULL)"""


@pytest.fixture(scope="module")
def server() -> PostgresServer:
    with postgres_server() as pg:
        yield pg


@pytest.fixture
def db(server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A database of its own per test, with the one-stop schema."""
    name = "motcua_" + request.node.name.removeprefix("test_")[:40].lower()
    server.execute(f"CREATE DATABASE {name}")
    server.execute(SCHEMA, name)
    return name


def configure(
    data_dir: Path,
    server: PostgresServer,
    db: str,
    monkeypatch: pytest.MonkeyPatch,
    *,
    password: str = PASSWORD,
    port: int | None = None,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, password)
    (data_dir / "extract.yaml").write_text(
        yaml.safe_dump(
            {
                "extracts": {
                    "dossiers": {
                        "kind": "postgres",
                        "host": server.host,
                        "port": port or server.port,
                        "database": db,
                        "user": server.user,
                        "password_env": PASSWORD_ENV,
                        "table": "motcua.ho_so",
                        "columns": COLUMNS,
                        "cursor": "NgayCapNhat",
                        "overlap_seconds": 600,
                    }
                }
            }
        )
    )


def put(
    server: PostgresServer,
    db: str,
    code: str,
    updated: str,
    *,
    received: str = "2024-03-05 08:00:00",
    status: int = 4,
    finished: str | None = None,
    agency: str = "SO-TP",
    asked: str | None = None,
    replied: str | None = None,
) -> None:
    """Insert or change one dossier, as the one-stop system does (due 5 days after reception)."""

    def ts(v: str | None) -> str:
        return f"TIMESTAMP '{v}'" if v else "NULL"

    server.execute(
        f"""INSERT INTO motcua.ho_so (ma_ho_so, ma_thu_tuc, ma_don_vi, kenh, muc_do, ngay_nhan, ngay_hen_tra,
  ngay_xong, ngay_tra, trang_thai, le_phi, tt_truc_tuyen, so_hoa, doi_tuong, yc_bo_sung, cd_bo_sung, so_lan_bo_sung,
  chu_ho_so, dien_thoai, cap_nhat_luc)
VALUES ('{code}', 'P1', '{agency}', 2, 3, {ts(received)}, {ts(received)} + interval '5 days', {ts(finished)},
  {ts(finished)}, {status}, 0, 0, 1, 1, {ts(asked)}, {ts(replied)}, {1 if asked else 0}, 'Nguyễn Văn An',
  '0912345678', {ts(updated)})
ON CONFLICT (ma_ho_so) DO UPDATE SET trang_thai = EXCLUDED.trang_thai, ngay_xong = EXCLUDED.ngay_xong,
  ngay_tra = EXCLUDED.ngay_tra, yc_bo_sung = EXCLUDED.yc_bo_sung, cd_bo_sung = EXCLUDED.cd_bo_sung,
  so_lan_bo_sung = EXCLUDED.so_lan_bo_sung, cap_nhat_luc = EXCLUDED.cap_nhat_luc""",
        db,
    )


def extract(data_dir: Path):
    return run_extract(
        data_dir, data_dir / "raw", "dossiers", load_extracts(data_dir)["dossiers"], CONTRACTS["dossiers"]
    )


def raw_files(data_dir: Path) -> list[str]:
    return sorted(
        p.relative_to(data_dir / "raw").as_posix() for p in (data_dir / "raw" / "dossiers").rglob("*") if p.is_file()
    )


def test_watermark_across_runs_and_late_updates_inside_the_overlap(data_dir, registry, server, db, monkeypatch):
    configure(data_dir, server, db, monkeypatch)
    put(server, db, "HS1", "2024-03-05 09:00:00")
    put(
        server,
        db,
        "HS2",
        "2024-03-10 09:00:00",
        received="2024-03-06 08:00:00",
        status=10,
        finished="2024-03-10 08:00:00",
    )
    first = extract(data_dir)
    assert (first.rows, first.watermark_after) == (2, datetime(2024, 3, 10, 9))
    assert raw_files(data_dir) == ["dossiers/2024/extract_20240305T090000_20240310T090000.parquet"]
    assert json.loads((data_dir / "extract_state" / "dossiers.json").read_text())["watermark"] == "2024-03-10 09:00:00"

    # Nothing changed: no file, the watermark stays.
    again = extract(data_dir)
    assert (again.rows, again.files, again.watermark_after) == (0, [], datetime(2024, 3, 10, 9))

    # HS3 is committed late with a time 5 minutes before the watermark (inside the 10-minute overlap); HS1 finishes
    # on 2 April. HS2 (changed at the watermark, inside the overlap) is read again and not written again.
    put(server, db, "HS3", "2024-03-10 08:55:00", received="2024-03-10 08:00:00")
    put(server, db, "HS1", "2024-04-02 09:00:00", status=10, finished="2024-04-02 08:00:00")
    third = extract(data_dir)
    assert (third.rows_read, third.rows, third.watermark_after) == (3, 2, datetime(2024, 4, 2, 9))
    assert raw_files(data_dir) == [
        "dossiers/2024/extract_20240305T090000_20240310T090000.parquet",
        "dossiers/2024/extract_20240310T085500_20240402T090000.parquet",
    ]

    # The loader keeps the latest state of each dossier; the first file's HS1 is superseded.
    con = connect(data_dir / "warehouse" / "egov.duckdb")
    try:
        ingest(con, CONTRACTS["agencies"], data_dir / "raw", None)
        report = ingest(con, CONTRACTS["dossiers"], data_dir / "raw", 2024)
        assert (report.rows_read, report.rows_loaded, report.rows_quarantined, report.rows_superseded) == (4, 3, 0, 1)
        assert con.execute("SELECT MaHoSo, TrangThaiHoSo, NgayKetThucXuLy FROM stg_dossiers ORDER BY 1").fetchall() == [
            ("HS1", 10, datetime(2024, 4, 2, 8)),
            ("HS2", 10, datetime(2024, 3, 10, 8)),
            ("HS3", 4, None),
        ]
    finally:
        con.close()


def test_a_dossier_received_in_december_and_finished_in_january_stays_in_its_year(
    data_dir, registry, server, db, monkeypatch
):
    configure(data_dir, server, db, monkeypatch)
    put(server, db, "HS9", "2024-12-30 09:00:00", received="2024-12-30 08:00:00")
    extract(data_dir)
    put(
        server,
        db,
        "HS9",
        "2025-01-03 09:00:00",
        received="2024-12-30 08:00:00",
        status=10,
        finished="2025-01-03 08:00:00",
    )
    extract(data_dir)
    # The January change is filed under the year of reception, beside December's: one partition holds both versions.
    assert raw_files(data_dir) == [
        "dossiers/2024/extract_20241230T090000_20241230T090000.parquet",
        "dossiers/2024/extract_20250103T090000_20250103T090000.parquet",
    ]
    con = connect(data_dir / "warehouse" / "egov.duckdb")
    try:
        ingest(con, CONTRACTS["agencies"], data_dir / "raw", None)
        ingest(con, CONTRACTS["dossiers"], data_dir / "raw", 2024)
        assert con.execute("SELECT year, MaHoSo, TrangThaiHoSo FROM stg_dossiers").fetchall() == [(2024, "HS9", 10)]
    finally:
        con.close()


def test_a_wrong_password_names_the_host_and_never_the_password(data_dir, registry, server, db, monkeypatch):
    wrong = "Wr0ng-Secret_x"
    configure(data_dir, server, db, monkeypatch, password=wrong)
    with pytest.raises(ExtractError) as caught:
        extract(data_dir)
    message = str(caught.value)
    assert f"PostgreSQL at 127.0.0.1:{server.port}" in message and "password authentication failed" in message
    assert wrong not in message and PASSWORD not in message
    assert raw_files(data_dir) == [] and read_state(data_dir, "dossiers")["watermark"] is None

    # Nothing listens on the port: the host and the reason.
    configure(data_dir, server, db, monkeypatch, port=1)
    with pytest.raises(ExtractError, match=r"PostgreSQL at 127\.0\.0\.1:1 .*failed: .*(refused|connect)"):
        extract(data_dir)

    # Through Dagster: the extract fails, the source is not loaded, no event carries the password.
    from pipelines.defs.extraction import build_extraction_asset
    from pipelines.defs.ingestion import build_ingestion_assets
    from pipelines.defs.resources import build_resources

    configure(data_dir, server, db, monkeypatch, password=wrong)
    staging = [
        a for a in build_ingestion_assets(extracted=["dossiers"]) if a.key.path[-1] in ("stg_agencies", "stg_dossiers")
    ]
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [build_extraction_asset("dossiers"), *staging],
            partition_key="2024",
            instance=instance,
            resources=build_resources(data_dir),
            raise_on_error=False,
        )
        assert not result.success
        texts = [str(e) for e in instance.all_logs(result.run_id)]
    assert any("password authentication failed" in t for t in texts)
    assert not any(wrong in t for t in texts)
    assert "stg_dossiers" not in {e.step_key for e in result.get_step_success_events()}


KILLED = """
import sys
from pathlib import Path
from assets.extraction.extract import load_extracts, run_extract
from pipelines.core.registry.sources import load_sources
base = Path(sys.argv[1])
run_extract(base, base / "raw", "dossiers", load_extracts(base)["dossiers"], load_sources()["dossiers"])
"""


def test_a_killed_extract_leaves_no_file_and_does_not_move_the_watermark(data_dir, registry, server, db, monkeypatch):
    configure(data_dir, server, db, monkeypatch)
    server.execute(
        """INSERT INTO motcua.ho_so (ma_ho_so, ma_thu_tuc, ma_don_vi, kenh, muc_do, ngay_nhan, trang_thai,
  cap_nhat_luc)
SELECT 'K' || g, 'P1', 'SO-TP', 2, 3, TIMESTAMP '2024-01-01' + g * interval '1 second', 4,
  TIMESTAMP '2024-01-01 01:00:00' + g * interval '1 second'
FROM generate_series(1, 600000) AS g""",
        db,
    )
    folder = data_dir / "raw" / "dossiers" / "2024"
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(data_dir)],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not list(folder.glob(".extract_*.tmp")) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert child.poll() is None, "the extract finished before it could be killed"
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert raw_files(data_dir) == [p.relative_to(data_dir / "raw").as_posix() for p in folder.glob(".extract_*")]
    assert read_state(data_dir, "dossiers")["watermark"] is None

    # The next extract removes the unfinished file and writes the whole range.
    done = extract(data_dir)
    assert done.rows == 600000 and done.watermark_after == datetime(2024, 1, 7, 23, 40)
    assert raw_files(data_dir) == ["dossiers/2024/extract_20240101T010001_20240107T234000.parquet"]


# The figures of the night (facts, indicators, 766 scorecard) after extracts night by night and after one extract of
# the final state into a fresh data directory.
FIGURES = {
    "staged": "SELECT * EXCLUDE (source_file, source_line) FROM stg_dossiers ORDER BY MaHoSo",
    "facts": "SELECT month, agency_code, sum(received), sum(accepted), sum(processed), sum(processed_on_time) "
    "FROM dossier_file_facts WHERE year = 2024 GROUP BY ALL ORDER BY ALL",
    "indicators": "SELECT * FROM dossier_indicators_ytd WHERE year = 2024 ORDER BY ALL",
    "scorecard": "SELECT period, agency_code, indicator_code, numerator, denominator, value, points "
    "FROM scorecard_766 ORDER BY ALL",
}


def night(data_dir: Path) -> dict[str, list[tuple]]:
    from pipelines.defs.extraction import build_extraction_asset
    from pipelines.defs.indicators import dossier_indicators_ytd
    from pipelines.defs.ingestion import build_ingestion_assets
    from pipelines.defs.resources import build_resources
    from pipelines.defs.scorecard import scorecard_766, scorecard_766_facts

    staging = [
        a
        for a in build_ingestion_assets(extracted=["dossiers"])
        if a.key.path[-1] in ("stg_agencies", "stg_services", "stg_dossiers")
    ]
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [build_extraction_asset("dossiers"), *staging, dossier_indicators_ytd, scorecard_766_facts, scorecard_766],
            partition_key="2024",
            instance=instance,
            resources=build_resources(data_dir),
        )
    assert result.success
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in FIGURES.items()}
    finally:
        con.close()


def test_figures_after_nightly_extracts_equal_one_extract_of_the_final_state(
    data_dir, registry, server, db, monkeypatch, tmp_path
):
    configure(data_dir, server, db, monkeypatch)
    # Night 1: three March dossiers being processed, one finished (due 5 days after reception).
    put(server, db, "A1", "2024-03-04 09:00:00", received="2024-03-04 08:00:00")
    put(server, db, "A2", "2024-03-05 09:00:00", received="2024-03-05 08:00:00")
    put(
        server,
        db,
        "A3",
        "2024-03-06 09:00:00",
        received="2024-03-06 08:00:00",
        status=10,
        finished="2024-03-08 08:00:00",
    )
    first = night(data_dir)
    assert first["facts"] == [(3, "SO-TP", 3, 3, 1, 1)]
    # Night 2: A1 is asked for a supplement and finishes late in April; A2 finishes on time; A3 is deleted and
    # entered again (a new row, the same dossier); B1 arrives in April.
    put(
        server,
        db,
        "A1",
        "2024-04-10 09:00:00",
        received="2024-03-04 08:00:00",
        status=10,
        finished="2024-04-10 08:00:00",
        asked="2024-03-05 08:00:00",
        replied="2024-03-06 08:00:00",
    )
    put(
        server,
        db,
        "A2",
        "2024-03-07 09:00:00",
        received="2024-03-05 08:00:00",
        status=10,
        finished="2024-03-07 08:00:00",
    )
    server.execute("DELETE FROM motcua.ho_so WHERE ma_ho_so = 'A3'", db)
    put(
        server,
        db,
        "A3",
        "2024-04-11 09:00:00",
        received="2024-03-06 08:00:00",
        status=10,
        finished="2024-03-08 08:00:00",
    )
    put(server, db, "B1", "2024-04-12 09:00:00", received="2024-04-12 08:00:00")
    second = night(data_dir)
    # March: 3 received, all processed, A2 and A3 on time (A1 finished 10 April, due 9 March); April: B1.
    assert second["facts"] == [(3, "SO-TP", 3, 3, 3, 2), (4, "SO-TP", 1, 1, 0, 0)]
    assert len(second["staged"]) == 4

    # One extract of the final state into a fresh data directory gives the same figures.
    fresh = tmp_path / "fresh"
    (fresh / "raw").mkdir(parents=True)
    for folder in ("agencies",):
        import shutil

        shutil.copytree(data_dir / "raw" / folder, fresh / "raw" / folder)
    configure(fresh, server, db, monkeypatch)
    monkeypatch.setenv("EGOV_DATA_DIR", str(fresh))
    assert night(fresh) == second
    assert len(raw_files(fresh)) == 1


def test_a_query_names_the_contracts_columns_itself(data_dir, registry, server, db, monkeypatch):
    configure(data_dir, server, db, monkeypatch)
    put(server, db, "Q1", "2024-03-05 09:00:00")
    spec = yaml.safe_load((data_dir / "extract.yaml").read_text())
    one = spec["extracts"]["dossiers"]
    del one["table"], one["columns"]
    renamed = ", ".join(f'{src} AS "{name}"' for name, src in COLUMNS.items())
    one["query"] = f"SELECT {renamed} FROM motcua.ho_so WHERE ma_don_vi = 'SO-TP'"
    (data_dir / "extract.yaml").write_text(yaml.safe_dump(spec))
    assert extract(data_dir).rows == 1

    # A query without the key: stopped before any file is written, naming the column.
    without_key = renamed.replace('AS "MaHoSo"', "AS ma")
    one["query"] = f"SELECT {without_key} FROM motcua.ho_so"
    (data_dir / "extract.yaml").write_text(yaml.safe_dump(spec))
    (data_dir / "extract_state" / "dossiers.json").unlink()
    with pytest.raises(ExtractError, match="the rows have no column MaHoSo"):
        extract(data_dir)
    assert len(raw_files(data_dir)) == 1


def test_the_sample_log_loaded_into_postgresql_comes_back_by_extraction(
    data_dir, registry, server, db, monkeypatch, tmp_path
):
    """pipelines/sample/to_postgres.py (docs/operators.md, "Try extraction in five minutes"): files → a table → the
    extract.yaml it prints → the same dossiers in raw/, filed by year, personal columns never in the database."""
    from conftest import DOSSIER_HEADER, dossier, write_csv

    from pipelines.sample.to_postgres import load, main

    exports = tmp_path / "exports"
    unfinished = dossier("S2", status=4, finished="", returned="")
    write_csv(exports / "dossiers" / "2024" / "a.csv", DOSSIER_HEADER, [dossier("S1"), unfinished])
    write_csv(exports / "dossiers" / "2025" / "b.csv", DOSSIER_HEADER, [dossier("S3", received="20250210080000")])
    assert load(exports, server.uri(db)) == 3
    assert server.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'ho_so' AND "
        "column_name IN ('ChuHoSo', 'SoGiayTo', 'SoDienThoai', 'Email')",
        db,
    ) == [(0,)]
    printed = []
    monkeypatch.setattr("builtins.print", lambda *a, **k: printed.append(" ".join(map(str, a))))
    assert main([str(exports), server.uri(db)]) == 0
    (data_dir / "extract.yaml").write_text(
        printed[-1].replace(f"user: {server.user}", f"user: {server.user}\n    password_env: {PASSWORD_ENV}")
    )
    monkeypatch.setenv(PASSWORD_ENV, server.password)
    result = extract(data_dir)
    assert result.rows == 3 and sorted(f.parent.name for f in result.files) == ["2024", "2025"]
    con = connect(data_dir / "warehouse" / "egov.duckdb")
    try:
        ingest(con, CONTRACTS["agencies"], data_dir / "raw", None)
        for year in (2024, 2025):
            ingest(con, CONTRACTS["dossiers"], data_dir / "raw", year)
        # S1 and S3 finished: their last change is their return (5 days after reception); S2 is being processed.
        staged = con.execute("SELECT MaHoSo, year, TrangThaiHoSo, NgayCapNhat FROM stg_dossiers ORDER BY 1")
        assert staged.fetchall() == [
            ("S1", 2024, 10, datetime(2024, 1, 10, 8)),
            ("S2", 2024, 4, datetime(2024, 1, 5, 8)),
            ("S3", 2025, 10, datetime(2025, 2, 15, 8)),
        ]
    finally:
        con.close()


# Every year's figures: a dossier whose reception date is corrected into the next year moves there.
YEAR_FIGURES = {
    "staged": "SELECT * EXCLUDE (source_file, source_line) FROM stg_dossiers ORDER BY MaHoSo",
    "facts": "SELECT year, month, agency_code, sum(received), sum(accepted), sum(processed), sum(processed_on_time) "
    "FROM dossier_file_facts GROUP BY ALL ORDER BY ALL",
    "indicators": "SELECT * FROM dossier_indicators_ytd ORDER BY ALL",
    "scorecard": FIGURES["scorecard"],
}


def year_night(data_dir: Path, year: int) -> tuple[dict[str, list[tuple]], list[int]]:
    """One Dagster run of `year` (the extract, the loads, the facts, indicators and 766 scorecard): every year's
    figures, and the years the run changed besides its own, as `egov run` reads them to run those years after."""
    from pipelines.defs.extraction import build_extraction_asset
    from pipelines.defs.indicators import dossier_indicators_ytd
    from pipelines.defs.ingestion import build_ingestion_assets, years_changed
    from pipelines.defs.resources import build_resources
    from pipelines.defs.scorecard import scorecard_766, scorecard_766_facts

    staging = [
        a
        for a in build_ingestion_assets(extracted=["dossiers"])
        if a.key.path[-1] in ("stg_agencies", "stg_services", "stg_dossiers")
    ]
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [build_extraction_asset("dossiers"), *staging, dossier_indicators_ytd, scorecard_766_facts, scorecard_766],
            partition_key=str(year),
            instance=instance,
            resources=build_resources(data_dir),
        )
        assert result.success
        others = sorted(set(years_changed(result.all_events)) - {year})
    con = duckdb.connect(str(data_dir / "warehouse" / "egov.duckdb"), read_only=True)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in YEAR_FIGURES.items()}, others
    finally:
        con.close()


def test_a_reception_date_corrected_into_the_next_year_moves_the_dossier(
    data_dir, registry, server, db, monkeypatch, tmp_path
):
    configure(data_dir, server, db, monkeypatch)
    # Night of 31 December 2024: HS1 (received 30 December) and HS2 (29 December), both being processed.
    put(server, db, "HS1", "2024-12-30 09:00:00", received="2024-12-30 08:00:00")
    put(server, db, "HS2", "2024-12-29 09:00:00", received="2024-12-29 08:00:00")
    first, others = year_night(data_dir, 2024)
    assert (first["facts"], others) == ([(2024, 12, "SO-TP", 2, 2, 0, 0)], [])
    # January 2025: HS1's reception was wrongly dated: it is 2 January 2025, and it finished on 3 January (due the
    # 7th); HS2, a December dossier, finished on 2 January (due 3 January); HS3 received on 4 January.
    server.execute(
        "UPDATE motcua.ho_so SET ngay_nhan = TIMESTAMP '2025-01-02 08:00:00', "
        "ngay_hen_tra = TIMESTAMP '2025-01-07 08:00:00' WHERE ma_ho_so = 'HS1'",
        db,
    )
    put(server, db, "HS1", "2025-01-03 09:00:00", status=10, finished="2025-01-03 08:00:00")
    put(
        server,
        db,
        "HS2",
        "2025-01-02 09:00:00",
        received="2024-12-29 08:00:00",
        status=10,
        finished="2025-01-02 08:00:00",
    )
    put(server, db, "HS3", "2025-01-04 09:00:00", received="2025-01-04 08:00:00")
    # The run of 2025 (the nightly one): HS2's new version went to the 2024 folder, HS1 left 2024's staging.
    second, others = year_night(data_dir, 2025)
    assert others == [2024]
    # Each year's file of an extract is named by the extract's cursor range (2 to 4 January).
    assert raw_files(data_dir) == [
        "dossiers/2024/extract_20241229T090000_20241230T090000.parquet",
        "dossiers/2024/extract_20250102T090000_20250104T090000.parquet",
        "dossiers/2025/extract_20250102T090000_20250104T090000.parquet",
    ]
    assert [r[:2] for r in second["staged"]] == [(2025, "HS1"), (2024, "HS2"), (2025, "HS3")]  # HS1 staged once
    # Then the run of 2024, as `egov run` does: December 2024 holds HS2 alone, processed on time; January 2025 holds
    # HS1 (on time) and HS3 (being processed). HS2, now finished on 2 January 2025, is one of the dossiers finished
    # in 2025's January (QĐ 766 rated_766): the run names 2025, which runs again.
    final, others = year_night(data_dir, 2024)
    assert (final["facts"], others) == ([(2024, 12, "SO-TP", 1, 1, 1, 1), (2025, 1, "SO-TP", 2, 2, 1, 1)], [2025])
    final, others = year_night(data_dir, 2025)
    assert others == []
    # Finished in January 2025: HS1 and HS2 (no ratings: no numerator).
    assert ("2025-01", "PROVINCE", "rated_766", None, 2.0) in [r[:5] for r in final["scorecard"]]

    # One extract of the final state into a fresh data directory gives the same figures.
    fresh = tmp_path / "fresh"
    (fresh / "raw").mkdir(parents=True)
    import shutil

    shutil.copytree(data_dir / "raw" / "agencies", fresh / "raw" / "agencies")
    configure(fresh, server, db, monkeypatch)
    monkeypatch.setenv("EGOV_DATA_DIR", str(fresh))
    assert year_night(fresh, 2025)[1] == [2024]
    assert year_night(fresh, 2024)[1] == [2025]
    assert year_night(fresh, 2025) == (final, [])
