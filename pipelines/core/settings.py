"""Where things live. Everything hangs off one data directory so a test or a server can relocate it."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = PROJECT_ROOT / "config"
RUBRIC_DIR = CONFIG_DIR / "rubrics"  # the bundled rubrics (the standard methodology and published ones)
NATIONAL_RUBRIC_DIR = RUBRIC_DIR / "national"  # the bundled ranking of provinces (docs/domain.md §8)
PROVINCES = "provinces"  # a national data directory: provinces/<province_code>/ holds one provincial data directory
# The earliest year the pipeline's calendar holds (Dagster's year partitions; the quality suites' plausible years
# are 2000–2100). Which years a deployment can score is data: from its earliest rubric file on (the CLI and the
# raw-files sensor read it, docs/rubrics.md §1), so a deployment whose rubrics start in 2003 backfills 2003–2014.
EARLIEST_YEAR = 2000
# The evaluation's clock: "this year" and "tonight" are Vietnam's, whatever the machine's own time zone.
TIMEZONE = "Asia/Ho_Chi_Minh"


def today_vn(now: datetime | None = None) -> date:
    """Today's date in Vietnam (UTC+7): at 17:30 UTC on 31 December it is already 1 January there.

    `now`: an aware instant to read instead of the clock (tests pass a fixed one); a naive one is refused, its
    zone would be the machine's."""
    if now is not None and now.tzinfo is None:
        raise ValueError(f"today_vn needs an aware instant, got the naive {now.isoformat()}")
    return (now or datetime.now(ZoneInfo(TIMEZONE))).astimezone(ZoneInfo(TIMEZONE)).date()


def data_dir() -> Path:
    """`EGOV_DATA_DIR` when set, else `data/` in the project."""
    return Path(os.environ.get("EGOV_DATA_DIR") or PROJECT_ROOT / "data").resolve()


def cache_dir() -> Path:
    """Files the pipeline can rebuild at any time, shared by every data directory of the machine (the prepared
    Great Expectations project): `EGOV_CACHE_DIR`, else `$XDG_CACHE_HOME/egov`, else `~/.cache/egov`."""
    if os.environ.get("EGOV_CACHE_DIR"):
        return Path(os.environ["EGOV_CACHE_DIR"]).resolve()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").resolve() / "egov"


def raw_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "raw"


def marts_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "marts"


def warehouse_path(base: Path | None = None) -> Path:
    """The pipeline's private working database (staging, indicators, scores). Analysts use the marts."""
    return (base or data_dir()) / "warehouse" / "egov.duckdb"


def data_docs_index(base: Path | None = None) -> Path:
    """The Great Expectations Data Docs page data stewards open (`<data dir>/quality/data_docs/index.html`)."""
    return (base or data_dir()) / "quality" / "data_docs" / "index.html"


def rubric_dir(base: Path | None = None) -> Path:
    """`<data dir>/rubrics/` when that folder exists (each deployment keeps its methodology next to its data), else
    the bundled config/rubrics/ (docs/rubrics.md §1), or config/rubrics/national/ for a national data directory."""
    own = (base or data_dir()) / "rubrics"
    if own.is_dir():
        return own
    return NATIONAL_RUBRIC_DIR if is_national(base) else RUBRIC_DIR


def provinces_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / PROVINCES


def is_national(base: Path | None = None) -> bool:
    """A national data directory holds a `provinces/` folder; without one it is a provincial directory, as always."""
    return provinces_dir(base).is_dir()
