"""The functions an expression may call: XPath's and the ODK XForms spec's that need no device
(https://getodk.github.io/xforms-spec/#xpath-functions). Each is (minimum arguments, maximum
arguments, implementation); an implementation takes the evaluation context and the argument trees."""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import random
import re
import uuid
from datetime import date, datetime, timedelta

from survey import clock
from survey.xlsform.expressions.values import (
    NodeSet,
    first_node,
    selections,
    to_bool,
    to_number,
    to_string,
)


def _fn_if(ctx, args):
    return ctx.eval(args[1]) if to_bool(ctx.eval(args[0])) else ctx.eval(args[2])


def _fn_coalesce(ctx, args):
    first = ctx.eval(args[0])
    return first if to_string(first) != "" else ctx.eval(args[1])


def _fn_regex(ctx, args):
    pattern = to_string(ctx.eval(args[1]))
    try:
        return re.search(pattern, to_string(ctx.eval(args[0]))) is not None
    except re.error:
        return False


def _fn_round(ctx, args):
    number = to_number(ctx.eval(args[0]))
    places = int(to_number(ctx.eval(args[1]))) if len(args) > 1 else 0
    if math.isnan(number):
        return math.nan
    factor = 10**places
    # XPath rounds halves up, not to even
    return math.floor(number * factor + 0.5) / factor


def _fn_int(ctx, args):
    number = to_number(ctx.eval(args[0]))
    return math.nan if math.isnan(number) else float(math.trunc(number))


def _fn_number(ctx, args):
    return to_number(ctx.eval(args[0]))


def _fn_today(ctx, args):
    return ctx.today.isoformat()


def _math(function):
    """An XPath maths function of the ODK XForms spec: NaN outside its domain, as a device does."""

    def call(ctx, args):
        numbers = [to_number(ctx.eval(a)) for a in args]
        try:
            value = function(*numbers)
        except (ValueError, OverflowError, ZeroDivisionError):
            return math.nan
        return float(value) if not isinstance(value, complex) else math.nan

    return call


MATH_FUNCTIONS = {
    "pow": (2, 2, _math(math.pow)),
    "sqrt": (1, 1, _math(math.sqrt)),
    "exp": (1, 1, _math(math.exp)),
    "exp10": (1, 1, _math(lambda x: 10.0**x)),
    "log": (1, 1, _math(math.log)),
    "log10": (1, 1, _math(math.log10)),
    "abs": (1, 1, _math(abs)),
    "sin": (1, 1, _math(math.sin)),
    "cos": (1, 1, _math(math.cos)),
    "tan": (1, 1, _math(math.tan)),
    "asin": (1, 1, _math(math.asin)),
    "acos": (1, 1, _math(math.acos)),
    "atan": (1, 1, _math(math.atan)),
    "atan2": (2, 2, _math(math.atan2)),
    "pi": (0, 0, _math(lambda: math.pi)),
    "floor": (1, 1, _math(math.floor)),
    "ceiling": (1, 1, _math(math.ceil)),
}


def _nodes(ctx, node) -> list:
    value = ctx.eval(node)
    if isinstance(value, NodeSet):
        return list(value)
    return [] if value == "" else [value]


def _numbers(ctx, args) -> list[float]:
    values = _nodes(ctx, args[0]) if len(args) == 1 else [ctx.eval(a) for a in args]
    return [to_number(v) for v in values]


def _extreme(pick):
    def call(ctx, args):
        numbers = _numbers(ctx, args)
        return math.nan if not numbers or any(map(math.isnan, numbers)) else pick(numbers)

    return call


def _texts(ctx, args) -> list[str]:
    return [to_string(ctx.eval(a)) for a in args]


def _fn_substr(ctx, args):
    text = to_string(ctx.eval(args[0]))
    start = to_number(ctx.eval(args[1]))
    end = to_number(ctx.eval(args[2])) if len(args) > 2 else len(text)
    if math.isnan(start) or math.isnan(end):
        return ""
    return text[max(0, int(start)) : max(0, int(end))]


def _fn_translate(ctx, args):
    text, source, target = _texts(ctx, args)
    table = {
        ord(c): (target[i] if i < len(target) else None)
        for i, c in reversed(list(enumerate(source)))
    }
    return text.translate(table)


def _fn_selected_at(ctx, args):
    picked = selections(ctx.eval(args[0]))
    index = to_number(ctx.eval(args[1]))
    return picked[int(index)] if not math.isnan(index) and 0 <= index < len(picked) else ""


def _fn_choice_name(ctx, args):
    value = to_string(ctx.eval(args[0]))
    path = to_string(ctx.eval(args[1]))
    name = re.sub(r"^\$\{\s*|\s*\}$", "", path).rsplit("/", 1)[-1]
    label = getattr(ctx.lookup, "choice_label", None)
    return label(name, value) if label and value else ""


def _moment(value) -> datetime | None:
    """A date or date-time from an answer: 'YYYY-MM-DD', 'YYYY-MM-DDTHH:MM[:SS]', or days since
    1970-01-01 as XPath counts them."""
    value = first_node(value)
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = to_string(value).strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        number = to_number(text)
        if math.isnan(number):
            return None
        return datetime(1970, 1, 1) + timedelta(days=number)


def _fn_date(ctx, args):
    moment = _moment(ctx.eval(args[0]))
    return moment.date().isoformat() if moment else ""


def _fn_date_time(ctx, args):
    moment = _moment(ctx.eval(args[0]))
    return moment.isoformat(timespec="seconds") if moment else ""


def _fn_decimal_date_time(ctx, args):
    moment = _moment(ctx.eval(args[0]))
    return (moment - datetime(1970, 1, 1)) / timedelta(days=1) if moment else math.nan


def _fn_decimal_time(ctx, args):
    match = re.match(r"^(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?", to_string(ctx.eval(args[0])))
    if not match:
        return math.nan
    hours, minutes, seconds = int(match[1]), int(match[2]), float(match[3] or 0)
    return (hours * 3600 + minutes * 60 + seconds) / 86400


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _fn_format_date(ctx, args):
    moment = _moment(ctx.eval(args[0]))
    if moment is None:
        return ""
    parts = {
        "Y": f"{moment.year:04d}",
        "y": f"{moment.year % 100:02d}",
        "m": f"{moment.month:02d}",
        "n": str(moment.month),
        "b": _MONTHS[moment.month - 1],
        "d": f"{moment.day:02d}",
        "e": str(moment.day),
        "a": _DAYS[moment.weekday()],
        "H": f"{moment.hour:02d}",
        "h": str(moment.hour),
        "M": f"{moment.minute:02d}",
        "S": f"{moment.second:02d}",
        "3": f"{moment.microsecond // 1000:03d}",
    }
    return re.sub(r"%(.)", lambda m: parts.get(m[1], m[0]), to_string(ctx.eval(args[1])))


def _fn_checklist(ctx, args, weighted=False):
    low, high = to_number(ctx.eval(args[0])), to_number(ctx.eval(args[1]))
    rest = args[2:]
    if weighted:
        total = sum(
            to_number(ctx.eval(w))
            for v, w in zip(rest[::2], rest[1::2], strict=False)
            if to_bool(ctx.eval(v))
        )
    else:
        total = sum(1 for v in rest if to_bool(ctx.eval(v)))
    return (low == -1 or total >= low) and (high == -1 or total <= high)


def _fn_indexed_repeat(ctx, args):
    values = _nodes(ctx, args[0])
    index = to_number(ctx.eval(args[2]))
    return values[int(index) - 1] if not math.isnan(index) and 1 <= index <= len(values) else ""


def _fn_digest(ctx, args):
    text, algorithm = _texts(ctx, args[:2])
    encoding = to_string(ctx.eval(args[2])).lower() if len(args) > 2 else "base64"
    name = algorithm.lower().replace("-", "")
    if name not in ("md5", "sha1", "sha256", "sha384", "sha512"):
        return ""
    raw = hashlib.new(name, text.encode()).digest()
    return raw.hex() if encoding == "hex" else base64.b64encode(raw).decode()


def _fn_base64_decode(ctx, args):
    try:
        return base64.b64decode(to_string(ctx.eval(args[0])), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""


def _fn_pulldata(ctx, args):
    """pulldata('file', 'column', 'key column', key): from a file uploaded with the form (the
    scope's `pull`); "" when it was not uploaded (the load notes say so)."""
    pull = getattr(ctx.lookup, "pull", None)
    file, column, key_column = _texts(ctx, args[:3])
    return pull(file, column, key_column, to_string(ctx.eval(args[3]))) if pull else ""


# The ODK XForms functions that need no device (https://getodk.github.io/xforms-spec/#xpath-functions)
ODK_FUNCTIONS = {
    "sum": (1, 1, lambda ctx, a: float(sum(to_number(v) for v in _nodes(ctx, a[0])))),
    "count": (1, 1, lambda ctx, a: float(len(_nodes(ctx, a[0])))),
    "count-non-empty": (
        1,
        1,
        lambda ctx, a: float(sum(to_string(v) != "" for v in _nodes(ctx, a[0]))),
    ),
    "min": (1, 99, _extreme(min)),
    "max": (1, 99, _extreme(max)),
    "join": (
        2,
        99,
        lambda ctx, a: to_string(ctx.eval(a[0])).join(
            to_string(v) for x in a[1:] for v in _nodes(ctx, x)
        ),
    ),
    "contains": (2, 2, lambda ctx, a: (lambda t: t[1] in t[0])(_texts(ctx, a))),
    "starts-with": (2, 2, lambda ctx, a: (lambda t: t[0].startswith(t[1]))(_texts(ctx, a))),
    "ends-with": (2, 2, lambda ctx, a: (lambda t: t[0].endswith(t[1]))(_texts(ctx, a))),
    "substr": (2, 3, _fn_substr),
    "substring-before": (
        2,
        2,
        lambda ctx, a: (lambda t: t[0].partition(t[1])[0] if t[1] in t[0] else "")(_texts(ctx, a)),
    ),
    "substring-after": (
        2,
        2,
        lambda ctx, a: (lambda t: t[0].partition(t[1])[2] if t[1] in t[0] else "")(_texts(ctx, a)),
    ),
    "translate": (3, 3, _fn_translate),
    "normalize-space": (1, 1, lambda ctx, a: " ".join(to_string(ctx.eval(a[0])).split())),
    "boolean": (1, 1, lambda ctx, a: to_bool(ctx.eval(a[0]))),
    "boolean-from-string": (
        1,
        1,
        lambda ctx, a: to_string(ctx.eval(a[0])).strip().lower() in ("true", "1"),
    ),
    "selected-at": (2, 2, _fn_selected_at),
    "jr:choice-name": (2, 2, _fn_choice_name),
    "once": (1, 1, lambda ctx, a: ctx.eval(a[0])),
    "uuid": (0, 1, lambda ctx, a: str(uuid.uuid4())),
    "random": (0, 0, lambda ctx, a: random.random()),
    "now": (0, 0, lambda ctx, a: clock.now().replace(tzinfo=None).isoformat(timespec="seconds")),
    "date": (1, 1, _fn_date),
    "date-time": (1, 1, _fn_date_time),
    "decimal-date-time": (1, 1, _fn_decimal_date_time),
    "decimal-time": (1, 1, _fn_decimal_time),
    "format-date": (2, 2, _fn_format_date),
    "format-date-time": (2, 2, _fn_format_date),
    "checklist": (2, 99, _fn_checklist),
    "weighted-checklist": (2, 99, lambda ctx, a: _fn_checklist(ctx, a, weighted=True)),
    "position": (0, 1, lambda ctx, a: float(getattr(ctx.lookup, "position", None) or 1)),
    "indexed-repeat": (3, 99, _fn_indexed_repeat),
    "digest": (2, 3, _fn_digest),
    "base64-decode": (1, 1, _fn_base64_decode),
    "pulldata": (4, 4, _fn_pulldata),
}

# name: (minimum arguments, maximum arguments, implementation)
FUNCTIONS = {
    **MATH_FUNCTIONS,
    **ODK_FUNCTIONS,
    "if": (3, 3, _fn_if),
    "coalesce": (2, 2, _fn_coalesce),
    "selected": (2, 2, lambda ctx, a: to_string(ctx.eval(a[1])) in selections(ctx.eval(a[0]))),
    "count-selected": (1, 1, lambda ctx, a: float(len(selections(ctx.eval(a[0]))))),
    "string-length": (1, 1, lambda ctx, a: float(len(to_string(ctx.eval(a[0]))))),
    "regex": (2, 2, _fn_regex),
    "today": (0, 0, _fn_today),
    "int": (1, 1, _fn_int),
    "round": (1, 2, _fn_round),
    "not": (1, 1, lambda ctx, a: not to_bool(ctx.eval(a[0]))),
    "true": (0, 0, lambda ctx, a: True),
    "false": (0, 0, lambda ctx, a: False),
    "number": (1, 1, _fn_number),
    "string": (1, 1, lambda ctx, a: to_string(ctx.eval(a[0]))),
    "concat": (1, 99, lambda ctx, a: "".join(to_string(ctx.eval(x)) for x in a)),
}
