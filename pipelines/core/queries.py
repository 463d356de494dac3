"""Reading a DuckDB connection, each rule written once for every layer (the checks, the marts' readers, the reports):

- `records`: a query's rows as dicts keyed by column name;
- `has_table`: whether a table or view exists, in one sense everywhere;
- `json_safe`: a value from a query or a data frame as JSON can hold it, with one rule for NaN.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb

__all__ = ["has_table", "json_safe", "records"]


def records(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """The rows of `sql` (bound `params`) as dicts in column order."""
    cur = con.execute(sql, params or [])
    columns = [d[0] for d in cur.description or []]
    return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the connection's current database holds a table or view `name` (what an unqualified name reads):
    not a temporary one, nor one of another attached database."""
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_catalog = current_database()",
        [name],
    ).fetchone()
    return bool(found and found[0])


def json_safe(value: Any) -> Any:
    """`value` as JSON holds it: NaN → None (JSON has no NaN; in a data frame it is a missing value, and NaN never
    reaches the staging tables), ±inf → "inf"/"-inf" (a real overflow, kept visible), dates in ISO form with a
    space as DuckDB prints them, decimals and NumPy scalars as numbers, lists and dicts item by item, anything else
    as text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(value) if math.isinf(value) else value
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return json_safe(float(value))
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if hasattr(value, "item"):  # NumPy and pandas scalars
        try:
            return json_safe(value.item())
        except (ValueError, TypeError):
            pass
    return str(value)
