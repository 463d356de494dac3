"""Notice new or changed raw files and refresh only the years they belong to."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg

from assets.national.folders import province_folders
from pipelines.core import settings
from pipelines.core.provinces import province_dir
from pipelines.core.registry.rubrics import rubric_files
from pipelines.core.registry.sources import load_sources
from pipelines.defs.ingestion import years_changed
from pipelines.defs.jobs import national_job, pipeline_job
from pipelines.defs.partitions import yearly_partitions
from pipelines.defs.provinces import (
    PROVINCE_DIMENSION,
    PROVINCE_TAG,
    province_folder_changes,
    province_partitions,
    range_tags,
)
from pipelines.defs.resources import Warehouse
from pipelines.defs.runs import reap_dead_runs_of


def raw_fingerprints(raw_dir: Path) -> dict[str, str]:
    """A fingerprint per year folder of every partitioned source (and one for the registry): names, sizes, mtimes."""
    groups: dict[str, list[str]] = {}
    for contract in load_sources().values():
        base = raw_dir / contract.folder
        if not base.is_dir():
            continue
        for path in sorted(p for p in base.rglob("*") if p.is_file() and not p.name.startswith((".", "~$"))):
            rel = path.relative_to(raw_dir)
            parts = rel.parts
            key = parts[1] if contract.partitioned and len(parts) > 2 and parts[1].isdigit() else "registry"
            if contract.partitioned and key == "registry":
                continue
            stat = path.stat()
            groups.setdefault(key, []).append(f"{rel.as_posix()}:{stat.st_size}:{stat.st_mtime_ns}")
    # A name that is not UTF-8 (a Windows archive unzipped here) keeps its bytes: the loader rejects that file.
    return {
        key: hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()[:16]
        for key, lines in groups.items()
    }


def changed_years(previous: dict[str, str], current: dict[str, str], all_years: list[str]) -> list[str]:
    """Years to refresh: those whose files changed; every year when the agency registry changed."""
    if previous.get("registry") != current.get("registry") and ("registry" in previous or "registry" in current):
        return list(all_years)
    keys = {k for k in set(previous) | set(current) if k != "registry" and previous.get(k) != current.get(k)}
    return sorted(k for k in keys if k in all_years)


@dg.sensor(
    job=pipeline_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Watches data/raw/: a new or changed file refreshes the year partitions it belongs to.",
)
def raw_files_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse) -> dg.SensorResult:
    for line in reap_dead_runs_of(context):  # else a killed run keeps the requested ones queued forever
        context.log.warning(line)
    if settings.is_national(warehouse.base):  # provinces are watched by province_folders_sensor
        return dg.SensorResult(skip_reason="a national data directory: see province_folders_sensor")
    current = raw_fingerprints(warehouse.raw_dir)
    previous = json.loads(context.cursor) if context.cursor else {}
    # the years this deployment can score: from its earliest rubric file on (the partitions start in 2000)
    first = min(rubric_files(settings.rubric_dir(warehouse.base)), default=None)
    all_years = [y for y in yearly_partitions.get_partition_keys() if first is None or int(y) >= first]
    years = changed_years(previous, current, all_years)
    if not years:
        return dg.SensorResult(skip_reason="no raw file changed", cursor=json.dumps(current, sort_keys=True))
    stamp = hashlib.sha256(json.dumps(current, sort_keys=True).encode()).hexdigest()[:12]
    requests = (
        [
            dg.RunRequest(
                run_key=f"raw-{stamp}-{years[0]}-{years[-1]}",
                tags={"dagster/asset_partition_range_start": years[0], "dagster/asset_partition_range_end": years[-1]},
            )
        ]
        if years == [str(y) for y in range(int(years[0]), int(years[-1]) + 1)]
        else [dg.RunRequest(run_key=f"raw-{stamp}-{year}", partition_key=year) for year in years]
    )
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(current, sort_keys=True))


def province_years(folder: Path) -> list[int]:
    """The years a province folder holds records of (year folders of its partitioned sources)."""
    raw = folder / "raw"
    found = {
        int(p.name)
        for c in load_sources().values()
        if c.partitioned
        for p in (raw / c.folder).glob("*")
        if p.is_dir() and p.name.isdigit()
    }
    return sorted(y for y in found if str(y) in yearly_partitions.get_partition_keys())


@dg.sensor(
    job=national_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="National data directory: a province folder that appears in provinces/ is added to the province "
    "partitions and its years are run (then the ranking of provinces).",
)
def province_folders_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse) -> dg.SensorResult:
    base = warehouse.base
    folders = province_folders(base)
    for message in folders.skipped:  # every evaluation, as long as the folder stays: nothing is skipped silently
        context.log.warning(message)
    new, removed = province_folder_changes(context.instance.get_dynamic_partitions(PROVINCE_DIMENSION), folders.codes)
    if not new and not removed:
        return dg.SensorResult(skip_reason="no new or removed province folder")
    requests = []
    for code in new:
        years = province_years(province_dir(base, code))
        if years:
            requests.append(
                dg.RunRequest(
                    run_key=f"province-{code}", tags={**range_tags([code], [years[0], years[-1]]), PROVINCE_TAG: code}
                )
            )
    changes = ([province_partitions.build_add_request(new)] if new else []) + (
        [province_partitions.build_delete_request(removed)] if removed else []
    )
    return dg.SensorResult(dynamic_partitions_requests=changes, run_requests=requests)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[pipeline_job],
    request_job=pipeline_job,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="After a successful run: the years its extracts wrote into, or whose staged dossiers its loads "
    "changed (a record moved between years), besides its own, are run too (docs/raw_contracts.md).",
)
def other_years_sensor(context: dg.RunStatusSensorContext) -> list[dg.RunRequest]:
    run = context.dagster_run
    records = context.instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    changed = years_changed([r.event_log_entry.dagster_event for r in records if r.event_log_entry.dagster_event])
    tags = run.tags
    if "dagster/partition" in tags:
        own = {int(tags["dagster/partition"])}
    elif "dagster/asset_partition_range_start" in tags:
        own = set(
            range(int(tags["dagster/asset_partition_range_start"]), int(tags["dagster/asset_partition_range_end"]) + 1)
        )
    else:
        own = set()
    others = [y for y in changed if y not in own]
    if others:
        context.log.info(f"run {run.run_id[:8]} changed the records of {others}: running them")
    return [dg.RunRequest(run_key=f"other-years-{run.run_id}-{y}", partition_key=str(y)) for y in others]
