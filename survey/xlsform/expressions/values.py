"""XPath's loose typing: an unanswered question is "", numbers compare as numbers, dates as days
since 1970-01-01, and select_multiple answers are lists; a repeat's values are a NodeSet."""

from __future__ import annotations

import math
import re
from datetime import date, datetime


class NodeSet(list):
    """One question's values across a repeat's instances (or the instances themselves), as a
    reference from outside the repeat sees them. Where one value is expected, XPath takes the
    first; sum(), count(), join() and the like take them all."""


def first_node(value):
    return (value[0] if value else "") if isinstance(value, NodeSet) else value


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EPOCH = date(1970, 1, 1)


def to_number(value) -> float:
    value = first_node(value)
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return (value.date() - _EPOCH).days
    if isinstance(value, date):
        return (value - _EPOCH).days
    if isinstance(value, list):
        return to_number(value[0]) if len(value) == 1 else math.nan
    text = str(value).strip() if value is not None else ""
    if _DATE.match(text):
        try:
            return (date.fromisoformat(text) - _EPOCH).days
        except ValueError:
            return math.nan
    try:
        return float(text)
    except ValueError:
        return math.nan


def to_string(value) -> str:
    value = first_node(value)
    if value is None or isinstance(value, dict):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return " ".join(to_string(v) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_bool(value) -> bool:
    if isinstance(value, NodeSet):
        return bool(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return not (value == 0 or (isinstance(value, float) and math.isnan(value)))
    if isinstance(value, list):
        return bool(value)
    return to_string(value) != ""


def selections(value) -> list[str]:
    value = first_node(value)
    if isinstance(value, list):
        return [to_string(v) for v in value]
    return to_string(value).split()


def compare(op: str, left, right) -> bool:
    left, right = first_node(left), first_node(right)
    if op in ("=", "!="):
        if isinstance(left, bool) or isinstance(right, bool):
            equal = to_bool(left) == to_bool(right)
        elif isinstance(left, int | float) or isinstance(right, int | float):
            a, b = to_number(left), to_number(right)
            equal = a == b
        else:
            equal = to_string(left) == to_string(right)
        return equal if op == "=" else not equal
    a, b = to_number(left), to_number(right)
    if math.isnan(a) or math.isnan(b):
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
