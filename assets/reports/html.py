"""The HTML ranking report of a year: static pages that open from disk, charts drawn offline by Plotly.

    reports/index.html                    the years
    reports/<year>/index.html             tables per agency group, charts, data-quality caveats
    reports/<year>/co-quan/<code>.html    one profile per ranked agency: points lost, strengths, what-if
    reports/_static/plotly.min.js         the charting library, shipped by the plotly package (no CDN)

Everything is read from the published marts, so the report shows exactly what analysts query. Text from inputs
(agency names, file names) is escaped by Jinja's autoescape; chart data goes through `tojson`, which escapes
<, > and & so no input can close a <script> tag.

Every file is written atomically (assets.reports.common): a failed or killed run leaves the previous page. A
provisional year (common.provisional) carries a banner on every page; a year the marts know without any ranked
agency gets a page saying so ("Chưa có xếp hạng cho năm …").
"""

from __future__ import annotations

import html
import os
import shutil
import statistics
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import plotly

from assets.reports.common import (
    ClassStyles,
    Provisional,
    atomic_path,
    class_styles,
    page_file,
    provisional,
    rank_interval,
    remove_leftovers,
    robustness_vi,
    uncertainty_settings,
    write_text_atomic,
)
from assets.reports.data import RankedGroup, ranked_years, ranking, records
from assets.reports.scorecard_766 import PAGE as SCORECARD_766_PAGE
from assets.reports.scorecard_766 import CostlyRecords, agency_766, write_766_page
from expectations.sql_checks import quality_summary
from pipelines.core.vietnamese import rank_change_text, vn_int, vn_number, vn_pct

TEMPLATES = Path(__file__).parent / "templates"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
STATIC = "_static"
PROFILE_DIR = "co-quan"
GOAL_ORDER = ("next_class", "pass_agency_above")
# A group of more agencies than this gets charts of its distribution (_summary_charts) instead of a bar, a point
# and an interval per agency: at 10,000 agencies those were 190,000 px tall and MBs of JSON per chart (issue 24).
# The table above them still lists every agency. 300: more than a province's communes (~240).
CHART_UNITS = 300
SUMMARY_BANDS = 20  # bands of total points
INTERVAL_BINS = (0, 1, 3, 6, 11, 21, 51, 101, 201, 501, 1001)  # widths of rank intervals, from each to the next
# Profile pages are read from the marts and written this many agencies at a time: a group of 10,000 agencies read
# at once held ~50 kB of rows per agency (issue 24); a chunk's ~25 MB whatever the group's size.
PROFILE_CHUNK = 500


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=vn_number,
        pct=vn_pct,
        int=vn_int,
        change=lambda r: rank_change_text(r["prev_rank"], r["rank"]),
        profile_file=page_file,
        interval=lambda r: rank_interval(r["q05_rank"], r["q95_rank"]),
    )
    return env


def install_static(out_dir: Path) -> None:
    """Copy plotly.min.js and the stylesheet next to the reports once (they are shared by every page)."""
    static = out_dir / STATIC
    static.mkdir(parents=True, exist_ok=True)
    remove_leftovers(static)
    for src in (PLOTLY_JS, TEMPLATES / "report.css"):
        dst = static / src.name
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            with atomic_path(dst) as tmp:
                shutil.copyfile(src, tmp)


def _bar_height(n: int) -> int:
    return max(260, 90 + 19 * n)


def _tick(label: str, width: int) -> str:
    """A category label for a Plotly axis, broken into lines of at most `width` characters (a longer word stays
    whole): long Vietnamese labels side by side would otherwise overlap or be rotated and cut off. Plotly reads
    tick text as HTML-like markup, so the text is escaped and only our <br> is markup."""
    lines: list[str] = []
    for word in str(label).split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(html.escape(line, quote=False) for line in lines)


# Category axes: labels are wrapped (above); when even wrapped labels do not fit side by side (a narrow screen),
# Plotly turns them upright, never to 30° where they overlap their neighbours.
CATEGORY_AXIS = {"type": "category", "automargin": True, "autotickangles": [0, 90]}


def _year_charts(groups: list[RankedGroup], trend: list[dict], year: int, classes: ClassStyles) -> dict[str, dict]:
    """Plotly figures (plain JSON specs: building them with plotly.graph_objects is 10× slower per page)."""
    charts: dict[str, dict] = {}
    labels = [_tick(g["label"], 11) for g in groups]
    charts["classes"] = {
        "data": [
            {
                "type": "bar",
                "name": cls,
                "x": labels,
                "marker": {"color": classes.colour(cls)},
                "y": [sum(1 for r in g["rows"] if r["classification"] == cls) for g in groups],
                "hovertemplate": f"%{{x}}: %{{y}} cơ quan {cls}<extra></extra>",
            }
            for cls in classes
        ],
        "layout": {
            "barmode": "stack",
            "title": {"text": f"Số cơ quan theo xếp loại, năm {year}"},
            "yaxis": {"title": {"text": "Số cơ quan"}},
            "xaxis": CATEGORY_AXIS,
            "height": 360,
            "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "traceorder": "normal"},
            # Plotly's default 80 px side margins would leave a half-width chart too little room for
            # the group labels side by side; automargin still makes room for the axis titles.
            "margin": {"l": 60, "r": 10, "t": 100, "b": 30},
            "separators": ",.",
        },
    }
    by_year: dict[int, list[dict]] = defaultdict(list)
    for t in trend:
        by_year[t["year"]].append(t)
    charts["trend_monthly"] = {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": str(y),
                "x": [t["month"] for t in rows],
                "y": [t["monthly_ratio"] for t in rows],
                "line": {"width": 3 if y == year else 1.5},
            }
            for y, rows in sorted(by_year.items())
        ],
        "layout": {
            "title": {"text": "Tỷ lệ hồ sơ trực tuyến toàn tỉnh theo tháng"},
            "height": 360,
            "xaxis": {"title": {"text": "Tháng"}, "dtick": 1},
            "yaxis": {"tickformat": ".0%", "rangemode": "tozero"},
            "separators": ",.",
        },
    }
    annual = [(y, rows[-1]) for y, rows in sorted(by_year.items())]
    charts["trend_annual"] = {
        "data": [
            {
                "type": "bar",
                "x": [str(y) for y, _ in annual],
                "y": [r["ytd_ratio"] for _, r in annual],
                "text": [vn_pct(r["ytd_ratio"]) for _, r in annual],
                "textposition": "outside",
                "marker": {"color": ["#2166ac" if y == year else "#92c5de" for y, _ in annual]},
            }
        ],
        "layout": {
            "title": {"text": "Tỷ lệ hồ sơ trực tuyến toàn tỉnh theo năm"},
            "height": 360,
            "xaxis": CATEGORY_AXIS,  # years, not a number line (no "2.023,5" between them)
            "yaxis": {"tickformat": ".0%", "rangemode": "tozero"},
            "separators": ",.",
        },
    }
    for g in groups:
        rows = g["rows"]
        if len(g["rows"]) > CHART_UNITS:
            charts |= _summary_charts(g, classes)
            continue
        names = [r["agency_name"] for r in reversed(rows)]
        charts[f"rank_{g['group']}"] = {
            "data": [
                {
                    "type": "bar",
                    "orientation": "h",
                    "y": names,
                    "x": [r["total_points"] for r in reversed(rows)],
                    "marker": {"color": [classes.colour(r["classification"]) for r in reversed(rows)]},
                    "hovertemplate": "%{y}: %{x:.2f} điểm<extra></extra>",
                }
            ],
            "layout": {
                "title": {"text": f"Tổng điểm – {g['label']}"},
                "height": _bar_height(len(rows)),
                "yaxis": {"automargin": True, "dtick": 1},
                "xaxis": {"range": [0, g["max_points"]]},
                "separators": ",.",
            },
        }
        charts[f"interval_{g['group']}"] = _interval_chart(g)
        charts[f"criteria_{g['group']}"] = {
            "data": [
                {
                    "type": "box",
                    "name": _tick(c["criterion_name"], 20),
                    "boxpoints": "all",
                    "jitter": 0.4,
                    "pointpos": 0,
                    "y": [
                        None if (v := r["criteria"].get(c["criterion_code"], 0)) is None else v / c["max_points"]
                        for r in rows
                    ],
                    "text": [r["agency_name"] for r in rows],
                    "hovertemplate": "%{text}: %{y:.0%}<extra></extra>",
                }
                for c in g["criteria"]
            ],
            "layout": {
                "title": {"text": f"Tỷ lệ điểm đạt theo tiêu chí – {g['label']}"},
                "height": 380,
                "showlegend": False,
                "yaxis": {"tickformat": ".0%", "range": [0, 1.05]},
                "xaxis": {**CATEGORY_AXIS, "tickfont": {"size": 11}},
                "separators": ",.",
            },
        }
    return charts


def _summary_charts(group: RankedGroup, classes: ClassStyles) -> dict[str, dict]:
    """The charts of a group of more than CHART_UNITS agencies, whose size does not grow with it: how many agencies
    per band of total points (by class), how wide their rank intervals are, and each criterion's quartiles."""
    code, label = group["group"], group["label"]
    rows = [r for r in group["rows"] if r["total_points"] is not None]  # not the units without enough data
    step = max(group["max_points"], 1) / SUMMARY_BANDS
    band = [min(int(r["total_points"] // step), SUMMARY_BANDS - 1) for r in rows]
    edges = [vn_number(step * k, None) for k in range(SUMMARY_BANDS + 1)]
    charts = {
        f"rank_{code}": {
            "data": [
                {
                    "type": "bar",
                    "name": cls,
                    "marker": {"color": classes.colour(cls)},
                    "x": [f"{edges[k]}–{edges[k + 1]}" for k in range(SUMMARY_BANDS)],
                    "y": [
                        sum(1 for r, b in zip(rows, band, strict=True) if b == k and r["classification"] == cls)
                        for k in range(SUMMARY_BANDS)
                    ],
                    "hovertemplate": f"%{{x}} điểm: %{{y}} cơ quan {cls}<extra></extra>",
                }
                for cls in classes
            ],
            "layout": {
                "barmode": "stack",
                "title": {"text": f"Số cơ quan theo tổng điểm – {label}"},
                "height": 380,
                "xaxis": {**CATEGORY_AXIS, "title": {"text": "Tổng điểm"}},
                "yaxis": {"title": {"text": "Số cơ quan"}},
                "separators": ",.",
                "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "traceorder": "normal"},
            },
        }
    }
    widths = [r["q95_rank"] - r["q05_rank"] for r in rows if r["q05_rank"] is not None]
    if widths:
        bins = [(lo, hi) for lo, hi in zip(INTERVAL_BINS, [*INTERVAL_BINS[1:], None], strict=True) if lo <= max(widths)]
        charts[f"interval_{code}"] = {
            "data": [
                {
                    "type": "bar",
                    "marker": {"color": group["colour"]},
                    "x": [
                        vn_int(lo) if hi == lo + 1 else f"{vn_int(lo)}–{vn_int(hi - 1)}" if hi else f"≥ {vn_int(lo)}"
                        for lo, hi in bins
                    ],
                    "y": [sum(1 for w in widths if lo <= w and (hi is None or w < hi)) for lo, hi in bins],
                    "hovertemplate": "khoảng rộng %{x} bậc: %{y} cơ quan<extra></extra>",
                }
            ],
            "layout": {
                "title": {"text": f"Độ rộng khoảng xếp hạng 90% khi phương pháp thay đổi – {label}"},
                "height": 360,
                "xaxis": {**CATEGORY_AXIS, "title": {"text": "Số bậc giữa hạng 5% và 95%"}},
                "yaxis": {"title": {"text": "Số cơ quan"}},
                "separators": ",.",
            },
        }
    boxes = []
    for c in group["criteria"]:
        shares = sorted(
            v / c["max_points"] for r in rows if (v := r["criteria"].get(c["criterion_code"], 0)) is not None
        )
        if len(shares) < 2:  # quartiles need two values
            continue
        q1, median, q3 = statistics.quantiles(shares, n=4, method="inclusive")
        boxes.append(
            {
                "type": "box",
                "name": _tick(c["criterion_name"], 20),
                "x": [_tick(c["criterion_name"], 20)],
                "q1": [q1],
                "median": [median],
                "q3": [q3],
                "lowerfence": [shares[0]],
                "upperfence": [shares[-1]],
                "boxpoints": False,
            }
        )
    charts[f"criteria_{code}"] = {
        "data": boxes,
        "layout": {
            "title": {"text": f"Tỷ lệ điểm đạt theo tiêu chí – {label} (tứ phân vị, thấp nhất, cao nhất)"},
            "height": 380,
            "showlegend": False,
            "yaxis": {"tickformat": ".0%", "range": [0, 1.05]},
            "xaxis": {**CATEGORY_AXIS, "tickfont": {"size": 11}},
            "separators": ",.",
        },
    }
    return charts


def _interval_chart(group: RankedGroup) -> dict:
    """Each unit's published rank and the 90 % interval of its rank when the methodology moves (the median with
    a bar from the 5 % to the 95 % rank), best rank on top; units without an analysis are left out."""
    rows = [r for r in reversed(group["rows"]) if r["q05_rank"] is not None]
    names = [r["agency_name"] for r in rows]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "name": "Trung vị và khoảng 90%",
                "y": names,
                "x": [r["median_rank"] for r in rows],
                "marker": {"color": group["colour"], "size": 7},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "thickness": 2,
                    "width": 0,
                    "array": [r["q95_rank"] - r["median_rank"] for r in rows],
                    "arrayminus": [r["median_rank"] - r["q05_rank"] for r in rows],
                },
                "customdata": [[r["q05_rank"], r["q95_rank"]] for r in rows],
                "hovertemplate": "%{y}: hạng %{customdata[0]}–%{customdata[1]} (trung vị %{x})<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "markers",
                "name": "Xếp hạng công bố",
                "y": names,
                "x": [r["rank"] for r in rows],
                "marker": {"symbol": "diamond-open", "color": "#222", "size": 9},
                "hovertemplate": "%{y}: xếp hạng %{x}<extra></extra>",
            },
        ],
        "layout": {
            "title": {"text": f"Xếp hạng và khoảng xếp hạng 90% khi phương pháp thay đổi – {group['label']}"},
            "height": _bar_height(len(rows)),
            "yaxis": {"automargin": True, "dtick": 1},
            # ranks 1..n; Plotly spaces the ticks itself (a tick per rank overlaps on a narrow screen)
            "xaxis": {"title": {"text": "Hạng"}, "range": [0.5, len(group["rows"]) + 0.5]},
            "legend": {"orientation": "h"},
            "separators": ",.",
        },
    }


def _trend(con: duckdb.DuckDBPyConnection, year: int) -> list[dict]:
    """The province's online dossier ratio per month (from the year-to-date counts) and year to date."""
    return records(
        con,
        """
        SELECT year, month, value AS ytd_ratio,
               (numerator - coalesce(lag(numerator) OVER w, 0))
               / nullif(denominator - coalesce(lag(denominator) OVER w, 0), 0) AS monthly_ratio
        FROM dossier_indicators_ytd
        WHERE agency_code = '*' AND indicator_code = 'dossier_online_ratio' AND year <= ?
        WINDOW w AS (PARTITION BY year ORDER BY month)
        ORDER BY year, month""",
        [year],
    )


def _profiles(con: duckdb.DuckDBPyConnection, year: int, codes: list[str]) -> tuple[list[dict], dict, dict]:
    """The profiles of the agencies `codes` (a chunk of the year's, PROFILE_CHUNK), their items and what-if steps."""
    profiles = records(
        con,
        """
        SELECT p.*, a.agency_group_label FROM agency_profiles AS p LEFT JOIN agencies AS a USING (agency_code)
        WHERE p.year = ? AND p.agency_code IN (SELECT unnest(?::VARCHAR[])) ORDER BY p.agency_code""",
        [year, codes],
    )
    settings = uncertainty_settings(con, year)
    if settings is not None:
        found = {
            r["agency_code"]: r
            for r in records(
                con,
                """
            SELECT u.agency_code, u.q05_rank, u.q95_rank, c.probability
            FROM rank_uncertainty AS u
            JOIN agency_profiles AS p USING (year, agency_code)
            LEFT JOIN class_probability AS c
                   ON c.year = u.year AND c.agency_code = u.agency_code AND c.classification = p.classification
            WHERE u.year = ? AND u.agency_code IN (SELECT unnest(?::VARCHAR[]))""",
                [year, codes],
            )
        }
        for p in profiles:
            r = found.get(p["agency_code"])
            p["robustness"] = r and robustness_vi(
                p["rank"], r["q05_rank"], r["q95_rank"], p["classification"], r["probability"], settings
            )
    for p in profiles:
        p.setdefault("robustness", None)
    items: dict[str, list[dict]] = defaultdict(list)
    for r in records(
        con,
        """
            SELECT i.*, coalesce(c.label_vi, i.indicator_code) AS label, c.is_flag, r.criterion_name,
                   r.criterion_order, r.item_order
            FROM agency_profile_items AS i
            LEFT JOIN indicator_catalogue AS c USING (indicator_code)
            LEFT JOIN rubric_items AS r USING (year, agency_group, criterion_code, indicator_code)
            WHERE i.year = ? AND i.agency_code IN (SELECT unnest(?::VARCHAR[]))
            ORDER BY i.agency_code, r.criterion_order, r.item_order""",
        [year, codes],
    ):
        items[r["agency_code"]].append(r)
    steps: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in records(
        con,
        """
            SELECT w.*, coalesce(c.label_vi, w.indicator_code) AS label, c.is_flag
            FROM what_if AS w LEFT JOIN indicator_catalogue AS c USING (indicator_code)
            WHERE w.year = ? AND w.agency_code IN (SELECT unnest(?::VARCHAR[]))
            ORDER BY w.agency_code, w.goal, w.step""",
        [year, codes],
    ):
        steps[r["agency_code"]][r["goal"]].append(r)
    return profiles, items, steps


def _criteria_levels(con: duckdb.DuckDBPyConnection, year: int, codes: list[str]) -> dict[str, list[dict]]:
    """For a rubric with nested criteria (docs/rubrics.md §2c): the criteria of every level of the units `codes`,
    parents first, with points, maximum and rank in the group; {} for rubrics of one level (their pages stay as they
    were)."""
    if not con.execute("SELECT count(*) FROM rubric_criteria WHERE year = ? AND level > 1", [year]).fetchall()[0][0]:
        return {}
    out: dict[str, list[dict]] = defaultdict(list)
    for r in records(
        con,
        """
            SELECT s.agency_code, s.criterion_code, s.criterion_name, s.level, s.points, s.max_points, s.rank
            FROM criterion_scores AS s
            JOIN rubric_criteria AS c USING (year, agency_group, criterion_code)
            WHERE s.year = ? AND list_contains(?, s.agency_code)
            ORDER BY s.agency_code, c.criterion_order""",
        [year, codes],
    ):
        out[r["agency_code"]].append(r)
    return out


def _profile_charts(profile: dict, items: list[dict]) -> dict[str, dict]:
    labels = [i["label"] for i in reversed(items)]
    history = profile["rank_history"]
    return {
        "points": {
            "data": [
                {
                    "type": "bar",
                    "orientation": "h",
                    "name": "Điểm đạt",
                    "y": labels,
                    "x": [i["points"] for i in reversed(items)],
                    "marker": {"color": "#2166ac"},
                },
                {
                    "type": "bar",
                    "orientation": "h",
                    "name": "Điểm bị mất",
                    "y": labels,
                    "x": [i["points_lost"] for i in reversed(items)],
                    "marker": {"color": "#f4a582"},
                },
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": "Trung bình nhóm",
                    "y": labels,
                    "x": [i["group_avg_points"] for i in reversed(items)],
                    "marker": {"symbol": "line-ns-open", "size": 14, "color": "#222"},
                },
            ],
            "layout": {
                "barmode": "stack",
                "title": {"text": "Điểm đạt và điểm bị mất theo chỉ số"},
                "height": 120 + 26 * len(items),
                "yaxis": {"automargin": True, "dtick": 1},
                "separators": ",.",
                "legend": {"orientation": "h"},
            },
        },
        "history": {
            "data": [
                {
                    "type": "scatter",
                    "mode": "lines+markers+text",
                    "x": [str(h["year"]) for h in history],
                    "y": [h["rank"] for h in history],
                    "text": [str(h["rank"]) for h in history],
                    "textposition": "top center",
                    "name": "Xếp hạng",
                }
            ],
            "layout": {
                "title": {"text": "Xếp hạng qua các năm"},
                "height": 300,
                "separators": ",.",
                "yaxis": {"autorange": "reversed", "title": {"text": "Hạng"}, "rangemode": "tozero"},
                "xaxis": {"type": "category"},
            },
        },
    }


def _marts_path(con: duckdb.DuckDBPyConnection) -> str:
    """The marts file the page was built from, as the footer names it (it moves with EGOV_DATA_DIR)."""
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return rows[0][0] if rows and rows[0][0] else "egov.duckdb"


def _docs_link(data_docs: Path | None, page_dir: Path) -> dict[str, str | None] | None:
    """The Data Docs page for a report page: its path, and a link relative to the page when the page exists (the
    reports then open from disk, or from a copy of the whole data directory, without a dead link)."""
    if data_docs is None:
        return None
    href = None
    if data_docs.is_file():
        href = Path(os.path.relpath(data_docs.resolve(), page_dir.resolve())).as_posix()
    return {"path": str(data_docs), "href": href}


def _page_globals(con: duckdb.DuckDBPyConnection, status: Provisional | None) -> dict[str, Any]:
    return {"provisional": status, "marts_path": _marts_path(con)}


def write_html_report(
    con: duckdb.DuckDBPyConnection,
    year: int,
    out_dir: Path,
    *,
    data_docs: Path | None = None,
    now: datetime | None = None,
    costly_766: CostlyRecords | None = None,
) -> Path:
    """Write the year's report and one profile page per ranked agency under out_dir/<year>/; returns index.html.

    `data_docs`: the Data Docs page to link (assets.reports.common.data_docs_page); `now`: the time that decides
    whether the year is still running (default: now, in Vietnam); `costly_766`: the year's
    `scorecard_766.costly_records` when the caller has read them (else read per chunk of profile pages)."""
    env = _environment()
    install_static(out_dir)
    year_dir = out_dir / str(year)
    (year_dir / PROFILE_DIR).mkdir(parents=True, exist_ok=True)
    remove_leftovers(year_dir, year_dir / PROFILE_DIR)
    status = provisional(con, year, now)
    classes = class_styles(con, year)
    common = {**_page_globals(con, status), "class_colours": classes.colours()}
    groups = ranking(con, year)
    sc766 = write_766_page(
        con, env, year, year_dir, {**common, "static": f"../{STATIC}", "data_docs": _docs_link(data_docs, year_dir)}
    )
    page = env.get_template("year.html").generate(
        scorecard_766=SCORECARD_766_PAGE if sc766 else None,
        year=year,
        groups=groups,
        chart_units=CHART_UNITS,
        charts=_year_charts(groups, _trend(con, year), year, classes),
        caveats=quality_summary(con, year),
        static=f"../{STATIC}",
        profile_dir=PROFILE_DIR,
        rubric_year=groups[0]["rows"][0]["rubric_year"] if groups else None,
        data_docs=_docs_link(data_docs, year_dir),
        **common,
    )
    index = write_text_atomic(year_dir / "index.html", page)

    template = env.get_template("agency.html")
    keep = set()
    docs = _docs_link(data_docs, year_dir / PROFILE_DIR)
    codes = [
        c
        for (c,) in con.execute(
            "SELECT agency_code FROM agency_profiles WHERE year = ? ORDER BY agency_code", [year]
        ).fetchall()
    ]
    for start in range(0, len(codes), PROFILE_CHUNK):
        chunk = codes[start : start + PROFILE_CHUNK]
        profiles, items, steps = _profiles(con, year, chunk)
        by_agency_766 = agency_766(con, year, chunk, costly_766)
        levels = _criteria_levels(con, year, chunk)
        for p in profiles:
            code = p["agency_code"]
            what_if = [{"goal": goal, "steps": steps[code][goal]} for goal in GOAL_ORDER if steps[code].get(goal)]
            name = page_file(code)
            keep.add(name)
            write_text_atomic(
                year_dir / PROFILE_DIR / name,
                template.generate(
                    year=year,
                    p=p,
                    items=items[code],
                    what_if=what_if,
                    charts=_profile_charts(p, items[code]),
                    levels=levels.get(code, []),
                    sc766=by_agency_766.get(code),
                    scorecard_766=SCORECARD_766_PAGE,
                    static=f"../../{STATIC}",
                    above_file=page_file(p["agency_above_code"]) if p["agency_above_code"] else None,
                    data_docs=docs,
                    **common,
                ),
            )
    for stale in (year_dir / PROFILE_DIR).glob("*.html"):  # an agency no longer ranked that year
        if stale.name not in keep:
            stale.unlink()
    return index


def write_unranked_page(
    con: duckdb.DuckDBPyConnection,
    year: int,
    out_dir: Path,
    *,
    data_docs: Path | None = None,
    now: datetime | None = None,
) -> tuple[Path, list[Path]]:
    """A year the marts know but without any ranked agency: its page says so, and what an earlier run published
    for it (profiles, workbook) is withdrawn, so no outdated ranking stays next to it. Returns the page and the
    files removed."""
    env = _environment()
    install_static(out_dir)
    year_dir = out_dir / str(year)
    year_dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(year_dir, year_dir / PROFILE_DIR)
    page = env.get_template("unranked.html").render(
        year=year,
        charts={},
        caveats=quality_summary(con, year),
        static=f"../{STATIC}",
        data_docs=_docs_link(data_docs, year_dir),
        **_page_globals(con, provisional(con, year, now)),
    )
    index = write_text_atomic(year_dir / "index.html", page)
    withdrawn = [*sorted((year_dir / PROFILE_DIR).glob("*.html")), *sorted(year_dir.glob(f"xep_hang_{year}.xlsx"))]
    for path in withdrawn:
        path.unlink()
    return index, withdrawn


def write_report_index(
    out_dir: Path, con: duckdb.DuckDBPyConnection | None = None, now: datetime | None = None
) -> Path:
    """reports/index.html: links to every year that has a report; with the marts connection, each year also says
    whether it is provisional or has no ranking."""
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(out_dir)
    years = sorted(
        (int(p.name) for p in out_dir.iterdir() if p.name.isdigit() and (p / "index.html").exists()), reverse=True
    )
    workbooks = {y: sorted(p.name for p in (out_dir / str(y)).glob("*.xlsx")) for y in years}
    notes: dict[int, str] = {}
    if con is not None:
        ranked = ranked_years(con)
        for y in years:
            if y not in ranked:
                notes[y] = "chưa có xếp hạng"
            elif provisional(con, y, now):
                notes[y] = "số liệu tạm tính"
    install_static(out_dir)
    return write_text_atomic(
        out_dir / "index.html",
        _environment().get_template("index.html").render(years=years, workbooks=workbooks, notes=notes, static=STATIC),
    )
