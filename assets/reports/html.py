"""The HTML ranking report of a year: static pages that open from disk, charts drawn offline by Plotly.

    reports/index.html                    the years
    reports/<year>/index.html             tables per agency group, charts, data-quality caveats
    reports/<year>/co-quan/<code>.html    one profile per ranked agency: points lost, strengths, what-if
    reports/_static/plotly.min.js         the charting library, shipped by the plotly package (no CDN)

Everything is read from the published marts, so the report shows exactly what analysts query. Text from inputs
(agency names, file names) is escaped by Jinja's autoescape; chart data goes through `tojson`, which escapes
<, > and & so no input can close a <script> tag.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import plotly

from expectations.sql_checks import quality_summary
from pipelines.vietnamese import CLASS_COLOURS, CLASS_ORDER, rank_change_text, vn_int, vn_number, vn_pct

TEMPLATES = Path(__file__).parent / "templates"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
STATIC = "_static"
PROFILE_DIR = "co-quan"
GROUP_ORDER = ("department", "district", "commune", "central")
GOAL_ORDER = ("next_class", "pass_agency_above")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=vn_number, pct=vn_pct, int=vn_int, change=lambda r: rank_change_text(
        r["prev_rank"], r["rank"]), profile_file=_profile_file)
    env.globals.update(class_colours=CLASS_COLOURS, class_order=CLASS_ORDER)
    return env


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def install_static(out_dir: Path) -> None:
    """Copy plotly.min.js and the stylesheet next to the reports once (they are shared by every page)."""
    static = out_dir / STATIC
    static.mkdir(parents=True, exist_ok=True)
    for src in (PLOTLY_JS, TEMPLATES / "report.css"):
        dst = static / src.name
        if not dst.exists() or dst.stat().st_size != src.stat().st_size:
            shutil.copyfile(src, dst)


def _bar_height(n: int) -> int:
    return max(260, 90 + 19 * n)


def _year_charts(groups: list[dict], trend: list[dict], year: int) -> dict[str, dict]:
    """Plotly figures (plain JSON specs: building them with plotly.graph_objects is 10× slower per page)."""
    charts: dict[str, dict] = {}
    labels = [g["label"] for g in groups]
    charts["classes"] = {
        "data": [{"type": "bar", "name": cls, "x": labels, "marker": {"color": CLASS_COLOURS[cls]},
                  "y": [sum(1 for r in g["rows"] if r["classification"] == cls) for g in groups]}
                 for cls in CLASS_ORDER],
        "layout": {"barmode": "stack", "title": {"text": f"Số cơ quan theo xếp loại, năm {year}"},
                   "yaxis": {"title": {"text": "Số cơ quan"}}, "height": 340, "separators": ",."},
    }
    by_year: dict[int, list[dict]] = defaultdict(list)
    for t in trend:
        by_year[t["year"]].append(t)
    charts["trend_monthly"] = {
        "data": [{"type": "scatter", "mode": "lines+markers", "name": str(y), "x": [t["month"] for t in rows],
                  "y": [t["monthly_ratio"] for t in rows], "line": {"width": 3 if y == year else 1.5}}
                 for y, rows in sorted(by_year.items())],
        "layout": {"title": {"text": "Tỷ lệ hồ sơ trực tuyến toàn tỉnh theo tháng"}, "height": 360,
                   "xaxis": {"title": {"text": "Tháng"}, "dtick": 1},
                   "yaxis": {"tickformat": ".0%", "rangemode": "tozero"}, "separators": ",."},
    }
    annual = [(y, rows[-1]) for y, rows in sorted(by_year.items())]
    charts["trend_annual"] = {
        "data": [{"type": "bar", "x": [str(y) for y, _ in annual], "y": [r["ytd_ratio"] for _, r in annual],
                  "text": [vn_pct(r["ytd_ratio"]) for _, r in annual], "textposition": "outside",
                  "marker": {"color": ["#2166ac" if y == year else "#92c5de" for y, _ in annual]}}],
        "layout": {"title": {"text": "Tỷ lệ hồ sơ trực tuyến toàn tỉnh theo năm"},
                   "height": 340, "yaxis": {"tickformat": ".0%", "rangemode": "tozero"}, "separators": ",."},
    }
    for g in groups:
        rows = g["rows"]
        names = [r["agency_name"] for r in reversed(rows)]
        charts[f"rank_{g['group']}"] = {
            "data": [{"type": "bar", "orientation": "h", "y": names, "x": [r["total_points"] for r in reversed(rows)],
                      "marker": {"color": [CLASS_COLOURS[r["classification"]] for r in reversed(rows)]},
                      "hovertemplate": "%{y}: %{x:.2f} điểm<extra></extra>"}],
            "layout": {"title": {"text": f"Tổng điểm – {g['label']}"}, "height": _bar_height(len(rows)),
                       "yaxis": {"automargin": True, "dtick": 1}, "xaxis": {"range": [0, g["max_points"]]},
                       "separators": ",."},
        }
        charts[f"criteria_{g['group']}"] = {
            "data": [{"type": "box", "name": c["criterion_name"], "boxpoints": "all", "jitter": 0.4, "pointpos": 0,
                      "y": [r["criteria"].get(c["criterion_code"], 0) / c["max_points"] for r in rows],
                      "text": [r["agency_name"] for r in rows],
                      "hovertemplate": "%{text}: %{y:.0%}<extra></extra>"} for c in g["criteria"]],
            "layout": {"title": {"text": f"Tỷ lệ điểm đạt theo tiêu chí – {g['label']}"}, "height": 380,
                       "showlegend": False, "yaxis": {"tickformat": ".0%", "range": [0, 1.05]},
                       "xaxis": {"automargin": True}, "separators": ",."},
        }
    return charts


def _groups(con: duckdb.DuckDBPyConnection, year: int) -> list[dict]:
    ranking = _records(con, """
        SELECT r.*, a.agency_group_label FROM rankings AS r
        LEFT JOIN agencies AS a USING (agency_code)
        WHERE r.year = ? ORDER BY r.rank, r.agency_name, r.agency_code""", [year])
    criteria = _records(con, """
        SELECT DISTINCT agency_group, criterion_order, criterion_code, criterion_name,
               sum(points) OVER (PARTITION BY agency_group, criterion_code) AS max_points
        FROM rubric_items WHERE year = ? ORDER BY agency_group, criterion_order""", [year])
    points = con.execute("SELECT agency_code, criterion_code, points FROM criterion_scores WHERE year = ?",
                         [year]).fetchall()
    per_agency: dict[str, dict[str, float]] = defaultdict(dict)
    for code, crit, pts in points:
        per_agency[code][crit] = pts
    groups = []
    for group in sorted({r["agency_group"] for r in ranking}, key=lambda g: (GROUP_ORDER + (g,)).index(g)):
        rows = [r | {"criteria": per_agency[r["agency_code"]]} for r in ranking if r["agency_group"] == group]
        groups.append({
            "group": group, "label": rows[0]["agency_group_label"] or group, "rows": rows,
            "max_points": rows[0]["max_points"],
            "criteria": [c for c in criteria if c["agency_group"] == group],
        })
    return groups


def _trend(con: duckdb.DuckDBPyConnection, year: int) -> list[dict]:
    """The province's online dossier ratio per month (from the year-to-date counts) and year to date."""
    return _records(con, """
        SELECT year, month, value AS ytd_ratio,
               (numerator - coalesce(lag(numerator) OVER w, 0))
               / nullif(denominator - coalesce(lag(denominator) OVER w, 0), 0) AS monthly_ratio
        FROM dossier_indicators_ytd
        WHERE agency_code = '*' AND indicator_code = 'dossier_online_ratio' AND year <= ?
        WINDOW w AS (PARTITION BY year ORDER BY month)
        ORDER BY year, month""", [year])


def _profiles(con: duckdb.DuckDBPyConnection, year: int) -> tuple[list[dict], dict, dict]:
    profiles = _records(con, """
        SELECT p.*, a.agency_group_label FROM agency_profiles AS p LEFT JOIN agencies AS a USING (agency_code)
        WHERE p.year = ? ORDER BY p.agency_code""", [year])
    items: dict[str, list[dict]] = defaultdict(list)
    for r in _records(con, """
            SELECT i.*, coalesce(c.label_vi, i.indicator_code) AS label, c.is_flag, r.criterion_name,
                   r.criterion_order, r.item_order
            FROM agency_profile_items AS i
            LEFT JOIN indicator_catalogue AS c USING (indicator_code)
            LEFT JOIN rubric_items AS r USING (year, agency_group, criterion_code, indicator_code)
            WHERE i.year = ? ORDER BY i.agency_code, r.criterion_order, r.item_order""", [year]):
        items[r["agency_code"]].append(r)
    steps: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in _records(con, """
            SELECT w.*, coalesce(c.label_vi, w.indicator_code) AS label, c.is_flag
            FROM what_if AS w LEFT JOIN indicator_catalogue AS c USING (indicator_code)
            WHERE w.year = ? ORDER BY w.agency_code, w.goal, w.step""", [year]):
        steps[r["agency_code"]][r["goal"]].append(r)
    return profiles, items, steps


def _profile_charts(profile: dict, items: list[dict]) -> dict[str, dict]:
    labels = [i["label"] for i in reversed(items)]
    history = profile["rank_history"]
    return {
        "points": {
            "data": [
                {"type": "bar", "orientation": "h", "name": "Điểm đạt", "y": labels,
                 "x": [i["points"] for i in reversed(items)], "marker": {"color": "#2166ac"}},
                {"type": "bar", "orientation": "h", "name": "Điểm bị mất", "y": labels,
                 "x": [i["points_lost"] for i in reversed(items)], "marker": {"color": "#f4a582"}},
                {"type": "scatter", "mode": "markers", "name": "Trung bình nhóm", "y": labels,
                 "x": [i["group_avg_points"] for i in reversed(items)],
                 "marker": {"symbol": "line-ns-open", "size": 14, "color": "#222"}},
            ],
            "layout": {"barmode": "stack", "title": {"text": "Điểm đạt và điểm bị mất theo chỉ số"},
                       "height": 120 + 26 * len(items), "yaxis": {"automargin": True, "dtick": 1},
                       "separators": ",.",
                       "legend": {"orientation": "h"}},
        },
        "history": {
            "data": [{"type": "scatter", "mode": "lines+markers+text", "x": [str(h["year"]) for h in history],
                      "y": [h["rank"] for h in history], "text": [str(h["rank"]) for h in history],
                      "textposition": "top center", "name": "Xếp hạng"}],
            "layout": {"title": {"text": "Xếp hạng qua các năm"}, "height": 300, "separators": ",.",
                       "yaxis": {"autorange": "reversed", "title": {"text": "Hạng"}, "rangemode": "tozero"},
                       "xaxis": {"type": "category"}},
        },
    }


def write_html_report(con: duckdb.DuckDBPyConnection, year: int, out_dir: Path) -> Path:
    """Write the year's report and one profile page per ranked agency under out_dir/<year>/; returns index.html."""
    env = _environment()
    install_static(out_dir)
    year_dir = out_dir / str(year)
    (year_dir / PROFILE_DIR).mkdir(parents=True, exist_ok=True)
    groups = _groups(con, year)
    page = env.get_template("year.html").render(
        year=year, groups=groups, charts=_year_charts(groups, _trend(con, year), year),
        caveats=quality_summary(con, year), static=f"../{STATIC}", profile_dir=PROFILE_DIR,
        rubric_year=groups[0]["rows"][0]["rubric_year"] if groups else None)
    index = year_dir / "index.html"
    index.write_text(page, encoding="utf-8")

    profiles, items, steps = _profiles(con, year)
    template = env.get_template("agency.html")
    keep = set()
    for p in profiles:
        code = p["agency_code"]
        what_if = [{"goal": goal, "steps": steps[code][goal]} for goal in GOAL_ORDER if steps[code].get(goal)]
        name = _profile_file(code)
        keep.add(name)
        (year_dir / PROFILE_DIR / name).write_text(template.render(
            year=year, p=p, items=items[code], what_if=what_if, charts=_profile_charts(p, items[code]),
            static=f"../../{STATIC}", above_file=_profile_file(p["agency_above_code"]) if p["agency_above_code"]
            else None), encoding="utf-8")
    for stale in (year_dir / PROFILE_DIR).glob("*.html"):  # an agency no longer ranked that year
        if stale.name not in keep:
            stale.unlink()
    return index


def _profile_file(code: str) -> str:
    """A safe file name for an agency code (codes come from input files)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in code).lstrip(".") + ".html"


def write_report_index(out_dir: Path) -> Path:
    """reports/index.html: links to every year that has a report."""
    years = sorted((int(p.name) for p in out_dir.iterdir() if p.name.isdigit() and (p / "index.html").exists()),
                   reverse=True)
    workbooks = {y: sorted(p.name for p in (out_dir / str(y)).glob("*.xlsx")) for y in years}
    path = out_dir / "index.html"
    install_static(out_dir)
    path.write_text(_environment().get_template("index.html").render(
        years=years, workbooks=workbooks, static=STATIC), encoding="utf-8")
    return path
