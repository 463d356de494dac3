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

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from pipelines import settings
from pipelines.partitions import yearly_partitions

PROVINCE_DIMENSION, YEAR_DIMENSION = "province", "year"
PROVINCE_TAG = "egov/province"
NATIONAL = "*"  # province_code of national rows that belong to no single province (the national rubric, groups)

province_partitions = dg.DynamicPartitionsDefinition(name=PROVINCE_DIMENSION)
national_partitions = dg.MultiPartitionsDefinition(
    {PROVINCE_DIMENSION: province_partitions, YEAR_DIMENSION: yearly_partitions})


def province_dir(base: Path, code: str) -> Path:
    """The folder of province `code`: one folder of provinces/. A code that would be a path instead (`..`, `a/b`,
    `/etc`: a partition key added by hand) is refused, so no run writes outside the national data directory."""
    if code in ("", ".", "..") or "/" in code or "\0" in code:
        raise ValueError(f"province {code!r}: not a folder name of {settings.provinces_dir(base)}")
    return settings.provinces_dir(base) / code


def province_folder_changes(known: list[str], base: Path) -> tuple[list[str], list[str]]:
    """(added, removed): the province folders not yet in the `province` partitions, and the partitions whose folder
    is gone (a removed folder is dropped from the partitions, so a run never reaches a province it cannot read;
    its Dagster history stays)."""
    folders = settings.province_codes(base)
    return [c for c in folders if c not in known], [c for c in known if c not in folders]


def sync_province_partitions(instance: dg.DagsterInstance, base: Path) -> tuple[list[str], list[str]]:
    """Bring the `province` partitions in line with the folders; returns (added, removed)."""
    added, removed = province_folder_changes(instance.get_dynamic_partitions(PROVINCE_DIMENSION), base)
    if added:
        instance.add_dynamic_partitions(PROVINCE_DIMENSION, added)
    for code in removed:
        instance.delete_dynamic_partition(PROVINCE_DIMENSION, code)
    return added, removed


def range_tags(provinces: list[str], years: list[int]) -> dict[str, str]:
    """Run tags selecting provinces × years (a range of a multi-partition is a rectangle: every province from the
    first to the last, in the partitions' order, crossed with every year from the first to the last)."""
    return {"dagster/asset_partition_range_start": f"{provinces[0]}|{years[0]}",
            "dagster/asset_partition_range_end": f"{provinces[-1]}|{years[-1]}"}


def run_scope(context: dg.OpExecutionContext | dg.AssetExecutionContext) -> dict[str, list[int]]:
    """The years of each province a run covers, from its partition tags (one key, or a single-run range)."""
    tags = context.run.tags
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    if start and end:
        keys = national_partitions.get_partition_keys_in_range(
            dg.PartitionKeyRange(start, end), dynamic_partitions_store=context.instance)
    elif "dagster/partition" in tags:
        keys = [tags["dagster/partition"]]
    else:
        raise dg.Failure("A national run needs its provinces and years (partition tags); run it with `egov run` or "
                         "`egov backfill` on the national data directory, or launch a backfill in the UI.")
    scope: dict[str, list[int]] = {}
    for key in keys:
        province, year = key.split("|")  # dimensions in name order: province, year
        scope.setdefault(province, []).append(int(year))
    return {code: sorted(years) for code, years in sorted(scope.items())}


@contextmanager
def province_lock(folder: Path, say: Callable[[str], None]) -> Iterator[None]:
    """Hold the province's lock while its run writes its files; wait (queue) while another run holds it."""
    lock_path = folder / "warehouse" / ".egov.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"province {folder.name}: another run holds it; waiting for it to end")
            started = time.monotonic()
            fcntl.flock(fh, fcntl.LOCK_EX)
            say(f"province {folder.name}: free after {time.monotonic() - started:.0f} s; running")
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
