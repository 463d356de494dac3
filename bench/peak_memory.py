"""Peak memory of the rank uncertainty and of the reports on a generated large case (issue 24). One measurement per
process: the peak resident set (ru_maxrss) of this process, before and after the step, and its seconds.

    .venv/bin/python bench/peak_memory.py uncertainty --units 300 --runs 100000          # [--targets 0.2]
    .venv/bin/python bench/peak_memory.py reports data/marts/egov.duckdb --units 10000   # [--year 2024 --group commune]

`uncertainty`: an in-memory warehouse of `--units` departments with random values of five indicators, one of each
scoring method, scored by a small rubric with `uncertainty: {runs, targets}`. `reports`: a copy of a marts file
whose `--group` of `--year` is grown to `--units` agencies (every row of its agencies copied under new codes and
names, ranks recomputed), then that year's reports written. Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

INDICATORS = ("edoc_ratio", "esign_ratio", "official_email_ratio", "svc_online_ratio", "has_lan")
RUBRIC = {
    "year": 2016,
    "title": "Bộ chỉ số đo bộ nhớ",
    "maximum": 10,
    "classification": [{"label": "A", "min": 8}, {"label": "B", "min": 5}, {"label": "C", "min": 0}],
    "criteria": [
        {
            "code": "a",
            "name_vi": "A",
            "max_points": 6,
            "indicators": [
                {"code": "edoc_ratio", "points": 3, "target": 0.9},
                {"code": "esign_ratio", "points": 3, "method": "goalposts", "worst": 0, "best": 1},
            ],
        },
        {
            "code": "b",
            "name_vi": "B",
            "max_points": 4,
            "indicators": [
                {"code": "official_email_ratio", "points": 1.5, "method": "fraction_of_max"},
                {"code": "svc_online_ratio", "points": 1.5, "method": "minmax"},
                {"code": "has_lan", "points": 1, "method": "steps", "steps": [{"min": 0.5, "share": 1}]},
            ],
        },
    ],
}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def uncertainty(units: int, runs: int, targets: float, work: Path) -> dict:
    from assets.scoring.score import score_years
    from assets.scoring.uncertainty import analyse_years
    from pipelines.core.settings import PROJECT_ROOT
    from pipelines.core.warehouse import connect

    folder = work / "rubrics"
    folder.mkdir()
    (folder / "2016.yaml").write_text(
        yaml.safe_dump({**RUBRIC, "uncertainty": {"runs": runs, "targets": targets}}, allow_unicode=True),
        encoding="utf-8",
    )
    con = connect(":memory:")
    con.execute((PROJECT_ROOT / "assets" / "indicators" / "sql" / "schema.sql").read_text(encoding="utf-8"))
    con.executemany(
        "INSERT INTO stg_agencies (agency_code, agency_name, agency_group) VALUES (?, ?, 'department')",
        [[f"U{i:05d}", f"Cơ quan {i}"] for i in range(units)],
    )
    values = np.random.default_rng(1).random((units, len(INDICATORS)))
    con.executemany(
        "INSERT INTO indicator_values VALUES (2024, ?, ?, NULL, NULL, ?, 'computed')",
        [[f"U{i:05d}", code, float(values[i, k])] for i in range(units) for k, code in enumerate(INDICATORS)],
    )
    score_years(con, [2024], folder)
    before, started = peak_mb(), time.perf_counter()
    analyse_years(con, [2024], folder)
    return {
        "step": "rank_uncertainty",
        "units": units,
        "runs": runs,
        "targets": targets,
        "before_mb": round(before),
        "peak_mb": round(peak_mb()),
        "seconds": round(time.perf_counter() - started, 1),
    }


def grow(marts: Path, year: int, group: str, units: int) -> None:
    """Copy every row of the group's agencies of `year` under new codes until the group has `units` agencies."""
    import duckdb

    con = duckdb.connect(str(marts))
    codes = [
        c
        for (c,) in con.execute(
            "SELECT agency_code FROM rankings WHERE year = ? AND agency_group = ? ORDER BY 1", [year, group]
        ).fetchall()
    ]
    con.execute("CREATE TEMP TABLE copies (new VARCHAR, old VARCHAR, k INTEGER)")
    con.executemany(
        "INSERT INTO copies VALUES (?, ?, ?)",
        [(f"{codes[i % len(codes)]}-{i}", codes[i % len(codes)], i) for i in range(units - len(codes))],
    )
    tables = [
        t
        for (t,) in con.execute(
            "SELECT table_name FROM duckdb_columns() WHERE column_name = 'agency_code' AND NOT internal "
            "AND table_name IN (SELECT table_name FROM duckdb_tables())"
        ).fetchall()
    ]
    for table in tables:
        columns = [
            c
            for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [table]
            ).fetchall()
        ]
        picked = ", ".join(
            "c.new" if c == "agency_code" else "x.agency_name || ' ' || c.k" if c == "agency_name" else f"x.{c}"
            for c in columns
        )
        where = (
            f"x.year = {year}"
            if "year" in columns
            else f"left(x.period, 4) = '{year}'"
            if "period" in columns
            else "true"
        )
        con.execute(
            f"INSERT INTO {table} SELECT {picked} FROM {table} AS x JOIN copies AS c ON c.old = x.agency_code "
            f"WHERE {where}"
        )
    con.execute(
        "UPDATE rankings AS r SET rank = n.rk FROM (SELECT agency_code, rank() OVER (ORDER BY total_points "
        "DESC) AS rk FROM rankings WHERE year = ? AND agency_group = ?) AS n WHERE r.year = ? "
        "AND r.agency_code = n.agency_code",
        [year, group, year],
    )
    con.close()


def reports(source: Path, year: int, group: str, units: int, work: Path) -> dict:
    from assets.reports.publish import write_reports

    marts = work / "marts" / "egov.duckdb"
    marts.parent.mkdir()
    shutil.copyfile(source, marts)
    # grown in a process of its own: its DuckDB work would otherwise set this process's peak
    subprocess.run(
        [sys.executable, __file__, "grow", str(marts), "--units", str(units), "--year", str(year), "--group", group],
        check=True,
    )
    before, started = peak_mb(), time.perf_counter()
    written = write_reports(marts, [year], work / "marts" / "reports", data_dir=work)[year]
    return {
        "step": "ranking_reports",
        "units": units,
        "year": year,
        "group": group,
        "before_mb": round(before),
        "peak_mb": round(peak_mb()),
        "seconds": round(time.perf_counter() - started, 1),
        "profiles": written["profiles"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True)
    u = sub.add_parser("uncertainty")
    u.add_argument("--units", type=int, default=300)
    u.add_argument("--runs", type=int, default=100_000)
    u.add_argument("--targets", type=float, default=0.0)
    r = sub.add_parser("reports")
    r.add_argument("marts", type=Path)
    r.add_argument("--units", type=int, default=10_000)
    r.add_argument("--year", type=int, default=2024)
    r.add_argument("--group", default="commune")
    g = sub.add_parser("grow", help="(used by `reports`) grow a marts file's group in place")
    g.add_argument("marts", type=Path)
    g.add_argument("--units", type=int, required=True)
    g.add_argument("--year", type=int, required=True)
    g.add_argument("--group", required=True)
    args = parser.parse_args()
    if args.step == "grow":
        grow(args.marts, args.year, args.group, args.units)
        return
    with tempfile.TemporaryDirectory(prefix="egov-peak-") as tmp:
        if args.step == "uncertainty":
            result = uncertainty(args.units, args.runs, args.targets, Path(tmp))
        else:
            result = reports(args.marts, args.year, args.group, args.units, Path(tmp))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
