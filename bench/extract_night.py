"""The night after an extraction (issue 28): `egov run` of a data directory fed only by extract.yaml, timed.

    python bench/extract_night.py --dossiers 1000000 --data-root /work/benchdata

Generates one year (2024) of the sample's dossiers (bench/run.py `generate`, reused when present), loads them into a
PostgreSQL table on a server started for the run (tests/postgres.py: Debian's binaries, a temporary cluster) with
`pipelines.sample.to_postgres`, and gives a new data directory the sample's registries and an extract.yaml (no dossier
file). Then, each in its own process tree under /usr/bin/time -v (wall, CPU of the tree, peak RSS), per-step seconds
read from the Dagster run:

1. `egov run --year 2024`: the first night, extracting every dossier, then the whole pipeline;
2. every row of the table changed (a new `NgayCapNhat`, and the unfinished dossiers finished): `egov run --year
   2024` again, the night after an extract of that many changed rows: its rows supersede every staged one;
3. the same with 1/366 of the rows changed (a usual night).

Results go to `<out>/results-<N>-extract-night.json`. Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT), str(ROOT / "tests")]

from run import YEAR, generate, machine, steps_of, timed, versions  # noqa: E402 (bench/run.py)

# Every row changed (step 2): a new version a day after the newest one (past the watermark, as a change made after
# the last extract is); the dossiers still being processed are finished then.
CHANGE_ALL = """UPDATE ho_so SET "NgayCapNhat" = (SELECT max("NgayCapNhat") FROM ho_so) + interval '1 day',
    "TrangThaiHoSo" = CASE WHEN "TrangThaiHoSo" IN ('9', '10') THEN "TrangThaiHoSo" ELSE '10' END,
    "NgayKetThucXuLy" = coalesce("NgayKetThucXuLy", to_char((SELECT max("NgayCapNhat") FROM ho_so)
                                                             + interval '1 day', 'YYYYMMDDHH24MISS'))"""
# A usual night (step 3): one row in 366 changes again, a day later.
CHANGE_SOME = """UPDATE ho_so SET "NgayCapNhat" = (SELECT max("NgayCapNhat") FROM ho_so) + interval '1 day'
    WHERE hashtext("MaHoSo") % 366 = 0"""


def night(egov: str, env: dict[str, str]) -> dict:
    result = timed([egov, "run", "--year", str(YEAR)], env)
    result["steps"] = steps_of(result["run_id"], env)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--data-root", type=Path, required=True, help="generated data and warehouses; off the repo")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()

    from postgres import postgres_server

    from pipelines.sample.to_postgres import load

    files = args.data_root / f"data-{args.dossiers}"
    files.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "EGOV_DATA_DIR": str(files), "DAGSTER_HOME": str(files / "dagster_home")}
    if not (files / "generation.json").exists():
        generate(files, args.dossiers, "csv", env)
    data = args.data_root / f"extract-{args.dossiers}"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(files / "raw", data / "raw", ignore=shutil.ignore_patterns("dossiers"))
    env = {
        **os.environ,
        "EGOV_DATA_DIR": str(data),
        "DAGSTER_HOME": str(data / "dagster_home"),
        "EGOV_BENCH_PG_PASSWORD": "",
    }
    egov = str(Path(sys.executable).parent / "egov")
    report: dict[str, object] = {
        "dossiers": args.dossiers,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    with postgres_server() as server:
        env["EGOV_BENCH_PG_PASSWORD"] = server.password
        rows = load(files / "raw", server.uri())
        server.execute('CREATE INDEX ON ho_so ("NgayCapNhat")')
        (data / "extract.yaml").write_text(
            "extracts:\n  dossiers:\n    kind: postgres\n"
            f"    host: {server.host}\n    port: {server.port}\n    database: postgres\n    user: {server.user}\n"
            "    password_env: EGOV_BENCH_PG_PASSWORD\n    query: SELECT * FROM ho_so\n    cursor: NgayCapNhat\n"
        )
        report["rows_in_table"] = rows
        print(f"== {rows:,} dossiers in PostgreSQL; first night ==", flush=True)
        report["first_night"] = night(egov, env)
        print(f"   {report['first_night']}", flush=True)
        server.execute(CHANGE_ALL)
        server.execute("VACUUM ANALYZE ho_so")  # as autovacuum would after a million updates
        print("== every row changed; the night after ==", flush=True)
        report["all_changed_night"] = night(egov, env)
        print(f"   {report['all_changed_night']}", flush=True)
        changed = server.execute('SELECT count(*) FROM ho_so WHERE hashtext("MaHoSo") % 366 = 0')[0][0]
        server.execute(CHANGE_SOME)
        server.execute("VACUUM ANALYZE ho_so")
        print(f"== {changed:,} rows changed; the night after ==", flush=True)
        report["some_changed_rows"] = changed
        report["some_changed_night"] = night(egov, env)
        print(f"   {report['some_changed_night']}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"results-{args.dossiers}-extract-night.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
