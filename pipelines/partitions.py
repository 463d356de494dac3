"""Year partitions: every annual figure of the evaluation is computed per year, from 2016 to this year."""

from __future__ import annotations

import dagster as dg

from pipelines.settings import FIRST_YEAR

# Dagster has no yearly class; a yearly cron with a %Y key is the documented way (STACK_NOTES).
# end_offset=1 adds the running year, which the nightly run refreshes as its data grows.
yearly_partitions = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1 *", start=str(FIRST_YEAR), fmt="%Y", timezone="Asia/Ho_Chi_Minh", end_offset=1
)

# One run processes a whole range of years in one set-based SQL pass per asset, so
# `dagster asset materialize --partition-range 2016...2020` runs without the daemon.
single_run = dg.BackfillPolicy.single_run()


def partition_years(context: dg.AssetExecutionContext) -> list[int]:
    """The years a run covers: one partition, or the whole range of a single-run backfill."""
    return [int(key) for key in context.partition_keys]
