"""A night with every input a real night brings: a day of dossiers, a file of ratings and a file of feedback.

The harness's night (`bench/run.py --incremental`) adds one day of dossiers only. A province's nightly export also
brings the day's ratings and feedback (QĐ 766), which the scorecard and the marts treat differently (issue 29:
rating and feedback files counted per file by the months they count in). On a data root that a harness run left
(its full run's history), this script writes:

- the harness's new day of dossiers (`write_dossier_day`, 31 December, dossiers ÷ 366 of them);
- a rating file: ratings given on 31 December of dossiers finished 20–30 December (11,500 per 10M dossiers);
- a feedback file: feedback received 16 December and due 31 December (450 per 10M dossiers, every agency in turn);

then times `egov run --year 2024` with the harness's own `timed` and `steps_of`, removes the three files and, unless
`--no-revert`, runs again (untimed) so that the data root is back to its history.

    PYTHONPATH=<tree> .venv/bin/python bench/night_inputs.py <data root>/data-10000000 --label after [--convert]

`--convert` first runs once untimed (a history built by other code: the first run of new SQL rescores the year).
Prints the night's wall, CPU, peak RSS and its ten longest steps; writes them to
`<data root>/night-inputs-<label>.json`.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
YEAR = 2024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="a data directory a harness run left (…/data-<dossiers>)")
    parser.add_argument("--label", required=True, help="names the result file: night-inputs-<label>.json")
    parser.add_argument("--convert", action="store_true", help="run once untimed first")
    parser.add_argument("--no-revert", action="store_true", help="leave the night's files' run as the history")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.run import steps_of, timed
    from pipelines.sample.synthetic import write_dossier_day

    data: Path = args.data
    dossiers = int(data.name.removeprefix("data-"))  # the harness's folder: its --dossiers, as its night sizes a day
    scale = max(1, round(dossiers / 10**7))
    env = {**os.environ, "EGOV_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}
    run = [str(Path(sys.executable).parent / "egov"), "run", "--year", str(YEAR)]
    if args.convert:
        print(f"first run of this code on the history (untimed): {timed(run, env)['wall_s']} s", flush=True)
    con = duckdb.connect(str(data / "warehouse" / "egov.duckdb"), read_only=True)
    rated = [
        code
        for (code,) in con.execute(
            "SELECT MaHoSo FROM stg_dossiers WHERE TrangThaiHoSo IN (9, 10) AND NgayKetThucXuLy >= ? "
            "AND NgayKetThucXuLy < ? AND DonViXuLy IN (SELECT agency_code FROM agency_years) "
            "ORDER BY hash(MaHoSo) LIMIT ?",
            [f"{YEAR}-12-20", f"{YEAR}-12-31", 11_500 * scale],
        ).fetchall()
    ]
    agencies = [a for (a,) in con.execute("SELECT DISTINCT DonViXuLy FROM stg_dossiers ORDER BY 1").fetchall()]
    con.close()
    raw = data / "raw"
    day = write_dossier_day(raw, YEAR, 12, 31, round(dossiers / 366))
    ratings = raw / "ratings" / str(YEAR) / f"danhgia_night_{YEAR}1231.csv"
    ratings.write_text(
        "MaHoSo,NgayDanhGia,MucDo,KenhDanhGia\n"
        + "".join(f"{code},{YEAR}12311{i % 10}0000,{1 + i % 4},{1 + i % 3}\n" for i, code in enumerate(rated))
    )
    feedback = raw / "feedback" / str(YEAR) / f"pakn_night_{YEAR}1231.csv"
    feedback.write_text(
        "MaPhanAnh,DonViXuLy,NgayTiepNhan,HanXuLy,NgayXuLy,TrangThai\n"
        + "".join(
            f"PA-N-{i:06d},{agencies[i % len(agencies)]},{YEAR}1216090000,{YEAR}1231170000,"
            + (f"{YEAR}1230100000,3\n" if i % 3 else ",1\n")
            for i in range(450 * scale)
        )
    )
    result = timed(run, env)
    result["steps"] = steps_of(result["run_id"], env)
    result["night_files"] = {"dossiers": day.name, "ratings": len(rated), "feedback": 450 * scale}
    longest = sorted(result["steps"].items(), key=lambda kv: -kv[1])[:10]
    print(args.label, {k: result[k] for k in ("wall_s", "cpu_s", "peak_rss_mb")}, longest, flush=True)
    (data.parent / f"night-inputs-{args.label}.json").write_text(json.dumps(result, indent=1))
    for path in (day, ratings, feedback):
        path.unlink()
    if not args.no_revert:
        timed(run, env)


if __name__ == "__main__":
    main()
