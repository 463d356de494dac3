"""The raw source contracts (config/sources.yaml): each source's folder, table, columns with their types, and row
rules; the ingestion, the staging DDL and the quality checks are derived from them."""

from __future__ import annotations

from dataclasses import field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import ConfigDict, field_validator
from pydantic import dataclasses as pydantic_dataclasses

from pipelines.core import settings
from pipelines.core.registry.fields import Code, Flag, Model, Number, Text, _fail
from pipelines.core.registry.methodology import METHODOLOGY_PATH, load_methodology
from pipelines.core.registry.reading import RegistryError, _raise, _stamp, parse, read_yaml

SOURCES_PATH = settings.CONFIG_DIR / "sources.yaml"

# The staging table of the agency registry (the source with `role: registry`). The SQL of the marts, the scoring,
# the ingestion and the checks reads it by this name; the loader checks that the registry's contract says so.
REGISTRY_TABLE = "stg_agencies"


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
    key_of: str | None = None  # another source whose one key column this column must name (a rating's dossier)


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
    table: Code  # the staging table, which is also the name of its Dagster asset
    columns: tuple[ColumnContract, ...]
    # registry: the agency registry, the one source without year folders, which the agency codes of every other
    # source are checked against (exactly one source has it); code addresses the registry by this, not by its name
    role: Literal["registry"] | None = None
    unique: tuple[str, ...] = ()
    year_column: str | None = None
    year_from: str | None = None
    agency_column: str | None = None
    rules: tuple[RowRule, ...] = field(default_factory=tuple)
    sheet: str | None = None  # the XLSX sheet to read; None: the one visible sheet whose header matches
    key_label: str | None = None  # how a duplicate of the `unique` key reads in Vietnamese ("trùng MaHoSo")
    agency_return: Flag = False  # every evaluated agency sends it each year (data_quality.missing_return)
    optional_source: Flag = False  # a province may send none of its files: a year without them is not noted
    large: Flag = False  # rows grow with the dossiers: checked in SQL, validated by GX through a monthly aggregate
    # Records that change (an incremental feed sends a dossier again at each change of state): the row with the
    # latest `version` of each `key` across the files of every year is the record, older ones are superseded.
    key: tuple[str, ...] = ()
    version: str | None = None

    @field_validator("key", mode="before")
    @classmethod
    def _one_key_column(cls, value: Any) -> Any:
        """`key: MaHoSo` names one column; a list names several."""
        return [value] if isinstance(value, str) else value

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
        for k in self.key:
            if k not in names:
                raise _fail("key must name columns", k)
        if bool(self.key) != (self.version is not None):
            raise _fail(
                "key and version go together (the latest version of each key is the record)",
                self.version or list(self.key),
            )
        if self.version is not None:
            if self.version not in names:
                raise _fail("version must name one of the columns", self.version)
            if self.unique and self.unique != self.key:
                raise _fail(
                    "unique must be the key when both are given (rows without a version keep the first of each key)",
                    list(self.unique),
                )
        for c in self.columns:
            if c.refers_to and list(self.unique) != [c.refers_to]:
                raise _fail(f"{c.name}.refers_to must name the source's one key column (unique)", c.refers_to)
            if c.range_by and c.range_by not in names:
                raise _fail(f"{c.name}.range_by must name a column", c.range_by)

    @property
    def record_key(self) -> tuple[str, ...]:
        """The columns that name one record: `key` for a versioned source, else `unique`."""
        return self.key or self.unique

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


def load_sources(path: Path = SOURCES_PATH) -> dict[str, SourceContract]:
    """The raw source contracts with the standard agency groups (bundled files only: safe at import time).

    A run reads `load_registry(data_dir).sources`, whose agency groups also include those its rubrics declare."""
    return _load_sources(Path(path), _stamp(path, METHODOLOGY_PATH))


@lru_cache(maxsize=8)
def _load_sources(path: Path, _stamp: tuple) -> dict[str, SourceContract]:
    return _with_groups(parse_sources(path), list(load_methodology().agency_groups))


def parse_sources(path: Path) -> dict[str, SourceContract]:
    """The contracts of a sources file, checked one by one and together (`check_sources`)."""
    sources: dict[str, SourceContract] = parse(SourcesFile, read_yaml(path), path).sources
    check_sources(sources, path)
    return sources


def check_sources(sources: dict[str, SourceContract], path: Path) -> None:
    """What the code assumes of the sources as a whole, so that a source it would skip stops the load instead:
    exactly one agency registry (`role: registry`), the only source without year folders (the code makes it one
    Dagster asset for all years, ahead of the others: a second unpartitioned source would get no asset), with the
    staging table the SQL reads (REGISTRY_TABLE); every staging table named once (it is the source's asset)."""

    def fail(name: str, key: str, problem: str) -> None:
        _raise(RegistryError, path, f"sources.{name}.{key}" if name else "sources", problem)

    registries = [s.name for s in sources.values() if s.role == "registry"]
    if not registries:
        fail(
            "",
            "",
            "no source has role: registry; give it to the agency registry (the source without year "
            "folders whose agency codes every other source is checked against)",
        )
    if len(registries) > 1:
        fail(
            registries[1],
            "role",
            f"a second source with role: registry (sources.{registries[0]} has it); the agency registry is one source",
        )
    registry = sources[registries[0]]
    if registry.partitioned:
        fail(registry.name, "partitioned", "the agency registry (role: registry) has no year folders: it must be false")
    if registry.table != REGISTRY_TABLE:
        fail(
            registry.name,
            "table",
            f"the agency registry's staging table must be {REGISTRY_TABLE} (the SQL of "
            f"the marts, the scoring and the checks reads it by that name), got {registry.table!r}",
        )
    for s in sources.values():
        if not s.partitioned and s is not registry:
            fail(
                s.name,
                "partitioned",
                f"false is not supported for a source other than the agency registry "
                f"(sources.{registry.name}, role: registry): give its files year folders, raw/{s.folder}/<year>/, "
                "and partitioned: true",
            )
    for s in sources.values():
        for c in s.columns:
            target = sources.get(c.key_of) if c.key_of else None
            if c.key_of and (target is None or len(target.unique) != 1 or target is s):
                fail(
                    s.name,
                    f"columns.{c.name}.key_of",
                    f"{c.key_of!r} is not another source with one key column (unique: [column])",
                )
    tables: dict[str, str] = {}
    for s in sources.values():
        if s.table in tables:
            fail(s.name, "table", f"{s.table} is already the staging table of sources.{tables[s.table]}")
        tables[s.table] = s.name


def key_target(sources: dict[str, SourceContract], col: ColumnContract) -> tuple[str, str, str]:
    """The staging table, key column and label of the source a `key_of` column names (checked when loaded)."""
    target = sources[str(col.key_of)]
    return target.table, target.unique[0], target.label


def registry_source(sources: dict[str, SourceContract]) -> SourceContract:
    """The agency registry's contract: the source with `role: registry` (one, checked when the file loads)."""
    found = [s for s in sources.values() if s.role == "registry"]
    if len(found) != 1:
        raise RegistryError(
            f"{len(found)} sources with role: registry among {list(sources)}; the agency registry is exactly one source"
        )
    return found[0]


def _with_groups(sources: dict[str, SourceContract], groups: list[str]) -> dict[str, SourceContract]:
    """Columns with `allowed_from: agency_groups` get the group codes as their allowed values."""

    def resolved(c: ColumnContract) -> ColumnContract:
        return replace(c, allowed=tuple(groups)) if c.allowed_from == "agency_groups" else c

    return {name: replace(s, columns=tuple(resolved(c) for c in s.columns)) for name, s in sources.items()}
