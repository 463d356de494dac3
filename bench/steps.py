"""Per-step durations of a recorded Dagster run, read from the instance's event log (DAGSTER_HOME).

DAGSTER_HOME=<home> python bench/steps.py <run_id>            # prints JSON {step: seconds, ...}
DAGSTER_HOME=<home> python bench/steps.py <run_id> --spans    # {step: [start, end], ...} (Unix times)
"""

from __future__ import annotations

import json
import sys

import dagster as dg


def step_spans(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    """Each step's (start, end) as Unix times: STEP_START → STEP_SUCCESS/FAILURE."""
    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    started: dict[str, float] = {}
    spans: dict[str, tuple[float, float]] = {}
    for record in instance.all_logs(run_id, of_type=kinds):
        event = record.dagster_event
        if event.event_type == dg.DagsterEventType.STEP_START:
            started[event.step_key] = record.timestamp
        elif event.step_key in started:
            spans[event.step_key] = (started[event.step_key], record.timestamp)
    return spans


def step_durations(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """Seconds per step (its span, `step_spans`), plus the run's own span and its start-up gap."""
    out = {step: round(end - start, 3) for step, (start, end) in step_spans(instance, run_id).items()}
    kinds = {dg.DagsterEventType.RUN_START, dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE}
    run_start = run_end = None
    for record in instance.all_logs(run_id, of_type=kinds):
        if record.dagster_event.event_type == dg.DagsterEventType.RUN_START:
            run_start = record.timestamp
        else:
            run_end = record.timestamp
    steps = dict(sorted(out.items(), key=lambda kv: -kv[1]))
    if run_start is not None and run_end is not None:
        steps["(run: RUN_START → RUN_SUCCESS)"] = round(run_end - run_start, 3)
        steps["(between steps: run minus steps)"] = round(run_end - run_start - sum(out.values()), 3)
    return steps


if __name__ == "__main__":
    with dg.DagsterInstance.get() as instance:
        if sys.argv[2:] == ["--spans"]:
            print(json.dumps(step_spans(instance, sys.argv[1]), indent=1))
        else:
            print(json.dumps(step_durations(instance, sys.argv[1]), indent=1))
