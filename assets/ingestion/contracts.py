"""The raw source contracts of config/sources.yaml, loaded into typed objects once."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from pipelines.settings import CONFIG_DIR

COLUMN_TYPES = {"text", "int", "decimal", "flag", "date", "timestamp", "level"}


@dataclass(frozen=True)
class ColumnContract:
    name: str
    type: str
    required: bool = False
    optional: bool = False
    personal: bool = False
    allowed: tuple = ()
    default: object = None
    min: float | None = None
    keep_label_as: str | None = None
    free_text: bool = False  # a name: may hold line breaks and tabs (any control character quarantines a code)
    refers_to: str | None = None  # the source's own key column this column must name (a link between rows)
    range_by: str | None = None  # the column naming the indicator whose range (thresholds.yaml) bounds the value


@dataclass(frozen=True)
class RowRule:
    when: str
    reason: str


@dataclass(frozen=True)
class SourceContract:
    name: str
    label: str
    folder: str
    partitioned: bool
    table: str
    columns: tuple[ColumnContract, ...]
    unique: tuple[str, ...] = ()
    year_column: str | None = None
    year_from: str | None = None
    agency_column: str | None = None
    rules: tuple[RowRule, ...] = field(default_factory=tuple)
    sheet: str | None = None  # the XLSX sheet to read; None: the one visible sheet whose header matches

    @property
    def stored_columns(self) -> list[ColumnContract]:
        return [c for c in self.columns if not c.personal]

    @property
    def has_personal_data(self) -> bool:
        """Whether the source's files hold personal data: then no message may quote what a file holds."""
        return any(c.personal for c in self.columns)


@cache
def load_contracts(path: Path = CONFIG_DIR / "sources.yaml") -> dict[str, SourceContract]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]
    contracts = {}
    for name, s in spec.items():
        columns = []
        for col_name, c in s["columns"].items():
            if c["type"] not in COLUMN_TYPES:
                raise ValueError(f"{path}: {name}.{col_name}: unknown type {c['type']!r}")
            columns.append(ColumnContract(
                name=col_name, type=c["type"], required=c.get("required", False),
                optional=c.get("optional", False), personal=c.get("personal", False),
                allowed=tuple(c.get("allowed", ())), default=c.get("default"), min=c.get("min"),
                keep_label_as=c.get("keep_label_as"), free_text=c.get("free_text", False),
                refers_to=c.get("refers_to"), range_by=c.get("range_by"),
            ))
        names = {c.name for c in columns}
        for c in columns:
            if c.refers_to and list(s.get("unique", ())) != [c.refers_to]:
                raise ValueError(f"{path}: {name}.{c.name}: refers_to must name the source's one key column")
            if c.range_by and c.range_by not in names:
                raise ValueError(f"{path}: {name}.{c.name}: range_by names no column ({c.range_by})")
        contracts[name] = SourceContract(
            name=name, label=s["label"], folder=s["folder"], partitioned=s["partitioned"], table=s["table"],
            columns=tuple(columns), unique=tuple(s.get("unique", ())), year_column=s.get("year_column"),
            year_from=s.get("year_from"), agency_column=s.get("agency_column"),
            rules=tuple(RowRule(r["when"], r["reason"]) for r in s.get("rules", ())), sheet=s.get("sheet"),
        )
    return contracts


PARTITIONED_SOURCES = ("services", "dossiers", "one_stop", "infrastructure", "capacity", "assessments")
