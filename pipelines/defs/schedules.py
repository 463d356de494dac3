"""Nightly refresh of the running year: a provincial data directory's job, or every province of a national one."""

from __future__ import annotations

import dagster as dg

from pipelines.core import settings
from pipelines.core.settings import TIMEZONE
from pipelines.defs.jobs import national_job, pipeline_job
from pipelines.defs.provinces import PROVINCE_DIMENSION, range_tags
from pipelines.defs.runs import reap_dead_runs_of


@dg.schedule(
    job=pipeline_job,
    cron_schedule="0 2 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every night at 02:00 (Vietnam time): refresh this year from new or changed raw files.",
)
def nightly_current_year(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    if settings.is_national():
        return dg.SkipReason("a national data directory: see nightly_national")
    for line in reap_dead_runs_of(context):  # else a killed run keeps tonight's run queued forever
        context.log.warning(line)
    year = str(context.scheduled_execution_time.year)
    return dg.RunRequest(run_key=f"nightly-{context.scheduled_execution_time:%Y-%m-%d}", partition_key=year)


@dg.schedule(
    job=national_job,
    cron_schedule="0 2 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="National data directory, every night at 02:00 (Vietnam time): this year of every province from its "
    "new or changed raw files, then the ranking of provinces.",
)
def nightly_national(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    if not settings.is_national():
        return dg.SkipReason("a provincial data directory: see nightly_current_year")
    for line in reap_dead_runs_of(context):
        context.log.warning(line)
    provinces = context.instance.get_dynamic_partitions(PROVINCE_DIMENSION)
    if not provinces:  # the folders become partitions through province_folders_sensor or `egov run`
        return dg.SkipReason("no province partitions yet: turn on province_folders_sensor or run `egov run` once")
    year = context.scheduled_execution_time.year
    return dg.RunRequest(
        run_key=f"national-nightly-{context.scheduled_execution_time:%Y-%m-%d}", tags=range_tags(provinces, [year])
    )
