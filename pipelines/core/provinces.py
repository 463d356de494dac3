"""A national data directory's provinces: where each one's folder is, and the lock a run of it holds.

Dagster-free, so that the national layer (`assets/national/`), the code location and the CLI share them."""

from __future__ import annotations

import fcntl
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.core import settings

NATIONAL = "*"  # province_code of national rows of no single province (the national rubric, groups, registry)
# The agency group of the provinces: theirs in the national registry, the group the national rubric ranks.
PROVINCE_GROUP = "province"

# What a province code, and so a province folder's name, may hold: it becomes a partition key ('|' joins the
# dimensions), a step's mapping key and a DuckDB database name, so ASCII letters, digits, '-' and '_' only.
PROVINCE_CODE = re.compile(r"[A-Za-z0-9_-]+")


def province_dir(base: Path, code: str) -> Path:
    """The folder of province `code`: one folder of provinces/. A code that would be a path instead (`..`, `a/b`,
    `/etc`: a partition key added by hand) is refused, so no run writes outside the national data directory."""
    if code in ("", ".", "..") or "/" in code or "\0" in code:
        raise ValueError(f"province {code!r}: not a folder name of {settings.provinces_dir(base)}")
    return settings.provinces_dir(base) / code


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
