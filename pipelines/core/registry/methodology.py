"""The standard agency groups, classes and palette (config/methodology.yaml), and the groups of a data directory:
the standard ones plus those its rubrics declare."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import field_validator

from pipelines.core import settings
from pipelines.core.registry.fields import TOLERANCE, Code, Colour, Model, NotNegative, Text, Whole, _non_empty
from pipelines.core.registry.reading import RegistryError, _raise, _stamp, parse, read_yaml

if TYPE_CHECKING:  # only for annotations: rubrics import this module
    from pipelines.core.registry.rubrics import Rubric

METHODOLOGY_PATH = settings.CONFIG_DIR / "methodology.yaml"


class GroupLabels(Model):
    """How a group is shown: every key optional in a rubric (the code and the palette stand in)."""

    order: Whole | None = None
    label_vi: Text | None = None
    label_en: Text | None = None
    sheet: Text | None = None
    colour: Colour | None = None


class ClassSpec(Model):
    label: Text
    min: NotNegative
    colour: Colour | None = None  # badge and chart colour in the HTML report
    fill: Colour | None = None  # row background in the workbook


class Methodology(Model):
    agency_groups: dict[Code, GroupLabels]
    classification: tuple[ClassSpec, ...]
    palette: tuple[Colour, ...]

    @field_validator("classification", "palette", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return _non_empty(value)


@dataclass(frozen=True)
class AgencyGroup:
    """A group of ranked units (ranks are per group): its code and how reports show it."""

    code: str
    order: int
    label_vi: str
    label_en: str
    sheet: str
    colour: str


def load_methodology(path: Path = METHODOLOGY_PATH) -> Methodology:
    """The standard agency groups, the default classification and the palette (config/methodology.yaml)."""
    return _load_methodology(Path(path), _stamp(path))


@lru_cache(maxsize=8)
def _load_methodology(path: Path, _stamp: tuple) -> Methodology:
    methodology = parse(Methodology, read_yaml(path), path)
    check_classes(
        lambda where, problem: _raise(RegistryError, path, where, problem),
        methodology.classification,
        "classification",
        math.inf,
    )
    return methodology


def tint(colour: str, white: float = 0.75) -> str:
    """`colour` mixed with white: the light row fill of a class that names only its badge colour."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * white):02X}" for c in rgb)


def class_colours(classes: tuple[ClassSpec, ...], defaults: tuple[ClassSpec, ...]) -> dict[str, tuple[str, str]]:
    """label → (colour, fill): a class's own colours, else the default class of that label's, else those of the
    default class at the same rank (best to worst), so "Đạt" / "Chưa đạt" read green / red."""
    by_label = {d.label: d for d in defaults}
    out = {}
    for i, c in enumerate(classes):
        rank = round(i * (len(defaults) - 1) / (len(classes) - 1)) if len(classes) > 1 else 0
        base = by_label.get(c.label, defaults[rank])
        colour = c.colour or base.colour or "#777777"
        fill = c.fill or (base.fill if not c.colour and base.fill else tint(colour))
        out[c.label] = (colour, fill)
    return out


def agency_groups(methodology: Methodology, rubrics: Iterable[Rubric]) -> tuple[AgencyGroup, ...]:
    """The standard groups, then those the rubrics declare (the latest rubric's labels win); a group without a
    label is shown by its code, without a colour in the palette's."""
    specs = {code: g.model_dump(exclude_none=True) for code, g in methodology.agency_groups.items()}
    for rubric in sorted(rubrics, key=lambda r: r.year):
        for code, g in rubric.groups.items():
            specs.setdefault(code, {}).update(g.model_dump(exclude_none=True))
    last = max((s["order"] for s in specs.values() if "order" in s), default=0)
    out = []
    for i, (code, s) in enumerate(specs.items()):
        if "order" not in s:  # after the groups that have one, in the order they are declared
            last += 1
        order = s.get("order", last)
        label = s.get("label_vi", code)
        out.append(
            AgencyGroup(
                code,
                order,
                label,
                s.get("label_en", label),
                s.get("sheet", label),
                s.get("colour", methodology.palette[i % len(methodology.palette)]),
            )
        )
    return tuple(sorted(out, key=lambda g: (g.order, g.code)))


def standard_agency_groups() -> tuple[AgencyGroup, ...]:
    """The groups of config/methodology.yaml alone (bundled: needs no data directory)."""
    return agency_groups(load_methodology(), [])


def check_classes(
    fail: Callable[[str, str], None], classes: Iterable[ClassSpec], where: str, maximum: float
) -> tuple[tuple[str, float], ...]:
    out = tuple((c.label, c.min) for c in classes)
    labels = [label for label, _ in out]
    if len(set(labels)) != len(labels):
        fail(where, f"duplicate classification label in {labels}")
    mins = [m for _, m in out]
    if any(a <= b for a, b in zip(mins, mins[1:], strict=False)):
        fail(
            where,
            "thresholds out of order: list classes from the highest minimum down, strictly decreasing "
            f"(got {', '.join(f'{lab} >= {m:g}' for lab, m in out)})",
        )
    if mins[-1] != 0:
        fail(where, f"the last class ({labels[-1]!r}) must have min: 0 so that every total is classified")
    if mins[0] > maximum + TOLERANCE:
        fail(where, f"threshold {mins[0]:g} of {labels[0]!r} is above the maximum {maximum:g}")
    return out
