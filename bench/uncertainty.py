"""Time the rank-uncertainty step alone on the scored tables of a warehouse (read-only; copied into memory).

    .venv/bin/python bench/uncertainty.py data/warehouse/egov.duckdb                       # every scored year
    .venv/bin/python bench/uncertainty.py /work/benchdata/data-10000000/warehouse/egov.duckdb 2024 --repeat 3

The step reads only rubric_items, rubric_classes, indicator_scores and rankings (indicator values, never dossiers),
so its time depends on the ranked units and the rubric's `runs`, not on the dossier count. Not part of the tests.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from assets.scoring.uncertainty import analyse_years
from pipelines.core.settings import RUBRIC_DIR
from pipelines.core.warehouse import connect

TABLES = ("rubric_items", "rubric_classes", "indicator_scores", "rankings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("years", type=int, nargs="*", help="default: every year the warehouse ranks")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--rubrics", type=Path, default=None, help="rubric folder (default: the bundled one)")
    args = parser.parse_args()
    con = connect(":memory:")
    con.execute("ATTACH ? AS source (READ_ONLY)", [str(args.warehouse)])
    for table in TABLES:
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM source.{table}")
    con.execute("DETACH source")
    years = args.years or [y for (y,) in con.execute("SELECT DISTINCT year FROM rankings ORDER BY 1").fetchall()]
    units = dict(con.execute("SELECT year, count(*) FROM rankings GROUP BY year").fetchall())
    folder = args.rubrics or RUBRIC_DIR
    for _ in range(args.repeat):
        for year in years:
            started = time.perf_counter()
            analyse_years(con, [year], folder)
            print(f"{year}: {units.get(year, 0)} ranked units, {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
