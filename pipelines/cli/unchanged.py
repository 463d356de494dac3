"""Whether `egov run` has anything to do: a run's inputs, fingerprinted without importing Dagster or DuckDB.

A night with nothing new used to cost a whole Dagster run (~9–15 s: imports, every step opening the warehouse,
checks and indicators recomputed on the same rows) to publish the same marts. The fingerprint covers everything a
run's result depends on: every raw file (path, size, modification time; links not followed), the code and
configuration of the pipeline (their contents), the rubric folder the run reads (its contents: the deployment's own
`$EGOV_DATA_DIR/rubrics/`, periodic rubrics included), the `EGOV_*` settings, today's date in Vietnam (the completeness
checks of the running year depend on it), and the warehouse, marts and Data Docs as the last successful run left
them (a run from the UI or a schedule, a restored or deleted file, all change it). Only when all of it equals what
the last successful `egov run` of the same years recorded is the run skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from pipelines.core import settings

STAMP = "last_run.json"
CODE_DIRS = ("assets", "expectations", "pipelines", "config")
CODE_SUFFIXES = {".py", ".sql", ".yaml", ".yml", ".html", ".css", ".json"}


def _tree(root: Path, suffixes: set[str] | None = None) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime in ns) of every file under `root`, sorted; links are listed, not followed."""
    out = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in files:
            path = Path(folder) / name
            if suffixes is not None and path.suffix not in suffixes:
                continue
            st = path.lstat()
            out.append((path.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns))
    return sorted(out)


def _code_hash() -> str:
    """The contents of the pipeline's code and configuration (a few hundred kB: read in milliseconds)."""
    digest = hashlib.sha256()
    for folder in CODE_DIRS:
        for rel, _, _ in _tree(settings.PROJECT_ROOT / folder, CODE_SUFFIXES):
            digest.update(rel.encode() + b"\0" + (settings.PROJECT_ROOT / folder / rel).read_bytes() + b"\0")
    return digest.hexdigest()


def _rubric_hash(base: Path) -> str:
    """The contents of every file of the rubric folder a run of `base` reads (settings.rubric_dir): the only
    configuration of a deployment outside the code (pipelines/core/registry/ `configuration_files` lists what the
    registry reads; tests/test_unchanged.py checks each is covered). Links are followed, as the registry follows
    them; a file added, renamed, removed or edited (whatever its size and time) changes it."""
    root = settings.rubric_dir(base)
    digest = hashlib.sha256(str(root).encode() + b"\0")
    seen: set[str] = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a link back up the tree
            dirs.clear()
            continue
        seen.add(real)
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            try:
                body = path.read_bytes()
            except OSError:  # a dangling link: the registry cannot read it either
                body = b"\0unreadable"
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + body + b"\0")
    return digest.hexdigest()


def _stat(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _outputs(base: Path) -> dict[str, object]:
    """What the last run left: the warehouse, the published marts and the Data Docs page, and whatever a publish
    would clean up beside the marts (an analyst's stale WAL, which makes the file unreadable to a plain open;
    a killed publish's files; reader links): a successful run leaves none, so any of them calls for a run."""
    from assets.marts.publish import BUILDING_GLOB, MARTS_FILE, READERS_DIR, wal_path  # DuckDB only, no Dagster

    marts = settings.marts_dir(base)
    wal = wal_path(marts / MARTS_FILE)
    leftovers = [*([wal] if wal.exists() else []), *marts.glob(BUILDING_GLOB), *(marts / READERS_DIR).glob("*")]
    return {
        "warehouse": _stat(settings.warehouse_path(base)),
        "marts": _stat(marts / MARTS_FILE),
        "data_docs": _stat(settings.data_docs_index(base)),
        "leftovers": sorted(p.relative_to(marts).as_posix() for p in leftovers),
    }


def fingerprint(base: Path, years: list[int]) -> dict[str, object]:
    """Everything the result of `egov run` for `years` depends on, besides the outputs of the last run."""
    raw = hashlib.sha256(json.dumps(_tree(settings.raw_dir(base))).encode()).hexdigest()
    # EGOV_DATA_DIR only says where `base` is: the same data reached another way is the same data.
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("EGOV_") and k != "EGOV_DATA_DIR")
    return {
        "years": years,
        "raw": raw,
        "code": _code_hash(),
        "rubrics": _rubric_hash(base),
        "env": env,
        "today": settings.today_vn().isoformat(),
    }


def _stamp_path(base: Path) -> Path:
    return settings.warehouse_path(base).parent / STAMP


def nothing_new(base: Path, years: list[int]) -> bool:
    """True when the last successful run of these years saw exactly these inputs and left these outputs."""
    try:
        stamp = json.loads(_stamp_path(base).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return False
    current = {"inputs": fingerprint(base, years), "outputs": _outputs(base)}
    return stamp == json.loads(json.dumps(current))  # as JSON holds it: tuples become lists


def record_success(base: Path, years: list[int], inputs: dict[str, object]) -> None:
    """After a successful run: its inputs (taken when it started) and its outputs, for the next `nothing_new`."""
    path = _stamp_path(base)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"inputs": inputs, "outputs": _outputs(base)}), encoding="utf-8")
    os.replace(tmp, path)


def forget(base: Path) -> None:
    """Before a run writes anything: a run that fails or is interrupted must not leave an old stamp valid."""
    _stamp_path(base).unlink(missing_ok=True)
