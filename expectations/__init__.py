"""Data quality: Great Expectations suites (small tables), DuckDB SQL checks (the dossier log, cross-table),
and the `data_quality` warehouse table that data stewards read.

Importing this package is cheap: Great Expectations (~4 s to import) is loaded only inside `gx_runner`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PACKAGE_DIR = Path(__file__).resolve().parent
SQL_DIR = PACKAGE_DIR / "sql"
THRESHOLDS_PATH = PACKAGE_DIR / "thresholds.yaml"

DEFAULT_THRESHOLDS: dict[str, Any] = {
    "max_quarantined_share": 0.05,
    "quarantined_share_by_source": {},
    "required_returns": ["infrastructure", "capacity"],
    "indicator_bounds": {"computers_per_staff": [0, 10]},
    "data_docs_keep_runs": 30,
    "sample_rows": 5,
    "max_published_drop_share": 0.5,
}


def load_thresholds(path: Path = THRESHOLDS_PATH) -> dict[str, Any]:
    """The thresholds file over the defaults, read each time so an edit applies to the next run."""
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    return {**DEFAULT_THRESHOLDS, **(loaded or {})}
