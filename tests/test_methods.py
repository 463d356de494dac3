"""Scoring methods by name (pipelines/core/methods.py): each method's forward formula and inverse on hand-computed
cases, through the real scoring SQL (the group's minimum and maximum included), rubric decimals, and the what-if
for every method: an agency given the value the what-if asks gains exactly the points it claims.

Hand computations are in the comments; numbers in the assertions are typed out, not recomputed."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml
from test_scoring import agency, con  # noqa: F401  (con is the fixture)

from assets.profiles.profiles import build_profiles
from assets.scoring.score import score_years
from expectations.sql_checks import run_sql_checks
from pipelines.core import methods
from pipelines.core.registry.reading import RubricError
from pipelines.core.registry.rubrics import load_rubric

STEPS = [{"min": 0.5, "share": 0.5}, {"min": 0.8, "share": 1.0}]


# --- the macros, one value at a time ------------------------------------------------------------------------


@pytest.fixture
def sql() -> duckdb.DuckDBPyConnection:
    db = duckdb.connect()
    methods.install(db)
    return db


def share(
    db, method: str, value: float | None, params: dict, g_min: float | None = None, g_max: float | None = None
) -> float:
    """The forward formula: share of the item's points earned by `value` (g_min/g_max: the group's, this unit in)."""
    return db.execute(
        "SELECT method_share(?, ?::DOUBLE, method_params(?), ?::DOUBLE, ?::DOUBLE)",
        [method, value, methods.params_json(methods.parse_params(method, params)), g_min, g_max],
    ).fetchone()[0]


def inverse(
    db, method: str, want: float, out_of: float, params: dict, o_min: float | None = None, o_max: float | None = None
) -> float | None:
    """The inverse: the value that earns `want` of `out_of` points (o_min/o_max: the OTHER units')."""
    return db.execute(
        "SELECT method_value(?, ?::DECIMAL(38, 9), ?::DECIMAL(38, 9), method_params(?), ?::DOUBLE, ?::DOUBLE)",
        [method, want, out_of, methods.params_json(methods.parse_params(method, params)), o_min, o_max],
    ).fetchone()[0]


def test_target_forward_and_inverse(sql):
    t = {"target": 0.9}
    assert share(sql, "target", 0.45, t) == 0.5  # 0.45 / 0.9
    assert share(sql, "target", 1.2, t) == 1.0  # above the target: full points
    assert share(sql, "target", -0.5, t) == 0.0  # clamped
    assert share(sql, "target", None, t) == 0.0  # NULL earns 0
    assert share(sql, "target", float("nan"), t) == 0.0  # so does NaN
    assert share(sql, "target", 0.5, {}) == 0.5  # target defaults to 1
    assert inverse(sql, "target", 4, 8, t) == 0.45  # 4 of 8 points: 0.9 × 4 / 8
    assert inverse(sql, "target", 8, 8, t) == 0.9


def test_goalposts_lower_and_higher_is_better(sql):
    days = {"worst": 30, "best": 5}  # average processing days: lower is better
    assert share(sql, "goalposts", 10, days) == 0.8  # (10 - 30) / (5 - 30) = -20 / -25
    assert share(sql, "goalposts", 17.5, days) == 0.5
    assert share(sql, "goalposts", 40, days) == 0.0  # worse than worst
    assert share(sql, "goalposts", 3, days) == 1.0  # better than best
    assert share(sql, "goalposts", None, days) == 0.0
    assert inverse(sql, "goalposts", 1, 2, days) == 17.5  # 30 + (5 - 30) × 1/2
    assert inverse(sql, "goalposts", 4, 4, days) == 5.0
    assert inverse(sql, "goalposts", 1, 5, days) == 25.0  # 30 - 25 × 0.2
    ratio = {"worst": 0.2, "best": 0.8}  # higher is better, 0 points up to 0.2
    assert share(sql, "goalposts", 0.5, ratio) == pytest.approx(0.5)  # 0.3 / 0.6
    assert share(sql, "goalposts", 0.1, ratio) == 0.0
    assert inverse(sql, "goalposts", 1, 4, ratio) == 0.35  # 0.2 + 0.6 / 4
    higher = sql.execute(
        "SELECT method_higher_is_better('goalposts', method_params(?)), "
        "method_higher_is_better('goalposts', method_params(?))",
        [methods.params_json(days), methods.params_json(ratio)],
    ).fetchone()
    assert higher == (False, True)


def test_fraction_of_max_forward_and_inverse(sql):
    assert share(sql, "fraction_of_max", 25, {}, 25, 100) == 0.25  # 25 / 100
    assert share(sql, "fraction_of_max", 100, {}, 25, 100) == 1.0
    assert share(sql, "fraction_of_max", 0, {}, 0, 0) == 0.0  # the group's max is 0: nobody earns
    assert share(sql, "fraction_of_max", -1, {}, -3, -1) == 0.0  # a max below 0 neither
    assert share(sql, "fraction_of_max", 7, {}, 7, 7) == 1.0  # a single unit with a value
    assert share(sql, "fraction_of_max", None, {}, 25, 100) == 0.0
    assert inverse(sql, "fraction_of_max", 3, 4, {}, 25, 100) == 75.0  # 3/4 of the others' best, 100
    assert inverse(sql, "fraction_of_max", 1, 1, {}, 0, 0) is None  # nobody above 0: any positive value
    assert inverse(sql, "fraction_of_max", 1, 1, {}) is None  # alone: any positive value


def test_minmax_forward_and_inverse(sql):
    assert share(sql, "minmax", 0.2, {}, 0.2, 0.8) == 0.0
    assert share(sql, "minmax", 0.5, {}, 0.2, 0.8) == pytest.approx(0.5)  # 0.3 / 0.6
    assert share(sql, "minmax", 0.8, {}, 0.2, 0.8) == 1.0
    assert share(sql, "minmax", 0.6, {}, 0.6, 0.6) == 1.0  # max = min: every unit with a value earns all
    assert share(sql, "minmax", 0.3, {}, 0.3, 0.3) == 1.0  # so does a single unit
    assert share(sql, "minmax", None, {}, 0.2, 0.8) == 0.0  # but not a unit without a value
    assert inverse(sql, "minmax", 1, 2, {}, 0.5, 0.8) == pytest.approx(0.65)  # 0.5 + 0.3 / 2
    assert inverse(sql, "minmax", 1, 2, {}, 0.6, 0.6) == 0.6  # the others all equal: their value earns all
    assert inverse(sql, "minmax", 1, 2, {}) is None  # alone: any value


def test_steps_forward_and_inverse(sql):
    s = {"steps": STEPS}
    assert [share(sql, "steps", v, s) for v in (0.49, 0.5, 0.79, 0.8, 1.5, None)] == [0, 0.5, 0.5, 1, 1, 0]
    assert inverse(sql, "steps", 3, 10, s) == 0.5  # 0.3 of the points: the first step that earns at least it
    assert inverse(sql, "steps", 1, 2, s) == 0.5
    assert inverse(sql, "steps", 6, 10, s) == 0.8
    assert inverse(sql, "steps", 7, 7, s) == 0.8
    # a share that is a binary fraction (2.1 / 3 = 0.7000000000000001) still finds the step earning exactly 0.7
    assert inverse(sql, "steps", 2.1, 3, {"steps": [{"min": 0.5, "share": 0.7}, {"min": 0.8, "share": 1}]}) == 0.5


def test_macros_installed_without_transforms_score_alike_and_refuse_a_transformed_item():
    """A rubric without `transform:` (the provincial one) gets the macros without the log cases, which plan several
    times faster: an untransformed item scores exactly as under the full set, and one under `log` is an error, never
    scored as if untransformed."""
    plain, full = duckdb.connect(), duckdb.connect()
    methods.install(plain, ())
    methods.install(full)
    posts = methods.params_json({"worst": 10, "best": 1000})
    forward = "SELECT method_share('goalposts', method_transform(?, 100::DOUBLE), method_params_for(?, ?), NULL, NULL)"
    inverse = "SELECT method_untransform(?, method_value('goalposts', 1, 2, method_params_for(?, ?), NULL, NULL))"
    for db in (plain, full):
        assert db.execute(forward, [None, posts, None]).fetchone()[0] == pytest.approx(1 / 11)  # (100-10) / 990
        assert db.execute(inverse, [None, posts, None]).fetchone()[0] == pytest.approx(505)  # 10 + 990 / 2
    # under log: (ln 100 - ln 10) / (ln 1000 - ln 10) = 1 / 2, and half the points at exp((ln 10 + ln 1000) / 2)
    assert full.execute(forward, ["log", posts, "log"]).fetchone()[0] == pytest.approx(0.5)
    assert full.execute(inverse, ["log", posts, "log"]).fetchone()[0] == pytest.approx(100)
    for sql_text in (forward, inverse):
        with pytest.raises(duckdb.InvalidInputException, match="installed without transforms.*log"):
            plain.execute(sql_text, ["log", posts, "log"]).fetchone()
    with pytest.raises(methods.MethodError, match="unknown transform"):
        methods.install(plain, ["sqrt"])


@pytest.mark.parametrize(
    ("method", "params", "others"),
    [
        ("target", {"target": 0.9}, (None, None)),
        ("target", {"target": 2.5}, (None, None)),
        ("goalposts", {"worst": 30, "best": 5}, (None, None)),
        ("goalposts", {"worst": 0.2, "best": 0.8}, (None, None)),
        ("fraction_of_max", {}, (10.0, 80.0)),
        ("minmax", {}, (0.2, 0.9)),
        ("steps", {"steps": STEPS}, (None, None)),
    ],
)
@pytest.mark.parametrize("wanted", [0.1, 0.25, 0.5, 0.75, 1.0])
def test_inverse_of_a_share_lands_on_its_threshold(sql, method, params, others, wanted):
    """The value the inverse gives earns the share asked, and a value a little worse earns less: it is the
    threshold, not just some value that suffices (steps: the step's minimum)."""
    o_min, o_max = others
    value = inverse(sql, method, wanted * 8, 8, params, o_min, o_max)
    higher = sql.execute(
        "SELECT method_higher_is_better(?, method_params(?))",
        [method, methods.params_json(methods.parse_params(method, params))],
    ).fetchone()[0]

    def with_value(v: float) -> float:  # the group's min and max once this unit has value v
        return share(
            sql, method, v, params, None if o_min is None else min(o_min, v), None if o_max is None else max(o_max, v)
        )

    if method == "steps":  # a step earns its own share, at least the one wanted
        assert with_value(value) >= wanted
    else:
        assert with_value(value) == pytest.approx(wanted, abs=1e-12)
    assert with_value(value - 1e-6 if higher else value + 1e-6) < wanted - 1e-12


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"method": "goalpost", "worst": 30, "best": 5}, "unknown scoring method 'goalpost'"),
        ({"method": "goalposts", "worst": 30}, "method 'goalposts' needs best"),
        ({"method": "goalposts", "worst": 5, "best": 5}, "worst and best must differ"),
        ({"method": "goalposts", "worst": 30, "best": 5, "target": 1}, "target do(es) not apply to method 'goalposts'"),
        ({"method": "minmax", "best": 1}, "best do(es) not apply to method 'minmax' (its parameters: direction)"),
        ({"method": "steps", "steps": [{"min": 0.8, "share": 1}, {"min": 0.5, "share": 0.5}]}, "strictly increasing"),
        ({"method": "steps", "steps": [{"min": 0.5, "share": 0.5}]}, "the highest step must earn share 1"),
        ({"method": "steps", "steps": [{"min": 0.5, "share": 1}, {"min": 0.8, "share": 0.5}]}, "cannot earn a smaller"),
        ({"method": "steps", "steps": [{"min": 0.5, "points": 1}]}, "exactly the keys min and share"),
        ({"method": "steps", "steps": [{"min": 0.5, "share": 0}, {"min": 0.8, "share": 1}]}, "must lie in (0, 1]"),
        ({"target": 0}, "target must be positive, got 0"),
        ({"targte": 0.9}, "unknown key(s) ['targte']"),
    ],
)
def test_rubric_rejects_bad_methods_and_parameters(tmp_path: Path, item: dict, message: str):
    path = write_rubric(tmp_path, {"code": "edoc_ratio", "points": 60, **item})
    with pytest.raises(RubricError, match=f"2016.yaml: criterion 'x', indicator .*{_re(message)}"):
        load_rubric(path)


def test_rubric_decimals_and_method_names(tmp_path: Path):
    assert methods.METHOD_NAMES == ("target", "goalposts", "fraction_of_max", "minmax", "steps")
    rubric = load_rubric(write_rubric(tmp_path, {"code": "edoc_ratio", "points": 60, "method": "minmax"}, decimals=5))
    assert rubric.decimals == 5
    item = rubric.variants["department"].criteria[0].items[0]
    assert (item.method, item.params, item.target) == ("minmax", {}, None)
    assert load_rubric(write_rubric(tmp_path, {"code": "edoc_ratio", "points": 60})).decimals == 2
    for bad in (-1, 10, 2.5, True, "2"):
        with pytest.raises(RubricError, match=r"2016.yaml: decimals: must be (between 0 and 9|a whole number)"):
            load_rubric(write_rubric(tmp_path, {"code": "edoc_ratio", "points": 60}, decimals=bad))


# --- through the scoring SQL: the group's minimum and maximum ------------------------------------------------

ASSESSED = ["days", "bandwidth", "portal", "x_value"]


def _re(text: str) -> str:
    import re

    return re.escape(text)


def write_rubric(
    directory: Path, x_item: dict, *, decimals: int | bool | str | None = None, x_points: float = 60
) -> Path:
    """A rubric (2016, maximum 100) of two criteria: `x` (60 points, the item under test) and `rest` (has_lan,
    40 points, target 1); the standard classification."""
    data: dict = {
        "year": 2016,
        "title": "Thử phương pháp",
        "maximum": 100,
        "assessed_indicators": ASSESSED,
        "criteria": [
            {"code": "x", "name_vi": "Chỉ số thử", "max_points": x_points, "indicators": [x_item]},
            {
                "code": "rest",
                "name_vi": "Còn lại",
                "max_points": 100 - x_points,
                "indicators": [{"code": "has_lan", "points": 100 - x_points}],
            },
        ],
    }
    if decimals is not None:
        data["decimals"] = decimals
    path = directory / "2016.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def put_values(db, year: int, rows: dict[str, dict[str, float | None]]) -> None:
    """rows: agency → {indicator: value}; a None value is stored as NULL, a missing key as no row."""
    db.execute("DELETE FROM indicator_values WHERE year = ?", [year])
    db.executemany(
        "INSERT INTO indicator_values VALUES (?, ?, ?, NULL, NULL, ?, 'assessment')",
        [[year, code, ind, v] for code, values in rows.items() for ind, v in values.items()],
    )


def item_scores(db, indicator: str) -> dict[str, tuple]:
    return {
        a: (v, t, p)
        for a, v, t, p in db.execute(
            "SELECT agency_code, value, target, points FROM indicator_scores WHERE indicator_code = ? ORDER BY 1",
            [indicator],
        ).fetchall()
    }


def test_group_methods_use_the_units_of_the_same_group_and_year_with_a_value(con, tmp_path: Path):  # noqa: F811
    """fraction_of_max over departments D1..D4 (D4 no value) and one central agency alone; minmax with max = min."""
    for code in ("D1", "D2", "D3", "D4"):
        agency(con, code)
    agency(con, "C1", "central")
    write_rubric(tmp_path, {"code": "bandwidth", "points": 60, "method": "fraction_of_max"})
    put_values(
        con,
        2024,
        {
            "D1": {"bandwidth": 100},
            "D2": {"bandwidth": 50},
            "D3": {"bandwidth": 20},
            "D4": {"bandwidth": None},
            "C1": {"bandwidth": 5},
        },
    )
    score_years(con, [2024], tmp_path)
    assert item_scores(con, "bandwidth") == {
        "C1": (5.0, 5.0, 60.0),  # alone in its group: 5 / 5
        "D1": (100.0, 100.0, 60.0),  # target: the group's best value, 100
        "D2": (50.0, 100.0, 30.0),  # 60 × 50 / 100
        "D3": (20.0, 100.0, 12.0),  # 60 × 20 / 100
        "D4": (None, 100.0, 0.0),
    }  # no value: 0, and not part of the group's max
    assert con.execute("SELECT target FROM rubric_items WHERE indicator_code = 'bandwidth' LIMIT 1").fetchall() == [
        (None,)
    ]  # relative to the group: no fixed target

    write_rubric(tmp_path, {"code": "portal", "points": 60, "method": "minmax"})
    put_values(con, 2024, {"D1": {"portal": 0.6}, "D2": {"portal": 0.6}, "D3": {"portal": None}, "C1": {"portal": 0.2}})
    score_years(con, [2024], tmp_path)
    assert item_scores(con, "portal") == {
        "C1": (0.2, 0.2, 60.0),  # a single unit: max = min, full points
        "D1": (0.6, 0.6, 60.0),  # max = min = 0.6 among those with a value: all of them earn all
        "D2": (0.6, 0.6, 60.0),
        "D3": (None, 0.6, 0.0),
        "D4": (None, 0.6, 0.0),
    }


def test_minmax_spreads_the_group_and_goalposts_score_lower_days_higher(con, tmp_path: Path):  # noqa: F811
    for code in ("D1", "D2", "D3"):
        agency(con, code)
    write_rubric(tmp_path, {"code": "portal", "points": 60, "method": "minmax"})
    put_values(con, 2024, {"D1": {"portal": 0.9}, "D2": {"portal": 0.5}, "D3": {"portal": 0.1}})
    score_years(con, [2024], tmp_path)
    assert item_scores(con, "portal") == {"D1": (0.9, 0.9, 60.0), "D2": (0.5, 0.9, 30.0), "D3": (0.1, 0.9, 0.0)}

    write_rubric(tmp_path, {"code": "days", "points": 60, "method": "goalposts", "worst": 30, "best": 5})
    put_values(con, 2024, {"D1": {"days": 4}, "D2": {"days": 10}, "D3": {"days": 45}})
    score_years(con, [2024], tmp_path)
    # D2: 60 × (10 - 30) / (5 - 30) = 48; the target column is the best value, 5 days
    assert item_scores(con, "days") == {"D1": (4.0, 5.0, 60.0), "D2": (10.0, 5.0, 48.0), "D3": (45.0, 5.0, 0.0)}
    ranks = con.execute("SELECT agency_code, total_points, rank FROM rankings ORDER BY rank").fetchall()
    assert ranks == [("D1", 60.0, 1), ("D2", 48.0, 2), ("D3", 0.0, 3)]  # has_lan missing: 0 of 40

    write_rubric(tmp_path, {"code": "x_value", "points": 60, "method": "steps", "steps": STEPS})
    put_values(con, 2024, {"D1": {"x_value": 0.79}, "D2": {"x_value": 0.8}, "D3": {"x_value": 0.2}})
    score_years(con, [2024], tmp_path)
    assert item_scores(con, "x_value") == {"D1": (0.79, 0.8, 30.0), "D2": (0.8, 0.8, 60.0), "D3": (0.2, 0.8, 0.0)}
    assert con.execute(
        "SELECT method, CAST(params AS VARCHAR) FROM rubric_items WHERE indicator_code = 'x_value' LIMIT 1"
    ).fetchall() == [("steps", '{"steps": [{"min": 0.5, "share": 0.5}, {"min": 0.8, "share": 1.0}]}')]


def test_decimals_round_totals_for_class_and_rank(con, tmp_path: Path):  # noqa: F811
    """decimals: 5 keeps 2.31280 apart from 2.31279; with 2 they tie at 2.31. An index out of 3 points."""
    for code in ("D1", "D2"):
        agency(con, code)
    data = {
        "year": 2016,
        "title": "Trung bình ba chỉ số",
        "maximum": 3,
        "decimals": 5,
        "assessed_indicators": ["days", "bandwidth", "portal"],
        "classification": [{"label": "Cao", "min": 1.5}, {"label": "Thấp", "min": 0}],
        "criteria": [
            {"code": c, "name_vi": c, "max_points": 1, "indicators": [{"code": c, "points": 1}]}
            for c in ("days", "bandwidth", "portal")
        ],
    }
    (tmp_path / "2016.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    put_values(
        con,
        2024,
        {
            "D1": {"days": 0.7081, "bandwidth": 0.7267, "portal": 0.8780},  # 2.3128
            "D2": {"days": 0.7081, "bandwidth": 0.7267, "portal": 0.877999},
        },
    )  # 2.312799
    score_years(con, [2024], tmp_path)
    got = con.execute(
        "SELECT agency_code, total_points, index_value, rank, classification FROM rankings ORDER BY agency_code"
    ).fetchall()
    assert got == [("D1", 2.3128, 0.770933333, 1, "Cao"), ("D2", 2.3128, 0.770933333, 1, "Cao")]  # 2.312799 → 2.31280
    put_values(
        con,
        2024,
        {
            "D1": {"days": 0.7081, "bandwidth": 0.7267, "portal": 0.8780},
            "D2": {"days": 0.7081, "bandwidth": 0.7267, "portal": 0.87799},
        },
    )  # 2.31279
    score_years(con, [2024], tmp_path)
    assert con.execute("SELECT agency_code, total_points, rank FROM rankings ORDER BY 1").fetchall() == [
        ("D1", 2.3128, 1),
        ("D2", 2.31279, 2),
    ]
    assert con.execute("SELECT DISTINCT decimals FROM rubric_classes").fetchall() == [(5,)]
    # the blocking rank check ranks on the rubric's decimals too (on 2 decimals, D1 and D2 would have to tie)
    assert {
        r.name: r.failed
        for r in run_sql_checks(con, [2024], names=["rankings_rank_sequence", "criterion_rank_sequence"])
    } == {"rankings_rank_sequence": 0, "criterion_rank_sequence": 0}
    data["decimals"] = 2
    (tmp_path / "2016.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    score_years(con, [2024], tmp_path)
    assert con.execute("SELECT agency_code, total_points, rank FROM rankings ORDER BY 1").fetchall() == [
        ("D1", 2.31, 1),
        ("D2", 2.31, 1),
    ]


# --- the what-if, for every method ------------------------------------------------------------------------------

# (method parameters, the other units' values of the item, E's value, E's goal, the value the what-if must ask)
# Every unit has has_lan = 1 (40 points); the item under test is worth 60. Classes: Tốt 80, Khá 65, Trung bình 50.
WHAT_IF_CASES = {
    # E: 60 × 0.3 / 0.9 = 20 → 60.00 Trung bình; Khá needs 5 more: 25 of 60 points at 0.9 × 25 / 60 = 0.375
    "target": ({"target": 0.9}, {"A": 0.9}, 0.3, "next_class", 0.375),
    # E: 20 days → 60 × 0.4 = 24 → 64.00; 1 more: 25/60 at 30 - 25 × 25/60 = 19.58333… → 19.5833 (rounded DOWN:
    # fewer days), which earns 60 × (30 - 19.5833) / 25 = 25.00008
    "goalposts, lower is better": ({"worst": 30, "best": 5}, {"A": 5}, 20, "next_class", 19.5833),
    # E: 60 × (0.35 - 0.2) / 0.6 = 15 → 55.00; Khá: 25/60 at 0.2 + 0.6 × 25/60 = 0.45
    "goalposts, higher is better": ({"worst": 0.2, "best": 0.8}, {"A": 0.8}, 0.35, "next_class", 0.45),
    # E: 60 × 20/100 = 12 → 52.00; Khá: 25/60 of the others' best, 100 × 25/60 = 41.6666… → 41.6667
    "fraction_of_max": ({}, {"A": 100, "B": 50}, 20, "next_class", 41.6667),
    # E is the group's minimum (0 points) → 40.00 Yếu; Trung bình needs 10/60 within the others' 0.5 … 0.9:
    # 0.5 + 0.4 / 6 = 0.56666… → 0.5667 (B, now the minimum, drops from 30 to 0 points)
    "minmax": ({}, {"A": 0.9, "B": 0.5}, 0.1, "next_class", 0.5667),
    # E: 0.3 reaches no step → 40.00 Yếu; Trung bình needs 10/60: the first step, 0.5, earns 30
    "steps": ({"steps": STEPS}, {"A": 0.8}, 0.3, "next_class", 0.5),
    # nobody else above 0: any positive value earns all 60 (the least one the indicator takes: 0.0001)
    "fraction_of_max, no other positive value": ({}, {"A": 0, "B": 0}, None, "next_class", 0.0001),
    # E alone in its group without a value: any value earns all 60
    "minmax, a single unit": ({}, {}, None, "next_class", 0.0001),
}


def score_case(db, directory: Path, params: dict, method: str, others: dict, mine: float | None) -> None:
    write_rubric(directory, {"code": "x_value", "points": 60, "method": method, **params})
    put_values(
        db,
        2024,
        {
            **{code: {"x_value": v, "has_lan": 1.0} for code, v in others.items()},
            "E": {"x_value": mine, "has_lan": 1.0},
        },
    )
    score_years(db, [2024], directory)


@pytest.mark.parametrize("case", list(WHAT_IF_CASES))
def test_what_if_asks_the_method_inverse_and_the_agency_gains_exactly_the_points_claimed(
    con,  # noqa: F811
    tmp_path: Path,
    case: str,
):
    params, others, mine, goal, expected_value = WHAT_IF_CASES[case]
    method = case.split(",")[0]
    for code in (*others, "E"):
        agency(con, code)
    score_case(con, tmp_path, params, method, others, mine)
    build_profiles(con, tmp_path)
    steps = con.execute(
        "SELECT indicator_code, required_value, current_points, new_points, points_gained, "
        "reachable, goal_label, lower_is_better FROM what_if WHERE agency_code = 'E' AND goal = ? "
        "ORDER BY step",
        [goal],
    ).fetchall()
    assert [s[0] for s in steps] == ["x_value"]
    indicator, required, current, claimed, gained, reachable, label, lower = steps[0]
    assert required == pytest.approx(expected_value, abs=1e-12)
    assert lower is (case == "goalposts, lower is better") and reachable
    assert gained == pytest.approx(claimed - current)

    # give E that value and score again: E earns exactly the claimed points and reaches the goal
    score_case(con, tmp_path, params, method, others, required)
    points = con.execute(
        "SELECT points FROM indicator_scores WHERE agency_code = 'E' AND indicator_code = ?", [indicator]
    ).fetchall()[0][0]
    assert points == pytest.approx(claimed, abs=1e-6)
    total = con.execute("SELECT total_points FROM rankings WHERE agency_code = 'E'").fetchall()[0][0]
    goal_min = con.execute(
        "SELECT min_total FROM rubric_classes WHERE 'đạt loại ' || label = ? LIMIT 1", [label]
    ).fetchall()[0][0]
    assert total >= goal_min  # steps and the "any value" cases earn all 60 points: more than the goal needs


def test_what_if_pass_above_under_minmax_is_met_with_room_to_spare(con, tmp_path: Path):  # noqa: F811
    """E passing B under minmax lifts the group's minimum: B loses points, so E passes it by more than claimed."""
    params, others, mine, _, _ = WHAT_IF_CASES["minmax"]
    for code in (*others, "E"):
        agency(con, code)
    score_case(con, tmp_path, params, "minmax", others, mine)
    build_profiles(con, tmp_path)
    ((required, claimed, needed),) = con.execute(
        "SELECT required_value, new_points, points_needed FROM what_if WHERE agency_code = 'E' "
        "AND goal = 'pass_agency_above'"
    ).fetchall()
    # B: 0.5 of 0.1 … 0.9 → 30 + 40 = 70.00; E needs 30.01: 0.5 + 0.4 × 30.01 / 60 = 0.700066… → 0.7001
    assert (needed, required) == (pytest.approx(30.01), 0.7001)
    score_case(con, tmp_path, params, "minmax", others, required)
    totals = dict(con.execute("SELECT agency_code, total_points FROM rankings").fetchall())
    assert totals["E"] == pytest.approx(40 + claimed, abs=0.005) and totals["E"] > 70.0 > totals["B"]
