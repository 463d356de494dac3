"""Quoting for the SQL the project builds: names of files, folders and codes come from data and must never end a
literal or an identifier. Bind values with `?` wherever DuckDB allows it; these are for where it does not."""

from __future__ import annotations

import os


def sql_literal(value: str | os.PathLike[str] | int | float) -> str:
    """`value` as a SQL literal, where a statement cannot take a bound parameter (a view, a generated expression):
    text and paths in single quotes with every `'` doubled, so a folder, file or code named `O'X` or
    `Z'; COPY ... --` stays one value and never ends the statement; numbers as written. Bind values (`?`) where
    DuckDB allows it (values, ATTACH and COPY paths)."""
    if isinstance(value, str | os.PathLike):
        return "'" + os.fspath(value).replace("'", "''") + "'"
    if isinstance(value, int | float):
        return str(value)
    raise TypeError(f"no SQL literal for a {type(value).__name__}")


def sql_identifier(name: str) -> str:
    """`name` as a quoted SQL identifier (a table, column or attached database), every `"` doubled: names read
    from files, catalogues or codes cannot end the identifier."""
    return '"' + name.replace('"', '""') + '"'
