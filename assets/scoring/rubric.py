"""Rubrics as data: load `config/rubrics/<year>.yaml`, validate it, and expand each agency group's variant.

The methodology changes from year to year and is owned by the evaluation team, not by programmers, so it lives
in YAML (format: docs/rubrics.md). Everything is validated before anything is scored: a typo in a rubric must
stop the run with a message naming the file and the problem, never produce a silently wrong ranking.

Run `python -m assets.scoring.rubric [config/rubrics]` to check every rubric file without scoring anything.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from assets.scoring.methods import DEFAULT_METHOD, PARAM_NAMES, MethodError, parse_params

CATALOGUE_PATH = Path(__file__).resolve().parents[1] / "indicators" / "catalogue.yaml"

# DOMAIN.md §4, used only when the indicator catalogue file is absent (the catalogue is the source of truth).
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
AGENCY_GROUPS = ("department", "district", "commune", "central")
# DOMAIN §5's classification (xếp loại), used when a rubric file gives no thresholds of its own.
DEFAULT_CLASSES = [{"label": "Tốt", "min": 80}, {"label": "Khá", "min": 65}, {"label": "Trung bình", "min": 50},
                   {"label": "Yếu", "min": 0}]
TOLERANCE = 1e-6  # point sums are compared with this slack: 0.9 × 6 is not exactly 5.4 in binary
FILE_NAME = re.compile(r"^(\d{4})\.ya?ml$")

TOP_KEYS = {"version", "year", "title", "title_vi", "title_en", "maximum", "classification", "thresholds",
            "assessed_indicators", "criteria", "groups", "notes", "description", "decision", "decimals"}
TOP_REQUIRED = {"year", "maximum", "criteria"}
CRITERION_KEYS = {"code", "name_vi", "name", "name_en", "max_points", "indicators", "note"}
ITEM_KEYS = {"code", "points", "note", "method", *PARAM_NAMES}  # parameters: assets/scoring/methods.py
CLASS_KEYS = {"label", "min"}
ASSESSED_KEYS = {"code", "name_vi", "name", "name_en", "label_vi", "label_en", "note"}
GROUP_KEYS = {"same_as", "scale", "extra_criteria", "maximum", "classification", "thresholds"}


def _alias(chk: _Checker, mapping: dict, where: str, keys: tuple[str, ...], *, required: bool = True) -> Any:
    """The value of the first of `keys` present (name_vi / name, classification / thresholds): one, not two."""
    present = [k for k in keys if k in mapping]
    if len(present) > 1:
        chk.fail(where, f"give only one of {list(present)}")
    if not present:
        if required:
            chk.fail(where, f"missing key {keys[0]!r}")
        return None
    return mapping[present[0]]


class RubricError(ValueError):
    """A rubric file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Item:
    code: str
    points: float
    target: float | None  # the `target` parameter; None for the other methods
    method: str = DEFAULT_METHOD  # assets/scoring/methods.py
    params: dict[str, Any] = field(default_factory=dict, hash=False)  # the method's parameters, defaults filled


@dataclass(frozen=True)
class Criterion:
    code: str
    name: str
    name_en: str
    max_points: float
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Variant:
    """The rubric as applied to one agency group: its criteria, maximum and classification thresholds."""

    group: str
    criteria: tuple[Criterion, ...]
    maximum: float
    classes: tuple[tuple[str, float], ...]  # (label, minimum total), highest first; the last minimum is 0


@dataclass(frozen=True)
class Rubric:
    year: int
    path: Path
    title: str
    maximum: float
    variants: dict[str, Variant]
    assessed: dict[str, dict[str, str]]
    decimals: int = 2  # totals are rounded to this many decimals for classification and rank


def known_indicator_codes(catalogue_path: Path = CATALOGUE_PATH) -> set[str]:
    """The indicator catalogue's codes (the indicator engineer's catalogue.yaml), else DOMAIN §4's list."""
    if not catalogue_path.exists():
        return set(FALLBACK_INDICATOR_CODES)
    data = yaml.safe_load(catalogue_path.read_text(encoding="utf-8"))
    entries = data.get("indicators", []) if isinstance(data, dict) else data or []
    return {str(e["code"]) for e in entries if isinstance(e, dict) and "code" in e}


def registry_groups() -> tuple[str, ...]:
    """The agency groups a rubric may declare: the standard four, then the other groups the agency registry's
    contract allows (config/sources.yaml, e.g. province, country). Interim until issue 13's typed registry makes
    the groups rubric data."""
    from assets.ingestion.contracts import load_contracts

    allowed = next((c.allowed for c in load_contracts()["agencies"].columns if c.name == "agency_group"), ())
    return (*AGENCY_GROUPS, *(str(g) for g in allowed if g not in AGENCY_GROUPS))


class _StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; a rubric must not (a 2nd `district:` hides one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise RubricError(f"duplicate key {key!r} (line {key_node.start_mark.line + 1})")
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _Checker:
    """Collects the context (file, criterion, group) so every message says where the problem is."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> None:
        prefix = f"{self.path}: {where}: " if where else f"{self.path}: "
        raise RubricError(prefix + problem)

    def mapping(self, value: Any, where: str, allowed: set[str], required: set[str]) -> dict:
        if not isinstance(value, dict):
            self.fail(where, f"expected a mapping with keys {sorted(required)}, got {value!r}")
        unknown = set(value) - allowed
        if unknown:
            self.fail(where, f"unknown key(s) {sorted(map(str, unknown))}; allowed: {sorted(allowed)}")
        missing = required - set(value)
        if missing:
            self.fail(where, f"missing key(s) {sorted(missing)}")
        return value

    def number(self, value: Any, where: str, what: str, *, positive: bool = False,
               minimum: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.fail(where, f"{what} must be a number, got {value!r}")
        if positive and value <= 0:
            self.fail(where, f"{what} must be positive, got {value!r}")
        if minimum is not None and value < minimum:
            self.fail(where, f"{what} must be >= {minimum:g}, got {value!r}")
        return float(value)

    def text(self, value: Any, where: str, what: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(where, f"{what} must be a non-empty text, got {value!r}")
        return value.strip()

    def code(self, value: Any, where: str, what: str) -> str:
        code = self.text(value, where, what)
        if not re.fullmatch(r"[a-z][a-z0-9_]*", code):
            self.fail(where, f"{what} {code!r} must be lower-case letters, digits and underscores")
        return code

    def items_list(self, value: Any, where: str, what: str) -> list:
        if not isinstance(value, list) or not value:
            self.fail(where, f"{what} must be a non-empty list")
        return value


def _criteria(chk: _Checker, raw: Any, where: str, known: set[str]) -> list[Criterion]:
    out: list[Criterion] = []
    for i, rc in enumerate(chk.items_list(raw, where, "criteria")):
        c = chk.mapping(rc, f"{where}[{i + 1}]", CRITERION_KEYS, {"code", "max_points", "indicators"})
        code = chk.code(c["code"], f"{where}[{i + 1}]", "criterion code")
        cw = f"criterion {code!r}"
        max_points = chk.number(c["max_points"], cw, "max_points", positive=True)
        items: list[Item] = []
        for j, ri in enumerate(chk.items_list(c["indicators"], cw, "indicators")):
            it = chk.mapping(ri, f"{cw}, indicator {j + 1}", ITEM_KEYS, {"code", "points"})
            icode = chk.code(it["code"], f"{cw}, indicator {j + 1}", "indicator code")
            iw = f"{cw}, indicator {icode!r}"
            if icode not in known:
                chk.fail(iw, "unknown indicator code: not in the indicator catalogue (assets/indicators/"
                         "catalogue.yaml) nor under assessed_indicators: of this file")
            points = chk.number(it["points"], iw, "points", positive=True)
            method = it.get("method", DEFAULT_METHOD)
            try:
                params = parse_params(method if isinstance(method, str) else repr(method),
                                      {k: it[k] for k in PARAM_NAMES if k in it})
            except MethodError as exc:
                chk.fail(iw, str(exc))
            items.append(Item(icode, points, params.get("target"), method, params))
        total = sum(x.points for x in items)
        if abs(total - max_points) > TOLERANCE:
            chk.fail(cw, f"indicator points add up to {total:g}, but max_points is {max_points:g}")
        name = chk.text(_alias(chk, c, cw, ("name_vi", "name")), cw, "name_vi")
        out.append(Criterion(code, name, str(c.get("name_en") or ""), max_points,
                             tuple(items)))
    return out


def _classes(chk: _Checker, raw: Any, where: str, maximum: float) -> tuple[tuple[str, float], ...]:
    classes: list[tuple[str, float]] = []
    for i, rc in enumerate(chk.items_list(raw, where, "classification")):
        c = chk.mapping(rc, f"{where}[{i + 1}]", CLASS_KEYS, CLASS_KEYS)
        label = chk.text(c["label"], f"{where}[{i + 1}]", "label")
        classes.append((label, chk.number(c["min"], f"{where}, class {label!r}", "min", minimum=0)))
    labels = [label for label, _ in classes]
    if len(set(labels)) != len(labels):
        chk.fail(where, f"duplicate classification label in {labels}")
    mins = [m for _, m in classes]
    if any(a <= b for a, b in zip(mins, mins[1:], strict=False)):
        chk.fail(where, f"thresholds out of order: list classes from the highest minimum down, strictly "
                        f"decreasing (got {', '.join(f'{lab} >= {m:g}' for lab, m in classes)})")
    if mins[-1] != 0:
        chk.fail(where, f"the last class ({labels[-1]!r}) must have min: 0 so that every total is classified")
    if mins[0] > maximum + TOLERANCE:
        chk.fail(where, f"threshold {mins[0]:g} of {labels[0]!r} is above the maximum {maximum:g}")
    return tuple(classes)


def _duplicates(codes: list[str]) -> list[str]:
    return sorted({c for c in codes if codes.count(c) > 1})


def _scaled(criteria: list[Criterion], scale: float) -> list[Criterion]:
    """Scale points and maxima (0.9 × 6 → 5.4), rounded to 9 decimals to drop binary noise."""
    return [Criterion(c.code, c.name, c.name_en, round(c.max_points * scale, 9),
                      tuple(replace(i, points=round(i.points * scale, 9)) for i in c.items))
            for c in criteria]


def load_rubric(path: Path, catalogue_path: Path = CATALOGUE_PATH) -> Rubric:
    """Parse and validate one rubric file; raises RubricError naming the file and the problem."""
    path = Path(path)
    chk = _Checker(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506 (safe loader)
    except RubricError as exc:
        raise RubricError(f"{path}: {exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RubricError(f"{path}: not valid UTF-8 YAML: {exc}") from None
    top = chk.mapping(data, "", TOP_KEYS, TOP_REQUIRED)
    title_raw = _alias(chk, top, "title", ("title", "title_vi"), required=False)
    year = top["year"]
    if isinstance(year, bool) or not isinstance(year, int):
        chk.fail("year", f"must be a year like 2016, got {year!r}")
    name = FILE_NAME.match(path.name)
    if name and int(name.group(1)) != year:
        chk.fail("year", f"the file is named for {name.group(1)} but says year: {year}")
    title = chk.text(title_raw, "title", "title") if title_raw is not None else f"Rubric {year}"
    maximum = chk.number(top["maximum"], "maximum", "maximum", positive=True)
    decimals = top.get("decimals", 2)
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 9:
        chk.fail("decimals", f"must be a whole number of decimals from 0 to 9, got {decimals!r}")

    catalogue = known_indicator_codes(catalogue_path)
    assessed: dict[str, dict[str, str]] = {}
    raw_assessed = top.get("assessed_indicators") or []
    if not isinstance(raw_assessed, list):
        chk.fail("assessed_indicators", "must be a list of indicator codes or {code, name_vi} mappings")
    for i, ra in enumerate(raw_assessed):
        aw = f"assessed_indicators[{i + 1}]"
        a = {"code": ra} if isinstance(ra, str) else chk.mapping(ra, aw, ASSESSED_KEYS, {"code"})
        code = chk.code(a["code"], aw, "indicator code")
        if code in assessed:
            chk.fail("assessed_indicators", f"duplicate indicator code {code!r}")
        name = _alias(chk, a, f"assessed indicator {code!r}", ("name_vi", "name", "label_vi"), required=False)
        assessed[code] = {"name": str(name or code), "name_en": str(a.get("name_en") or a.get("label_en") or "")}
    known = catalogue | set(assessed)

    standard = _criteria(chk, top["criteria"], "criteria", known)
    base_max = sum(c.max_points for c in standard)
    if abs(base_max - maximum) > TOLERANCE:
        chk.fail("criteria", f"criteria max_points add up to {base_max:g}, but maximum is {maximum:g}")
    raw_classes = _alias(chk, top, "classification", ("classification", "thresholds"), required=False)
    base_classes = _classes(chk, DEFAULT_CLASSES if raw_classes is None else raw_classes, "classification", maximum)

    # Groups not listed use the standard (department) criteria, as DOMAIN §5 prescribes for communes and central.
    groups = top.get("groups") or {}
    if not isinstance(groups, dict):
        chk.fail("groups", f"expected a mapping of agency groups {list(AGENCY_GROUPS)}")
    known_groups = registry_groups()
    unknown = set(groups) - set(known_groups)
    if unknown:
        chk.fail("groups", f"unknown agency group(s) {sorted(map(str, unknown))}; "
                           f"known: {list(known_groups)}")
    # The standard groups always get a variant; another group (province, country) only where a rubric declares it.
    all_groups = (*AGENCY_GROUPS, *(g for g in known_groups if g in groups and g not in AGENCY_GROUPS))
    groups = {g: groups.get(g) for g in all_groups}

    variants: dict[str, Variant] = {}
    pending: dict[str, str] = {}
    for group in all_groups:
        gw = f"groups.{group}"
        g = chk.mapping(groups[group] if groups[group] is not None else {}, gw, GROUP_KEYS, set())
        if "same_as" in g:
            if len(g) > 1:
                chk.fail(gw, "same_as cannot be combined with other keys")
            target = g["same_as"]
            if target not in all_groups or target == group:
                chk.fail(gw, f"same_as must name another agency group, got {target!r}")
            if isinstance(groups[target], dict) and "same_as" in groups[target]:
                chk.fail(gw, f"same_as {target!r}, which is itself same_as another group: "
                             "name the group directly")
            pending[group] = target
            continue
        scale = chk.number(g.get("scale", 1), gw, "scale", positive=True)
        criteria = _scaled(standard, scale) if scale != 1 else list(standard)
        if "extra_criteria" in g:
            criteria += _criteria(chk, g["extra_criteria"], f"{gw}.extra_criteria", known)
        dup = _duplicates([c.code for c in criteria])
        if dup:
            chk.fail(gw, f"duplicate criterion code(s) {dup}")
        dup = _duplicates([i.code for c in criteria for i in c.items])
        if dup:
            chk.fail(gw, f"duplicate indicator code(s) {dup}: an indicator can be scored once per group")
        group_max = round(sum(c.max_points for c in criteria), 9)
        if "maximum" in g:
            stated = chk.number(g["maximum"], gw, "maximum", positive=True)
            if abs(stated - group_max) > TOLERANCE:
                chk.fail(gw, f"criteria add up to {group_max:g} (scale {scale:g} × {maximum:g} "
                             f"+ extra criteria), but maximum is {stated:g}")
        own_classes = _alias(chk, g, gw, ("classification", "thresholds"), required=False)
        if own_classes is not None:
            classes = _classes(chk, own_classes, f"{gw}.classification", group_max)
        elif abs(group_max - maximum) > TOLERANCE:
            chk.fail(gw, f"criteria add up to {group_max:g}, not the rubric maximum {maximum:g}: "
                         "give this group its own classification thresholds")
        else:
            classes = base_classes
        variants[group] = Variant(group, tuple(criteria), group_max, classes)
    for group, target in pending.items():
        v = variants[target]
        variants[group] = Variant(group, v.criteria, v.maximum, v.classes)
    return Rubric(year, path, title, maximum, variants, assessed, decimals)


def rubric_files(rubric_dir: Path) -> dict[int, Path]:
    """`<year>.yaml` files of the directory by year; other files (README, drafts) are ignored."""
    files: dict[int, Path] = {}
    for p in sorted(Path(rubric_dir).glob("*")):
        m = FILE_NAME.match(p.name)
        if m:
            year = int(m.group(1))
            if year in files:
                raise RubricError(f"{rubric_dir}: two rubric files for {year}: "
                                  f"{files[year].name} and {p.name}")
            files[year] = p
    return files


def rubric_file_for(year: int, rubric_dir: Path) -> Path:
    """The year's own file, else the latest earlier one (a methodology stays in force until replaced)."""
    files = rubric_files(rubric_dir)
    earlier = [y for y in files if y <= year]
    if not earlier:
        first = f"the first is {min(files)}.yaml" if files else "there is none"
        raise RubricError(f"{rubric_dir}: no rubric for {year}: "
                          f"no file for {year} or an earlier year ({first})")
    return files[max(earlier)]


def rubrics_for_years(years: list[int], rubric_dir: Path, catalogue_path: Path = CATALOGUE_PATH
                      ) -> dict[int, Rubric]:
    """Validate every rubric the years need, up front, so a bad file stops the run before any row changes."""
    by_path: dict[Path, Rubric] = {}
    out: dict[int, Rubric] = {}
    for year in years:
        path = rubric_file_for(year, rubric_dir)
        if path not in by_path:
            by_path[path] = load_rubric(path, catalogue_path)
        out[year] = by_path[path]
    return out


def validate_rubric_dir(rubric_dir: Path, catalogue_path: Path = CATALOGUE_PATH) -> list[Rubric]:
    """Every rubric file of the directory (for evaluators, before a run)."""
    files = rubric_files(rubric_dir)
    if not files:
        raise RubricError(f"{rubric_dir}: no rubric files (<year>.yaml)")
    return [load_rubric(p, catalogue_path) for _, p in sorted(files.items())]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    rubric_dir = Path(args[0]) if args else Path(__file__).resolve().parents[2] / "config" / "rubrics"
    try:
        rubrics = validate_rubric_dir(rubric_dir)
    except RubricError as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 1
    for r in rubrics:
        groups = ", ".join(f"{g} {v.maximum:g} pts/{len(v.criteria)} criteria" for g, v in r.variants.items())
        print(f"OK {r.path.name}: {r.title} — {groups}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
