"""No folder, file or code name can run SQL or write outside the data directory (issue 24, "Data safety, round 3",
items 1 and 5).

A province folder, an EGOV_DATA_DIR or a national registry code is a name like any other: it may hold `'`, `;`,
`--` or `../`. Each test gives such a name to the functions that build SQL or file names from it, on real DuckDB
files, and checks that the statement it hides never runs and that the name is kept as written.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import create_tables
from test_national import PROVINCES, YEAR, run, write_province

from assets.marts.publish import MARTS_FILE, open_marts, publish_marts, year_counts
from assets.national.build import attached, ensure_national_tables, national_marts_sql
from assets.national.reports import PROVINCE_PAGES, REPORTS_DIR, write_national_reports
from pipelines.core.methods import write_methods_table
from pipelines.core.provinces import province_dir
from pipelines.core.warehouse import connect


def hostile(tmp_path: Path) -> str:
    """A name that, pasted into a SQL string literal, ends it and writes INJECTED.csv into `tmp_path`."""
    return f"Z'; COPY (SELECT 'x') TO '{tmp_path}/INJECTED.csv'; --"


def injected(tmp_path: Path) -> list[Path]:
    """What the hostile statements would have left: the COPY's file, and the DuckDB file the cut ATTACH makes."""
    return [p for p in tmp_path.rglob("*") if p.name in ("INJECTED.csv", "Z") and p.is_file()]


def empty_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """A warehouse with every table the marts read, from the project's own schema files, holding no scores: its
    marts hold the standard agency groups (and the scoring methods) only."""
    con = connect(path)
    create_tables(con, "indicators", "scoring", "profiles")
    ensure_national_tables(con)
    write_methods_table(con)
    return con


def groups_of(marts: Path) -> list[tuple]:
    with open_marts(marts) as con:
        return con.execute("SELECT agency_group, label_vi FROM agency_groups ORDER BY ALL").fetchall()


def publish_province(tmp_path: Path, folder: Path) -> Path:
    """A province's published marts in `folder`/marts, built at a plain path and then moved to `folder` (the folder's
    name may be one the code before the fix could not publish to)."""
    plain = tmp_path / "plain-province"
    con = empty_warehouse(plain / "warehouse" / "egov.duckdb")
    publish_marts(con, plain / "marts")
    con.close()
    folder.parent.mkdir(parents=True, exist_ok=True)
    plain.rename(folder)
    return folder / "marts" / MARTS_FILE


def national_marts(tmp_path: Path, marts: dict[str, Path]) -> Path:
    """The national marts of the provinces `marts` (code: published file), as the national_marts asset builds them."""
    con = empty_warehouse(tmp_path / "national" / "warehouse" / "egov.duckdb")
    out = tmp_path / "national" / "marts"
    with attached(con, marts) as names:
        publish_marts(con, out, lambda built: national_marts_sql(built, names))
    con.close()
    return out / MARTS_FILE


@pytest.mark.slow
def test_a_provincial_run_whose_data_directory_holds_a_quote_publishes_its_marts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    base = tmp_path / "O'X; --" / "data"
    write_province(base, PROVINCES["AAA"][1])  # SO-A: 3 of 4 dossiers online, SO-B: 1 of 4
    run(base, tmp_path / "dagster_home", monkeypatch)
    marts = base / "marts" / MARTS_FILE
    with open_marts(marts) as con:
        assert con.execute(
            "SELECT agency_code, numerator, denominator FROM indicators WHERE year = ? AND "
            "indicator_code = 'dossier_online_ratio' ORDER BY agency_code",
            [YEAR],
        ).fetchall() == [("SO-A", 3, 4), ("SO-B", 1, 4)]
        assert con.execute(
            "SELECT agency_code FROM rankings WHERE year = ? ORDER BY agency_code", [YEAR]
        ).fetchall() == [("SO-A",), ("SO-B",)]
    # The Parquet copies and the reports went to the same directory.
    rankings = (
        duckdb.connect()
        .execute(
            "SELECT agency_code FROM read_parquet(?) WHERE year = ? ORDER BY 1",
            [str(base / "marts" / "parquet" / "rankings.parquet"), YEAR],
        )
        .fetchall()
    )
    assert rankings == [("SO-A",), ("SO-B",)]
    assert (base / "marts" / "reports" / str(YEAR) / "index.html").is_file()
    assert not injected(tmp_path)


def test_publishing_into_a_folder_named_like_sql_runs_none_of_it(tmp_path: Path):
    con = empty_warehouse(tmp_path / "warehouse" / "egov.duckdb")
    out = tmp_path / hostile(tmp_path) / "marts"
    publish_marts(con, out)
    con.close()
    assert not injected(tmp_path)
    assert groups_of(out / MARTS_FILE)  # the standard groups, published where asked
    assert sorted(p.name for p in (out / "parquet").iterdir()) == [
        "criterion_scores.parquet",
        "indicators.parquet",
        "quarantine.parquet",
        "rankings.parquet",
    ]


def test_a_province_folder_named_like_sql_is_attached_as_a_path(tmp_path: Path):
    """The issue's folder: `ATTACH '{path}'` ran the COPY and created a DuckDB file provinces/Z."""
    folder = tmp_path / "provinces" / hostile(tmp_path)
    marts = publish_province(tmp_path, folder)
    national = national_marts(tmp_path, {"P1": marts})
    assert not injected(tmp_path)
    with open_marts(national) as con:
        rows = con.execute(
            "SELECT agency_group, label_vi FROM agency_groups WHERE province_code = 'P1' ORDER BY ALL"
        ).fetchall()
    assert rows == groups_of(marts) and rows


def test_a_province_code_like_sql_is_kept_as_written(tmp_path: Path):
    code = hostile(tmp_path)
    marts = publish_province(tmp_path, tmp_path / "provinces" / "P1")
    national = national_marts(tmp_path, {code: marts})
    assert not injected(tmp_path)
    with open_marts(national) as con:
        rows = con.execute(
            "SELECT agency_group, label_vi FROM agency_groups WHERE province_code = ? ORDER BY ALL", [code]
        ).fetchall()
        assert con.execute("SELECT DISTINCT province_code FROM agency_groups ORDER BY 1").fetchall() == [
            ("*",),
            (code,),
        ]
    assert rows == groups_of(marts) and rows


def test_the_shrink_guard_counts_a_marts_database_whose_name_starts_with_a_digit(tmp_path: Path):
    """open_marts reads through `.readers/<uuid>.duckdb` when a stale WAL is in the way: its database is then named
    by a uuid, which starts with a digit 10 times in 16, and the guard's count must still read it."""
    path = tmp_path / "3f2a.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE rankings AS SELECT 2024 AS year, 1.5 AS total_points UNION ALL SELECT 2024, 0")
        con.execute("CREATE TABLE indicators AS SELECT 2024 AS year, NULL::DOUBLE AS value")
    with open_marts(path) as con:
        assert year_counts(con, "3f2a") == {("rankings", 2024): 1, ("indicators", 2024): 0}


def write_province_ranking(base: Path, provinces: dict[str, str]) -> None:
    """National marts ranking `provinces` (code: name) in YEAR on one criterion, published as the national_marts
    asset publishes them (province_code from agency_code)."""
    con = empty_warehouse(base / "warehouse" / "egov.duckdb")
    con.execute(
        "INSERT INTO rubric_items (year, agency_group, criterion_code, criterion_name, indicator_code, points, "
        "target, rubric_year, criterion_order, item_order) VALUES (?, 'province', 'c1', 'Tiêu chí 1', "
        "'has_lan', 1, 1, 2016, 1, 1)",
        [YEAR],
    )
    con.execute(
        "INSERT INTO rubric_classes (year, agency_group, label, min_total, rubric_year, colour, fill, decimals) "
        "VALUES (?, 'province', 'Không xếp loại', 0, 2016, '#1b7837', '#C6EFCE', 4)",
        [YEAR],
    )
    for rank, (code, name) in enumerate(provinces.items(), start=1):
        con.execute(
            "INSERT INTO rankings (year, agency_group, agency_code, agency_name, total_points, max_points, "
            "index_value, rank, classification, rubric_year) "
            "VALUES (?, 'province', ?, ?, ?, 1, ?, ?, 'Không xếp loại', 2016)",
            [YEAR, code, name, 1 / rank, 1 / rank, rank],
        )
        con.execute(
            "INSERT INTO criterion_scores (year, agency_code, agency_group, criterion_code, criterion_name, points, "
            "max_points, rank) VALUES (?, ?, 'province', 'c1', 'Tiêu chí 1', ?, 1, ?)",
            [YEAR, code, 1 / rank, rank],
        )
    publish_marts(con, base / "marts", lambda built: national_marts_sql(built, {}))
    con.close()


def test_a_province_code_of_dot_dot_segments_writes_its_page_in_the_province_pages_folder(tmp_path: Path):
    base = tmp_path / "national" / "data"
    # Six `..` from reports/<year>/tinh/ reach tmp_path: outside the data directory.
    provinces = {"../../x": "Tỉnh Hai Chấm", "../../../../../../escaped": "Tỉnh Thoát Ra"}
    write_province_ranking(base, provinces)
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    written = write_national_reports(base, [YEAR])[YEAR]
    new = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    reports = base / "marts" / REPORTS_DIR / str(YEAR)
    pages_dir = reports / PROVINCE_PAGES
    # Inside the year's folder, and the reports' own (the index of the years, the stylesheet and charting library).
    assert all(p.resolve().is_relative_to(reports.resolve()) for p in written)
    assert all(p.resolve().is_relative_to(reports.parent.resolve()) for p in new)
    pages = sorted(pages_dir.iterdir())
    assert len(pages) == 2 and {p for p in new if p.is_relative_to(reports)} == {
        *pages,
        reports / "index.html",
        reports / f"xep_hang_tinh_{YEAR}.xlsx",
    }
    index = (reports / "index.html").read_text(encoding="utf-8")
    text = {page: page.read_text(encoding="utf-8") for page in pages}
    page_of = {name: next(p for p in pages if f"<h1>{name}</h1>" in text[p]) for name in provinces.values()}
    assert sorted(page_of.values()) == pages  # a page each
    for name, page in page_of.items():
        assert f'<a href="{PROVINCE_PAGES}/{page.name}">{name}</a>' in index  # the index links the page written
    # The link to the province's own report keeps the code one path segment (`/` as %2F).
    assert "../../../../provinces/..%2F..%2Fx/marts/reports/2024/index.html" in text[page_of["Tỉnh Hai Chấm"]]


def test_a_province_code_that_is_a_path_names_no_province_folder(tmp_path: Path):
    """A partition key added by hand (`..`, `a/b`, `/etc`) never becomes a folder outside provinces/."""
    for code in ("..", ".", "", "../x", "a/b", "/etc", "x\0y"):
        with pytest.raises(ValueError, match="not a folder name"):
            province_dir(tmp_path, code)
    assert province_dir(tmp_path, "O'X") == tmp_path / "provinces" / "O'X"
    assert province_dir(tmp_path, "..x") == tmp_path / "provinces" / "..x"
