"""Rubrics as data: the `<year>.yaml` files of a rubric folder (`$EGOV_DATA_DIR/rubrics/` or config/rubrics/),
checked and expanded into each agency group's variant, before anything is scored (docs/rubrics.md)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, field_validator, model_validator
from pydantic_core import PydanticCustomError

from pipelines.core.methods import DEFAULT_METHOD, PARAM_NAMES, MethodError, log_params, parse_params
from pipelines.core.registry.catalogue import CATALOGUE_PATH, known_indicator_codes
from pipelines.core.registry.fields import (
    TOLERANCE,
    Code,
    Flag,
    Model,
    Number,
    Positive,
    Share,
    Text,
    Whole,
    _fail,
    _non_empty,
    _number,
    _shown,
)
from pipelines.core.registry.methodology import (
    METHODOLOGY_PATH,
    ClassSpec,
    GroupLabels,
    Methodology,
    check_classes,
    class_colours,
    load_methodology,
)
from pipelines.core.registry.reading import RubricError, _raise, _stamp, parse, read_yaml, shown_path

# The decimals totals are rounded to when a rubric does not say (its `decimals:`): written here only; the scoring,
# the checks, the marts (rubric_classes.decimals), the workbook and the CLI read the rubric's.
DEFAULT_DECIMALS = 2

RUBRIC_FILE_NAME = re.compile(r"^(\d{4})\.ya?ml$")
# Periodic rubrics (scored per month or quarter, e.g. the QĐ 766 scorecard) live in <rubric folder>/periodic/<name>/,
# a `<year>.yaml` per version like the annual ones, out of the annual folder's reach (rubric_files reads one level).


PERIODIC_DIR = "periodic"


Period = Literal["month", "quarter", "year"]
# How a node (a criterion, or the total) combines its children (docs/rubrics.md §2c): `arithmetic` sums their points;
# `geometric`: max_points × Π share_i ^ (w_i / Σ w), a child's share its points / its maximum, w_i its maximum.
Aggregate = Literal["arithmetic", "geometric"]
# What a child without a value counts for: `zero` (0 points) or `skip` (left out, the others re-weighted).
Missing = Literal["zero", "skip"]
# What `decimals` rounds for classes and ranks: the total, or the index (total / maximum).
Rounding = Literal["total", "index"]
Transform = Literal["log"]
DEFAULT_AGGREGATE: Aggregate = "arithmetic"
DEFAULT_MISSING: Missing = "zero"


class MethodSpec(Model):
    """A scoring method and its parameters as written beside `method` (pipelines/core/methods.py defines and checks
    them: a new method or parameter is added there only)."""

    method: str = DEFAULT_METHOD
    params: dict[str, Any] = {}  # the method's parameters as written beside `method` (target, worst, steps...)

    @model_validator(mode="before")
    @classmethod
    def _gather_params(cls, data: Any) -> Any:
        """The keys that are some method's parameters move into `params`; any other unknown key stays and is
        rejected (extra="forbid")."""
        if not isinstance(data, dict):
            return data
        if "params" in data:
            raise _fail("write the method's parameters beside `method`, not under params:", data["params"])
        data = dict(data)
        data["params"] = {k: data.pop(k) for k in PARAM_NAMES if k in data}
        return data

    @model_validator(mode="after")
    def _parameters_of_the_method(self) -> MethodSpec:
        """Each method's parameters and no other method's (a `worst:` left on a `target` item would otherwise be
        ignored without a word), checked and with their defaults."""
        try:
            checked = parse_params(self.method, self.params)
        except MethodError as exc:
            raise PydanticCustomError("egov", "{reason}", {"reason": str(exc)}) from None
        object.__setattr__(self, "params", checked)
        return self


class ItemSpec(MethodSpec):
    """An indicator of a criterion: its points and how a value earns them (`method` and its parameters, after
    `transform`)."""

    code: Code
    points: Positive
    transform: Transform | None = None  # log: ln of the value and of the parameters in its units
    note: str | None = None

    @model_validator(mode="after")
    def _parameters_under_the_transform(self) -> ItemSpec:
        if self.transform == "log":
            try:
                log_params(self.method, self.params)
            except MethodError as exc:
                raise PydanticCustomError("egov", "{reason}", {"reason": str(exc)}) from None
        return self


class CriterionSpec(Model):
    """A criterion: `indicators:` (a leaf) or `criteria:` (sub-criteria, to any depth), and how it aggregates
    them; `missing` / `min_coverage` left out take the rubric's."""

    code: Code
    name_vi: Text  # alias: name
    name_en: str | None = None
    max_points: Positive
    indicators: tuple[ItemSpec, ...] | None = None
    criteria: tuple[CriterionSpec, ...] | None = None
    aggregate: Aggregate = DEFAULT_AGGREGATE
    missing: Missing | None = None
    min_coverage: Share | None = None
    note: str | None = None

    @field_validator("indicators", "criteria", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return _non_empty(value)

    @model_validator(mode="after")
    def _one_kind_of_children(self) -> CriterionSpec:
        if (self.indicators is None) == (self.criteria is None):
            raise PydanticCustomError(
                "egov",
                "give either indicators: or criteria: (sub-criteria), not "
                + ("both" if self.indicators is not None else "neither"),
            )
        return self


class GroupSpec(GroupLabels):
    """A rubric's `groups.<code>`: how the group is scored (a variant of the criteria) and shown."""

    same_as: Code | None = None
    scale: Positive | None = None
    extra_criteria: tuple[CriterionSpec, ...] | None = None
    maximum: Positive | None = None
    classification: tuple[ClassSpec, ...] | None = None  # alias: thresholds

    @field_validator("extra_criteria", "classification", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return _non_empty(value)


class AssessedSpec(Model):
    code: Code
    name_vi: str | None = None  # aliases: name, label_vi
    name_en: str | None = None  # alias: label_en
    min: Number | None = None  # the values' range, checked at ingestion (default: thresholds.yaml, else [0, 1])
    max: Number | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> AssessedSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise PydanticCustomError("egov", "min ({lo}) must not exceed max ({hi})", {"lo": self.min, "hi": self.max})
        return self


def _below_one(value: Any) -> float:
    if not 0 <= _number(value) < 1:
        raise _fail("must be a share from 0 up to (not including) 1", value)
    return float(value)


BelowOne = Annotated[float, BeforeValidator(_below_one)]


class AlternativesSpec(Model):
    """`uncertainty.alternatives`: other aggregation rules each node (every criterion and the total) may take in a
    run, besides its own, with equal chance, drawn per node and run."""

    aggregate: tuple[Aggregate, ...] = ()
    missing: tuple[Missing, ...] = ()

    @field_validator("aggregate", "missing", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return () if value is None else value


class UncertaintySpec(Model):
    """A rubric's `uncertainty:` (docs/rubrics.md §2b): how far its weights, targets and methods may reasonably move,
    for the rank intervals and sensitivity indices of assets/scoring/uncertainty.py. Absent: these defaults."""

    runs: Whole = 1000  # model runs: each rescores every unit of the year and group
    seed: Whole = 20250514  # fixed, so a rerun gives the same intervals
    weights: BelowOne = 0.25  # each item's points × a factor drawn in [1 − weights, 1 + weights], then rescaled
    targets: BelowOne = 0.0  # each item's method parameters (target, goalposts, step thresholds) × [1 ± targets]
    methods: dict[Code, tuple[MethodSpec, ...]] = {}  # indicator → other methods drawn with its own, equal chance
    alternatives: AlternativesSpec = AlternativesSpec()  # aggregate / missing rules every node may take instead

    @field_validator("alternatives", mode="before")
    @classmethod
    def _empty_alternatives(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("runs")
    @classmethod
    def _runs(cls, runs: int) -> int:
        if not 10 <= runs <= 100_000:
            raise _fail("must be between 10 and 100000", runs)
        return runs

    @field_validator("methods", mode="before")
    @classmethod
    def _bare_methods(cls, value: Any) -> Any:
        """`edoc_ratio: [fraction_of_max, {method: target, target: 1}]`: a bare name is a method with its defaults."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _fail("expected a mapping of indicator codes to lists of methods", value)
        return {
            k: [{"method": m} if isinstance(m, str) else m for m in _non_empty(v)] if isinstance(v, list) else v
            for k, v in value.items()
        }


class PeriodicIndicatorSpec(Model):
    """An indicator of a periodic rubric: computed from the records by its scorecard's SQL, or listed as not
    computable (its points are shown, and left out of the computable maximum)."""

    code: Code
    name_vi: Text
    name_en: str | None = None
    ref: str | None = None  # its number in the decision's appendix ("2.1")
    computable: Flag = True
    note: str | None = None


class RubricFile(Model):
    """One `<year>.yaml` as written (docs/rubrics.md); RubricFile.expand checks the arithmetic and builds the
    variant of every agency group."""

    version: Whole | None = None
    year: Whole
    period: Period = "year"  # month | quarter: scored for every month (quarter) of a year and for the year
    periodic_indicators: tuple[PeriodicIndicatorSpec, ...] = ()  # a periodic rubric's own indicators
    title: Text | None = None  # alias: title_vi
    title_en: str | None = None
    maximum: Positive
    decimals: Whole = DEFAULT_DECIMALS  # totals are rounded to this many decimals for classes and ranks
    rounding: Rounding = "total"  # index: the index (total / maximum) is rounded to `decimals` instead
    aggregate: Aggregate = DEFAULT_AGGREGATE  # how the total combines the criteria
    missing: Missing = DEFAULT_MISSING  # the default of every node (criteria and total)
    min_coverage: Share | None = None  # likewise
    classification: tuple[ClassSpec, ...] | None = None  # alias: thresholds
    assessed_indicators: tuple[AssessedSpec, ...] = ()
    criteria: tuple[CriterionSpec, ...]
    groups: dict[Code, GroupSpec] = {}
    uncertainty: UncertaintySpec = UncertaintySpec()
    notes: str | None = None
    description: str | None = None
    decision: str | None = None

    @field_validator("assessed_indicators", mode="before")
    @classmethod
    def _bare_codes(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, list):
            return [{"code": v} if isinstance(v, str) else v for v in value]
        raise _fail("must be a list of indicator codes or {code, name_vi} mappings", value)

    @field_validator("groups", mode="before")
    @classmethod
    def _groups_mapping(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _fail("expected a mapping of agency groups (code: {…})", value)
        return {k: {} if v is None else v for k, v in value.items()}

    @field_validator("criteria", "classification", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return _non_empty(value)

    @field_validator("uncertainty", mode="before")
    @classmethod
    def _empty_uncertainty(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("decimals")
    @classmethod
    def _decimals(cls, decimals: int) -> int:
        if not 0 <= decimals <= 9:
            raise _fail("must be between 0 and 9", decimals)
        return decimals


# Aliases evaluators may write, per kind of mapping (only one of a pair): the file's key → the model's.


TOP_ALIASES = {"title_vi": "title", "thresholds": "classification"}


CRITERION_ALIASES = {"name": "name_vi"}


GROUP_ALIASES = {"thresholds": "classification"}


ASSESSED_ALIASES = {"name": "name_vi", "label_vi": "name_vi", "label_en": "name_en"}


@dataclass(frozen=True)
class Item:
    code: str
    points: float
    target: float | None  # the `target` parameter; None for the other methods
    method: str = DEFAULT_METHOD  # pipelines/core/methods.py
    params: dict[str, Any] = field(default_factory=dict, hash=False)  # the method's parameters, defaults filled
    transform: str | None = None  # log: the method reads ln(value) (methods.TRANSFORMS)


@dataclass(frozen=True)
class Aggregation:
    """How a node combines its children, with the rubric's defaults filled in."""

    aggregate: str = DEFAULT_AGGREGATE
    missing: str = DEFAULT_MISSING
    min_coverage: float = 0.0  # share of the node's weight that must have a value


@dataclass(frozen=True)
class Criterion:
    """A node of the rubric: its indicators (`items`, a leaf) or its sub-criteria (`children`)."""

    code: str
    name: str
    name_en: str
    max_points: float
    items: tuple[Item, ...]  # () for a criterion of sub-criteria
    children: tuple[Criterion, ...] = ()
    how: Aggregation = field(default_factory=Aggregation)

    def walk(self, parent: str | None = None, level: int = 1) -> Iterator[tuple[Criterion, str | None, int]]:
        """This node and every node below it, parents first: (node, parent code, level; 1 = top)."""
        yield self, parent, level
        for child in self.children:
            yield from child.walk(self.code, level + 1)

    @property
    def all_items(self) -> tuple[Item, ...]:
        """The indicators of this node and of every node below it, in rubric order."""
        return tuple(i for node, _, _ in self.walk() for i in node.items)


@dataclass(frozen=True)
class Variant:
    """The rubric as applied to one agency group: its criteria, maximum and classification thresholds."""

    group: str
    criteria: tuple[Criterion, ...]  # the top-level criteria
    maximum: float
    classes: tuple[tuple[str, float], ...]  # (label, minimum total), highest first; the last minimum is 0
    colours: dict[str, tuple[str, str]] = field(default_factory=dict, compare=False)  # label → (colour, fill)
    how: Aggregation = field(default_factory=Aggregation)  # how the total combines the criteria

    def nodes(self) -> Iterator[tuple[Criterion, str | None, int]]:
        """Every criterion of every level, parents first: (node, parent code or None, level)."""
        for c in self.criteria:
            yield from c.walk()

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(i for c in self.criteria for i in c.all_items)


@dataclass(frozen=True)
class Rubric:
    year: int
    path: Path
    title: str
    maximum: float
    variants: dict[str, Variant]
    assessed: dict[str, dict[str, str]]
    decimals: int = DEFAULT_DECIMALS
    rounding: str = "total"  # or "index" (RubricFile.rounding)
    groups: dict[str, GroupLabels] = field(default_factory=dict)  # how the rubric shows its groups
    uncertainty: UncertaintySpec = field(default_factory=UncertaintySpec)  # rank intervals, sensitivity
    period: str = "year"  # month | quarter | year (RubricFile.period)
    indicators: dict[str, PeriodicIndicatorSpec] = field(default_factory=dict, compare=False)  # periodic ones
    # assessed indicators' declared ranges (min, max; None: that side from thresholds.yaml, else [0, 1])
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict, compare=False)


# The range of an indicator value nothing declares (a ratio).
DEFAULT_RANGE = (0.0, 1.0)


def value_ranges(rubric: Rubric | None, bounds: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float, str]]:
    """code → (min, max, where it is declared) of the values of a year: the rubric's `assessed_indicators` min/max
    (a side not given: as below), else the thresholds file's indicator_bounds (catalogue indicators), else
    [0, 1] (codes absent from the result). `where`: the rubric file, or "" for the thresholds file."""
    out = {code: (float(lo), float(hi), "") for code, (lo, hi) in bounds.items()}
    for code, (lo, hi) in (rubric.ranges if rubric else {}).items():
        base = bounds.get(code, DEFAULT_RANGE)
        out[code] = (
            float(base[0] if lo is None else lo),
            float(base[1] if hi is None else hi),
            f"assessed_indicators of {shown_path(rubric.path)}" if rubric else "",
        )
    return out


def rubric_files(rubric_dir: Path) -> dict[int, Path]:
    """`<year>.yaml` files of the folder by year; other files (README, draft-2026.yaml) are ignored."""
    files: dict[int, Path] = {}
    for p in sorted(Path(rubric_dir).glob("*")):
        m = RUBRIC_FILE_NAME.match(p.name)
        if m:
            year = int(m.group(1))
            if year in files:
                raise RubricError(f"{rubric_dir}: two rubric files for {year}: {files[year].name} and {p.name}")
            files[year] = p
    return files


# A name with a year and a YAML suffix in any case or spacing ("2025.YAML", " 2025.yaml", "rubric_2025.yaml") is meant
# as a rubric: not read, it would leave the year scored with an older file without a word. Drafts start with "draft".
_YEAR_IN_NAME = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")


def _meant_as_rubric(name: str) -> str | None:
    """The year of a file name that looks like a rubric's, else None (README.md, draft-2026.yaml, .hidden)."""
    plain = name.strip().lower()
    if name.startswith(".") or plain.startswith("draft") or not plain.endswith((".yaml", ".yml")):
        return None
    year = _YEAR_IN_NAME.search(plain)
    return year.group(1) if year else None


def misnamed_rubric_files(rubric_dir: Path) -> list[str]:
    """A warning per file of the rubric folder (and of its periodic/ folders) that looks like a rubric but is not
    read as one: not named exactly `<year>.yaml`, or a periodic rubric outside `periodic/<name>/`."""
    folder = Path(rubric_dir)
    if not folder.is_dir():
        return []
    periodic = folder / PERIODIC_DIR
    folders = [folder, *(sorted(d for d in periodic.iterdir() if d.is_dir()) if periodic.is_dir() else [])]
    out = []
    for where in folders:
        for p in sorted(where.iterdir()):
            year = _meant_as_rubric(p.name)
            if p.is_file() and year and not RUBRIC_FILE_NAME.match(p.name):
                out.append(
                    f"{shown_path(where)}: {p.name!r} is not read as a rubric: a rubric file must be named "
                    f"<year>.yaml ({year}.yaml); a draft's name starts with draft"
                )
    for p in sorted(periodic.iterdir()) if periodic.is_dir() else []:
        if p.is_file() and _meant_as_rubric(p.name):
            out.append(
                f"{shown_path(periodic)}: {p.name!r} is not read as a rubric: a periodic rubric goes in "
                f"{PERIODIC_DIR}/<name>/<year>.yaml"
            )
    return out


def periodic_rubric_files(rubric_dir: Path) -> dict[str, dict[int, Path]]:
    """`periodic/<name>/<year>.yaml` files by scorecard name and year."""
    base = Path(rubric_dir) / PERIODIC_DIR
    if not base.is_dir():
        return {}
    return {d.name: rubric_files(d) for d in sorted(base.iterdir()) if d.is_dir() and rubric_files(d)}


def rubric_file_for(year: int, rubric_dir: Path) -> Path:
    """The year's own file, else the latest earlier one (a methodology stays in force until replaced)."""
    files = rubric_files(rubric_dir)
    earlier = [y for y in files if y <= year]
    if not earlier:
        first = f"the first is {min(files)}.yaml" if files else "there is none"
        misnamed = "".join(f"\n{line}" for line in misnamed_rubric_files(rubric_dir))
        raise RubricError(
            f"{rubric_dir}: no rubric for {year}: no file for {year} or an earlier year ({first})" + misnamed
        )
    return files[max(earlier)]


def _normalise_aliases(path: Path, data: Any) -> Any:
    """The rubric with alias keys renamed (name → name_vi, thresholds → classification, ...); giving both of a
    pair is an error at the place they are given."""

    def fix(mapping: Any, where: str, aliases: dict[str, str]) -> Any:
        if not isinstance(mapping, dict):
            return mapping
        out = dict(mapping)
        for alias, key in aliases.items():
            if alias in mapping:
                given = [k for k in (key, *(a for a, k2 in aliases.items() if k2 == key)) if k in mapping]
                if len(given) > 1:
                    _raise(RubricError, path, where or key, f"give only one of {given}")
                out[key] = out.pop(alias)
        return out

    def each(value: Any, kind: str, aliases: dict[str, str]) -> Any:
        if not isinstance(value, list):
            return value
        return [
            fix(
                v,
                f"{kind} {v['code']!r}"
                if isinstance(v, dict) and isinstance(v.get("code"), str)
                else f"{kind} {i + 1}",
                aliases,
            )
            for i, v in enumerate(value)
        ]

    def criteria(value: Any) -> Any:
        """Criteria and their sub-criteria, to any depth."""
        out = each(value, "criterion", CRITERION_ALIASES)
        if isinstance(out, list):
            out = [
                {**c, "criteria": criteria(c["criteria"])} if isinstance(c, dict) and "criteria" in c else c
                for c in out
            ]
        return out

    top = fix(data, "", TOP_ALIASES)
    if not isinstance(top, dict):
        return top
    if "criteria" in top:
        top["criteria"] = criteria(top["criteria"])
    if "assessed_indicators" in top:
        top["assessed_indicators"] = each(top["assessed_indicators"], "assessed indicator", ASSESSED_ALIASES)
    if isinstance(top.get("groups"), dict):
        groups = {}
        for code, g in top["groups"].items():
            g = fix(g, f"groups.{code}", GROUP_ALIASES)
            if isinstance(g, dict) and "extra_criteria" in g:
                g["extra_criteria"] = criteria(g["extra_criteria"])
            groups[code] = g
        top["groups"] = groups
    return top


def _criteria(
    fail: Callable[[str, str], None],
    specs: tuple[CriterionSpec, ...],
    known: set[str],
    spec: RubricFile,
    within: str = "",
) -> list[Criterion]:
    out = []
    for c in specs:
        where = f"{within}criterion {c.code!r}"
        how = Aggregation(
            c.aggregate,
            c.missing or spec.missing,
            c.min_coverage if c.min_coverage is not None else spec.min_coverage or 0.0,
        )
        if c.criteria is not None:
            children = _criteria(fail, c.criteria, known, spec, f"{where}, ")
            total = sum(child.max_points for child in children)
            if abs(total - c.max_points) > TOLERANCE:
                fail(where, f"sub-criteria max_points add up to {total:g}, but max_points is {c.max_points:g}")
            out.append(Criterion(c.code, c.name_vi, c.name_en or "", c.max_points, (), tuple(children), how))
            continue
        indicators = c.indicators or ()
        for i in indicators:
            if i.code not in known:
                fail(
                    f"{where}, indicator {i.code!r}",
                    "unknown indicator code: not in the indicator catalogue "
                    "(config/catalogue.yaml) nor under assessed_indicators: of this file",
                )
        total = sum(i.points for i in indicators)
        if abs(total - c.max_points) > TOLERANCE:
            fail(where, f"indicator points add up to {total:g}, but max_points is {c.max_points:g}")
        items = tuple(
            Item(i.code, i.points, i.params.get("target"), i.method, i.params, i.transform) for i in indicators
        )
        out.append(Criterion(c.code, c.name_vi, c.name_en or "", c.max_points, items, (), how))
    return out


def _scaled(criteria: list[Criterion] | tuple[Criterion, ...], scale: float) -> list[Criterion]:
    """Scale points and maxima (0.9 × 6 → 5.4), rounded to 9 decimals to drop binary noise, at every level."""
    return [
        replace(
            c,
            max_points=round(c.max_points * scale, 9),
            items=tuple(replace(i, points=round(i.points * scale, 9)) for i in c.items),
            children=tuple(_scaled(c.children, scale)),
        )
        for c in criteria
    ]


def _duplicates(codes: list[str]) -> list[str]:
    return sorted({c for c in codes if codes.count(c) > 1})


VARIANT_KEYS = ("scale", "extra_criteria", "maximum", "classification")


def expand_rubric(path: Path, spec: RubricFile, known_codes: set[str], methodology: Methodology) -> Rubric:
    """Check the rubric's arithmetic and build each agency group's variant: the standard groups of
    config/methodology.yaml and those the rubric declares under `groups:`."""

    def fail(where: str, problem: str) -> None:
        _raise(RubricError, path, where, problem)

    name = RUBRIC_FILE_NAME.match(path.name)
    if name and int(name.group(1)) != spec.year:
        fail("year", f"the file is named for {name.group(1)} but says year: {spec.year}")
    assessed = {a.code: {"name": a.name_vi or a.code, "name_en": a.name_en or ""} for a in spec.assessed_indicators}
    ranges = {a.code: (a.min, a.max) for a in spec.assessed_indicators if a.min is not None or a.max is not None}
    dup = _duplicates([a.code for a in spec.assessed_indicators])
    if dup:
        fail("assessed_indicators", f"duplicate indicator code {dup[0]!r}")
    periodic = {i.code: i for i in spec.periodic_indicators}
    if spec.period == "year" and periodic:
        fail("periodic_indicators", "only a periodic rubric (period: month or quarter) has its own indicators")
    if spec.period != "year" and spec.groups:
        fail("groups", "a periodic rubric scores every unit alike: it has no group variants")
    if len(periodic) != len(spec.periodic_indicators):
        fail("periodic_indicators", f"duplicate indicator code {_duplicates(list(periodic))}")
    # A periodic rubric scores its own indicators only (its scorecard's SQL computes them, not the catalogue).
    known = set(periodic) if spec.period != "year" else set(known_codes) | set(assessed)
    standard = _criteria(fail, spec.criteria, known, spec)
    total_how = Aggregation(spec.aggregate, spec.missing, spec.min_coverage or 0.0)
    base_max = sum(c.max_points for c in standard)
    if abs(base_max - spec.maximum) > TOLERANCE:
        fail("criteria", f"criteria max_points add up to {base_max:g}, but maximum is {spec.maximum:g}")
    base_specs = spec.classification or methodology.classification
    base_classes = check_classes(fail, base_specs, "classification", spec.maximum)

    codes = [*methodology.agency_groups, *(g for g in spec.groups if g not in methodology.agency_groups)]
    variants: dict[str, Variant] = {}
    pending: dict[str, str] = {}
    for group in codes:
        where = f"groups.{group}"
        g = spec.groups.get(group) or GroupSpec()
        if g.same_as is not None:
            if any(getattr(g, k) is not None for k in VARIANT_KEYS):
                fail(
                    where,
                    "same_as cannot be combined with other keys (only with the group's labels, sheet, "
                    "colour and order)",
                )
            same = spec.groups.get(g.same_as)
            if g.same_as not in codes or g.same_as == group:
                fail(where, f"same_as must name another agency group, got {g.same_as!r}")
            if same is not None and same.same_as is not None:
                fail(where, f"same_as {g.same_as!r}, which is itself same_as another group: name the group directly")
            pending[group] = g.same_as
            continue
        scale = 1.0 if g.scale is None else g.scale
        criteria = _scaled(standard, scale) if scale != 1 else list(standard)
        if g.extra_criteria:

            def fail_in_group(w: str, p: str, gw: str = where) -> None:
                fail(f"{gw}, {w}", p)

            criteria += _criteria(fail_in_group, g.extra_criteria, known, spec)
        dup = _duplicates([n.code for c in criteria for n, _, _ in c.walk()])
        if dup:
            fail(where, f"duplicate criterion code(s) {dup}")
        dup = _duplicates([i.code for c in criteria for i in c.all_items])
        if dup:
            fail(where, f"duplicate indicator code(s) {dup}: an indicator can be scored once per group")
        group_max = round(sum(c.max_points for c in criteria), 9)
        if g.maximum is not None and abs(g.maximum - group_max) > TOLERANCE:
            fail(
                where,
                f"criteria add up to {group_max:g} (scale {scale:g} × {spec.maximum:g} + extra criteria), "
                f"but maximum is {g.maximum:g}",
            )
        if g.classification is not None:
            class_specs = g.classification
            classes = check_classes(fail, class_specs, f"{where}.classification", group_max)
        elif abs(group_max - spec.maximum) > TOLERANCE:
            fail(
                where,
                f"criteria add up to {group_max:g}, not the rubric maximum {spec.maximum:g}: give this group "
                "its own classification thresholds",
            )
        else:
            class_specs, classes = base_specs, base_classes
        variants[group] = Variant(
            group,
            tuple(criteria),
            group_max,
            classes,
            class_colours(class_specs, methodology.classification),
            total_how,
        )
    for group, same_as in pending.items():
        variants[group] = replace(variants[same_as], group=group)
    labels = {
        code: GroupLabels(**{k: getattr(g, k) for k in GroupLabels.model_fields}) for code, g in spec.groups.items()
    }
    scored = {i.code for v in variants.values() for i in v.items}
    for code in spec.uncertainty.methods:
        if code not in scored:
            fail(
                f"uncertainty.methods.{code}",
                "not an indicator scored by this rubric (no criterion of any group gives it points)",
            )
    return Rubric(
        spec.year,
        path,
        spec.title or f"Rubric {spec.year}",
        spec.maximum,
        variants,
        assessed,
        spec.decimals,
        spec.rounding,
        labels,
        spec.uncertainty,
        spec.period,
        periodic,
        ranges,
    )


def load_rubric(path: Path, catalogue_path: Path = CATALOGUE_PATH) -> Rubric:
    """Parse and check one rubric file; raises RubricError naming the file, the place and the problem."""
    path = Path(path)
    return _load_rubric(path, _stamp(path, catalogue_path, METHODOLOGY_PATH), Path(catalogue_path))


@lru_cache(maxsize=64)
def _load_rubric(path: Path, _stamp: tuple, catalogue_path: Path) -> Rubric:
    data = _normalise_aliases(path, read_yaml(path, RubricError))
    if not isinstance(data, dict):
        raise RubricError(
            f"{shown_path(path)}: expected a mapping with keys ['criteria', 'maximum', 'year'], got {_shown(data)}"
        )
    spec = parse(RubricFile, data, path, RubricError, rubric=True)
    return expand_rubric(path, spec, known_indicator_codes(catalogue_path), load_methodology())


# The codes of docs/domain.md §4, used only when the indicator catalogue file is absent (a rubric checked alone).


def rubrics_for_years(years: list[int], rubric_dir: Path, catalogue_path: Path = CATALOGUE_PATH) -> dict[int, Rubric]:
    """Validate every rubric the years need, up front, so a bad file stops the run before any row changes."""
    return {year: load_rubric(rubric_file_for(year, rubric_dir), catalogue_path) for year in years}


def validate_rubric_dir(rubric_dir: Path, catalogue_path: Path = CATALOGUE_PATH) -> list[Rubric]:
    """Every rubric file of the directory (for evaluators, before a run)."""
    files = rubric_files(rubric_dir)
    if not files:
        raise RubricError(f"{rubric_dir}: no rubric files (<year>.yaml)")
    return [load_rubric(p, catalogue_path) for _, p in sorted(files.items())]
