"""Nightly refresh of the running year."""

from __future__ import annotations

import dagster as dg

from pipelines import settings
from pipelines.jobs import pipeline_job
from pipelines.runs import reap_dead_runs_of
from pipelines.settings import TIMEZONE


@dg.schedule(
    job=pipeline_job,
    cron_schedule="0 2 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every night at 02:00 (Vietnam time): refresh this year from new or changed raw files.",
)
def nightly_current_year(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    if settings.is_national():  # the national job has no schedule yet: `egov run` from cron (docs/operators.md)
        return dg.SkipReason("a national data directory: run `egov run` nightly instead")
    for line in reap_dead_runs_of(context):  # else a killed run keeps tonight's run queued forever
        context.log.warning(line)
    year = str(context.scheduled_execution_time.year)
    return dg.RunRequest(run_key=f"nightly-{context.scheduled_execution_time:%Y-%m-%d}", partition_key=year)
