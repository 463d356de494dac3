"""The raw source contracts of config/sources.yaml, as typed objects (defined and checked in pipelines/registry.py).

The ingestion code imports them from here; the contracts themselves live in the registry, with the rest of the
methodology, so a source is declared once (docs/developers.md, "Add a raw source").
"""

from __future__ import annotations

from pathlib import Path

from pipelines.registry import (
    COLUMN_TYPES,
    SOURCES_PATH,
    ColumnContract,
    RowRule,
    SourceContract,
    load_sources,
)

__all__ = ["COLUMN_TYPES", "ColumnContract", "RowRule", "SourceContract", "load_contracts"]


def load_contracts(path: Path = SOURCES_PATH) -> dict[str, SourceContract]:
    """The contracts by source name, with the standard agency groups (a run uses load_registry(data_dir).sources,
    whose agency groups include those its rubrics declare)."""
    return load_sources(path)
