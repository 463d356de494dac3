"""Field types with messages for people: each says what it wants and what it got, so a wrong value in a YAML file
reads as a sentence, not as a pydantic error code. Every model forbids unknown keys (`extra="forbid"`): a typo
(`requried: true`) stops the run instead of passing silently."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

TOLERANCE = 1e-6  # point sums are compared with this slack: 0.9 × 6 is not exactly 5.4 in binary


def _fail(message: str, value: Any) -> PydanticCustomError:
    return PydanticCustomError("egov", message + ", got {got}", {"got": _shown(value)})


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail("must be a number", value)
    return float(value)


def _positive(value: Any) -> float:
    if _number(value) <= 0:
        raise _fail("must be positive", value)
    return float(value)


def _not_negative(value: Any) -> float:
    if _number(value) < 0:
        raise _fail("must be >= 0", value)
    return float(value)


def _share(value: Any) -> float:
    if not 0 <= _number(value) <= 1:
        raise _fail("must be a share between 0 and 1", value)
    return float(value)


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail("must be a whole number", value)
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail("must be true or false", value)
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail("must be a non-empty text", value)
    return value.strip()


def _code(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", value.strip()):
        raise _fail("must be a code of lower-case letters, digits and _", value)
    return value.strip()


def _colour(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"#[0-9A-Fa-f]{6}", value):
        raise _fail('must be a colour like "#1b7837"', value)
    return value


Number = Annotated[float, BeforeValidator(_number)]


Positive = Annotated[float, BeforeValidator(_positive)]


NotNegative = Annotated[float, BeforeValidator(_not_negative)]


Share = Annotated[float, BeforeValidator(_share)]


Whole = Annotated[int, BeforeValidator(_whole)]


Flag = Annotated[bool, BeforeValidator(_flag)]


Text = Annotated[str, BeforeValidator(_text)]


Code = Annotated[str, BeforeValidator(_code)]


Colour = Annotated[str, BeforeValidator(_colour)]


STRICT = ConfigDict(extra="forbid", frozen=True)


class Model(BaseModel):
    """A configuration mapping: unknown keys are errors, and the loaded object cannot be changed."""

    model_config = STRICT


def _non_empty(value: Any) -> Any:
    if isinstance(value, list) and not value:
        raise PydanticCustomError("egov", "must be a non-empty list")
    return value
