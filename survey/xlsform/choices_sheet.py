"""The choices and external_choices sheets: choice lists by name, each choice with its labels and
extra columns. pyxform writes external_choices to an itemsets.csv that ODK Collect reads for
select_one_external; here its lists are read like the choices sheet's (with choice_filter)."""

from __future__ import annotations

from survey.xlsform.model import Choice
from survey.xlsform.problems import Reading
from survey.xlsform.vocabulary import IGNORED_COLUMN_PREFIXES
from survey.xlsform.workbook import read_sheet, split_column


def read_choices(r: Reading, book, allow_duplicates: bool = False) -> dict[str, list[Choice]]:
    lists: dict[str, list[Choice]] = {}
    for sheet in ("choices", "external_choices"):
        _read_lists(r, sheet, read_sheet(book, sheet) or [], lists, allow_duplicates)
    return lists


def _read_lists(r: Reading, sheet: str, rows, lists: dict, allow_duplicates: bool) -> None:
    seen: dict[tuple[str, str], int] = {}
    for number, values, _ in rows:
        folded = {}
        extra = {}
        labels: dict[str, str] = {}
        for raw, value in values.items():
            base, lang = split_column(raw)
            if base == "label":
                if value:
                    labels[lang or "default"] = value
                    if lang and lang not in r.languages:
                        r.languages.append(lang)
            elif base in ("list_name", "name"):
                folded[base] = value
            elif base.startswith(IGNORED_COLUMN_PREFIXES):
                if value:
                    r.ignored_columns.add((sheet, raw))
            else:
                extra[raw.strip()] = value
        list_name, name = folded.get("list_name", ""), folded.get("name", "")
        if not list_name:  # pyxform passes over such rows; so do we, and say so
            r.warnings.append(f"{sheet} 表第 {number} 行没有选项列表名（list_name），已忽略")
            continue
        if name == "":
            r.error(sheet, number, "name", "缺少选项值")
            continue
        if (list_name, name) in seen and not allow_duplicates:
            r.error(
                sheet,
                number,
                "name",
                f"列表 {list_name} 中选项值“{name}”重复（第 {seen[(list_name, name)]} 行已有）",
            )
            continue
        seen[(list_name, name)] = number
        lists.setdefault(list_name, []).append(Choice(name, labels, extra))
