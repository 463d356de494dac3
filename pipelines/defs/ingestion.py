"""Ingestion assets: one per raw source, raw files → typed staging table (+ quarantine), per year."""

import dagster as dg

from assets.ingestion.load import IngestReport, ingest
from pipelines.core import settings
from pipelines.core.registry import load_registry
from pipelines.core.registry.sources import SourceContract, load_sources, registry_source
from pipelines.defs.extraction import YEARS_WRITTEN, extract_names, extraction_key
from pipelines.defs.partitions import partition_years, single_run, yearly_partitions
from pipelines.defs.resources import Warehouse

# The metadata naming the other years whose figures a run changed: their staged rows (a record moved between years,
# ingestion) or their QĐ 766 months (a dossier of an earlier year finished or rated in them, scorecard_766_facts).
OTHER_YEARS = "other_years_changed"


class IngestConfig(dg.Config):
    full_refresh: bool = False
    """Reload every file of the partition, not only new or changed ones."""


def _metadata(reports: list[IngestReport]) -> dict[str, dg.MetadataValue]:
    files = [f for r in reports for f in r.files]
    rejected = [f for f in files if f.status == "rejected"]
    by_rule: dict[str, int] = {}
    for r in reports:
        for rule, n in r.quarantined_by_rule.items():
            by_rule[rule] = by_rule.get(rule, 0) + n
    rows = ["| year | files loaded | unchanged | rows read | loaded | quarantined |", "|---|---|---|---|---|---|"]
    rows += [
        f"| {r.year or '-'} | {len(r.files)} | {r.skipped_unchanged} | {r.rows_read:,} | {r.rows_loaded:,} "
        f"| {r.rows_quarantined:,} |"
        for r in reports
    ]
    return {
        "rows_read": dg.MetadataValue.int(sum(r.rows_read for r in reports)),
        "rows_loaded": dg.MetadataValue.int(sum(r.rows_loaded for r in reports)),
        "rows_quarantined": dg.MetadataValue.int(sum(r.rows_quarantined for r in reports)),
        "files_read": dg.MetadataValue.int(len(files)),
        "files_unchanged": dg.MetadataValue.int(sum(r.skipped_unchanged for r in reports)),
        "files_rejected": dg.MetadataValue.int(len(rejected)),
        "rejected": dg.MetadataValue.md("\n".join(f"- `{f.file}`: {f.message}" for f in rejected) or "none"),
        "quarantined_by_rule (partition totals)": dg.MetadataValue.json(by_rule),
        "by_year": dg.MetadataValue.md("\n".join(rows)),
        # Records that change: years outside the run whose staged rows this load changed (pipelines/cli/runs.py
        # runs them after; docs/raw_contracts.md "Records that change").
        OTHER_YEARS: dg.MetadataValue.json(sorted({y for r in reports for y in r.other_years})),
    }


def years_changed(events: list[dg.DagsterEvent]) -> list[int]:
    """The years a run's steps changed, its own included: the year folders its extracts wrote to (extraction
    metadata YEARS_WRITTEN), the years whose staged rows its loads changed and those whose QĐ 766 months its dossiers
    changed (OTHER_YEARS). `egov run`, other_years_sensor and a national run's province step run those of them
    outside the run."""
    found: set[int] = set()
    for event in events:
        if event.event_type_value != "ASSET_MATERIALIZATION":
            continue
        metadata = event.event_specific_data.materialization.metadata
        for key in (YEARS_WRITTEN, OTHER_YEARS):
            if key in metadata:
                found.update(int(y) for y in metadata[key].value)
    return sorted(found)


def build_ingestion_asset(contract: SourceContract, upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        name=contract.table,
        group_name="ingestion",
        partitions_def=yearly_partitions if contract.partitioned else None,
        backfill_policy=single_run,
        deps=upstream,
        kinds={"duckdb"},
        description=f"{contract.label}: raw/{contract.folder}/ → typed staging table `{contract.table}`; "
        "rows breaking the contract go to `quarantine` with file, line and reason.",
    )
    def _ingest(context: dg.AssetExecutionContext, config: IngestConfig, warehouse: Warehouse) -> dg.MaterializeResult:
        years: list[int | None] = partition_years(context) if contract.partitioned else [None]
        # The contract as the data directory's registry has it: the agency groups its rubrics declare are allowed.
        current = load_registry(warehouse.base).sources[contract.name]
        reports = []
        with warehouse.connect() as con:
            for year in years:
                report = ingest(
                    con, current, warehouse.raw_dir, year, full_refresh=config.full_refresh, log=context.log.info
                )
                for f in report.rejected_files:
                    context.log.error(f"{current.folder}/{year or ''} {f.file}: {f.message}")
                reports.append(report)
        outside = sorted({y for r in reports for y in r.other_years} - set(years))
        if outside:
            context.log.warning(
                f"{current.folder}: records moved between years; the staged rows of {', '.join(map(str, outside))} "
                "changed in this load: their indicators and rankings are counted again when those years run "
                "(`egov run` does it after this run)"
            )
        return dg.MaterializeResult(metadata=_metadata(reports))

    return _ingest


def build_ingestion_assets(
    contracts: dict[str, SourceContract] | None = None, extracted: list[str] | None = None
) -> list[dg.AssetsDefinition]:
    """An asset per source of config/sources.yaml (default), named after its staging table; the agency registry
    (`role: registry`) first, since every other source's agency codes are checked against it. A source with an
    extract (`extracted`, default: those of the data directory's extract.yaml) is loaded after its extraction."""
    contracts = load_sources() if contracts is None else contracts
    extracted = extract_names(settings.data_dir()) if extracted is None else extracted
    registry_contract = registry_source(contracts)

    def upstream(c: SourceContract, first: list[dg.AssetKey]) -> list[dg.AssetKey]:
        # after its extraction, if extracted; and after the source whose keys its column names (a rating's dossier)
        keys_of = dict.fromkeys(col.key_of for col in c.columns if col.key_of)
        return (
            first
            + ([extraction_key(c.name)] if c.name in extracted else [])
            + [dg.AssetKey(contracts[k].table) for k in keys_of if k]
        )

    registry = build_ingestion_asset(registry_contract, upstream(registry_contract, []))
    return [registry] + [
        build_ingestion_asset(c, upstream(c, [registry.key])) for c in contracts.values() if c is not registry_contract
    ]


ingestion_assets = build_ingestion_assets()
