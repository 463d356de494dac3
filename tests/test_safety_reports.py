"""Data-safety of the published reports: years without (or with thin) rankings, the provisional banner, atomic
writes, the Data Docs link under EGOV_DATA_DIR, tick labels that do not overlap in a real Chromium, and
Vietnamese alphabetical order. Expected values are written by hand or measured (bytes on disk, boxes in the
browser), never produced by the code under test."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import openpyxl
import pytest
from conftest import vn_value

from assets.reports.publish import write_reports

PROJECT = Path(__file__).resolve().parents[1]
# Tables holding a year's ranking and what is derived from it: emptied together to make a year "not ranked".
RANKED_TABLES = ("rankings", "criterion_scores", "agency_profiles", "agency_profile_items", "what_if")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=20000",
]
NOT_RANKED = "Chưa có xếp hạng cho năm"
PROVISIONAL = "Số liệu tạm tính"
CHANGE_HEADING = "Thay đổi so với năm trước"
SHEETS = ("Sở ban ngành", "UBND cấp huyện", "UBND cấp xã", "Cơ quan Trung ương")


# --- helpers ----------------------------------------------------------------------------------------------------


def data_copy(province: Path, tmp_path: Path, *sql: str, name: str = "data") -> Path:
    """A data directory holding a copy of the province's marts, edited by `sql` (the shared fixture stays as is)."""
    base = tmp_path / name
    (base / "marts").mkdir(parents=True)
    shutil.copyfile(province / "marts" / "egov.duckdb", base / "marts" / "egov.duckdb")
    if sql:
        con = duckdb.connect(str(base / "marts" / "egov.duckdb"))
        for statement in sql:
            con.execute(statement)
        con.close()
    return base


def unrank(year: int | None = None) -> list[str]:
    where = f" WHERE year = {year}" if year else ""
    return [f"DELETE FROM {t}{where}" for t in RANKED_TABLES]


class Page(HTMLParser):
    """Rows of every table (table attributes, cell texts), every link (href, text) and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[dict, list[str]]] = []
        self.links: list[tuple[str, str]] = []
        self.text: list[str] = []
        self._table: dict = {}
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._link: tuple[str, list[str]] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            self._table = a
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a":
            self._link = (a.get("href") or "", [])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append((self._table, self._row))
            self._row = None
        elif tag == "a" and self._link is not None:
            self.links.append((self._link[0], " ".join("".join(self._link[1]).split())))
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._link is not None:
            self._link[1].append(data)

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


def page(path: Path) -> Page:
    parser = Page()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def sheet_rows(ws) -> list[tuple]:
    return [r for r in ws.iter_rows(values_only=True)]


def chromium(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium")
    assert exe, "Debian's chromium is needed for the browser test (`./egov test` installs it)"
    return subprocess.run([exe, *CHROMIUM_FLAGS, *args], capture_output=True, text=True, timeout=timeout)


# --- 1. empty or thin rankings ----------------------------------------------------------------------------------


def test_a_year_without_ranking_gets_a_page_saying_so(province: Path, tmp_path: Path):
    base = data_copy(province, tmp_path, *unrank(2025))
    out = base / "marts" / "reports"
    shutil.copytree(province / "marts" / "reports", out)  # the 2025 report published while it had a ranking
    assert (out / "2025" / "xep_hang_2025.xlsx").exists()
    log: list[str] = []
    write_reports(base / "marts" / "egov.duckdb", [2025, 2026], out, progress=log.append)

    year_page = page(out / "2025" / "index.html")
    assert f"{NOT_RANKED} 2025" in year_page.visible
    assert not [r for t, r in year_page.rows if t.get("class") == "ranking"]
    # The old ranking is not left published next to a page saying there is none.
    assert not (out / "2025" / "xep_hang_2025.xlsx").exists()
    assert not list((out / "2025").rglob("co-quan/*.html"))
    # 2026 is unknown to the marts: skipped with a log line, no folder.
    assert not (out / "2026").exists()
    assert any("2026" in line for line in log), log
    assert "2025/index.html" in [href for href, _ in page(out / "index.html").links]
    assert (out / "2024" / "index.html").read_bytes() == (
        province / "marts" / "reports" / "2024" / "index.html"
    ).read_bytes()  # other years untouched


def test_an_empty_marts_never_raises(province: Path, tmp_path: Path):
    # No ranking at all (the tables exist, empty): every requested year says so, and the index is written.
    base = data_copy(province, tmp_path, *unrank())
    out = base / "marts" / "reports"
    log: list[str] = []
    write_reports(base / "marts" / "egov.duckdb", [2024, 2025], out, progress=log.append)
    for year in (2024, 2025):
        assert f"{NOT_RANKED} {year}" in page(out / str(year) / "index.html").visible
    assert (out / "index.html").is_file()

    # A marts file without any table, and no marts file at all: a log line, an index, no traceback.
    blank = tmp_path / "blank" / "marts"
    blank.mkdir(parents=True)
    duckdb.connect(str(blank / "egov.duckdb")).close()
    log.clear()
    write_reports(blank / "egov.duckdb", [2025], blank / "reports", progress=log.append)
    assert log and (blank / "reports" / "index.html").is_file()
    log.clear()
    write_reports(tmp_path / "nowhere" / "egov.duckdb", [2025], tmp_path / "nowhere" / "reports", progress=log.append)
    assert any("egov.duckdb" in line for line in log), log


def test_the_reports_asset_succeeds_on_a_year_without_ranking(province: Path, tmp_path: Path):
    import dagster as dg

    from pipelines.defs.reports import ranking_reports
    from pipelines.defs.resources import Warehouse

    base = data_copy(province, tmp_path, *unrank(2025))
    shutil.copytree(province / "marts" / "reports", base / "marts" / "reports")
    result = dg.materialize(
        [ranking_reports],
        partition_key="2025",
        raise_on_error=False,
        resources={"warehouse": Warehouse(data_dir=str(base))},
    )
    failures = [e.event_specific_data.error.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert result.success, failures
    (materialization,) = result.asset_materializations_for_node("ranking_reports")
    assert isinstance(materialization.metadata["seconds"].value, float)
    assert materialization.metadata["unranked_years"].value == [2025]  # 2026: unknown to the marts, skipped
    assert f"{NOT_RANKED} 2025" in page(base / "marts" / "reports" / "2025" / "index.html").visible


def test_a_thin_ranking_of_one_agency_per_group(province: Path, tmp_path: Path):
    keep = "SELECT min(agency_code) FROM rankings WHERE year = 2024 GROUP BY agency_group"
    base = data_copy(
        province,
        tmp_path,
        *[f"DELETE FROM {t} WHERE year = 2024 AND agency_code NOT IN ({keep})" for t in RANKED_TABLES],
    )
    out = base / "marts" / "reports"
    write_reports(base / "marts" / "egov.duckdb", [2024], out)
    rows = [r for t, r in page(out / "2024" / "index.html").rows if t.get("class") == "ranking"]
    assert len(rows) == 4 * 2  # four groups, a heading row and one agency each
    book = openpyxl.load_workbook(out / "2024" / "xep_hang_2024.xlsx", read_only=True)
    for sheet in SHEETS:
        data = sheet_rows(book[sheet])
        assert data[3][0] == 1 and (len(data) < 5 or data[4][0] is None)  # one agency, then the footnote
    book.close()
    assert len(list((out / "2024" / "co-quan").glob("*.html"))) == 4


# --- 2. the provisional banner ----------------------------------------------------------------------------------


def _provisional_copy(province: Path, tmp_path: Path) -> Path:
    """2024 without its annual infrastructure returns (no computers_per_staff denominator): not final."""
    return data_copy(
        province,
        tmp_path,
        "UPDATE indicators SET numerator = NULL, denominator = NULL, value = NULL "
        "WHERE year = 2024 AND indicator_code = 'computers_per_staff'",
    )


def test_provisional_is_decided_by_the_annual_returns_and_the_vietnam_calendar(province: Path, tmp_path: Path):
    from assets.reports.common import provisional

    base = _provisional_copy(province, tmp_path)
    con = duckdb.connect(str(base / "marts" / "egov.duckdb"), read_only=True)
    later = datetime(2026, 6, 1, tzinfo=UTC)
    assert provisional(con, 2023, now=later) is None
    assert "chưa đủ báo cáo năm" in provisional(con, 2024, now=later).banner
    assert provisional(con, 2025, now=later) is None
    # 31 Dec 2025 23:30 in Hà Nội (16:30 UTC): 2025 is still running; an hour later it is 2026 there.
    running = provisional(con, 2025, now=datetime(2025, 12, 31, 16, 30, tzinfo=UTC))
    assert running and "năm 2025 chưa kết thúc" in running.banner
    assert provisional(con, 2025, now=datetime(2025, 12, 31, 17, 30, tzinfo=UTC)) is None
    con.close()


def test_a_provisional_year_carries_the_banner_in_the_pages_and_the_workbook(province: Path, tmp_path: Path):
    base = _provisional_copy(province, tmp_path)
    out = base / "marts" / "reports"
    write_reports(base / "marts" / "egov.duckdb", [2023, 2024], out)

    year_page = page(out / "2024" / "index.html")
    assert PROVISIONAL in year_page.visible and "chưa đủ báo cáo năm" in year_page.visible
    assert "xếp hạng và xếp loại có thể thay đổi" in year_page.visible
    headings = [r for t, r in year_page.rows if t.get("class") == "ranking" and r[0] == "STT"]
    assert headings and all(h[-1] == f"{CHANGE_HEADING} (tạm tính)" for h in headings)
    profile = next((out / "2024" / "co-quan").glob("*.html"))
    assert PROVISIONAL in page(profile).visible
    index_line = (out / "index.html").read_text(encoding="utf-8").split('href="2024/index.html"')[1].split("</li>")[0]
    assert "tạm tính" in index_line

    book = openpyxl.load_workbook(out / "2024" / "xep_hang_2024.xlsx")
    for sheet in SHEETS:
        rows = sheet_rows(book[sheet])
        top = " ".join(str(v) for r in rows[:2] for v in r if v)
        assert PROVISIONAL in top and "xếp hạng và xếp loại có thể thay đổi" in top
        header = [v for v in rows[2] if v]
        assert header[0] == "STT" and header[-1] == f"{CHANGE_HEADING} (tạm tính)"  # table layout unchanged

    # The final year of the same run has neither.
    final = page(out / "2023" / "index.html")
    assert "tạm tính" not in final.visible
    assert all(r[-1] == CHANGE_HEADING for t, r in final.rows if t.get("class") == "ranking" and r[0] == "STT")
    book = openpyxl.load_workbook(out / "2023" / "xep_hang_2023.xlsx")
    assert not [
        v
        for ws in book.worksheets
        for r in ws.iter_rows(values_only=True)
        for v in r
        if isinstance(v, str) and "tạm tính" in v
    ]


def test_the_running_year_is_provisional_in_vietnam_time(province: Path, tmp_path: Path):
    base = data_copy(province, tmp_path)
    out = base / "marts" / "reports"
    write_reports(base / "marts" / "egov.duckdb", [2025], out, now=datetime(2025, 12, 31, 16, 30, tzinfo=UTC))
    assert "năm 2025 chưa kết thúc" in page(out / "2025" / "index.html").visible
    write_reports(base / "marts" / "egov.duckdb", [2025], out, now=datetime(2025, 12, 31, 17, 30, tzinfo=UTC))
    assert "tạm tính" not in page(out / "2025" / "index.html").visible


# --- 3. atomic writes -------------------------------------------------------------------------------------------


def test_a_failed_rewrite_leaves_the_previous_pages_intact(
    province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import jinja2

    base = data_copy(province, tmp_path)
    out = base / "marts" / "reports"
    write_reports(base / "marts" / "egov.duckdb", [2024], out)
    before = files(out)
    render = jinja2.Template.render

    def broken(self, *args, **kwargs):  # half a page, then a character UTF-8 cannot encode
        text = render(self, *args, **kwargs)
        return text[: len(text) // 2] + "\udc80" + text[len(text) // 2 :]

    monkeypatch.setattr(jinja2.Template, "render", broken)
    with pytest.raises(UnicodeEncodeError):
        write_reports(base / "marts" / "egov.duckdb", [2024], out)
    after = files(out)
    assert sorted(after) == sorted(before)  # no temporary file left behind
    pages = [name for name in before if name.endswith(".html")]
    assert len(pages) > 100 and all(after[name] == before[name] for name in pages)


def test_a_failed_workbook_leaves_the_previous_one_intact(
    province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import xlsxwriter.workbook

    base = data_copy(province, tmp_path)
    out = base / "marts" / "reports"
    write_reports(base / "marts" / "egov.duckdb", [2024], out)
    before = files(out)

    def full_disk(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xlsxwriter.workbook.Workbook, "close", full_disk)
    with pytest.raises(OSError):
        write_reports(base / "marts" / "egov.duckdb", [2024], out)
    after = files(out)
    assert sorted(after) == sorted(before)
    assert after["2024/xep_hang_2024.xlsx"] == before["2024/xep_hang_2024.xlsx"]


KILLED_RUN = """
import os, signal, sys
from pathlib import Path
import assets.reports.publish as publish
def die(*args, **kwargs):  # killed at the first rename, as by the OOM killer: no cleanup can run
    os.kill(os.getpid(), signal.SIGKILL)
os.replace = die
publish.write_reports(Path(sys.argv[1]), [2024], Path(sys.argv[2]))
"""


def test_leftovers_of_a_killed_run_are_removed_by_the_next_write(province: Path, tmp_path: Path):
    base = data_copy(province, tmp_path)
    marts, out = base / "marts" / "egov.duckdb", base / "marts" / "reports"
    write_reports(marts, [2024], out)
    published = set(files(out))
    done = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, str(marts), str(out)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -9, done.stderr[-2000:]
    leftovers = set(files(out)) - published
    assert leftovers, "the killed run should have left its temporary file"
    write_reports(marts, [2024], out)
    assert set(files(out)) == published


# --- 4. the Data Docs link --------------------------------------------------------------------------------------


def test_the_data_docs_link_follows_the_data_directory(province: Path, tmp_path: Path):
    # The run's own report (EGOV_DATA_DIR = the province's data directory): a relative link to the real page.
    year_dir = province / "marts" / "reports" / "2024"
    docs = province / "quality" / "data_docs" / "index.html"
    assert docs.is_file()
    links = [href for href, _ in page(year_dir / "index.html").links]
    assert "../../../quality/data_docs/index.html" in links
    assert (year_dir / "../../../quality/data_docs/index.html").resolve() == docs.resolve()

    # Elsewhere, before any quality run: the real path is shown, without a dead link.
    base = data_copy(province, tmp_path, name="egov-store")
    write_reports(base / "marts" / "egov.duckdb", [2024], base / "marts" / "reports", data_dir=base)
    shown = page(base / "marts" / "reports" / "2024" / "index.html")
    assert str(base / "quality" / "data_docs" / "index.html") in shown.visible
    assert not [href for href, _ in shown.links if "data_docs" in href]
    assert "data/quality" not in shown.visible

    # `egov report` under EGOV_DATA_DIR, once the Data Docs exist.
    (base / "quality" / "data_docs").mkdir(parents=True)
    (base / "quality" / "data_docs" / "index.html").write_text("<html></html>", encoding="utf-8")
    env = {**os.environ, "EGOV_DATA_DIR": str(base), "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "egov"), "report", "--year", "2024"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    links = [href for href, _ in page(base / "marts" / "reports" / "2024" / "index.html").links]
    assert "../../../quality/data_docs/index.html" in links


# --- 5. tick labels in Chromium ---------------------------------------------------------------------------------

MEASURE = """<script>
(function () {
  function measure() {
    var root = document.documentElement, want = Number(root.getAttribute("data-charts") || -1);
    if (want < 0 || Number(root.getAttribute("data-charts-rendered") || 0) < want) { setTimeout(measure, 50); return; }
    var out = {};
    document.querySelectorAll("[data-chart]").forEach(function (div) {
      var svg = div.querySelector("svg.main-svg").getBoundingClientRect();
      out[div.getAttribute("data-chart")] = {
        svg: [svg.left, svg.top, svg.right, svg.bottom],
        ticks: Array.prototype.map.call(div.querySelectorAll(".xtick text"), function (t) {
          var r = t.getBoundingClientRect();
          return {text: t.textContent, box: [r.left, r.top, r.right, r.bottom]};
        })
      };
    });
    root.setAttribute("data-tick-boxes", JSON.stringify(out));
  }
  window.addEventListener("load", measure);
})();
</script>"""


def overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("width", [1280, 920, 600])
def test_x_tick_labels_do_not_overlap_in_chromium(province: Path, tmp_path: Path, width: int):
    reports = tmp_path / "reports"
    shutil.copytree(province / "marts" / "reports" / "_static", reports / "_static")
    (reports / "2024").mkdir()
    text = (province / "marts" / "reports" / "2024" / "index.html").read_text(encoding="utf-8")
    measured = reports / "2024" / "measured.html"
    measured.write_text(text.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    done = chromium(
        f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={width},900", "--dump-dom", measured.as_uri()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'data-tick-boxes="([^"]*)"', done.stdout)
    assert found, "the charts did not finish drawing"
    charts = json.loads(html.unescape(found.group(1)))

    for name, chart in charts.items():
        ticks, svg = chart["ticks"], chart["svg"]
        for i, a in enumerate(ticks):
            for b in ticks[i + 1 :]:
                assert not overlap(a["box"], b["box"]), (width, name, a, b)
            assert svg[0] <= a["box"][0] and a["box"][2] <= svg[2] and a["box"][3] <= svg[3], (name, a, svg)
    groups = ["Sở, ban, ngành", "UBND cấp huyện", "UBND cấp xã", "Cơ quan Trung ương tại tỉnh"]
    assert ["".join(t["text"].split()) for t in charts["classes"]["ticks"]] == ["".join(g.split()) for g in groups]
    assert [t["text"] for t in charts["trend_annual"]["ticks"]] == ["2023", "2024"]  # years, not 2.023,5


# --- 6. Vietnamese alphabetical order ---------------------------------------------------------------------------

# Shuffled, and in Vietnamese alphabetical order (a < ă < â < b < c < d < đ < … < o < ô < ơ < … < u < ư; tones
# only break ties: "Hạ Long" before "Hà Tĩnh" because l < t).
NAMES = ["Ấp", "Ân", "Uyên", "An", "Hà Tĩnh", "Ăn", "Ước", "Bình", "Ôn", "Đà", "Hạ Long", "Dương", "Ong"]
VIETNAMESE_ORDER = ["An", "Ăn", "Ân", "Ấp", "Bình", "Dương", "Đà", "Hạ Long", "Hà Tĩnh", "Ong", "Ôn", "Uyên", "Ước"]


def test_the_sort_key_follows_the_vietnamese_alphabet():
    from assets.reports.common import vi_sort_key

    assert sorted(NAMES, key=vi_sort_key) == VIETNAMESE_ORDER


def _tied_copy(province: Path, tmp_path: Path) -> Path:
    """A copy whose 2024 communes are NAMES, all tied at rank 1 (codes X000… in NAMES order, not the alphabet's)."""
    codes = [f"X{i:03d}" for i in range(len(NAMES))]
    values = ", ".join(f"('{c}', '{n}')" for c, n in zip(codes, NAMES, strict=True))
    keep = (
        "SELECT agency_code FROM rankings WHERE year = 2024 AND agency_group = 'commune' ORDER BY agency_code "
        f"LIMIT {len(NAMES)}"
    )
    return data_copy(
        province,
        tmp_path,
        f"CREATE TEMP TABLE names AS SELECT k.code AS agency_code, n.name FROM (SELECT agency_code AS code, "
        f"row_number() OVER (ORDER BY agency_code) AS i FROM ({keep})) AS k JOIN (SELECT *, row_number() OVER () "
        f"AS i FROM (VALUES {values}) AS v(c, name)) AS n USING (i)",
        *[
            f"DELETE FROM {t} WHERE year = 2024 AND agency_group = 'commune' AND agency_code NOT IN (SELECT "
            f"agency_code FROM names)"
            for t in ("rankings", "criterion_scores")
        ],
        "UPDATE rankings SET agency_name = names.name, rank = 1, total_points = 70, index_value = 0.7 FROM names "
        "WHERE rankings.agency_code = names.agency_code AND year = 2024",
        "UPDATE agencies SET agency_name = names.name FROM names WHERE agencies.agency_code = names.agency_code",
    )


def test_tied_agencies_are_listed_in_vietnamese_order(province: Path, tmp_path: Path):
    base = _tied_copy(province, tmp_path)
    out = base / "marts" / "reports"
    write_reports(base / "marts" / "egov.duckdb", [2024], out)
    shown = [
        r[1] for t, r in page(out / "2024" / "index.html").rows if t.get("data-group") == "commune" and r[0] != "STT"
    ]
    assert shown == VIETNAMESE_ORDER
    book = openpyxl.load_workbook(out / "2024" / "xep_hang_2024.xlsx", read_only=True)
    rows = sheet_rows(book["UBND cấp xã"])[3 : 3 + len(NAMES)]
    assert [r[2] for r in rows] == VIETNAMESE_ORDER
    book.close()


# --- 7. a group too big to draw or hold agency by agency (issue 24: 10,000 agencies took 4.47 GB) ---------------


def grown_communes(province: Path, tmp_path: Path, size: int) -> Path:
    """A copy of the marts whose 2024 communes are copied, under new codes and names, until the group has `size`
    agencies: their rankings, criterion points and rank intervals (what the year page and the workbook read)."""
    base = data_copy(province, tmp_path)
    con = duckdb.connect(str(base / "marts" / "egov.duckdb"))
    communes = [
        c
        for (c,) in con.execute(
            "SELECT agency_code FROM rankings WHERE year = 2024 AND agency_group = 'commune' ORDER BY 1"
        ).fetchall()
    ]
    extra = [
        (f"{communes[i % len(communes)]}-BIS{i}", communes[i % len(communes)], i) for i in range(size - len(communes))
    ]
    con.execute("CREATE TEMP TABLE copies (new VARCHAR, old VARCHAR, k INTEGER)")
    con.executemany("INSERT INTO copies VALUES (?, ?, ?)", extra)
    for table in ("rankings", "criterion_scores", "rank_uncertainty", "class_probability"):
        columns = [
            c
            for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
        ]
        picked = ", ".join(
            "c.new" if c == "agency_code" else "x.agency_name || ' bis ' || c.k" if c == "agency_name" else f"x.{c}"
            for c in columns
        )
        con.execute(
            f"INSERT INTO {table} SELECT {picked} FROM {table} AS x JOIN copies AS c ON c.old = x.agency_code "
            "WHERE x.year = 2024"
        )
    con.close()
    return base


def chart_specs(path: Path) -> dict[str, dict]:
    found = re.search(
        r'<script type="application/json" id="chart-data">(.*?)</script>', path.read_text(encoding="utf-8"), re.S
    )
    return json.loads(found.group(1))


@pytest.fixture(scope="module")
def grown(province: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The reports of 2024 with 301 communes: one more than the largest group drawn agency by agency."""
    base = grown_communes(province, tmp_path_factory.mktemp("grown"), 301)
    return base, write_reports(base / "marts" / "egov.duckdb", [2024], base / "marts" / "reports", data_dir=base)[2024]


def test_a_group_of_more_than_300_agencies_is_charted_by_its_distribution(grown: tuple[Path, dict]):
    base, written = grown
    con = duckdb.connect(str(base / "marts" / "egov.duckdb"), read_only=True)
    names = {
        n
        for (n,) in con.execute(
            "SELECT agency_name FROM rankings WHERE year = 2024 AND agency_group = 'commune'"
        ).fetchall()
    }
    classes = dict(
        con.execute(
            "SELECT classification, count(*) FROM rankings WHERE year = 2024 AND agency_group = 'commune' GROUP BY ALL"
        ).fetchall()
    )
    departments = {
        n
        for (n,) in con.execute(
            "SELECT agency_name FROM rankings WHERE year = 2024 AND agency_group = 'department'"
        ).fetchall()
    }
    con.close()
    assert len(names) == 301
    charts = chart_specs(written["html"])
    commune = {k: v for k, v in charts.items() if k.endswith("_commune")}
    assert set(commune) == {"rank_commune", "interval_commune", "criteria_commune"}
    text = json.dumps(commune, ensure_ascii=False)
    assert not any(n in text for n in names)  # no agency by agency
    # 20 bands of total points, stacked by class: every commune counted once, in its own class
    bars = commune["rank_commune"]["data"]
    assert all(len(b["y"]) == 20 for b in bars)
    assert {b["name"]: sum(b["y"]) for b in bars if sum(b["y"])} == classes
    assert sum(commune["interval_commune"]["data"][0]["y"]) == 301
    assert all(len(b["q1"]) == 1 and "y" not in b for b in commune["criteria_commune"]["data"])  # quartiles only
    # a group of 19 is still drawn agency by agency; the table lists every commune
    assert set(charts["rank_department"]["data"][0]["y"]) == departments
    year_page = page(written["html"])
    listed = {r[1] for t, r in year_page.rows if t.get("data-group") == "commune" and len(r) > 1}
    assert names <= listed
    assert "301 cơ quan: các biểu đồ dưới đây cho biết phân bố của cả nhóm" in year_page.visible


def test_the_workbook_is_streamed_row_by_row(grown: tuple[Path, dict]):
    # xlsxwriter's constant_memory mode writes each row out as the next starts, its strings inline: a workbook with
    # a shared-strings part was held whole in memory until closed
    import zipfile

    xlsx_file = grown[1]["xlsx"]
    with zipfile.ZipFile(xlsx_file) as xlsx:
        assert "xl/sharedStrings.xml" not in xlsx.namelist()
        assert "inlineStr" in xlsx.read("xl/worksheets/sheet3.xml").decode("utf-8")
    wb = openpyxl.load_workbook(xlsx_file, read_only=True)
    codes = [r[1] for r in sheet_rows(wb["UBND cấp xã"])[3:] if isinstance(r[0], int)]
    assert len(codes) == 301 and len(set(codes)) == 301


def test_a_cell_written_above_a_streamed_row_is_refused(tmp_path: Path):
    from assets.reports.workbook import STREAMED, _StreamedWorkbook

    wb = _StreamedWorkbook(str(tmp_path / "x.xlsx"), STREAMED)
    ws = wb.add_worksheet("a")
    ws.write_string(0, 0, "first")
    ws.write_string(1, 0, "second")
    with pytest.raises(RuntimeError, match=r"sheet 'a': cell B1 written after a later row"):
        ws.write_number(0, 1, 1)
    wb.close()


def test_profile_pages_written_in_chunks_are_those_written_at_once(
    province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import assets.reports.html as report_html

    pages = {}
    for chunk in (10_000, 7):  # every agency at once; then 7 at a time, the last chunk short
        monkeypatch.setattr(report_html, "PROFILE_CHUNK", chunk)
        out = tmp_path / f"chunk-{chunk}"
        con = duckdb.connect(str(province / "marts" / "egov.duckdb"), read_only=True)
        try:
            report_html.write_html_report(con, 2024, out, now=datetime(2026, 1, 1, tzinfo=UTC))
        finally:
            con.close()
        pages[chunk] = files(out / "2024" / "co-quan")
    assert len(pages[7]) > 7 * 10 and len(pages[7]) % 7 and pages[7] == pages[10_000]


def test_the_console_summary_reads_the_ranking_as_the_reports_do(
    province: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """`egov report` prints a group's first and last three in the reports' order (ties in Vietnamese order, not by
    code) with Vietnamese numbers (70,00, not 70.00)."""
    from pipelines.cli.summary import print_report

    base = _tied_copy(province, tmp_path)
    assert print_report(2024, data_dir=base) == 2024
    lines = capsys.readouterr().out.splitlines()
    start = lines.index(f"UBND cấp xã (commune, {len(NAMES)} agencies)")
    shown = lines[start + 1 : lines.index("", start)]
    assert shown[3].strip() == "…"
    # "    1. <name, padded to 48> <total>  <class> <change>"
    parsed = [re.fullmatch(r"\s+(\d+)\. (.{48}) +(\S+)  .*", line) for line in shown[:3] + shown[4:]]
    assert [m[2].rstrip() for m in parsed] == VIETNAMESE_ORDER[:3] + VIETNAMESE_ORDER[-3:]
    assert [(m[1], vn_value(m[3], 2)) for m in parsed] == [("1", 70.0)] * 6


def test_a_ranked_group_without_its_classes_is_refused_not_given_default_decimals(province: Path, tmp_path: Path):
    """A group's decimals are its rubric's (rubric_classes): the reports never assume 2 for a group without them."""
    from assets.reports.workbook import write_ranking_workbook

    base = data_copy(province, tmp_path, "DELETE FROM rubric_classes WHERE year = 2024 AND agency_group = 'central'")
    con = duckdb.connect(str(base / "marts" / "egov.duckdb"), read_only=True)
    with pytest.raises(ValueError, match=r"group 'central' in 2024"):
        write_ranking_workbook(con, 2024, tmp_path / "out")
    con.close()
    assert not (tmp_path / "out" / "2024" / "xep_hang_2024.xlsx").exists()
