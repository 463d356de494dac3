"""How much of a pipeline run is data quality work, read from the Dagster run's own event log.

    python bench/quality_share.py --dossiers 1000000 --repeat 3            # full run (egov backfill), as run.py
    python bench/quality_share.py --dossiers 1000000 --repeat 3 --mode nightly
    python bench/quality_share.py --dossiers 1000000 --repeat 3 --cold    # every GX table validated again

Each repeat runs the real job in its own process (`egov backfill --years 2024`, or for `--mode nightly`
`egov run --years 2024` after a new day's dossier file was dropped into raw/, so ingestion is incremental), then
reads that run's events from the instance in DAGSTER_HOME:

- step time: STEP_START → STEP_SUCCESS/STEP_FAILURE per step key; run time = the sum over steps;
- wall time: RUN_START → RUN_SUCCESS/RUN_FAILURE of the run (stored as PIPELINE_START/_SUCCESS/_FAILURE;
  the `egov` process wall, imports included, is printed too).

Quality = every step of an asset check (`@asset_check` ops: the blocking quarantine/dossier-log/ratio/rank checks
and the warnings; each emits ASSET_CHECK_EVALUATION events) plus the `data_quality` asset step (GX validation,
Data Docs build, the SQL checks, the `data_quality` table and its `critical_expectations_pass` check). Medians
over --repeat runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
YEAR = 2024
DOSSIERS_PER_SCALE_2024 = 360_000  # as bench/run.py
QUALITY_ASSET_STEPS = {"data_quality"}
DOSSIER_HEADER = (
    "MaHoSo,MaTTHC,DonViXuLy,KenhThucHien,MucDo,NgayTiepNhan,NgayHenTra,NgayKetThucXuLy,NgayTra,"
    "TrangThaiHoSo,LePhi,DuocThanhToanTrucTuyen,HoSoCoThanhPhanSoHoa,LoaiDoiTuong"
)


def generate(data: Path, dossiers: int) -> None:
    scale = dossiers / DOSSIERS_PER_SCALE_2024
    subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "from pathlib import Path; from datetime import date; from pipelines.sample.synthetic import "
                f"generate_sample_province as g; g(Path({str(data / 'raw')!r}), scale={scale},"
                f" first_year={YEAR}, last_year={YEAR}, through=date({YEAR}, 12, 31), dossier_format='csv')"
            ),
        ],
        check=True,
        cwd=ROOT,
    )


def new_day_file(data: Path, tag: str, rows: int) -> Path:
    """A day's worth of new dossiers (copied from December's first file with fresh codes) for a nightly run."""
    month = data / "raw" / "dossiers" / str(YEAR) / "12"
    source = sorted(month.glob("*.csv"))[0]
    lines = source.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    out = [lines[0]]
    for i, line in enumerate(lines[1 : rows + 1]):
        fields = line.split(",")
        fields[header.index("MaHoSo")] = f"NIGHT-{tag}-{i}"
        out.append(",".join(fields))
    path = month / f"nightly_{tag}.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def step_classes(step_keys: set[str], check_steps: set[str]) -> dict[str, str]:
    return {k: ("quality" if k in QUALITY_ASSET_STEPS or k in check_steps else "other") for k in step_keys}


def read_run(home: Path, run_id: str) -> dict:
    """Per-step durations, the run's wall time and the asset-check evaluations of one run."""
    os.environ["DAGSTER_HOME"] = str(home)
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        records = instance.all_logs(run_id)
    starts: dict[str, float] = {}
    steps: dict[str, float] = {}
    run_start = run_end = None
    check_steps: set[str] = set()
    checks: dict[str, str] = {}
    for rec in records:
        event = rec.dagster_event
        if event is None:
            continue
        kind = event.event_type_value  # run events keep their old names (PIPELINE_START, ...)
        if kind == "PIPELINE_START":
            run_start = rec.timestamp
        elif kind in ("PIPELINE_SUCCESS", "PIPELINE_FAILURE"):
            run_end = rec.timestamp
        elif kind == "STEP_START":
            starts[event.step_key] = rec.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            steps[event.step_key] = rec.timestamp - starts[event.step_key]
        elif kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            name = f"{data.asset_key.to_user_string()}:{data.check_name}"
            checks[name] = event.step_key
            if event.step_key not in QUALITY_ASSET_STEPS:
                check_steps.add(event.step_key)
    classes = step_classes(set(steps), check_steps)
    quality = sum(s for k, s in steps.items() if classes[k] == "quality")
    total = sum(steps.values())
    wall = (run_end - run_start) if run_start and run_end else float("nan")
    return {
        "run_id": run_id,
        "steps": steps,
        "classes": classes,
        "checks": checks,
        "quality_s": quality,
        "step_s": total,
        "wall_s": wall,
        "share_step": quality / total,
        "share_wall": quality / wall,
    }


def latest_run_id(home: Path) -> str:
    os.environ["DAGSTER_HOME"] = str(home)
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        return instance.get_runs(limit=1)[0].run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=1_000_000, help="dossiers in the benchmark year")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--mode",
        choices=["full", "nightly"],
        default="full",
        help="full: egov backfill (every file reloaded); nightly: egov run with one new day's file",
    )
    parser.add_argument("--new-rows", type=int, default=3000, help="dossiers in the nightly new file")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="forget the stored GX results before each run (every table validated, as when all content changed)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--steps", action="store_true", help="print every step's median duration")
    args = parser.parse_args()

    data = (args.out / f"data-{args.dossiers}").resolve()
    home = data / "dagster_home"
    env = {**os.environ, "EGOV_DATA_DIR": str(data), "DAGSTER_HOME": str(home)}
    if not (data / "raw" / "dossiers").exists():
        print(f"== generating {args.dossiers:,} dossiers for {YEAR} ==", flush=True)
        generate(data, args.dossiers)
    egov = str(Path(sys.executable).parent / "egov")
    if args.mode == "nightly" and not (data / "marts" / "egov.duckdb").exists():
        subprocess.run([egov, "backfill", "--years", str(YEAR)], env=env, check=True, cwd=ROOT, capture_output=True)
    runs = []
    for i in range(args.repeat):
        extra = None
        if args.mode == "nightly":
            extra = new_day_file(data, f"{int(time.time())}", args.new_rows)
            command = [egov, "run", "--years", str(YEAR)]
        else:
            command = [egov, "backfill", "--years", str(YEAR)]
        if args.cold:
            (data / "quality" / "gx" / "egov_validation_cache.json").unlink(missing_ok=True)
        started = time.monotonic()
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
        process_wall = time.monotonic() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        found = re.search(r"Dagster run ([0-9a-f-]{36})", done.stdout)
        run = read_run(home, found.group(1) if found else latest_run_id(home))
        run["process_wall_s"] = process_wall
        runs.append(run)
        print(
            f"run {i + 1}: quality {run['quality_s']:.1f} s of {run['step_s']:.1f} s step time "
            f"({run['share_step']:.1%}), of {run['wall_s']:.1f} s run wall ({run['share_wall']:.1%}); "
            f"process wall {process_wall:.1f} s"
            f"{' (new file ' + extra.name + ')' if extra else ''}",
            flush=True,
        )

    med = {
        k: statistics.median(r[k] for r in runs)
        for k in (
            "quality_s",
            "step_s",
            "wall_s",
            "process_wall_s",
            "share_step",
            "share_wall",
        )
    }
    keys = sorted({k for r in runs for k in r["steps"]})
    by_step = {k: statistics.median(r["steps"].get(k, 0.0) for r in runs) for k in keys}
    classes = runs[-1]["classes"]
    if args.steps:
        print("\n| step | class | median s |\n|---|---|---|")
        for k in sorted(keys, key=lambda k: -by_step[k]):
            print(f"| {k} | {classes.get(k, '?')} | {by_step[k]:.2f} |")
    print(f"\nasset checks seen: {len(runs[-1]['checks'])} ({', '.join(sorted(runs[-1]['checks']))})")
    print(f"\n== {args.mode}{' cold' if args.cold else ''} run, {args.dossiers:,} dossiers, median of {len(runs)} ==")
    print(
        f"quality: {med['quality_s']:.1f} s; step time {med['step_s']:.1f} s; run wall {med['wall_s']:.1f} s; "
        f"process wall {med['process_wall_s']:.1f} s"
    )
    print(f"quality share of step time: {med['share_step']:.1%}; of run wall time: {med['share_wall']:.1%}")
    out = args.out / f"quality-share-{args.mode}{'-cold' if args.cold else ''}-{args.dossiers}.json"
    out.write_text(
        json.dumps(
            {
                "dossiers": args.dossiers,
                "mode": args.mode,
                "date": date.today().isoformat(),
                "median": med,
                "steps": by_step,
                "classes": classes,
                "runs": [{k: v for k, v in r.items() if k != "classes"} for r in runs],
            },
            indent=1,
            default=str,
        )
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
