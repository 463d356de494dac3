"""What `egov` prints after a run or for `egov report`: the ranking of a year and its data-quality caveats, from the
published marts, read through the report data layer (assets/reports/data.py) like the report files, so the console
shows the same order (Vietnamese alphabetical order of tied names) and the same numbers (`92,14`)."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from pipelines.cli.console import EXIT_OK, EXIT_USAGE, _say
from pipelines.core import settings
from pipelines.core.provinces import PROVINCE_GROUP
from pipelines.core.vietnamese import vn_number


def print_report(year: int | None = None, data_dir: Path | None = None) -> int | None:
    """This year's top and bottom agencies per group, and what the data quality report says; returns the year."""
    from assets.marts.publish import MARTS_FILE, open_marts
    from assets.reports.data import default_year, ranked_years, ranking

    base = data_dir or settings.data_dir()
    marts = settings.marts_dir(base) / MARTS_FILE
    if not marts.exists():
        _say(f"No marts yet at {marts}: run `egov run` (or `egov demo`) first.")
        return None
    with open_marts(marts) as con:
        ranked = sorted(ranked_years(con))
        year = year or default_year(con)  # the latest year whose annual returns are in
        if year is None or not ranked:
            _say(f"The marts at {marts} hold no ranking yet.")
            return None
        if year not in ranked:
            from expectations.sql_checks import no_records

            why = f"no records for year {year}: not ranked; " if no_records(con, year) else ""
            _say(f"The marts hold no ranking for {year} ({why}they rank {_years_text(ranked)}).")
            return None
        _say(f"\n== Xếp hạng mức độ ứng dụng CNTT năm {year} (ranking {year}) ==")
        groups = ranking(con, year)
        for group in groups:
            rows = group["rows"]
            _say(f"\n{group['label']} ({group['group']}, {len(rows)} agencies)")
            shown = rows if len(rows) <= 6 else [*rows[:3], None, *rows[-3:]]
            for row in shown:
                if row is None:
                    _say("     …")
                    continue
                if row["rank"] is None:  # not enough data for a total (rankings.unranked_reason)
                    _say(f"    –. {row['agency_name']:<48} {'–':>{4 + group['decimals']}}  không đủ dữ liệu")
                    continue
                total = vn_number(row["total_points"], group["decimals"])
                _say(
                    f"  {row['rank']:>3}. {row['agency_name']:<48} {total:>{4 + group['decimals']}}  "
                    f"{row['classification']:<10} {row['rank_change_label'] or ''}"
                )
        classes = Counter(r["classification"] for g in groups for r in g["rows"] if r["classification"] is not None)
        _say("\nXếp loại: " + ", ".join(f"{c} {n}" for c, n in classes.most_common()))
        _print_quality(con, year, settings.data_docs_index(base))
    _say(f"\nMarts: {marts} (query them read-only with `egov sql`; see docs/analysts.md)")
    return year


def say_where_reports_are(year: int, base: Path | None = None) -> None:
    reports = settings.marts_dir(base) / "reports"
    if (reports / str(year) / "index.html").exists():
        _say(f"Báo cáo (reports): {reports / str(year) / 'index.html'} and {reports / 'index.html'} (all years)")


def _years_text(years: list[int]) -> str:
    """[2016, 2017, 2018, 2020] → '2016–2018, 2020'."""
    spans: list[list[int]] = []
    for y in years:
        if spans and y == spans[-1][1] + 1:
            spans[-1][1] = y
        else:
            spans.append([y, y])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)


def _print_quality(con, year: int, data_docs: Path) -> None:
    from expectations.sql_checks import quality_summary

    _say(f"\n== Chất lượng dữ liệu năm {year} (data quality; report: {data_docs}) ==")
    for line in quality_summary(con, year):
        _say(f"  - {line}")


def print_national_report(base: Path, year: int | None = None) -> int | None:
    """The ranking of provinces of `year` (default: the latest ranked), as the ministry publishes it; returns the
    year, or None when the national marts hold no ranking of provinces for it."""
    from assets.marts.publish import MARTS_FILE, open_marts
    from assets.reports.data import ranked_years, ranking

    marts = settings.marts_dir(base) / MARTS_FILE
    if not marts.exists():
        _say(f"No national marts yet at {marts}: run `egov run` (or `egov demo --national`) first.")
        return None
    with open_marts(marts) as con:
        ranked = sorted(ranked_years(con, [PROVINCE_GROUP]))
        year = year or (ranked[-1] if ranked else None)
        if year not in ranked:
            _say(
                f"The national marts at {marts} rank no provinces for {year or 'any year'}"
                + (f": they rank {_years_text(ranked)}." if ranked else ".")
            )
            return None
        rows = [r for g in ranking(con, year, [PROVINCE_GROUP]) for r in g["rows"]]
    _say(f"\n== Xếp hạng mức độ ứng dụng CNTT các tỉnh, thành phố năm {year} (ranking of provinces) ==")
    for r in rows:
        index = vn_number(r["index_value"], 4)
        _say(f"  {r['rank']:>3}. {r['agency_name']:<32} {index}  {r['rank_change_label'] or ''}")
    _say(f"\nMarts: {marts}; report: {settings.marts_dir(base) / 'reports' / str(year) / 'index.html'}")
    return year


def cmd_report(args: argparse.Namespace) -> int:
    from assets.marts.publish import MARTS_FILE
    from assets.reports.publish import REPORTS_DIR, write_reports

    base = settings.data_dir()
    if settings.is_national(base):  # the ranking of provinces; each province's own reports are in its folder
        from assets.national.reports import write_national_reports

        year = print_national_report(base, args.year)
        if year is None:
            return EXIT_USAGE
        if not args.no_files:
            write_national_reports(base, [year])
        return EXIT_OK
    marts = settings.marts_dir() / MARTS_FILE
    year = print_report(args.year)  # checks the year is ranked in the marts before anything is written
    if year is None:
        return EXIT_USAGE
    if not args.no_files:
        write_reports(marts, [year], settings.marts_dir() / REPORTS_DIR, progress=_say)
    say_where_reports_are(year)
    return EXIT_OK
