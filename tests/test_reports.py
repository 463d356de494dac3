"""The published reports: HTML pages that match the marts, profiles with the what-if, and a real headless
Chromium that must load them without a script error and draw the charts."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from conftest import YEARS, change_text, vn_value

from assets.reports.html import write_html_report

HALF = {2: 0.005 + 1e-9, 4: 0.00005 + 1e-9}  # a figure shown with n decimals is within half a unit of the mart's
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


class Tables(HTMLParser):
    """Rows of every <table>: (table attributes, row attributes, cell texts)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[dict, dict, list[str]]] = []
        self._table: dict = {}
        self._row: tuple[dict, list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self._table = dict(attrs)
        elif tag == "tr":
            self._row = (dict(attrs), [])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row[1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append((self._table, *self._row))
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(path: Path) -> list[tuple[dict, dict, list[str]]]:
    parser = Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.rows


def marts(base: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(base / "marts" / "egov.duckdb"), read_only=True)


def chromium(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium")
    assert exe, "Debian's chromium is needed for the browser test: `./egov test` installs it (apt-get)"
    return subprocess.run([exe, *CHROMIUM_FLAGS, *args], capture_output=True, text=True, timeout=timeout)


def ranked_codes(page: Path) -> list[str]:
    """The agency codes of a year page's ranking tables, in the order shown."""
    return [r["data-agency"] for t, r, _ in tables(page) if t.get("class") == "ranking" and "data-agency" in r]


def test_the_run_writes_a_report_for_every_year(province: Path):
    reports = province / "marts" / "reports"
    con = marts(province)
    index = (reports / "index.html").read_text(encoding="utf-8")
    for year in YEARS:
        page = reports / str(year) / "index.html"
        assert f"<title>Xếp hạng ứng dụng CNTT năm {year}" in page.read_text(encoding="utf-8")
        assert f'href="{year}/index.html"' in index
        ranked = {c for (c,) in con.execute("SELECT agency_code FROM rankings WHERE year = ?", [year]).fetchall()}
        shown = ranked_codes(page)
        assert len(shown) == len(set(shown)) and set(shown) == ranked  # every ranked agency, once
        pages = {p.stem for p in (reports / str(year) / "co-quan").glob("*.html")}
        assert pages == ranked and len(pages) > 100
    assert (reports / "_static" / "plotly.min.js").stat().st_size > 1_000_000  # offline: no CDN


def test_ranking_tables_match_the_marts(province: Path):
    con = marts(province)
    page = province / "marts" / "reports" / "2024" / "index.html"
    rows = [(t, r, cells) for t, r, cells in tables(page) if t.get("class") == "ranking" and "data-agency" in r]
    for group in ("department", "district", "commune"):
        expected = con.execute(
            """
            SELECT agency_code, agency_name, total_points, index_value, classification, rank, rank_change,
                   prev_rank FROM rankings WHERE year = 2024 AND agency_group = ?
            ORDER BY rank, agency_name COLLATE vi, agency_code""",
            [group],
        ).fetchall()
        criteria = [
            c
            for c, _ in con.execute(
                "SELECT DISTINCT criterion_code, criterion_order FROM rubric_items WHERE year = 2024 AND "
                "agency_group = ? ORDER BY criterion_order",
                [group],
            ).fetchall()
        ]
        points = dict(
            ((a, c), p)
            for a, c, p in con.execute(
                "SELECT agency_code, criterion_code, points FROM criterion_scores WHERE year = 2024 AND "
                "agency_group = ?",
                [group],
            ).fetchall()
        )
        shown = [(r["data-agency"], cells) for t, r, cells in rows if t["data-group"] == group]
        assert [code for code, _ in shown] == [e[0] for e in expected]
        for (code, cells), (_, name, total, index, cls, rank, _change, prev) in zip(shown, expected, strict=True):
            n = len(criteria)
            assert cells[1] == name
            assert [vn_value(c, 2) for c in cells[2 : 2 + n]] == pytest.approx(
                [points[(code, c)] for c in criteria], abs=HALF[2]
            )
            assert vn_value(cells[2 + n], 2) == pytest.approx(total, abs=HALF[2])
            assert vn_value(cells[3 + n], 4) == pytest.approx(index, abs=HALF[4])
            assert [*cells[4 + n : 6 + n], cells[-1]] == [cls, str(rank), change_text(prev, rank)]
    heading = next(cells for t, r, cells in tables(page) if t.get("data-group") == "department" and not r)
    assert heading[:2] == ["STT", "Tên cơ quan"] and heading[-6:] == [
        "Tổng điểm",
        "Chỉ số",
        "Xếp loại",
        "Xếp hạng",
        "Khoảng xếp hạng (90%)",
        "Thay đổi so với năm trước",
    ]
    assert heading[2] == "Hạ tầng kỹ thuật CNTT và ATTT (20)"


def test_profile_pages_show_the_what_if_of_the_marts(province: Path):
    con = marts(province)
    code, goal_count = con.execute("""
        SELECT agency_code, count(DISTINCT goal) FROM what_if WHERE year = 2024
        GROUP BY ALL ORDER BY 2 DESC, agency_code LIMIT 1""").fetchall()[0]
    assert goal_count == 2
    page = province / "marts" / "reports" / "2024" / "co-quan" / f"{code}.html"
    html = page.read_text(encoding="utf-8")
    total, rank, size = con.execute(
        "SELECT total_points, rank, group_size FROM agency_profiles WHERE year = 2024 AND agency_code = ?", [code]
    ).fetchall()[0]
    shown_total = re.search(r'data-field="total_points">([^<]*)<', html).group(1)
    assert vn_value(shown_total, 2) == pytest.approx(total, abs=HALF[2]) and f'data-field="rank">{rank}<' in html
    assert f"/ {size}" in html
    for goal in ("next_class", "pass_agency_above"):
        expected = con.execute(
            """
            SELECT w.step, c.label_vi, w.required_value, w.points_gained FROM what_if AS w
            JOIN indicator_catalogue AS c USING (indicator_code)
            WHERE w.year = 2024 AND w.agency_code = ? AND w.goal = ? ORDER BY w.step""",
            [code, goal],
        ).fetchall()
        shown = [cells for t, r, cells in tables(page) if t.get("data-goal") == goal and r]
        assert [(int(s[0]), s[1]) for s in shown] == [(step, label) for step, label, _, _ in expected]
        assert all(s[5].startswith("+") for s in shown)  # points gained read as a gain
        assert [vn_value(s[3], 4) for s in shown] == pytest.approx([e[2] for e in expected], abs=HALF[4])
        assert [vn_value(s[5][1:], 2) for s in shown] == pytest.approx([e[3] for e in expected], abs=HALF[2])
    items = [r["data-indicator"] for t, r, _ in tables(page) if t.get("class") == "items" and r]
    assert (
        len(items)
        == con.execute(
            "SELECT count(*) FROM agency_profile_items WHERE year = 2024 AND agency_code = ?", [code]
        ).fetchall()[0][0]
    )


@pytest.fixture(scope="module")
def hostile_report(province: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2024 report rebuilt from a copy of the marts in which agency names try to inject markup, and SO-TC's
    figures are set to values whose Vietnamese writing is known (test_figures_are_written_the_vietnamese_way)."""
    work = tmp_path_factory.mktemp("hostile")
    copy = work / "egov.duckdb"
    shutil.copyfile(province / "marts" / "egov.duckdb", copy)
    con = duckdb.connect(str(copy))
    evil = {
        "SO-TP": '</script><img src=x onerror="document.title=1">',
        "SO-TC": '=HYPERLINK("http://evil.example","x") <b>đậm</b>',
    }
    for code, name in evil.items():
        for table in ("rankings", "agencies", "agency_profiles"):
            con.execute(f"UPDATE {table} SET agency_name = ? WHERE agency_code = ?", [name, code])
    con.execute(
        "UPDATE rankings SET total_points = 1234.5, index_value = 0.9265, prev_rank = rank + 3 "
        "WHERE year = 2024 AND agency_code = 'SO-TC'"
    )
    con.execute(
        "UPDATE criterion_scores SET points = 18.25 WHERE year = 2024 AND agency_code = 'SO-TC' "
        "AND criterion_code = 'infrastructure'"
    )
    index = write_html_report(con, 2024, work / "reports")
    con.close()
    return index


def test_names_from_inputs_cannot_inject_markup(hostile_report: Path):
    html = hostile_report.read_text(encoding="utf-8")
    assert "<img src=x" not in html and "<b>đậm</b>" not in html
    assert "&lt;img src=x onerror=" in html  # shown as text in the table
    assert "</script><img" not in html  # and escaped inside the chart data too
    names = [cells[1] for t, r, cells in tables(hostile_report) if r.get("data-agency") == "SO-TP"]
    assert names == ['</script><img src=x onerror="document.title=1">']


def test_figures_are_written_the_vietnamese_way(hostile_report: Path):
    [cells] = [cells for t, r, cells in tables(hostile_report) if r.get("data-agency") == "SO-TC"]
    assert cells[2] == "18,25"  # Hạ tầng kỹ thuật CNTT và ATTT, the first criterion
    assert cells[-6:-4] == ["1.234,50", "0,9265"] and cells[-1] == "↑3"


def test_chromium_loads_the_pages_without_errors_and_draws_the_charts(
    province: Path, hostile_report: Path, tmp_path: Path
):
    from PIL import Image

    year_page = province / "marts" / "reports" / "2024" / "index.html"
    code = (
        marts(province)
        .execute("SELECT arg_max(agency_code, points_lost) FROM agency_profiles WHERE year = 2024")
        .fetchall()[0][0]
    )
    profile = province / "marts" / "reports" / "2024" / "co-quan" / f"{code}.html"
    page_766 = year_page.parent / "chi-so-766.html"  # the monthly QĐ 766 page: one chart, the province's trend
    for page in (year_page, profile, hostile_report, page_766):
        done = chromium(f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri())
        assert done.returncode == 0, done.stderr[-2000:]
        root = done.stdout[: done.stdout.index(">", done.stdout.index("<html"))]
        assert "data-errors" not in root, root  # no script or resource error (e.g. plotly.min.js missing)
        charts = int(root.split('data-charts="')[1].split('"')[0])
        assert charts >= {profile: 2, page_766: 1}.get(page, 6)
        assert f'data-charts-rendered="{charts}"' in root  # every Plotly.newPlot resolved
        assert done.stdout.count('class="main-svg"') >= charts
        assert "<title>1</title>" not in done.stdout  # the hostile name's onerror never ran

    shot = tmp_path / "profile.png"
    done = chromium(
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2600", f"--screenshot={shot}", profile.as_uri()
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2600)
    colours = image.getcolors(maxcolors=1 << 20)
    counts = {rgb: n for n, rgb in colours}
    lost_bars = counts.get((0xF4, 0xA5, 0x82), 0)  # the "points lost" bars: only the chart paints this colour
    earned_bars = counts.get((0x21, 0x66, 0xAC), 0)
    assert lost_bars > 2_000 and earned_bars > 2_000, (lost_bars, earned_bars)


def test_cli_report_rewrites_a_year_from_the_marts(own_province: Path):
    import os
    import sys

    year_dir = own_province / "marts" / "reports" / "2023"
    shutil.rmtree(year_dir)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "egov"), "report", "--year", "2023"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    ranked = {
        c for (c,) in marts(own_province).execute("SELECT agency_code FROM rankings WHERE year = 2023").fetchall()
    }
    assert set(ranked_codes(year_dir / "index.html")) == ranked
    assert {p.stem for p in (year_dir / "co-quan").glob("*.html")} == ranked
    assert str(year_dir / "index.html") in done.stdout and "Xếp hạng mức độ ứng dụng CNTT năm 2023" in done.stdout
