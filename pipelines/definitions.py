"""The Dagster code location: `dagster dev -m pipelines.definitions` (one Definitions object, `defs`).

The provincial definitions (`pipelines/defs/provincial.py`) merged with the national ones: a national data directory
runs each province through the provincial job (docs/operators.md, "National deployment")."""

import dagster as dg

from pipelines.defs import provincial  # the module, not its Definitions: `dagster -m` wants one at module scope
from pipelines.defs.jobs import NATIONAL_JOB, PIPELINE_JOB, national_job
from pipelines.defs.national import national_assets
from pipelines.defs.schedules import nightly_national
from pipelines.defs.sensors import province_folders_sensor

__all__ = ["NATIONAL_JOB", "PIPELINE_JOB", "defs"]

defs = dg.Definitions.merge(
    provincial.provincial_defs,
    dg.Definitions(
        assets=national_assets, jobs=[national_job], schedules=[nightly_national], sensors=[province_folders_sensor]
    ),
)


def national_multiprocess_job() -> dg.JobDefinition:
    """The national job, for `dg.reconstructable` (the multiprocess executor re-imports it in each step process)."""
    return defs.resolve_job_def(NATIONAL_JOB)


def national_celery_job() -> dg.JobDefinition:
    """The national job on dagster-celery's executor: its steps go to Celery workers through the broker (imported
    here, so only celery runs pay for importing Celery)."""
    from dagster_celery import celery_executor

    return defs.resolve_job_def(NATIONAL_JOB).with_executor_def(celery_executor)
