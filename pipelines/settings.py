"""Where things live. Everything hangs off one data directory so a test or a server can relocate it."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = PROJECT_ROOT / "config"
RUBRIC_DIR = CONFIG_DIR / "rubrics"
FIRST_YEAR = 2016
TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def today_vn(now: datetime | None = None) -> date:
    """Today in Vietnam: 'this year' flips at midnight Vietnam time, not at the server's (UTC) midnight."""
    return (now or datetime.now(TIMEZONE)).astimezone(TIMEZONE).date()


def data_dir() -> Path:
    """`EGOV_DATA_DIR` when set, else `data/` in the project."""
    return Path(os.environ.get("EGOV_DATA_DIR") or PROJECT_ROOT / "data").resolve()


def raw_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "raw"


def marts_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "marts"


def warehouse_path(base: Path | None = None) -> Path:
    """The pipeline's private working database (staging, indicators, scores). Analysts use the marts."""
    return (base or data_dir()) / "warehouse" / "egov.duckdb"


def rubric_dir(base: Path | None = None) -> Path:
    """The rubrics in force: `<data dir>/rubrics/` when the deployment keeps its own methodology there (a national
    team copies config/rubrics/published/<index>/ into it), else the bundled config/rubrics/."""
    own = (base or data_dir()) / "rubrics"
    return own if own.is_dir() else RUBRIC_DIR


def data_docs_index(base: Path | None = None) -> Path:
    """The Great Expectations Data Docs page data stewards open (`<data dir>/quality/data_docs/index.html`)."""
    return (base or data_dir()) / "quality" / "data_docs" / "index.html"
