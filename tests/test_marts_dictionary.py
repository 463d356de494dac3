"""The marts' data dictionary (assets/marts/dictionary/<table>.yaml): written into the published file as its
comments, quoted as SQL quotes; a table or column it does not describe, or describes wrongly, stops the publish
naming the file and the key. The end-to-end check on a published file is in test_pipeline.py."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from assets.marts.dictionary import DICTIONARY_DIR, describe_marts, load_dictionary
from pipelines.core.registry.reading import RegistryError


def marts_with_one_table(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"ATTACH '{tmp_path / 'm.duckdb'}' AS m")
    con.execute("CREATE TABLE m.units (unit_code VARCHAR, total DOUBLE)")
    return con


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_dictionary_becomes_the_comments_with_quotes_kept(tmp_path: Path):
    folder = tmp_path / "dictionary"
    write(
        folder,
        "units.yaml",
        "description: 'The units'' totals: -- not a comment; DROP TABLE m.units'\n"
        "columns:\n  unit_code: \"Unit code ('*' = all)\"\n  total: Total, rounded\n",
    )
    con = marts_with_one_table(tmp_path)
    assert describe_marts(con, "m", folder) == 3
    assert con.execute("SELECT comment FROM duckdb_tables() WHERE database_name = 'm'").fetchall() == [
        ("The units' totals: -- not a comment; DROP TABLE m.units",)
    ]
    assert con.execute(
        "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = 'm' AND "
        "table_name = 'units' ORDER BY column_index"
    ).fetchall() == [("unit_code", "Unit code ('*' = all)"), ("total", "Total, rounded")]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"units.yaml": "description: Units\ncolumns:\n  unit_code: Unit code\n"},
            "units.yaml: columns.total: missing: the marts table units has this column; describe it",
        ),
        (
            {"units.yaml": "description: Units\ncolumns:\n  unit_code: Unit code\n  total: Total\n  totl: Total\n"},
            "units.yaml: columns.totl: the marts table units has no such column (its columns: unit_code, total)",
        ),
        (
            {},
            "units.yaml: missing: the marts table units needs its data dictionary here (description: and columns: with "
            "a description of each column)",
        ),
        (
            {
                "units.yaml": "description: Units\ncolumns:\n  unit_code: Unit code\n  total: Total\n",
                "unit_names.yaml": "description: Names\ncolumns:\n  unit_code: Unit code\n",
            },
            "unit_names.yaml: there is no marts table unit_names (marts.sql makes units)",
        ),
        (
            {"units.yaml": "description: Units\ncolumns:\n  unit_code: Unit code\n  total: ''\n"},
            "units.yaml: columns.total: must be a non-empty text, got ''",
        ),
        (
            {"units.yaml": "descripton: Units\ncolumns:\n  unit_code: Unit code\n  total: Total\n"},
            "units.yaml: descripton: unknown key (did you mean 'description'?)",
        ),
    ],
)
def test_a_table_or_column_the_dictionary_does_not_describe_stops_the_publish(
    tmp_path: Path, files: dict, message: str
):
    folder = tmp_path / "dictionary"
    folder.mkdir()
    for name, text in files.items():
        write(folder, name, text)
    con = marts_with_one_table(tmp_path)
    with pytest.raises(RegistryError) as err:
        describe_marts(con, "m", folder)
    assert f"{folder}/{message}" in str(err.value).splitlines()
    assert con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE database_name = 'm' AND comment IS NOT NULL AND comment <> ''"
    ).fetchall() == [(0,)]


def test_every_bundled_dictionary_file_is_a_table_description():
    dictionary = load_dictionary()
    assert sorted(dictionary) == sorted(p.stem for p in DICTIONARY_DIR.glob("*.yaml"))
    assert {"rankings", "agencies", "indicators", "quarantine", "data_quality"} <= set(dictionary)
    assert dictionary["rankings"].columns["rank"] == (
        "Rank (Xếp hạng) within year and group by rounded total, competition style (1, 2, 2, 4)"
    )


def test_a_view_is_described_like_a_table(tmp_path: Path):
    folder = tmp_path / "dictionary"
    write(folder, "units.yaml", "description: Units\ncolumns:\n  unit_code: Unit code\n  total: Total\n")
    con = marts_with_one_table(tmp_path)
    con.execute("CREATE VIEW m.unit_names AS SELECT unit_code FROM m.units")
    with pytest.raises(RegistryError) as err:
        describe_marts(con, "m", folder)
    assert f"{folder}/unit_names.yaml: missing: the marts table unit_names needs its data dictionary here" in str(
        err.value
    )
    write(folder, "unit_names.yaml", "description: Names of the units\ncolumns:\n  unit_code: Unit code\n")
    assert describe_marts(con, "m", folder) == 5
    assert con.execute("SELECT comment FROM duckdb_views() WHERE database_name = 'm'").fetchall() == [
        ("Names of the units",)
    ]
    assert con.execute(
        "SELECT comment FROM duckdb_columns() WHERE database_name = 'm' AND table_name = 'unit_names'"
    ).fetchall() == [("Unit code",)]
