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

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from pipelines import settings
from pipelines.partitions import yearly_partitions

PROVINCE_DIMENSION, YEAR_DIMENSION = "province", "year"
PROVINCE_TAG = "egov/province"
NATIONAL = "*"  # province_code of national rows of no single province (the national rubric, groups, registry)

# What a province code, and so a province folder's name, may hold: it becomes a partition key ('|' joins the
# dimensions), a step's mapping key and a DuckDB database name, so ASCII letters, digits, '-' and '_' only.
PROVINCE_CODE = re.compile(r"[A-Za-z0-9_-]+")

province_partitions = dg.DynamicPartitionsDefinition(name=PROVINCE_DIMENSION)
national_partitions = dg.MultiPartitionsDefinition(
    {PROVINCE_DIMENSION: province_partitions, YEAR_DIMENSION: yearly_partitions})


def province_dir(base: Path, code: str) -> Path:
    """The folder of province `code`: one folder of provinces/. A code that would be a path instead (`..`, `a/b`,
    `/etc`: a partition key added by hand) is refused, so no run writes outside the national data directory."""
    if code in ("", ".", "..") or "/" in code or "\0" in code:
        raise ValueError(f"province {code!r}: not a folder name of {settings.provinces_dir(base)}")
    return settings.provinces_dir(base) / code


@dataclass(frozen=True)
class ProvinceFolders:
    """The folders of provinces/ that are run and ranked, and a message for each one that is not."""

    codes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def registry_provinces(base: Path) -> list[str]:
    """The province codes of the national registry (raw/agencies/), read as the ranking of provinces reads it: a
    row the contract quarantines (a duplicate code, a missing name) names no province."""
    from assets.ingestion.load import ingest
    from pipelines.registry import load_registry, write_agency_groups
    from pipelines.warehouse import connect

    registry = load_registry(base)
    with contextlib.closing(connect(":memory:")) as con:
        write_agency_groups(con, registry.agency_groups)
        ingest(con, registry.sources["agencies"], settings.raw_dir(base), None, full_refresh=True)
        return [code for (code,) in con.execute(
            "SELECT DISTINCT agency_code FROM stg_agencies WHERE agency_group = 'province' ORDER BY 1").fetchall()]


def _shown(name: str) -> str:
    """A folder name as it can be printed: undecodable bytes as \\xe1, control characters escaped."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _folded(code: str) -> str:
    """A code as step keys and database names see it: capitals, '-' and '_' not told apart."""
    return code.lower().replace("-", "_")


def province_folders(base: Path) -> ProvinceFolders:
    """The provinces of a national data directory: the one place that decides which folders of provinces/ run.

    A folder runs when its name is a province code (PROVINCE_CODE) of the national registry, exactly, and it holds
    a raw/ folder. Anything else is skipped with a message naming it, the reason and what to do, never silently
    (a backup `AAA copy/`, a folder named in another case, `X|Y`): it is neither run nor ranked. A link to a folder
    is followed (a province may live on another volume), but one folder under two names runs once. Codes must also
    differ when capitals, '-' and '_' are not told apart: step and database names are made of them."""
    folder = settings.provinces_dir(base)
    if not folder.is_dir():
        return ProvinceFolders()
    registry = registry_provinces(base)
    by_folded = {_folded(code): code for code in registry}
    skipped = [] if registry else [
        f"the national registry ({settings.raw_dir(base) / 'agencies'}) names no province (a row with agency_group "
        "province): no folder can run; put the registry there (docs/operators.md, National deployment)"]
    candidates: dict[str, Path] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        name, shown = entry.name, f"provinces/{_shown(entry.name)}"
        if name.startswith(".") or name.lower() == "readme.md":
            continue  # hidden files and a README: nobody puts them there as a province
        if not entry.is_dir():
            skipped.append(f"{shown}: a link to nothing (its target does not exist); skipped: mount its target or "
                           "remove the link" if entry.is_symlink() else
                           f"{shown}: not a folder (a province is a folder provinces/<code>/); skipped: move it out "
                           "of provinces/")
        elif not PROVINCE_CODE.fullmatch(name):
            skipped.append(f"{shown}/: not a province code (a code holds only ASCII letters, digits, '-' and '_'); "
                           "skipped: rename the folder to its province's code in the national registry, or move "
                           "it out of provinces/")
        elif name not in registry:
            near = by_folded.get(_folded(name))
            skipped.append(f"{shown}/: {name} is not a province of the national registry (raw/agencies/)"
                           + (f", which has {near} (a folder is named by its code exactly, capitals included)"
                              if near else "")
                           + "; skipped: add the province to the national registry, or move the folder (a backup, "
                           "a copy) out of provinces/")
        elif not (entry / "raw").is_dir():
            skipped.append(f"{shown}/: no raw/ folder (a province folder is a provincial data directory); skipped "
                           "until its raw files are there")
        else:
            candidates[name] = entry
    codes = []
    resolved = {code: entry.resolve() for code, entry in candidates.items()}
    for code, entry in candidates.items():
        twins = [c for c in candidates if c != code and resolved[c] == resolved[code]]
        clashes = [c for c in candidates if c != code and _folded(c) == _folded(code)]
        if twins and (entry.is_symlink() or all(not candidates[t].is_symlink() for t in twins)):
            skipped.append(f"provinces/{code}/: a link to the folder of provinces/{twins[0]}/ (one folder under two "
                           "names); skipped: remove the link")
        elif clashes:
            skipped.append(f"provinces/{code}/: the same code as provinces/{clashes[0]}/ when capitals, '-' and '_' "
                           "are not told apart (their step and database names would clash); skipped: give one of "
                           "them another code, in the national registry and on its folder")
        else:
            codes.append(code)
    return ProvinceFolders(codes, skipped)


def province_folder_changes(known: list[str], folders: list[str]) -> tuple[list[str], list[str]]:
    """(added, removed): the province folders (`province_folders(base).codes`) not yet in the `province` partitions,
    and the partitions whose folder is gone or no longer runs (dropped from the partitions, so a run never reaches
    a province it cannot read; its Dagster history stays)."""
    return [c for c in folders if c not in known], [c for c in known if c not in folders]


def sync_province_partitions(instance: dg.DagsterInstance, base: Path) -> tuple[list[str], list[str]]:
    """Bring the `province` partitions in line with the folders; returns (added, removed)."""
    added, removed = province_folder_changes(instance.get_dynamic_partitions(PROVINCE_DIMENSION),
                                             province_folders(base).codes)
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
