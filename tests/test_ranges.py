"""Value ranges as data (issue 26): an assessed indicator's range comes from the rubric of the deployment that scores
it (`assessed_indicators: {code, min, max}`), checked at ingestion for the rubric's year, with the thresholds file
only as the default; two deployments of one installation each check their own codes, and a negative value is
valid where the declared range allows it."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import write_csv

from assets.ingestion.load import ingest
from pipelines.core.registry.sources import load_sources
from pipelines.core.warehouse import connect

ENGINE = Path(__file__).parent / "fixtures" / "engine"
HEADER = ["year", "agency_code", "indicator_code", "value"]


def deployment(base: Path, rubric: str) -> Path:
    """A data directory with its own rubric folder (a copy of a test-owned rubric) and a small agency registry."""
    shutil.copytree(ENGINE / rubric, base / "rubrics")
    write_csv(
        base / "raw" / "agencies" / "don_vi.csv",
        ["agency_code", "agency_name", "agency_group", "parent_code", "valid_from", "valid_to", "successor_code"],
        [
            ["U1", "Đơn vị 1", "department", "", "", "", ""],
            ["U2", "Đơn vị 2", "department", "", "", "", ""],
            ["U3", "Đơn vị 3", "department", "", "", "", ""],
        ],
    )
    return base


def load_assessments(base: Path, rows: list[list[object]]) -> duckdb.DuckDBPyConnection:
    write_csv(base / "raw" / "assessments" / "2024" / "cham_diem.csv", HEADER, rows)
    con = connect(base / "warehouse" / "egov.duckdb")
    ingest(con, load_sources()["agencies"], base / "raw", None)
    ingest(con, load_sources()["assessments"], base / "raw", 2024)
    return con


def loaded(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], float]:
    return {
        (a, i): v
        for a, i, v in con.execute("SELECT agency_code, indicator_code, value FROM stg_assessments").fetchall()
    }


def quarantined(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "SELECT line, rule, reason FROM quarantine WHERE source = 'assessments' ORDER BY line"
    ).fetchall()


def test_assessed_range_from_the_rubric_inside_at_the_bounds_and_outside(tmp_path: Path):
    base = deployment(tmp_path / "data", "direction")  # days: [0, 365], cost: [0, 1000]
    con = load_assessments(
        base,
        [
            [2024, "U1", "days", "12.5"],  # inside
            [2024, "U2", "days", "0"],  # at the lower bound
            [2024, "U3", "days", "365"],  # at the upper bound
            [2024, "U1", "cost", "1000"],
            [2024, "U2", "cost", "1000.5"],  # outside: above the rubric's max
            [2024, "U3", "cost", "-1"],  # outside: below its min
            [2024, "U3", "other_share", "1.5"],  # not declared by the rubric: a ratio, [0, 1]
        ],
    )
    assert loaded(con) == {("U1", "days"): 12.5, ("U2", "days"): 0.0, ("U3", "days"): 365.0, ("U1", "cost"): 1000.0}
    rubric = base / "rubrics" / "2024.yaml"
    assert quarantined(con) == [
        (6, "out_of_range", f"value 1000.5 is outside [0, 1000] for indicator cost (assessed_indicators of {rubric})"),
        (7, "out_of_range", f"value -1 is outside [0, 1000] for indicator cost (assessed_indicators of {rubric})"),
        (8, "out_of_range", "value 1.5 is outside [0, 1] for indicator other_share"),
    ]
    con.close()


def test_two_deployments_of_one_installation_check_their_own_assessed_codes(tmp_path: Path):
    rows = [[2024, "U1", "days", "200"], [2024, "U2", "gdp_growth", "-3.25"]]
    speed = load_assessments(deployment(tmp_path / "speed", "direction"), rows)
    growth = load_assessments(deployment(tmp_path / "growth", "growth"), rows)
    # each deployment's rubric declares its own code; the other's code is a ratio there, in [0, 1]
    assert loaded(speed) == {("U1", "days"): 200.0}
    assert [r[2] for r in quarantined(speed)] == ["value -3.25 is outside [0, 1] for indicator gdp_growth"]
    assert loaded(growth) == {("U2", "gdp_growth"): -3.25}  # negative, and valid: the range allows it
    assert [r[2] for r in quarantined(growth)] == ["value 200 is outside [0, 1] for indicator days"]
    speed.close()
    growth.close()


def test_bounds_in_the_thresholds_file_for_codes_the_deployment_does_not_use_are_ignored(tmp_path: Path, monkeypatch):
    """The thresholds file of an installation serving two deployments may bound one's assessed code; the other
    deployment, whose rubrics do not know it, loads (before: 'unknown indicator code', and nothing ran)."""
    import pipelines.core.registry as registry_module
    from pipelines.core.registry.thresholds import load_threshold_model

    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text(
        "indicator_bounds:\n  computers_per_staff: [0, 10]\n  gdp_growth: [-50, 50]\n", encoding="utf-8"
    )
    monkeypatch.setattr(registry_module, "load_threshold_model", lambda: load_threshold_model(thresholds))
    base = deployment(tmp_path / "speed", "direction")  # its rubric assesses days and cost, not gdp_growth
    ranges = registry_module.load_registry(base).value_ranges(2024)
    assert (ranges["days"][:2], ranges["cost"][:2]) == ((0.0, 365.0), (0.0, 1000.0))


@pytest.mark.slow  # a Great Expectations suite
def test_a_negative_assessed_value_passes_the_indicator_checks_a_negative_count_does_not(tmp_path: Path):
    """numerator_not_negative holds for counts (source computed); an assessed value (numerator = value) is checked
    against its declared range only: GDP growth −3.25 in [−50, 50] passes, a count of −2 dossiers is critical."""
    import pandas as pd

    from expectations.gx_runner import validate_frames
    from pipelines.core.registry import load_registry

    registry = load_registry(deployment(tmp_path / "growth", "growth"))
    frame = pd.DataFrame(
        {
            "year": [2024, 2024],
            "agency_code": ["U1", "U2"],
            "indicator_code": ["gdp_growth", "dossier_online_ratio"],
            "numerator": [-3.25, -2.0],
            "denominator": [1.0, 10.0],
            "value": [-3.25, -0.2],
            "source": ["assessment", "computed"],
        }
    )
    result = validate_frames({"indicators": frame}, tmp_path / "docs", registry=registry)["indicators"]
    failed = {f["name"]: f["unexpected_count"] for f in result["failed_expectations"]}
    assert failed == {"numerator_not_negative": 1, "ratio_value_in_0_1": 1}  # U2's count and its ratio only
