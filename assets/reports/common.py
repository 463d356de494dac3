"""What every report file shares, each rule defined once so the HTML pages and the workbook cannot disagree:

- `provisional`: whether a year's ranking is final, and the Vietnamese banner that says why it is not;
- `vi_sort_key`: Vietnamese alphabetical order for names shown to people (ICU's `vi` collation, through DuckDB);
- `atomic_path` / `write_text_atomic` / `remove_leftovers`: every report file is written under a temporary
  name in its own folder and renamed over the old one, so a reader or a failed run never leaves half a file;
- `page_file`: the file name of a page named after a code from the data (an agency's, a province's), which never
  leaves its folder;
- `data_docs_page`: where the Great Expectations Data Docs of a data directory are;
- `agency_groups` / `class_styles`: the groups (order, label, sheet, colour) and the classes (order, colours) as the
  marts publish them from the registry (pipelines/core/registry/), so no report spells a group or a class out;
- `rank_interval` / `robustness_vi`: a rank's 90 % interval ("7–12") and, in a sentence, how robust a rank and
  class are to the methodology's choices (the marts' rank_uncertainty, class_probability, uncertainty_settings).
"""

from __future__ import annotations

import atexit
import os
import re
import threading
import uuid
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from pipelines.core import settings
from pipelines.core.registry.methodology import AgencyGroup, tint
from pipelines.core.vietnamese import vn_pct

__all__ = [
    "VIETNAM",
    "ClassStyles",
    "Provisional",
    "agency_groups",
    "atomic_path",
    "class_styles",
    "data_docs_page",
    "page_file",
    "provisional",
    "rank_interval",
    "remove_leftovers",
    "robustness_vi",
    "uncertainty_settings",
    "vi_sort_key",
    "write_text_atomic",
]

# The evaluation calendar is Vietnam's (the partitions and the nightly schedule use it too), not the server's.
VIETNAM = ZoneInfo(settings.TIMEZONE)
# The annual returns are in once some agency's infrastructure return has a denominator: the rule `egov report`
# (pipelines/cli/ print_report) uses to pick "the latest year whose annual returns are in".
ANNUAL_RETURN_INDICATOR = "computers_per_staff"


# --- provisional years ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Provisional:
    """Why a year's ranking is not final yet: the year is still running in Vietnam, or its annual returns are
    not in (every agency then lacks the return's points, reads "Yếu", and its rank change means nothing yet)."""

    year: int
    running: bool
    returns_missing: bool

    @property
    def reasons(self) -> str:
        parts = [f"năm {self.year} chưa kết thúc"] if self.running else []
        if self.returns_missing:
            parts.append(f"chưa đủ báo cáo năm {self.year}")
        return " và ".join(parts)

    @property
    def banner(self) -> str:
        return (
            f"Số liệu tạm tính: {self.reasons}; xếp hạng và xếp loại có thể thay đổi. Thay đổi thứ hạng so với "
            f"năm {self.year - 1} chưa phải kết quả chính thức."
        )


def vietnam_now(now: datetime | None = None) -> datetime:
    """`now` (default: the current time) as a Vietnam wall-clock time; a naive `now` is taken as the machine's."""
    return (now or datetime.now(VIETNAM)).astimezone(VIETNAM)


def provisional(con: duckdb.DuckDBPyConnection, year: int, now: datetime | None = None) -> Provisional | None:
    """The year's provisional status from the marts, or None when its ranking is final.

    Provisional when the year has not ended in Vietnam (Asia/Ho_Chi_Minh) at `now`, or when no annual return of
    the year is in the marts (no `computers_per_staff` denominator)."""
    running = int(year) >= vietnam_now(now).year
    returns_in = con.execute(
        "SELECT count(*) > 0 FROM indicators WHERE year = ? AND indicator_code = ? AND denominator IS NOT NULL",
        [int(year), ANNUAL_RETURN_INDICATOR],
    ).fetchall()[0][0]
    if running or not returns_in:
        return Provisional(int(year), running=running, returns_missing=not returns_in)
    return None


# --- Vietnamese alphabetical order ------------------------------------------------------------------------------

_collator_lock = threading.Lock()
_collator: dict[int, duckdb.DuckDBPyConnection] = {}  # per process id: a connection does not survive a fork


@atexit.register
def _close_collators() -> None:
    """Closed before the interpreter tears down DuckDB's module (else nanobind prints "leaked instances")."""
    for con in _collator.values():
        con.close()
    _collator.clear()


@lru_cache(maxsize=1 << 16)
def vi_sort_key(text: str | None) -> str:
    """Sort key of a name in Vietnamese alphabetical order: a < ă < â < b < … < d < đ < … < o < ô < ơ < … < u < ư,
    tones second ("Hạ Long" before "Hà Tĩnh"), case third. ICU's `vi` collation, which DuckDB ships in its wheel
    (no extra dependency, works offline); the key is ICU's sort key in hex, so plain string order is ICU order.
    None sorts like the empty name."""
    with _collator_lock:
        con = _collator.get(os.getpid())
        if con is None:
            con = _collator[os.getpid()] = duckdb.connect()
        return con.execute("SELECT icu_sort_key(?, 'vi')", [text or ""]).fetchall()[0][0]


# --- atomic writes ----------------------------------------------------------------------------------------------

TMP_SUFFIX = ".tmp"
# ".<file name>.<pid>-<random>.tmp"; the workbook's older ".<file name>.<pid>.tmp" is recognised too.
_TMP_NAME = re.compile(r"^\..+\.(?P<pid>\d+)(?:-[0-9a-f]{8})?\.tmp$")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; when the block succeeds, rename it over `path` (os.replace: readers
    see the old file or the new one, never half of one); when it fails, delete it and keep the old file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{TMP_SUFFIX}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def page_file(code: str) -> str:
    """The page file name of a code from the data (agency, province): letters, digits, `-`, `_` and `.` kept, any
    other character (`/`, `\\`) an `_`, no leading dot, so `../../x` is `_.._x.html`, a file of the page's own
    folder."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in code).lstrip(".") + ".html"


def write_text_atomic(path: Path, text: str | Iterable[str]) -> Path:
    """Write `text` (UTF-8) to `path` atomically; returns `path`. `text` may come in parts (a Jinja template's
    `generate()`), so a page of 10,000 agencies is never held whole."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as out:
        out.writelines([text] if isinstance(text, str) else text)
    return Path(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_leftovers(*folders: Path) -> list[Path]:
    """Delete the temporary files a killed earlier run left in `folders` (its process is gone); a running
    writer's files are kept. Returns what was deleted."""
    removed = []
    for folder in folders:
        if not Path(folder).is_dir():
            continue
        for p in Path(folder).glob(f".*{TMP_SUFFIX}"):
            found = _TMP_NAME.match(p.name)
            if found and p.is_file() and not _alive(int(found["pid"])):
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed


# --- the Data Docs ----------------------------------------------------------------------------------------------


def data_docs_page(data_dir: Path) -> Path:
    """The Data Docs index of a data directory (where the quality step writes it; settings says where once)."""
    return settings.data_docs_index(Path(data_dir))


# --- agency groups and classes, as the marts publish them ----------------------------------------------------------

UNKNOWN_COLOUR = "#777777"  # a label no rubric of the marts names (never expected; a report must not fail on it)


def agency_groups(con: duckdb.DuckDBPyConnection) -> dict[str, AgencyGroup]:
    """code → group, in report order, as the marts' `agency_groups` publish them (a national marts also holds
    every province's copy of its groups: one per code)."""
    rows = con.execute(
        "SELECT agency_group, group_order, label_vi, label_en, sheet_name, colour FROM agency_groups "
        "ORDER BY group_order, agency_group"
    ).fetchall()
    return {r[0]: AgencyGroup(*r) for r in rows}


def group_of(groups: dict[str, AgencyGroup], code: str) -> AgencyGroup:
    """The group of `code`; one the dimension lacks is shown by its code, after the others."""
    return groups.get(code) or AgencyGroup(code, 1 << 30, code, code, code, UNKNOWN_COLOUR)


class ClassStyles(dict):
    """label → (colour, fill) of a year's classes, best first; a label without style reads grey, never a KeyError
    (a report must not crash on a class label it was not told about)."""

    def __missing__(self, label: str) -> tuple[str, str]:
        return UNKNOWN_COLOUR, tint(UNKNOWN_COLOUR)

    def colour(self, label: str) -> str:
        return self[label][0]

    def colours(self) -> _Colours:
        """label → colour (the HTML badges), grey for a label without one."""
        return _Colours({label: colour for label, (colour, _) in self.items()})


class _Colours(dict):
    def __missing__(self, label: str) -> str:
        return UNKNOWN_COLOUR


def class_styles(con: duckdb.DuckDBPyConnection, year: int, groups: Collection[str] | None = None) -> ClassStyles:
    """The year's class labels (of `groups`, default all), highest minimum first, with their colours from the marts'
    rubric_classes, and any label the ranking carries besides (grey)."""
    scope = [int(year), None if groups is None else list(groups)]
    rows = con.execute(
        "SELECT label, any_value(colour), any_value(fill) FROM rubric_classes WHERE year = $1 "
        "AND ($2::VARCHAR[] IS NULL OR list_contains($2, agency_group)) GROUP BY label "
        "ORDER BY max(min_total) DESC, label",
        scope,
    ).fetchall()
    known = {r[0] for r in rows}
    rows += [
        (c, None, None)
        for (c,) in con.execute(
            "SELECT DISTINCT classification FROM rankings WHERE year = $1 AND classification IS NOT NULL "
            "AND ($2::VARCHAR[] IS NULL OR list_contains($2, agency_group)) ORDER BY 1",
            scope,
        ).fetchall()
        if c not in known
    ]
    styles = ClassStyles()
    for label, colour, fill in rows:
        styles[label] = (colour, fill) if colour and fill else styles[label]
    return styles


def rubric_decimals(con: duckdb.DuckDBPyConnection, year: int, group: str | None = None) -> int:
    """The decimals the year's totals (of `group`, else of every group) are rounded to: the rubric's `decimals`, as
    the marts' rubric_classes hold it. No default here: the rubric's is the registry's (pipelines/core/registry/)."""
    found = con.execute(
        "SELECT max(decimals) FROM rubric_classes WHERE year = ? AND agency_group = coalesce(?, agency_group)",
        [int(year), group],
    ).fetchall()[0][0]
    if found is None:
        raise ValueError(
            f"the marts hold no rubric classes (rubric_classes) of {year}"
            + (f" for the group {group}" if group else "")
            + f": publish them again (egov run --year "
            f"{year})"
        )
    return int(found)


# --- rank uncertainty ---------------------------------------------------------------------------------------------


def rank_interval(q05: int | None, q95: int | None) -> str:
    """The 90 % rank interval as printed: "7–12", "1" when every run but the extreme 5 % on each side agrees, ""
    when the marts have none."""
    if q05 is None or q95 is None:
        return ""
    return str(q05) if q05 == q95 else f"{q05}–{q95}"


def uncertainty_settings(con: duckdb.DuckDBPyConnection, year: int) -> dict | None:
    """The year's uncertainty settings as the marts hold them (runs, weights, targets, methods), or None."""
    cur = con.execute(
        "SELECT runs, weights, targets, CAST(methods AS VARCHAR) AS methods FROM uncertainty_settings WHERE year = ?",
        [int(year)],
    )
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None


def _what_moves(settings: dict) -> str:
    """What the runs changed, in words: "trọng số thay đổi ±25%", "…, mục tiêu ±10% và phương pháp chấm"."""
    parts = []
    if settings["weights"]:
        parts.append(f"trọng số thay đổi ±{vn_pct(settings['weights'], 0)}")
    if settings["targets"]:
        parts.append(f"mục tiêu thay đổi ±{vn_pct(settings['targets'], 0)}")
    if settings["methods"] not in (None, "", "{}"):
        parts.append("một số chỉ số được chấm theo phương pháp khác")
    return ", ".join(parts[:-1]) + (" và " if len(parts) > 1 else "") + parts[-1] if parts else ""


def robustness_vi(
    rank: int, q05: int | None, q95: int | None, classification: str, probability: float | None, settings: dict | None
) -> str | None:
    """How robust a rank and class are, for an agency's page: "xếp hạng 9, trong khoảng 7–12 khi trọng số thay đổi
    ±25%; 85% khả năng giữ loại Khá". None when the marts hold no analysis of the year."""
    if settings is None or q05 is None or q95 is None:
        return None
    moves = _what_moves(settings)
    if not moves:
        return f"Xếp hạng {rank}; năm này không phân tích độ nhạy (trọng số, mục tiêu và phương pháp chấm cố định)."
    where = f"giữ hạng {rank}" if q05 == q95 == rank else f"trong khoảng {q05}–{q95}"
    text = f"Xếp hạng {rank}, {where} khi {moves}"
    if probability is not None:
        text += f"; {vn_pct(probability, 0)} khả năng giữ loại {classification}"
    return text + "."
