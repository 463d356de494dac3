"""Year partitions: every annual figure of the evaluation is computed per year, from settings.EARLIEST_YEAR (2000)
to this year; a deployment scores the years from its earliest rubric file on (the CLI refuses earlier ones)."""

from __future__ import annotations

import warnings

import dagster as dg

from pipelines.core.settings import EARLIEST_YEAR, TIMEZONE

# Dagster has no yearly class; a yearly cron with a %Y key is the documented way (STACK_NOTES).
# end_offset=1 adds the running year, which the nightly run refreshes as its data grows.
yearly_partitions = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1 *", start=str(EARLIEST_YEAR), fmt="%Y", timezone=TIMEZONE, end_offset=1
)

# One run processes a whole range of years in one set-based SQL pass per asset, so
# `dagster asset materialize --partition-range 2016...2020` runs without the daemon.
single_run = dg.BackfillPolicy.single_run()
# Dagster calls the parameter "beta" once per asset at import: 17 warnings in every process that loads the
# definitions (the UI's code server, each step process, each Celery task), meaning nothing to an operator.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy` of function `asset` is currently in beta")


def partition_years(context: dg.AssetExecutionContext) -> list[int]:
    """The years a run covers: one partition, or the whole range of a single-run backfill."""
    return [int(key) for key in context.partition_keys]


def run_years(context: dg.AssetCheckExecutionContext | dg.AssetExecutionContext) -> list[int]:
    """The years of the current run, read from its partition tags (asset checks have no partition keys)."""
    tags = context.run.tags
    if "dagster/partition" in tags:
        return [int(tags["dagster/partition"])]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    if start and end:
        return list(range(int(start), int(end) + 1))
    return [int(key) for key in yearly_partitions.get_partition_keys()]
