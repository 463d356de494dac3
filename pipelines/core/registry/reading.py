"""Reading a configuration file: one strict YAML reader (a key written twice is an error, not "the last one
wins") and one way of turning a pydantic error into `<file>: <key path>: <reason>`, in the words evaluators use
for a rubric ("criterion 'internal', indicator 'edoc_ratio': target must be positive, got 0")."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from pipelines.core import settings
from pipelines.core.registry.fields import _shown


class RegistryError(ValueError):
    """A configuration file that cannot be used; the message names the file, the key path and the reason."""


class RubricError(RegistryError):
    """A rubric file (or folder) that cannot be used; the message names the file and the problem."""


MAX_REPEATED_VALUES = 10_000  # what the aliases (*name) of one configuration file may repeat in all


class _AliasRefused(Exception):
    """An alias (*name) that would repeat too much, or its own container."""

    def __init__(self, event: yaml.AliasEvent, reason: str) -> None:
        super().__init__(reason)
        self.event = event
        self.reason = reason


class _BoundedAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a bound on aliases. Nine lines of nested aliases ("billion laughs") expand to 10⁹
    values, and every walk over the document (the duplicate-key check, the models) took minutes before any error;
    an alias to its own container made them recurse without end. An alias that repeats what it names is still read
    (PyYAML's own dumper writes one for a value used twice), up to MAX_REPEATED_VALUES values repeated in all."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._composed: set[int] = set()  # anchored nodes composed whole (an alias to another is to its container)
        self._sizes: dict[int, int] = {}
        self._repeated = 0

    def _size(self, node: yaml.Node) -> int:
        """Values in `node` with its aliases expanded (each node counted once: linear in the file)."""
        if id(node) not in self._sizes:
            if isinstance(node, yaml.SequenceNode):
                size = 1 + sum(self._size(item) for item in node.value)
            elif isinstance(node, yaml.MappingNode):
                size = 1 + sum(self._size(k) + self._size(v) for k, v in node.value)
            else:
                size = 1
            self._sizes[id(node)] = size
        return self._sizes[id(node)]

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) and event.anchor in self.anchors:  # an unknown one: PyYAML's error
            target = self.anchors[event.anchor]
            if id(target) not in self._composed:
                raise _AliasRefused(event, "names a value that contains it")
            self._repeated += self._size(target)
            if self._repeated > MAX_REPEATED_VALUES:
                raise _AliasRefused(
                    event,
                    f"the file's aliases repeat more than {MAX_REPEATED_VALUES:,} values "
                    '(nested aliases, a "billion laughs"?)',
                )
            return super().compose_node(parent, index)
        node = super().compose_node(parent, index)
        if isinstance(event, yaml.NodeEvent) and event.anchor is not None:
            self._composed.add(id(node))
        return node


def read_yaml(path: Path, error: type[RegistryError] = RegistryError) -> Any:
    """The YAML document of `path`; a key written twice in one mapping is an error (PyYAML would keep the last),
    and so is an alias (`*name`) that names its own container or makes the file's aliases repeat more than
    MAX_REPEATED_VALUES values, refused where it is written, before anything expands it."""
    try:
        loader = _BoundedAliasLoader(Path(path).read_text(encoding="utf-8"))
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _reject_duplicate_keys(path, node, "", error)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except _AliasRefused as refused:
        mark = refused.event.start_mark
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise error(
            f"{shown_path(path)}: {line}alias *{refused.event.anchor}: {refused.reason}; write the values out"
        ) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise error(f"{shown_path(path)}: not valid UTF-8 YAML: {exc}") from None


def _reject_duplicate_keys(path: Path, node: yaml.Node, where: str, error: type[RegistryError]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise error(
                    f"{shown_path(path)}: duplicate key {key!r} (line {line}) in {where or 'the top level'}, "
                    f"first given at line {seen[key]}"
                )
            seen[key] = line
            _reject_duplicate_keys(path, value_node, f"{where}.{key}" if where else key, error)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _reject_duplicate_keys(path, item, f"{where}[{i + 1}]", error)


def shown_path(path: Path) -> Path:
    """A bundled file as the project names it (config/sources.yaml); a deployment's file in full."""
    path = Path(path)
    return path.relative_to(settings.PROJECT_ROOT) if path.is_relative_to(settings.PROJECT_ROOT) else path


UNKNOWN_KEY = {"extra_forbidden", "unexpected_keyword_argument"}


MISSING = {"missing", "missing_argument"}


_PLAIN = {  # pydantic's own errors, for the few types left to it (structure: mappings and lists)
    "dict_type": "must be a mapping (key: value)",
    "model_type": "must be a mapping (key: value)",
    "dataclass_type": "must be a mapping (key: value)",
    "model_attributes_type": "must be a mapping (key: value)",
    "dataclass_exact_type": "must be a mapping (key: value)",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "string_type": "must be a text",
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
}


def _reason(err: ErrorDetails) -> str:
    if err["type"] == "egov":
        return err["msg"]
    if err["type"] == "literal_error":
        return f"must be one of {err['ctx']['expected']}, got {_shown(err.get('input'))}"
    if err["type"] in _PLAIN:
        return f"{_PLAIN[err['type']]}, got {_shown(err.get('input'))}"
    return f"{err['msg'][:1].lower()}{err['msg'][1:]}, got {_shown(err.get('input'))}"


def key_path(data: Any, loc: Iterable[Any]) -> str:
    """`sources.dossiers.columns.MaHoSo.requried`: list items are named by their `code` when they have one."""
    out, node = "", data
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int) and isinstance(node, dict):  # a mapping validated as a list (columns:)
            keys = list(node)
            part = keys[part] if part < len(keys) else part
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            code = item.get("code") if isinstance(item, dict) else None
            out += f"[{code}]" if isinstance(code, str) else f"[{part + 1}]"
            node = item
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


SINGULAR = {
    "criteria": "criterion",
    "extra_criteria": "criterion",
    "indicators": "indicator",
    "classification": "class",
    "assessed_indicators": "assessed indicator",
    "steps": "step",
    "periodic_indicators": "periodic indicator",
}


def rubric_place(data: Any, loc: tuple) -> tuple[str, str | None]:
    """(where, leaf): the place as evaluators read a rubric ("groups.district, criterion 'communes', indicator
    'commune_lan_ratio'") and the key at that place the error is about."""
    parts = [p for p in loc if p != "[key]"]
    segments: list[str] = []
    node, i = data, 0
    while i < len(parts):
        part, nxt = parts[i], parts[i + 1] if i + 1 < len(parts) else None
        child = node.get(part) if isinstance(node, dict) else None
        if isinstance(nxt, int) and part in SINGULAR:
            item = child[nxt] if isinstance(child, list) and nxt < len(child) else None
            name = next(
                (item[k] for k in ("code", "label") if isinstance(item, dict) and isinstance(item.get(k), str)), None
            )
            segment = f"{SINGULAR[part]} {name!r}" if name is not None else f"{part}[{nxt + 1}]"
            segments.append(f"classification, {segment}" if part == "classification" and name else segment)
            node, i = item, i + 2
        elif part == "groups" and isinstance(nxt, str):
            segments.append(f"groups.{nxt}")
            node, i = child.get(nxt) if isinstance(child, dict) else None, i + 2
        elif i == len(parts) - 1 and isinstance(part, int):  # an item of a plain list (uncertainty.methods.<code>)
            return ", ".join(segments[:-1] + [f"{segments[-1] if segments else ''}[{part + 1}]"]), None
        elif i == len(parts) - 1:
            return ", ".join(segments), str(part)
        else:
            segments.append(str(part))
            node, i = child, i + 1
    return ", ".join(segments), None


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, UnionType):
            tp = next((a for a in get_args(tp) if a is not type(None)), tp)
        else:
            return tp


def _keys_at(model: Any, loc: tuple) -> list[str]:
    """The keys the model allows at `loc` (for "did you mean"), or [] when the path cannot be followed."""
    tp = model
    for part in loc:
        tp = _unwrap(tp)
        fields = getattr(tp, "__pydantic_fields__", None)
        if fields is not None:
            if part not in fields:
                return []
            tp = fields[part].annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif get_origin(tp) in (tuple, list):
            tp = get_args(tp)[0]
        else:
            return []
    return list(getattr(_unwrap(tp), "__pydantic_fields__", {}))


def _unknown_key_hint(model: Any, err: ErrorDetails) -> str:
    if err.get("input") is None:
        return ' (a value with an unquoted comma inside {…}? quote the text: "…, …")'
    loc = tuple(p for p in err["loc"] if p != "[key]")
    close = difflib.get_close_matches(str(loc[-1]), _keys_at(model, loc[:-1]), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def problems(path: Path, data: Any, exc: ValidationError, model: Any, rubric: bool = False) -> str:
    """One line per problem: `<file>: <key path>: <reason>` (rubrics: `<file>: <place>: <key> <reason>`)."""
    lines = []
    path = shown_path(path)
    for err in exc.errors():
        loc = tuple(err["loc"])
        kind = err["type"]
        if rubric:
            where, leaf = rubric_place(data, loc)
            if kind in UNKNOWN_KEY:
                text = f"unknown key(s) [{leaf!r}]{_unknown_key_hint(model, err)}"
            elif kind in MISSING:
                text = f"missing key(s) [{leaf!r}]"
            elif leaf is not None and where:
                text = f"{leaf} {_reason(err)}"
            else:
                where, text = leaf or where, _reason(err)
        else:
            where = key_path(data, loc)
            text = (
                "unknown key" + _unknown_key_hint(model, err)
                if kind in UNKNOWN_KEY
                else "missing key"
                if kind in MISSING
                else _reason(err)
            )
        lines.append(f"{path}: {where}: {text}" if where else f"{path}: {text}")
    return "\n".join(dict.fromkeys(lines))


def parse(model: Any, data: Any, path: Path, error: type[RegistryError] = RegistryError, rubric: bool = False) -> Any:
    """Validate `data` (read from `path`) as `model`; errors name the file and the key path."""
    try:
        if isinstance(model, type) and issubclass(model, BaseModel):
            return model.model_validate(data)
        from pydantic import TypeAdapter

        return TypeAdapter(model).validate_python(data)
    except ValidationError as exc:
        raise error(problems(path, data, exc, model, rubric)) from None


def _stamp(*paths: Path) -> tuple:
    """What a cached load depends on: each file's size and modification time (an edit invalidates the cache)."""
    out: list[tuple[str, int | None, int | None]] = []
    for p in paths:
        try:
            st = Path(p).stat()
            out.append((str(p), st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            out.append((str(p), None, None))
    return tuple(out)


def _raise(error: type[RegistryError], path: Path, where: str, problem: str) -> None:
    path = shown_path(path)
    raise error(f"{path}: {where}: {problem}" if where else f"{path}: {problem}")
