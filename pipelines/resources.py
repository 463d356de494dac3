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
    """The pipeline's working DuckDB file, plus where raw files and marts live (one data directory).

    Left empty, `data_dir` and `database` are resolved when used, from EGOV_DATA_DIR (else data/), so the
    variable may be set after `pipelines.definitions` was imported.
    """

    data_dir: str = ""
    database: str = ""

    @property
    def base(self) -> Path:
        return Path(self.data_dir) if self.data_dir else settings.data_dir()

    @property
    def raw_dir(self) -> Path:
        return settings.raw_dir(self.base)

    @property
    def marts_dir(self) -> Path:
        return settings.marts_dir(self.base)

    @property
    def database_path(self) -> Path:
        return Path(self.database) if self.database else settings.warehouse_path(self.base)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection with the schema and the parsing macros in place (DuckDBResource's retrying open)."""
        path = self.database_path
        path.parent.mkdir(parents=True, exist_ok=True)
        with DuckDBResource(database=str(path), connection_config=self.connection_config).get_connection() as con:
            yield prepare(con)


def build_resources(data_dir: Path | None = None) -> dict[str, object]:
    """Resources pinned to `data_dir`, or following EGOV_DATA_DIR at run time when it is None."""
    if data_dir is None:
        return {"warehouse": Warehouse()}
    base = data_dir.resolve()
    return {"warehouse": Warehouse(database=str(settings.warehouse_path(base)), data_dir=str(base))}
