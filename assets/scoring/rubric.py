"""Rubrics as data: `<year>.yaml` files of the rubric folder, checked and expanded into each agency group's variant.

The methodology changes from year to year and is owned by the evaluation team, not by programmers, so it lives
in YAML (format: docs/rubrics.md). Everything is validated before anything is scored: a typo in a rubric must
stop the run with a message naming the file and the problem, never produce a silently wrong ranking. The file
models, the checks and the expansion are in pipelines/registry.py with the rest of the methodology; this module
keeps the names the scoring code uses.

Run `python -m assets.scoring.rubric [folder]` to check every rubric file without scoring anything (default: the
folder a run of $EGOV_DATA_DIR reads, docs/rubrics.md §1).
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipelines import settings
from pipelines.registry import (
    CATALOGUE_PATH,
    FALLBACK_INDICATOR_CODES,
    Criterion,
    Item,
    RegistryError,
    Rubric,
    RubricError,
    Variant,
    known_indicator_codes,
    load_rubric,
    misnamed_rubric_files,
    rubric_file_for,
    rubric_files,
)

__all__ = ["CATALOGUE_PATH", "FALLBACK_INDICATOR_CODES", "Criterion", "Item", "Rubric", "RubricError", "Variant",
           "known_indicator_codes", "load_rubric", "rubric_file_for", "rubric_files", "rubrics_for_years",
           "validate_rubric_dir"]


def rubrics_for_years(years: list[int], rubric_dir: Path, catalogue_path: Path = CATALOGUE_PATH
                      ) -> dict[int, Rubric]:
    """Validate every rubric the years need, up front, so a bad file stops the run before any row changes."""
    return {year: load_rubric(rubric_file_for(year, rubric_dir), catalogue_path) for year in years}


def validate_rubric_dir(rubric_dir: Path, catalogue_path: Path = CATALOGUE_PATH) -> list[Rubric]:
    """Every rubric file of the directory (for evaluators, before a run)."""
    files = rubric_files(rubric_dir)
    if not files:
        raise RubricError(f"{rubric_dir}: no rubric files (<year>.yaml)")
    return [load_rubric(p, catalogue_path) for _, p in sorted(files.items())]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    rubric_dir = Path(args[0]) if args else settings.rubric_dir()
    for line in misnamed_rubric_files(rubric_dir):
        print(f"WARNING {line}", file=sys.stderr)
    try:
        rubrics = validate_rubric_dir(rubric_dir)
    except RegistryError as exc:  # a rubric, or the catalogue or methodology it is checked against
        print(f"ERROR {exc}", file=sys.stderr)
        return 1
    for r in rubrics:
        groups = ", ".join(f"{g} {v.maximum:g} pts/{len(v.criteria)} criteria" for g, v in r.variants.items())
        print(f"OK {r.path.name}: {r.title} — {groups}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
