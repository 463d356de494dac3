"""Data quality: Great Expectations suites (small tables), DuckDB SQL checks (the dossier log, cross-table),
and the `data_quality` warehouse table that data stewards read.

Importing this package is cheap: Great Expectations (~4 s to import) is loaded only inside `gx_runner`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.core.registry import THRESHOLDS_PATH, load_threshold_model

PACKAGE_DIR = Path(__file__).resolve().parent
SQL_DIR = PACKAGE_DIR / "sql"

__all__ = ["PACKAGE_DIR", "SQL_DIR", "THRESHOLDS_PATH", "load_thresholds"]


def load_thresholds(path: Path = THRESHOLDS_PATH) -> dict[str, Any]:
    """The thresholds file over its defaults (pipelines/core/registry/ Thresholds), read each time so an edit applies
    to the next run; a typo or a wrong type in it stops the run naming the file and key."""
    return load_threshold_model(path).model_dump()
