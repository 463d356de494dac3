"""Agency profiles and the what-if on a hand-computed case (docs/domain.md §5 arithmetic).

2024, three departments scored with the tests' standard rubric (tests/fixtures/rubrics/standard):
  D0: every indicator at target → 100.00, rank 1.
  D1: dossier_online_ratio 0.25 (5 of 10 points), has_lan missing (0 of 2) → 93.00, rank 2, Tốt.
  D2: edoc_ratio 0.45 (4 of 8), esign_ratio missing (0 of 6), official_email_ratio 0.5 (3 of 6),
      has_it_plan 0 (0 of 4), computers_per_staff 0.25 (1.5 of 6) → 78.50, rank 3, Khá.
"""

from __future__ import annotations

import pytest
from test_scoring import RUBRICS, agency, con, values  # noqa: F401  (con is the fixture)

from assets.profiles.profiles import build_profiles
from assets.scoring.score import score_years

D2_GAPS = dict(edoc_ratio=0.45, esign_ratio=None, official_email_ratio=0.5, has_it_plan=0.0, computers_per_staff=0.25)


@pytest.fixture
def scored(con):  # noqa: F811
    for code in ("D0", "D1", "D2"):
        agency(con, code)
        values(con, 2023, code)
    values(con, 2024, "D0")
    values(con, 2024, "D1", dossier_online_ratio=0.25, has_lan=None)
    values(con, 2024, "D2", **D2_GAPS)
    score_years(con, [2023, 2024], RUBRICS)
    counts = build_profiles(con, RUBRICS)
    assert counts["agency_profiles"] == 6 and counts["agency_profile_items"] == 6 * 22
    return con


def rows(db, sql: str, params: list) -> list[dict]:
    cur = db.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def what_if(db, code: str, goal: str) -> list[tuple]:
    return db.execute(
        "SELECT step, indicator_code, current_value, required_value, current_points, new_points, "
        "points_gained, points_needed, reachable, goal_label FROM what_if "
        "WHERE year = 2024 AND agency_code = ? AND goal = ? ORDER BY step",
        [code, goal],
    ).fetchall()


def test_profile_standing_points_lost_and_history(scored):
    p = rows(scored, "SELECT * FROM agency_profiles WHERE year = 2024 AND agency_code = 'D2'", [])[0]
    assert (p["total_points"], p["points_lost"], p["rank"], p["group_size"], p["classification"]) == (
        78.5,
        21.5,
        3,
        3,
        "Khá",
    )
    assert (p["prev_rank"], p["rank_change"]) == (1, -2)
    assert (p["next_class"], p["next_class_min"], p["points_to_next_class"]) == ("Tốt", 80.0, 1.5)
    assert (p["agency_above_code"], p["agency_above_total"]) == ("D1", 93.0)
    assert p["points_to_pass_above"] == pytest.approx(14.51, abs=1e-9)
    assert p["weakest_indicators"] == ["esign_ratio", "computers_per_staff", "edoc_ratio"]
    assert p["strongest_indicators"] == ["dossier_online_ratio", "svc_online_ratio", "dossier_on_time_ratio"]
    assert p["rank_history"] == [
        {"year": 2023, "rank": 1, "total_points": 100.0, "classification": "Tốt"},
        {"year": 2024, "rank": 3, "total_points": 78.5, "classification": "Khá"},
    ]
    lost = dict(
        scored.execute(
            "SELECT indicator_code, points_lost FROM agency_profile_items "
            "WHERE year = 2024 AND agency_code = 'D2' AND points_lost > 0"
        ).fetchall()
    )
    assert lost == pytest.approx(
        {
            "edoc_ratio": 4.0,
            "esign_ratio": 6.0,
            "official_email_ratio": 3.0,
            "has_it_plan": 4.0,
            "computers_per_staff": 4.5,
        }
    )
    avg = scored.execute(
        "SELECT group_avg_points FROM agency_profile_items WHERE year = 2024 "
        "AND agency_code = 'D0' AND indicator_code = 'dossier_online_ratio'"
    ).fetchall()[0][0]
    assert avg == pytest.approx((10 + 5 + 10) / 3)


def test_top_agency_has_no_goal_above_and_top_class_no_next(scored):
    p = rows(scored, "SELECT * FROM agency_profiles WHERE year = 2024 AND agency_code = 'D0'", [])[0]
    assert p["rank"] == 1 and p["agency_above_code"] is None and p["next_class"] is None
    assert p["weakest_indicators"] == [] and p["points_lost"] == 0
    assert scored.execute("SELECT count(*) FROM what_if WHERE year = 2024 AND agency_code = 'D0'").fetchall() == [(0,)]


def test_what_if_next_class_needs_part_of_one_item(scored):
    # 1.5 points to 80: the biggest gap is esign_ratio (6 points); 1.5 of 6 needs 0.9 × 1.5 / 6 = 0.225.
    assert what_if(scored, "D2", "next_class") == [
        (1, "esign_ratio", None, pytest.approx(0.225), 0.0, 1.5, 1.5, 1.5, True, "đạt loại Tốt")
    ]


def test_what_if_pass_above_takes_the_fewest_items_and_flags_whole(scored):
    # 14.51 points to pass D1 (93.00): gaps 6 + 4.5 + 4 = 14.5 fall 0.01 short, so a 4th item is needed;
    # has_it_plan is a flag: met whole (4 points), never "0.0025 of a plan".
    steps = what_if(scored, "D2", "pass_agency_above")
    assert [(s[0], s[1], s[3], s[6]) for s in steps] == [
        (1, "esign_ratio", 0.9, 6.0),
        (2, "computers_per_staff", 1.0, 4.5),
        (3, "edoc_ratio", 0.9, 4.0),
        (4, "has_it_plan", 1.0, 4.0),
    ]
    assert all(s[7] == pytest.approx(14.51) and s[8] for s in steps)
    assert steps[0][9] == "vượt Cơ quan D1"


def test_what_if_partial_value_is_rounded_up_so_the_goal_is_met(con):  # noqa: F811
    # 78.50 needs 1.5 points; the largest gap is a ratio with target 0.9 and 7 points missing:
    # 0.9 × 1.5 / 7 = 0.192857… → 0.1929, which earns 7 × 0.1929 / 0.9 = 1.50033 ≥ 1.5.
    agency(con, "E1")
    values(
        con,
        2024,
        "E1",
        edoc_ratio=0.45,
        esign_ratio=None,
        official_email_ratio=0.5,
        has_it_plan=0.0,
        computers_per_staff=0.25,
    )
    score_years(con, [2024], RUBRICS)
    con.execute("UPDATE indicator_scores SET points = 0, max_points = 7 WHERE indicator_code = 'esign_ratio'")
    con.execute("UPDATE indicator_scores SET points = 2.5 WHERE indicator_code = 'computers_per_staff'")
    build_profiles(con, RUBRICS)
    (step,) = what_if(con, "E1", "next_class")
    assert step[1] == "esign_ratio" and step[3] == 0.1929
    assert step[6] == pytest.approx(7 * 0.1929 / 0.9) and step[6] >= 1.5


def test_what_if_respects_the_values_an_indicator_can_take(con):  # noqa: F811
    # security_measures = (firewall + antivirus + backup) / 3 takes 0, 1/3, 2/3, 1. S1 (96.00) needs 2.01 points
    # to pass S0 (98.00): 2.01 of 4 needs 0.5025, which no agency can report; the least possible is 2/3.
    for code in ("S0", "S1"):
        agency(con, code)
    values(con, 2024, "S0", has_lan=None)
    values(con, 2024, "S1", security_measures=0.0)
    score_years(con, [2024], RUBRICS)
    build_profiles(con, RUBRICS)
    (step,) = what_if(con, "S1", "pass_agency_above")
    assert step[1] == "security_measures" and step[3] == pytest.approx(0.6667, abs=1e-4)
    assert step[6] == pytest.approx(4 * 0.6667, abs=1e-3) and step[7] == pytest.approx(2.01)


def test_unreachable_goal_lists_every_gap_and_says_so(scored):
    # D1 needs 100.01 - 93 = 7.01 to pass D0, but only 5 + 2 = 7 points are missing.
    steps = what_if(scored, "D1", "pass_agency_above")
    assert [(s[1], s[6], s[8]) for s in steps] == [("dossier_online_ratio", 5.0, False), ("has_lan", 2.0, False)]


def test_rebuilding_a_year_replaces_it(scored):
    before = scored.execute("SELECT count(*) FROM what_if").fetchall()[0][0]
    build_profiles(scored, RUBRICS)
    assert scored.execute("SELECT count(*) FROM what_if").fetchall()[0][0] == before
    assert scored.execute("SELECT count(*) FROM agency_profiles").fetchall()[0][0] == 6
