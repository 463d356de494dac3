"""`python -m pipelines.core.registry [folder]`: check every rubric file of a folder without scoring anything.

Default folder: the one a run of $EGOV_DATA_DIR reads (docs/rubrics.md §1)."""

from __future__ import annotations

import sys
from pathlib import Path

from pipelines.core import settings
from pipelines.core.registry.reading import RegistryError
from pipelines.core.registry.rubrics import misnamed_rubric_files, validate_rubric_dir


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
