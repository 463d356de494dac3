"""Shared fixtures: small raw files written the way agencies export them, and a real warehouse file.

Every test must be able to fail, and pass in any order:
- expected values are computed in the test (from raw files, the marts, the docs' contract, by hand), never by the
  code under test (its formatters, constants, cached results);
- the session's sample province (`province`) is only read: a test that reruns the pipeline or adds or deletes
  files works on its own copy (`own_province`); tables come from the project's schema files (`create_tables`);
- thresholds are passed explicitly, not monkeypatched.
Order independence is checked by running the suite backwards (`EGOV_TEST_ORDER=reverse ./egov test`: files and
the tests in them in reverse order) and the tests that change data one by one.

`pytest -m "not slow"` is the loop to run while editing (about a minute): `slow` marks a test that runs the whole
pipeline or a Dagster run, starts a server or a browser, or takes more than ~2 s; a test that uses the sample
province is marked slow here, without having to say so. `./egov test` runs everything."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import shutil
import subprocess
import tempfile
import traceback
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
# Great Expectations validates in the run's own process (docs/operators.md): its worker process overlaps GX's import
# (~4.6 s of CPU) with the run on an idle core, but here both cores run tests, and a pytest worker imports GX once
# for all its runs instead of once per run. The sample province's build (`build_province`) and
# tests/test_unchanged.py keep the worker, so the run's path through it is exercised in every session.
os.environ.setdefault("EGOV_GX_WORKER", "0")


PROVINCE_FIXTURES = {"province", "own_province", "report_marts"}  # a whole pipeline run of the sample province


def pytest_itemcollected(item: pytest.Item) -> None:
    """A test on the sample province is slow whether or not it says so (before `-m` deselects anything)."""
    if PROVINCE_FIXTURES & set(getattr(item, "fixturenames", ())):
        item.add_marker(pytest.mark.slow)


@pytest.hookimpl(trylast=True)  # after pytest's own grouping by fixture scope
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("EGOV_TEST_ORDER") == "reverse":
        items.reverse()


DOSSIER_HEADER = [
    "MaHoSo",
    "MaTTHC",
    "DonViXuLy",
    "KenhThucHien",
    "MucDo",
    "NgayTiepNhan",
    "NgayHenTra",
    "NgayKetThucXuLy",
    "NgayTra",
    "TrangThaiHoSo",
    "LePhi",
    "DuocThanhToanTrucTuyen",
    "HoSoCoThanhPhanSoHoa",
    "LoaiDoiTuong",
    "ChuHoSo",
    "SoGiayTo",
    "SoDienThoai",
    "Email",
]
PROJECT = Path(__file__).resolve().parents[1]
# The tests' own rubric folders: engine tests score with these, not config/rubrics/, so that a change of the bundled
# methodology does not change their hand-computed figures (tests/test_rubric.py checks the bundled rubric itself).
RUBRIC_FIXTURES = PROJECT / "tests" / "fixtures" / "rubrics"
YEARS = [2023, 2024, 2025]  # the years of the shared sample province
EVIL_AGENCY_CODE = "SO-TP"
EVIL_AGENCY_NAME = '=HYPERLINK("http://evil","x")'
AGENCY_HEADER = [
    "agency_code",
    "agency_name",
    "agency_group",
    "parent_code",
    "valid_from",
    "valid_to",
    "successor_code",
]


def write_csv(
    path: Path, header: list[str], rows: list[list[object]], *, encoding: str = "utf-8", delimiter: str = ","
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def dossier(
    code: str,
    agency: str = "SO-TP",
    *,
    procedure: str = "P1",
    channel: object = 2,
    level: object = 3,
    received: str = "20240105080000",
    due: str | None = None,
    finished: str | None = None,
    returned: str | None = None,
    status: object = 10,
    fee: object = 0,
    paid: object = 0,
    digitised: object = 1,
    applicant: object = 1,
) -> list[object]:
    """A dossier row; due, finished and returned default to 5, 4 and 5 days after reception."""
    from datetime import datetime, timedelta

    try:
        start = datetime.strptime(received, "%Y%m%d%H%M%S")
    except ValueError:  # an impossible date on purpose
        start = None

    def later(days: int) -> str:
        return (start + timedelta(days=days)).strftime("%Y%m%d%H%M%S") if start else ""

    due = later(5) if due is None else due
    finished = later(4) if finished is None else finished
    returned = later(5) if returned is None else returned
    return [
        code,
        procedure,
        agency,
        channel,
        level,
        received,
        due,
        finished,
        returned,
        status,
        fee,
        paid,
        digitised,
        applicant,
        "Nguyễn Văn An",
        "001099012345",
        "0912345678",
        "an.nguyen@example.vn",
    ]


# The warehouse tables of each layer, as the pipeline creates them. The staging tables (generated from
# config/sources.yaml) and the core's own (pipelines/core/warehouse.sql) come with warehouse.connect.
SCHEMA_FILES = {
    "indicators": PROJECT / "assets" / "indicators" / "sql" / "schema.sql",
    "scoring": PROJECT / "assets" / "scoring" / "schema.sql",
    "profiles": PROJECT / "assets" / "profiles" / "schema.sql",
}


def create_tables(con, *layers: str) -> None:
    """Create the tables of `layers` from the project's schema files, never from definitions typed in a test."""
    for layer in layers:
        con.execute(SCHEMA_FILES[layer].read_text(encoding="utf-8"))


def egov_in_process(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """`egov argv` run by its `main` in this process with `env` set, as the script would run it: the exit code,
    and what it printed to stdout and stderr (an uncaught exception's traceback on stderr, exit code 1). The
    environment is restored afterwards (the command sets DAGSTER_HOME)."""
    from pipelines.cli import main

    saved = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as stop:  # argparse: --help, a usage error
                code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
            except Exception:  # noqa: BLE001 - as the interpreter would: a traceback and exit code 1
                traceback.print_exc()
                code = 1
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(["egov", *argv], code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="session", autouse=True)
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's own cache (the prepared GX project, `pipelines/core/settings.py` `cache_dir`), shared by the
    xdist workers: never the user's ~/.cache, and every session starts without one."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "cache"
    os.environ["EGOV_CACHE_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sample province (3 years) run once through the whole pipeline, shared by the end-to-end tests.

    Read it, never change it: a test that reruns the pipeline or adds or deletes files uses `own_province`."""
    return built_once(tmp_path_factory, "province", build_province)


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Path]) -> Path:
    """`build(folder)` run once per test session, its result shared by every test that asks (read only).

    Under pytest-xdist, the first worker that needs it builds it (the others wait on a file lock) into a scratch
    folder renamed into place when the build succeeded; a failed build is not retried by every worker, each fails
    with its message. `build` returns the path to share, inside its folder."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # one process: its own temporary folder
        return build(tmp_path_factory.mktemp(name))
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent  # the session's folder, above each worker's own
    done, failed = shared / name, shared / f"{name}.failed"
    with FileLock(shared / f"{name}.lock"):
        if not (done / "complete").is_file():
            if failed.is_file():
                pytest.fail(
                    f"{name} failed to build in another worker:\n{failed.read_text(encoding='utf-8')}",
                    pytrace=False,
                )
            scratch = Path(tempfile.mkdtemp(prefix=f"{name}.building-", dir=shared))
            try:
                result = build(scratch)
            except BaseException as error:
                failed.write_text(f"{type(error).__name__}: {error}", encoding="utf-8")
                shutil.rmtree(scratch, ignore_errors=True)
                raise
            (scratch / "complete").write_text(str(result.relative_to(scratch)), encoding="utf-8")
            scratch.rename(done)
    return done / (done / "complete").read_text(encoding="utf-8")


def build_province(folder: Path) -> Path:
    """Generate the sample province in `folder`/data and run the whole pipeline on it (Dagster home beside it)."""
    from pipelines.cli.runs import run_pipeline  # imports Dagster: only for the tests that need it
    from pipelines.sample.synthetic import generate_sample_province

    base = folder / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EGOV_DATA_DIR", str(base))
        mp.setenv("DAGSTER_HOME", str(folder / "dagster_home"))
        mp.setenv("EGOV_GX_WORKER", "1")  # as a deployment runs: GX in its worker process
        generate_sample_province(
            base / "raw", scale=0.02, first_year=YEARS[0], last_year=YEARS[-1], through=date(YEARS[-1], 12, 31)
        )
        # A name a spreadsheet would run as a formula if written carelessly: reports must keep it text.
        registry_file = base / "raw" / "agencies" / "agencies.csv"
        with registry_file.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        renamed = [r[:1] + [EVIL_AGENCY_NAME] + r[2:] if r[0] == EVIL_AGENCY_CODE else r for r in rows]
        assert renamed != rows, f"{EVIL_AGENCY_CODE} is no longer in the sample registry"
        write_csv(registry_file, renamed[0], renamed[1:])
        assert run_pipeline(YEARS, data_dir=base)
    return base  # EGOV_DATA_DIR and DAGSTER_HOME restored: later tests do not inherit them


@pytest.fixture
def own_province(province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own copy of the shared sample province, selected through EGOV_DATA_DIR and DAGSTER_HOME (a
    fresh Dagster instance), for tests that rerun the pipeline or add, change or delete files in it."""
    from pipelines.cli.instance import ensure_dagster_home

    base = tmp_path / "data"
    shutil.copytree(province, base)  # copy2 keeps modification times: the raw files stay "unchanged"
    monkeypatch.setenv("EGOV_DATA_DIR", str(base))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    ensure_dagster_home(base)
    return base


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data directory, selected through EGOV_DATA_DIR as a deployment would."""
    base = tmp_path / "data"
    (base / "raw").mkdir(parents=True)
    monkeypatch.setenv("EGOV_DATA_DIR", str(base))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    (tmp_path / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return base


@pytest.fixture
def con(data_dir: Path, registry: Path) -> Iterator:
    """A warehouse file with the small registry loaded, for the loader tests."""
    from assets.ingestion.load import ingest
    from pipelines.core.registry.sources import load_sources
    from pipelines.core.warehouse import connect

    con = connect(data_dir / "warehouse" / "egov.duckdb")
    ingest(con, load_sources()["agencies"], data_dir / "raw", None)
    yield con
    con.close()


@pytest.fixture
def registry(data_dir: Path) -> Path:
    """A small agency registry: two departments, a district with two communes, a merged department."""
    return write_csv(
        data_dir / "raw" / "agencies" / "agencies.csv",
        AGENCY_HEADER,
        [
            ["SO-TP", "Sở Tư pháp", "department", "", "2016-01-01", "", ""],
            ["SO-YT", "Sở Y tế", "department", "", "2016-01-01", "", ""],
            ["SO-KH", "Sở Kế hoạch và Đầu tư", "department", "", "2016-01-01", "28/02/2025", "SO-TC"],
            ["SO-TC", "Sở Tài chính", "department", "", "", "", ""],
            ["H01", "UBND huyện Sông Lam", "district", "", "2016-01-01", "2025-06-30", ""],
            ["X001", "UBND xã Tân An", "commune", "H01", "2016-01-01", "", ""],
            ["X002", "UBND xã Phú Hòa", "commune", "H01", "2016-01-01", "", ""],
        ],
    )


TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def to_cp1258(text: str) -> bytes:
    """Encode like a Vietnamese Windows export: precomposed base letters, tone marks as combining characters."""
    import unicodedata

    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        tones = [m for m in parts if m in TONE_MARKS]
        base = unicodedata.normalize("NFC", "".join(m for m in parts if m not in TONE_MARKS))
        out += (base + "".join(tones)).encode("cp1258")
    return bytes(out)


@pytest.fixture(scope="session")
def report_marts(province: Path) -> Path:
    """The published marts of the shared sample province (whose registry holds a formula-looking name)."""
    return province / "marts" / "egov.duckdb"


# Independent oracles for what the reports show: written from the published notation, never the project's
# formatters (pipelines.core.vietnamese), so a formatter's mistake cannot hide in the expected value.
def change_text(prev_rank: int | None, rank: int) -> str:
    """The rank change as ranking appendices print it: ↑3 (up 3 places), ↓2, – (same), mới (no previous rank)."""
    if prev_rank is None:
        return "mới"
    up = prev_rank - rank
    return "–" if up == 0 else f"↑{up}" if up > 0 else f"↓{-up}"


def vn_value(text: str, decimals: int) -> float:
    """The number a Vietnamese reader sees in '1.234,50' (dots group thousands, a comma and exactly `decimals`
    decimals); anything else, e.g. '1,234.50' or '89,5' for 2 decimals, is refused."""
    pattern = r"-?\d{1,3}(?:\.\d{3})*" + (rf",\d{{{decimals}}}" if decimals else "")
    assert re.fullmatch(pattern, text), f"{text!r} is not a Vietnamese number with {decimals} decimals"
    return float(text.replace(".", "").replace(",", "."))
