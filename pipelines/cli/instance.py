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


def ensure_dagster_home(data_dir: Path) -> Path:
    """Runs are recorded in DAGSTER_HOME, by default `<data dir>/dagster_home`, so the UI can show them."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    initialise_instance(home)
    return home


def initialise_instance(home: Path) -> None:
    """Create the instance's SQLite storages once, under a lock: processes that open a new DAGSTER_HOME at the same
    time (two `egov worker`s and a backfill started together) would otherwise each create the tables, and the
    loser fails ("table ... already exists") or leaves the schema with two migration heads."""
    import fcntl

    marker = home / ".egov-initialised"
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
