"""The code location loads, its asset graph and checks are the committed snapshot, and the schedule and sensor
request the right partitions (Dagster testing APIs)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from conftest import DOSSIER_HEADER, dossier, write_csv
from syrupy.assertion import SnapshotAssertion

from pipelines import cli
from pipelines.core.settings import today_vn
from pipelines.definitions import defs
from pipelines.defs.partitions import yearly_partitions
from pipelines.defs.quality import data_quality, quality_checks
from pipelines.defs.resources import build_resources
from pipelines.defs.schedules import nightly_current_year
from pipelines.defs.sensors import raw_files_sensor


def test_definitions_load_with_every_layer_and_year_partitions():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {
        "stg_agencies",
        "stg_services",
        "stg_dossiers",
        "stg_one_stop",
        "stg_infrastructure",
        "stg_capacity",
        "stg_assessments",
        "indicator_values",
        "dossier_indicators_ytd",
        "indicator_scores",
        "criterion_scores",
        "rankings",
        "data_quality",
        "marts",
    } <= keys
    now = datetime.now(UTC)  # one instant for both: no disagreement at midnight
    years = graph.get(dg.AssetKey("stg_dossiers")).partitions_def.get_partition_keys(current_time=now)
    # the calendar starts in 2000 (settings.EARLIEST_YEAR); a deployment scores from its earliest rubric file on
    assert years[0] == "2000" and years[-1] == str(today_vn(now).year)
    assert graph.get(dg.AssetKey("stg_agencies")).partitions_def is None
    specs = [spec for d in [*quality_checks, data_quality] for spec in d.check_specs]
    blocking = {spec.name for spec in specs if spec.blocking}
    assert {
        "quarantine_within_threshold",
        "dossier_log_consistent",
        "rows_consistent",
        "ratios_within_0_1",
        "ranks_follow_totals",
        "critical_expectations_pass",
    } <= blocking
    assert defs.resolve_job_def("egov_pipeline") is not None


@pytest.mark.filterwarnings("ignore:Parameter `backfill_policy`")
def test_full_refresh_reaches_every_staging_table_whatever_its_name(tmp_path: Path):
    """`table:` in sources.yaml is any SQL name: full refresh went only to the steps whose name starts with stg_, so
    `egov backfill` never reloaded a source staged as staging_x (issue 25). The ingestion steps are the sources'
    tables."""
    from pipelines.core.registry.sources import SOURCES_PATH, load_sources
    from pipelines.defs.ingestion import build_ingestion_assets
    from pipelines.defs.jobs import PIPELINE_JOB, pipeline_run_config

    text = SOURCES_PATH.read_text(encoding="utf-8")
    assert "table: stg_services\n" in text
    path = tmp_path / "sources.yaml"
    path.write_text(text.replace("table: stg_services\n", "table: staging_x\n"), encoding="utf-8")
    sources = load_sources(path)
    job = dg.Definitions(
        assets=build_ingestion_assets(sources),
        jobs=[dg.define_asset_job("ingest")],
        resources=build_resources(tmp_path),
    ).resolve_job_def("ingest")
    config = pipeline_run_config(job, full_refresh=True, sources=sources)
    assert {op for op, c in config["ops"].items() if c["config"].get("full_refresh")} == {
        "stg_agencies",
        "staging_x",
        "stg_dossiers",
        "stg_one_stop",
        "stg_infrastructure",
        "stg_capacity",
        "stg_assessments",
        "stg_ratings",
        "stg_feedback",
    }
    # The code location's job: every source's step, and a run config Dagster accepts.
    job = defs.resolve_job_def(PIPELINE_JOB)
    config = pipeline_run_config(job, full_refresh=True)
    assert {op for op, c in config["ops"].items() if c["config"].get("full_refresh")} == {
        "stg_agencies",
        "stg_services",
        "stg_dossiers",
        "stg_one_stop",
        "stg_infrastructure",
        "stg_capacity",
        "stg_assessments",
        "stg_ratings",
        "stg_feedback",
    }
    assert dg.validate_run_config(job, config)


def partitions_kind(partitions: dg.PartitionsDefinition | None) -> str | None:
    """How an asset is partitioned, in words that do not change with today's date."""
    if partitions is None:
        return None
    if isinstance(partitions, dg.TimeWindowPartitionsDefinition):
        return (
            f"time window: cron {partitions.cron_schedule!r}, {partitions.fmt!r} from "
            f"{partitions.start:%Y-%m-%d} ({partitions.timezone}), end offset {partitions.end_offset}"
        )
    if isinstance(partitions, dg.DynamicPartitionsDefinition):
        return f"dynamic: {partitions.name}"
    if isinstance(partitions, dg.MultiPartitionsDefinition):
        return " × ".join(f"{d.name} ({partitions_kind(d.partitions_def)})" for d in partitions.partitions_defs)
    return type(partitions).__name__


def test_asset_graph_and_checks_are_the_committed_snapshot(snapshot: SnapshotAssertion):
    """Every asset (group, partitions, what it depends on) and every check (its asset, whether it blocks), sorted.
    A change of the graph is deliberate: `pytest --snapshot-update tests/test_definitions.py` and commit the diff
    of tests/__snapshots__/test_definitions.ambr (docs/developers.md, "The tests")."""
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "partitions": partitions_kind(node.partitions_def),
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
        }
    checks = sorted(
        (key.asset_key.to_user_string(), key.name, graph.get_check_spec(key).blocking) for key in graph.asset_check_keys
    )
    assert {"assets": assets, "checks": [{"asset": a, "name": n, "blocking": b} for a, n, b in checks]} == snapshot


def test_the_code_location_module_holds_one_definitions_object():
    """`dagster dev -m pipelines.definitions` (and `dagster asset materialize -m`) refuse a module with more than one
    Definitions at module scope: an imported one counts."""
    import pipelines.definitions as location

    assert [name for name, value in vars(location).items() if isinstance(value, dg.Definitions)] == ["defs"]


@pytest.mark.slow
def test_loading_the_definitions_warns_nothing():
    """Every process that loads the code location (the UI's code server, step processes, Celery tasks) logs what
    it prints on import: Dagster's "beta" note for `backfill_policy` came once per asset, 17 lines each time."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", "import pipelines.definitions"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        check=True,
    )
    assert "Warning" not in done.stderr, done.stderr[:2000]


@pytest.mark.parametrize(
    ("instant", "vietnam_year"),
    [
        (datetime(2025, 12, 31, 16, 59, tzinfo=UTC), 2025),  # 23:59 on 31 December in Hà Nội
        (datetime(2025, 12, 31, 17, 30, tzinfo=UTC), 2026),  # 00:30 on 1 January in Hà Nội, still 2025 in UTC
        (datetime(2026, 1, 1, 16, 0, tzinfo=UTC), 2026),
    ],
)
def test_this_year_is_vietnams_around_new_year(instant: datetime, vietnam_year: int):
    assert today_vn(instant).year == vietnam_year
    assert yearly_partitions.get_partition_keys(current_time=instant)[-1] == str(vietnam_year)
    with pytest.raises(ValueError, match="aware"):
        today_vn(instant.replace(tzinfo=None))  # a naive instant would be read in the machine's zone


def test_cli_years_end_at_this_year_in_vietnam():
    this_year = today_vn().year
    assert cli.parse_years(f"2016-{this_year}")[-1] == this_year
    with pytest.raises(argparse.ArgumentTypeError, match=f"between 2000 and {this_year}"):
        cli.parse_years(str(this_year + 1))


def test_nightly_schedule_requests_the_running_year():
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 25, 2, 0))
    request = nightly_current_year(context)
    assert request.partition_key == "2026" and request.run_key == "nightly-2026-11-25"


def test_sensor_requests_only_changed_years_and_nothing_when_unchanged(data_dir: Path, registry: Path):
    resources = build_resources(data_dir)
    raw = data_dir / "raw"
    write_csv(raw / "dossiers" / "2023" / "12" / "a.csv", DOSSIER_HEADER, [dossier("A", received="20231201080000")])
    write_csv(raw / "dossiers" / "2024" / "01" / "b.csv", DOSSIER_HEADER, [dossier("B")])

    def evaluate(cursor: str | None) -> dg.SensorResult:
        with dg.build_sensor_context(cursor=cursor, resources=resources) as context:
            return raw_files_sensor(context)

    first = evaluate(None)  # first look: the registry is new, so every year is requested in one range run
    assert len(first.run_requests) == 1
    assert first.run_requests[0].tags["dagster/asset_partition_range_start"] == "2016"
    cursor = first.cursor
    quiet = evaluate(cursor)
    assert quiet.run_requests == [] and quiet.skip_reason is not None
    write_csv(raw / "dossiers" / "2024" / "02" / "c.csv", DOSSIER_HEADER, [dossier("C", received="20240201080000")])
    write_csv(raw / "services" / "2022" / "s.csv", ["year"], [[2022]])
    changed = evaluate(cursor)
    assert sorted(r.partition_key for r in changed.run_requests) == ["2022", "2024"]
    assert set(json.loads(changed.cursor)) == {"registry", "2022", "2023", "2024"}


def test_cli_help_and_usage_errors(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    assert "backfill" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        cli.main(["backfill", "--years", "2020-2016"])
    assert exc.value.code == 2
    assert cli.parse_years("2016...2018") == [2016, 2017, 2018]


def test_data_directory_is_read_when_used_not_when_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    warehouse = defs.resources["warehouse"]  # imported above, before the variable is set
    monkeypatch.setenv("EGOV_DATA_DIR", str(tmp_path / "elsewhere"))
    assert warehouse.raw_dir == (tmp_path / "elsewhere" / "raw").resolve()
    assert warehouse.database_path == (tmp_path / "elsewhere" / "warehouse" / "egov.duckdb").resolve()
