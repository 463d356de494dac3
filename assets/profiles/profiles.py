"""Agency profiles and the what-if, in DuckDB: why an agency ranks where it does and the least it must improve.

No anchor system explains a rank. The rubric makes it exact arithmetic: each item's points are max_points × its
scoring method's share of the value, and every method has an inverse (pipelines/core/methods.py), so the points an
agency lost, and the value that would win them back, are known. profiles.sql does all of it where the total is the
sum of the items' points; tree_what_if.py adds the what-if of the groups whose tree is not (geometric nodes, missing:
skip, min_coverage); this module prepares the indicator names and the methods' macros, and replaces the years.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from assets.indicators.build import load_indicator_catalogue
from assets.profiles.tree_what_if import tree_what_if
from assets.scoring.score import scored_transforms
from pipelines.core import methods
from pipelines.core.registry.rubrics import load_rubric, rubric_files
from pipelines.core.warehouse import insert_rows, transaction

HERE = Path(__file__).parent
PROFILE_TABLES = ("agency_profile_items", "agency_profiles", "what_if")


def _sql(name: str) -> str:
    return (HERE / f"{name}.sql").read_text(encoding="utf-8")


def indicator_label_rows(rubric_dir: Path) -> list[tuple]:
    """(code, label_vi, label_en, family, is_flag, value_levels) for the catalogue and the rubrics' assessed
    indicators; a flag takes 2 values (levels 1), `value_levels: N` in the catalogue means multiples of 1/N."""
    rows = {
        i["code"]: (
            i["code"],
            i["label_vi"],
            i.get("label_en"),
            i["family"],
            bool(i.get("flag", False)),
            1 if i.get("flag") else i.get("value_levels"),
        )
        for i in load_indicator_catalogue()
    }
    for path in rubric_files(rubric_dir).values():
        for code, names in load_rubric(path).assessed.items():
            rows.setdefault(code, (code, names["name"], names["name_en"] or None, "assessment", False, None))
    return sorted(rows.values())


def build_profiles(con: duckdb.DuckDBPyConnection, rubric_dir: Path) -> dict[str, int]:
    """Rebuild the profiles and what-if of every ranked year (scores must be there); returns rows per table.

    Every year, not only the run's: a backfill of 2020 changes 2021's previous rank and every later rank history,
    and all years together take well under a second."""
    labels = indicator_label_rows(rubric_dir)
    methods.install(con, scored_transforms(con))
    with transaction(con):
        con.execute(_sql("schema"))
        insert_rows(
            con,
            "indicator_labels",
            ["indicator_code", "label_vi", "label_en", "family", "is_flag", "value_levels"],
            labels,
        )
        con.execute(_sql("profiles"))
        tree_what_if(con)  # the groups whose total is not the sum of their items' points
        con.execute("DROP TABLE what_if_tree_groups")
    return {table: con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] for table in PROFILE_TABLES}
