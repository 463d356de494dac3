"""Rank uncertainty and sensitivity (assets/scoring/uncertainty.py, issue 14) on hand-made cases whose answers are
known without running the code: a unit better than every other on every indicator is 1st in every run, one worse
on every indicator last; identical units share their statistics; fixed weights reproduce the published ranking;
the seed reproduces the runs; only the criterion that separates the units has a Sobol index; the reports show
the intervals of the marts.

Small rubrics are written into each test's own folder and scored in an in-memory warehouse (`db`, built like
tests/test_scoring.py's `con`); the reports are those the session's sample province published (tests/conftest.py:
`province`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from itertools import takewhile
from pathlib import Path

import duckdb
import numpy as np
import openpyxl
import pytest
import yaml
from conftest import create_tables
from test_reports import tables
from test_scoring import agency

from assets.reports.workbook import write_ranking_workbook
from assets.scoring.score import score_years
from assets.scoring.uncertainty import analyse_years, competition_ranks, rescaled, rounded_units
from pipelines.core.registry.reading import RubricError
from pipelines.core.registry.rubrics import load_rubric
from pipelines.core.warehouse import connect

YEAR = 2024
# Every scoring method once: criterion `a` holds two items, `b` three (maximum 10).
CRITERIA = [
    {
        "code": "a",
        "name_vi": "Tiêu chí A",
        "max_points": 6,
        "indicators": [
            {"code": "edoc_ratio", "points": 3, "target": 0.9},
            {"code": "esign_ratio", "points": 3, "method": "goalposts", "worst": 0, "best": 1},
        ],
    },
    {
        "code": "b",
        "name_vi": "Tiêu chí B",
        "max_points": 4,
        "indicators": [
            {"code": "official_email_ratio", "points": 1.5, "method": "fraction_of_max"},
            {"code": "svc_online_ratio", "points": 1.5, "method": "minmax"},
            {"code": "has_lan", "points": 1, "method": "steps", "steps": [{"min": 0.5, "share": 1}]},
        ],
    },
]
CLASSES = [{"label": "Đạt", "min": 5}, {"label": "Chưa đạt", "min": 0}]
INDICATORS = ["edoc_ratio", "esign_ratio", "official_email_ratio", "svc_online_ratio", "has_lan"]
MOVE_EVERYTHING = {
    "weights": 0.25,
    "targets": 0.2,
    "methods": {
        "edoc_ratio": [
            "fraction_of_max",
            "minmax",
            {"method": "steps", "steps": [{"min": 0.3, "share": 0.5}, {"min": 0.8, "share": 1}]},
        ],
        "esign_ratio": [{"method": "target", "target": 0.8}],
    },
}


def rubric_dir(tmp_path: Path, uncertainty: dict | None = None, criteria: list | None = None) -> Path:
    folder = tmp_path / "rubrics"
    folder.mkdir(exist_ok=True)
    body = {
        "year": 2016,
        "title": "Bộ chỉ số thử",
        "maximum": 10,
        "classification": CLASSES,
        "criteria": criteria or CRITERIA,
    }
    if uncertainty is not None:
        body["uncertainty"] = uncertainty
    (folder / "2016.yaml").write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return folder


@pytest.fixture
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    db = connect(":memory:")  # the warehouse's staging tables and the agency_years view
    create_tables(db, "indicators")
    yield db
    db.close()


def unit(db, code: str, **values: float) -> None:
    """A department with these indicator values (an indicator not given has no row: NULL, 0 points)."""
    agency(db, code)
    db.executemany(
        "INSERT INTO indicator_values VALUES (?, ?, ?, NULL, NULL, ?, 'computed')",
        [[YEAR, code, k, v] for k, v in values.items()],
    )


def five_units(db) -> None:
    """BEST tops every indicator, WORST is below every other unit on every one; M1 and M2 trade the two items of
    criterion `a` against each other; M3 is M2 again."""
    unit(db, "BEST", edoc_ratio=1.0, esign_ratio=1.0, official_email_ratio=1.0, svc_online_ratio=1.0, has_lan=1)
    unit(db, "M1", edoc_ratio=0.9, esign_ratio=0.3, official_email_ratio=0.6, svc_online_ratio=0.5, has_lan=1)
    unit(db, "M2", edoc_ratio=0.3, esign_ratio=0.9, official_email_ratio=0.6, svc_online_ratio=0.5, has_lan=1)
    unit(db, "M3", edoc_ratio=0.3, esign_ratio=0.9, official_email_ratio=0.6, svc_online_ratio=0.5, has_lan=1)
    unit(db, "WORST", edoc_ratio=0.1, esign_ratio=0.1, official_email_ratio=0.2, svc_online_ratio=0.1, has_lan=0)


def analyse(db, folder: Path) -> None:
    score_years(db, [YEAR], folder)
    analyse_years(db, [YEAR], folder)


def stats(db) -> dict[str, tuple]:
    """agency → (nominal, mean, median, q05, q95, runs)."""
    return {
        r[0]: r[1:]
        for r in db.execute(
            "SELECT agency_code, nominal_rank, mean_rank, median_rank, q05_rank, q95_rank, runs FROM rank_uncertainty "
            "WHERE year = ? AND agency_group = 'department'",
            [YEAR],
        ).fetchall()
    }


def probabilities(db) -> dict[tuple[str, str], float]:
    return {
        (a, c): p
        for a, c, p in db.execute(
            "SELECT agency_code, classification, probability FROM class_probability WHERE year = ?", [YEAR]
        ).fetchall()
    }


# --- the arithmetic, by hand ---------------------------------------------------------------------------------


def test_weights_are_rescaled_to_the_maximum():
    # 6 × 1.25 = 7.5 and 4 × 0.75 = 3 add up to 10.5; × 10 / 10.5 → 7.142857… and 2.857142…
    got = rescaled(np.array([6.0, 4.0]), np.array([[1.25, 0.75], [1.0, 1.0]]))
    assert got[0] == pytest.approx([75 / 10.5, 30 / 10.5]) and got[1] == pytest.approx([6.0, 4.0])


def test_rounding_and_competition_ranks_are_the_published_ones():
    # half away from zero to the decimals, after the total's 9 decimals: 79.995 → 80.00, −0.005 → −0.01
    assert rounded_units(np.array([79.995, 79.994999, -0.005, 0.1 + 0.2]), 2).tolist() == [8000, 7999, -1, 30]
    assert rounded_units(np.array([1.2345]), 3).tolist() == [1235]
    assert competition_ranks(np.array([[3, 5, 5, 1], [1, 1, 1, 1]])).tolist() == [[3, 1, 1, 4], [1, 1, 1, 1]]


# --- the settings ---------------------------------------------------------------------------------------------


def test_defaults_when_a_rubric_has_no_uncertainty_section(tmp_path: Path):
    spec = load_rubric(rubric_dir(tmp_path) / "2016.yaml").uncertainty
    assert (spec.runs, spec.weights, spec.targets, spec.methods) == (1000, 0.25, 0.0, {})
    assert isinstance(spec.seed, int)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"weigths": 0.2}, "uncertainty: unknown key(s) ['weigths'] (did you mean 'weights'?)"),
        ({"weights": 1.5}, "uncertainty: weights must be a share from 0 up to (not including) 1, got 1.5"),
        ({"runs": 3}, "uncertainty: runs must be between 10 and 100000, got 3"),
        (
            {"methods": {"edoc_ratio": ["minmax", {"method": "goalposts", "worst": 1}]}},
            "uncertainty, methods, edoc_ratio[2]: method 'goalposts' needs best",
        ),
        ({"methods": {"has_it_plan": ["minmax"]}}, "uncertainty.methods.has_it_plan: not an indicator scored"),
    ],
)
def test_a_bad_section_names_the_place(tmp_path: Path, section: dict, message: str):
    with pytest.raises(RubricError, match=re.escape(message)):
        load_rubric(rubric_dir(tmp_path, section) / "2016.yaml")


# --- dominance, ties, fixed weights --------------------------------------------------------------------------


def test_dominance_and_identical_units_whatever_moves(db, tmp_path: Path):
    five_units(db)
    analyse(db, rubric_dir(tmp_path, MOVE_EVERYTHING))
    got = stats(db)
    assert got["BEST"] == (1, 1.0, 1, 1, 1, 1000)
    assert got["WORST"] == (5, 5.0, 5, 5, 5, 1000)
    assert got["M2"] == got["M3"]
    # M1 and M2 trade places as the weights of criterion a's two items move: each is 2nd in some run, 3rd in others
    assert got["M1"][3:5] == (2, 4) and got["M2"][3:5] == (2, 3)
    p = probabilities(db)
    assert (p["BEST", "Đạt"], p["BEST", "Chưa đạt"]) == (1.0, 0.0)  # 10 of 10 points in every run
    assert (p["WORST", "Đạt"], p["WORST", "Chưa đạt"]) == (0.0, 1.0)
    assert p["M2", "Đạt"] == p["M3", "Đạt"]


def test_class_probabilities_add_up_to_one_and_nominal_ranks_are_the_ranking(db, tmp_path: Path):
    five_units(db)
    analyse(db, rubric_dir(tmp_path, MOVE_EVERYTHING))
    sums = db.execute("SELECT agency_code, sum(probability), count(*) FROM class_probability GROUP BY ALL").fetchall()
    assert len(sums) == 5 and all(s == pytest.approx(1.0) and n == 2 for _, s, n in sums)
    mismatched = db.execute(
        "SELECT count(*) FROM rank_uncertainty AS u JOIN rankings AS r "
        "USING (year, agency_group, agency_code) WHERE u.nominal_rank <> r.rank"
    ).fetchone()[0]
    assert mismatched == 0 and len(stats(db)) == 5


def test_fixed_weights_reproduce_the_published_ranking(db, tmp_path: Path):
    # 3 (edoc at target) + 3 × 0.5 + 1.5 × 1 / 1 (the best e-mail ratio) + 1.5 × (1 − 0) / (1 − 0) + 1 = 8.5
    unit(db, "A1", edoc_ratio=0.9, esign_ratio=0.5, official_email_ratio=1.0, svc_online_ratio=1.0, has_lan=1)
    unit(db, "A2", edoc_ratio=0.9, esign_ratio=0.5, official_email_ratio=1.0, svc_online_ratio=1.0, has_lan=1)
    # 3 × 0.4 / 0.9 = 1.333… + 3 × 0.665 = 1.995 + 0 + 0 + 1 = 4.328… → "Chưa đạt"
    unit(db, "A3", edoc_ratio=0.4, esign_ratio=0.665, official_email_ratio=0.0, svc_online_ratio=0.0, has_lan=1)
    # 0 + 3 × 0.665 = 1.995 + 1.5 + 1.5 × (0.5 − 0) / (1 − 0) = 0.75 + 1 = 5.245 → "Đạt"
    unit(db, "A4", edoc_ratio=0.0, esign_ratio=0.665, official_email_ratio=1.0, svc_online_ratio=0.5, has_lan=1)
    analyse(db, rubric_dir(tmp_path, {"weights": 0}))
    published = dict(db.execute("SELECT agency_code, rank FROM rankings").fetchall())
    assert published == {"A1": 1, "A2": 1, "A3": 4, "A4": 3}
    for code, (nominal, mean, median, q05, q95, runs) in stats(db).items():
        assert (nominal, mean, median, q05, q95, runs) == (
            published[code],
            published[code],
            published[code],
            published[code],
            published[code],
            1000,
        )
    p = probabilities(db)
    assert set(p.values()) <= {0.0, 1.0}
    assert (p["A3", "Chưa đạt"], p["A4", "Đạt"], p["A1", "Đạt"]) == (1.0, 1.0, 1.0)
    sensitivity = db.execute(
        "SELECT criterion_code, first_order, total_order, runs FROM rank_sensitivity ORDER BY criterion_code"
    ).fetchall()
    assert sensitivity == [("a", None, None, 0), ("b", None, None, 0)]  # nothing moves: nothing to share out


def test_a_total_on_the_rounding_boundary_is_classified_like_the_published_one(db, tmp_path: Path):
    # 3 (edoc at target) + 3 × 0.665 = 1.995, and 0 for the rest (minmax: the group's lowest) = 4.995 → 5.00
    # → "Đạt", never 4.99 → "Chưa đạt"
    unit(db, "EDGE", edoc_ratio=0.9, esign_ratio=0.665, official_email_ratio=0.0, svc_online_ratio=0.0, has_lan=0)
    unit(db, "TOP", edoc_ratio=0.9, esign_ratio=1.0, official_email_ratio=1.0, svc_online_ratio=1.0, has_lan=1)
    analyse(db, rubric_dir(tmp_path, {"weights": 0}))
    assert db.execute("SELECT total_points, classification FROM rankings WHERE agency_code = 'EDGE'").fetchone() == (
        5.0,
        "Đạt",
    )
    assert probabilities(db)["EDGE", "Đạt"] == 1.0


# --- the seed ---------------------------------------------------------------------------------------------------


def test_same_seed_same_runs_another_seed_other_runs_same_dominance(db, tmp_path: Path):
    five_units(db)
    folder = rubric_dir(tmp_path, {**MOVE_EVERYTHING, "seed": 7})
    analyse(db, folder)
    first = (stats(db), probabilities(db))
    analyse_years(db, [YEAR], folder)
    assert (stats(db), probabilities(db)) == first
    analyse(db, rubric_dir(tmp_path, {**MOVE_EVERYTHING, "seed": 8}))
    other = stats(db)
    assert other["M1"][1] != first[0]["M1"][1]  # the mean rank of a unit that moves: other draws
    assert other["BEST"] == first[0]["BEST"] == (1, 1.0, 1, 1, 1, 1000)
    assert other["WORST"] == first[0]["WORST"] == (5, 5.0, 5, 5, 5, 1000)


# --- sensitivity --------------------------------------------------------------------------------------------------


def test_only_the_criterion_that_separates_the_units_drives_their_ranks(db, tmp_path: Path):
    # Criterion b is the same for every unit, so its weights only rescale: no rank moves with them. The units
    # trade the two items of criterion a, so the ranks move with a's weights alone.
    for code, edoc, esign in [("U1", 0.9, 0.4), ("U2", 0.4, 0.9), ("U3", 0.7, 0.6), ("U4", 0.55, 0.75)]:
        unit(db, code, edoc_ratio=edoc, esign_ratio=esign, official_email_ratio=0.5, svc_online_ratio=0.5, has_lan=1)
    analyse(db, rubric_dir(tmp_path))
    got = {
        c: (f, t, n)
        for c, f, t, n in db.execute(
            "SELECT criterion_code, first_order, total_order, runs FROM rank_sensitivity"
        ).fetchall()
    }
    assert got["a"][1] > 0.8 and got["a"][0] > 0.8
    assert got["b"][1] == pytest.approx(0, abs=0.02) and got["b"][0] == pytest.approx(0, abs=0.02)
    # 1000 runs → 1024 base samples (a power of two) × (2 criteria + 2)
    assert got["a"][2] == got["b"][2] == 1024 * 4


# --- memory: the runs in chunks -----------------------------------------------------------------------------------


def tables_of(db) -> dict[str, list[tuple]]:
    """Every row of the three tables, in a fixed order."""
    return {
        t: db.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        for t in ("rank_uncertainty", "class_probability", "rank_sensitivity")
    }


@pytest.mark.parametrize(
    ("section", "memory"),
    [
        # chunks of 15 runs, 75,000 / (5 units × 160 + 5 items × (64 + 600 + 5 × 32)) bytes, the last one short
        # (100 = 6 × 15 + 10), each with its own target configurations; the design 32 of its 128 base samples at a time
        (MOVE_EVERYTHING, 150_000),
        # 800 bytes: every run and every design row on its own; the ranks first counted in 2 bands of 3 (half the
        # memory for the counts, half of that for the bands: 200 bytes // (16 × 5 units)), then within each
        # quantile's band, one unit at a time
        ({"weights": 0.25, "methods": MOVE_EVERYTHING["methods"]}, 800),
        # 1 byte: the same, in one band of all 6 ranks
        ({"weights": 0.25, "methods": MOVE_EVERYTHING["methods"]}, 1),
    ],
)
def test_runs_in_chunks_give_the_rows_of_one_chunk(db, tmp_path: Path, section: dict, memory: int):
    five_units(db)
    folder = rubric_dir(tmp_path, {**section, "runs": 100})
    score_years(db, [YEAR], folder)
    analyse_years(db, [YEAR], folder, memory=1e12)  # all at once
    whole = tables_of(db)
    analyse_years(db, [YEAR], folder, memory=memory)
    assert tables_of(db) == whole
    assert len(whole["rank_uncertainty"]) == 5 and {r[-1] for r in whole["rank_uncertainty"]} == {100}


# The rank uncertainty of 200 units over 100,000 runs (the most a rubric allows), in a process of its own: its peak
# resident memory, the warehouse's default memory limit (900 MB) in force. All runs at once took 6.0 GB (issue 24).
MANY_UNITS = """
import json, sys
from pathlib import Path
import numpy as np
from conftest import create_tables
from assets.scoring.score import score_years
from assets.scoring.uncertainty import analyse_years
from pipelines.core.warehouse import connect

def peak_kb():  # this process's own high-water mark (ru_maxrss also keeps the parent's, copied by the fork)
    return int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))

folder, units = Path(sys.argv[1]), int(sys.argv[2])
db = connect(":memory:")
create_tables(db, "indicators")
db.executemany("INSERT INTO stg_agencies (agency_code, agency_name, agency_group) VALUES (?, ?, 'department')",
               [[f"U{i:04d}", f"Cơ quan {i}"] for i in range(units)])
values = np.random.default_rng(1).random((units, len(sys.argv[3:])))
db.executemany("INSERT INTO indicator_values VALUES (2024, ?, ?, NULL, NULL, ?, 'computed')",
               [[f"U{i:04d}", code, float(values[i, k])] for i in range(units) for k, code in enumerate(sys.argv[3:])])
score_years(db, [2024], folder)
before = peak_kb()
analyse_years(db, [2024], folder)
rows = db.execute("SELECT count(*), min(runs) FROM rank_uncertainty").fetchone()
print(json.dumps({"before_kb": before, "peak_kb": peak_kb(), "rows": rows}))
"""


@pytest.mark.slow  # tens of seconds: 100,000 runs and 4 × 131,072 design rows of 200 units
def test_100000_runs_of_200_units_stay_within_the_memory_limit(tmp_path: Path):
    project = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project / "tests"), str(project)])}
    env.pop("EGOV_DUCKDB_MEMORY_LIMIT", None)
    done = subprocess.run(
        [sys.executable, "-c", MANY_UNITS, str(rubric_dir(tmp_path, {"runs": 100_000})), "200", *INDICATORS],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=project,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["rows"] == [200, 100_000]
    assert got["peak_kb"] < 1.5 * 2**20, f"peak {got['peak_kb'] / 2**10:.0f} MB"


# --- the Dagster step, on a warehouse file ---------------------------------------------------------------------


@pytest.mark.slow
def test_the_step_writes_its_tables_in_a_dagster_run(data_dir: Path):
    import dagster as dg

    from pipelines.core.settings import warehouse_path
    from pipelines.defs.resources import build_resources
    from pipelines.defs.scoring import rank_uncertainty, scores

    rubrics = rubric_dir(data_dir)  # $EGOV_DATA_DIR/rubrics: the deployment's own folder (docs/rubrics.md §1)
    assert rubrics == data_dir / "rubrics"
    db = connect(warehouse_path(data_dir))
    create_tables(db, "indicators")
    five_units(db)
    # a record of the year in a yearly source: a year without any is not ranked (assets/scoring/score.py)
    db.execute(
        "INSERT INTO stg_assessments (year, agency_code, indicator_code, value) VALUES (?, 'BEST', 'has_lan', 1)",
        [YEAR],
    )
    db.close()
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [scores, rank_uncertainty], partition_key=str(YEAR), instance=instance, resources=build_resources(data_dir)
        )
    rows = {
        m.asset_key.path[-1]: m.metadata["row_count"].value
        for m in result.asset_materializations_for_node("rank_uncertainty")
    }
    assert rows == {"rank_uncertainty": 5, "class_probability": 5 * 2, "rank_sensitivity": 2}
    db = duckdb.connect(str(warehouse_path(data_dir)), read_only=True)
    try:
        assert stats(db)["BEST"] == (1, 1.0, 1, 1, 1, 1000) and stats(db)["WORST"] == (5, 5.0, 5, 5, 5, 1000)
    finally:
        db.close()


# --- the province: marts and reports ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def marts(province: Path):
    db = duckdb.connect(str(province / "marts" / "egov.duckdb"), read_only=True)
    yield db
    db.close()


def interval(q05: int, q95: int) -> str:
    """The 90 % interval as the reports print it: "7–12", or one rank when both ends agree."""
    return str(q05) if q05 == q95 else f"{q05}–{q95}"


def test_the_marts_hold_every_ranked_unit_of_every_year(marts):
    missing = marts.execute("""
        SELECT count(*) FROM rankings AS r LEFT JOIN rank_uncertainty AS u USING (year, agency_group, agency_code)
        WHERE u.nominal_rank IS DISTINCT FROM r.rank""").fetchone()[0]
    assert missing == 0 and marts.execute("SELECT count(*) FROM rank_uncertainty").fetchone()[0] > 100
    bad = marts.execute("""SELECT count(*) FROM (SELECT year, agency_code, sum(probability) AS s FROM
        class_probability GROUP BY ALL) WHERE abs(s - 1) > 1e-9""").fetchone()[0]
    assert bad == 0
    ordered = marts.execute(
        "SELECT count(*) FROM rank_uncertainty WHERE NOT (q05_rank <= median_rank "
        "AND median_rank <= q95_rank AND runs = 1000)"
    ).fetchone()[0]
    assert ordered == 0
    criteria = marts.execute(
        "SELECT count(*) FROM rank_sensitivity AS s JOIN (SELECT DISTINCT year, agency_group, "
        "criterion_code FROM rubric_items) USING (year, agency_group, criterion_code)"
    ).fetchone()
    assert criteria[0] == marts.execute("SELECT count(*) FROM rank_sensitivity").fetchone()[0] > 0


def test_the_year_page_shows_each_units_interval(province: Path, marts):
    page = province / "marts" / "reports" / "2024" / "index.html"
    expected = {
        (g, a): interval(q05, q95)
        for g, a, q05, q95 in marts.execute(
            "SELECT agency_group, agency_code, q05_rank, q95_rank FROM rank_uncertainty WHERE year = 2024"
        ).fetchall()
    }
    rows = [(t, r, cells) for t, r, cells in tables(page) if t.get("class") == "ranking"]
    col = {t["data-group"]: cells.index("Khoảng xếp hạng (90%)") for t, r, cells in rows if not r}  # per table:
    shown = {
        (t["data-group"], r["data-agency"]): cells[col[t["data-group"]]]  # districts have one more criterion
        for t, r, cells in rows
        if "data-agency" in r
    }
    assert shown == expected
    charts = json.loads(
        re.search(
            r'<script type="application/json" id="chart-data">(.*?)</script>', page.read_text(encoding="utf-8"), re.S
        ).group(1)
    )
    chart = charts["interval_department"]["data"][0]
    lows = marts.execute(
        "SELECT a.agency_name, u.q05_rank, u.median_rank, u.q95_rank FROM rank_uncertainty AS u "
        "JOIN agencies AS a USING (agency_code) WHERE u.year = 2024 AND u.agency_group = "
        "'department'"
    ).fetchall()
    drawn = {
        name: (m - minus, m, m + plus)
        for name, m, minus, plus in zip(
            chart["y"], chart["x"], chart["error_x"]["arrayminus"], chart["error_x"]["array"], strict=True
        )
    }
    assert drawn == {name: (q05, median, q95) for name, q05, median, q95 in lows}


def test_an_agency_page_says_how_robust_its_rank_and_class_are(province: Path, marts):
    code, rank, q05, q95, cls, p = marts.execute("""
        SELECT u.agency_code, u.nominal_rank, u.q05_rank, u.q95_rank, r.classification, c.probability
        FROM rank_uncertainty AS u JOIN rankings AS r USING (year, agency_group, agency_code)
        JOIN class_probability AS c ON c.year = u.year AND c.agency_code = u.agency_code
                                   AND c.classification = r.classification
        WHERE u.year = 2024 AND u.q05_rank < u.q95_rank ORDER BY u.agency_code LIMIT 1""").fetchone()
    text = " ".join(
        (province / "marts" / "reports" / "2024" / "co-quan" / f"{code}.html").read_text(encoding="utf-8").split()
    )
    assert (
        f"Xếp hạng {rank}, trong khoảng {q05}–{q95} khi trọng số thay đổi ±25%; "
        f"{round(p * 100)}% khả năng giữ loại {cls}."
    ) in text


def test_the_workbook_shows_the_intervals_and_what_drives_the_ranking(marts, tmp_path: Path):
    book = openpyxl.load_workbook(write_ranking_workbook(marts, 2024, tmp_path))
    ws = book["Sở ban ngành"]
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    heads = list(rows[0])
    col, code = heads.index("Khoảng xếp hạng (90%)"), heads.index("Mã cơ quan")
    expected = {
        a: interval(q05, q95)
        for a, q05, q95 in marts.execute(
            "SELECT agency_code, q05_rank, q95_rank FROM rank_uncertainty WHERE year = 2024 AND agency_group = "
            "'department'"
        ).fetchall()
    }
    data = takewhile(lambda r: r[0] is not None, rows[1:])  # up to the first empty row: then come the notes
    shown = {r[code]: r[col] for r in data}
    assert shown == expected
    top = marts.execute("""SELECT any_value(r.criterion_name) FROM rank_sensitivity AS s JOIN rubric_items AS r
        USING (year, agency_group, criterion_code) WHERE s.year = 2024 AND s.agency_group = 'department'
        GROUP BY s.criterion_code, s.total_order ORDER BY s.total_order DESC LIMIT 1""").fetchone()[0]
    method = [c for row in book["Phương pháp"].iter_rows(values_only=True) for c in row if isinstance(c, str)]
    line = next(c for c in method if c.startswith("Sở, ban, ngành: tiêu chí ảnh hưởng nhiều nhất"))
    assert line.startswith(f"Sở, ban, ngành: tiêu chí ảnh hưởng nhiều nhất đến xếp hạng: {top} (")
