"""Scoring and ranking (docs/domain.md §5) on hand-computed fixtures: points, rounding at the class boundaries,
ties, the district variant, criterion ranks, merged agencies' previous rank, rubric fallback and backfills.

Scored with the tests' own standard rubric (tests/fixtures/rubrics/standard/2016.yaml): the figures below are
computed by hand from its points and targets, whatever the bundled config/rubrics/ says."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml
from conftest import RUBRIC_FIXTURES, create_tables

from assets.scoring.score import score_years
from pipelines.core.registry.reading import RubricError
from pipelines.core.registry.rubrics import load_rubric
from pipelines.core.warehouse import connect

RUBRICS = RUBRIC_FIXTURES / "standard"
STANDARD = load_rubric(RUBRICS / "2016.yaml")
SERVICES = [i.code for c in STANDARD.variants["department"].criteria if c.code == "services" for i in c.items]
PEOPLE = ["it_staff_present", "staff_it_trained_ratio", "it_security_trained_ratio"]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = connect(":memory:")  # the warehouse's staging tables and the agency_years view
    create_tables(con, "indicators")  # indicator_values as the indicator assets create it
    return con


def agency(
    con,
    code: str,
    group: str = "department",
    *,
    name: str | None = None,
    valid_from: str | None = None,
    valid_to: str | None = None,
    successor: str | None = None,
    parent: str | None = None,
) -> None:
    con.execute(
        "INSERT INTO stg_agencies (agency_code, agency_name, agency_group, parent_code, valid_from, "
        "valid_to, successor_code) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [code, name or f"Cơ quan {code}", group, parent, valid_from, valid_to, successor],
    )


def values(
    con, year: int, code: str, group: str = "department", *, nulls: tuple[str, ...] = (), **overrides: float | None
) -> None:
    """Every indicator of the group's standard rubric at its target, except `nulls` (NULL) and `overrides`."""
    con.execute("DELETE FROM indicator_values WHERE year = ? AND agency_code = ?", [year, code])
    rows = {i.code: i.target for c in STANDARD.variants[group].criteria for i in c.items}
    rows.update(dict.fromkeys(nulls))
    rows.update(overrides)
    con.executemany(
        "INSERT INTO indicator_values VALUES (?, ?, ?, NULL, NULL, ?, 'computed')",
        [[year, code, k, v] for k, v in rows.items()],
    )


def ranking(con, year: int, code: str) -> dict:
    cur = con.execute("SELECT * FROM rankings_history WHERE year = ? AND agency_code = ?", [year, code])
    cols = [d[0] for d in cur.description]
    rows = cur.fetchall()
    assert len(rows) == 1, rows
    return dict(zip(cols, rows[0], strict=True))


def item(con, year: int, code: str, indicator: str) -> tuple:
    return con.execute(
        "SELECT value, target, points, max_points FROM indicator_scores "
        "WHERE year = ? AND agency_code = ? AND indicator_code = ?",
        [year, code, indicator],
    ).fetchall()[0]


def crit(con, year: int, code: str, criterion: str) -> tuple:
    return con.execute(
        "SELECT points, max_points, rank, criterion_name FROM criterion_scores "
        "WHERE year = ? AND agency_code = ? AND criterion_code = ?",
        [year, code, criterion],
    ).fetchall()[0]


def test_all_indicators_at_target_score_100(con):
    agency(con, "D1")
    values(con, 2024, "D1")
    counts = score_years(con, [2024], RUBRICS)
    assert counts["rankings"] == 1 and counts["indicator_scores"] == 22 and counts["criterion_scores"] == 5
    r = ranking(con, 2024, "D1")
    assert (r["total_points"], r["max_points"], r["index_value"], r["rank"], r["classification"]) == (
        100.0,
        100.0,
        1.0,
        1,
        "Tốt",
    )
    assert r["agency_name"] == "Cơ quan D1" and r["agency_group"] == "department" and r["rubric_year"] == 2016
    assert r["prev_rank"] is None and r["rank_change"] is None and r["rank_change_label"] is None
    assert crit(con, 2024, "D1", "services") == (40.0, 40.0, 1, "Ứng dụng CNTT phục vụ người dân và doanh nghiệp")


def test_partial_null_negative_and_above_target_values(con):
    agency(con, "D1")
    con.executemany(
        "INSERT INTO indicator_values VALUES (2024, 'D1', ?, NULL, NULL, ?, 'computed')",
        [
            ["edoc_ratio", 0.45],  # 0.45 / 0.9 of 8 points → 4
            ["esign_ratio", None],  # unknown → 0
            ["official_email_ratio", -0.5],  # impossible negative → clamped to 0
            ["svc_online_ratio", 0.96],  # above the 0.8 target → capped at 8
            ["computers_per_staff", float("nan")],  # not a number → 0, never full points
            ["dossier_online_ratio", 0.1],  # 0.1 / 0.5 of 10 → 2
        ],
    )
    score_years(con, [2024], RUBRICS)
    assert item(con, 2024, "D1", "edoc_ratio") == (0.45, 0.9, 4.0, 8.0)
    assert item(con, 2024, "D1", "esign_ratio") == (None, 0.9, 0.0, 6.0)
    assert item(con, 2024, "D1", "official_email_ratio") == (-0.5, 1.0, 0.0, 6.0)
    assert item(con, 2024, "D1", "svc_online_ratio") == (0.96, 0.8, 8.0, 8.0)
    assert item(con, 2024, "D1", "computers_per_staff")[2:] == (0.0, 6.0)
    assert item(con, 2024, "D1", "has_lan") == (None, 1.0, 0.0, 2.0)  # no row at all → 0
    assert crit(con, 2024, "D1", "internal")[:2] == (4.0, 20.0)
    assert crit(con, 2024, "D1", "services")[:2] == (10.0, 40.0)
    r = ranking(con, 2024, "D1")
    assert (r["total_points"], r["index_value"], r["classification"]) == (14.0, 0.14, "Yếu")


@pytest.mark.parametrize(
    ("nulls", "overrides", "total", "label"),
    [
        (("dossier_online_ratio", "dossier_on_time_ratio", "has_it_plan"), {}, 80.0, "Tốt"),
        (
            ("dossier_online_ratio", "dossier_on_time_ratio", "has_it_plan"),
            {"staff_it_trained_ratio": 0.99875},
            80.0,
            "Tốt",
        ),  # 79.995 rounds to 80.00
        (
            ("dossier_online_ratio", "dossier_on_time_ratio", "has_it_plan"),
            {"staff_it_trained_ratio": 0.9985},
            79.99,
            "Khá",
        ),  # 79.994
        ((*SERVICES,), {"dossier_online_ratio": 0.25}, 65.0, "Khá"),
        ((*SERVICES,), {"dossier_online_ratio": 0.2495}, 64.99, "Trung bình"),
        ((*SERVICES, *PEOPLE), {}, 50.0, "Trung bình"),
        ((*SERVICES, *PEOPLE), {"has_it_plan": 0.9975}, 49.99, "Yếu"),
    ],
)
def test_classification_boundaries_on_the_rounded_total(con, nulls, overrides, total, label):
    agency(con, "D1")
    values(con, 2024, "D1", nulls=nulls, **overrides)
    score_years(con, [2024], RUBRICS)
    r = ranking(con, 2024, "D1")
    assert (r["total_points"], r["classification"]) == (total, label)


def test_ties_rank_competition_style_on_the_rounded_total(con):
    for code in ("D1", "D2", "D3", "D4"):
        agency(con, code)
    lost20 = ("dossier_online_ratio", "dossier_on_time_ratio", "has_it_plan")
    values(con, 2024, "D1")  # 100
    values(con, 2024, "D2", nulls=lost20)  # 80.00
    values(con, 2024, "D3", nulls=lost20, has_it_plan=0.001)  # 80.004 → 80.00: tied with D2
    values(con, 2024, "D4", nulls=(*lost20, "edoc_ratio", "esign_ratio"), edoc_ratio=0.45)  # 80 - 4 - 6
    score_years(con, [2024], RUBRICS)
    got = con.execute("SELECT agency_code, total_points, rank FROM rankings ORDER BY agency_code").fetchall()
    assert got == [("D1", 100.0, 1), ("D2", 80.0, 2), ("D3", 80.0, 2), ("D4", 70.0, 4)]
    # criterion ranks: within (year, group, criterion), same competition style
    assert [crit(con, 2024, c, "policy")[:3] for c in ("D1", "D2", "D3", "D4")] == [
        (10.0, 10.0, 1),
        (6.0, 10.0, 2),
        (6.004, 10.0, 2),
        (6.0, 10.0, 2),
    ]
    assert [crit(con, 2024, c, "internal")[2] for c in ("D1", "D2", "D3", "D4")] == [1, 1, 1, 4]
    assert [crit(con, 2024, c, "services")[2] for c in ("D1", "D2", "D3", "D4")] == [1, 2, 2, 2]


def test_district_rubric_scales_to_90_and_adds_communes(con):
    agency(con, "D1")
    agency(con, "H1", "district")
    agency(con, "H2", "district")
    values(con, 2024, "D1", edoc_ratio=0.45)
    values(con, 2024, "H1", "district")
    values(con, 2024, "H2", "district", edoc_ratio=0.45, commune_lan_ratio=0.5, commune_website_ratio=None)
    score_years(con, [2024], RUBRICS)
    h1 = ranking(con, 2024, "H1")
    assert (h1["total_points"], h1["max_points"], h1["index_value"], h1["rank"], h1["classification"]) == (
        100.0,
        100.0,
        1.0,
        1,
        "Tốt",
    )
    assert item(con, 2024, "H2", "edoc_ratio") == (0.45, 0.9, 3.6, 7.2)  # 0.9 × (8 × 0.5)
    assert item(con, 2024, "H2", "commune_lan_ratio") == (0.5, 1.0, 1.25, 2.5)
    assert item(con, 2024, "H2", "commune_website_ratio") == (None, 1.0, 0.0, 2.5)
    assert crit(con, 2024, "H2", "communes") == (6.25, 10.0, 2, "Ứng dụng CNTT tại UBND cấp xã")
    assert crit(con, 2024, "H2", "internal")[:2] == (14.4, 18.0)
    assert con.execute(
        "SELECT criterion_code, max_points FROM criterion_scores WHERE agency_code = 'H1' ORDER BY criterion_code"
    ).fetchall() == [
        ("communes", 10.0),
        ("infrastructure", 18.0),
        ("internal", 18.0),
        ("people", 9.0),
        ("policy", 9.0),
        ("services", 36.0),
    ]
    h2 = ranking(con, 2024, "H2")
    assert (h2["total_points"], h2["index_value"], h2["rank"], h2["classification"]) == (
        92.65,
        0.9265,
        2,
        "Tốt",
    )  # 100 - 3.6 - 1.25 - 2.5
    d1 = ranking(con, 2024, "D1")  # departments rank on their own
    assert (d1["total_points"], d1["rank"]) == (96.0, 1)
    assert con.execute(
        "SELECT count(*) FROM indicator_scores WHERE agency_code = 'D1' AND criterion_code = 'communes'"
    ).fetchall()[0] == (0,)


def test_only_agencies_existing_on_31_december_are_ranked(con):
    agency(con, "D1")
    agency(con, "OLD", valid_to="2024-06-30")
    agency(con, "NEW", valid_from="2025-01-01")
    for code in ("D1", "OLD"):
        values(con, 2024, code)
    score_years(con, [2024], RUBRICS)
    assert con.execute("SELECT agency_code FROM rankings").fetchall() == [("D1",)]
    assert con.execute("SELECT DISTINCT agency_code FROM indicator_scores").fetchall() == [("D1",)]


def test_previous_rank_own_or_merged_predecessors_and_never_stale(con):
    agency(con, "A")
    agency(con, "B")
    agency(con, "M1", valid_to="2021-03-31", successor="N")
    agency(con, "M2", valid_to="2021-03-31", successor="N")
    agency(con, "N", valid_from="2021-04-01")
    agency(con, "C", valid_from="2021-01-01")
    values(con, 2020, "A")  # 1
    values(con, 2020, "M1", nulls=("dossier_online_ratio",))  # 90 → 3
    values(con, 2020, "M2", nulls=("has_it_plan",))  # 96 → 2
    values(con, 2020, "B", nulls=SERVICES)  # 60 → 4
    values(con, 2021, "N")  # 100 → 1
    values(con, 2021, "A", nulls=("has_it_plan",))  # 96 → 2
    values(con, 2021, "B", nulls=SERVICES)  # 60 → 4
    values(con, 2021, "C", nulls=("edoc_ratio",))  # 92 → 3
    score_years(con, [2020, 2021], RUBRICS)
    got = {
        code: (r["rank"], r["prev_rank"], r["rank_change"], r["rank_change_label"])
        for code in ("N", "A", "B", "C")
        for r in [ranking(con, 2021, code)]
    }
    assert got == {
        "N": (1, 2, 1, "tăng 1 bậc"),  # best of its predecessors M2 (2) and M1 (3)
        "A": (2, 1, -1, "giảm 1 bậc"),
        "B": (4, 4, 0, "giữ nguyên"),
        "C": (3, None, None, None),  # new, no predecessor
    }
    # Recompute 2020 alone: A falls to 4th, B rises to 3rd; 2021's changes follow without rescoring 2021.
    values(con, 2020, "A", nulls=(*SERVICES, *PEOPLE))  # 50 → 4
    score_years(con, [2020], RUBRICS)
    assert ranking(con, 2021, "A")["rank_change_label"] == "tăng 2 bậc"
    assert ranking(con, 2021, "B")["rank_change_label"] == "giảm 1 bậc"
    assert ranking(con, 2021, "N")["prev_rank"] == 1  # M2 is now first in 2020


def test_own_previous_rank_wins_over_predecessors_and_groups_stay_apart(con):
    agency(con, "A")
    agency(con, "B", valid_to="2021-02-28", successor="A")
    agency(con, "H", "district", valid_to="2021-02-28", successor="A")
    values(con, 2020, "A", nulls=("has_it_plan",))
    values(con, 2020, "B")
    values(con, 2020, "H", "district")
    values(con, 2021, "A")
    score_years(con, [2020, 2021], RUBRICS)
    assert ranking(con, 2021, "A")["prev_rank"] == 2


def test_idempotent_and_a_bad_rubric_changes_nothing(con, tmp_path: Path):
    agency(con, "D1")
    agency(con, "D2")
    values(con, 2024, "D1")
    values(con, 2024, "D2", edoc_ratio=0.45)
    first = score_years(con, [2024], RUBRICS)
    snapshot = con.execute("SELECT * FROM rankings ORDER BY agency_code").fetchall()
    assert score_years(con, [2024], RUBRICS) == first
    assert con.execute("SELECT * FROM rankings ORDER BY agency_code").fetchall() == snapshot
    data = yaml.safe_load((RUBRICS / "2016.yaml").read_text(encoding="utf-8"))
    data["classification"][0]["min"] = 60
    (tmp_path / "2016.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RubricError, match="thresholds out of order"):
        score_years(con, [2024], tmp_path)
    assert con.execute("SELECT * FROM rankings ORDER BY agency_code").fetchall() == snapshot
    with pytest.raises(RubricError, match="no rubric for 2015"):
        score_years(con, [2015], RUBRICS)
    assert score_years(con, [], RUBRICS)["rankings"] == 0


def test_rubric_fallback_and_backfill_use_the_years_own_rubric(con, tmp_path: Path):
    data = yaml.safe_load((RUBRICS / "2016.yaml").read_text(encoding="utf-8"))
    (tmp_path / "2016.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    next(c for c in data["criteria"] if c["code"] == "internal")["indicators"][0]["target"] = 0.45
    data["year"] = 2020
    (tmp_path / "2020.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    agency(con, "D1")
    for year in (2019, 2020, 2021):
        values(con, year, "D1", edoc_ratio=0.45)
    score_years(con, [2020, 2021], tmp_path)
    score_years(con, [2019], tmp_path)  # a backfill after later years were scored
    got = con.execute("""SELECT s.year, s.points, s.target, r.rubric_year, r.total_points
        FROM indicator_scores AS s JOIN rankings AS r USING (year, agency_code)
        WHERE s.indicator_code = 'edoc_ratio' ORDER BY s.year""").fetchall()
    assert got == [(2019, 4.0, 0.9, 2016, 96.0), (2020, 8.0, 0.45, 2020, 100.0), (2021, 8.0, 0.45, 2020, 100.0)]
    assert con.execute("SELECT DISTINCT year, rubric_year FROM rubric_items ORDER BY year").fetchall() == [
        (2019, 2016),
        (2020, 2020),
        (2021, 2020),
    ]


def test_an_assessed_indicator_added_in_yaml_only_changes_the_score(con, tmp_path: Path):
    agency(con, "D1")
    values(con, 2024, "D1")
    con.execute("INSERT INTO indicator_values VALUES (2024, 'D1', 'portal_quality', 0.5, NULL, 0.5, 'assessment')")
    score_years(con, [2024], RUBRICS)
    assert ranking(con, 2024, "D1")["total_points"] == 100.0  # not in the rubric: ignored
    data = yaml.safe_load((RUBRICS / "2016.yaml").read_text(encoding="utf-8"))
    data["assessed_indicators"] = [{"code": "portal_quality", "name": "Chất lượng cổng thông tin điện tử"}]
    services = next(c for c in data["criteria"] if c["code"] == "services")
    services["indicators"][-1]["points"] = 2  # one_stop_in_software_ratio: 4 → 2 points
    services["indicators"].append({"code": "portal_quality", "points": 2, "target": 1})
    (tmp_path / "2016.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    score_years(con, [2024], tmp_path)
    assert item(con, 2024, "D1", "portal_quality") == (0.5, 1.0, 1.0, 2.0)
    assert ranking(con, 2024, "D1")["total_points"] == 99.0


def test_a_year_is_recorded_by_a_row_of_any_yearly_source_never_by_the_registry(con):
    from assets.scoring.score import years_without_records
    from pipelines.core.registry.sources import load_sources

    sources = load_sources()
    agency(con, "D1")  # the registry lists D1 every year: not a record of any
    values(con, 2024, "D1")
    values(con, 2025, "D1")
    assert years_without_records(con, [2024, 2025], sources) == [2024, 2025]
    # one inspector's value (a yearly source like any other) is a record of 2025
    con.execute(
        "INSERT INTO stg_assessments (year, agency_code, indicator_code, value) VALUES (2025, 'D1', 'has_it_plan', 1)"
    )
    assert years_without_records(con, [2024, 2025], sources) == [2024]
    score_years(con, [2024, 2025], RUBRICS, not_ranked=[2024])
    assert con.execute("SELECT year, count(*) FROM rankings GROUP BY ALL").fetchall() == [(2025, 1)]
    # a year ranked before loses its ranking when it has no record any more
    score_years(con, [2024, 2025], RUBRICS, not_ranked=[2024, 2025])
    assert con.execute("SELECT count(*) FROM rankings").fetchone()[0] == 0


def test_rubric_rows_are_written_by_one_insert_of_a_list_per_column():
    """insert_rows (one INSERT unnesting a list per column, instead of executemany's statement per row) writes every
    row once and in step: NULLs stay NULL (also a column of NULLs only), ints and floats mixed in one column are cast
    to the column's type, a column not named gets its default."""
    from pipelines.core.warehouse import insert_rows

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t (k INTEGER, label VARCHAR, points DECIMAL(38, 9), share DOUBLE, none VARCHAR, "
        "extra VARCHAR DEFAULT 'x')"
    )
    rows = [
        (1, "a", 2.5, None, None),
        (2, None, 0, 0.25, None),
        (3, "c", 10, 1, None),
        (4, "d", None, None, None),
        (5, "e", 1.125, -0.5, None),
    ]
    insert_rows(con, "t", ["k", "label", "points", "share", "none"], rows)
    insert_rows(con, "t", ["k"], [])  # nothing to write: no statement
    assert con.execute("SELECT * FROM t ORDER BY k").fetchall() == [
        (1, "a", Decimal("2.5"), None, None, "x"),
        (2, None, Decimal(0), 0.25, None, "x"),
        (3, "c", Decimal(10), 1.0, None, "x"),
        (4, "d", None, None, None, "x"),
        (5, "e", Decimal("1.125"), -0.5, None, "x"),
    ]
