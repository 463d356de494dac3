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
from pipelines.core.registry.rubrics import (
    PERIODIC_DIR,
    Rubric,
    load_rubric,
    periodic_rubric_files,
    rubric_files,
    value_ranges,
)
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

    def rubric_for(self, year: int) -> Rubric | None:
        """The annual rubric in force in `year` (the latest file not after it), None before the first."""
        earlier = [y for y in self.rubrics if y <= year]
        return self.rubrics[max(earlier)] if earlier else None

    def value_ranges(self, year: int | None) -> dict[str, tuple[float, float, str]]:
        """code → (min, max, where declared) for the indicator values of `year` (rubrics.value_ranges); a code
        absent lies in [0, 1]. Without a year: the thresholds file's bounds only."""
        return value_ranges(self.rubric_for(year) if year is not None else None, self.thresholds.indicator_bounds)

    def widest_value_ranges(self) -> dict[str, tuple[float, float]]:
        """code → the widest (min, max) any year's rubric or the thresholds file gives it (checks not per year)."""
        out: dict[str, tuple[float, float]] = {}
        for year in [None, *self.rubrics]:
            for code, (lo, hi, _) in self.value_ranges(year).items():
                old = out.get(code, (lo, hi))
                out[code] = (min(lo, old[0]), max(hi, old[1]))
        return out

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
    return [
        SOURCES_PATH,
        METHODOLOGY_PATH,
        CATALOGUE_PATH,
        *family_sql_files(),
        THRESHOLDS_PATH,
        rubric_dir,
        *rubric_files(rubric_dir).values(),
        *(p for files in periodic_rubric_files(rubric_dir).values() for p in files.values()),
    ]


@lru_cache(maxsize=8)
def _load_registry(base: Path, rubric_dir: Path, _stamp: tuple) -> Registry:
    methodology = load_methodology()
    indicators = load_catalogue()
    rubrics = {year: load_rubric(path) for year, path in rubric_files(rubric_dir).items()}
    for rubric in rubrics.values():
        if rubric.year < settings.EARLIEST_YEAR:
            _raise(
                RubricError,
                rubric.path,
                "year",
                f"{rubric.year} is before {settings.EARLIEST_YEAR}, the earliest "
                "year the pipeline's calendar holds (settings.EARLIEST_YEAR)",
            )
        if rubric.period != "year":
            _raise(
                RubricError,
                rubric.path,
                "period",
                f"a {rubric.period}ly rubric belongs in "
                f"{PERIODIC_DIR}/<name>/ of the rubric folder, not among the annual rubrics",
            )
    periodic = {
        name: {year: load_rubric(path) for year, path in files.items()}
        for name, files in periodic_rubric_files(rubric_dir).items()
    }
    for versions in periodic.values():
        for rubric in versions.values():
            if rubric.period == "year":
                _raise(
                    RubricError, rubric.path, "period", "a rubric of the periodic folder needs period: month or quarter"
                )
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
    for key, names in (
        ("quarantined_share_by_source", thresholds.quarantined_share_by_source),
        ("required_returns", thresholds.required_returns),
    ):
        for name in names:
            if name not in sources:
                fail(THRESHOLDS_PATH, f"{key}.{name}", f"unknown source (sources.yaml: {list(sources)})")
    # indicator_bounds may name codes this deployment does not use (another deployment's assessed indicators, in
    # the same installation): they are ignored, not errors
    return Registry(base, rubric_dir, sources, indicators, thresholds, methodology, groups, rubrics, periodic)
