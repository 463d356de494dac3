"""The Dagster instance `egov` records its runs in (`DAGSTER_HOME`): created once per data directory, with the
run queue's limits that keep one writer per warehouse and per province."""

from __future__ import annotations

import os
from pathlib import Path

# The instance's settings: no telemetry; runs that write the warehouse (tag egov/warehouse) queue one at a time, and so
# do runs of the same province of a national directory (tag egov/province, one run per value).
# Run monitoring fails runs stuck STARTING (a launch that never began); runs whose process died while STARTED are
# recognised by egov itself (pipelines/defs/runs.py: the default launcher has no worker health check).
DAGSTER_YAML = """telemetry:
  enabled: false
concurrency:
  runs:
    tag_concurrency_limits:
      - key: egov/warehouse
        limit: 1
      - key: egov/province
        value:
          applyLimitPerUniqueValue: true
        limit: 1
run_monitoring:
  enabled: true
  start_timeout_seconds: 300
  poll_interval_seconds: 60
"""


# A production instance (several machines: the daemon, the web server, Celery workers): runs, events and schedules in
# PostgreSQL through dagster-postgres, when the deployment sets this variable to a postgresql:// URL. The file names
# the variable, never the URL (it holds the password).
PG_URL_ENV = "EGOV_DAGSTER_PG_URL"
POSTGRES_STORAGE = f"""storage:
  postgres:
    postgres_url:
      env: {PG_URL_ENV}
"""


class InstanceConfigError(RuntimeError):
    """DAGSTER_HOME's dagster.yaml and the environment disagree on where the instance lives."""


def dagster_yaml() -> str:
    """The instance settings egov writes: SQLite in DAGSTER_HOME, or PostgreSQL when EGOV_DAGSTER_PG_URL is set."""
    return DAGSTER_YAML + (POSTGRES_STORAGE if os.environ.get(PG_URL_ENV) else "")


def ensure_dagster_home(data_dir: Path) -> Path:
    """Runs are recorded in DAGSTER_HOME, by default `<data dir>/dagster_home`, so the UI can show them.

    A dagster.yaml written by egov and never edited follows EGOV_DAGSTER_PG_URL (set: PostgreSQL storage; the runs
    recorded in SQLite before stay in DAGSTER_HOME's files, not shown); an edited one is the operator's and is kept."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    url = os.environ.get(PG_URL_ENV, "")
    if url.startswith(("postgresql://", "postgres://")):
        # SQLAlchemy 2.1 reads postgresql:// with psycopg 3, which is not installed; dagster-postgres brings psycopg2.
        # For egov and the processes it starts (dagster dev, workers); a service started otherwise sets the full form.
        os.environ[PG_URL_ENV] = "postgresql+psycopg2://" + url.split("://", 1)[1]
    config = home / "dagster.yaml"
    wanted = dagster_yaml()
    current = config.read_text(encoding="utf-8") if config.exists() else None
    if current is None or (current in (DAGSTER_YAML, DAGSTER_YAML + POSTGRES_STORAGE) and current != wanted):
        if current == DAGSTER_YAML + POSTGRES_STORAGE:  # the instance is in PostgreSQL: never fall back silently
            raise InstanceConfigError(
                f"{config} keeps the Dagster instance in PostgreSQL, but {PG_URL_ENV} is not set: set it (the "
                "postgresql:// URL of the instance's database), or remove the file to use SQLite in DAGSTER_HOME"
            )
        config.write_text(wanted, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    initialise_instance(home)
    return home


def initialise_instance(home: Path) -> None:
    """Create the instance's SQLite storages once, under a lock: processes that open a new DAGSTER_HOME at the same
    time (two `egov worker`s and a backfill started together) would otherwise each create the tables, and the
    loser fails ("table ... already exists") or leaves the schema with two migration heads."""
    import fcntl

    marker = home / (".egov-initialised" + ("-postgres" if os.environ.get(PG_URL_ENV) else ""))
    if marker.exists():
        return
    with (home / ".egov-init.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():  # another process did it while this one waited
            return
        import dagster as dg

        with dg.DagsterInstance.from_config(str(home)) as instance:
            instance.get_runs(limit=1)
            instance.all_instigator_state()
        marker.touch()
