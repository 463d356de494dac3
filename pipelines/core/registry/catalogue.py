"""The indicator catalogue (config/catalogue.yaml): codes, labels, the family SQL that computes each one, and how a
province's value is aggregated from its agencies'."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import ValidationInfo, field_validator

from pipelines.core import settings
from pipelines.core.registry.fields import Code, Flag, Model, Text, Whole, _fail
from pipelines.core.registry.reading import RegistryError, _stamp, parse, read_yaml, shown_path

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
    def _family_computes_it(cls, family: str, info: ValidationInfo) -> str:
        """The family SQL must exist and compute the code: an indicator no SQL computes would be listed, scored
        and published at 0 for every unit, without a word. Checked statically: the code as an SQL string."""
        sql = INDICATOR_SQL_DIR / f"{family}.sql"
        if not sql.is_file():
            raise _fail(f"must name an SQL file of {INDICATOR_SQL_DIR.relative_to(settings.PROJECT_ROOT)}", family)
        code = info.data.get("code")
        if code is not None and f"'{code}'" not in sql.read_text(encoding="utf-8"):
            raise _fail(
                f"{shown_path(sql)} does not compute {code!r} (the code, as an SQL string '{code}', is not "
                "in it): add its numerator and denominator there, or name the family that computes it",
                family,
            )
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
    """The indicator catalogue (docs/domain.md §4), typed; loaded again when it or a family SQL file changes."""
    return _load_catalogue(Path(path), _stamp(path, *family_sql_files()))


def family_sql_files() -> list[Path]:
    """The SQL files of assets/indicators/sql/: what the catalogue's check of each family reads."""
    return sorted(INDICATOR_SQL_DIR.glob("*.sql"))


@lru_cache(maxsize=8)
def _load_catalogue(path: Path, _stamp: tuple) -> tuple[Indicator, ...]:
    return parse(Catalogue, read_yaml(path), path).indicators


def indicator_families(indicators: tuple[Indicator, ...]) -> tuple[str, ...]:
    """The family SQL files to run (assets/indicators/sql/<family>.sql), in catalogue order: the families the
    catalogue names, so a new family is a new file and its indicators' entries, nothing else."""
    return tuple(dict.fromkeys(i.family for i in indicators))


def known_indicator_codes(catalogue_path: Path = CATALOGUE_PATH) -> set[str]:
    """The catalogue's codes (another file than the bundled one: a lenient read of its `code:` keys); a missing
    file is an error naming it, never a list of codes kept elsewhere."""
    catalogue_path = Path(catalogue_path)
    if not catalogue_path.is_file():
        raise RegistryError(f"{shown_path(catalogue_path)}: no such file (the indicator catalogue)")
    if catalogue_path == CATALOGUE_PATH:
        return {i.code for i in load_catalogue()}
    data = read_yaml(catalogue_path)
    entries = data.get("indicators", []) if isinstance(data, dict) else data or []
    return {str(e["code"]) for e in entries if isinstance(e, dict) and "code" in e}
