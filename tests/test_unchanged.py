"""Fixed costs off the critical path: the CLI's help and a night with nothing new start neither Dagster nor GX.

Functional tests (which modules a process imports, whether a run is skipped), never timings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cli import unchanged
from pipelines.core import settings

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("dagster", "great_expectations", "polars", "pandas")


def _imports_after(code: str, env: dict[str, str] | None = None) -> tuple[list[str], str]:
    """The heavy modules a fresh interpreter holds after running `code`, and what it printed."""
    probe = f"{code}\nimport sys\nprint('MODULES=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("MODULES="))
    return [m for m in line.removeprefix("MODULES=").split(",") if m], done.stdout


def test_help_imports_neither_dagster_nor_gx() -> None:
    loaded, out = _imports_after(
        "from pipelines.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert "refresh a year" in out
    assert loaded == []
    loaded, _ = _imports_after("from pipelines.cli import main\ntry:\n    main(['run', '--help'])\n"
                               "except SystemExit:\n    pass")
    assert loaded == []


def _data_dir(tmp_path: Path) -> Path:
    """A data directory as a successful run leaves it (raw files, warehouse, marts, Data Docs), contents fake."""
    base = tmp_path / "data"
    for rel in ("raw/dossiers/2024/01/hoso.csv", "raw/agencies/agencies.csv", "warehouse/egov.duckdb",
                "marts/egov.duckdb", "quality/data_docs/index.html"):
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text(rel, encoding="utf-8")
    return base


def test_nothing_new_only_when_every_input_and_output_is_as_the_last_run_left_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = _data_dir(tmp_path)
    assert not unchanged.nothing_new(base, [2024])  # no successful run yet
    unchanged.record_success(base, [2024], unchanged.fingerprint(base, [2024]))
    assert unchanged.nothing_new(base, [2024])
    assert not unchanged.nothing_new(base, [2023, 2024])  # other years

    new_day = base / "raw" / "dossiers" / "2024" / "12" / "hoso_new.csv"
    new_day.parent.mkdir(parents=True)
    new_day.write_text("x", encoding="utf-8")
    assert not unchanged.nothing_new(base, [2024])  # a new raw file
    new_day.unlink()
    new_day.parent.rmdir()
    assert unchanged.nothing_new(base, [2024])

    raw = base / "raw" / "agencies" / "agencies.csv"
    st = raw.stat()
    os.utime(raw, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert not unchanged.nothing_new(base, [2024])  # a raw file saved again
    os.utime(raw, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert unchanged.nothing_new(base, [2024])

    monkeypatch.setenv("EGOV_SOMETHING", "1")
    assert not unchanged.nothing_new(base, [2024])  # a setting
    monkeypatch.delenv("EGOV_SOMETHING")

    marts = base / "marts" / "egov.duckdb"
    marts.unlink()
    assert not unchanged.nothing_new(base, [2024])  # the published marts are gone: publish them again
    marts.write_text("marts/egov.duckdb", encoding="utf-8")
    unchanged.record_success(base, [2024], unchanged.fingerprint(base, [2024]))
    assert unchanged.nothing_new(base, [2024])

    wal = base / "marts" / "egov.duckdb.wal"  # an analyst's read-write session left its WAL: the publish removes it
    wal.write_text("wal", encoding="utf-8")
    assert not unchanged.nothing_new(base, [2024])
    wal.unlink()
    reader = base / "marts" / ".readers" / "0123.duckdb"  # a reader link, or a killed publish's file
    reader.parent.mkdir()
    reader.write_text("link", encoding="utf-8")
    assert not unchanged.nothing_new(base, [2024])
    reader.unlink()
    assert unchanged.nothing_new(base, [2024])

    monkeypatch.setattr(unchanged, "_code_hash", lambda: "another version")
    assert not unchanged.nothing_new(base, [2024])  # the code or a rule changed
    monkeypatch.undo()

    unchanged.forget(base)  # a run started: until it succeeds, nothing is taken as done
    assert not unchanged.nothing_new(base, [2024])


def test_run_with_nothing_new_returns_before_starting_dagster(tmp_path: Path) -> None:
    base = _data_dir(tmp_path)
    env = {"EGOV_DATA_DIR": str(base), "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    code = ("import os\nfrom pathlib import Path\nfrom pipelines.cli import unchanged\n"
            "base = Path(os.environ['EGOV_DATA_DIR'])\n"
            "unchanged.record_success(base, [2024], unchanged.fingerprint(base, [2024]))\n"
            "from pipelines.cli import main\nprint('EXIT=%d' % main(['run', '--year', '2024']))")
    loaded, out = _imports_after(code, env)
    assert "Nothing new for 2024" in out and "EXIT=0" in out
    assert loaded == []
    stamp = json.loads((settings.warehouse_path(base).parent / unchanged.STAMP).read_text(encoding="utf-8"))
    assert stamp["inputs"]["years"] == [2024]


def _without_timings(results: dict) -> dict:
    return {name: {k: v for k, v in r.items() if k != "seconds"} for name, r in results.items()}


def test_gx_worker_gives_the_in_process_summaries(province: Path, tmp_path: Path) -> None:
    """Validation in the worker process (started ahead, as a run does) equals validation in this process; without
    a worker, or for another site, `validate` returns None and the caller validates itself."""
    import duckdb

    from expectations import gx_worker
    from expectations.gx_runner import _validate, load_frames
    from pipelines.core.registry import load_registry
    from tests.conftest import YEARS

    with duckdb.connect(str(settings.warehouse_path(province)), read_only=True) as con:
        frames = load_frames(con, YEARS, ["rankings", "indicators", "stg_services"])
    assert gx_worker.validate(frames, tmp_path / "a" / "data_docs", None) is None  # no worker
    gx_worker.start(tmp_path / "a" / "data_docs", province)
    try:
        assert gx_worker.validate(frames, tmp_path / "elsewhere", None) is None  # started for another site
        in_worker = gx_worker.validate(frames, tmp_path / "a" / "data_docs", "2023-2025")
    finally:
        gx_worker.stop()
    assert not gx_worker.running()
    here = _validate(frames, tmp_path / "b" / "data_docs", run_name="2023-2025", registry=load_registry(province))
    assert in_worker is not None and _without_timings(in_worker) == _without_timings(here)
    assert (tmp_path / "a" / "data_docs" / "index.html").exists()  # the worker built the Data Docs
