"""Report assets: after the marts are published, the year's ranking as people read it (HTML, Excel)."""

import dagster as dg

from assets.marts.publish import MARTS_FILE
from assets.reports.publish import REPORTS_DIR, write_reports
from pipelines.defs.partitions import partition_years, single_run, yearly_partitions
from pipelines.defs.resources import Warehouse


@dg.asset(
    group_name="reports",
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
    deps=["marts"],
    kinds={"html", "excel"},
    description="data/marts/reports/<year>/: the ranking report (HTML with charts, Excel workbook) and one "
    "profile page per agency with its what-if. Read from the published marts only.",
)
def ranking_reports(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    out_dir = warehouse.marts_dir / REPORTS_DIR
    years = partition_years(context)
    # A year's report shows the change against the year before: rewrite the following year's report too.
    written = write_reports(
        warehouse.marts_dir / MARTS_FILE,
        sorted({*years, *(y + 1 for y in years)}),
        out_dir,
        progress=context.log.info,
        data_dir=warehouse.base,
    )
    return dg.MaterializeResult(
        metadata={
            "index": dg.MetadataValue.path(str(out_dir / "index.html")),
            "years": dg.MetadataValue.json({str(y): {k: str(v) for k, v in w.items()} for y, w in written.items()}),
            "unranked_years": dg.MetadataValue.json(sorted(y for y, w in written.items() if not w["ranked"])),
            # float(): a sum over no year is the int 0, which MetadataValue.float refuses.
            "seconds": dg.MetadataValue.float(float(round(sum(w["seconds"] for w in written.values()), 2))),
        }
    )
