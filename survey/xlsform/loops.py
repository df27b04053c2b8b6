"""`begin loop over LIST` … `end loop`: the rows between, asked once per choice of LIST, as pyxform
defines it. pyxform builds a group named after the loop holding one group per choice (named and
labelled as the choice, the choice "none" left out; here named loop_choice), each with a copy of the rows in which
%(name)s and %(label)s are the choice's name and label. Here the rows are expanded the same way
before the survey sheet is read; as names key the answers here, a copied row's name gets the
choice's name appended when it does not hold %(name)s itself (number -> number_pit)."""

from __future__ import annotations

import re

from survey.xlsform.model import Choice
from survey.xlsform.problems import Reading
from survey.xlsform.workbook import split_column

Row = tuple[int, dict[str, str], dict[str, str]]
_BEGIN = re.compile(r"(?i)^begin\s+loop\s+over\s+(\S+)\s*$")
_END = re.compile(r"(?i)^end\s+loop\s*$")
_TYPE = "type"


def _type(values: dict[str, str]) -> str:
    return next((v for k, v in values.items() if split_column(k)[0] == _TYPE), "").strip()


def _with(values: dict[str, str], **changes: str) -> dict[str, str]:
    """The row with its type (and other base columns) replaced."""
    out = {k: v for k, v in values.items() if split_column(k)[0] not in changes}
    out.update(changes)
    return out


def expand_loops(r: Reading, rows: list[Row], choices: dict[str, list[Choice]]) -> list[Row]:
    """The rows with every loop expanded; a loop left open or over an unknown list is reported."""
    if not any(_BEGIN.match(_type(values)) for _, values, _ in rows):
        return rows
    out: list[Row] = []
    i = 0
    while i < len(rows):
        number, values, headers = rows[i]
        begin = _BEGIN.match(_type(values))
        if not begin:
            out.append(rows[i])
            i += 1
            continue
        depth, j = 1, i + 1
        while j < len(rows) and depth:
            kind = _type(rows[j][1])
            depth += 1 if _BEGIN.match(kind) else -1 if _END.match(kind) else 0
            j += 1
        if depth:
            r.error("survey", number, "type", "begin loop 没有对应的 end loop")
            return out
        body = expand_loops(r, rows[i + 1 : j - 1], choices)
        list_name = begin.group(1)
        if list_name not in choices:
            r.error(
                "survey", number, "type", f"begin loop 的选项列表“{list_name}”在 choices 表中不存在"
            )
            i = j
            continue
        out.append((number, _with(values, type="begin_group"), headers))
        for choice in choices[list_name]:
            if choice.name == "none":
                continue
            loop = next((v for k, v in values.items() if split_column(k)[0] == "name"), "")
            group = {
                "type": "begin_group",
                "name": f"{loop}_{choice.name}" if loop else choice.name,
            }
            group.update({_label_column(lang): text for lang, text in choice.labels.items()})
            out.append((number, group, headers))
            out.extend((n, _copy(v, choice), h) for n, v, h in body)
            out.append((rows[j - 1][0], {"type": "end_group"}, headers))
        out.append((rows[j - 1][0], _with(rows[j - 1][1], type="end_group"), headers))
        i = j
    return out


def _label_column(lang: str) -> str:
    return "label" if lang == "default" else f"label::{lang}"


def _copy(values: dict[str, str], choice: Choice) -> dict[str, str]:
    """A loop's row for one choice: %(name)s and %(label)s filled in every cell, the name made
    the choice's own."""
    out = {}
    for column, value in values.items():
        base, lang = split_column(column)
        label = choice.labels.get(lang or "default") or choice.label()
        filled = value.replace("%(name)s", choice.name).replace("%(label)s", label)
        if (
            base == "name"
            and value
            and "%(name)s" not in value
            and not _type(values).lower().startswith("end")
        ):
            filled = f"{value}_{choice.name}"
        out[column] = filled
    return out
