"""The quality thresholds (config/thresholds.yaml): when a share of quarantined rows, a missing return or an
indicator out of its bounds stops the publication."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import field_validator

from pipelines.core import settings
from pipelines.core.registry.fields import Model, Number, Share, Whole, _fail
from pipelines.core.registry.reading import _stamp, parse, read_yaml

THRESHOLDS_PATH = settings.CONFIG_DIR / "thresholds.yaml"


class Thresholds(Model):
    """config/thresholds.yaml; every key has a default (the file may leave any out)."""

    max_quarantined_share: Share = 0.05
    quarantined_share_by_source: dict[str, Share] = {}
    min_rows_for_share: Whole = 0
    required_returns: tuple[str, ...] = ("infrastructure", "capacity")
    indicator_bounds: dict[str, tuple[Number, Number]] = {"computers_per_staff": (0.0, 10.0)}
    data_docs_keep_runs: Whole = 30
    sample_rows: Whole = 5
    max_published_drop_share: Share = 0.5

    @field_validator("indicator_bounds", "quarantined_share_by_source", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("required_returns", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return () if value is None else value

    @field_validator("indicator_bounds")
    @classmethod
    def _ordered(cls, bounds: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for code, (lo, hi) in bounds.items():
            if lo > hi:
                raise _fail(f"{code}: the lower bound must not exceed the upper", [lo, hi])
        return bounds


def load_thresholds(path: Path = THRESHOLDS_PATH) -> dict[str, Any]:
    """The thresholds file over its defaults (`Thresholds`), read again once edited so an edit applies to the next
    run; a typo or a wrong type in it stops the run naming the file and key."""
    return load_threshold_model(path).model_dump()


def load_threshold_model(path: Path = THRESHOLDS_PATH) -> Thresholds:
    """The quality thresholds over their defaults; a missing file means every default. Parsed once while the file
    is unchanged (a run's steps ask for them some 40 times)."""
    path = Path(path)
    return _load_threshold_model(path, _stamp(path))


@lru_cache(maxsize=8)
def _load_threshold_model(path: Path, _stamp: tuple) -> Thresholds:
    data = read_yaml(path) if path.exists() else None
    return parse(Thresholds, data or {}, path)
