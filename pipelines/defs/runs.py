"""Runs that write the warehouse: which process runs them, and the runs whose process is gone.

A run killed with SIGKILL (out of memory, a reboot, `kill -9`) never reports its end: Dagster keeps it `STARTED`,
and because runs tagged `egov/warehouse` queue one at a time, every later run (the schedule, the sensor) waits
behind it forever. Dagster's own run monitoring cannot tell for our runs (the default run launcher has no worker
health check, and CLI runs have no launcher at all), so each run records the process that executes it in its
tags, and `reap_dead_runs` marks failed the runs whose process no longer exists. The CLI, the sensor and the
schedule call it before starting anything.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import dagster as dg

from pipelines.defs.jobs import WAREHOUSE_TAG

HOST_TAG, PID_TAG, PROCESS_TAG = "egov/host", "egov/pid", "egov/process"
IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def _process_stamp(pid: int) -> str:
    """The boot and start time of process `pid` (Linux), so a pid reused after a reboot or wrap is not mistaken."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # Field 22 (start time in clock ticks since boot) counted after the command name, which may hold spaces.
    return f"{boot}:{stat.rsplit(')', 1)[1].split()[19]}"


def process_tags(pid: int | None = None) -> dict[str, str]:
    """Tags naming the process that executes a run."""
    pid = pid or os.getpid()
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(pid), PROCESS_TAG: _process_stamp(pid)}


def process_state(tags: dict[str, str]) -> str:
    """'alive', 'gone', or 'unknown' (another host, or a run that did not record its process)."""
    if PID_TAG not in tags or tags.get(HOST_TAG) != socket.gethostname():
        return "unknown"
    pid = int(tags[PID_TAG])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "gone"
    except PermissionError:  # exists, owned by another user
        pass
    recorded = tags.get(PROCESS_TAG, "")
    if recorded and _process_stamp(pid) not in ("", recorded):
        return "gone"  # the pid now belongs to another process
    return "alive"


def warehouse_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Runs that write the warehouse and have not ended, oldest first."""
    records = instance.get_run_records(dg.RunsFilter(statuses=IN_PROGRESS, tags=WAREHOUSE_TAG), ascending=True)
    return [r.dagster_run for r in records]


def reap_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed every unfinished warehouse run whose process is gone; one line per run marked."""
    said = []
    for run in warehouse_runs(instance):
        if process_state(run.tags) != "gone":
            continue
        message = (
            f"marked failed by egov: its process (pid {run.tags[PID_TAG]} on {run.tags[HOST_TAG]}) is gone "
            "(killed, out of memory or a reboot); the published marts were not changed by it"
        )
        instance.report_run_failed(run, message)
        said.append(
            f"Run {run.run_id[:8]} (started by pid {run.tags[PID_TAG]}) was left unfinished by a killed "
            "process: marked failed."
        )
    return said


def reap_dead_runs_of(context: dg.SensorEvaluationContext | dg.ScheduleEvaluationContext) -> list[str]:
    """`reap_dead_runs` on a sensor's or schedule's instance; nothing when evaluated without one (in tests)."""
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:
        return []
    return reap_dead_runs(instance)


def live_warehouse_runs(instance: dg.DagsterInstance, *, exclude: str | None = None) -> list[dg.DagsterRun]:
    """Unfinished warehouse runs whose process is alive (or cannot be checked from here)."""
    return [run for run in warehouse_runs(instance) if run.run_id != exclude and process_state(run.tags) != "gone"]
