"""The what-if of a group whose total is not the sum of its items' points (docs/rubrics.md §2c, §3): a geometric
node, `missing: skip` or `min_coverage` anywhere in its tree.

profiles.sql's greedy choice (the items with the most points to gain, largest first) is exact only where the total
is that sum: under a geometric node an item's gain depends on its siblings (a sibling at 0 keeps the node at 0), and
under `skip` a missing item that gets a value re-weights the others. Here each step evaluates the whole tree, as the
scoring does (assets/scoring/uncertainty.py `tree_totals`, every candidate at once): the item whose full points lift
the total most is taken (when none lifts it alone, as beside a sibling at 0, the one with the most points to gain),
until the goal is met; the last item needs only the share that meets it (bisection on the tree, which grows with
the share), turned into a value by its method's inverse (pipelines/core/methods.py, the transform undone) and rounded
as profiles.sql rounds, towards more points. Under `rounding: index` the goal is the total whose index rounds to
the next class's minimum, or one step of the last decimal above the index of the unit above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb
import numpy as np

from assets.scoring.uncertainty import PLAIN, Tree, group_tree, nominal_hows, tree_totals
from pipelines.core.registry.rubrics import UncertaintySpec

EPS = 1e-12  # below this, a difference of totals is the arithmetic's noise
BISECTIONS = 60  # halvings of the share interval: far below any value's 4th decimal


@dataclass
class _Item:
    code: str
    criterion: str
    max_points: float
    method: str
    params: str  # JSON, as rubric_items.params (or the target of a rubric row scored before methods existed)
    transform: str | None
    value_levels: int


def _groups(con: duckdb.DuckDBPyConnection) -> list[tuple[int, str, Tree]]:
    """(year, group, tree) of the groups profiles.sql leaves without a what-if: a node other than a sum with
    missing values at 0, or the index rounded."""
    out = []
    # The groups profiles.sql left out (what_if_tree_groups, by the rules group_tree reads), so a rubric of plain
    # sums (the provincial one) costs one query of an empty table.
    candidates = con.execute("""
        SELECT DISTINCT p.year, p.agency_group FROM agency_profiles AS p
        SEMI JOIN what_if_tree_groups USING (year, agency_group)
        ORDER BY ALL""").fetchall()
    for year, group in candidates:
        tree = group_tree(con, year, group, UncertaintySpec())
        if tree is not None and (tree.rounding == "index" or any(h != PLAIN for h in tree.how.values())):
            out.append((year, group, tree))
    return out


def index_goal(goal: str, threshold: float, maximum: float, decimals: int) -> float:
    """Under rounding: index, the least total that reaches `threshold`: for next_class a class minimum (a total),
    reached when the index rounded half up to `decimals` × the maximum is at least it; for pass_agency_above the
    rounded index of the unit above, passed one step of the last decimal above it."""
    step = 10.0**-decimals
    # next_class: the least index on the grid whose multiple of the maximum reaches the class minimum
    index = math.ceil(round(threshold / maximum / step, 6)) * step if goal == "next_class" else threshold + step
    return (index - step / 2) * maximum + 1e-9  # rounded half up from here (a hair above: no tie left to the floats)


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> float | None:
    value = con.execute(sql, params).fetchall()[0][0]
    return None if value is None else float(value)


class _Group:
    """A year and group: its items in rubric order, their current shares and values per unit, and the tree."""

    def __init__(self, con: duckdb.DuckDBPyConnection, year: int, group: str, tree: Tree):
        self.con, self.year, self.group, self.tree = con, year, group, tree
        self.items = [
            _Item(*r)
            for r in con.execute(
                "SELECT r.indicator_code, r.criterion_code, r.points, coalesce(r.method, 'target'), "
                "CAST(coalesce(r.params, json_object('target', r.target)) AS VARCHAR), r.transform, "
                "coalesce(l.value_levels, 10000) "
                "FROM rubric_items AS r LEFT JOIN indicator_labels AS l USING (indicator_code) "
                "WHERE r.year = ? AND r.agency_group = ? ORDER BY r.criterion_order, r.item_order",
                [year, group],
            ).fetchall()
        ]
        self.points = np.array([i.max_points for i in self.items], dtype=float)
        self.current: dict[str, dict[str, tuple]] = {}
        for unit, code, value, points in con.execute(
            "SELECT agency_code, indicator_code, value, points FROM indicator_scores "
            "WHERE year = ? AND agency_group = ?",
            [year, group],
        ).fetchall():
            self.current.setdefault(unit, {})[code] = (value, points)

    def state(self, unit: str) -> tuple[np.ndarray, np.ndarray]:
        """The unit's shares and whether each item has a (finite) value."""
        got = self.current.get(unit, {})
        shares, valued = [], []
        for i, item in enumerate(self.items):
            value, points = got.get(item.code, (None, None))
            has = value is not None and math.isfinite(value)
            valued.append(has)
            shares.append(0.0 if points is None or not self.points[i] else points / self.points[i])
        return np.array(shares), np.array(valued)

    def totals(self, shares: np.ndarray, valued: np.ndarray) -> np.ndarray:
        """Totals of candidates × items shares (NaN: no total), the tree evaluated as the scoring does."""
        n = len(self.items)
        total = tree_totals(
            self.tree,
            [i.criterion for i in self.items],
            self.points[None, :],
            shares.T,
            np.arange(n)[None, :],
            valued.T,
            nominal_hows(self.tree, 1),
        )[0]
        return np.nan_to_num(total, nan=-math.inf)

    def others(self, unit: str, item: _Item) -> tuple[float | None, float | None]:
        """The smallest and largest value of the other units of the group, in the units the method reads."""
        row = self.con.execute(
            "SELECT min(method_transform(?, value)) FILTER (WHERE isfinite(value)), "
            "max(method_transform(?, value)) FILTER (WHERE isfinite(value)) FROM indicator_scores "
            "WHERE year = ? AND agency_group = ? AND indicator_code = ? AND agency_code <> ?",
            [item.transform, item.transform, self.year, self.group, item.code, unit],
        ).fetchall()[0]
        return row[0], row[1]

    def value_for(self, unit: str, item: _Item, share: float) -> tuple[float, float, float | None, bool]:
        """(required value, its share, the full-points value, lower is better) of `share` of the item's points: the
        method's inverse, rounded to a value the indicator can take towards more points (as profiles.sql)."""
        lo, hi = self.others(unit, item)
        prm = "method_params_for(CAST(? AS JSON), ?)"
        higher = self.con.execute(
            f"SELECT method_higher_is_better(?, {prm})", [item.method, item.params, item.transform]
        ).fetchall()[0][0]
        inverse = f"SELECT method_untransform(?, method_value(?, ?, 1, {prm}, ?, ?))"
        exact = _one(self.con, inverse, [item.transform, item.method, share, item.params, item.transform, lo, hi])
        full = _one(self.con, inverse, [item.transform, item.method, 1.0, item.params, item.transform, lo, hi])
        levels = item.value_levels
        if exact is None:  # any value earns it (no other unit to compare with): the smallest positive one
            required = 1.0 / levels
        elif higher:
            required = math.ceil(exact * levels) / levels
            required = required if full is None else min(required, full)
        else:
            required = math.floor(exact * levels) / levels
            required = required if full is None else max(required, full)
        got = _one(
            self.con,
            f"SELECT method_share(?, t, {prm}, least(?, t), greatest(?, t)) FROM (SELECT method_transform(?, ?) AS t)",
            [item.method, item.params, item.transform, lo, hi, item.transform, required],
        )
        return required, got or 0.0, full, not higher

    def steps(self, unit: str, goal_total: float) -> tuple[bool, list[tuple[int, float, float, float | None, bool]]]:
        """Whether the unit can reach `goal_total`, and its steps: (item index, required value, new share, full
        value, lower is better)."""
        shares, valued = self.state(unit)
        steps: list[tuple[int, float, float, float | None, bool]] = []
        now = self.totals(shares[None, :], valued[None, :])[0]
        while now < goal_total - EPS:
            open_ = [i for i in range(len(self.items)) if shares[i] < 1 - EPS or not valued[i]]
            if not open_:
                return False, steps
            cand_s, cand_v = np.tile(shares, (len(open_), 1)), np.tile(valued, (len(open_), 1))
            for row, i in enumerate(open_):
                cand_s[row, i], cand_v[row, i] = 1.0, True
            lifted = self.totals(cand_s, cand_v)
            best = min(
                range(len(open_)),
                key=lambda r: (
                    lifted[r] <= now + EPS,
                    -lifted[r],
                    -self.points[open_[r]] * (1 - shares[open_[r]]),
                    self.items[open_[r]].code,
                ),
            )
            i = open_[best]
            share = 1.0
            if lifted[best] >= goal_total - EPS:  # the last step: the least share that meets the goal
                low, high = shares[i], 1.0
                for _ in range(BISECTIONS):
                    mid = (low + high) / 2
                    s, v = shares.copy(), valued.copy()
                    s[i], v[i] = mid, True
                    if self.totals(s[None, :], v[None, :])[0] >= goal_total - EPS:
                        high = mid
                    else:
                        low = mid
                share = high
            required, got, full, lower = self.value_for(unit, self.items[i], share)
            shares[i], valued[i] = got, True
            steps.append((i, required, got, full, lower))
            now = self.totals(shares[None, :], valued[None, :])[0]
        return True, steps


def tree_what_if(con: duckdb.DuckDBPyConnection) -> int:
    """Add to `what_if` the steps of the units of the groups profiles.sql leaves out; returns the rows added."""
    rows = []
    for year, group, tree in _groups(con):
        g = _Group(con, year, group, tree)
        goals = con.execute(
            """
            SELECT p.agency_code, 'next_class', 'đạt loại ' || p.next_class, p.next_class_min, p.total_points,
                   NULL, p.max_points, d.decimals
            FROM agency_profiles AS p
            JOIN (SELECT DISTINCT year, agency_group, decimals FROM rubric_classes) AS d USING (year, agency_group)
            WHERE p.year = $1 AND p.agency_group = $2 AND p.next_class IS NOT NULL
            UNION ALL
            SELECT p.agency_code, 'pass_agency_above', 'vượt ' || coalesce(p.agency_above_name, p.agency_above_code),
                   CAST(CAST(p.agency_above_total AS DECIMAL(38, 9)) + CAST(10 ** -d.decimals AS DECIMAL(18, 9))
                        AS DOUBLE), p.total_points, a.index_value, p.max_points, d.decimals
            FROM agency_profiles AS p
            JOIN (SELECT DISTINCT year, agency_group, decimals FROM rubric_classes) AS d USING (year, agency_group)
            LEFT JOIN rankings AS a
                   ON a.year = p.year AND a.agency_group = p.agency_group AND a.agency_code = p.agency_above_code
            WHERE p.year = $1 AND p.agency_group = $2 AND p.agency_above_code IS NOT NULL
            ORDER BY 1, 2""",
            [year, group],
        ).fetchall()
        for unit, goal, label, goal_total, total, above_index, maximum, decimals in goals:
            if tree.rounding == "index":
                goal_total = index_goal(goal, goal_total if goal == "next_class" else above_index, maximum, decimals)
            reachable, steps = g.steps(unit, goal_total)
            current = g.current.get(unit, {})
            for step, (i, required, share, full, lower) in enumerate(steps, start=1):
                item = g.items[i]
                value, points = current.get(item.code, (None, None))
                new = round(item.max_points * share, 9)
                rows.append(
                    (
                        year,
                        unit,
                        goal,
                        label,
                        round(goal_total - total, 9),
                        reachable,
                        step,
                        item.criterion,
                        item.code,
                        value,
                        required,
                        full,
                        points or 0.0,
                        new,
                        round(new - (points or 0.0), 9),
                        lower,
                    )
                )
    if rows:
        con.executemany("INSERT INTO what_if VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)
