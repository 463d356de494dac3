"""The national deployment (issue 16): two tiny provinces in a national data directory, run through the national job.

Each province's published results must equal a provincial run of its folder alone; the ranking of provinces is
computed by hand from the records below; the multiprocess and celery executors must publish the same marts."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from conftest import AGENCY_HEADER, DOSSIER_HEADER, PROJECT, built_once, dossier, vn_value, write_csv
from test_safety_reports import page

from assets.marts.publish import open_marts

pytestmark = pytest.mark.slow  # national runs of several provinces: Dagster, multiprocess and Celery

YEAR = 2024
INFRA_HEADER = [
    "year",
    "agency_code",
    "staff_count",
    "computers",
    "computers_internet",
    "has_lan",
    "bandwidth_mbps",
    "has_firewall",
    "has_antivirus",
    "has_backup",
    "security_assessed",
    "offline_computer_secret",
    "has_website",
]
# The national rubric of these tests: dossier_online_ratio (aggregated as a ratio of sums) and has_lan (a mean), one
# point each, target 1: a province's total is its online ratio plus its share of agencies with a LAN.
RUBRIC = """version: 1
year: 2016
title: "Xếp hạng thử"
maximum: 2
decimals: 4
classification:
  - {label: "Không xếp loại", min: 0}
criteria:
  - code: services
    name_vi: "Dịch vụ"
    max_points: 2
    indicators:
      - {code: dossier_online_ratio, points: 1, target: 1}
      - {code: has_lan, points: 1, target: 1}
groups:
  province: {}
"""
# Per province and department: (online dossiers, dossiers, has_lan), all dossiers of level-3 services, accepted.
PROVINCES = {
    "AAA": ("Tỉnh An", {"SO-A": (3, 4, 1), "SO-B": (1, 4, 0)}),  # (3 + 1) / (4 + 4) = 0.5; LAN 1 of 2 = 0.5
    "BBB": ("Tỉnh Bình", {"SO-A": (2, 2, 1), "SO-B": (1, 2, 1)}),  # (2 + 1) / (2 + 2) = 0.75; LAN 2 of 2 = 1
}


def write_province(folder: Path, departments: dict[str, tuple[int, int, int]], year: int = YEAR) -> None:
    raw = folder / "raw"
    write_csv(
        raw / "agencies" / "co_quan.csv",
        AGENCY_HEADER,
        [[code, f"Sở {code}", "department", "", "2016-01-01", "", ""] for code in departments],
    )
    write_csv(
        raw / "services" / str(year) / "tthc.csv",
        ["year", "agency_code", "procedure_code", "procedure_name", "level", "has_fee"],
        [[year, code, f"P-{code}", "Thủ tục", 3, 0] for code in departments],
    )
    rows = []
    for code, (online, total, lan) in departments.items():
        # a department without a LAN also finished its first dossier (January) late: the 766 months differ
        rows += [
            dossier(
                f"{code}-{year}-{i}",
                code,
                procedure=f"P-{code}",
                channel=2 if i < online else 1,
                received=f"{year}0{i % 9 + 1}05080000",
                due=f"{year}0{i % 9 + 1}06080000" if lan == 0 and i == 0 else None,
            )
            for i in range(total)
        ]
    write_csv(raw / "dossiers" / str(year) / "01" / "ho_so.csv", DOSSIER_HEADER, rows)
    write_csv(
        raw / "infrastructure" / str(year) / "ha_tang.csv",
        INFRA_HEADER,
        [[year, code, 10, 10, 10, lan, 100, 1, 1, 1, 1, 1, 1] for code, (_, _, lan) in departments.items()],
    )


def write_national(base: Path, provinces: dict = PROVINCES) -> Path:
    write_csv(
        base / "raw" / "agencies" / "tinh.csv",
        AGENCY_HEADER,
        [[code, name, "province", "", "2016-01-01", "", ""] for code, (name, _) in provinces.items()],
    )
    (base / "rubrics").mkdir(parents=True, exist_ok=True)
    (base / "rubrics" / "2016.yaml").write_text(RUBRIC, encoding="utf-8")
    for code, (_, departments) in provinces.items():
        write_province(base / "provinces" / code, departments)
    return base


def run(
    base: Path,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    years: tuple[int, ...] = (YEAR,),
    dagster_yaml: str = "telemetry:\n  enabled: false\n",
    **national: object,
) -> None:
    from pipelines.cli.runs import execute_pipeline

    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(dagster_yaml)
    monkeypatch.setenv("EGOV_DATA_DIR", str(base))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert execute_pipeline(list(years), data_dir=base, full_refresh=True, **national) == 0


@pytest.fixture(scope="session")
def national(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two provinces run once in-process for the whole session (read only: tests that run again work on a fresh
    directory)."""
    return built_once(tmp_path_factory, "national", build_national)


def build_national(root: Path) -> Path:
    base = write_national(root / "data")
    with pytest.MonkeyPatch.context() as mp:
        run(base, root / "dagster_home", mp)
    return base


def query(marts: Path, sql: str) -> list[tuple]:
    with open_marts(marts) as con:
        return con.execute(sql).fetchall()


TABLES = ("rankings", "indicators", "criterion_scores", "agencies", "data_quality")


def marts_content(marts: Path) -> dict[str, list[tuple]]:
    return {t: query(marts, f"SELECT * FROM {t} ORDER BY ALL") for t in (*TABLES, "national_agency_rankings")}


def test_two_provinces_rank_by_hand_and_equal_their_provincial_runs(
    national: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    solo = tmp_path / "solo"
    write_province(solo, PROVINCES["AAA"][1])  # the province's folder alone, as a provincial deployment
    marts = national / "marts" / "egov.duckdb"
    assert query(
        marts,
        "SELECT agency_code, total_points, index_value, rank, province_code FROM rankings "
        "WHERE agency_group = 'province' ORDER BY rank",
    ) == [("BBB", 1.75, 0.875, 1, "BBB"), ("AAA", 1.0, 0.5, 2, "AAA")]
    assert query(
        marts,
        "SELECT agency_code, numerator, denominator, value FROM indicators WHERE province_code = "
        "agency_code AND indicator_code IN ('dossier_online_ratio', 'has_lan') "
        "ORDER BY agency_code, indicator_code",
    ) == [("AAA", 4.0, 8.0, 0.5), ("AAA", 1.0, 2.0, 0.5), ("BBB", 3.0, 4.0, 0.75), ("BBB", 2.0, 2.0, 1.0)]
    assert query(marts, "SELECT count(*) FROM rankings WHERE province_code IS NULL") == [(0,)]

    run(solo, tmp_path / "home-solo", monkeypatch)
    for table in TABLES:
        alone = query(solo / "marts" / "egov.duckdb", f"SELECT * FROM {table} ORDER BY ALL")
        assert alone, table
        within = query(
            marts,
            f"SELECT * EXCLUDE (province_code) FROM {table} WHERE province_code = 'AAA' "
            + (
                "AND agency_group IS DISTINCT FROM 'province' "
                if table in ("rankings", "agencies", "criterion_scores")
                else "AND agency_code <> 'AAA' "
                if table == "indicators"
                else ""
            )
            + "ORDER BY ALL",
        )
        assert within == alone, table

    # the national report: the ranking of provinces, a page per province linking to its own report
    index = (national / "marts" / "reports" / str(YEAR) / "index.html").read_text(encoding="utf-8")
    assert index.index("Tỉnh Bình") < index.index("Tỉnh An")
    page = (national / "marts" / "reports" / str(YEAR) / "tinh" / "AAA.html").read_text(encoding="utf-8")
    own = "../../../../provinces/AAA/marts/reports/2024/index.html"
    assert own in page
    assert (national / "marts" / "reports" / str(YEAR) / "tinh" / own).resolve().is_file()
    assert (national / "marts" / "reports" / str(YEAR) / f"xep_hang_tinh_{YEAR}.xlsx").is_file()


def test_the_national_marts_hold_every_table_of_every_province_with_its_code(national: Path, tmp_path: Path):
    """Every table of the national marts is the national level's own table (the national warehouse published alone)
    with `province_code` = the row's agency (or '*' where the table names no agency, and for the national files'
    quarantine and data quality), plus every province's published table with that province's code: the same rows,
    no more, none fewer (EXCEPT ALL both ways: the same multiset of rows). Computed from the files themselves, in one
    DuckDB session."""
    import duckdb

    from assets.marts.publish import publish_marts

    alone = tmp_path / "warehouse.duckdb"  # the national level alone, from a copy of the national warehouse
    shutil.copyfile(national / "warehouse" / "egov.duckdb", alone)
    con = duckdb.connect(str(alone))
    publish_marts(con, tmp_path / "alone")
    con.close()

    con = duckdb.connect()
    con.execute("ATTACH ? AS nat (READ_ONLY)", [str(national / "marts" / "egov.duckdb")])
    con.execute("ATTACH ? AS own (READ_ONLY)", [str(tmp_path / "alone" / "egov.duckdb")])
    for code in PROVINCES:
        con.execute(f"ATTACH ? AS p_{code} (READ_ONLY)", [str(national / "provinces" / code / "marts" / "egov.duckdb")])

    def tables(database: str) -> set[str]:
        return {
            t
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [database]
            ).fetchall()
        }

    published = tables("nat")
    assert published == tables("own") | set().union(*(tables(f"p_{code}") for code in PROVINCES))
    for table in sorted(published):
        columns = [
            c
            for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = 'nat' AND table_name = ? "
                "ORDER BY column_index",
                [table],
            ).fetchall()
        ]
        assert columns[-1] == "province_code", table
        listed = ", ".join(f'"{c}"' for c in columns[:-1])
        own_code = "agency_code" if "agency_code" in columns and table not in ("quarantine", "data_quality") else "'*'"
        expected = " UNION ALL ".join(
            [f"SELECT {listed}, {own_code} FROM own.{table}"]
            + [f"SELECT {listed}, '{code}' FROM p_{code}.{table}" for code in PROVINCES if table in tables(f"p_{code}")]
        )
        published_rows = f"SELECT * FROM nat.{table}"
        for first, second in ((published_rows, expected), (expected, published_rows)):
            difference = f"SELECT count(*) FROM (FROM ({first}) EXCEPT ALL FROM ({second}))"
            assert con.execute(difference).fetchall() == [(0,)], table
    # the provinces' own rows are there: not a comparison of empty tables
    assert con.execute("SELECT count(DISTINCT province_code) FROM nat.dossier_indicators_ytd").fetchall() == [(2,)]
    con.close()


def test_the_national_publish_reads_every_province_in_one_statement_per_table(tmp_path: Path):
    """Issue 29: the national publish asked DuckDB's catalogue once per province and table, and inserted province by
    province (63 × 29 of each at the national bench's size: most of its 38.5 s). One province or three, it now runs
    as many statements, and reads the catalogue as often; the national marts still hold every province's rows."""
    from test_safety_injection import empty_warehouse, publish_province

    from assets.marts.publish import publish_marts
    from assets.national.build import attached, national_marts_sql

    class Counted:
        """A real connection that counts the queries national_marts_sql runs on it."""

        def __init__(self, con):
            self.con, self.queries = con, 0

        def execute(self, *args):
            self.queries += 1
            return self.con.execute(*args)

    def publish(codes: list[str]) -> tuple[int, int, list[tuple]]:
        root = tmp_path / str(len(codes))
        marts = {code: publish_province(root, root / "provinces" / code) for code in codes}
        con = empty_warehouse(root / "warehouse" / "egov.duckdb")
        seen: dict[str, int] = {}

        def statements(built):
            counted = Counted(built)
            made = national_marts_sql(counted, names)
            seen.update(queries=counted.queries, statements=len(made))
            return made

        with attached(con, marts) as names:
            publish_marts(con, root / "marts", statements)
        con.close()
        rows = query(
            root / "marts" / "egov.duckdb",
            "SELECT province_code, count(*) FROM agency_groups GROUP BY ALL ORDER BY ALL",
        )
        return seen["queries"], seen["statements"], rows

    one, three = publish(["AAA"]), publish(["AAA", "BBB", "CCC"])
    assert three[:2] == one[:2]
    groups = one[2][0][1]  # the standard agency groups, in every province's marts and the national level's
    assert three[2] == [("*", groups), ("AAA", groups), ("BBB", groups), ("CCC", groups)]


# --- the national report: the provincial reports' templates, numbers and atomic writes ------------------------------


def national_ranking(index: Path) -> tuple[list[str], list[list[str]]]:
    """The headings and rows of the national page's ranking table."""
    rows = [r for t, r in page(index).rows if t.get("class") == "ranking"]
    return rows[0], rows[1:]


def test_the_national_report_lists_every_province_with_its_rank_in_vietnamese_numbers(national: Path):
    reports = national / "marts" / "reports" / str(YEAR)
    heads, rows = national_ranking(reports / "index.html")
    # By hand (PROVINCES): BBB 0.75 + 1 = 1.75 points of 2, index 0.875, rank 1; AAA 0.5 + 0.5 = 1, index 0.5, rank 2.
    # The rubric rounds to 4 decimals: every figure is shown with 4, a decimal comma, as the provinces' reports do.
    expected = {"Tỉnh Bình": (1, 1.75, 1.75, 0.875), "Tỉnh An": (2, 1.0, 1.0, 0.5)}
    column = {name: heads.index(name) for name in ("Tỉnh, thành phố", "Xếp hạng", "Dịch vụ (2)", "Tổng điểm", "Chỉ số")}
    shown = {
        r[column["Tỉnh, thành phố"]]: (
            int(r[column["Xếp hạng"]]),
            vn_value(r[column["Dịch vụ (2)"]], 4),
            vn_value(r[column["Tổng điểm"]], 4),
            vn_value(r[column["Chỉ số"]], 4),
        )
        for r in rows
    }
    assert shown == expected
    # Every province of the national ranking, with its rank, and no other row.
    ranked = query(
        national / "marts" / "egov.duckdb",
        f"SELECT agency_name, rank FROM rankings WHERE year = {YEAR} AND agency_group = 'province'",
    )
    assert sorted((name, rank) for name, (rank, *_) in shown.items()) == sorted(ranked) and len(rows) == len(ranked)
    assert {r[heads.index("Xếp loại")] for r in rows} == {"Không xếp loại"}  # the class badge
    html = (reports / "index.html").read_text(encoding="utf-8")
    assert 'class="cls"' in html and 'data-chart="index_province"' in html
    assert '<link rel="stylesheet" href="../_static/report.css">' in html  # the provincial layout and stylesheet
    assert (reports.parent / "_static" / "report.css").read_bytes() == (
        PROJECT / "assets" / "reports" / "templates" / "report.css"
    ).read_bytes()
    # A province's page: its figures in Vietnamese too, and no number with a decimal point anywhere.
    aaa = (reports / "tinh" / "AAA.html").read_text(encoding="utf-8")
    assert re.search(r'data-field="index_value">([^<]*)<', aaa)[1] == "0,5000"
    assert re.search(r'data-field="rank">([^<]*)<', aaa)[1] == "2"
    for text in (page(reports / "index.html").visible, page(reports / "tinh" / "AAA.html").visible):
        assert not re.search(r"\d\.\d{4}", text), text
    # The workbook: the provincial ranking sheet's layout, numbers stored as numbers in Vietnamese formats.
    book = openpyxl.load_workbook(reports / f"xep_hang_tinh_{YEAR}.xlsx")
    ws = book[book.sheetnames[0]]
    heads = [c.value for c in ws[3]]
    assert heads[:3] == ["STT", "Mã tỉnh", "Tỉnh, thành phố"]
    index = heads.index("Chỉ số") + 1
    assert [(ws.cell(r, 2).value, ws.cell(r, index).value, ws.cell(r, index).number_format) for r in (4, 5)] == [
        ("BBB", 0.875, "[$-42A]0.0000"),
        ("AAA", 0.5, "[$-42A]0.0000"),
    ]


def test_a_failed_national_rewrite_leaves_the_previous_files_whole(
    national: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Every national file is written under a temporary name and renamed: a page that fails half-way (a character
    UTF-8 cannot encode, as a full disk would) or a workbook that cannot be saved leaves the previous files as they
    were, and no temporary file."""
    import jinja2
    import xlsxwriter.workbook

    from assets.national.reports import write_national_reports

    base = tmp_path / "data"
    shutil.copytree(national / "marts", base / "marts", ignore=shutil.ignore_patterns("parquet", ".readers"))
    write_national_reports(base, [YEAR])
    reports = base / "marts" / "reports"
    before = {p: p.read_bytes() for p in sorted(reports.rglob("*")) if p.is_file()}
    # the years, the ranking, the provinces' QĐ 766 page and a page per province (two)
    assert sorted(str(p.relative_to(reports)) for p in before if p.suffix == ".html") == [
        f"{YEAR}/chi-so-766.html",
        f"{YEAR}/index.html",
        f"{YEAR}/tinh/AAA.html",
        f"{YEAR}/tinh/BBB.html",
        "index.html",
    ]
    render, generate = jinja2.Template.render, jinja2.Template.generate

    def half_then_unencodable(text: str) -> str:
        return text[: len(text) // 2] + "\udc80" + text[len(text) // 2 :]

    monkeypatch.setattr(jinja2.Template, "render", lambda self, *a, **k: half_then_unencodable(render(self, *a, **k)))
    monkeypatch.setattr(
        jinja2.Template,
        "generate",
        lambda self, *a, **k: iter([half_then_unencodable("".join(generate(self, *a, **k)))]),
    )
    with pytest.raises(UnicodeEncodeError):
        write_national_reports(base, [YEAR])
    after = {p: p.read_bytes() for p in sorted(reports.rglob("*")) if p.is_file()}
    assert sorted(after) == sorted(before)  # no temporary file left behind
    assert {p: after[p] for p in after if p.suffix == ".html"} == {p: before[p] for p in before if p.suffix == ".html"}
    monkeypatch.undo()
    before = after

    def full_disk(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xlsxwriter.workbook.Workbook, "close", full_disk)
    with pytest.raises(OSError):
        write_national_reports(base, [YEAR])
    assert {p: p.read_bytes() for p in sorted(reports.rglob("*")) if p.is_file()} == before


def test_rank_change_across_the_2025_merger_follows_successor_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """docs/domain.md §5 and §8: a province that absorbed others in 2025 keeps its own 2024 rank as its previous rank;
    a province new in 2025 (its predecessors' `successor_code`) takes the best 2024 rank among its predecessors.

    2024: BBB (2 of 2 dossiers online, LAN) = 2 points, rank 1; CCC (2 of 4, LAN) = 1.5, rank 2; AAA (1 of 4, no
    LAN) = 0.25, rank 3. 2025: BBB merged into AAA, CCC into the new DDD. AAA (3/4, LAN) = 1.75, rank 1, previous
    rank its own 3: "tăng 2 bậc"; DDD (1/4, no LAN) = 0.25, rank 2, previous rank CCC's 2: "giữ nguyên"."""
    base = tmp_path / "data"
    write_csv(
        base / "raw" / "agencies" / "tinh.csv",
        AGENCY_HEADER,
        [
            ["AAA", "Tỉnh An", "province", "", "2016-01-01", "", ""],
            ["BBB", "Tỉnh Bình", "province", "", "2016-01-01", "2025-06-30", "AAA"],
            ["CCC", "Tỉnh Cao", "province", "", "2016-01-01", "2025-06-30", "DDD"],
            ["DDD", "Tỉnh Đông", "province", "", "2025-07-01", "", ""],
        ],
    )
    (base / "rubrics").mkdir(parents=True)
    (base / "rubrics" / "2016.yaml").write_text(RUBRIC, encoding="utf-8")
    write_province(base / "provinces" / "AAA", {"SO-A": (1, 4, 0)}, 2024)
    write_province(base / "provinces" / "AAA", {"SO-A": (3, 4, 1)}, 2025)
    write_province(base / "provinces" / "BBB", {"SO-A": (2, 2, 1)}, 2024)
    write_province(base / "provinces" / "CCC", {"SO-A": (2, 4, 1)}, 2024)
    write_province(base / "provinces" / "DDD", {"SO-A": (1, 4, 0)}, 2025)
    run(base, tmp_path / "home", monkeypatch, years=(2024, 2025))
    # Progress: a province's steps carry its code (provinces may run at once), the national steps after them none.
    lines = capsys.readouterr().out.splitlines()
    assert "  [DDD] ✓ marts" in {line.split(" (")[0] for line in lines}
    assert "  ✓ national_rankings" in {line.split(" (")[0] for line in lines}
    assert query(
        base / "marts" / "egov.duckdb",
        "SELECT year, agency_code, total_points, rank, prev_rank, rank_change, rank_change_label "
        "FROM rankings WHERE agency_group = 'province' ORDER BY year, rank",
    ) == [
        (2024, "BBB", 2.0, 1, None, None, None),
        (2024, "CCC", 1.5, 2, None, None, None),
        (2024, "AAA", 0.25, 3, None, None, None),
        (2025, "AAA", 1.75, 1, 3, 2, "tăng 2 bậc"),
        (2025, "DDD", 0.25, 2, 2, 0, "giữ nguyên"),
    ]
    # The 2025 report: the change against 2024 and, two years being ranked, the trend of the index (total / 2).
    reports = base / "marts" / "reports" / "2025"
    heads, rows = national_ranking(reports / "index.html")
    assert [(r[heads.index("Tỉnh, thành phố")], r[heads.index("Thay đổi so với năm trước")]) for r in rows] == [
        ("Tỉnh An", "↑2"),
        ("Tỉnh Đông", "–"),
    ]
    assert 'data-chart="trend_province"' in (reports / "index.html").read_text(encoding="utf-8")
    years = [r for t, r in page(reports / "tinh" / "AAA.html").rows if t.get("class") == "history"][1:]
    assert [(int(y), vn_value(index, 4), int(rank)) for y, index, _, rank in years] == [
        (2024, 0.125, 3),
        (2025, 0.875, 1),
    ]


def test_multiprocess_runs_provinces_at_once_and_a_busy_province_queues(
    national: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import dagster as dg

    base = write_national(tmp_path / "data")
    # Another run holds province AAA (its lock) until BBB has published: AAA's step waits instead of failing, while
    # BBB runs in the other process (released after 5 minutes at most, whatever the machine's load).
    bbb_marts = base / "provinces" / "BBB" / "marts" / "egov.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from pathlib import Path; from pipelines.core.provinces import province_lock\n"
                f"with province_lock(Path({str(base / 'provinces' / 'AAA')!r}), print):\n"
                "    print('held', flush=True); deadline = time.monotonic() + 300\n"
                f"    while not Path({str(bbb_marts)!r}).exists() and time.monotonic() < deadline: time.sleep(0.2)\n"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    run(base, tmp_path / "home", monkeypatch, executor="multiprocess", workers=2)
    assert holder.wait(timeout=10) == 0
    assert marts_content(base / "marts" / "egov.duckdb") == marts_content(national / "marts" / "egov.duckdb")

    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        (national_run,) = instance.get_runs(dg.RunsFilter(job_name="egov_national"))
        steps: dict[str, dict[str, float]] = {}
        messages = []
        for record in instance.get_records_for_run(national_run.run_id, limit=10_000).records:
            entry = record.event_log_entry
            messages.append(entry.user_message)
            event = entry.dagster_event
            if event and event.step_key and "province_pipeline[" in event.step_key:
                steps.setdefault(event.step_key, {})[event.event_type_value] = entry.timestamp
    assert any("province AAA: another run holds it; waiting" in m for m in messages)
    a, b = steps["province_results.province_pipeline[AAA]"], steps["province_results.province_pipeline[BBB]"]
    assert a["STEP_START"] < b["STEP_SUCCESS"] and b["STEP_START"] < a["STEP_SUCCESS"]  # two processes at once


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def wait_until(ready: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, f"not ready after {seconds} s"
        time.sleep(0.5)


@pytest.fixture
def dagster_pg() -> Iterator:
    """A PostgreSQL server (tests/postgres.py) with an empty database `dagster` for the instance."""
    from postgres import postgres_server

    with postgres_server() as server:
        server.execute("CREATE DATABASE dagster")
        yield server


@pytest.mark.skipif(
    shutil.which("redis-server") is None,
    reason="Debian's redis-server is not installed (./egov test installs it, as it does chromium)",
)
def test_celery_with_two_workers_publishes_the_same_marts(
    national: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dagster_pg
):
    """The workers and the run share the Dagster instance in PostgreSQL (EGOV_DAGSTER_PG_URL, dagster-postgres), as
    workers on several machines do (docs/operators.md)."""
    from pipelines.cli.instance import PG_URL_ENV, POSTGRES_STORAGE, initialise_instance
    from pipelines.cli.runs import celery_workers_problem, execute_pipeline

    base = write_national(tmp_path / "data")
    home = tmp_path / "home"
    home.mkdir()
    server = dagster_pg
    monkeypatch.setenv(PG_URL_ENV, server.uri("dagster").replace("postgresql://", "postgresql+psycopg2://"))
    dagster_yaml = "telemetry:\n  enabled: false\n" + POSTGRES_STORAGE
    (home / "dagster.yaml").write_text(dagster_yaml)
    initialise_instance(home)  # before two workers open it at once (as `egov worker` does)
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    (tmp_path / "celery.yaml").write_text(f"execution:\n  config:\n    broker: {broker}\n    backend: {broker}\n")
    env = {
        **os.environ,
        "EGOV_DATA_DIR": str(base),
        "DAGSTER_HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    started = []
    # Without a broker, or without a worker, a celery run is refused at once (dagster-celery would wait forever).
    assert "does not answer" in celery_workers_problem(broker, timeout=1)
    try:
        started.append(
            subprocess.Popen(
                ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_default_signals,
            )
        )
        wait_until(lambda: "does not answer" not in (celery_workers_problem(broker, timeout=1) or ""))
        assert "No Celery worker answers" in celery_workers_problem(broker, timeout=1)
        assert execute_pipeline([YEAR], data_dir=base, full_refresh=True, executor="celery", broker=broker) == 1
        assert not (base / "marts" / "egov.duckdb").exists()
        for name in ("w1", "w2"):
            started.append(
                subprocess.Popen(
                    [
                        str(Path(sys.executable).parent / "dagster-celery"),
                        "worker",
                        "start",
                        "-A",
                        "dagster_celery.app",
                        "-y",
                        str(tmp_path / "celery.yaml"),
                        "-n",
                        name,
                        "--",
                        "--concurrency=1",
                    ],
                    env=env,
                    cwd=tmp_path,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                    preexec_fn=_default_signals,
                )
            )
        wait_until(lambda: celery_workers_problem(broker, timeout=1) is None)
        run(base, home, monkeypatch, executor="celery", broker=broker, dagster_yaml=dagster_yaml)
        # The runs are in PostgreSQL (the refused one and this one), none in DAGSTER_HOME's SQLite.
        assert server.execute("SELECT count(*) FROM runs", "dagster")[0][0] >= 1
        assert not list(home.glob("**/*.db"))
    finally:
        for process in reversed(started):
            os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(started):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    assert marts_content(base / "marts" / "egov.duckdb") == marts_content(national / "marts" / "egov.duckdb")


def test_a_province_added_or_removed_is_followed_by_the_sensor_and_the_nightly_run(
    national: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.defs.resources import Warehouse
    from pipelines.defs.schedules import nightly_national
    from pipelines.defs.sensors import province_folders_sensor

    base = tmp_path / "data"
    shutil.copytree(national, base)
    home = tmp_path / "home"
    shutil.copytree(national.parent / "dagster_home", home)  # the instance that knows AAA and BBB
    monkeypatch.setenv("EGOV_DATA_DIR", str(base))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    # A third province: 1 online dossier of 4, no LAN in its one department; in the national registry too.
    added = {**PROVINCES, "CCC": ("Tỉnh Cao", {"SO-A": (1, 4, 0)})}
    write_national(base, {"CCC": added["CCC"]})
    write_csv(
        base / "raw" / "agencies" / "tinh.csv",
        AGENCY_HEADER,
        [[code, name, "province", "", "2016-01-01", "", ""] for code, (name, _) in added.items()],
    )

    with dg.DagsterInstance.get() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"warehouse": Warehouse(data_dir=str(base))})
        result = province_folders_sensor(context)
        (request,) = result.dynamic_partitions_requests
        assert list(request.partition_keys) == ["CCC"]
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))  # as the daemon
        assert "CCC|2024" in defs.resolve_assets_def("province_results").partitions_def.get_partition_keys(
            dynamic_partitions_store=instance
        )
        (run_request,) = result.run_requests
        job = defs.resolve_job_def("egov_national")
        done = job.execute_in_process(instance=instance, tags=run_request.tags, raise_on_error=False)
        assert done.success
    marts = base / "marts" / "egov.duckdb"
    assert query(
        marts, "SELECT agency_code, total_points, rank FROM rankings WHERE agency_group = 'province' ORDER BY rank"
    ) == [("BBB", 1.75, 1), ("AAA", 1.0, 2), ("CCC", 0.25, 3)]
    assert query(marts, "SELECT count(*) FROM rankings WHERE province_code = 'CCC' AND agency_code = 'SO-A'") == [(1,)]

    # BBB's folder is removed: the sensor drops it from the partitions, and the nightly schedule's run covers the
    # provinces left. BBB stays in the national registry, so it is still ranked, with no records: 0 points, last
    # (as an agency that reported nothing); its own agencies leave the national marts.
    shutil.rmtree(base / "provinces" / "BBB")
    with dg.DagsterInstance.get() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"warehouse": Warehouse(data_dir=str(base))})
        result = province_folders_sensor(context)
        assert result.run_requests == []
        (request,) = result.dynamic_partitions_requests
        assert isinstance(request, dg.DeleteDynamicPartitionsRequest) and list(request.partition_keys) == ["BBB"]
        instance.delete_dynamic_partition(request.partitions_def_name, "BBB")  # as the daemon
        schedule = dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime(YEAR, 11, 25, 2))
        nightly = nightly_national(schedule)
        assert nightly.run_key == f"national-nightly-{YEAR}-11-25"
        keys = defs.resolve_assets_def("province_results").partitions_def.get_partition_keys_in_range(
            dg.PartitionKeyRange(
                nightly.tags["dagster/asset_partition_range_start"], nightly.tags["dagster/asset_partition_range_end"]
            ),
            dynamic_partitions_store=instance,
        )
        assert sorted(keys) == [f"AAA|{YEAR}", f"CCC|{YEAR}"]
        assert job.execute_in_process(
            instance=instance,
            tags=nightly.tags,
            run_config={
                "ops": {"province_results": {"ops": {"province_pipeline": {"config": {"allow_shrink": True}}}}}
            },
            raise_on_error=False,
        ).success
    assert query(
        marts, "SELECT agency_code, total_points, rank FROM rankings WHERE agency_group = 'province' ORDER BY rank"
    ) == [("AAA", 1.0, 1), ("CCC", 0.25, 2), ("BBB", 0.0, 3)]
    assert query(marts, "SELECT DISTINCT province_code FROM rankings WHERE agency_group <> 'province' ORDER BY 1") == [
        ("AAA",),
        ("CCC",),
    ]


def test_national_sample_has_the_2025_merger_and_provinces_of_different_sizes(tmp_path: Path):
    import csv

    from pipelines.sample.national import PROVINCES, generate_national_sample, national_units

    assert len(PROVINCES) == 34 and len(national_units()) == 63  # 34 since 1 July 2025, 63 before
    summary = generate_national_sample(tmp_path, scale=0.002, provinces=("TQG", "LCU"))
    with (tmp_path / "raw" / "agencies" / "tinh_thanh_pho.csv").open(encoding="utf-8") as fh:
        registry = {row["agency_code"]: row for row in csv.DictReader(fh)}
    assert set(registry) == {"TQG", "HGG", "LCU"}  # Hà Giang merged into Tuyên Quang
    assert (registry["HGG"]["valid_to"], registry["HGG"]["successor_code"]) == ("2025-06-30", "TQG")
    assert registry["TQG"]["valid_to"] == "" and {r["agency_group"] for r in registry.values()} == {"province"}
    hgg_2025 = sorted(p.name for p in (tmp_path / "provinces" / "HGG" / "raw" / "dossiers" / "2025").iterdir())
    assert hgg_2025 == ["01", "02", "03", "04", "05", "06"]  # its records end with the merger
    assert not (tmp_path / "provinces" / "HGG" / "raw" / "infrastructure" / "2025").exists()  # no 2025 return
    assert summary["dossiers"]["TQG"] > summary["dossiers"]["HGG"]  # sizes 0.3 and 0.2


def test_a_new_dagster_home_opened_by_several_processes_at_once_is_created_once(tmp_path: Path):
    """Two `egov worker`s and a backfill started together on a new DAGSTER_HOME: each process initialises the
    instance under a lock, so none fails on a table another created (seen in the national bench before the lock)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    code = (
        "import dagster as dg; from pathlib import Path; from pipelines.cli.instance import initialise_instance; "
        f"initialise_instance(Path({str(home)!r})); "
        f"print(len(dg.DagsterInstance.from_config({str(home)!r}).get_runs()))"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outcomes = [(*p.communicate(timeout=120), p.returncode) for p in processes]
    assert [(rc, out.strip()) for out, _, rc in outcomes] == [(0, "0")] * 4, [err for _, err, _ in outcomes]
    assert (home / ".egov-initialised").exists()


def test_province_folders_runs_only_registry_provinces_and_names_every_folder_it_skips(tmp_path: Path):
    """Issue 24 (6, 7): the one place that decides which folders of provinces/ run. No Dagster run: discovery only."""
    from assets.national.folders import province_folders

    base = tmp_path / "data"
    registry = ["AAA", "BBB", "CCC", "DDD", "EEE", "LCU", "lcu"]
    write_csv(
        base / "raw" / "agencies" / "tinh.csv",
        AGENCY_HEADER,
        [[code, f"Tỉnh {code}", "province", "", "2016-01-01", "", ""] for code in registry]
        + [["AAA", "Tỉnh An lần hai", "province", "", "2016-01-01", "", ""]],
    )  # a duplicate: the first is kept
    (base / "rubrics").mkdir(parents=True)
    (base / "rubrics" / "2016.yaml").write_text(RUBRIC, encoding="utf-8")
    provinces = base / "provinces"
    for name in ("AAA", "LCU", "lcu", "a b", "X|Y", "Hà_Nội", "FFF", "aaa", ".snapshot"):
        (provinces / name / "raw").mkdir(parents=True)
    (provinces / "EEE").mkdir()  # its raw files have not arrived
    (tmp_path / "volume2" / "DDD" / "raw").mkdir(parents=True)
    (provinces / "DDD").symlink_to(tmp_path / "volume2" / "DDD")  # a province kept on another volume: it runs
    (provinces / "CCC").symlink_to(provinces / "AAA")  # AAA's folder under a second name
    (provinces / "GGG").symlink_to(tmp_path / "nowhere")
    (provinces / "AAA.zip").write_bytes(b"PK")
    (provinces / "README.md").write_text("Một thư mục cho mỗi tỉnh.\n", encoding="utf-8")

    found = province_folders(base)
    assert found.codes == ["AAA", "DDD"]  # BBB has no folder: the ranking of provinces warns about it
    reasons = {
        "a b": "not a province code",
        "X|Y": "not a province code",
        "Hà_Nội": "not a province code",
        "FFF": "not a province of the national registry",
        "aaa": "which has AAA",
        "EEE": "no raw/ folder",
        "CCC": "a link to the folder of provinces/AAA/",
        "LCU": "the same code as provinces/lcu/",
        "lcu": "the same code as provinces/LCU/",
        "GGG": "a link to nothing",
        "AAA.zip": "not a folder",
    }
    assert len(found.skipped) == len(reasons), found.skipped
    for name, reason in reasons.items():
        (message,) = [
            m for m in found.skipped if m.startswith(f"provinces/{name}/:") or m.startswith(f"provinces/{name}:")
        ]
        assert reason in message and "skipped" in message, message


def test_stray_folders_are_neither_run_nor_ranked_and_each_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """Issue 24 (6, 7): a backup `a b/`, `X|Y`, `Hà_Nội`, `aaa` beside `AAA` and a link to AAA's folder are skipped
    with a warning each; the two provinces of the registry run and are ranked as without them. A duplicate row of
    the national registry is quarantined as the national directory's own ('*'), not as province AAA's."""
    base = write_national(tmp_path / "data")
    with (base / "raw" / "agencies" / "tinh.csv").open("a", encoding="utf-8") as fh:
        fh.write("AAA,Tỉnh An lần hai,province,,2016-01-01,,\n")  # line 4
    provinces = base / "provinces"
    stray = ["a b", "X|Y", "Hà_Nội", "aaa"]
    for name in stray:
        shutil.copytree(provinces / "AAA", provinces / name)
    (provinces / "ZZZ").symlink_to(provinces / "AAA")
    run(base, tmp_path / "home", monkeypatch)

    warnings = [line for line in capsys.readouterr().out.splitlines() if "skipped" in line]
    for name in [*stray, "ZZZ"]:
        assert len([w for w in warnings if f"provinces/{name}/:" in w]) == 1, (name, warnings)
    for name in stray:
        assert not (provinces / name / "marts").exists()  # not run
    marts = base / "marts" / "egov.duckdb"
    # Ranks in the country by hand, from the two provinces' own published rankings (rank(): ties share a rank).
    units = [
        (code, agency, points)
        for code in PROVINCES
        for agency, points in query(
            provinces / code / "marts" / "egov.duckdb",
            f"SELECT agency_code, total_points FROM rankings WHERE year = {YEAR} AND agency_group = 'department'",
        )
    ]
    expected = sorted(
        (code, PROVINCES[code][0], agency, 1 + sum(p > points for _, _, p in units), len(units))
        for code, agency, points in units
    )
    assert len(expected) == 4
    assert (
        query(
            marts,
            "SELECT province_code, province_name, agency_code, rank_in_country, units_in_country "
            f"FROM national_agency_rankings WHERE year = {YEAR} ORDER BY ALL",
        )
        == expected
    )
    assert query(
        marts, "SELECT agency_code, total_points, rank FROM rankings WHERE agency_group = 'province' ORDER BY rank"
    ) == [("BBB", 1.75, 1), ("AAA", 1.0, 2)]
    assert query(marts, "SELECT DISTINCT province_code FROM rankings ORDER BY 1") == [("AAA",), ("BBB",)]
    assert query(marts, "SELECT province_code, source, file, line, agency_code FROM quarantine ORDER BY ALL") == [
        ("*", "agencies", "agencies/tinh.csv", 4, "AAA")
    ]


def test_a_province_folder_without_its_agency_registry_fails_naming_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """Issue 24: without raw/agencies/ every record of the province would be quarantined as of an unknown agency."""
    from pipelines.cli.runs import execute_pipeline

    base = tmp_path / "data"
    write_national(base, {"AAA": PROVINCES["AAA"]})
    shutil.rmtree(base / "provinces" / "AAA" / "raw" / "agencies")
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("EGOV_DATA_DIR", str(base))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert execute_pipeline([YEAR], data_dir=base, full_refresh=True) == 1
    out = capsys.readouterr().out
    assert f"province AAA: no agency registry in {base / 'provinces' / 'AAA' / 'raw' / 'agencies'}" in out
    assert not (base / "provinces" / "AAA" / "marts" / "egov.duckdb").exists()
    assert not (base / "marts" / "egov.duckdb").exists()


def test_a_provincial_run_of_a_province_folder_waits_for_the_national_runs_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """Issue 24: `egov run` with EGOV_DATA_DIR=provinces/AAA while a national run works on AAA (holds its lock, as
    province_pipeline does) waits for it: their steps never interleave on AAA's warehouse."""
    import dagster as dg

    from pipelines.cli.runs import execute_pipeline

    base = write_national(tmp_path / "data", {"AAA": PROVINCES["AAA"]})
    folder = base / "provinces" / "AAA"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import time; from pathlib import Path; from pipelines.core.provinces import province_lock\n"
                f"with province_lock(Path({str(folder)!r}), print):\n"
                "    print('held', flush=True); time.sleep(6)\n"
                "print(time.time(), flush=True)"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("EGOV_DATA_DIR", str(folder))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert execute_pipeline([YEAR], data_dir=folder, full_refresh=True) == 0
    released = float(holder.stdout.readline())
    assert holder.wait(timeout=60) == 0
    assert "province AAA: another run holds it; waiting for it to end" in capsys.readouterr().out
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (record,) = instance.get_run_records(dg.RunsFilter(job_name="egov_pipeline"))
        assert record.start_time is not None and record.start_time >= released


def test_provinces_are_ranked_monthly_by_their_own_766_scorecards(national: Path):
    """The national monthly ranking equals the one recomputed from the provinces' own marts: each province's
    province row (its agencies' numerators and denominators summed), ranked per period by total points."""
    from collections import defaultdict

    marts = national / "marts" / "egov.duckdb"
    own: dict[str, list[tuple]] = defaultdict(list)
    for code in PROVINCES:
        for period, total, computable in query(
            national / "provinces" / code / "marts" / "egov.duckdb",
            "SELECT period, total_points, computable_max FROM scorecard_766_totals WHERE agency_code = 'PROVINCE'",
        ):
            own[period].append((code, total, computable))
    expected = set()
    for period, rows in own.items():
        ranked = [r for r in rows if r[1] is not None]
        for code, total, computable in rows:
            rank = 1 + sum(other > total for _, other, _ in ranked) if total is not None else None
            expected.add((period, code, total, computable, rank, len(ranked)))
    assert expected and any(r[4] == 2 for r in expected)  # some month ranks both provinces
    got = set(
        query(
            marts,
            "SELECT period, province_code, total_points, computable_max, rank, provinces_ranked "
            "FROM national_scorecard_766",
        )
    )
    assert got == expected
    assert set(query(marts, "SELECT DISTINCT province_name FROM national_scorecard_766")) == {
        ("Tỉnh An",),
        ("Tỉnh Bình",),
    }


def test_the_national_766_page_lists_provinces_by_month(national: Path):
    marts = national / "marts" / "egov.duckdb"
    year_dir = national / "marts" / "reports" / str(YEAR)
    assert 'href="chi-so-766.html"' in (year_dir / "index.html").read_text(encoding="utf-8")
    html = (year_dir / "chi-so-766.html").read_text(encoding="utf-8")
    for code, name, total, computable in query(
        marts,
        "SELECT province_code, province_name, total_points, "
        "computable_max FROM national_scorecard_766 "
        "WHERE period = '2024-01'",
    ):
        row = re.search(rf'<tr data-agency="{code}">(.*?)</tr>', html, re.S)
        assert row and name in row.group(1), code
        cell = re.search(
            r'<td class="num" data-period="2024-01"[^>]*>([^<]*)<span class="of">/([^<]*)</span>', row.group(1)
        )
        assert cell and cell.groups() == (f"{total:.2f}".replace(".", ","), f"{computable:g}".replace(".", ","))


def test_a_record_moving_between_years_in_a_province_reruns_and_reranks_the_year_it_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """Issue 28 on a national directory: a national run of 2025 whose province load took a dossier out of 2024 runs
    2024 for that province and ranks 2024 again, as a full reload of the same files would have it.

    One province, one department, 2024: 2 of its 3 dossiers online (SO-A-2024-0 and -1), a LAN: 2/3 + 1. Then the
    one-stop system corrects SO-A-2024-0's reception date to 5 January 2025 (a later version, filed under 2025): a
    full reload counts 1 of 2 online in 2024 (0.5 + 1 = 1.5) and 2 of 3 in 2025 (1 of 2 of its own, plus it)."""
    base = write_national(tmp_path / "data", {"AAA": ("Tỉnh An", {"SO-A": (2, 3, 1)})})
    run(base, tmp_path / "home", monkeypatch, years=(2024,))
    ranking = "SELECT year, agency_code, total_points FROM rankings WHERE agency_group = 'province' ORDER BY year"
    marts = base / "marts" / "egov.duckdb"
    assert query(marts, ranking) == [(2024, "AAA", 1.6667)]

    province = base / "provinces" / "AAA"
    write_province(province, {"SO-A": (1, 2, 1)}, 2025)
    write_csv(
        province / "raw" / "dossiers" / "2025" / "02" / "sua_ngay.csv",
        DOSSIER_HEADER + ["NgayCapNhat"],
        [dossier("SO-A-2024-0", "SO-A", procedure="P-SO-A", received="20250105080000") + ["20250106090000"]],
    )
    capsys.readouterr()
    from pipelines.cli.runs import execute_pipeline

    assert execute_pipeline([2025], data_dir=base) == 0  # `egov run --years 2025`, not a reload
    said = capsys.readouterr().out
    assert query(marts, ranking) == [(2024, "AAA", 1.5), (2025, "AAA", 1.6667)]
    assert "province AAA: the records of 2024 changed in this run" in said
    assert query(
        marts,
        "SELECT year, agency_code, numerator, denominator FROM indicators WHERE indicator_code = "
        "'dossier_online_ratio' AND agency_code IN ('AAA', 'SO-A') ORDER BY ALL",
    ) == [(2024, "AAA", 1.0, 2.0), (2024, "SO-A", 1.0, 2.0), (2025, "AAA", 2.0, 3.0), (2025, "SO-A", 2.0, 3.0)]
