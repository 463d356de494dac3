"""The methodology as typed data, read once per data directory: the raw source contracts (config/sources.yaml), the
indicator catalogue (config/catalogue.yaml), the quality thresholds (config/thresholds.yaml), the
standard agency groups and classes (config/methodology.yaml) and the rubrics (`$EGOV_DATA_DIR/rubrics/` when that
folder exists, else config/rubrics/).

Why it sits in the core (pipelines/core/): every layer reads it (ingestion, indicators, scoring, quality, marts,
reports, the CLI), and it imports no Dagster and no layer above it, so importing it is cheap and cannot make a cycle;
config/ holds data only. One module per file family: `sources`, `catalogue`, `thresholds`, `methodology`, `rubrics`;
`reading` (the strict YAML reader and the error messages) and `fields` (field types) serve them all.

Every file goes through one strict YAML reader (a key written twice is an error, not "the last one wins") and one
pydantic model with `extra="forbid"`, so a typo (`requried: true`), a wrong type, or an unquoted comma in a flow
mapping (`{label_en: Security measures (firewall, antivirus, backup)}` reads as three keys) stops the run with
`<file>: <key path>: <reason>` instead of passing silently. Rubric errors name their place the way evaluators read
a rubric ("criterion 'internal', indicator 'edoc_ratio': target must be positive, got 0").

`load_sources()` needs the bundled files only (safe at import time: Dagster asset definitions use it);
`load_registry(data_dir)` adds the data directory's rubrics and everything that depends on them (the agency groups
they declare, the classification labels), and is what a run reads.
"""


from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipelines.core import settings
from pipelines.core.registry.catalogue import CATALOGUE_PATH, Indicator, family_sql_files, load_catalogue
from pipelines.core.registry.methodology import (
    METHODOLOGY_PATH,
    AgencyGroup,
    Methodology,
    agency_groups,
    load_methodology,
)
from pipelines.core.registry.reading import RegistryError, RubricError, _raise, _stamp
from pipelines.core.registry.rubrics import PERIODIC_DIR, Rubric, load_rubric, periodic_rubric_files, rubric_files
from pipelines.core.registry.sources import SOURCES_PATH, SourceContract, _with_groups, parse_sources
from pipelines.core.registry.thresholds import THRESHOLDS_PATH, Thresholds, load_threshold_model


@dataclass(frozen=True)
class Registry:
    """Everything a run reads about the methodology, loaded and cross-checked once per data directory."""

    data_dir: Path
    rubric_dir: Path
    sources: dict[str, SourceContract]
    indicators: tuple[Indicator, ...]
    thresholds: Thresholds
    methodology: Methodology
    agency_groups: tuple[AgencyGroup, ...]  # in report order
    rubrics: dict[int, Rubric]  # by the year of the file
    periodic: dict[str, dict[int, Rubric]] = field(default_factory=dict)  # scorecard name → year of file → rubric

    def periodic_rubric(self, name: str, year: int) -> Rubric | None:
        """The periodic rubric `name` in force in `year` (the latest file not after it), None before the first."""
        versions = self.periodic.get(name, {})
        earlier = [y for y in versions if y <= year]
        return versions[max(earlier)] if earlier else None

    @property
    def group_codes(self) -> list[str]:
        return [g.code for g in self.agency_groups]

    def group(self, code: str) -> AgencyGroup:
        return next(g for g in self.agency_groups if g.code == code)

    @property
    def classification_labels(self) -> list[str]:
        """Every class label a ranking may carry: the defaults' and those of every rubric's variants."""
        labels = [c.label for c in self.methodology.classification]
        labels += [label for r in self.rubrics.values() for v in r.variants.values() for label, _ in v.classes]
        return list(dict.fromkeys(labels))


def load_registry(data_dir: Path | None = None) -> Registry:
    """The registry of a data directory (default: EGOV_DATA_DIR, else data/), loaded once while its files are
    unchanged; raises RegistryError (RubricError for a rubric) naming the file, the key path and the reason."""
    base = Path(data_dir).resolve() if data_dir else settings.data_dir()
    return _load_registry(base, settings.rubric_dir(base), _stamp(*configuration_files(base)))


def configuration_files(data_dir: Path) -> list[Path]:
    """What `load_registry(data_dir)` reads: the bundled files (with the family SQL files the catalogue is checked
    against), the rubric folder and its rubrics. Its cache follows them, and so does `egov run`'s fingerprint
    (pipelines/cli/unchanged.py: the code folders and the rubric folder), so an edited rubric is applied by the next
    run."""
    rubric_dir = settings.rubric_dir(data_dir)
    return [SOURCES_PATH, METHODOLOGY_PATH, CATALOGUE_PATH, *family_sql_files(), THRESHOLDS_PATH, rubric_dir,
            *rubric_files(rubric_dir).values(),
            *(p for files in periodic_rubric_files(rubric_dir).values() for p in files.values())]


@lru_cache(maxsize=8)
def _load_registry(base: Path, rubric_dir: Path, _stamp: tuple) -> Registry:
    methodology = load_methodology()
    indicators = load_catalogue()
    rubrics = {year: load_rubric(path) for year, path in rubric_files(rubric_dir).items()}
    for rubric in rubrics.values():
        if rubric.period != "year":
            _raise(RubricError, rubric.path, "period", f"a {rubric.period}ly rubric belongs in "
                   f"{PERIODIC_DIR}/<name>/ of the rubric folder, not among the annual rubrics")
    periodic = {name: {year: load_rubric(path) for year, path in files.items()}
                for name, files in periodic_rubric_files(rubric_dir).items()}
    for versions in periodic.values():
        for rubric in versions.values():
            if rubric.period == "year":
                _raise(RubricError, rubric.path, "period", "a rubric of the periodic folder needs period: month "
                       "or quarter")
    groups = agency_groups(methodology, rubrics.values())
    codes = [g.code for g in groups]
    sources = _with_groups(parse_sources(SOURCES_PATH), codes)
    thresholds = load_threshold_model()

    def fail(path: Path, where: str, problem: str) -> None:
        _raise(RegistryError, path, where, problem)

    for i in indicators:
        for g in i.applies_to or ():
            if g not in codes:
                fail(CATALOGUE_PATH, f"indicators[{i.code}].applies_to", f"unknown agency group {g!r} (known: {codes})")
    for key, names in (("quarantined_share_by_source", thresholds.quarantined_share_by_source),
                       ("required_returns", thresholds.required_returns)):
        for name in names:
            if name not in sources:
                fail(THRESHOLDS_PATH, f"{key}.{name}", f"unknown source (sources.yaml: {list(sources)})")
    assessed = {code for r in rubrics.values() for code in r.assessed}
    for code in thresholds.indicator_bounds:
        if code not in {i.code for i in indicators} | assessed:
            fail(THRESHOLDS_PATH, f"indicator_bounds.{code}", "unknown indicator code (not in the catalogue nor "
                 "assessed by a rubric)")
    return Registry(base, rubric_dir, sources, indicators, thresholds, methodology, groups, rubrics, periodic)
