"""Data quality: Great Expectations suites (small tables), DuckDB SQL checks (the dossier log, cross-table),
and the `data_quality` warehouse table that data stewards read.

Importing this package is cheap: Great Expectations (~4 s to import) is loaded only inside `gx_runner`.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SQL_DIR = PACKAGE_DIR / "sql"
