"""The one way every layer reads a DuckDB connection (pipelines/core/queries.py): whether a table exists, and values
made JSON-safe for check samples and validation results (one rule for NaN, where two readers had two)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np

from pipelines.core.queries import has_table, json_safe, records


def test_has_table_means_a_table_or_view_an_unqualified_name_reads(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "main.duckdb"))
    con.execute("CREATE TABLE kept (x INTEGER); CREATE VIEW shown AS SELECT 1 AS x; CREATE TEMP TABLE scratch (x INT)")
    con.execute("ATTACH ? AS other", [str(tmp_path / "other.duckdb")])
    con.execute("CREATE TABLE other.elsewhere (x INTEGER)")
    assert has_table(con, "kept") and has_table(con, "shown")
    # A temporary table, another database's table and no table at all are not the database's tables.
    assert not has_table(con, "scratch") and not has_table(con, "elsewhere") and not has_table(con, "absent")
    con.close()


def test_json_safe_has_one_rule_for_nan_and_writes_strict_json():
    value = {
        "nan": float("nan"),
        "numpy_nan": np.float64("nan"),
        "inf": float("inf"),
        "minus_inf": float("-inf"),
        "decimal": Decimal("1.25"),
        "when": datetime(2024, 1, 2, 3, 4, 5),
        "day": date(2024, 1, 2),
        "rows": [1, (2, None)],
        "numpy_int": np.int64(3),
        "flag": True,
        "other": Path("a/b"),
    }
    assert json_safe(value) == {
        "nan": None,
        "numpy_nan": None,
        "inf": "inf",
        "minus_inf": "-inf",
        "decimal": 1.25,
        "when": "2024-01-02 03:04:05",
        "day": "2024-01-02",
        "rows": [1, [2, None]],
        "numpy_int": 3,
        "flag": True,
        "other": "a/b",
    }
    json.dumps(json_safe(value), allow_nan=False)  # no NaN or Infinity token: strict JSON


def test_records_are_dicts_in_column_order():
    con = duckdb.connect()
    assert records(con, "SELECT 1 AS b, ? AS a", ["x"]) == [{"b": 1, "a": "x"}]
    assert list(records(con, "SELECT 1 AS b, 2 AS a")[0]) == ["b", "a"]
    con.close()
