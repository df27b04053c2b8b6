"""Running a form on a set of answers: relevance, calculations, choice filters, repeat counts,
required and constraint checks. Pure functions over the Form and an answers dict:
{name: value, repeat_name: [{child: value, ...}, ...]}; groups do not nest answers.
"""

from __future__ import annotations

import math
from datetime import date

from survey.xlsform import choice_files
from survey.xlsform import expressions as ex
from survey.xlsform.model import Choice, Form, Question

REQUIRED_DEFAULT = "此题必答。"
CONSTRAINT_DEFAULT = "答案不符合要求。"


def is_empty(value) -> bool:
    return (
        value is None
        or value == ""
        or value == []
        or (isinstance(value, float) and math.isnan(value))
    )


class Scope:
    """Looks names up in the current repeat instance first, then at the top level."""

    def __init__(
        self,
        answers: dict,
        instance: dict | None = None,
        position: int | None = None,
        form: Form | None = None,
    ):
        self.answers = answers
        self.instance = instance
        self.position = position  # of the instance, from 1, for position(..)
        self.form = form  # for jr:choice-name

    def __call__(self, name: str):
        if self.instance is not None and name in self.instance:
            return self.instance[name]
        if name in self.answers:
            value = self.answers[name]
            return ex.NodeSet(value) if value == [] or _is_repeat(value) else value
        return _across(self.answers, name)

    def choice_label(self, question: str, value: str) -> str:
        q = self.form.by_name.get(question) if self.form else None
        for c in self.form.choices.get(q.list_name or "", []) if q else []:
            if c.name == value:
                return c.label(self.form.default_language)
        return ""

    def pull(self, file: str, column: str, key_column: str, key: str) -> str:
        """pulldata()/instance() lookups: `column` of the first row of `file` (a list read from a
        file uploaded with the form, named with or without its extension, or a choice list of the
        form, as ODK names one instance per list) whose `key_column` holds `key`; "" if none."""
        for name, options in self.form.choices.items() if self.form else ():
            stem = choice_files.file_of(name)
            sheet_list = name == file  # instance('list'): a list of the choices sheet
            if not sheet_list and (
                file not in (stem, stem.rsplit(".", 1)[0]) or stem not in self.form.files
            ):
                continue
            value_column = choice_files.value_column_of(name)
            for choice in options:
                columns = {**choice.columns(), value_column: choice.name}
                if str(columns.get(key_column, "")) == key:
                    return str(columns.get(column, ""))
        return ""


def default_of(question: Question, scope: Scope, today: date):
    """The question's default: a dynamic one (today(), ${other}...) evaluated, as pyxform allows."""
    text = question.default
    if not text or not ex.is_dynamic(text):
        return text or None
    return ex.to_string(ex.evaluate(question.tree("default"), scope, None, today))


def fill(text: str, scope: Scope) -> str:
    """A label or hint with each ${name} replaced by the answer so far, as ODK shows it."""
    if "${" not in text:
        return text
    return ex.TEXT_REFERENCE.sub(lambda m: ex.to_string(scope(m[1])), text)


def _is_repeat(value) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict)


def _across(values: dict, name: str) -> ex.NodeSet:
    """A question's values in every instance of the repeats it is in (XPath's node-set, as
    `sum(${amount})` from outside the repeat reads it); empty when no instance has it."""
    found = ex.NodeSet()
    for value in values.values():
        if _is_repeat(value):
            for item in value:
                found.extend([item[name]] if name in item else _across(item, name))
    return found


def _true(question: Question, attribute: str, scope: Scope, today: date, current=None) -> bool:
    tree = question.tree(attribute)
    return True if tree is None else ex.to_bool(ex.evaluate(tree, scope, current, today))


def choices_for(form: Form, question: Question, scope: Scope, today: date) -> list[Choice]:
    """The question's choices after its choice_filter."""
    options = form.choices.get(question.list_name or "", [])
    tree = question.tree("choice_filter")
    if tree is None:
        return options
    return [c for c in options if ex.to_bool(ex.evaluate(tree, scope, None, today, c.columns()))]


def repeat_count(question: Question, scope: Scope, today: date) -> int | None:
    """A fixed number of instances when repeat_count is set, else None (the user adds them)."""
    tree = question.tree("repeat_count")
    if tree is None:
        return None
    number = ex.to_number(ex.evaluate(tree, scope, None, today))
    return 0 if math.isnan(number) else max(0, min(int(number), 100))


def coerce(question: Question, value):
    """An answer in its stored form: int, float, 'YYYY-MM-DD', 'HH:MM', name, [names]."""
    if is_empty(value):
        return [] if question.type == "select_multiple" else None
    kind = question.spec["value"]
    if kind == "integer":
        number = ex.to_number(value)
        if math.isnan(number) or not float(number).is_integer():
            raise ValueError("请填写整数。")
        return int(number)
    if kind == "decimal":
        number = ex.to_number(value)
        if math.isnan(number):
            raise ValueError("请填写数字。")
        return float(number)
    if kind == "date":
        return (
            value.isoformat()
            if isinstance(value, date)
            else date.fromisoformat(str(value)).isoformat()
        )
    if kind == "time":
        return value.strftime("%H:%M") if hasattr(value, "strftime") else str(value)[:5]
    if kind == "choices":
        return [str(v) for v in (value if isinstance(value, list) else str(value).split())]
    if kind == "ok":
        return "OK" if value else None
    return value if isinstance(value, str | int | float) else str(value)


def evaluate_form(form: Form, answers: dict, today: date) -> tuple[dict, dict[str, str], set[str]]:
    """(clean answers, errors by path, paths shown). Irrelevant answers are dropped, calculations
    filled in, values coerced; `errors` holds required, constraint and type messages."""
    clean: dict = {}
    errors: dict[str, str] = {}
    shown: set[str] = set()
    lang = form.default_language

    def run(
        questions: list[Question],
        source: dict,
        target: dict,
        scope: Scope,
        prefix: str,
        relevant: bool,
    ):
        for q in questions:
            path = f"{prefix}{q.name}"
            here = relevant and _true(q, "relevant", scope, today)
            if q.type == "begin_group":
                if here:
                    shown.add(path)
                run(q.children, source, target, scope, prefix, here)
                continue
            if q.type == "begin_repeat":
                instances = source.get(q.name) or []
                fixed = repeat_count(q, scope, today) if here else 0
                if fixed is not None:
                    instances = (instances + [{}] * fixed)[:fixed]
                out = []
                if here:
                    shown.add(path)
                    for i, instance in enumerate(instances):
                        item: dict = {}
                        inner = Scope(target, item, i + 1, form)
                        # earlier answers of this instance are visible to later questions
                        run(q.children, instance, item, inner, f"{path}[{i}].", True)
                        out.append(item)
                target[q.name] = out
                continue
            if not here:
                continue
            shown.add(path)
            if q.type == "note":
                continue
            if q.type == "calculate":
                value = ex.evaluate(q.tree("calculation"), scope, None, today)
                target[q.name] = ex.to_string(value) if not isinstance(value, bool) else value
                continue
            raw = source.get(q.name)
            if is_empty(raw) and q.default and q.type not in ("select_multiple",):
                raw = default_of(q, scope, today)
            try:
                value = coerce(q, raw)
            except (ValueError, TypeError) as exc:
                errors[path] = str(exc) if str(exc) else "格式不正确。"
                continue
            target[q.name] = value
            if is_empty(value):
                if q.required and _true(q, "required", scope, today):
                    errors[path] = (
                        q.required_message.get(lang)
                        or _first(q.required_message)
                        or REQUIRED_DEFAULT
                    )
                continue
            if q.type in ("select_one", "select_multiple"):
                allowed = {c.name for c in choices_for(form, q, scope, today)}
                picked = value if isinstance(value, list) else [value]
                if any(v not in allowed for v in picked):
                    errors[path] = "所选选项不在可选范围内。"
                    continue
            if q.constraint and not _true(q, "constraint", scope, today, value):
                errors[path] = (
                    q.constraint_message.get(lang)
                    or _first(q.constraint_message)
                    or CONSTRAINT_DEFAULT
                )

    run(form.questions, answers, clean, Scope(clean, form=form), "", True)
    return clean, errors, shown


def _first(texts: dict[str, str]) -> str:
    return next(iter(texts.values()), "") if texts else ""


def flatten(form: Form, answers: dict) -> list[tuple[str, str, object]]:
    """(question, repeat_path, value) rows for storage: repeat_path is '' at the top level and
    'repeat[i]' inside a repeat (nested repeats chain: 'a[0]/b[1]')."""
    rows: list[tuple[str, str, object]] = []

    def walk(questions: list[Question], values: dict, path: str) -> None:
        for q in questions:
            if q.type == "begin_group":
                walk(q.children, values, path)
            elif q.type == "begin_repeat":
                for i, instance in enumerate(values.get(q.name) or []):
                    walk(q.children, instance, f"{path}/{q.name}[{i}]".lstrip("/"))
            elif q.name in values and q.type != "note":
                rows.append((q.name, path, values[q.name]))

    walk(form.questions, answers, "")
    return rows


def unflatten(form: Form, rows: list[tuple[str, str, object]]) -> dict:
    """The inverse of flatten."""
    answers: dict = {}
    for name, path, value in rows:
        target = answers
        if path:
            for part in path.split("/"):
                repeat, _, index = part.partition("[")
                i = int(index.rstrip("]"))
                items = target.setdefault(repeat, [])
                while len(items) <= i:
                    items.append({})
                target = items[i]
        target[name] = value
    return answers
