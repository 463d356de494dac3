"""The indicator catalogue (config/catalogue.yaml): codes, labels, the family SQL that computes each one, and how a
province's value is aggregated from its agencies'."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import field_validator

from pipelines.core import settings
from pipelines.core.registry.fields import Code, Flag, Model, Text, Whole, _fail
from pipelines.core.registry.reading import _stamp, parse, read_yaml

CATALOGUE_PATH = settings.CONFIG_DIR / "catalogue.yaml"


INDICATOR_SQL_DIR = settings.PROJECT_ROOT / "assets" / "indicators" / "sql"


class Indicator(Model):
    code: Code
    family: Code  # the SQL file assets/indicators/sql/<family>.sql that computes it
    label_vi: Text
    label_en: Text | None = None
    flag: Flag = False  # a 0/1 indicator, met whole (the what-if never asks for half a LAN)
    value_levels: Whole | None = None  # the value is a multiple of 1/N
    applies_to: tuple[Code, ...] | None = None  # the agency groups that get it (default: all)
    # How a province's value is aggregated from its agencies' for the ranking of provinces (docs/domain.md §8).
    national: Literal["ratio_of_sums", "mean"]

    @field_validator("family")
    @classmethod
    def _family_has_sql(cls, family: str) -> str:
        if not (INDICATOR_SQL_DIR / f"{family}.sql").is_file():
            raise _fail(f"must name an SQL file of {INDICATOR_SQL_DIR.relative_to(settings.PROJECT_ROOT)}", family)
        return family


class Catalogue(Model):
    indicators: tuple[Indicator, ...]

    @field_validator("indicators")
    @classmethod
    def _unique(cls, indicators: tuple[Indicator, ...]) -> tuple[Indicator, ...]:
        codes = [i.code for i in indicators]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise _fail("must list each code once", twice)
        return indicators


def load_catalogue(path: Path = CATALOGUE_PATH) -> tuple[Indicator, ...]:
    """The indicator catalogue (docs/domain.md §4), typed."""
    return _load_catalogue(Path(path), _stamp(path))


@lru_cache(maxsize=8)
def _load_catalogue(path: Path, _stamp: tuple) -> tuple[Indicator, ...]:
    return parse(Catalogue, read_yaml(path), path).indicators


FALLBACK_INDICATOR_CODES = (
    "svc_online_ratio", "svc_level3_ratio", "svc_level4_ratio", "dossier_online_ratio",
    "dossier_online_ratio_l3", "dossier_online_ratio_l4", "svc_with_online_dossier_ratio",
    "dossier_on_time_ratio", "dossier_paid_online_ratio", "dossier_digitized_ratio",
    "one_stop_in_software_ratio", "computers_per_staff", "internet_computer_ratio", "has_lan",
    "security_assessed", "offline_computer_secret", "security_measures", "edoc_ratio", "esign_ratio",
    "official_email_ratio", "it_staff_present", "staff_it_trained_ratio", "it_security_trained_ratio",
    "has_it_plan", "has_it_regulation", "has_it_budget", "commune_computers_ratio", "commune_lan_ratio",
    "commune_one_stop_ratio", "commune_website_ratio",
)


def known_indicator_codes(catalogue_path: Path = CATALOGUE_PATH) -> set[str]:
    """The catalogue's codes (a lenient read: `code:` keys only), else the fallback list when the file is absent."""
    catalogue_path = Path(catalogue_path)
    if not catalogue_path.exists():
        return set(FALLBACK_INDICATOR_CODES)
    if catalogue_path == CATALOGUE_PATH:
        return {i.code for i in load_catalogue()}
    data = read_yaml(catalogue_path)
    entries = data.get("indicators", []) if isinstance(data, dict) else data or []
    return {str(e["code"]) for e in entries if isinstance(e, dict) and "code" in e}
