"""The composite-indicator engine (issue 26) on the test-owned rubrics of tests/fixtures/engine/: nested criteria of
any depth, missing values left out with a minimum coverage, geometric aggregation, the log transform, lower is
better from the group's data, the index rounded, through the real scoring SQL on a warehouse in memory.

Every expected figure is worked out by hand in the comments, from the fixture's points and the values written here."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scoring import agency, con  # noqa: F401  (con is the fixture)

from assets.scoring.score import ScoringError, score_years

ENGINE = Path(__file__).parent / "fixtures" / "engine"


def put_values(db, year: int, rows: dict[str, dict[str, float | None]]) -> None:
    """rows: unit → {indicator: value}; None is stored as NULL, a missing key as no row at all."""
    db.execute("DELETE FROM indicator_values WHERE year = ?", [year])
    db.executemany(
        "INSERT INTO indicator_values VALUES (?, ?, ?, NULL, NULL, ?, 'assessment')",
        [[year, code, ind, v] for code, values in rows.items() for ind, v in values.items()],
    )


def rankings(db, year: int) -> dict[str, tuple]:
    return {
        code: tuple(rest)
        for code, *rest in db.execute(
            "SELECT agency_code, total_points, index_value, rank, classification, unranked_reason FROM rankings "
            "WHERE year = ? ORDER BY agency_code",
            [year],
        ).fetchall()
    }


def nodes(db, year: int, criterion: str) -> dict[str, tuple]:
    """unit → (points, max_points, rank, parent_code, level) of one criterion."""
    return {
        code: tuple(rest)
        for code, *rest in db.execute(
            "SELECT agency_code, round(points, 6), max_points, rank, parent_code, level FROM criterion_scores "
            "WHERE year = ? AND criterion_code = ? ORDER BY agency_code",
            [year, criterion],
        ).fetchall()
    }


def item_points(db, year: int, indicator: str) -> dict[str, float | None]:
    return dict(
        db.execute(
            "SELECT agency_code, points FROM indicator_scores WHERE year = ? AND indicator_code = ? ORDER BY 1",
            [year, indicator],
        ).fetchall()
    )


SKIP_VALUES = {
    # complete: P = 2.99 + 3.01 × 0.5 = 4.495; Q1 = 1 + 0.5 = 1.5, Q2 = 2 × 0.25 = 0.5, Q = 2; total 6.495
    "U1": {"p1": 1, "p2": 0.5, "q1": 1, "q2": 0.5, "q3": 0.25},
    # p2 missing: P has a value for 2.99 / 6 = 49.8 % of its weight, below 50 %: no value; the total then has
    # Q's 4 of 10 = 40 %: no value either, so U2 is not ranked (not ranked at 0)
    "U2": {"p1": 1, "p2": None, "q1": 1, "q2": 1, "q3": 1},
    # p1 missing (no row at all): P has 3.01 / 6 = 50.2 %: P = 6 × (3.01 × 0.5) / 3.01 = 3;
    # q1 missing: Q1 has exactly 50 %: Q1 = 2 × 0.5 / 1 = 1; q3 missing under Q2's own missing: zero → 0;
    # Q = 4 × (1 + 0) / 4 = 1; total 4
    "U3": {"p2": 0.5, "q2": 0.5},
    # P = 1.495 + 3.01 = 4.505; q1, q2 missing: Q1 has no value (gap at level 2), Q = 4 × Q2 / 2 = 4 × 1 / 2 = 2
    # from Q2 alone (50 %); total 6.505
    "U4": {"p1": 0.5, "p2": 1, "q1": None, "q3": 0.5},
}

GEOMETRIC_VALUES = {
    # G = 4 × g1^(2/4) × g2^(1/4) × g3^(1/4) (weights 2, 1, 1 of 4)
    # E1: 4 × 0.5 × 0.5 × 1 = 1; income: (ln 1000 − ln 100) / (ln 10000 − ln 100) = 1 / 2 → 0.5; total 1.5
    "E1": {"g1": 0.25, "g2": 0.0625, "g3": 1, "income": 1000},
    # E2: a child at share 0 makes the node 0; income at worst (100): 0; total 0
    "E2": {"g1": 0.81, "g2": 0.6561, "g3": 0, "income": 100},
    # E3: 4 × 1 × 0.2 × 0.4 = 0.32; income above best: 1; total 1.32
    "E3": {"g1": 1, "g2": 0.0016, "g3": 0.0256, "income": 20000},
    # E4: 4 × 0.8 × 1 × 1 = 3.2 (with equal weights it would be 4 × 0.64^(1/3) = 3.447); income below worst: 0
    "E4": {"g1": 0.64, "g2": 1, "g3": 1, "income": 50},
}


# --- nested criteria ----------------------------------------------------------------------------------------------

THREE_LEVEL_VALUES = {
    # D1: a1 30 × 0.5 = 15, a2 10 × 0.25 / 0.5 = 5 → A1 20; a3 20 → A2 20; A = 40; b1 25 × 0.8 = 20, b2 15 × 0.2 = 3
    #     → B1 = B = 23; total 63
    "D1": {"a1": 0.5, "a2": 0.25, "a3": 1, "b1": 0.8, "b2": 0.2},
    # D2: 30 + 10 → A1 40; A2 0; A 40; b1 10 + b2 15 → B 25; total 65
    "D2": {"a1": 1, "a2": 0.5, "a3": 0, "b1": 0.4, "b2": 1},
    # D3: a1 6, a2 no value → 0 (missing: zero, the default) → A1 6; a3 10 → A2 10; A 16; B 40; total 56
    "D3": {"a1": 0.2, "a2": None, "a3": 0.5, "b1": 1, "b2": 1},
}


def test_three_levels_arithmetic_complete_data_equal_flat_effective_weights(con, tmp_path: Path):  # noqa: F811
    for code in THREE_LEVEL_VALUES:
        agency(con, code)
    put_values(con, 2024, THREE_LEVEL_VALUES)
    score_years(con, [2024], ENGINE / "three_levels")
    nested = rankings(con, 2024)
    # default classes: Tốt ≥ 80, Khá ≥ 65, Trung bình ≥ 50
    assert nested == {
        "D1": (63.0, 0.63, 2, "Trung bình", None),
        "D2": (65.0, 0.65, 1, "Khá", None),
        "D3": (56.0, 0.56, 3, "Trung bình", None),
    }
    # every node of every level is scored and ranked within the group, with its parent and level
    assert nodes(con, 2024, "sub_a") == {
        "D1": (40.0, 60.0, 1, None, 1),
        "D2": (40.0, 60.0, 1, None, 1),
        "D3": (16.0, 60.0, 3, None, 1),
    }
    assert nodes(con, 2024, "pillar_a1") == {
        "D1": (20.0, 40.0, 2, "sub_a", 2),
        "D2": (40.0, 40.0, 1, "sub_a", 2),
        "D3": (6.0, 40.0, 3, "sub_a", 2),
    }
    assert nodes(con, 2024, "pillar_a2") == {
        "D1": (20.0, 20.0, 1, "sub_a", 2),
        "D2": (0.0, 20.0, 3, "sub_a", 2),
        "D3": (10.0, 20.0, 2, "sub_a", 2),
    }
    assert nodes(con, 2024, "sub_b") == {
        "D1": (23.0, 40.0, 3, None, 1),
        "D2": (25.0, 40.0, 2, None, 1),
        "D3": (40.0, 40.0, 1, None, 1),
    }
    assert nodes(con, 2024, "pillar_b1") == {
        "D1": (23.0, 40.0, 3, "sub_b", 2),
        "D2": (25.0, 40.0, 2, "sub_b", 2),
        "D3": (40.0, 40.0, 1, "sub_b", 2),
    }
    assert con.execute(
        "SELECT criterion_code, parent_code, level, criterion_order FROM rubric_criteria "
        "WHERE agency_group = 'department' ORDER BY criterion_order"
    ).fetchall() == [
        ("sub_a", None, 1, 1),
        ("pillar_a1", "sub_a", 2, 2),
        ("pillar_a2", "sub_a", 2, 3),
        ("sub_b", None, 1, 4),
        ("pillar_b1", "sub_b", 2, 5),
    ]
    # items belong to their leaf criterion
    assert con.execute(
        "SELECT DISTINCT criterion_code FROM indicator_scores WHERE indicator_code = 'a3'"
    ).fetchall() == [("pillar_a2",)]

    score_years(con, [2024], ENGINE / "flat_weights")
    assert rankings(con, 2024) == nested  # the same totals, ranks and classes from the flat effective weights


# --- missing values: skip, min_coverage -----------------------------------------------------------------------


def test_skip_with_gaps_at_two_levels_and_min_coverage_just_met_and_just_missed(con, tmp_path: Path):  # noqa: F811
    for code in ("U1", "U2", "U3", "U4"):
        agency(con, code)
    put_values(con, 2024, SKIP_VALUES)
    score_years(con, [2024], ENGINE / "skip_coverage")
    assert rankings(con, 2024) == {
        "U1": (6.495, 0.6495, 2, "Đạt", None),
        "U2": (
            None,
            None,
            None,
            None,
            "không đủ dữ liệu: Tổng điểm: có dữ liệu cho 40% trọng số, dưới mức tối "
            "thiểu 50% (Tiêu chí P: có dữ liệu cho 49,8% trọng số, dưới mức tối thiểu 50%)",
        ),
        "U3": (4.0, 0.4, 3, "Chưa đạt", None),
        "U4": (6.505, 0.6505, 1, "Đạt", None),
    }
    assert nodes(con, 2024, "p") == {
        "U1": (4.495, 6.0, 2, None, 1),
        "U2": (None, 6.0, None, None, 1),
        "U3": (3.0, 6.0, 3, None, 1),
        "U4": (4.505, 6.0, 1, None, 1),
    }
    assert nodes(con, 2024, "q_one") == {
        "U1": (1.5, 2.0, 2, "q", 2),
        "U2": (2.0, 2.0, 1, "q", 2),
        "U3": (1.0, 2.0, 3, "q", 2),
        "U4": (None, 2.0, None, "q", 2),
    }
    assert nodes(con, 2024, "q") == {
        "U1": (2.0, 4.0, 2, None, 1),
        "U2": (4.0, 4.0, 1, None, 1),
        "U3": (1.0, 4.0, 4, None, 1),
        "U4": (2.0, 4.0, 2, None, 1),
    }
    # an item without a value under a skip node earns no points at all (NULL), under a zero node 0
    assert item_points(con, 2024, "p2") == {"U1": 1.505, "U2": None, "U3": 1.505, "U4": 3.01}
    assert item_points(con, 2024, "q3") == {"U1": 0.5, "U2": 2.0, "U3": 0.0, "U4": 1.0}


# --- geometric aggregation, log transform -----------------------------------------------------------------------


def test_geometric_node_with_a_zero_child_unequal_weights_and_log_goalposts(con, tmp_path: Path):  # noqa: F811
    for code in ("E1", "E2", "E3", "E4"):
        agency(con, code)
    put_values(con, 2024, GEOMETRIC_VALUES)
    score_years(con, [2024], ENGINE / "geometric_log")
    assert {code: (total, rank) for code, (total, _, rank, *_) in rankings(con, 2024).items()} == {
        "E1": (1.5, 2),
        "E2": (0.0, 4),
        "E3": (1.32, 3),
        "E4": (3.2, 1),
    }
    assert {code: points for code, (points, *_) in nodes(con, 2024, "geo").items()} == {
        "E1": 1.0,
        "E2": 0.0,
        "E3": 0.32,
        "E4": 3.2,
    }
    assert item_points(con, 2024, "income") == {"E1": 0.5, "E2": 0.0, "E3": 1.0, "E4": 0.0}
    # the value that earns the full points is given back in the value's units
    assert con.execute(
        "SELECT round(target, 6) FROM rubric_items WHERE indicator_code = 'income' LIMIT 1"
    ).fetchall() == [(10000.0,)]

    put_values(con, 2024, {"E1": {"income": 1000}, "E2": {"income": 0}})
    with pytest.raises(ScoringError, match="2024 unit E2, indicator income: value 0"):
        score_years(con, [2024], ENGINE / "geometric_log")


# --- lower is better from the group's data ------------------------------------------------------------------


def test_direction_minus_one_on_minmax_with_ties_and_on_fraction_of_max(con, tmp_path: Path):  # noqa: F811
    for code in ("D1", "D2", "D3", "D4"):
        agency(con, code)
    put_values(
        con,
        2024,
        {
            # days, minmax lower is better: (max − v) / (max − min) = (10 − v) / 8: 2 → 8 points, 4 → 6 (twice), 10 → 0
            # cost, fraction_of_max lower is better: min / v, min = 50: 100 → 0.5 × 2 = 1, 50 → 2, 200 → 0.5, none → 0
            "D1": {"days": 2, "cost": 100},
            "D2": {"days": 4, "cost": 50},
            "D3": {"days": 4, "cost": 200},
            "D4": {"days": 10, "cost": None},
        },
    )
    score_years(con, [2024], ENGINE / "direction")
    assert item_points(con, 2024, "days") == {"D1": 8.0, "D2": 6.0, "D3": 6.0, "D4": 0.0}
    assert item_points(con, 2024, "cost") == {"D1": 1.0, "D2": 2.0, "D3": 0.5, "D4": 0.0}
    assert {code: rank for code, (_, _, rank, *_) in nodes(con, 2024, "speed").items()} == {
        "D1": 1,
        "D2": 2,
        "D3": 2,
        "D4": 4,
    }
    assert {code: (total, rank) for code, (total, _, rank, *_) in rankings(con, 2024).items()} == {
        "D1": (9.0, 1),
        "D2": (8.0, 2),
        "D3": (6.5, 3),
        "D4": (0.0, 4),
    }
    # the value that earns all the points: the group's lowest (2 days, cost 50)
    assert dict(
        con.execute("SELECT indicator_code, target FROM indicator_scores WHERE agency_code = 'D4'").fetchall()
    ) == {"days": 2.0, "cost": 50.0}

    # max = min: every unit with a value earns all the points, whatever the direction
    put_values(con, 2025, {"D1": {"days": 5}, "D2": {"days": 5}, "D3": {"days": None}})
    score_years(con, [2025], ENGINE / "direction")
    assert item_points(con, 2025, "days") == {"D1": 8.0, "D2": 8.0, "D3": 0.0, "D4": 0.0}


# --- rank uncertainty over the tree (point 10) ----------------------------------------------------------------


def with_uncertainty(tmp_path: Path, fixture: str, uncertainty: dict) -> Path:
    """A copy of a test-owned rubric folder with an `uncertainty:` section."""
    import yaml

    folder = tmp_path / fixture
    folder.mkdir()
    for path in (ENGINE / fixture).glob("*.yaml"):
        body = yaml.safe_load(path.read_text(encoding="utf-8"))
        (folder / path.name).write_text(
            yaml.safe_dump({**body, "uncertainty": uncertainty}, allow_unicode=True), encoding="utf-8"
        )
    return folder


def intervals(db) -> dict[str, tuple]:
    return {
        code: tuple(rest)
        for code, *rest in db.execute(
            "SELECT agency_code, nominal_rank, q05_rank, q95_rank, mean_rank FROM rank_uncertainty ORDER BY 1"
        ).fetchall()
    }


@pytest.mark.parametrize("fixture", ["skip_coverage", "geometric_log"])
def test_uncertainty_runs_of_a_tree_with_nothing_moving_give_the_published_ranks(
    con,  # noqa: F811
    tmp_path: Path,
    fixture: str,
):
    """The runs evaluate the tree node by node in numpy (assets/scoring/uncertainty.py): with weights fixed and no
    alternative, every run must give the ranks score_nodes.sql published, for missing values left out, coverage,
    geometric nodes and the log transform alike; a unit without a total has no interval."""
    from assets.scoring.uncertainty import analyse_years

    values = {"skip_coverage": SKIP_VALUES, "geometric_log": GEOMETRIC_VALUES}[fixture]
    for code in values:
        agency(con, code)
    put_values(con, 2024, values)
    folder = with_uncertainty(tmp_path, fixture, {"weights": 0, "runs": 50})
    score_years(con, [2024], folder)
    analyse_years(con, [2024], folder)
    published = {code: rank for code, (_, _, rank, *_) in rankings(con, 2024).items() if rank is not None}
    assert {code: (nominal, q05, q95) for code, (nominal, q05, q95, _) in intervals(con).items()} == {
        code: (rank, rank, rank) for code, rank in published.items()
    }


def test_uncertainty_alternatives_draw_the_aggregate_of_each_node(con, tmp_path: Path):  # noqa: F811
    """`alternatives: {aggregate: [geometric]}`: in about half of the runs the total is the geometric mean. E1 is
    first by the sum (2 × 1 + 2 × 0 = 2 of 4 against 4 × 0.4 = 1.6) and last by the geometric mean (a share of 0:
    0, against 1.6): every unit's 90 % interval spans ranks 1 to 2 and its mean rank lies near 1.5."""
    import yaml

    from assets.scoring.uncertainty import analyse_years

    folder = tmp_path / "alternatives"
    folder.mkdir()
    (folder / "2024.yaml").write_text(
        yaml.safe_dump(
            {
                "year": 2024,
                "title": "Thử",
                "maximum": 4,
                "assessed_indicators": ["x1", "x2"],
                "classification": [{"label": "Đạt", "min": 1}, {"label": "Chưa đạt", "min": 0}],
                "criteria": [
                    {"code": "c1", "name_vi": "C1", "max_points": 2, "indicators": [{"code": "x1", "points": 2}]},
                    {"code": "c2", "name_vi": "C2", "max_points": 2, "indicators": [{"code": "x2", "points": 2}]},
                ],
                "uncertainty": {"weights": 0, "runs": 400, "alternatives": {"aggregate": ["geometric"]}},
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    for code in ("E1", "E2"):
        agency(con, code)
    put_values(con, 2024, {"E1": {"x1": 1, "x2": 0}, "E2": {"x1": 0.4, "x2": 0.4}})
    score_years(con, [2024], folder)
    analyse_years(con, [2024], folder)
    got = intervals(con)
    assert {code: (nominal, q05, q95) for code, (nominal, q05, q95, _) in got.items()} == {
        "E1": (1, 1, 2),
        "E2": (2, 1, 2),
    }
    assert all(1.4 < mean < 1.6 for *_, mean in got.values())
    assert con.execute("SELECT alternatives FROM uncertainty_settings").fetchall() == [
        ('{"aggregate": ["geometric"]}',)
    ]


# --- the what-if under the log transform (point 10) ---------------------------------------------------------------


def test_what_if_of_an_item_under_log_gives_the_value_in_its_own_units(con, tmp_path: Path):  # noqa: F811
    """L1: income 1000 → (ln 1000 − ln 100) / (ln 10000 − ln 100) = 1/2 → 5 points, x 1 → 10: 15, Đạt.
    L2: income 100 → 0, x 0.8 → 8: 8, 7 points short of Đạt. The largest gain is income's (10, x's is 2): it needs
    7 of its 10 points, share 0.7: ln v = ln 100 + 0.7 × (ln 10000 − ln 100) = 1.7 × ln 100, v = 100^1.7 = 10^3.4 =
    2511.88643…, rounded up to 4 decimals: 2511.8865 (read linearly from the posts, 100 + 0.7 × 9900 = 7030 would
    earn 10 × ln 70.3 / ln 100 = 9.24 points, not 7)."""
    from assets.profiles.profiles import build_profiles

    folder = ENGINE / "log_what_if"
    for code in ("L1", "L2"):
        agency(con, code)
    put_values(con, 2024, {"L1": {"income": 1000, "x": 1}, "L2": {"income": 100, "x": 0.8}})
    score_years(con, [2024], folder)
    build_profiles(con, folder)
    steps = con.execute(
        "SELECT step, indicator_code, current_value, required_value, current_points, new_points, "
        "points_needed, reachable FROM what_if WHERE agency_code = 'L2' AND goal = 'next_class' "
        "ORDER BY step"
    ).fetchall()
    assert len(steps) == 1
    step, indicator, current, required, before, after, needed, reachable = steps[0]
    assert (step, indicator, current, required, before, reachable) == (1, "income", 100.0, 2511.8865, 0.0, True)
    assert needed == pytest.approx(7.0, abs=1e-9)
    assert after == pytest.approx(7.0, abs=1e-6) and after >= 7.0  # the rounded-up value still meets the goal


# --- rounding of the index (point 8) ------------------------------------------------------------------------------


def test_rounding_index_ties_units_whose_index_rounds_alike_and_classes_follow_it(con, tmp_path: Path):  # noqa: F811
    """x = 0.9259 → total 2.7777, index 0.9259; x = 0.92586 → total 2.77758, index 0.92586 → 0.9259 at 4 decimals:
    the same rounded index, so rank 1 both, and both Cao (0.9259 × 3 = 2.7777 ≥ 2.77765, although 2.77758 is not);
    x = 0.9 → 0.9, rank 3, Thấp. Rounding the total to 4 decimals instead splits the first two (2.7777 > 2.7776)
    and leaves the second Thấp (2.7776 < 2.77765)."""
    import yaml

    for code in ("R1", "R2", "R3"):
        agency(con, code)
    put_values(con, 2024, {"R1": {"x": 0.9259}, "R2": {"x": 0.92586}, "R3": {"x": 0.9}})
    score_years(con, [2024], ENGINE / "rounding_index")
    got = rankings(con, 2024)
    assert {code: (index, rank, cls) for code, (_, index, rank, cls, _) in got.items()} == {
        "R1": (0.9259, 1, "Cao"),
        "R2": (0.9259, 1, "Cao"),
        "R3": (0.9, 3, "Thấp"),
    }
    assert got["R2"][0] == pytest.approx(2.77758, abs=1e-9)  # the total itself is not rounded

    folder = tmp_path / "rounding_total"
    folder.mkdir()
    body = yaml.safe_load((ENGINE / "rounding_index" / "2024.yaml").read_text(encoding="utf-8"))
    (folder / "2024.yaml").write_text(
        yaml.safe_dump({**body, "rounding": "total"}, allow_unicode=True), encoding="utf-8"
    )
    score_years(con, [2024], folder)
    assert {code: (total, rank, cls) for code, (total, _, rank, cls, _) in rankings(con, 2024).items()} == {
        "R1": (2.7777, 1, "Cao"),
        "R2": (2.7776, 2, "Thấp"),
        "R3": (2.7, 3, "Thấp"),
    }


def test_what_if_of_a_geometric_node_evaluates_the_tree(con, tmp_path: Path):  # noqa: F811
    """G = 4 × a^(2/4) × b^(1/4) × c^(1/4) (shares; the fixture's points 2, 1, 1), Đạt from 3.
    W1: 1, 1, 1 → 4, rank 1. W2: a 0.25, b 0.5, c 1 → 4 × 0.5 × 0.5^(1/4) = 1.6818 → 1.68, rank 2.
    W3: a 0, b 0, c 1 → 0 (a share 0), rank 3.
    W2 to Đạt: a alone at 1 gives 4 × 0.5^(1/4) = 3.36 ≥ 3 (b alone 2): a needs 4 × √a × 0.5^(1/4) ≥ 3,
      a ≥ (0.75 × 2^(1/4))² = 0.5625 × √2 = 0.795495…, rounded up 0.7955: 2 × 0.7955 = 1.591 points (the sum's
      greedy would ask for (0.5 + 1.32) / 2 = 0.91). W2 past W1 (4.01 of 4): a and b at 1 give 4: not reachable.
    W3 to Đạt: neither a nor b alone lifts the node from 0 (the other stays 0): a first (2 points to gain), then b
      ≥ (3 / 4)^4 = 0.31640625 → 0.3165. W3 past W2 (1.69): a, then b ≥ (1.69 / 4)^4 = 0.0318644… → 0.0319."""
    from assets.profiles.profiles import build_profiles

    folder = ENGINE / "geometric_what_if"
    for code in ("W1", "W2", "W3"):
        agency(con, code)
    put_values(
        con, 2024, {"W1": {"a": 1, "b": 1, "c": 1}, "W2": {"a": 0.25, "b": 0.5, "c": 1}, "W3": {"a": 0, "b": 0, "c": 1}}
    )
    score_years(con, [2024], folder)
    assert {code: (total, rank) for code, (total, _, rank, *_) in rankings(con, 2024).items()} == {
        "W1": (4.0, 1),
        "W2": (1.68, 2),
        "W3": (0.0, 3),
    }
    build_profiles(con, folder)

    def steps(code: str, goal: str) -> list[tuple]:
        return [
            (step, indicator, required, round(new, 6), reachable)
            for step, indicator, required, new, reachable in con.execute(
                "SELECT step, indicator_code, required_value, new_points, reachable FROM what_if "
                "WHERE agency_code = ? AND goal = ? ORDER BY step",
                [code, goal],
            ).fetchall()
        ]

    assert steps("W2", "next_class") == [(1, "a", 0.7955, 1.591, True)]
    assert steps("W2", "pass_agency_above") == [(1, "a", 1.0, 2.0, False), (2, "b", 1.0, 1.0, False)]
    assert steps("W3", "next_class") == [(1, "a", 1.0, 2.0, True), (2, "b", 0.3165, 0.3165, True)]
    assert steps("W3", "pass_agency_above") == [(1, "a", 1.0, 2.0, True), (2, "b", 0.0319, 0.0319, True)]
    assert con.execute(
        "SELECT points_needed, points_gained FROM what_if WHERE agency_code = 'W2' AND goal = 'next_class'"
    ).fetchall() == [(1.32, 1.091)]


def test_what_if_under_rounding_index_aims_at_the_rounded_index(con, tmp_path: Path):  # noqa: F811
    """The rounding_index fixture (max 3, 4 decimals, Cao from 2.77765): R1 index 0.9259, R2 0.92586 → 0.9259 (both
    Cao, rank 1), R3 0.9 (Thấp). R2 is Cao already: no next class (its total 2.77758 is below 2.77765; the rounded
    index × 3 = 2.7777 is not). R3 to Cao: the least index on the 4-decimal grid with index × 3 ≥ 2.77765 is 0.9259
    (2.77765 / 3 = 0.925883…), reached from 0.92585 (half up): x ≥ 0.92585 → 0.9259 rounded up, 2.7777 points.
    R3 past the unit above (index 0.9259): index 0.9260, from 0.92595: x → 0.926, 2.778 points."""
    from assets.profiles.profiles import build_profiles

    for code in ("R1", "R2", "R3"):
        agency(con, code)
    put_values(con, 2024, {"R1": {"x": 0.9259}, "R2": {"x": 0.92586}, "R3": {"x": 0.9}})
    folder = ENGINE / "rounding_index"
    score_years(con, [2024], folder)
    build_profiles(con, folder)
    assert con.execute("SELECT agency_code, next_class FROM agency_profiles ORDER BY 1").fetchall() == [
        ("R1", None),
        ("R2", None),
        ("R3", "Cao"),
    ]
    got = con.execute(
        "SELECT agency_code, goal, step, indicator_code, required_value, round(new_points, 6), reachable "
        "FROM what_if ORDER BY ALL"
    ).fetchall()
    assert got == [
        ("R3", "next_class", 1, "x", 0.9259, 2.7777, True),
        ("R3", "pass_agency_above", 1, "x", 0.926, 2.778, True),
    ]
