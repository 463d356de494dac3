"""Scoring methods by name: how an indicator value earns a share of an item's points, and back.

A rubric item names its method (`method: goalposts`, default `target`). Each method is ONE entry of `METHODS`:
its parameters (checked when a rubric is loaded), its forward formula (value → share of the points), its inverse
(share of the points → the value that earns it, which the what-if uses, so the what-if is right for every
method), and its Vietnamese description for the methodology sheet. Both formulas are DuckDB SQL: `install()`
turns the registry into temporary macros (`method_share`, `method_value`, ...) that score.sql and profiles.sql
call, so the arithmetic stays in the warehouse and an analyst can read it in `macros_sql()`.

Names follow COINr's normalisation functions (n_minmax, n_goalposts, n_fracmax): one formula per name, the
parameters beside the name. Lower is better: `goalposts` with best below worst; `minmax` and `fraction_of_max` with
`direction: -1` (COINr's iMeta Direction), from the group's own data, never from posts copied by hand.

`transform: log` on an item (TRANSFORMS) takes the natural log of the value and of the parameters given in the
value's units (`Param.log`: target, worst, best, step minima) before the method applies; the inverse's value is
taken back (exp). A rubric checks the parameters under the transform when it is loaded (`log_params`).

In the SQL of an entry:
  forward  `v` the value (finite, not NULL), `p` the parameters (a struct), `g_min` / `g_max` the smallest and
           largest value among the units of the group and year that have one (this unit included). The
           result may leave [0, 1]: `method_share` clamps it, and a NULL, NaN or infinite value earns 0.
           Under a transform, `v`, `g_min`, `g_max` and the parameters are in the transformed units.
  inverse  `want` of `out_of` points (share = want / out_of, both DECIMAL so `target` keeps exact arithmetic),
           `p`, and `g_min` / `g_max` of the OTHER units of the group (NULL when there are none): the least
           value (the greatest when lower is better) that earns that share, the others' values unchanged;
           NULL when any value earns it (`fraction_of_max` with no other positive value, `minmax` alone).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import duckdb

from pipelines.core.sql import sql_literal
from pipelines.core.vietnamese import vn_number

REQUIRED = object()  # a parameter without default


class MethodError(ValueError):
    """A rubric item's method or parameters cannot be used; the message says which and why."""


def _number(name: str, value: Any, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MethodError(f"{name} must be a number, got {value!r}")
    if positive and value <= 0:
        raise MethodError(f"{name} must be positive, got {value!r}")
    return float(value)


def _positive(name: str, value: Any) -> float:
    return _number(name, value, positive=True)


def _steps(name: str, value: Any) -> list[dict[str, float]]:
    """[{min, share}, ...]: minimums strictly increasing, shares in (0, 1] not decreasing, the last share 1
    (so the item's points are what the top step earns)."""
    if not isinstance(value, list) or not value:
        raise MethodError(f"{name} must be a non-empty list of {{min, share}}, got {value!r}")
    steps = []
    for i, raw in enumerate(value, start=1):
        if not isinstance(raw, dict) or set(raw) != {"min", "share"}:
            raise MethodError(f"{name}[{i}] must be a mapping with exactly the keys min and share, got {raw!r}")
        share = _number(f"{name}[{i}].share", raw["share"])
        if not 0 < share <= 1:
            raise MethodError(f"{name}[{i}].share must lie in (0, 1], got {raw['share']!r}")
        steps.append({"min": _number(f"{name}[{i}].min", raw["min"]), "share": share})
    mins, shares = [s["min"] for s in steps], [s["share"] for s in steps]
    if any(a >= b for a, b in zip(mins, mins[1:], strict=False)):
        raise MethodError(f"{name}: list the steps from the lowest min up, strictly increasing (got {mins})")
    if any(a > b for a, b in zip(shares, shares[1:], strict=False)):
        raise MethodError(f"{name}: a higher step cannot earn a smaller share (got {shares})")
    if shares[-1] != 1:
        raise MethodError(f"{name}: the highest step must earn share 1 (the item's full points), got {shares[-1]}")
    return steps


def _times(value: float, factor: float) -> float:
    return value * factor


def _steps_times(value: list[dict[str, float]], factor: float) -> list[dict[str, float]]:
    """Each step's threshold moves, its share stays: "full points at 80 %" becomes "at 80 % × factor"."""
    return [{"min": s["min"] * factor, "share": s["share"]} for s in value]


def _kept(value: Any, factor: float) -> Any:
    return value


def _direction(name: str, value: Any) -> float:
    if isinstance(value, bool) or value not in (1, -1):
        raise MethodError(f"{name} must be 1 (higher is better) or -1 (lower is better), got {value!r}")
    return float(value)


def _log_number(name: str, value: float) -> float:
    if value <= 0:
        raise MethodError(f"{name} must be positive under transform: log (its logarithm is taken), got {value:g}")
    return math.log(value)


def _log_steps(name: str, value: list[dict[str, float]]) -> list[dict[str, float]]:
    return [
        {"min": _log_number(f"{name}[{i}].min", s["min"]), "share": s["share"]} for i, s in enumerate(value, start=1)
    ]


@dataclass(frozen=True)
class Param:
    """A method parameter as written in a rubric item."""

    name: str
    json_type: Any  # its type for DuckDB's json_transform: "DOUBLE", or a structure like [{"min": "DOUBLE"}]
    check: Callable[[str, Any], Any]  # (name, YAML value) → the value stored; raises MethodError
    default: Any = REQUIRED
    # (value, factor) → the parameter moved by `factor` (the uncertainty analysis' `targets: 0.1` draws factors in
    # [0.9, 1.1]); a threshold on the value scale is multiplied, so the order of goalposts and steps is kept
    perturb: Callable[[Any, float], Any] = _times
    # given in the value's units: (name, value) → the value under `transform: log` (raises MethodError when it has no
    # logarithm), and the same in SQL on `p`; None: the parameter is not in the value's units (direction)
    log: Callable[[str, Any], Any] | None = _log_number
    log_sql: str | None = None  # default: ln(p.<name>)


@dataclass(frozen=True)
class Method:
    """One scoring method: parameters, forward and inverse SQL, direction, Vietnamese texts."""

    name: str
    params: tuple[Param, ...]
    forward_sql: str
    inverse_sql: str
    description_vi: str  # the points earned, in words ("điểm tối đa × …"), for the methodology sheet
    summary_vi: Callable[[dict[str, Any]], str]  # one item's parameters in words ("mục tiêu 0,9")
    higher_is_better_sql: str = "true"  # SQL on `p`: false when a lower value earns more
    check: Callable[[dict[str, Any]], None] | None = None  # a rule across parameters


def _n(x: float) -> str:
    return vn_number(x, None)


def _lower(p: dict[str, Any]) -> bool:
    return (p.get("direction") or 1) < 0


# `direction: -1` (lower is better) of the methods relative to the group; absent (None): 1, and not stored, so the
# parameters of an item written before the key existed are unchanged
DIRECTION = Param("direction", "DOUBLE", _direction, None, perturb=_kept, log=None)


def _goalposts_check(p: dict[str, Any]) -> None:
    if p["worst"] == p["best"]:
        raise MethodError(f"worst and best must differ (both {p['best']:g})")


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "target",
            (Param("target", "DOUBLE", _positive, 1.0),),
            forward_sql="v / p.target",
            inverse_sql="CAST(p.target AS DECIMAL(38, 9)) * want / out_of",
            description_vi="điểm tối đa × min(giá trị / mục tiêu, 1).",
            summary_vi=lambda p: f"mục tiêu {_n(p['target'])}",
        ),
        Method(
            "goalposts",
            (Param("worst", "DOUBLE", _number), Param("best", "DOUBLE", _number)),
            forward_sql="(v - p.worst) / (p.best - p.worst)",
            inverse_sql="CAST(p.worst AS DECIMAL(38, 9)) "
            "+ (CAST(p.best AS DECIMAL(38, 9)) - CAST(p.worst AS DECIMAL(38, 9))) * want / out_of",
            description_vi="điểm tối đa × (giá trị − mức kém) / (mức tốt − mức kém), từ 0 đến đủ điểm; mức tốt nhỏ "
            "hơn mức kém nghĩa là giá trị càng thấp càng tốt (vd. số ngày xử lý).",
            summary_vi=lambda p: (
                f"{'càng thấp càng tốt: ' if p['best'] < p['worst'] else ''}"
                f"{_n(p['worst'])} được 0 điểm, {_n(p['best'])} được đủ điểm"
            ),
            higher_is_better_sql="p.best > p.worst",
            check=_goalposts_check,
        ),
        Method(
            "fraction_of_max",
            (DIRECTION,),
            forward_sql="CASE WHEN coalesce(p.direction, 1) < 0 THEN CASE WHEN g_min > 0 THEN g_min / v ELSE 0 END "
            "WHEN g_max > 0 THEN v / g_max ELSE 0 END",
            inverse_sql="CASE WHEN coalesce(p.direction, 1) < 0 "
            "THEN CASE WHEN g_min > 0 THEN g_min * out_of / want END "
            "WHEN g_max > 0 THEN g_max * want / out_of END",
            description_vi="điểm tối đa × giá trị / giá trị lớn nhất của các đơn vị cùng nhóm trong năm (0 khi giá "
            "trị lớn nhất không dương); direction: -1 (càng thấp càng tốt): giá trị nhỏ nhất / giá trị "
            "(0 khi giá trị nhỏ nhất không dương).",
            summary_vi=lambda p: (
                "càng thấp càng tốt: giá trị nhỏ nhất trong nhóm / giá trị"
                if _lower(p)
                else "giá trị / giá trị lớn nhất trong nhóm"
            ),
            higher_is_better_sql="coalesce(p.direction, 1) > 0",
        ),
        Method(
            "minmax",
            (DIRECTION,),
            forward_sql="CASE WHEN g_max = g_min THEN 1 WHEN coalesce(p.direction, 1) < 0 "
            "THEN (g_max - v) / (g_max - g_min) ELSE (v - g_min) / (g_max - g_min) END",
            inverse_sql="CASE WHEN coalesce(p.direction, 1) < 0 THEN g_max - (g_max - g_min) * want / out_of "
            "ELSE g_min + (g_max - g_min) * want / out_of END",
            description_vi="điểm tối đa × (giá trị − nhỏ nhất) / (lớn nhất − nhỏ nhất), nhỏ nhất và lớn nhất trong "
            "các đơn vị cùng nhóm trong năm; mọi đơn vị bằng nhau thì đều được đủ điểm; direction: -1 "
            "(càng thấp càng tốt): (lớn nhất − giá trị) / (lớn nhất − nhỏ nhất).",
            summary_vi=lambda p: (
                "càng thấp càng tốt: (lớn nhất − giá trị) / (lớn nhất − nhỏ nhất) trong nhóm"
                if _lower(p)
                else "(giá trị − nhỏ nhất) / (lớn nhất − nhỏ nhất) trong nhóm"
            ),
            higher_is_better_sql="coalesce(p.direction, 1) > 0",
        ),
        Method(
            "steps",
            (
                Param(
                    "steps",
                    [{"min": "DOUBLE", "share": "DOUBLE"}],
                    _steps,
                    perturb=_steps_times,
                    log=_log_steps,
                    log_sql="[{'min': ln(x.min), 'share': x.share} FOR x IN p.steps]",
                ),
            ),
            forward_sql="coalesce(list_last([x.share FOR x IN p.steps IF x.min <= v]), 0)",
            # a step's share is compared with a small slack: want / out_of is a binary fraction (2.1 / 3 > 0.7)
            inverse_sql="list_min([x.min FOR x IN p.steps IF x.share >= want / out_of - 1e-12])",
            description_vi="theo bậc: đạt mức tối thiểu của bậc nào thì được tỷ lệ điểm của bậc cao nhất đã đạt; "
            "chưa đạt bậc nào thì 0 điểm.",
            summary_vi=lambda p: "; ".join(
                f"từ {_n(s['min'])}: {vn_number(s['share'] * 100, None)}% điểm" for s in p["steps"]
            ),
        ),
    )
}
METHOD_NAMES: tuple[str, ...] = tuple(METHODS)
DEFAULT_METHOD = "target"
TRANSFORMS: tuple[str, ...] = ("log",)  # an item's `transform:` (none by default)
PARAM_NAMES: tuple[str, ...] = tuple(dict.fromkeys(p.name for m in METHODS.values() for p in m.params))


def _params_shape() -> dict[str, Any]:
    shape: dict[str, Any] = {}
    for method in METHODS.values():
        for param in method.params:
            if shape.setdefault(param.name, param.json_type) != param.json_type:
                raise TypeError(f"parameter {param.name!r} has two types in METHODS")
    return shape


PARAMS_SHAPE = _params_shape()


def parse_params(method: str, given: dict[str, Any]) -> dict[str, Any]:
    """The parameters of an item using `method`, checked and with defaults; `given` holds only parameter keys.

    Raises MethodError naming the method, the parameter and the reason (rubric.py adds the file and the item)."""
    if method not in METHODS:
        raise MethodError(f"unknown scoring method {method!r}; known: {list(METHOD_NAMES)}")
    entry = METHODS[method]
    own = {p.name for p in entry.params}
    foreign = sorted(set(given) - own)
    if foreign:
        allowed = ", ".join(sorted(own)) or "none"
        raise MethodError(f"{', '.join(foreign)} do(es) not apply to method {method!r} (its parameters: {allowed})")
    params: dict[str, Any] = {}
    for param in entry.params:
        if param.name in given:
            params[param.name] = param.check(param.name, given[param.name])
        elif param.default is REQUIRED:
            raise MethodError(f"method {method!r} needs {param.name}")
        elif param.default is not None:  # None: optional, and not stored when absent (direction)
            params[param.name] = param.default
    if entry.check:
        entry.check(params)
    return params


def perturbed(method: str, params: dict[str, Any], factor: float) -> dict[str, Any]:
    """The parameters with every one moved by `factor` (1: unchanged), for the uncertainty analysis."""
    if factor == 1:
        return params
    return {p.name: p.perturb(params[p.name], factor) for p in METHODS[method].params if p.name in params}


def log_params(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters under `transform: log` (those in the value's units, logged), checked like the method's own
    (goalposts that differ; `target` above 1, so that its logarithm is positive); raises MethodError."""
    entry = METHODS[method]
    logged = {
        p.name: (p.log(p.name, params[p.name]) if p.log else params[p.name]) for p in entry.params if p.name in params
    }
    if entry.check:
        entry.check(logged)
    for p in entry.params:
        if p.check is _positive and p.name in logged and logged[p.name] <= 0:
            raise MethodError(
                f"{p.name} must be above 1 under transform: log (its logarithm must be positive), "
                f"got {params[p.name]:g}"
            )
    return logged


def params_json(params: dict[str, Any]) -> str:
    """The parameters as stored in rubric_items.params (JSON text, keys sorted)."""
    return json.dumps(params, sort_keys=True)


def summary_vi(method: str, params: dict[str, Any] | str | None) -> str:
    """An item's method in words for the methodology sheet, e.g. 'mục tiêu 0,9' (params as dict or JSON)."""
    entry = METHODS.get(method)
    if entry is None:
        return method
    values = json.loads(params) if isinstance(params, str) else dict(params or {})
    try:
        return entry.summary_vi({p.name: values.get(p.name, p.default) for p in entry.params})
    except (KeyError, TypeError, ValueError):
        return entry.name


def _dispatch(attribute: str, fallback: str) -> str:
    branches = "\n".join(f"        WHEN {sql_literal(m.name)} THEN ({getattr(m, attribute)})" for m in METHODS.values())
    return f"CASE method\n{branches}\n        ELSE {fallback} END"


def _log_struct_sql() -> str:
    """The parameters' struct with those in the value's units logged (the struct's fields in PARAMS_SHAPE order)."""
    params = {p.name: p for m in METHODS.values() for p in m.params}
    fields = []
    for name in PARAMS_SHAPE:
        p = params[name]
        expr = (p.log_sql or f"ln(p.{name})") if p.log else f"p.{name}"
        fields.append(f"{name} := {expr}")
    return "struct_pack(" + ", ".join(fields) + ")"


def _transform_macros_sql(transforms: Collection[str]) -> str:
    """The macros of the items' transforms, for the transforms in use. Without any, each is the identity, checked:
    a macro's argument is copied into every place it is used and `method_value` reads `p` in each method's branch,
    so the `log` cases cost a rubric without a transform several times the planning of its scoring SQL (the
    parameters' JSON parsed in ~60 copies in one statement); an item whose transform these macros were not
    installed for is an error, never scored as untransformed."""
    unknown = sorted(set(transforms) - set(TRANSFORMS))
    if unknown:
        raise MethodError(f"unknown transform(s) {unknown}; known: {list(TRANSFORMS)}")
    if not transforms:
        refuse = "error('scoring macros installed without transforms, item has transform: ' || transform)"
        return f"""-- No item of the rubrics in use has a transform: values and parameters as they are.
CREATE OR REPLACE TEMP MACRO method_params_for(params, transform) AS
    CASE WHEN transform IS NULL THEN method_params(params) ELSE {refuse} END;
CREATE OR REPLACE TEMP MACRO method_transform(transform, v) AS CASE WHEN transform IS NULL THEN v ELSE {refuse} END;
CREATE OR REPLACE TEMP MACRO method_untransform(transform, v) AS v;
"""
    return f"""-- The parameters under an item's transform (rubric_items.transform): `log` logs those in the value's
-- units.
CREATE OR REPLACE TEMP MACRO method_params_log(p) AS {_log_struct_sql()};
CREATE OR REPLACE TEMP MACRO method_params_for(params, transform) AS
    CASE WHEN transform = 'log' THEN method_params_log(method_params(params)) ELSE method_params(params) END;

-- A value in the units its method reads (transform: log → ln v; a value <= 0 has none: NULL, refused before
-- scoring), and back (the inverse's value → the indicator's units).
CREATE OR REPLACE TEMP MACRO method_transform(transform, v) AS
    CASE WHEN transform = 'log' THEN CASE WHEN v > 0 THEN ln(v) END ELSE v END;
CREATE OR REPLACE TEMP MACRO method_untransform(transform, v) AS
    CASE WHEN transform = 'log' THEN exp(v) ELSE v END;
"""


def macros_sql(transforms: Collection[str] = TRANSFORMS) -> str:
    """The DuckDB macros of the registry, as SQL (temporary: installed on each connection that scores), with the
    items' `transforms` in use (all by default; `_transform_macros_sql`)."""
    unknown = "error('unknown scoring method: ' || method)"
    shape = sql_literal(json.dumps(PARAMS_SHAPE))
    return f"""-- Generated from pipelines/core/methods.py (METHODS): edit the registry, not this text.
-- The parameters of a rubric item (rubric_items.params, JSON) as a struct.
CREATE OR REPLACE TEMP MACRO method_params(params) AS json_transform(params, {shape});

{_transform_macros_sql(transforms)}

-- Share (0..1) of an item's points that value v earns: NULL, NaN and infinite values earn 0.
CREATE OR REPLACE TEMP MACRO method_share(method, v, p, g_min, g_max) AS
    CASE WHEN v IS NULL OR NOT isfinite(v) THEN 0.0
         ELSE greatest(least({_dispatch("forward_sql", unknown)}, 1.0), 0.0) END;

-- The value that earns `want` of `out_of` points, g_min / g_max being the OTHER units' (NULL: any value does).
CREATE OR REPLACE TEMP MACRO method_value(method, want, out_of, p, g_min, g_max) AS
    {_dispatch("inverse_sql", unknown)};

-- False when a lower value earns more points (goalposts with best < worst).
CREATE OR REPLACE TEMP MACRO method_higher_is_better(method, p) AS
    {_dispatch("higher_is_better_sql", unknown)};

-- x rounded half away from zero to d decimals (0..9) in exact decimal arithmetic: round() wants a constant d.
CREATE OR REPLACE TEMP MACRO round_decimals(x, d) AS
    round(CAST(x AS DECIMAL(38, 9)) * CAST(10 ** d AS DECIMAL(18, 0)), 0) * CAST(10 ** -d AS DECIMAL(18, 9));
"""


def install(con: duckdb.DuckDBPyConnection, transforms: Collection[str] = TRANSFORMS) -> None:
    """Create the macros on `con` (temporary: every connection that scores or explains scores installs them), for
    the items' `transforms` that the SQL to run will meet (all by default)."""
    con.execute(macros_sql(transforms))


def write_methods_table(con: duckdb.DuckDBPyConnection) -> None:
    """Refresh the `scoring_methods` table (name, parameters, description) that the marts and reports read."""
    con.execute("""CREATE OR REPLACE TABLE scoring_methods (
        method VARCHAR PRIMARY KEY, parameters VARCHAR, description_vi VARCHAR NOT NULL)""")
    con.executemany(
        "INSERT INTO scoring_methods VALUES (?, ?, ?)",
        [(m.name, ", ".join(p.name for p in m.params), m.description_vi) for m in METHODS.values()],
    )
