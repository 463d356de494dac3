"""Which raw files a source and year has, and which of them are refused before anything reads them.

A file is refused, and listed as rejected with the reason (never skipped without a word), when:
- it is a link that leads outside the raw directory (followed, it could publish any file of the server), or a
  broken link, or not a regular file (a pipe would block the run);
- its name is not printable UTF-8 (a Windows archive unzipped on Linux): DuckDB and the reports cannot carry it,
  so it is listed under an escaped name (`HoSo_Th\\xe1ng03.csv`) and must be renamed;
- it lies outside `raw/<source>/<year>/`: in a source folder without a year folder (`raw/dossiers/2024x/`,
  `raw/dossiers/a.csv`), in a misspelt source folder (`raw/dossier/`), in a year folder of the agency registry,
  or in no source's folder at all. Such a file is listed by the source it was probably meant for, under the
  year its path names (else under every year that runs); a file no source claims is listed by the registry,
  which every run loads.
Hidden files, Excel's lock files (`~$…`) and README.md files are skipped silently: nobody sends them as data.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.registry.sources import SourceContract, load_sources, registry_source

YEAR_FOLDER = re.compile(r"(19|20)\d\d")
YEAR_IN_PATH = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
OUTSIDE = "is a link that leads outside the raw directory: not followed, nothing of it read"
BROKEN = "is a broken link (its target does not exist): nothing to read"
YEAR_REGISTRY = "is in a year folder of the agency registry, which has one registry for all years: not read"


@dataclass(frozen=True)
class RawEntry:
    """A file (or a folder link) of a partition: its path as found, its printable name relative to raw/, and
    why it is refused before reading, if it is."""

    path: Path
    name: str
    refused: str | None = None


def printable_name(raw_dir: Path, path: Path) -> tuple[str, str | None]:
    """The path relative to raw/ as printable text, and why the name itself is refused (None: it is fine).

    Undecodable bytes arrive from the file system as lone surrogates, which no UTF-8 text can hold; they are
    shown as `\\xe1`, control characters as `\\x07`, so the name can be stored, printed and found again.
    """
    rel = path.relative_to(raw_dir).as_posix()
    try:
        text = os.fsencode(rel).decode("utf-8")
        undecodable = False
    except UnicodeDecodeError:
        text = os.fsencode(rel).decode("utf-8", "backslashreplace")
        undecodable = True
    shown = "".join(c.encode("unicode_escape").decode("ascii") if unicodedata.category(c) == "Cc" else c for c in text)
    if undecodable:
        return shown, ("has a name that is not valid UTF-8 (an archive unzipped from Windows?): not read; rename it")
    if shown != text:
        return shown, "has a control character in its name: not read; rename it"
    return text, None


def _skipped(name: str) -> bool:
    return name.startswith((".", "~$")) or name.lower() == "readme.md"


def _entries(path: Path, root: Path, seen: set[Path] | None = None) -> Iterator[tuple[Path, str | None]]:
    """The files at or below `path` (sorted, any depth), each with why it is refused (None: read it).

    Links are followed only while they stay inside `root` (the resolved raw directory); a folder reached twice
    through links is walked once.
    """
    seen = set() if seen is None else seen
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):  # a link to nothing, or a loop of links
        yield path, BROKEN
        return
    if not real.is_relative_to(root):
        yield path, OUTSIDE
        return
    try:
        mode = real.stat().st_mode
    except OSError as exc:
        yield path, f"cannot be opened ({exc.strerror})"
        return
    if stat.S_ISDIR(mode):
        if real in seen:
            return
        seen.add(real)
        for child in sorted(os.listdir(path)):
            if not _skipped(child):
                yield from _entries(path / child, root, seen)
    elif stat.S_ISREG(mode):
        yield path, None
    else:
        yield path, "is not a regular file (a pipe, socket or device): not read"


def _claimed_by(name: str, folders: dict[str, str]) -> str | None:
    """The source whose folder a top-level folder of raw/ is, or was probably meant to be (a misspelling)."""
    if name in folders:
        return folders[name]
    close = difflib.get_close_matches(name.lower(), list(folders), n=1, cutoff=0.75)
    return folders[close[0]] if close else None


def list_raw_files(raw_dir: Path, contract: SourceContract, year: int | None) -> list[RawEntry]:
    """Every file of the partition (any depth) and every file refused for it, sorted by name.

    The order decides which of two duplicate rows is kept.
    """
    root = raw_dir.resolve()
    base = root / contract.folder / (str(year) if contract.partitioned else "")
    found = list(_entries(base, root)) if base.exists() or base.is_symlink() else []
    if not contract.partitioned:  # the registry: one for all years, so a year folder in it is not read
        found = [(p, why or (YEAR_REGISTRY if _in_year_folder(p, base) else None)) for p, why in found]
    found += _strays(root, contract, year)
    entries = []
    for path, why in found:
        name, bad_name = printable_name(root, path)
        entries.append(RawEntry(path, name, why or bad_name))
    return sorted(entries, key=lambda e: e.name)


def _in_year_folder(path: Path, base: Path) -> bool:
    parts = path.relative_to(base).parts
    return len(parts) > 1 and YEAR_FOLDER.fullmatch(parts[0]) is not None


def _strays(root: Path, contract: SourceContract, year: int | None) -> list[tuple[Path, str | None]]:
    """Files meant for this source (and year) that lie outside its folders, each with why it is not read."""
    contracts = load_sources()
    folders = {c.folder: c.name for c in contracts.values()}
    registry = registry_source(contracts).name
    out: list[tuple[Path, str | None]] = []
    for name in sorted(n for n in os.listdir(root) if not _skipped(n)) if root.is_dir() else []:
        path = root / name
        owner = _claimed_by(name, folders) if path.is_dir() else None
        if name == contract.folder:
            if not contract.partitioned or not path.resolve().is_relative_to(root):
                continue  # the registry's own folder, or a folder link already refused as the partition's base
            for child in sorted(c for c in os.listdir(path) if not _skipped(c)):
                if YEAR_FOLDER.fullmatch(child) and (path / child).is_dir():
                    continue
                where = f"raw/{name}/<year>/, e.g. raw/{name}/{{year}}/"
                out += _attributed(path / child, path, root, year, f"is not in a year folder ({where}): not read")
        elif owner == contract.name:
            reason = f"is in raw/{name}/, not raw/{contract.folder}/ (a misspelt folder?): not read"
            out += _attributed(path, path, root, year if contract.partitioned else None, reason)
        elif owner is None and contract.name == registry:
            reason = "is not in the folder of any source (" + ", ".join(f"raw/{f}/" for f in folders) + "): not read"
            out += [(p, why or reason) for p, why in _entries(path, root)]
    return out


def _attributed(entry: Path, below: Path, root: Path, year: int | None, reason: str) -> list[tuple[Path, str | None]]:
    """The files at or under `entry` that belong to `year`: the year their path names, or any year if none.

    `{year}` in the reason becomes the year found; without one, the example that holds it is left out.
    """
    out = []
    for path, why in _entries(entry, root):
        found = YEAR_IN_PATH.search(path.relative_to(below).as_posix())
        if year is not None and found is not None and int(found.group(1)) != year:
            continue
        text = reason.replace("{year}", found.group(1)) if found else re.sub(r", e\.g\. [^)]*", "", reason)
        out.append((path, why or text))
    return out
