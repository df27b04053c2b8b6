"""What a form's loader asks of an expression: its functions, argument counts and references."""

from __future__ import annotations

from survey.xlsform.expressions.device import DEVICE_FUNCTIONS
from survey.xlsform.expressions.functions import FUNCTIONS
from survey.xlsform.expressions.syntax import Binary, Call, ExpressionError, Field, Ref, Unary


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


def bare_names(node) -> set[str]:
    """The bare names (Field) an expression holds: a choice's columns in a choice_filter."""
    if isinstance(node, Field):
        return {node.name}
    if isinstance(node, Unary):
        return bare_names(node.operand)
    if isinstance(node, Binary):
        return bare_names(node.left) | bare_names(node.right)
    if isinstance(node, Call):
        return set().union(*(bare_names(a) for a in node.args)) if node.args else set()
    return set()


def calls(node, name: str) -> list[Call]:
    """Every call of function `name` in an expression."""
    found = []
    if isinstance(node, Call):
        found += [node] if node.name == name else []
        for arg in node.args:
            found += calls(arg, name)
    elif isinstance(node, Unary):
        found += calls(node.operand, name)
    elif isinstance(node, Binary):
        found += calls(node.left, name) + calls(node.right, name)
    return found
