"""The methodology as typed data, read once per data directory: the raw source contracts (config/sources.yaml), the
indicator catalogue (assets/indicators/catalogue.yaml), the quality thresholds (expectations/thresholds.yaml), the
standard agency groups and classes (config/methodology.yaml) and the rubrics (`$EGOV_DATA_DIR/rubrics/` when that
folder exists, else config/rubrics/).

Why this module sits in pipelines/, beside settings.py: every layer reads it (ingestion, indicators, scoring, quality,
marts, reports, the CLI), and it imports no Dagster and no asset, so importing it is cheap and cannot make a cycle;
config/ holds data only.

Every file goes through one strict YAML reader (a key written twice is an error, not "the last one wins") and one
pydantic model with `extra="forbid"`, so a typo (`requried: true`), a wrong type, or an unquoted comma in a flow
mapping (`{label_en: Security measures (firewall, antivirus, backup)}` reads as three keys) stops the run with
`<file>: <key path>: <reason>` instead of passing silently. Rubric errors name their place the way evaluators read
a rubric ("criterion 'internal', indicator 'edoc_ratio': target must be positive, got 0").

`load_sources()` needs the bundled files only (safe at import time: Dagster asset definitions use it);
`load_registry(data_dir)` adds the data directory's rubrics and everything that depends on them (the agency groups
they declare, the classification labels), and is what a run reads.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, field_validator, model_validator
from pydantic import dataclasses as pydantic_dataclasses
from pydantic_core import PydanticCustomError

from assets.scoring.methods import DEFAULT_METHOD, PARAM_NAMES, MethodError, parse_params
from pipelines import settings

SOURCES_PATH = settings.CONFIG_DIR / "sources.yaml"
METHODOLOGY_PATH = settings.CONFIG_DIR / "methodology.yaml"
CATALOGUE_PATH = settings.PROJECT_ROOT / "assets" / "indicators" / "catalogue.yaml"
THRESHOLDS_PATH = settings.PROJECT_ROOT / "expectations" / "thresholds.yaml"
INDICATOR_SQL_DIR = settings.PROJECT_ROOT / "assets" / "indicators" / "sql"

RUBRIC_FILE_NAME = re.compile(r"^(\d{4})\.ya?ml$")
# Periodic rubrics (scored per month or quarter, e.g. the QĐ 766 scorecard) live in <rubric folder>/periodic/<name>/,
# a `<year>.yaml` per version like the annual ones, out of the annual folder's reach (rubric_files reads one level).
PERIODIC_DIR = "periodic"
Period = Literal["month", "quarter", "year"]
TOLERANCE = 1e-6  # point sums are compared with this slack: 0.9 × 6 is not exactly 5.4 in binary


class RegistryError(ValueError):
    """A configuration file that cannot be used; the message names the file, the key path and the reason."""


class RubricError(RegistryError):
    """A rubric file (or folder) that cannot be used; the message names the file and the problem."""


# --- strict YAML ----------------------------------------------------------------------------------------------------


MAX_REPEATED_VALUES = 10_000  # what the aliases (*name) of one configuration file may repeat in all


class _AliasRefused(Exception):
    """An alias (*name) that would repeat too much, or its own container."""

    def __init__(self, event: yaml.AliasEvent, reason: str) -> None:
        super().__init__(reason)
        self.event = event
        self.reason = reason


class _BoundedAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a bound on aliases. Nine lines of nested aliases ("billion laughs") expand to 10⁹
    values, and every walk over the document (the duplicate-key check, the models) took minutes before any error;
    an alias to its own container made them recurse without end. An alias that repeats what it names is still read
    (PyYAML's own dumper writes one for a value used twice), up to MAX_REPEATED_VALUES values repeated in all."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._composed: set[int] = set()  # anchored nodes composed whole (an alias to another is to its container)
        self._sizes: dict[int, int] = {}
        self._repeated = 0

    def _size(self, node: yaml.Node) -> int:
        """Values in `node` with its aliases expanded (each node counted once: linear in the file)."""
        if id(node) not in self._sizes:
            if isinstance(node, yaml.SequenceNode):
                size = 1 + sum(self._size(item) for item in node.value)
            elif isinstance(node, yaml.MappingNode):
                size = 1 + sum(self._size(k) + self._size(v) for k, v in node.value)
            else:
                size = 1
            self._sizes[id(node)] = size
        return self._sizes[id(node)]

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) and event.anchor in self.anchors:  # an unknown one: PyYAML's error
            target = self.anchors[event.anchor]
            if id(target) not in self._composed:
                raise _AliasRefused(event, "names a value that contains it")
            self._repeated += self._size(target)
            if self._repeated > MAX_REPEATED_VALUES:
                raise _AliasRefused(event, f"the file's aliases repeat more than {MAX_REPEATED_VALUES:,} values "
                                           "(nested aliases, a \"billion laughs\"?)")
            return super().compose_node(parent, index)
        node = super().compose_node(parent, index)
        if isinstance(event, yaml.NodeEvent) and event.anchor is not None:
            self._composed.add(id(node))
        return node


def read_yaml(path: Path, error: type[RegistryError] = RegistryError) -> Any:
    """The YAML document of `path`; a key written twice in one mapping is an error (PyYAML would keep the last),
    and so is an alias (`*name`) that names its own container or makes the file's aliases repeat more than
    MAX_REPEATED_VALUES values, refused where it is written, before anything expands it."""
    try:
        loader = _BoundedAliasLoader(Path(path).read_text(encoding="utf-8"))
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _reject_duplicate_keys(path, node, "", error)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except _AliasRefused as refused:
        raise error(f"{shown_path(path)}: line {refused.event.start_mark.line + 1}: alias *{refused.event.anchor}: "
                    f"{refused.reason}; write the values out") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise error(f"{shown_path(path)}: not valid UTF-8 YAML: {exc}") from None


def _reject_duplicate_keys(path: Path, node: yaml.Node, where: str, error: type[RegistryError]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise error(f"{shown_path(path)}: duplicate key {key!r} (line {line}) in {where or 'the top level'}, "
                            f"first given at line {seen[key]}")
            seen[key] = line
            _reject_duplicate_keys(path, value_node, f"{where}.{key}" if where else key, error)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _reject_duplicate_keys(path, item, f"{where}[{i + 1}]", error)


# --- field types with messages for people -----------------------------------------------------------------------------


def shown_path(path: Path) -> Path:
    """A bundled file as the project names it (config/sources.yaml); a deployment's file in full."""
    path = Path(path)
    return path.relative_to(settings.PROJECT_ROOT) if path.is_relative_to(settings.PROJECT_ROOT) else path


def _fail(message: str, value: Any) -> PydanticCustomError:
    return PydanticCustomError("egov", message + ", got {got}", {"got": _shown(value)})


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail("must be a number", value)
    return float(value)


def _positive(value: Any) -> float:
    if _number(value) <= 0:
        raise _fail("must be positive", value)
    return float(value)


def _not_negative(value: Any) -> float:
    if _number(value) < 0:
        raise _fail("must be >= 0", value)
    return float(value)


def _share(value: Any) -> float:
    if not 0 <= _number(value) <= 1:
        raise _fail("must be a share between 0 and 1", value)
    return float(value)


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail("must be a whole number", value)
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail("must be true or false", value)
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail("must be a non-empty text", value)
    return value.strip()


def _code(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", value.strip()):
        raise _fail("must be a code of lower-case letters, digits and _", value)
    return value.strip()


def _colour(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"#[0-9A-Fa-f]{6}", value):
        raise _fail("must be a colour like \"#1b7837\"", value)
    return value


Number = Annotated[float, BeforeValidator(_number)]
Positive = Annotated[float, BeforeValidator(_positive)]
NotNegative = Annotated[float, BeforeValidator(_not_negative)]
Share = Annotated[float, BeforeValidator(_share)]
Whole = Annotated[int, BeforeValidator(_whole)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Text = Annotated[str, BeforeValidator(_text)]
Code = Annotated[str, BeforeValidator(_code)]
Colour = Annotated[str, BeforeValidator(_colour)]

STRICT = ConfigDict(extra="forbid", frozen=True)


class Model(BaseModel):
    """A configuration mapping: unknown keys are errors, and the loaded object cannot be changed."""

    model_config = STRICT


def _non_empty(value: Any) -> Any:
    if isinstance(value, list) and not value:
        raise PydanticCustomError("egov", "must be a non-empty list")
    return value


# --- raw source contracts (config/sources.yaml) -------------------------------------------------------------------
# Dataclasses (pydantic's, validated the same way) rather than models: the ingestion code reads them as the
# dataclasses they always were (attributes, dataclasses.replace, repr in the loaded files' context hash).

ColumnType = Literal["text", "int", "decimal", "flag", "date", "timestamp", "level"]
COLUMN_TYPES = set(get_args(ColumnType))


@pydantic_dataclasses.dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class ColumnContract:
    """One column of a raw source (the keys are explained at the top of config/sources.yaml)."""

    name: str
    type: ColumnType
    required: Flag = False
    optional: Flag = False
    personal: Flag = False
    allowed: tuple[int | str, ...] = ()
    allowed_from: Literal["agency_groups"] | None = None  # the allowed values are the registry's agency groups
    default: int | str | None = None
    min: Number | None = None
    keep_label_as: str | None = None
    free_text: Flag = False  # a name: may hold line breaks and tabs (any control character quarantines a code)
    refers_to: str | None = None  # the source's own key column this column must name (a link between rows)
    range_by: str | None = None  # the column naming the indicator whose range (thresholds.yaml) bounds the value


@pydantic_dataclasses.dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class RowRule:
    when: Text
    reason: Text


@pydantic_dataclasses.dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class SourceContract:
    """A raw source: where its files are, the staging table, its columns and row rules."""

    name: str
    label: Text
    folder: Text
    partitioned: Flag
    table: Text
    columns: tuple[ColumnContract, ...]
    unique: tuple[str, ...] = ()
    year_column: str | None = None
    year_from: str | None = None
    agency_column: str | None = None
    rules: tuple[RowRule, ...] = field(default_factory=tuple)
    sheet: str | None = None  # the XLSX sheet to read; None: the one visible sheet whose header matches
    key_label: str | None = None  # how a duplicate of the `unique` key reads in Vietnamese ("trùng MaHoSo")
    agency_return: Flag = False  # every evaluated agency sends it each year (data_quality.missing_return)

    @field_validator("columns", mode="before")
    @classmethod
    def _columns_by_name(cls, value: Any) -> Any:
        """`columns:` is a mapping name → spec in the file; the name moves into each column."""
        if isinstance(value, dict):
            return [{**spec, "name": name} if isinstance(spec, dict) else spec for name, spec in value.items()]
        return value

    def __post_init__(self) -> None:
        names = {c.name for c in self.columns}
        for key in ("year_column", "year_from", "agency_column"):
            if getattr(self, key) is not None and getattr(self, key) not in names:
                raise _fail(f"{key} must name one of the columns", getattr(self, key))
        for k in self.unique:
            if k not in names:
                raise _fail("unique must name columns", k)
        for c in self.columns:
            if c.refers_to and list(self.unique) != [c.refers_to]:
                raise _fail(f"{c.name}.refers_to must name the source's one key column (unique)", c.refers_to)
            if c.range_by and c.range_by not in names:
                raise _fail(f"{c.name}.range_by must name a column", c.range_by)

    @property
    def stored_columns(self) -> list[ColumnContract]:
        return [c for c in self.columns if not c.personal]

    @property
    def has_personal_data(self) -> bool:
        """Whether the source's files hold personal data: then no message may quote what a file holds."""
        return any(c.personal for c in self.columns)

    @property
    def label_in_sentence(self) -> str:
        """The label as it reads inside a Vietnamese sentence: "báo cáo hạ tầng kỹ thuật"."""
        return self.label[:1].lower() + self.label[1:]


class SourcesFile(Model):
    sources: dict[str, SourceContract]

    @field_validator("sources", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {**s, "name": k} if isinstance(s, dict) else s for k, s in value.items()}
        return value

    @field_validator("sources")
    @classmethod
    def _one_list_of_values(cls, sources: dict[str, SourceContract]) -> dict[str, SourceContract]:
        for s in sources.values():
            for c in s.columns:
                if c.allowed and c.allowed_from:
                    raise _fail(f"{s.name}.{c.name}: give allowed or allowed_from, not both", c.allowed_from)
        return sources


# --- the indicator catalogue ----------------------------------------------------------------------------------------


class Indicator(Model):
    code: Code
    family: Code  # the SQL file assets/indicators/sql/<family>.sql that computes it
    label_vi: Text
    label_en: Text | None = None
    flag: Flag = False  # a 0/1 indicator, met whole (the what-if never asks for half a LAN)
    value_levels: Whole | None = None  # the value is a multiple of 1/N
    applies_to: tuple[Code, ...] | None = None  # the agency groups that get it (default: all)
    # How a province's value is aggregated from its agencies' for the ranking of provinces (docs/domain.md §8).
    national: Literal["ratio_of_sums", "mean"]

    @field_validator("family")
    @classmethod
    def _family_has_sql(cls, family: str) -> str:
        if not (INDICATOR_SQL_DIR / f"{family}.sql").is_file():
            raise _fail(f"must name an SQL file of {INDICATOR_SQL_DIR.relative_to(settings.PROJECT_ROOT)}", family)
        return family


class Catalogue(Model):
    indicators: tuple[Indicator, ...]

    @field_validator("indicators")
    @classmethod
    def _unique(cls, indicators: tuple[Indicator, ...]) -> tuple[Indicator, ...]:
        codes = [i.code for i in indicators]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise _fail("must list each code once", twice)
        return indicators


# --- the quality thresholds -----------------------------------------------------------------------------------------


class Thresholds(Model):
    """expectations/thresholds.yaml; every key has a default (the file may leave any out)."""

    max_quarantined_share: Share = 0.05
    quarantined_share_by_source: dict[str, Share] = {}
    min_rows_for_share: Whole = 0
    required_returns: tuple[str, ...] = ("infrastructure", "capacity")
    indicator_bounds: dict[str, tuple[Number, Number]] = {"computers_per_staff": (0.0, 10.0)}
    data_docs_keep_runs: Whole = 30
    sample_rows: Whole = 5
    max_published_drop_share: Share = 0.5

    @field_validator("indicator_bounds", "quarantined_share_by_source", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("required_returns", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return () if value is None else value

    @field_validator("indicator_bounds")
    @classmethod
    def _ordered(cls, bounds: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for code, (lo, hi) in bounds.items():
            if lo > hi:
                raise _fail(f"{code}: the lower bound must not exceed the upper", [lo, hi])
        return bounds


# --- agency groups and classes (config/methodology.yaml, rubrics' groups:) -----------------------------------------


class GroupLabels(Model):
    """How a group is shown: every key optional in a rubric (the code and the palette stand in)."""

    order: Whole | None = None
    label_vi: Text | None = None
    label_en: Text | None = None
    sheet: Text | None = None
    colour: Colour | None = None


class ClassSpec(Model):
    label: Text
    min: NotNegative
    colour: Colour | None = None  # badge and chart colour in the HTML report
    fill: Colour | None = None  # row background in the workbook


class Methodology(Model):
    agency_groups: dict[Code, GroupLabels]
    classification: tuple[ClassSpec, ...]
    palette: tuple[Colour, ...]

    @field_validator("classification", "palette", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return _non_empty(value)


@dataclass(frozen=True)
class AgencyGroup:
    """A group of ranked units (ranks are per group): its code and how reports show it."""

    code: str
    order: int
    label_vi: str
    label_en: str
    sheet: str
    colour: str


# --- rubric files ---------------------------------------------------------------------------------------------------


class MethodSpec(Model):
    """A scoring method and its parameters as written beside `method` (assets/scoring/methods.py defines and checks
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
    """An indicator of a criterion: its points and how a value earns them (`method` and its parameters)."""

    code: Code
    points: Positive
    note: str | None = None


class CriterionSpec(Model):
    code: Code
    name_vi: Text  # alias: name
    name_en: str | None = None
    max_points: Positive
    indicators: tuple[ItemSpec, ...]
    note: str | None = None

    @field_validator("indicators", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return _non_empty(value)


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
    note: str | None = None


def _below_one(value: Any) -> float:
    if not 0 <= _number(value) < 1:
        raise _fail("must be a share from 0 up to (not including) 1", value)
    return float(value)


BelowOne = Annotated[float, BeforeValidator(_below_one)]


class UncertaintySpec(Model):
    """A rubric's `uncertainty:` (docs/rubrics.md §2b): how far its weights, targets and methods may reasonably move,
    for the rank intervals and sensitivity indices of assets/scoring/uncertainty.py. Absent: these defaults."""

    runs: Whole = 1000  # model runs: each rescores every unit of the year and group
    seed: Whole = 20250514  # fixed, so a rerun gives the same intervals
    weights: BelowOne = 0.25  # each item's points × a factor drawn in [1 − weights, 1 + weights], then rescaled
    targets: BelowOne = 0.0  # each item's method parameters (target, goalposts, step thresholds) × [1 ± targets]
    methods: dict[Code, tuple[MethodSpec, ...]] = {}  # indicator → other methods drawn with its own, equal chance

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
        return {k: [{"method": m} if isinstance(m, str) else m for m in _non_empty(v)] if isinstance(v, list) else v
                for k, v in value.items()}


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
    decimals: Whole = 2  # totals are rounded to this many decimals for classes and ranks
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
    method: str = DEFAULT_METHOD  # assets/scoring/methods.py
    params: dict[str, Any] = field(default_factory=dict, hash=False)  # the method's parameters, defaults filled


@dataclass(frozen=True)
class Criterion:
    code: str
    name: str
    name_en: str
    max_points: float
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Variant:
    """The rubric as applied to one agency group: its criteria, maximum and classification thresholds."""

    group: str
    criteria: tuple[Criterion, ...]
    maximum: float
    classes: tuple[tuple[str, float], ...]  # (label, minimum total), highest first; the last minimum is 0
    colours: dict[str, tuple[str, str]] = field(default_factory=dict, compare=False)  # label → (colour, fill)


@dataclass(frozen=True)
class Rubric:
    year: int
    path: Path
    title: str
    maximum: float
    variants: dict[str, Variant]
    assessed: dict[str, dict[str, str]]
    decimals: int = 2
    groups: dict[str, GroupLabels] = field(default_factory=dict)  # how the rubric shows its groups
    uncertainty: UncertaintySpec = field(default_factory=UncertaintySpec)  # rank intervals, sensitivity
    period: str = "year"  # month | quarter | year (RubricFile.period)
    indicators: dict[str, PeriodicIndicatorSpec] = field(default_factory=dict, compare=False)  # periodic ones


# --- errors: file, key path, reason ---------------------------------------------------------------------------------

UNKNOWN_KEY = {"extra_forbidden", "unexpected_keyword_argument"}
MISSING = {"missing", "missing_argument"}
_PLAIN = {  # pydantic's own errors, for the few types left to it (structure: mappings and lists)
    "dict_type": "must be a mapping (key: value)", "model_type": "must be a mapping (key: value)",
    "dataclass_type": "must be a mapping (key: value)", "model_attributes_type": "must be a mapping (key: value)",
    "dataclass_exact_type": "must be a mapping (key: value)", "list_type": "must be a list",
    "tuple_type": "must be a list", "string_type": "must be a text", "bool_type": "must be true or false",
    "int_type": "must be a whole number", "float_type": "must be a number",
}


def _reason(err: dict) -> str:
    if err["type"] == "egov":
        return err["msg"]
    if err["type"] == "literal_error":
        return f"must be one of {err['ctx']['expected']}, got {_shown(err.get('input'))}"
    if err["type"] in _PLAIN:
        return f"{_PLAIN[err['type']]}, got {_shown(err.get('input'))}"
    return f"{err['msg'][:1].lower()}{err['msg'][1:]}, got {_shown(err.get('input'))}"


def key_path(data: Any, loc: Iterable[Any]) -> str:
    """`sources.dossiers.columns.MaHoSo.requried`: list items are named by their `code` when they have one."""
    out, node = "", data
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int) and isinstance(node, dict):  # a mapping validated as a list (columns:)
            keys = list(node)
            part = keys[part] if part < len(keys) else part
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            code = item.get("code") if isinstance(item, dict) else None
            out += f"[{code}]" if isinstance(code, str) else f"[{part + 1}]"
            node = item
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


SINGULAR = {"criteria": "criterion", "extra_criteria": "criterion", "indicators": "indicator",
            "classification": "class", "assessed_indicators": "assessed indicator", "steps": "step",
            "periodic_indicators": "periodic indicator"}


def rubric_place(data: Any, loc: tuple) -> tuple[str, str | None]:
    """(where, leaf): the place as evaluators read a rubric ("groups.district, criterion 'communes', indicator
    'commune_lan_ratio'") and the key at that place the error is about."""
    parts = [p for p in loc if p != "[key]"]
    segments: list[str] = []
    node, i = data, 0
    while i < len(parts):
        part, nxt = parts[i], parts[i + 1] if i + 1 < len(parts) else None
        child = node.get(part) if isinstance(node, dict) else None
        if isinstance(nxt, int) and part in SINGULAR:
            item = child[nxt] if isinstance(child, list) and nxt < len(child) else None
            name = next((item[k] for k in ("code", "label") if isinstance(item, dict) and isinstance(item.get(k), str)),
                        None)
            segment = f"{SINGULAR[part]} {name!r}" if name is not None else f"{part}[{nxt + 1}]"
            segments.append(f"classification, {segment}" if part == "classification" and name else segment)
            node, i = item, i + 2
        elif part == "groups" and isinstance(nxt, str):
            segments.append(f"groups.{nxt}")
            node, i = child.get(nxt) if isinstance(child, dict) else None, i + 2
        elif i == len(parts) - 1 and isinstance(part, int):  # an item of a plain list (uncertainty.methods.<code>)
            return ", ".join(segments[:-1] + [f"{segments[-1] if segments else ''}[{part + 1}]"]), None
        elif i == len(parts) - 1:
            return ", ".join(segments), str(part)
        else:
            segments.append(str(part))
            node, i = child, i + 1
    return ", ".join(segments), None


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, UnionType):
            tp = next((a for a in get_args(tp) if a is not type(None)), tp)
        else:
            return tp


def _keys_at(model: Any, loc: tuple) -> list[str]:
    """The keys the model allows at `loc` (for "did you mean"), or [] when the path cannot be followed."""
    tp = model
    for part in loc:
        tp = _unwrap(tp)
        fields = getattr(tp, "__pydantic_fields__", None)
        if fields is not None:
            if part not in fields:
                return []
            tp = fields[part].annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif get_origin(tp) in (tuple, list):
            tp = get_args(tp)[0]
        else:
            return []
    return list(getattr(_unwrap(tp), "__pydantic_fields__", {}))


def _unknown_key_hint(model: Any, err: dict) -> str:
    if err.get("input") is None:
        return " (a value with an unquoted comma inside {…}? quote the text: \"…, …\")"
    loc = tuple(p for p in err["loc"] if p != "[key]")
    close = difflib.get_close_matches(str(loc[-1]), _keys_at(model, loc[:-1]), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def problems(path: Path, data: Any, exc: ValidationError, model: Any, rubric: bool = False) -> str:
    """One line per problem: `<file>: <key path>: <reason>` (rubrics: `<file>: <place>: <key> <reason>`)."""
    lines = []
    path = shown_path(path)
    for err in exc.errors():
        loc = tuple(err["loc"])
        kind = err["type"]
        if rubric:
            where, leaf = rubric_place(data, loc)
            if kind in UNKNOWN_KEY:
                text = f"unknown key(s) [{leaf!r}]{_unknown_key_hint(model, err)}"
            elif kind in MISSING:
                text = f"missing key(s) [{leaf!r}]"
            elif leaf is not None and where:
                text = f"{leaf} {_reason(err)}"
            else:
                where, text = leaf or where, _reason(err)
        else:
            where = key_path(data, loc)
            text = ("unknown key" + _unknown_key_hint(model, err) if kind in UNKNOWN_KEY
                    else "missing key" if kind in MISSING else _reason(err))
        lines.append(f"{path}: {where}: {text}" if where else f"{path}: {text}")
    return "\n".join(dict.fromkeys(lines))


def parse(model: Any, data: Any, path: Path, error: type[RegistryError] = RegistryError, rubric: bool = False) -> Any:
    """Validate `data` (read from `path`) as `model`; errors name the file and the key path."""
    try:
        if isinstance(model, type) and issubclass(model, BaseModel):
            return model.model_validate(data)
        from pydantic import TypeAdapter

        return TypeAdapter(model).validate_python(data)
    except ValidationError as exc:
        raise error(problems(path, data, exc, model, rubric)) from None


# --- the bundled files ----------------------------------------------------------------------------------------------


def _stamp(*paths: Path) -> tuple:
    """What a cached load depends on: each file's size and modification time (an edit invalidates the cache)."""
    out = []
    for p in paths:
        try:
            st = Path(p).stat()
            out.append((str(p), st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            out.append((str(p), None, None))
    return tuple(out)


def load_methodology(path: Path = METHODOLOGY_PATH) -> Methodology:
    """The standard agency groups, the default classification and the palette (config/methodology.yaml)."""
    return _load_methodology(Path(path), _stamp(path))


@lru_cache(maxsize=8)
def _load_methodology(path: Path, _stamp: tuple) -> Methodology:
    methodology = parse(Methodology, read_yaml(path), path)
    _check_classes(lambda where, problem: _raise(RegistryError, path, where, problem), methodology.classification,
                   "classification", math.inf)
    return methodology


def load_catalogue(path: Path = CATALOGUE_PATH) -> tuple[Indicator, ...]:
    """The indicator catalogue (docs/domain.md §4), typed."""
    return _load_catalogue(Path(path), _stamp(path))


@lru_cache(maxsize=8)
def _load_catalogue(path: Path, _stamp: tuple) -> tuple[Indicator, ...]:
    return parse(Catalogue, read_yaml(path), path).indicators


def load_threshold_model(path: Path = THRESHOLDS_PATH) -> Thresholds:
    """The quality thresholds over their defaults; a missing file means every default."""
    path = Path(path)
    data = read_yaml(path) if path.exists() else None
    return parse(Thresholds, data or {}, path)


def load_sources(path: Path = SOURCES_PATH) -> dict[str, SourceContract]:
    """The raw source contracts with the standard agency groups (bundled files only: safe at import time).

    A run reads `load_registry(data_dir).sources`, whose agency groups also include those its rubrics declare."""
    return _load_sources(Path(path), _stamp(path, METHODOLOGY_PATH))


@lru_cache(maxsize=8)
def _load_sources(path: Path, _stamp: tuple) -> dict[str, SourceContract]:
    sources = parse(SourcesFile, read_yaml(path), path).sources
    return _with_groups(sources, list(load_methodology().agency_groups))


def _with_groups(sources: dict[str, SourceContract], groups: list[str]) -> dict[str, SourceContract]:
    """Columns with `allowed_from: agency_groups` get the group codes as their allowed values."""
    def resolved(c: ColumnContract) -> ColumnContract:
        return replace(c, allowed=tuple(groups)) if c.allowed_from == "agency_groups" else c

    return {name: replace(s, columns=tuple(resolved(c) for c in s.columns)) for name, s in sources.items()}


# --- rubrics --------------------------------------------------------------------------------------------------------


def _raise(error: type[RegistryError], path: Path, where: str, problem: str) -> None:
    path = shown_path(path)
    raise error(f"{path}: {where}: {problem}" if where else f"{path}: {problem}")


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
                out.append(f"{shown_path(where)}: {p.name!r} is not read as a rubric: a rubric file must be named "
                           f"<year>.yaml ({year}.yaml); a draft's name starts with draft")
    for p in sorted(periodic.iterdir()) if periodic.is_dir() else []:
        if p.is_file() and _meant_as_rubric(p.name):
            out.append(f"{shown_path(periodic)}: {p.name!r} is not read as a rubric: a periodic rubric goes in "
                       f"{PERIODIC_DIR}/<name>/<year>.yaml")
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
        raise RubricError(f"{rubric_dir}: no rubric for {year}: no file for {year} or an earlier year ({first})"
                          + misnamed)
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
        return [fix(v, f"{kind} {v['code']!r}" if isinstance(v, dict) and isinstance(v.get("code"), str)
                    else f"{kind} {i + 1}", aliases) for i, v in enumerate(value)]

    top = fix(data, "", TOP_ALIASES)
    if not isinstance(top, dict):
        return top
    if "criteria" in top:
        top["criteria"] = each(top["criteria"], "criterion", CRITERION_ALIASES)
    if "assessed_indicators" in top:
        top["assessed_indicators"] = each(top["assessed_indicators"], "assessed indicator", ASSESSED_ALIASES)
    if isinstance(top.get("groups"), dict):
        groups = {}
        for code, g in top["groups"].items():
            g = fix(g, f"groups.{code}", GROUP_ALIASES)
            if isinstance(g, dict) and "extra_criteria" in g:
                g["extra_criteria"] = each(g["extra_criteria"], "criterion", CRITERION_ALIASES)
            groups[code] = g
        top["groups"] = groups
    return top


def _check_classes(fail: Callable[[str, str], None], classes: Iterable[ClassSpec], where: str,
                   maximum: float) -> tuple[tuple[str, float], ...]:
    out = tuple((c.label, c.min) for c in classes)
    labels = [label for label, _ in out]
    if len(set(labels)) != len(labels):
        fail(where, f"duplicate classification label in {labels}")
    mins = [m for _, m in out]
    if any(a <= b for a, b in zip(mins, mins[1:], strict=False)):
        fail(where, "thresholds out of order: list classes from the highest minimum down, strictly decreasing "
                    f"(got {', '.join(f'{lab} >= {m:g}' for lab, m in out)})")
    if mins[-1] != 0:
        fail(where, f"the last class ({labels[-1]!r}) must have min: 0 so that every total is classified")
    if mins[0] > maximum + TOLERANCE:
        fail(where, f"threshold {mins[0]:g} of {labels[0]!r} is above the maximum {maximum:g}")
    return out


def tint(colour: str, white: float = 0.75) -> str:
    """`colour` mixed with white: the light row fill of a class that names only its badge colour."""
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * white):02X}" for c in rgb)


def class_colours(classes: tuple[ClassSpec, ...], defaults: tuple[ClassSpec, ...]) -> dict[str, tuple[str, str]]:
    """label → (colour, fill): a class's own colours, else the default class of that label's, else those of the
    default class at the same rank (best to worst), so "Đạt" / "Chưa đạt" read green / red."""
    by_label = {d.label: d for d in defaults}
    out = {}
    for i, c in enumerate(classes):
        rank = round(i * (len(defaults) - 1) / (len(classes) - 1)) if len(classes) > 1 else 0
        base = by_label.get(c.label, defaults[rank])
        colour = c.colour or base.colour or "#777777"
        fill = c.fill or (base.fill if not c.colour and base.fill else tint(colour))
        out[c.label] = (colour, fill)
    return out


def _criteria(fail: Callable[[str, str], None], specs: tuple[CriterionSpec, ...], known: set[str]) -> list[Criterion]:
    out = []
    for c in specs:
        where = f"criterion {c.code!r}"
        for i in c.indicators:
            if i.code not in known:
                fail(f"{where}, indicator {i.code!r}", "unknown indicator code: not in the indicator catalogue "
                     "(assets/indicators/catalogue.yaml) nor under assessed_indicators: of this file")
        total = sum(i.points for i in c.indicators)
        if abs(total - c.max_points) > TOLERANCE:
            fail(where, f"indicator points add up to {total:g}, but max_points is {c.max_points:g}")
        items = tuple(Item(i.code, i.points, i.params.get("target"), i.method, i.params) for i in c.indicators)
        out.append(Criterion(c.code, c.name_vi, c.name_en or "", c.max_points, items))
    return out


def _scaled(criteria: list[Criterion], scale: float) -> list[Criterion]:
    """Scale points and maxima (0.9 × 6 → 5.4), rounded to 9 decimals to drop binary noise."""
    return [replace(c, max_points=round(c.max_points * scale, 9),
                    items=tuple(replace(i, points=round(i.points * scale, 9)) for i in c.items)) for c in criteria]


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
    standard = _criteria(fail, spec.criteria, known)
    base_max = sum(c.max_points for c in standard)
    if abs(base_max - spec.maximum) > TOLERANCE:
        fail("criteria", f"criteria max_points add up to {base_max:g}, but maximum is {spec.maximum:g}")
    base_specs = spec.classification or methodology.classification
    base_classes = _check_classes(fail, base_specs, "classification", spec.maximum)

    codes = [*methodology.agency_groups, *(g for g in spec.groups if g not in methodology.agency_groups)]
    variants: dict[str, Variant] = {}
    pending: dict[str, str] = {}
    for group in codes:
        where = f"groups.{group}"
        g = spec.groups.get(group) or GroupSpec()
        if g.same_as is not None:
            if any(getattr(g, k) is not None for k in VARIANT_KEYS):
                fail(where, "same_as cannot be combined with other keys (only with the group's labels, sheet, "
                            "colour and order)")
            target = spec.groups.get(g.same_as)
            if g.same_as not in codes or g.same_as == group:
                fail(where, f"same_as must name another agency group, got {g.same_as!r}")
            if target is not None and target.same_as is not None:
                fail(where, f"same_as {g.same_as!r}, which is itself same_as another group: name the group directly")
            pending[group] = g.same_as
            continue
        scale = 1.0 if g.scale is None else g.scale
        criteria = _scaled(standard, scale) if scale != 1 else list(standard)
        if g.extra_criteria:
            criteria += _criteria(lambda w, p, gw=where: fail(f"{gw}, {w}", p), g.extra_criteria, known)
        dup = _duplicates([c.code for c in criteria])
        if dup:
            fail(where, f"duplicate criterion code(s) {dup}")
        dup = _duplicates([i.code for c in criteria for i in c.items])
        if dup:
            fail(where, f"duplicate indicator code(s) {dup}: an indicator can be scored once per group")
        group_max = round(sum(c.max_points for c in criteria), 9)
        if g.maximum is not None and abs(g.maximum - group_max) > TOLERANCE:
            fail(where, f"criteria add up to {group_max:g} (scale {scale:g} × {spec.maximum:g} + extra criteria), "
                        f"but maximum is {g.maximum:g}")
        if g.classification is not None:
            class_specs = g.classification
            classes = _check_classes(fail, class_specs, f"{where}.classification", group_max)
        elif abs(group_max - spec.maximum) > TOLERANCE:
            fail(where, f"criteria add up to {group_max:g}, not the rubric maximum {spec.maximum:g}: give this group "
                        "its own classification thresholds")
        else:
            class_specs, classes = base_specs, base_classes
        variants[group] = Variant(group, tuple(criteria), group_max, classes,
                                  class_colours(class_specs, methodology.classification))
    for group, target in pending.items():
        variants[group] = replace(variants[target], group=group)
    labels = {code: GroupLabels(**{k: getattr(g, k) for k in GroupLabels.model_fields})
              for code, g in spec.groups.items()}
    scored = {i.code for v in variants.values() for c in v.criteria for i in c.items}
    for code in spec.uncertainty.methods:
        if code not in scored:
            fail(f"uncertainty.methods.{code}", "not an indicator scored by this rubric (no criterion of any group "
                                                "gives it points)")
    return Rubric(spec.year, path, spec.title or f"Rubric {spec.year}", spec.maximum, variants, assessed,
                  spec.decimals, labels, spec.uncertainty, spec.period, periodic)


def load_rubric(path: Path, catalogue_path: Path = CATALOGUE_PATH) -> Rubric:
    """Parse and check one rubric file; raises RubricError naming the file, the place and the problem."""
    path = Path(path)
    return _load_rubric(path, _stamp(path, catalogue_path, METHODOLOGY_PATH), Path(catalogue_path))


@lru_cache(maxsize=64)
def _load_rubric(path: Path, _stamp: tuple, catalogue_path: Path) -> Rubric:
    data = _normalise_aliases(path, read_yaml(path, RubricError))
    if not isinstance(data, dict):
        raise RubricError(f"{shown_path(path)}: expected a mapping with keys ['criteria', 'maximum', 'year'], "
                          f"got {_shown(data)}")
    spec = parse(RubricFile, data, path, RubricError, rubric=True)
    return expand_rubric(path, spec, known_indicator_codes(catalogue_path), load_methodology())


# The codes of docs/domain.md §4, used only when the indicator catalogue file is absent (a rubric checked alone).
FALLBACK_INDICATOR_CODES = (
    "svc_online_ratio", "svc_level3_ratio", "svc_level4_ratio", "dossier_online_ratio",
    "dossier_online_ratio_l3", "dossier_online_ratio_l4", "svc_with_online_dossier_ratio",
    "dossier_on_time_ratio", "dossier_paid_online_ratio", "dossier_digitized_ratio",
    "one_stop_in_software_ratio", "computers_per_staff", "internet_computer_ratio", "has_lan",
    "security_assessed", "offline_computer_secret", "security_measures", "edoc_ratio", "esign_ratio",
    "official_email_ratio", "it_staff_present", "staff_it_trained_ratio", "it_security_trained_ratio",
    "has_it_plan", "has_it_regulation", "has_it_budget", "commune_computers_ratio", "commune_lan_ratio",
    "commune_one_stop_ratio", "commune_website_ratio",
)


def known_indicator_codes(catalogue_path: Path = CATALOGUE_PATH) -> set[str]:
    """The catalogue's codes (a lenient read: `code:` keys only), else the fallback list when the file is absent."""
    catalogue_path = Path(catalogue_path)
    if not catalogue_path.exists():
        return set(FALLBACK_INDICATOR_CODES)
    if catalogue_path == CATALOGUE_PATH:
        return {i.code for i in load_catalogue()}
    data = read_yaml(catalogue_path)
    entries = data.get("indicators", []) if isinstance(data, dict) else data or []
    return {str(e["code"]) for e in entries if isinstance(e, dict) and "code" in e}


# --- the registry of a data directory -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registry:
    """Everything a run reads about the methodology, loaded and cross-checked once per data directory."""

    data_dir: Path
    rubric_dir: Path
    sources: dict[str, SourceContract]
    indicators: tuple[Indicator, ...]
    thresholds: Thresholds
    methodology: Methodology
    agency_groups: tuple[AgencyGroup, ...]  # in report order
    rubrics: dict[int, Rubric]  # by the year of the file
    periodic: dict[str, dict[int, Rubric]] = field(default_factory=dict)  # scorecard name → year of file → rubric

    def periodic_rubric(self, name: str, year: int) -> Rubric | None:
        """The periodic rubric `name` in force in `year` (the latest file not after it), None before the first."""
        versions = self.periodic.get(name, {})
        earlier = [y for y in versions if y <= year]
        return versions[max(earlier)] if earlier else None

    @property
    def group_codes(self) -> list[str]:
        return [g.code for g in self.agency_groups]

    def group(self, code: str) -> AgencyGroup:
        return next(g for g in self.agency_groups if g.code == code)

    @property
    def classification_labels(self) -> list[str]:
        """Every class label a ranking may carry: the defaults' and those of every rubric's variants."""
        labels = [c.label for c in self.methodology.classification]
        labels += [label for r in self.rubrics.values() for v in r.variants.values() for label, _ in v.classes]
        return list(dict.fromkeys(labels))


def agency_groups(methodology: Methodology, rubrics: Iterable[Rubric]) -> tuple[AgencyGroup, ...]:
    """The standard groups, then those the rubrics declare (the latest rubric's labels win); a group without a
    label is shown by its code, without a colour in the palette's."""
    specs = {code: g.model_dump(exclude_none=True) for code, g in methodology.agency_groups.items()}
    for rubric in sorted(rubrics, key=lambda r: r.year):
        for code, g in rubric.groups.items():
            specs.setdefault(code, {}).update(g.model_dump(exclude_none=True))
    last = max((s["order"] for s in specs.values() if "order" in s), default=0)
    out = []
    for i, (code, s) in enumerate(specs.items()):
        if "order" not in s:  # after the groups that have one, in the order they are declared
            last += 1
        order = s.get("order", last)
        label = s.get("label_vi", code)
        out.append(AgencyGroup(code, order, label, s.get("label_en", label), s.get("sheet", label),
                               s.get("colour", methodology.palette[i % len(methodology.palette)])))
    return tuple(sorted(out, key=lambda g: (g.order, g.code)))


def load_registry(data_dir: Path | None = None) -> Registry:
    """The registry of a data directory (default: EGOV_DATA_DIR, else data/), loaded once while its files are
    unchanged; raises RegistryError (RubricError for a rubric) naming the file, the key path and the reason."""
    base = Path(data_dir).resolve() if data_dir else settings.data_dir()
    return _load_registry(base, settings.rubric_dir(base), _stamp(*configuration_files(base)))


def configuration_files(data_dir: Path) -> list[Path]:
    """What `load_registry(data_dir)` reads: the bundled files, the rubric folder and its rubrics. Its cache
    follows them, and so does `egov run`'s fingerprint (pipelines/unchanged.py: the code folders and the rubric
    folder), so an edited rubric is applied by the next run."""
    rubric_dir = settings.rubric_dir(data_dir)
    return [SOURCES_PATH, METHODOLOGY_PATH, CATALOGUE_PATH, THRESHOLDS_PATH, rubric_dir,
            *rubric_files(rubric_dir).values(),
            *(p for files in periodic_rubric_files(rubric_dir).values() for p in files.values())]


@lru_cache(maxsize=8)
def _load_registry(base: Path, rubric_dir: Path, _stamp: tuple) -> Registry:
    methodology = load_methodology()
    indicators = load_catalogue()
    rubrics = {year: load_rubric(path) for year, path in rubric_files(rubric_dir).items()}
    for rubric in rubrics.values():
        if rubric.period != "year":
            _raise(RubricError, rubric.path, "period", f"a {rubric.period}ly rubric belongs in "
                   f"{PERIODIC_DIR}/<name>/ of the rubric folder, not among the annual rubrics")
    periodic = {name: {year: load_rubric(path) for year, path in files.items()}
                for name, files in periodic_rubric_files(rubric_dir).items()}
    for versions in periodic.values():
        for rubric in versions.values():
            if rubric.period == "year":
                _raise(RubricError, rubric.path, "period", "a rubric of the periodic folder needs period: month "
                       "or quarter")
    groups = agency_groups(methodology, rubrics.values())
    codes = [g.code for g in groups]
    sources = _with_groups(parse(SourcesFile, read_yaml(SOURCES_PATH), SOURCES_PATH).sources, codes)
    thresholds = load_threshold_model()

    def fail(path: Path, where: str, problem: str) -> None:
        _raise(RegistryError, path, where, problem)

    for i in indicators:
        for g in i.applies_to or ():
            if g not in codes:
                fail(CATALOGUE_PATH, f"indicators[{i.code}].applies_to", f"unknown agency group {g!r} (known: {codes})")
    for key, names in (("quarantined_share_by_source", thresholds.quarantined_share_by_source),
                       ("required_returns", thresholds.required_returns)):
        for name in names:
            if name not in sources:
                fail(THRESHOLDS_PATH, f"{key}.{name}", f"unknown source (sources.yaml: {list(sources)})")
    assessed = {code for r in rubrics.values() for code in r.assessed}
    for code in thresholds.indicator_bounds:
        if code not in {i.code for i in indicators} | assessed:
            fail(THRESHOLDS_PATH, f"indicator_bounds.{code}", "unknown indicator code (not in the catalogue nor "
                 "assessed by a rubric)")
    return Registry(base, rubric_dir, sources, indicators, thresholds, methodology, groups, rubrics, periodic)


def write_agency_groups(con: Any, groups: Iterable[AgencyGroup]) -> int:
    """Refill the warehouse dimension `agency_groups` (assets/ingestion/schema.sql), so SQL joins it for a group's
    label and order instead of spelling the groups out; returns the rows written. The warehouse starts with the
    standard groups (pipelines/warehouse.py); each scoring step writes those of the registry it scores with."""
    rows = [(g.code, g.order, g.label_vi, g.label_en, g.sheet, g.colour) for g in groups]
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM agency_groups")
        con.executemany("INSERT INTO agency_groups VALUES (?, ?, ?, ?, ?, ?)", rows)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return len(rows)


def standard_agency_groups() -> tuple[AgencyGroup, ...]:
    """The groups of config/methodology.yaml alone (bundled: needs no data directory)."""
    return agency_groups(load_methodology(), [])
