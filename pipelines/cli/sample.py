"""`egov generate` and `egov demo`: the synthetic sample province or national directory, and a whole run on it."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from pipelines.cli.console import EXIT_OK, _say
from pipelines.cli.runs import execute_pipeline
from pipelines.cli.summary import print_national_report, print_report, say_where_reports_are
from pipelines.core import settings
from pipelines.core.registry.rubrics import rubric_files

NATIONAL_DEMO_SCALE = 0.02  # `egov demo --national`: ~6,000 dossiers a year in a small province, 50,000 in Hà Nội


def cmd_generate(args: argparse.Namespace) -> int:
    from pipelines.sample.synthetic import generate_sample_province

    base = settings.data_dir()
    if getattr(args, "national", False):
        return generate_national(args, base)
    _say(f"== Generating the SYNTHETIC sample province 'Tỉnh Mẫu' into {settings.raw_dir(base)} ==")
    started = time.monotonic()
    summary = generate_sample_province(settings.raw_dir(base), seed=args.seed, scale=args.scale or 1.0, progress=_say)
    dossiers = sum(summary.get("dossiers_per_year", {}).values())
    _say(f"== Sample written in {time.monotonic() - started:.1f} s: {dossiers:,} dossiers (synthetic data) ==")
    return EXIT_OK


def generate_national(args: argparse.Namespace, base: Path) -> int:
    from pipelines.sample.national import DEMO, generate_national_sample

    provinces = None if args.all_provinces else DEMO
    _say(
        f"== Generating the SYNTHETIC national sample ({'34' if provinces is None else len(provinces)} provinces "
        f"after the 2025 merger, with those they absorbed) into {base} =="
    )
    started = time.monotonic()
    summary = generate_national_sample(
        base, scale=args.scale or NATIONAL_DEMO_SCALE, seed=args.seed, provinces=provinces, progress=_say
    )
    _say(
        f"== National sample written in {time.monotonic() - started:.1f} s: {summary['provinces']} province folders, "
        f"{sum(summary['dossiers'].values()):,} dossiers (synthetic data) =="
    )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    if args.national:
        base = settings.data_dir()
        if args.regenerate or not settings.is_national(base):
            generate_national(args, base)
        code = execute_pipeline(
            [2024, 2025],
            full_refresh=args.regenerate,
            verbose=args.verbose,
            executor=args.executor,
            workers=args.workers,
            broker=None,
        )
        if code == EXIT_OK:
            print_national_report(base, 2025)
        return code
    from pipelines.core.registry.sources import load_sources, registry_source

    raw = settings.raw_dir()
    if args.regenerate or not (raw / registry_source(load_sources()).folder).exists():
        cmd_generate(args)
    else:
        _say(f"== Using the raw files already in {raw} (--regenerate to rebuild the sample) ==")
    # every year from the first rubric file of the folder the run reads (the bundled one: 2016)
    years = list(range(min(rubric_files(settings.rubric_dir())), settings.today_vn().year + 1))
    code = execute_pipeline(years, full_refresh=args.regenerate, verbose=args.verbose)
    if code != EXIT_OK:
        return code
    year = print_report()
    if year is not None:
        say_where_reports_are(year)
    return EXIT_OK
