"""The marts' data dictionary: one YAML file per marts table, `assets/marts/dictionary/<table>.yaml`, with the
table's `description:` and a description per column (`columns: {name: description}`).

Why files and not `COMMENT ON` lines in marts.sql: a table's description sits in one short file that analysts and
developers read and edit alone, and the comments are written from it at publish time (`comment_statements`), so
the published file's `duckdb_tables().comment` and `duckdb_columns().comment` say what the dictionary says.
`check_described` runs first: a marts table or column without a description, or a description of a column the table
does not have, stops the publish naming the file and the key, so the dictionary cannot drift from marts.sql. Views
are described like tables (`COMMENT ON TABLE` accepts a view): an analyst reads them alike.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import duckdb

from pipelines.core.registry.fields import Model, Text
from pipelines.core.registry.reading import RegistryError, _raise, _stamp, parse, read_yaml
from pipelines.core.sql import sql_identifier, sql_literal

DICTIONARY_DIR = Path(__file__).parent / "dictionary"


class TableDescription(Model):
    """One marts table: what it holds, and each column's meaning."""

    description: Text
    columns: dict[str, Text]


def dictionary_files(folder: Path = DICTIONARY_DIR) -> list[Path]:
    return sorted(Path(folder).glob("*.yaml"))


def load_dictionary(folder: Path = DICTIONARY_DIR) -> dict[str, TableDescription]:
    """table → its description, from `<folder>/<table>.yaml` (read strictly: a key written twice, an unknown key or
    an empty description is an error naming the file and the key)."""
    return _load_dictionary(Path(folder), _stamp(*dictionary_files(folder)))


@lru_cache(maxsize=4)
def _load_dictionary(folder: Path, _stamp: tuple) -> dict[str, TableDescription]:
    return {path.stem: parse(TableDescription, read_yaml(path), path) for path in dictionary_files(folder)}


def check_described(
    con: duckdb.DuckDBPyConnection,
    database: str,
    dictionary: dict[str, TableDescription],
    folder: Path = DICTIONARY_DIR,
) -> None:
    """Raise RegistryError unless the dictionary describes exactly the tables and views of `database` and their
    columns (a view is read like a table: scorecard_766_dossiers is one)."""
    built: dict[str, list[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = ? AND table_name IN "
        "(SELECT table_name FROM duckdb_tables() WHERE database_name = ? UNION ALL "
        "SELECT view_name FROM duckdb_views() WHERE database_name = ? AND NOT internal) "
        "ORDER BY table_name, column_index",
        [database, database, database],
    ).fetchall():
        built.setdefault(table, []).append(column)
    for table, columns in built.items():
        path = folder / f"{table}.yaml"
        if table not in dictionary:
            _raise(
                RegistryError,
                path,
                "",
                f"missing: the marts table {table} needs its data dictionary here "
                "(description: and columns: with a description of each column)",
            )
        described = dictionary[table].columns
        for column in columns:
            if column not in described:
                _raise(
                    RegistryError,
                    path,
                    f"columns.{column}",
                    f"missing: the marts table {table} has this column; describe it",
                )
        for column in described:
            if column not in columns:
                _raise(
                    RegistryError,
                    path,
                    f"columns.{column}",
                    f"the marts table {table} has no such column (its columns: {', '.join(columns)})",
                )
    for table in dictionary:
        if table not in built:
            _raise(
                RegistryError,
                folder / f"{table}.yaml",
                "",
                f"there is no marts table {table} (marts.sql makes {', '.join(sorted(built))})",
            )


def comment_statements(dictionary: dict[str, TableDescription], database: str = "m") -> list[str]:
    """`COMMENT ON TABLE` and `COMMENT ON COLUMN` statements that write the dictionary into `database` (COMMENT takes
    no bound parameter: the texts are literals, quotes doubled, and the names quoted identifiers)."""
    statements = []
    for table, entry in dictionary.items():
        name = f"{sql_identifier(database)}.{sql_identifier(table)}"
        statements.append(f"COMMENT ON TABLE {name} IS {sql_literal(entry.description)}")
        statements += [
            f"COMMENT ON COLUMN {name}.{sql_identifier(column)} IS {sql_literal(text)}"
            for column, text in entry.columns.items()
        ]
    return statements


def describe_marts(con: duckdb.DuckDBPyConnection, database: str = "m", folder: Path = DICTIONARY_DIR) -> int:
    """Check the dictionary against the tables of `database`, then write it as their comments; returns how many
    comments were written."""
    dictionary = load_dictionary(folder)
    check_described(con, database, dictionary, folder)
    statements = comment_statements(dictionary, database)
    for sql in statements:
        con.execute(sql)
    return len(statements)
