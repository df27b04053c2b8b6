"""XLSForm expressions (relevant, constraint, calculation, choice_filter, repeat_count, default).

Where each idea lives: `syntax` (the tree, tokenizer and parser: `parse`), `values` (XPath's loose
typing), `functions` (what an expression may call), `device` (the functions that need a phone),
`checks` (what the loader asks of an expression at upload) and `evaluation` (walking a tree
against the answers). The names below are the ones the rest of the app uses.
"""

from survey.xlsform.expressions.checks import bare_names, calls, check, references
from survey.xlsform.expressions.device import DEVICE_FUNCTIONS
from survey.xlsform.expressions.evaluation import Context, evaluate
from survey.xlsform.expressions.functions import FUNCTIONS
from survey.xlsform.expressions.syntax import (
    LAST_SAVED,
    TEXT_REFERENCE,
    Binary,
    Call,
    ExpressionError,
    Field,
    Literal,
    Ref,
    Unary,
    is_dynamic,
    parse,
    tokenize,
)
from survey.xlsform.expressions.values import NodeSet, to_bool, to_number, to_string

__all__ = [
    "DEVICE_FUNCTIONS",
    "LAST_SAVED",
    "FUNCTIONS",
    "TEXT_REFERENCE",
    "Binary",
    "Call",
    "Context",
    "ExpressionError",
    "Field",
    "Literal",
    "NodeSet",
    "Ref",
    "Unary",
    "bare_names",
    "calls",
    "check",
    "evaluate",
    "is_dynamic",
    "parse",
    "references",
    "to_bool",
    "to_number",
    "to_string",
    "tokenize",
]
