"""The report data layer: a year's ranking as every report shows it, read from the marts in one place, so the
workbook, the HTML pages, the console summary (`egov report`) and the national reports cannot disagree on order,
criteria or decimals.

- `ranking(con, year, groups)`: per agency group, in the order of the marts' `agency_groups`, the ranked units sorted
  by rank, then Vietnamese alphabetical order of the name (ties), then code, and the units not ranked for want of
  data (`unranked_reason`) last; each with its criterion points and the 90 % rank interval when the marts hold one;
  each group with its criteria (the top-level ones of a nested rubric, with their maximum points) and the decimals
  its rubric rounds totals to;
- `ranked_years`, `default_year`, `history`: which years are ranked, which one `egov report` shows by default, and
  each unit's rank and index over the years (the national trend);
- `records`, `has_table`, `json_safe`: the one way to read rows as dicts, to ask whether a table exists and to make a
  value JSON-safe (pipelines/core/queries.py, shared with the checks).

A national marts file also holds every province's own tables (rows tagged `province_code`): its readers pass the
national groups (`groups=[PROVINCE_GROUP]`), which no province ranks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import Any, TypedDict

import duckdb

from assets.reports.common import ANNUAL_RETURN_INDICATOR, agency_groups, group_of, vi_sort_key
from pipelines.core.queries import has_table, json_safe, records

__all__ = [
    "Criterion",
    "RankedGroup",
    "default_year",
    "has_table",
    "history",
    "json_safe",
    "ranked_years",
    "ranking",
    "records",
]

# The group filter of every query: NULL = all groups.
_IN_GROUPS = "($2::VARCHAR[] IS NULL OR list_contains($2, agency_group))"


class Criterion(TypedDict):
    """A criterion of a group's rubric, in rubric order."""

    criterion_code: str
    criterion_name: str
    max_points: float  # the sum of its items' points (9 decimals: no binary noise)


class RankedGroup(TypedDict):
    """A group's ranking of a year. `rows`: the marts' `rankings` columns, the rank interval (`median_rank`,
    `q05_rank`, `q95_rank`, None without an analysis) and `criteria` (criterion code → points)."""

    group: str
    label: str  # as the marts' agency_groups name it (label_vi)
    sheet: str  # the workbook sheet's name
    colour: str
    decimals: int  # the rubric's rounding of totals and criterion points
    max_points: float  # the first row's (the group's rubric maximum)
    criteria: list[Criterion]
    rows: list[dict[str, Any]]


def _scope(year: int, groups: Collection[str] | None) -> list[Any]:
    return [int(year), None if groups is None else sorted(groups)]


def ranking(con: duckdb.DuckDBPyConnection, year: int, groups: Collection[str] | None = None) -> list[RankedGroup]:
    """The ranking of `year` per group (only `groups` when given), as every report shows it; [] when nobody is
    ranked. Raises ValueError when a ranked group has no classes in the marts (its decimals would be unknown)."""
    scope = _scope(year, groups)
    rows = records(
        con,
        """
        SELECT r.*, u.median_rank, u.q05_rank, u.q95_rank
        FROM rankings AS r
        LEFT JOIN rank_uncertainty AS u USING (year, agency_group, agency_code)
        WHERE r.year = $1 AND ($2::VARCHAR[] IS NULL OR list_contains($2, r.agency_group))""",
        scope,
    )
    if not rows:
        return []
    points: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for group, code, criterion, value in con.execute(
        f"SELECT agency_group, agency_code, criterion_code, points FROM criterion_scores WHERE year = $1 "
        f"AND {_IN_GROUPS}",
        scope,
    ).fetchall():
        points[(group, code)][criterion] = value
    criteria: dict[str, list[Criterion]] = defaultdict(list)
    for group, code, name, maximum in con.execute(
        f"""
            SELECT agency_group, criterion_code, any_value(criterion_name), round(sum(points), 9)
            FROM rubric_items WHERE year = $1 AND {_IN_GROUPS}
            GROUP BY agency_group, criterion_code
            ORDER BY agency_group, min(criterion_order), criterion_code""",
        scope,
    ).fetchall():
        criteria[group].append(Criterion(criterion_code=code, criterion_name=name, max_points=float(maximum)))
    # nested criteria (docs/rubrics.md §2c): a column per top-level criterion, its maximum the rubric's
    nested: dict[str, list[Criterion]] = defaultdict(list)
    for group, code, name, maximum in con.execute(
        f"""
            SELECT agency_group, criterion_code, criterion_name, round(max_points, 9)
            FROM rubric_criteria AS c WHERE year = $1 AND level = 1 AND {_IN_GROUPS}
            AND EXISTS (SELECT 1 FROM rubric_criteria AS s WHERE s.year = c.year AND s.agency_group = c.agency_group
                        AND s.level > 1)
            ORDER BY agency_group, criterion_order, criterion_code""",
        scope,
    ).fetchall():
        nested[group].append(Criterion(criterion_code=code, criterion_name=name, max_points=float(maximum)))
    criteria.update(nested)
    decimals = dict(
        con.execute(
            f"SELECT agency_group, max(decimals) FROM rubric_classes WHERE year = $1 "
            f"AND {_IN_GROUPS} GROUP BY agency_group",
            scope,
        ).fetchall()
    )
    by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        row["criteria"] = points[(row["agency_group"], row["agency_code"])]
        by_group[row["agency_group"]].append(row)
    known = agency_groups(con)
    ranked: list[RankedGroup] = []
    for code in sorted(by_group, key=lambda g: (group_of(known, g).order, g)):
        if decimals.get(code) is None:
            raise ValueError(
                f"the marts hold no classes (rubric_classes) of group {code!r} in {year}: the decimals "
                "its totals are rounded to are unknown; rebuild the marts with `egov run`"
            )
        group = group_of(known, code)
        # units without enough data for a rank (rankings.unranked_reason) last
        units = sorted(
            by_group[code],
            key=lambda r: (r["rank"] is None, r["rank"] or 0, vi_sort_key(r["agency_name"]), r["agency_code"]),
        )
        ranked.append(
            RankedGroup(
                group=code,
                label=group.label_vi,
                sheet=group.sheet,
                colour=group.colour,
                decimals=int(decimals[code]),
                max_points=units[0]["max_points"],
                criteria=criteria[code],
                rows=units,
            )
        )
    return ranked


def ranked_years(con: duckdb.DuckDBPyConnection, groups: Collection[str] | None = None) -> set[int]:
    """Years with at least one ranked unit (of `groups`) in the marts; none when the marts have no rankings table
    (a marts file made by hand, or before any run)."""
    if not has_table(con, "rankings"):
        return set()
    return {
        int(y)
        for (y,) in con.execute(
            "SELECT DISTINCT year FROM rankings WHERE $1::VARCHAR[] IS NULL OR list_contains($1, agency_group)",
            [None if groups is None else sorted(groups)],
        ).fetchall()
    }


def default_year(con: duckdb.DuckDBPyConnection) -> int | None:
    """The year `egov report` shows by default: the latest whose annual returns are in (the running year is still
    incomplete; the rule of common.provisional), else the latest with indicators."""
    return con.execute(
        "SELECT coalesce(max(year) FILTER (WHERE indicator_code = ? AND denominator IS NOT NULL), "
        "max(year)) FROM indicators",
        [ANNUAL_RETURN_INDICATOR],
    ).fetchall()[0][0]


def history(
    con: duckdb.DuckDBPyConnection, year: int, groups: Collection[str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Each unit's (of `groups`) year, rank, index and total up to `year`, oldest first, by unit code: the trend."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in records(
        con,
        f"""
            SELECT agency_code, year, rank, index_value, total_points FROM rankings
            WHERE year <= $1 AND {_IN_GROUPS} ORDER BY agency_code, year""",
        _scope(year, groups),
    ):
        found[row.pop("agency_code")].append(row)
    return dict(found)
