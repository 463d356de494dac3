"""Fixed costs off the critical path: the CLI's help and a night with nothing new start neither Dagster nor GX.

Functional tests (which modules a process imports, whether a run is skipped), never timings.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.cli import unchanged
from pipelines.core import settings

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("dagster", "great_expectations", "polars", "pandas")


def _imports_after(code: str, env: dict[str, str] | None = None) -> tuple[list[str], str]:
    """The heavy modules a fresh interpreter holds after running `code`, and what it printed."""
    probe = f"{code}\nimport sys\nprint('MODULES=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=True,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("MODULES="))
    return [m for m in line.removeprefix("MODULES=").split(",") if m], done.stdout


def test_help_imports_neither_dagster_nor_gx() -> None:
    loaded, out = _imports_after(
        "from pipelines.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert "refresh a year" in out
    assert loaded == []
    loaded, _ = _imports_after(
        "from pipelines.cli import main\ntry:\n    main(['run', '--help'])\nexcept SystemExit:\n    pass"
    )
    assert loaded == []


def _data_dir(tmp_path: Path) -> Path:
    """A data directory as a successful run leaves it (raw files, warehouse, marts, Data Docs), contents fake."""
    base = tmp_path / "data"
    for rel in (
        "raw/dossiers/2024/01/hoso.csv",
        "raw/agencies/agencies.csv",
        "warehouse/egov.duckdb",
        "marts/egov.duckdb",
        "quality/data_docs/index.html",
    ):
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text(rel, encoding="utf-8")
    return base


def test_nothing_new_only_when_every_input_and_output_is_as_the_last_run_left_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    code = (
        "import os\nfrom pathlib import Path\nfrom pipelines.cli import unchanged\n"
        "base = Path(os.environ['EGOV_DATA_DIR'])\n"
        "unchanged.record_success(base, [2024], unchanged.fingerprint(base, [2024]))\n"
        "from pipelines.cli import main\nprint('EXIT=%d' % main(['run', '--year', '2024']))"
    )
    loaded, out = _imports_after(code, env)
    assert "Nothing new for 2024" in out and "EXIT=0" in out
    assert loaded == []
    stamp = json.loads((settings.warehouse_path(base).parent / unchanged.STAMP).read_text(encoding="utf-8"))
    assert stamp["inputs"]["years"] == [2024]


def _without_timings(results: dict) -> dict:
    return {name: {k: v for k, v in r.items() if k != "seconds"} for name, r in results.items()}


def _stored_results(site: Path) -> dict[str, int]:
    """Validation results in the GX project of a Data Docs site, per suite."""
    found = (site.parent / "gx" / "uncommitted" / "validations").glob("*/*/*/*.json")
    counts: dict[str, int] = {}
    for path in found:
        counts[path.parts[-4]] = counts.get(path.parts[-4], 0) + 1
    return counts


def test_the_gx_worker_serves_site_after_site_takes_tables_ahead_and_equals_validation_here(
    province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GX worker (expectations/gx_worker.py) against validation in this process, in one worker's life and the
    next's (each start imports GX, so the scenarios share them):
    - it stays for the process's next runs: a national run validates province after province, so the worker is
      asked to prepare the next site and validates it (GX imported once); without a worker, or for a site it was
      not last prepared for, `validate` returns None and the caller validates itself;
    - the run's checks hand it each table as soon as it is final, and data_quality takes those results instead of
      validating again; a table whose content changed after it was handed is validated again and its early result
      dropped; tables handed by a run that ended before its data_quality leave no result behind;
    - a worker that dies after taking tables ahead is replaced by validation here, and the results it stored are
      removed when the site is published;
    - it answers before it builds the Data Docs, and `stop` waits for them."""
    import duckdb

    monkeypatch.setenv("EGOV_GX_WORKER", "1")  # the deployments' default (tests/conftest.py turns it off)

    from expectations import gx_worker
    from expectations.gx_runner import (
        data_docs_index,
        export_frames,
        load_frames,
        table_fingerprints,
        validate_ahead,
        validate_in_process,
        validate_tables,
    )
    from pipelines.core.registry import load_registry
    from tests.conftest import YEARS

    label, registry = f"{YEARS[0]}-{YEARS[-1]}", load_registry(province)
    names = ["stg_services", "indicators", "rankings"]
    first, abandoned, site, replaced = (
        tmp_path / name / "data_docs" for name in ("first", "abandoned", "site", "replaced")
    )
    with duckdb.connect(str(settings.warehouse_path(province)), read_only=True) as con:
        frames = load_frames(con, YEARS, names)
        fingerprints = table_fingerprints(con, YEARS, names)
        early = {name: fingerprints[name] for name in ("stg_services", "indicators")}

        def load(tables: list[str]) -> dict:
            return {name: frames[name] for name in tables}

        def export(tables: list[str], directory: Path) -> dict[str, str]:  # as data_quality hands them over
            return export_frames(con, YEARS, tables, directory)

        def exported(directory: Path) -> dict[str, str]:
            return export(names, directory)

        assert gx_worker.validate(exported, first, None) is None  # no worker
        try:
            gx_worker.start(first, province)
            pid = gx_worker._worker.pid
            assert gx_worker.validate(exported, tmp_path / "elsewhere", None) is None  # started for another site
            in_first = gx_worker.validate(exported, first, label)
            gx_worker.start(abandoned, province)
            assert validate_ahead(con, YEARS, early, abandoned, run_name=label, registry=registry) == list(early)
            gx_worker.start(site, province)  # the abandoned run ended before its data_quality
            assert gx_worker._worker.pid == pid  # the same process: GX is not imported again
            assert gx_worker.validate(exported, first, label) is None  # now prepared for another site
            assert validate_ahead(con, YEARS, early, site, run_name=label, registry=registry) == list(early)
            # the indicators changed after they were handed: their fingerprint differs
            in_worker = validate_tables(
                load, {**fingerprints, "indicators": "changed"}, site, export=export, run_name=label
            )
            gx_worker.stop()  # once it has built the Data Docs, which it does after answering
            assert (first / "index.html").exists() and (site / "index.html").exists()
            gx_worker.start(replaced, province)
            assert validate_ahead(con, YEARS, early, replaced, run_name=label, registry=registry) == list(early)
            for _ in range(600):  # until the worker stored the results of what it was handed, then it dies
                if set(_stored_results(replaced)) == set(early):
                    break
                time.sleep(0.2)
            assert set(_stored_results(replaced)) == set(early)
            gx_worker._worker.kill()
            gx_worker._worker.wait()
            in_process_after_death = validate_tables(load, fingerprints, replaced, export=export, run_name=label)
            assert not gx_worker.running()  # the dead worker was noticed
        finally:
            gx_worker.stop()
        here = validate_in_process(load(names), tmp_path / "here" / "data_docs", run_name=label, registry=registry)
    assert in_first is not None and _without_timings(in_first) == _without_timings(here)
    expected = _without_timings({name: {**r, "reused": False} for name, r in here.items()})
    assert _without_timings(in_worker) == expected
    assert _without_timings(in_process_after_death) == expected
    assert _stored_results(site) == dict.fromkeys(names, 1)  # the early indicators' result dropped
    assert _stored_results(abandoned) == {}
    assert _stored_results(replaced) == dict.fromkeys(names, 1)  # the dead worker's results removed at the publish
    for docs in (site, replaced):
        index = data_docs_index(docs).read_text()
        assert all(len(list((docs / "validations" / name).rglob("*.html"))) == 1 for name in names)
        assert all(f"validations/{name}/" in index for name in names)


def test_the_files_handed_to_the_gx_worker_hold_the_frames_validation_here_reads(
    province: Path, tmp_path: Path
) -> None:
    """The GX worker validates the Parquet files DuckDB writes (`export_frames`, read back by `read_frames`); they
    give, table by table, the very frames `load_frames` reads for validation in the run's process: same columns,
    dtypes and values, for every GX table of the sample province (the dossier log's aggregate and the ratings'
    among them)."""
    import duckdb
    import pandas as pd

    from expectations.gx_runner import export_frames, load_frames, read_frames
    from pipelines.defs.quality import GX_TABLES
    from tests.conftest import YEARS

    warehouse = tmp_path / "egov.duckdb"  # a copy: the dossier aggregate brings its per-file counts up to date
    shutil.copyfile(settings.warehouse_path(province), warehouse)
    with duckdb.connect(str(warehouse)) as con:
        here = load_frames(con, YEARS, GX_TABLES)
        handed = read_frames(export_frames(con, YEARS, GX_TABLES, tmp_path))
    assert {"dossier_agency_month", "rating_month", "rankings"} <= set(here)
    assert list(handed) == list(here)
    for name, frame in here.items():
        assert len(frame) > 0, name
        pd.testing.assert_frame_equal(handed[name], frame, check_exact=True, obj=name)


@pytest.mark.slow
def test_a_run_whose_gx_validates_in_its_worker_never_imports_pandas(tmp_path: Path) -> None:
    """The run's process hands the GX worker files, not frames: it never imports pandas (~100 MB of its resident
    memory, which the memory budget would otherwise have to leave to it), and the worker validated every table."""
    from test_national import PROVINCES, write_province

    base = tmp_path / "data"
    write_province(base, PROVINCES["AAA"][1])
    env = {
        "EGOV_DATA_DIR": str(base),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "EGOV_GX_WORKER": "1",
    }
    code = "from pipelines.cli import main\nprint('EXIT=%d' % main(['run', '--year', '2024']))"
    loaded, out = _imports_after(code, env)
    assert "EXIT=0" in out, out
    assert "pandas" not in loaded and "great_expectations" not in loaded
    site = settings.data_docs_index(base).parent
    for name in ("stg_agencies", "stg_services", "dossier_agency_month", "indicators", "criterion_scores", "rankings"):
        assert list((site / "validations" / name).rglob("*.html")), f"no validation page of {name}"


def test_every_stored_gx_result_is_keyed_by_the_content_it_validated(province: Path) -> None:
    """A rating names a dossier, so stg_ratings is loaded after the staging checks: the GX fingerprint of its monthly
    aggregate (`rating_month`) is taken by data_quality from what it validates, not by the staging checks before its
    load. Otherwise its result was stored under the table's earlier content (the next run validated it again, and
    that earlier content, if it came back, would get a result it never had)."""
    import duckdb

    from expectations.gx_runner import table_fingerprints, tables_to_validate
    from pipelines.core.registry import load_registry
    from pipelines.defs.quality import GX_TABLES
    from tests.conftest import YEARS

    with duckdb.connect(str(settings.warehouse_path(province)), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM stg_ratings").fetchone()[0] > 0  # the sample has ratings
        tables = [t for t in GX_TABLES if t != "dossier_agency_month"]  # its aggregate writes the per-file counts
        fingerprints = table_fingerprints(con, YEARS, tables)
    site = settings.data_docs_index(province).parent
    label = f"{YEARS[0]}-{YEARS[-1]}"
    assert "rating_month" in fingerprints
    assert tables_to_validate(site, fingerprints, run_name=label, registry=load_registry(province)) == []


# --- the deployment's rubric folder is part of the fingerprint (issue 24, item 9) -------------------------------------

DEPLOYMENT_RUBRIC = """\
year: 2024
title: Xếp hạng thử nghiệm
maximum: 100
classification: [{label: Đạt, min: 50}, {label: Chưa đạt, min: 0}]
assessed_indicators: [{code: ict_infrastructure, name_vi: Hạ tầng}, {code: ict_human, name_vi: Nhân lực}]
criteria:
  - code: ict
    name_vi: Chỉ số thành phần
    max_points: 100
    indicators:
      - {code: ict_infrastructure, points: 70}
      - {code: ict_human, points: 30}
groups:
  province: {label_vi: Tỉnh}
"""
# Submitted components per province (infrastructure, human); totals by hand, infrastructure 70 and human 30 points:
# P01 0.9 × 70 + 0.2 × 30 = 63 + 6 = 69, P02 0.3 × 70 + 0.8 × 30 = 21 + 24 = 45. With 30 and 70 points instead:
# P01 0.9 × 30 + 0.2 × 70 = 27 + 14 = 41, P02 0.3 × 30 + 0.8 × 70 = 9 + 56 = 65: P02 goes first.
COMPONENTS = {"P01": (0.9, 0.2), "P02": (0.3, 0.8)}


def _deployment(base: Path) -> Path:
    """A deployment with its own rubric folder (an annual and a periodic rubric) and submitted components."""
    from conftest import AGENCY_HEADER, write_csv

    (base / "rubrics").mkdir(parents=True)
    (base / "rubrics" / "2024.yaml").write_text(DEPLOYMENT_RUBRIC, encoding="utf-8")
    periodic = base / "rubrics" / "periodic" / "766"
    periodic.mkdir(parents=True)
    for path in (settings.RUBRIC_DIR / "periodic" / "766").glob("*.yaml"):
        (periodic / path.name).write_bytes(path.read_bytes())
    write_csv(
        base / "raw" / "agencies" / "tinh.csv",
        AGENCY_HEADER,
        [[code, f"Tỉnh {code}", "province", "", "2016-01-01", "", ""] for code in COMPONENTS],
    )
    write_csv(
        base / "raw" / "assessments" / "2024" / "thanh_phan.csv",
        ["year", "agency_code", "indicator_code", "value"],
        [
            [2024, code, indicator, value]
            for code, values in COMPONENTS.items()
            for indicator, value in zip(("ict_infrastructure", "ict_human"), values, strict=True)
        ],
    )
    return base


def _same_size_and_time(path: Path, old: str, new: str) -> None:
    """Edit `path` keeping its size and modification time: only its contents tell the edit."""
    st = path.stat()
    text = path.read_text(encoding="utf-8")
    assert old in text and len(old.encode()) == len(new.encode())
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_every_rubric_of_the_deployment_is_in_the_fingerprint(tmp_path: Path) -> None:
    base = _deployment(_data_dir(tmp_path))
    unchanged.record_success(base, [2024], unchanged.fingerprint(base, [2024]))
    assert unchanged.nothing_new(base, [2024])

    annual = base / "rubrics" / "2024.yaml"
    _same_size_and_time(annual, "points: 70}", "points: 60}")
    assert not unchanged.nothing_new(base, [2024])  # a weight of the year's rubric
    _same_size_and_time(annual, "points: 60}", "points: 70}")
    assert unchanged.nothing_new(base, [2024])

    periodic = sorted((base / "rubrics" / "periodic" / "766").glob("*.yaml"))[0]
    text = periodic.read_text(encoding="utf-8")
    periodic.write_text(text + "# a note\n", encoding="utf-8")
    assert not unchanged.nothing_new(base, [2024])  # a periodic rubric
    periodic.write_text(text, encoding="utf-8")
    unchanged.record_success(base, [2024], unchanged.fingerprint(base, [2024]))

    newer = base / "rubrics" / "2023.yaml"
    newer.write_text(DEPLOYMENT_RUBRIC.replace("year: 2024", "year: 2023"), encoding="utf-8")
    assert not unchanged.nothing_new(base, [2024])  # a new rubric file
    newer.unlink()
    assert unchanged.nothing_new(base, [2024])


def test_the_fingerprint_covers_every_configuration_file_the_registry_reads(tmp_path: Path) -> None:
    """Whatever the registry reads for a data directory is either code (in the code folders, with a suffix the code
    hash reads) or the deployment's, and then an edit of its contents alone makes the next run recompute."""
    from pipelines.core.registry import configuration_files

    base = _deployment(_data_dir(tmp_path))
    read = [p for p in configuration_files(base) if not p.is_dir()]
    own = [p for p in read if not p.is_relative_to(settings.PROJECT_ROOT)]
    assert sorted(p.relative_to(base).as_posix() for p in own) == [
        "rubrics/2024.yaml",
        *(f"rubrics/periodic/766/{p.name}" for p in sorted((settings.RUBRIC_DIR / "periodic" / "766").glob("*.yaml"))),
    ]
    for path in set(read) - set(own):
        folder = path.relative_to(settings.PROJECT_ROOT).parts[0]
        assert folder in unchanged.CODE_DIRS and path.suffix in unchanged.CODE_SUFFIXES, path
    unchanged.record_success(base, [2024], unchanged.fingerprint(base, [2024]))
    for path in own:
        text = path.read_text(encoding="utf-8")
        _same_size_and_time(path, text[-1], " " if text[-1] != " " else "\n")
        assert not unchanged.nothing_new(base, [2024]), path
        path.write_text(text, encoding="utf-8")
        assert unchanged.nothing_new(base, [2024]), path


def _ranking(base: Path) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(settings.marts_dir(base) / "egov.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT agency_code, total_points, rank FROM rankings WHERE year = 2024 ORDER BY rank"
        ).fetchall()


@pytest.mark.slow
def test_a_rubric_edited_in_the_deployment_is_applied_by_the_next_run(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli import main

    _deployment(data_dir)
    # Next year's rubric saved under a name that is not read: the run says so (issue 24, "2025.YAML").
    (data_dir / "rubrics" / "2025.YAML").write_text(
        DEPLOYMENT_RUBRIC.replace("year: 2024", "year: 2025"), encoding="utf-8"
    )
    assert main(["run", "--year", "2024"]) == 0
    assert _ranking(data_dir) == [("P01", 69.0, 1), ("P02", 45.0, 2)]
    assert (
        "'2025.YAML' is not read as a rubric: a rubric file must be named <year>.yaml (2025.yaml)"
        in capsys.readouterr().out
    )
    assert main(["run", "--year", "2024"]) == 0
    assert "Nothing new for 2024" in capsys.readouterr().out

    rubric = data_dir / "rubrics" / "2024.yaml"
    text = rubric.read_text(encoding="utf-8")
    rubric.write_text(
        text.replace("points: 70}", "points: 3X}")
        .replace("points: 30}", "points: 70}")
        .replace("points: 3X}", "points: 30}"),
        encoding="utf-8",
    )
    assert main(["run", "--year", "2024"]) == 0
    assert "Nothing new" not in capsys.readouterr().out
    assert _ranking(data_dir) == [("P02", 65.0, 1), ("P01", 41.0, 2)]
    assert main(["run", "--year", "2024"]) == 0
    assert "Nothing new for 2024" in capsys.readouterr().out
