"""Evaluating a parsed expression against the answers so far."""

from __future__ import annotations

import math
from datetime import date

from survey import clock
from survey.xlsform.expressions.functions import FUNCTIONS
from survey.xlsform.expressions.syntax import Call, ExpressionError, Field, Literal, Ref, Unary
from survey.xlsform.expressions.values import compare, to_bool, to_number


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
            return compare(op, left, right)
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
