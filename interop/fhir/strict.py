"""JSON types of FHIR primitives, checked the way the FHIR JSON format states them.

``fhir.resources`` coerces: it accepts ``"0.62"`` (a string) for a decimal, ``"3"`` for an
integer and ``"true"`` for a boolean, so a Bundle it passes can still be refused by an EHR.
This walks a resource alongside the R4 (R4B) model classes and reports every decimal,
integer or boolean element written as a string (FHIR JSON: numbers and booleans are JSON
numbers and booleans, never strings).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

_COMPLEX = re.compile(r"abc\.(\w+)Type")
_NUMBER = ("decimal.Decimal", "int", "PositiveInt", "UnsignedInt", "Integer")


@lru_cache(maxsize=512)
def _fields(class_name: str) -> dict[str, tuple[str, str | None]]:
    """alias -> (kind: number / boolean / complex / other, complex class name)."""
    out: dict[str, tuple[str, str | None]] = {}
    for name, field in get_fhir_model_class(class_name).model_fields.items():
        text = repr(field.annotation)
        complex_match = _COMPLEX.search(text)
        if complex_match and complex_match.group(1) not in ("FHIRPrimitiveExtension",):
            kind, target = "complex", complex_match.group(1)
        elif "bool" in text:
            kind, target = "boolean", None
        elif any(t in text for t in _NUMBER):
            kind, target = "number", None
        else:
            kind, target = "other", None
        out[field.alias or name] = (kind, target)
    return out


def type_errors(data: Any, class_name: str | None = None, path: str = "") -> list[str]:
    """Every primitive of the wrong JSON type in a resource (or element), by path."""
    if not isinstance(data, dict):
        return []
    class_name = class_name or str(data.get("resourceType"))
    path = path or class_name
    try:
        fields = _fields(class_name)
    except (KeyError, ValueError, LookupError):
        return []
    errors = []
    for key, value in data.items():
        kind, target = fields.get(key, ("other", None))
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            where = f"{path}.{key}" + (f"[{index}]" if isinstance(value, list) else "")
            if kind == "number" and (isinstance(item, (str, bool))):
                errors.append(f"{where}: a number is expected, not {item!r}")
            elif kind == "boolean" and not isinstance(item, bool):
                errors.append(f"{where}: true or false is expected, not {item!r}")
            elif kind == "complex":
                nested = item.get("resourceType") if isinstance(item, dict) else None
                errors += type_errors(item, nested or target, where)
    return errors
