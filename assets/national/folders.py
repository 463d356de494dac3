"""Which folders of a national data directory's provinces/ are run and ranked: the one place that decides it, for the
national run, its sensor, the CLI and the national marts."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.core import settings
from pipelines.core.provinces import PROVINCE_CODE, PROVINCE_GROUP
from pipelines.core.registry.sources import REGISTRY_TABLE, load_sources, registry_source


@dataclass(frozen=True)
class ProvinceFolders:
    """The folders of provinces/ that are run and ranked, and a message for each one that is not."""

    codes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def registry_provinces(base: Path) -> list[str]:
    """The province codes of the national registry (raw/agencies/), read as the ranking of provinces reads it: a
    row the contract quarantines (a duplicate code, a missing name) names no province."""
    from assets.ingestion.load import ingest
    from pipelines.core.registry import load_registry
    from pipelines.core.warehouse import connect, write_agency_groups

    registry = load_registry(base)
    with contextlib.closing(connect(":memory:")) as con:
        write_agency_groups(con, registry.agency_groups)
        ingest(con, registry_source(registry.sources), settings.raw_dir(base), None, full_refresh=True)
        return [
            code
            for (code,) in con.execute(
                f"SELECT DISTINCT agency_code FROM {REGISTRY_TABLE} WHERE agency_group = ? ORDER BY 1", [PROVINCE_GROUP]
            ).fetchall()
        ]


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
    skipped = (
        []
        if registry
        else [
            f"the national registry ({settings.raw_dir(base) / registry_source(load_sources()).folder}) names no "
            "province (a row with agency_group province): no folder can run; put the registry there "
            "(docs/operators.md, National deployment)"
        ]
    )
    candidates: dict[str, Path] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        name, shown = entry.name, f"provinces/{_shown(entry.name)}"
        if name.startswith(".") or name.lower() == "readme.md":
            continue  # hidden files and a README: nobody puts them there as a province
        if not entry.is_dir():
            skipped.append(
                f"{shown}: a link to nothing (its target does not exist); skipped: mount its target or remove the link"
                if entry.is_symlink()
                else f"{shown}: not a folder (a province is a folder provinces/<code>/); skipped: move it out "
                "of provinces/"
            )
        elif not PROVINCE_CODE.fullmatch(name):
            skipped.append(
                f"{shown}/: not a province code (a code holds only ASCII letters, digits, '-' and '_'); "
                "skipped: rename the folder to its province's code in the national registry, or move "
                "it out of provinces/"
            )
        elif name not in registry:
            near = by_folded.get(_folded(name))
            skipped.append(
                f"{shown}/: {name} is not a province of the national registry (raw/agencies/)"
                + (f", which has {near} (a folder is named by its code exactly, capitals included)" if near else "")
                + "; skipped: add the province to the national registry, or move the folder (a backup, "
                "a copy) out of provinces/"
            )
        elif not (entry / "raw").is_dir():
            skipped.append(
                f"{shown}/: no raw/ folder (a province folder is a provincial data directory); skipped "
                "until its raw files are there"
            )
        else:
            candidates[name] = entry
    codes = []
    resolved = {code: entry.resolve() for code, entry in candidates.items()}
    for code, entry in candidates.items():
        twins = [c for c in candidates if c != code and resolved[c] == resolved[code]]
        clashes = [c for c in candidates if c != code and _folded(c) == _folded(code)]
        if twins and (entry.is_symlink() or all(not candidates[t].is_symlink() for t in twins)):
            skipped.append(
                f"provinces/{code}/: a link to the folder of provinces/{twins[0]}/ (one folder under two "
                "names); skipped: remove the link"
            )
        elif clashes:
            skipped.append(
                f"provinces/{code}/: the same code as provinces/{clashes[0]}/ when capitals, '-' and '_' "
                "are not told apart (their step and database names would clash); skipped: give one of "
                "them another code, in the national registry and on its folder"
            )
        else:
            codes.append(code)
    return ProvinceFolders(codes, skipped)
