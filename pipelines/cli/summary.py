"""What `egov` prints after a run or for `egov report`: the ranking of a year and its data-quality caveats, from the
published marts."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.cli.console import EXIT_OK, EXIT_USAGE, _say
from pipelines.core import settings


def print_report(year: int | None = None, data_dir: Path | None = None) -> int | None:
    """This year's top and bottom agencies per group, and what the data quality report says; returns the year."""
    from assets.marts.publish import MARTS_FILE, open_marts
    from assets.reports.common import has_table

    base = data_dir or settings.data_dir()
    marts = settings.marts_dir(base) / MARTS_FILE
    if not marts.exists():
        _say(f"No marts yet at {marts}: run `egov run` (or `egov demo`) first.")
        return None
    with open_marts(marts) as con:
        ranked = [y for (y,) in con.execute("SELECT DISTINCT year FROM rankings ORDER BY year").fetchall()]
        # By default the latest year whose annual returns are in: the running year is still incomplete.
        year = year or con.execute(
            "SELECT coalesce(max(year) FILTER (WHERE indicator_code = 'computers_per_staff' AND denominator "
            "IS NOT NULL), max(year)) FROM indicators").fetchall()[0][0]
        if year is None or not ranked:
            _say(f"The marts at {marts} hold no ranking yet.")
            return None
        if year not in ranked:
            from expectations.sql_checks import no_records

            why = f"no records for year {year}: not ranked; " if no_records(con, year) else ""
            _say(f"The marts hold no ranking for {year} ({why}they rank {_years_text(ranked)}).")
            return None
        _say(f"\n== Xếp hạng mức độ ứng dụng CNTT năm {year} (ranking {year}) ==")
        # Groups in their order and with their labels (marts older than the agency_groups table: by code).
        dimension = "agency_groups" if has_table(con, "agency_groups") else \
            "(SELECT NULL::VARCHAR AS agency_group, NULL::VARCHAR AS label_vi, NULL::INTEGER AS group_order)"
        groups = con.execute(
            "SELECT r.agency_group, coalesce(g.label_vi, r.agency_group), count(*) FROM rankings AS r "
            f"LEFT JOIN {dimension} AS g ON g.agency_group = r.agency_group WHERE r.year = ? "
            "GROUP BY r.agency_group, g.label_vi, g.group_order ORDER BY g.group_order NULLS LAST, r.agency_group",
            [year]).fetchall()
        decimals = dict(con.execute(  # the rubric's rounding of totals (marts older than rubric decimals: 2)
            "SELECT agency_group, max(decimals) FROM rubric_classes WHERE year = ? GROUP BY ALL", [year]).fetchall()
        ) if con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'rubric_classes' "
                         "AND column_name = 'decimals'").fetchall()[0][0] else {}
        for group, label, n in groups:
            places = int(decimals.get(group) or 2)
            _say(f"\n{label} ({group}, {n} agencies)")
            rows = con.execute(
                "SELECT rank, agency_name, total_points, classification, rank_change_label FROM rankings "
                "WHERE year = ? AND agency_group = ? ORDER BY rank, agency_code", [year, group]).fetchall()
            shown = rows if len(rows) <= 6 else rows[:3] + [None] + rows[-3:]
            for row in shown:
                if row is None:
                    _say("     …")
                    continue
                rank, name, total, cls, change = row
                if rank is None:  # not enough data for a total (rankings.unranked_reason)
                    _say(f"    –. {name:<48} {'–':>{4 + places}}  không đủ dữ liệu")
                    continue
                _say(f"  {rank:>3}. {name:<48} {total:{4 + places}.{places}f}  {cls:<10} {change or ''}")
        classes = con.execute(
            "SELECT classification, count(*) FROM rankings WHERE year = ? AND classification IS NOT NULL "
            "GROUP BY ALL ORDER BY 2 DESC", [year]).fetchall()
        _say("\nXếp loại: " + ", ".join(f"{c} {n}" for c, n in classes))
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

    marts = settings.marts_dir(base) / MARTS_FILE
    if not marts.exists():
        _say(f"No national marts yet at {marts}: run `egov run` (or `egov demo --national`) first.")
        return None
    with open_marts(marts) as con:
        ranked = [y for (y,) in con.execute(
            "SELECT DISTINCT year FROM rankings WHERE agency_group = 'province' ORDER BY year").fetchall()]
        year = year or (ranked[-1] if ranked else None)
        if year not in ranked:
            _say(f"The national marts at {marts} rank no provinces for {year or 'any year'}"
                 + (f": they rank {_years_text(ranked)}." if ranked else "."))
            return None
        rows = con.execute(
            "SELECT rank, agency_name, index_value, rank_change_label FROM rankings WHERE year = ? AND agency_group "
            "= 'province' ORDER BY rank, agency_code", [year]).fetchall()
    _say(f"\n== Xếp hạng mức độ ứng dụng CNTT các tỉnh, thành phố năm {year} (ranking of provinces) ==")
    for rank, name, index, change in rows:
        _say(f"  {rank:>3}. {name:<32} {index:.4f}  {change or ''}")
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
