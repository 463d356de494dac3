"""Resources: the data directory and the warehouse, both derived from EGOV_DATA_DIR."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipelines.core import settings
from pipelines.core.warehouse import lock_holder, prepare

# How long a step waits for the warehouse when another process holds it, before failing with who holds it.
LOCK_WAIT_SECONDS = 20.0


class WarehouseLocked(RuntimeError):
    """Another process holds the warehouse file (DuckDB allows one writer)."""


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

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Record the process executing the run, so a run killed with it can be recognised (pipelines/defs/runs.py)."""
        from pipelines.defs.runs import PID_TAG, process_tags

        run, instance = context.dagster_run, context.instance
        if run is not None and instance is not None and PID_TAG not in run.tags:
            instance.add_run_tags(run.run_id, process_tags())

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection with the staging tables and the core's own tables in place (pipelines/core/warehouse.py).

        A lock held by another process is waited for briefly (a run ending), then reported with its holder
        instead of DuckDBResource's silent ~100 s of retries and a traceback.
        """
        path = self.database_path
        path.parent.mkdir(parents=True, exist_ok=True)
        # The same configuration as DuckDBResource, so both may open the file in one process.
        config = {"custom_user_agent": "dagster", **self.connection_config}
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                con = duckdb.connect(str(path), config=config)
                break
            except duckdb.IOException as error:
                if "lock" not in str(error).lower():
                    raise
                if time.monotonic() > deadline:
                    raise WarehouseLocked(
                        f"The warehouse {path} is in use by another process ({lock_holder(str(error))}): another "
                        "egov run, or a tool holding it open. Wait for that run to end (or close the tool) and run "
                        "again; analysts should open the marts instead (`egov sql`)."
                    ) from None
                time.sleep(1.0)
        try:
            yield prepare(con)
        finally:
            con.close()


def build_resources(data_dir: Path | None = None) -> dict[str, object]:
    """Resources pinned to `data_dir`, or following EGOV_DATA_DIR at run time when it is None."""
    if data_dir is None:
        return {"warehouse": Warehouse()}
    base = data_dir.resolve()
    return {"warehouse": Warehouse(database=str(settings.warehouse_path(base)), data_dir=str(base))}
