"""The national deployment: provinces as a partition dimension, each province run into its own files.

A national data directory (docs/operators.md, "National deployment") holds `provinces/<province_code>/`, each a
provincial data directory exactly as one province keeps it, plus the national registry of provinces in `raw/agencies/`.

Provinces are a *dynamic* partition dimension (`province`) crossed with the years: the folder is the truth, and the
sensor adds a province that appears there to the partitions and requests its run, without reloading the code
location (a registry read at load would need a reload, or a restart of the daemon, to see a new folder).

A province is run by its own Dagster run of the provincial job (the same definitions as a provincial deployment) with
the resources pinned to its folder: its staging and scores go to its own warehouse file, its marts and reports to its
own `marts/`, so different provinces run at once, in separate processes or on separate workers, without a lock
error. Runs of the same province queue: the run queue allows one run per `egov/province` value (the instance's
`tag_concurrency_limits`), and a run that reaches a province another run holds (`egov run` beside the daemon) waits
for its lock instead of failing on DuckDB's.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets.national.folders import province_folders
from pipelines.defs.partitions import yearly_partitions

PROVINCE_DIMENSION, YEAR_DIMENSION = "province", "year"
PROVINCE_TAG = "egov/province"

province_partitions = dg.DynamicPartitionsDefinition(name=PROVINCE_DIMENSION)
national_partitions = dg.MultiPartitionsDefinition(
    {PROVINCE_DIMENSION: province_partitions, YEAR_DIMENSION: yearly_partitions}
)


def province_folder_changes(known: list[str], folders: list[str]) -> tuple[list[str], list[str]]:
    """(added, removed): the province folders (`province_folders(base).codes`) not yet in the `province` partitions,
    and the partitions whose folder is gone or no longer runs (dropped from the partitions, so a run never reaches
    a province it cannot read; its Dagster history stays)."""
    return [c for c in folders if c not in known], [c for c in known if c not in folders]


def sync_province_partitions(instance: dg.DagsterInstance, base: Path) -> tuple[list[str], list[str]]:
    """Bring the `province` partitions in line with the folders; returns (added, removed)."""
    added, removed = province_folder_changes(
        instance.get_dynamic_partitions(PROVINCE_DIMENSION), province_folders(base).codes
    )
    if added:
        instance.add_dynamic_partitions(PROVINCE_DIMENSION, added)
    for code in removed:
        instance.delete_dynamic_partition(PROVINCE_DIMENSION, code)
    return added, removed


def range_tags(provinces: list[str], years: list[int]) -> dict[str, str]:
    """Run tags selecting provinces × years (a range of a multi-partition is a rectangle: every province from the
    first to the last, in the partitions' order, crossed with every year from the first to the last)."""
    return {
        "dagster/asset_partition_range_start": f"{provinces[0]}|{years[0]}",
        "dagster/asset_partition_range_end": f"{provinces[-1]}|{years[-1]}",
    }


def run_scope(context: dg.OpExecutionContext | dg.AssetExecutionContext) -> dict[str, list[int]]:
    """The years of each province a run covers, from its partition tags (one key, or a single-run range)."""
    tags = context.run.tags
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    if start and end:
        keys = national_partitions.get_partition_keys_in_range(
            dg.PartitionKeyRange(start, end), dynamic_partitions_store=context.instance
        )
    elif "dagster/partition" in tags:
        keys = [tags["dagster/partition"]]
    else:
        raise dg.Failure(
            "A national run needs its provinces and years (partition tags); run it with `egov run` or "
            "`egov backfill` on the national data directory, or launch a backfill in the UI."
        )
    scope: dict[str, list[int]] = {}
    for key in keys:
        province, year = key.split("|")  # dimensions in name order: province, year
        scope.setdefault(province, []).append(int(year))
    return {code: sorted(years) for code, years in sorted(scope.items())}
