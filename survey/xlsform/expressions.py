"""XLSForm expressions (relevant, constraint, calculation, choice_filter, repeat_count).

Our own tokenizer and precedence-climbing parser build a small tree that `evaluate` walks; nothing is
ever passed to Python's eval. Unknown functions and references are rejected when a form loads.
Values follow XPath's loose typing: an unanswered question is "", numbers compare as numbers, dates
as days since 1970-01-01, and select_multiple answers are lists.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import random
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from survey import clock


class ExpressionError(Exception):
    """A malformed expression; the message is Chinese and says where it went wrong."""


# ---- the tree ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Ref:
    name: str  # "" is the current question (".")


@dataclass(frozen=True)
class Field:
    """A bare name: a column of the choice being filtered (only valid in choice_filter)."""

    name: str


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Any


@dataclass(frozen=True)
class Binary:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple


# ---- tokens --------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<ref>\$\{\s*(?P<refname>[^\W\d][\w.-]*)\s*\})
  | (?P<number>\d+(?:\.\d*)?|\.\d+)
  | (?P<string>'[^']*'|"[^"]*"|‘[^’]*’|“[^”]*”)
  | (?P<op><=|>=|!=|=|<|>|\+|-|\*|\(|\)|,)
  | (?P<name>(?:jr:)?[A-Za-z_][\w-]*(?:::[^\W\d][\w-]*(?:\s\([\w-]+\))?)?(?:\(\))?)
  | (?P<parent>\.\.)
  | (?P<dot>\.)
    """,
    re.VERBOSE,
)

_KEYWORD_OPS = {"and", "or", "div", "mod"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ExpressionError(f"第 {pos + 1} 个字符“{text[pos]}”无法识别")
        kind = m.lastgroup
        if kind == "refname":
            kind = "ref"
        if kind != "space":
            value = m.group("refname") if kind == "ref" else m.group(kind)
            if kind == "name" and value.endswith("()"):
                # "true()" style: a call with no arguments written without a space
                tokens.append(Token("name", value[:-2], m.start()))
                tokens.append(Token("op", "(", m.end() - 2))
                tokens.append(Token("op", ")", m.end() - 1))
            elif kind == "name" and value in _KEYWORD_OPS:
                tokens.append(Token("op", value, m.start()))
            else:
                tokens.append(Token(kind, value, m.start()))
        pos = m.end()
    return tokens


# ---- parser --------------------------------------------------------------------------------------

_LEVELS = [{"or"}, {"and"}, {"=", "!="}, {"<", "<=", ">", ">="}, {"+", "-"}, {"*", "div", "mod"}]


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise ExpressionError("表达式不完整（结尾缺少内容）")
        self.i += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text or token.kind != "op":
            raise ExpressionError(f"第 {token.pos + 1} 个字符处应为“{text}”，实为“{token.text}”")

    def parse(self):
        node = self.level(0)
        extra = self.peek()
        if extra is not None:
            raise ExpressionError(f"第 {extra.pos + 1} 个字符处多出“{extra.text}”")
        return node

    def level(self, n: int):
        if n == len(_LEVELS):
            return self.unary()
        node = self.level(n + 1)
        while (
            (token := self.peek()) is not None and token.kind == "op" and token.text in _LEVELS[n]
        ):
            self.take()
            node = Binary(token.text, node, self.level(n + 1))
        return node

    def unary(self):
        token = self.peek()
        if token is not None and token.kind == "op" and token.text == "-":
            self.take()
            return Unary("-", self.unary())
        return self.primary()

    def primary(self):
        token = self.take()
        if token.kind == "number":
            return Literal(float(token.text) if "." in token.text else int(token.text))
        if token.kind == "string":
            return Literal(token.text[1:-1])
        if token.kind == "ref":
            return Ref(token.text)
        if token.kind == "dot":
            return Ref("")
        if token.kind == "parent":
            return Ref("..")
        if token.kind == "op" and token.text == "(":
            node = self.level(0)
            self.expect(")")
            return node
        if token.kind == "name":
            following = self.peek()
            if following is None or following.text != "(":
                return Field(token.text)
            self.take()
            args = []
            if self.peek() is not None and self.peek().text == ")":
                self.take()
            else:
                while True:
                    args.append(self.level(0))
                    sep = self.take()
                    if sep.text == ")":
                        break
                    if sep.text != ",":
                        raise ExpressionError(f"第 {sep.pos + 1} 个字符处应为“,”或“)”")
            return Call(token.text, tuple(args))
        raise ExpressionError(f"第 {token.pos + 1} 个字符处不应出现“{token.text}”")


# ${name} inside a label, hint or message (not an expression): shown with the answer so far.
TEXT_REFERENCE = re.compile(r"\$\{\s*([^}]*?)\s*\}")


def is_dynamic(default: str) -> bool:
    """A default that is an expression (today(), ${other}) rather than a value, as pyxform tells."""
    return bool(_DYNAMIC.search(default))


_DYNAMIC = re.compile(r"\$\{|\w\s*\(")


def parse(text: str):
    """The tree of an expression, or ExpressionError."""
    if text is None or not str(text).strip():
        raise ExpressionError("表达式为空")
    bare = _STRINGS.sub("", str(text))
    if re.search(r"\binstance\s*\(", bare):
        raise ExpressionError(DEVICE_FUNCTIONS["instance"])
    if "/" in bare:  # XPath divides with div: a slash is a path
        raise ExpressionError(
            "XPath 路径（/）网页问卷不支持；引用题目请写 ${题目名}，"
            "从列表取值请改用 select_one_from_file 或 choice_filter"
        )
    return _Parser(str(text)).parse()


_STRINGS = re.compile(r"'[^']*'|\"[^\"]*\"|‘[^’]*’|“[^”]*”")


# ---- values --------------------------------------------------------------------------------------


class NodeSet(list):
    """One question's values across a repeat's instances (or the instances themselves), as a
    reference from outside the repeat sees them. Where one value is expected, XPath takes the
    first; sum(), count(), join() and the like take them all."""


def _first_node(value):
    return (value[0] if value else "") if isinstance(value, NodeSet) else value


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EPOCH = date(1970, 1, 1)


def to_number(value) -> float:
    value = _first_node(value)
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
    value = _first_node(value)
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


def _selections(value) -> list[str]:
    value = _first_node(value)
    if isinstance(value, list):
        return [to_string(v) for v in value]
    return to_string(value).split()


def _compare(op: str, left, right) -> bool:
    left, right = _first_node(left), _first_node(right)
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


# ---- functions -----------------------------------------------------------------------------------


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
    picked = _selections(ctx.eval(args[0]))
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
    value = _first_node(value)
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
}
# Functions that read what only a phone has: refused at upload, saying what to do instead.
DEVICE_FUNCTIONS = {
    "pulldata": "pulldata() 从手机上的 CSV 文件取值，网页问卷不支持；请改用 select_one_from_file 让填表人选择",
    "area": "area() 需要手机定位（geoshape），网页问卷不支持",
    "distance": "distance() 需要手机定位（geotrace），网页问卷不支持",
    "instance": "instance() 读取手机上的数据表，网页问卷不支持；请改用 choice_filter 或 select_one_from_file",
    "current": "current() 只用于 instance() 的路径中，网页问卷不支持",
    "version": "version() 读取手机上的表单版本，网页问卷不支持",
    "property": "property() 读取手机的设备信息，网页问卷不支持",
}

# name: (minimum arguments, maximum arguments, implementation)
FUNCTIONS = {
    **MATH_FUNCTIONS,
    **ODK_FUNCTIONS,
    "if": (3, 3, _fn_if),
    "coalesce": (2, 2, _fn_coalesce),
    "selected": (2, 2, lambda ctx, a: to_string(ctx.eval(a[1])) in _selections(ctx.eval(a[0]))),
    "count-selected": (1, 1, lambda ctx, a: float(len(_selections(ctx.eval(a[0]))))),
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


def check(node, known_names: set[str], fields: set[str] = frozenset()) -> None:
    """Reject unknown functions, wrong argument counts and references to unknown names.
    `fields` are the choice columns a choice_filter may name bare."""
    if isinstance(node, Ref):
        if node.name not in ("", "..") and node.name not in known_names:
            raise ExpressionError(f"引用了不存在的题目 ${{{node.name}}}")
    elif isinstance(node, Field):
        if node.name not in fields:
            raise ExpressionError(
                f"“{node.name}”不是函数调用也不是选项列；比较文字请加引号，写作 '{node.name}'；"
                f"引用题目请写 ${{{node.name}}}"
            )
    elif isinstance(node, Unary):
        check(node.operand, known_names, fields)
    elif isinstance(node, Binary):
        check(node.left, known_names, fields)
        check(node.right, known_names, fields)
    elif isinstance(node, Call):
        if node.name in DEVICE_FUNCTIONS:
            raise ExpressionError(DEVICE_FUNCTIONS[node.name])
        if node.name not in FUNCTIONS:
            raise ExpressionError(f"不支持的函数 {node.name}()")
        low, high, _ = FUNCTIONS[node.name]
        if not low <= len(node.args) <= high:
            expected = str(low) if low == high else f"{low}–{high}"
            raise ExpressionError(
                f"函数 {node.name}() 需要 {expected} 个参数，实有 {len(node.args)} 个"
            )
        for arg in node.args:
            check(arg, known_names, fields)


def references(node) -> set[str]:
    """The question names an expression reads."""
    if isinstance(node, Ref):
        return {node.name} if node.name not in ("", "..") else set()
    if isinstance(node, Unary):
        return references(node.operand)
    if isinstance(node, Binary):
        return references(node.left) | references(node.right)
    if isinstance(node, Call):
        return set().union(*(references(a) for a in node.args)) if node.args else set()
    return set()


# ---- evaluation ----------------------------------------------------------------------------------


class Context:
    """What an expression sees: a lookup for ${name}, the current value (.), today's date."""

    def __init__(self, lookup, current=None, today: date | None = None, choice: dict | None = None):
        self.lookup = lookup
        self.current = current
        self.today = today or clock.today()
        self.choice = choice or {}

    def eval(self, node):
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Ref):
            if node.name == "..":
                return ""
            value = self.current if node.name == "" else self.lookup(node.name)
            return "" if value is None else value
        if isinstance(node, Field):
            return self.choice.get(node.name, "")
        if isinstance(node, Unary):
            return -to_number(self.eval(node.operand))
        if isinstance(node, Call):
            return FUNCTIONS[node.name][2](self, node.args)
        op = node.op
        if op == "or":
            return to_bool(self.eval(node.left)) or to_bool(self.eval(node.right))
        if op == "and":
            return to_bool(self.eval(node.left)) and to_bool(self.eval(node.right))
        left, right = self.eval(node.left), self.eval(node.right)
        if op in ("=", "!=", "<", "<=", ">", ">="):
            return _compare(op, left, right)
        a, b = to_number(left), to_number(right)
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "div":
            return math.nan if b == 0 else a / b
        if op == "mod":
            return math.nan if b == 0 else math.fmod(a, b)
        raise ExpressionError(f"未知运算符 {op}")


def evaluate(node, lookup, current=None, today: date | None = None, choice: dict | None = None):
    return Context(lookup, current, today, choice).eval(node)
