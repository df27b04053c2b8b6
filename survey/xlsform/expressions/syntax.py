"""The syntax of XLSForm expressions: the tree, the tokenizer and a precedence-climbing parser.
Nothing is ever passed to Python's eval; `parse` gives a tree that `evaluation` walks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from survey.xlsform.expressions.device import DEVICE_FUNCTIONS


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
  | (?P<string>'[^']*'|"[^"]*"|[‘’“”][^'"‘’“”]*['"‘’“”]|['"][^'"‘’“”]*[‘’“”])
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
    text = rewrite_lookups(str(text))
    bare = _STRINGS.sub("", text)
    if re.search(r"\binstance\s*\(", bare):
        raise ExpressionError(DEVICE_FUNCTIONS["instance"])
    if "/" in bare:  # XPath divides with div: a slash is a path
        raise ExpressionError(
            "XPath 路径（/）网页问卷不支持；引用题目请写 ${题目名}，"
            "从列表取值请改用 select_one_from_file 或 choice_filter"
        )
    return _Parser(text).parse()


# Strings: in straight quotes, or in curly ones (any of ‘’“” opening, closing with any quote mark,
# as forms typed in word processors have them; pyxform passes them on).
_STRINGS = re.compile(r"""'[^']*'|"[^"]*"|[‘’“”][^'"‘’“”]*['"‘’“”]|['"][^'"‘’“”]*[‘’“”]""")


# instance('file')/root/item[key = value]/column: one column of the row of a file (a choice list
# uploaded with the form) whose key column holds value; ODK reads it on the phone. Here it is the
# same lookup as pulldata('file', 'column', 'key', value); quotes may be any of '"‘’“” (forms
# made in word processors mix them).
_Q = "['\"‘’“”]"
_LOOKUP = re.compile(
    rf"instance\s*\(\s*{_Q}([^'\"‘’“”]+){_Q}\s*\)\s*/\s*root\s*/\s*item\s*"
    rf"\[\s*([A-Za-z_][\w.-]*)\s*=\s*(\$\{{[^}}]*\}}|{_Q}[^'\"‘’“”]*{_Q}|current\(\)/\.\.?/?\S*?)\s*\]"
    r"\s*/\s*([A-Za-z_][\w.:-]*)"
)
# ${last-saved#name}: the answer the phone saved last time; a browser form has none.
LAST_SAVED = re.compile(r"\$\{\s*last-saved#[^}]*\}")


def rewrite_lookups(text: str) -> str:
    """instance() lookups as pulldata() calls, ${last-saved#x} as '' (see above)."""
    if "instance" in text:
        text = _LOOKUP.sub(lambda m: f"pulldata('{m[1]}', '{m[4]}', '{m[2]}', {m[3]})", text)
    return LAST_SAVED.sub("''", text) if "last-saved" in text else text
