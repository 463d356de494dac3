"""Resources: the data directory and the warehouse, both derived from EGOV_DATA_DIR."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster_duckdb import DuckDBResource

from pipelines import settings
from pipelines.warehouse import prepare


class Warehouse(DuckDBResource):
    """The pipeline's working DuckDB file, plus where raw files and marts live (one data directory)."""

    data_dir: str

    @property
    def raw_dir(self) -> Path:
        return settings.raw_dir(Path(self.data_dir))

    @property
    def marts_dir(self) -> Path:
        return settings.marts_dir(Path(self.data_dir))

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection with the schema and the parsing macros in place."""
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with self.get_connection() as con:
            yield prepare(con)


def build_resources(data_dir: Path | None = None) -> dict[str, object]:
    base = (data_dir or settings.data_dir()).resolve()
    return {"warehouse": Warehouse(database=str(settings.warehouse_path(base)), data_dir=str(base))}
