"""The XLSForm engine: every type, every expression function, every loading error, versions,
answers storage and the flat export."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from datetime import date

import pytest
from openpyxl import load_workbook

from survey import db as store
from survey import questionnaires
from survey.access.actor import SYSTEM
from survey.errors import ValidationError
from survey.xlsform import engine
from survey.xlsform import expressions as ex
from survey.xlsform.loader import FormLoadError, load_xlsform
from survey.xlsform.model import QUESTION_TYPES, Form
from survey.xlsform.writer import build_xlsform
from tests.helpers import ROOT
from ui.form_widgets import WIDGETS

TODAY = date(2026, 11, 26)
ZH = "label::中文 (zh)"
EN = "label::English (en)"


def load(survey, choices=None, settings=None) -> Form:
    return load_xlsform(build_xlsform(survey, choices, settings or {"form_id": "t"}), "t.xlsx")


def problems_of(survey, choices=None, settings=None) -> list[str]:
    with pytest.raises(FormLoadError) as info:
        load(survey, choices, settings)
    return [str(p) for p in info.value.problems]


YN = [{"list_name": "yn", "name": "yes", ZH: "是"}, {"list_name": "yn", "name": "no", ZH: "否"}]


# ---- expressions -------------------------------------------------------------------------------

VALUES = {
    "n": "5",
    "m": ["a", "b"],
    "s": "abc",
    "d": "2026-11-20",
    "e": "",
    "xs": ex.NodeSet(["3", "4", ""]),
    "ys": ex.NodeSet(["3", "4"]),
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("${n} + 2 * 3", 11.0),
        ("(${n} + 2) * 3", 21.0),
        ("${n} div 2", 2.5),
        ("${n} mod 3", 2.0),
        ("-${n}", -5.0),
        ("${n} > 3 and ${n} < 10", True),
        ("${n} = 4 or ${n} != 5", False),
        ("${n} >= 5 and ${n} <= 5", True),
        ("${s} = 'abc'", True),
        (". = 'cur'", True),
        ("selected(${m}, 'b')", True),
        ("selected(${m}, 'c')", False),
        ("count-selected(${m})", 2.0),
        ("string-length(${s})", 3.0),
        ("regex(${s}, '^a.c$')", True),
        ("regex(${s}, '[')", False),
        ("today()", "2026-11-26"),
        ("${d} <= today()", True),
        ("if(${n} > 3, 'big', 'small')", "big"),
        ("coalesce(${e}, 'fallback')", "fallback"),
        ("coalesce(${s}, 'fallback')", "abc"),
        ("int(7.9)", 7.0),
        ("int(-7.9)", -7.0),
        ("round(2.5)", 3.0),
        ("round(2.345, 2)", 2.35),
        ("not(${n} = 5)", False),
        ("true() and not(false())", True),
        ("number('12') + 1", 13.0),
        ("concat(${s}, '-', ${n})", "abc-5"),
        ("string(${n})", "5"),
        ("${e} = ''", True),
        ("${e} > 3", False),
        ("${n} div 0", "NaN"),
        ("pow(2, 10)", 1024.0),
        ("sqrt(${n} * 5)", 5.0),
        ("sqrt(-1)", "NaN"),
        ("exp(0) + exp10(2)", 101.0),
        ("log(1) + log10(1000)", 3.0),
        ("log(0)", "NaN"),
        ("abs(-2.5)", 2.5),
        ("round(sin(0) + cos(0) + tan(0), 3)", 1.0),
        ("round(asin(1) + acos(1) - pi() div 2, 6)", 0.0),
        ("round(atan(1) * 4 - atan2(0, -1), 6)", 0.0),
        ("floor(-1.5) + ceiling(1.2)", 0.0),
        ("${s} = ‘abc’ and ${s} = “abc”", True),  # quotes pasted from a word processor
        # the ODK functions that need no device; ${xs} is a question in a repeat, read from outside
        ("sum(${ys})", 7.0),
        ("sum(${xs})", "NaN"),  # as number(''): a blank in the repeat makes the total NaN
        ("count(${xs})", 3.0),
        ("count-non-empty(${xs})", 2.0),
        ("min(${n}, 3, 9)", 3.0),
        ("max(${n}, 3, 9)", 9.0),
        ("join('-', ${xs})", "3-4-"),
        ("contains(${s}, 'bc') and starts-with(${s}, 'ab') and ends-with(${s}, 'c')", True),
        ("concat(substr(${s}, 1), substr(${s}, 0, 2))", "bcab"),
        ("concat(substring-before('a-b', '-'), substring-after('a-b', '-'))", "ab"),
        ("translate('abc', 'ab', 'A')", "Ac"),
        ("normalize-space('  a   b ')", "a b"),
        ("boolean('x') and boolean-from-string('true') and not(boolean-from-string('yes'))", True),
        ("selected-at(${m}, 1)", "b"),
        ("jr:choice-name(${n}, '${n}')", ""),  # no form here; see the engine test
        ("once(${n})", "5"),
        ("string-length(uuid()) = 36 and random() < 1", True),
        ("string-length(now())", 19.0),
        ("concat(date(0), ' ', date-time(1.5))", "1970-01-01 1970-01-02T12:00:00"),
        ("decimal-date-time('1970-01-02T12:00:00') + decimal-time('06:00')", 1.75),
        ("format-date(${d}, '%Y年%n月%e日 %a')", "2026年11月20日 Fri"),
        (
            "format-date-time('2026-11-20T08:05:09', '%H:%M:%S %d/%m/%y %b')",
            "08:05:09 20/11/26 Nov",
        ),
        ("checklist(1, 2, true(), false(), 1)", True),
        ("weighted-checklist(3, -1, true(), 2, true(), 1, false(), 5)", True),
        ("position(..)", 1.0),
        ("indexed-repeat(${xs}, ${xs}, 2)", "4"),
        (
            "digest('abc', 'SHA-256', 'hex')",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        ("base64-decode('5L2g5aW9')", "你好"),
        ("pulldata('f', 'c', 'k', ${n})", ""),  # no file to read: empty (see the loader's notes)
        ('${n} = ’5’ and ${s} = ”abc"', True),  # curly quotes, as word processors type them
        ("${last-saved#n}", ""),
    ],
)
def test_expression_values(source, expected):
    result = ex.evaluate(ex.parse(source), VALUES.get, current="cur", today=TODAY)
    if expected == "NaN":
        assert result != result
    else:
        assert result == expected


def test_every_function_is_covered_above():
    sources = " ".join(s for s, _ in test_expression_values.pytestmark[0].args[1])
    for name in ex.FUNCTIONS:
        assert f"{name}(" in sources, name


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("${n} >", "不完整"),
        ("(1 + 2", "不完整"),
        ("1 2", "多出“2”"),
        ("${n} = 'x", "无法识别"),
        ("frobnicate(1)", "不支持的函数 frobnicate()"),
        ("distance(${n})", "需要手机定位"),
        (
            "instance('towns')/root/item[contains(name, ${n})]/label",
            "instance() 读取手机上的数据表",
        ),
        ("/data/n > 1", "XPath 路径（/）网页问卷不支持"),
        ("if(1, 2)", "需要 3 个参数"),
        ("${nobody} = 1", "不存在的题目 ${nobody}"),
        ("age > 3", "引用题目请写 ${age}"),
        ("", "为空"),
    ],
)
def test_expression_errors(source, message):
    with pytest.raises(
        ex.ExpressionError,
        match=message.replace("(", r"\(")
        .replace(")", r"\)")
        .replace("$", r"\$")
        .replace("{", r"\{")
        .replace("}", r"\}"),
    ):
        ex.check(ex.parse(source), {"n"})


def test_never_uses_python_eval():
    for module in (ROOT / "survey" / "xlsform" / "expressions").glob("*.py"):
        text = module.read_text(encoding="utf-8")
        assert "eval(" not in text.replace(".eval(", "").replace("def eval(", ""), module
    hostile = "__import__('os').system('echo hi')"
    with pytest.raises(ex.ExpressionError):
        ex.check(ex.parse(hostile), set())


# ---- types, languages, settings ------------------------------------------------------------------


def every_type_form() -> Form:
    return load(
        [
            {"type": "begin_group", "name": "g", ZH: "分组", EN: "Group"},
            {"type": "text", "name": "t", ZH: "文本", EN: "Text", "hint::中文 (zh)": "提示"},
            {"type": "integer", "name": "i", ZH: "整数", EN: "Int", "default": "3"},
            {"type": "decimal", "name": "dec", ZH: "小数", EN: "Decimal"},
            {"type": "date", "name": "dt", ZH: "日期", EN: "Date", "constraint": ". <= today()"},
            {"type": "time", "name": "tm", ZH: "时间", EN: "Time"},
            {"type": "end_group"},
            {
                "type": "select_one yn",
                "name": "one",
                ZH: "单选",
                EN: "One",
                "appearance": "minimal",
            },
            {"type": "select_multiple yn", "name": "many", ZH: "多选", EN: "Many"},
            {"type": "note", "name": "nt", ZH: "说明", EN: "Note"},
            {"type": "acknowledge", "name": "ack", ZH: "确认", EN: "OK"},
            {"type": "calculate", "name": "calc", "calculation": "${i} * 2"},
            {"type": "image", "name": "img", ZH: "照片", EN: "Photo"},
            {"type": "begin_repeat", "name": "r", ZH: "重复", EN: "Repeat", "repeat_count": "${i}"},
            {"type": "text", "name": "rt", ZH: "重复文本", EN: "Repeat text", "read_only": "yes"},
            {"type": "end_repeat"},
        ],
        [
            {"list_name": "yn", "name": "yes", ZH: "是", EN: "Yes"},
            {"list_name": "yn", "name": "no", ZH: "否", EN: "No"},
        ],
        {
            "form_id": "every",
            "form_title": "全部题型",
            "version": "7",
            "default_language": "中文 (zh)",
        },
    )


def test_every_type_loads_with_languages_and_settings():
    form = every_type_form()
    assert set(form.counts_by_type()) == set(QUESTION_TYPES)
    assert (form.form_id, form.title, form.version) == ("every", "全部题型", "7")
    assert form.languages == ["中文 (zh)", "English (en)"] and form.default_language == "中文 (zh)"
    text = form.by_name["t"]
    assert (
        text.label("English (en)") == "Text"
        and text.label() == "文本"
        and text.hint("中文 (zh)") == "提示"
    )
    assert form.by_name["rt"].read_only and form.by_name["one"].appearance == "minimal"
    assert Form.from_dict(form.to_dict()).to_dict() == form.to_dict()


def test_every_type_evaluates():
    form = every_type_form()
    clean, errors, shown = engine.evaluate_form(
        form,
        {
            "t": "x",
            "dec": "1.5",
            "dt": date(2026, 1, 2),
            "tm": "09:30",
            "one": "yes",
            "many": ["yes", "no"],
            "ack": True,
            "img": "photo.jpg",
            "r": [{"rt": "a"}],
        },
        TODAY,
    )
    assert errors == {}
    assert clean["i"] == 3 and clean["calc"] == "6"  # default, then calculation
    assert clean["dec"] == 1.5 and clean["dt"] == "2026-01-02" and clean["tm"] == "09:30"
    assert clean["many"] == ["yes", "no"] and clean["ack"] == "OK" and clean["img"] == "photo.jpg"
    assert len(clean["r"]) == 3  # repeat_count follows ${i}
    assert "nt" in shown


def test_widget_registry_matches_question_types():
    assert set(WIDGETS) == set(QUESTION_TYPES)


def test_required_constraint_and_type_messages():
    form = load(
        [
            {
                "type": "integer",
                "name": "age",
                ZH: "年龄",
                "required": "yes",
                "required_message::中文 (zh)": "请填年龄",
                "constraint": ". >= 18",
                "constraint_message::中文 (zh)": "须满 18 岁",
            },
            {"type": "integer", "name": "kids", ZH: "孩子数"},
            {"type": "text", "name": "why", ZH: "原因", "required": "${kids} > 2"},
        ]
    )
    _, errors, _ = engine.evaluate_form(form, {}, TODAY)
    assert errors == {"age": "请填年龄"}
    _, errors, _ = engine.evaluate_form(form, {"age": 12, "kids": "x"}, TODAY)
    assert errors == {"age": "须满 18 岁", "kids": "请填写整数。"}
    _, errors, _ = engine.evaluate_form(form, {"age": 30, "kids": 3}, TODAY)
    assert errors == {"why": "此题必答。"}


def test_relevant_hides_and_drops_answers_and_groups_cascade():
    form = load(
        [
            {"type": "select_one yn", "name": "has", ZH: "有吗"},
            {"type": "begin_group", "name": "g", ZH: "组", "relevant": "${has} = 'yes'"},
            {"type": "text", "name": "what", ZH: "是什么", "required": "yes"},
            {"type": "end_group"},
        ],
        YN,
    )
    clean, errors, shown = engine.evaluate_form(form, {"has": "no", "what": "leftover"}, TODAY)
    assert "what" not in clean and "what" not in shown and errors == {}
    clean, errors, _ = engine.evaluate_form(form, {"has": "yes"}, TODAY)
    assert errors == {"what": "此题必答。"}


def test_choice_filter_cascades_on_choice_columns():
    form = load(
        [
            {"type": "select_one district", "name": "district", ZH: "区县"},
            {
                "type": "select_one park",
                "name": "park",
                ZH: "园区",
                "choice_filter": "district = ${district}",
            },
        ],
        [
            {"list_name": "district", "name": "dy", ZH: "丹阳"},
            {"list_name": "district", "name": "yz", ZH: "扬中"},
            {"list_name": "park", "name": "dy1", ZH: "丹阳开发区", "district": "dy"},
            {"list_name": "park", "name": "yz1", ZH: "扬中高新区", "district": "yz"},
        ],
    )
    scope = engine.Scope({"district": "yz"})
    assert [c.name for c in engine.choices_for(form, form.by_name["park"], scope, TODAY)] == ["yz1"]
    _, errors, _ = engine.evaluate_form(form, {"district": "yz", "park": "dy1"}, TODAY)
    assert errors == {"park": "所选选项不在可选范围内。"}


def test_repeat_sees_its_own_instance_and_the_top_level():
    form = load(
        [
            {"type": "integer", "name": "limit", ZH: "上限"},
            {"type": "begin_repeat", "name": "items", ZH: "条目"},
            {"type": "integer", "name": "qty", ZH: "数量", "constraint": ". <= ${limit}"},
            {"type": "text", "name": "why", ZH: "原因", "relevant": "${qty} > 5"},
            {"type": "end_repeat"},
        ]
    )
    clean, errors, shown = engine.evaluate_form(
        form, {"limit": 10, "items": [{"qty": 3}, {"qty": 8, "why": "多"}, {"qty": 11}]}, TODAY
    )
    assert errors == {"items[2].qty": "答案不符合要求。"}
    assert "items[0].why" not in shown and clean["items"][1] == {"qty": 8, "why": "多"}
    rows = engine.flatten(form, clean)
    assert ("qty", "items[1]", 8) in rows
    assert engine.unflatten(form, rows) == clean


# ---- loading errors ------------------------------------------------------------------------------

ERROR_CASES = {
    "duplicate name": (
        [{"type": "text", "name": "a", "label": "A"}, {"type": "text", "name": "a", "label": "B"}],
        None,
        "survey 表第 3 行“name”列：名称“a”重复（第 2 行已有）",
    ),
    "unknown type": (
        [{"type": "texty", "name": "a", "label": "A"}],
        None,
        "第 2 行“type”列：未知题型“texty”",
    ),
    "missing list": (
        [{"type": "select_one nope", "name": "a", "label": "A"}],
        None,
        "选项列表“nope”在 choices 表中不存在",
    ),
    "select without list": (
        [{"type": "select_one", "name": "a", "label": "A"}],
        None,
        "select_one 后须写选项列表名",
    ),
    "bad expression": (
        [{"type": "integer", "name": "a", "label": "A", "constraint": ". >"}],
        None,
        "第 2 行“constraint”列：表达式“. >”有误",
    ),
    "unknown function": (
        [{"type": "integer", "name": "a", "label": "A", "relevant": "frobnicate('x')"}],
        None,
        "不支持的函数 frobnicate()",
    ),
    "unknown reference": (
        [{"type": "integer", "name": "a", "label": "A", "relevant": "${b} > 1"}],
        None,
        "第 2 行“relevant”列：表达式“${b} > 1”有误：引用了不存在的题目 ${b}",
    ),
    "calculation cycle": (
        [
            {"type": "calculate", "name": "x", "calculation": "${y} + 1"},
            {"type": "calculate", "name": "y", "calculation": "${x} + 1"},
        ],
        None,
        "计算互相依赖，形成循环",
    ),
    "self cycle": (
        [{"type": "calculate", "name": "x", "calculation": "${x} + 1"}],
        None,
        "形成循环",
    ),
    "calculate without calculation": (
        [{"type": "calculate", "name": "x"}],
        None,
        "calculate 题必须填写 calculation",
    ),
    "unclosed group": (
        [{"type": "begin_group", "name": "g"}, {"type": "text", "name": "a", "label": "A"}],
        None,
        "begin_group g 没有对应的 end_group",
    ),
    "stray end": ([{"type": "end_repeat"}], None, "end_repeat 没有对应的 begin_repeat"),
    "bad name": ([{"type": "text", "name": "1st", "label": "A"}], None, "名称“1st”不合法"),
    "missing name": ([{"type": "text", "label": "A"}], None, "缺少题目名称"),
    "missing label": ([{"type": "text", "name": "a"}], None, "题目“a”缺少标签"),
    "or_other over a question of that name": (
        [
            {"type": "select_one yn or_other", "name": "a", "label": "A"},
            {"type": "text", "name": "a_other", "label": "B"},
        ],
        YN,
        "名称“a_other”与第 2 行 or_other 自动生成的题目重名",
    ),
    "loop without its end": (
        [
            {"type": "begin loop over yn", "name": "l"},
            {"type": "integer", "name": "n", "label": "N"},
        ],
        YN,
        "第 2 行“type”列：begin loop 没有对应的 end loop",
    ),
    "loop over a list that is not there": (
        [{"type": "begin loop over nolist", "name": "l"}, {"type": "end loop"}],
        YN,
        "第 2 行“type”列：begin loop 的选项列表“nolist”在 choices 表中不存在",
    ),
    "duplicate choice": (
        [{"type": "select_one yn", "name": "a", "label": "A"}],
        [*YN, {"list_name": "yn", "name": "yes", ZH: "重复"}],
        "choices 表第 4 行“name”列",
    ),
    "select_multiple value with a space": (
        [{"type": "select_multiple l", "name": "a", "label": "A"}],
        [{"list_name": "l", "name": "x y", "label": "X"}],
        "第 2 行“type”列：多选题的选项值不能含空格：列表 l 中的“x y”",
    ),
    "colon in a name": (
        [{"type": "text", "name": "a:b", "label": "A"}],
        None,
        "第 2 行“name”列：名称“a:b”不合法",
    ),
    "note without label or hint": (
        [{"type": "note", "name": "n"}],
        None,
        "第 2 行“label”列：题目“n”缺少标签（label）或提示（hint）",
    ),
    "skipped type still needs a label": (
        [{"type": "text", "name": "a", "label": "A"}, {"type": "geopoint", "name": "g"}],
        None,
        "第 3 行“label”列：题目“g”缺少标签",
    ),
    "unknown name in a label": (
        [{"type": "note", "name": "n", "label": "您填的是 ${nobody}"}],
        None,
        "第 2 行“label”列：引用了不存在的题目 ${nobody}",
    ),
    "search appearance": (
        [{"type": "select_one l", "name": "a", "label": "A", "appearance": "search('towns')"}],
        [{"list_name": "l", "name": "x", "label": "X"}],
        "第 2 行“appearance”列：search() 从手机上的 CSV 文件读取选项",
    ),
    "empty form": ([{"type": "", "name": ""}], None, "问卷中没有任何题目"),
}


@pytest.mark.parametrize("case", ERROR_CASES)
def test_loading_errors_name_sheet_row_and_column(case):
    survey, choices, expected = ERROR_CASES[case]
    found = problems_of(survey, choices)
    assert any(expected in p for p in found), found


def test_every_error_is_reported_at_once():
    found = problems_of(
        [
            {"type": "texty", "name": "a", "label": "A"},
            {"type": "integer", "name": "b", "label": "B", "relevant": "${zz}"},
            {"type": "text", "name": "b", "label": "B2"},
        ]
    )
    assert len(found) == 3


def test_the_older_type_spellings_of_pyxform():
    form = load(
        [
            {"type": "add text prompt", "name": "a", ZH: "文本"},
            {"type": "phone number", "name": "tel", ZH: "电话"},
            {"type": "percentage", "name": "pct", ZH: "比例"},
            {"type": "q int", "name": "n", ZH: "整数"},
            {"type": "select one yn", "name": "ok", ZH: "是否"},
            {"type": "add select multiple prompt using yn", "name": "many", ZH: "多选"},
            {"type": "get start time", "name": "started"},
            {"type": "q location", "name": "where", ZH: "位置"},
        ],
        YN,
    )
    kinds = {q.name: q.type for q, _ in form.walk()}
    assert kinds == {
        "a": "text",
        "tel": "text",
        "pct": "integer",
        "n": "integer",
        "ok": "select_one",
        "many": "select_multiple",
    }  # start is metadata and the location cannot be asked here: both left out with a note
    assert form.by_name["tel"].constraint == "regex(., '^\\d*$')"
    assert form.by_name["pct"].constraint == ". >= 0 and . <= 100"
    # spellings that pyxform's dictionary lists but refuses with a list name: refused here too
    said = problems_of([{"type": "select multiple yn", "name": "m", ZH: "多选"}], YN)
    assert said == [
        "survey 表第 2 行“type”列：未知题型“select multiple yn”：多选题请写 select_multiple yn"
    ]
    assert "题型须用小写，写作 text" in problems_of([{"type": "Text", "name": "t", ZH: "文"}])[0]


def test_or_other_adds_the_choice_and_the_question_to_say_what():
    form = load(
        [
            {"type": "select_one yn or_other", "name": "a", ZH: "单选"},
            {"type": "select_multiple yn or_other", "name": "b", ZH: "多选"},
        ],
        YN,
    )
    assert [c.name for c in form.choices[form.by_name["a"].list_name]] == ["yes", "no", "other"]
    assert form.by_name["a_other"].relevant == "${a} = 'other'"
    assert form.by_name["b_other"].relevant == "selected(${b}, 'other')"
    assert [c.name for c in form.choices["yn"]] == ["yes", "no"]  # the list itself unchanged


def test_settings_that_pyxform_accepts():
    form = load([{"type": "text", "name": "a", ZH: "文本"}], settings={"form_id": "my form 2"})
    assert form.form_id == "my_form_2" and any("my_form_2" in w for w in form.warnings)
    twice = [*YN, {"list_name": "yn", "name": "yes", ZH: "是的"}]
    survey = [{"type": "select_one yn", "name": "a", ZH: "是否"}]
    assert any("重复" in p for p in problems_of(survey, twice))
    allowed = load(survey, twice, {"form_id": "t", "allow_choice_duplicates": "yes"})
    assert [c.name for c in allowed.choices["yn"]] == ["yes", "no", "yes"]


def test_a_bare_word_in_a_choice_filter_is_an_empty_column_and_says_to_quote_it():
    """XPath reads a bare word as a child of the choice: a column, empty when there is none.
    pyxform passes it on; so do we, saying how to compare with the text instead."""
    choices = [{**c, "pastel": "yes" if c["name"] == "yes" else ""} for c in YN]
    survey = [{"type": "select_one yn", "name": "a", ZH: "是否", "choice_filter": "pastel=yes"}]
    form = load(survey, choices)
    assert any("“yes”不是题目引用也不是选项列，按 XPath 视为空值" in w for w in form.warnings)
    assert any("比较文字应加引号 'yes'" in w for w in form.warnings)
    shown = engine.choices_for(form, form.by_name["a"], engine.Scope({}, form=form), TODAY)
    assert [c.name for c in shown] == ["no"]  # pastel = "" (the empty column "yes")
    form = load([{**survey[0], "choice_filter": "pastel='yes'"}], choices)
    assert form.by_name["a"].choice_filter == "pastel='yes'" and not form.warnings


def test_a_default_language_without_labels_falls_back_with_a_note():
    form = load(
        [{"type": "text", "name": "a", ZH: "A"}],
        None,
        {"form_id": "has space", "default_language": "Klingon"},
    )  # pyxform accepts it too
    assert form.default_language == "中文 (zh)"
    assert "settings 表默认语言“Klingon”在标签列中不存在，已改用“中文 (zh)”" in form.warnings


def test_what_pyxform_allows_of_names_labels_and_choices():
    form = load(
        [
            {"type": "integer", "name": "人数", "label": "人数"},
            {"type": "text", "name": "why", "hint": "只有提示也可以", "relevant": "${人数} > 1"},
            {"type": "select_one l", "name": "pick", "label": "选"},
        ],
        [{"list_name": "l", "name": "x"}, {"list_name": "", "name": "stray", "label": "?"}],
    )
    assert form.by_name["why"].label() == "只有提示也可以" and form.by_name["why"].hint() == ""
    assert form.choices["l"][0].label() == "x"  # a choice without a label shows its value
    assert "choices 表第 3 行没有选项列表名（list_name），已忽略" in form.warnings


def test_files_that_are_not_forms():
    with pytest.raises(FormLoadError, match="“x.xlsx”不是 Excel 工作簿"):
        load_xlsform(b"not a zip", "x.xlsx")
    from openpyxl import Workbook

    buffer = io.BytesIO()
    Workbook().save(buffer)
    with pytest.raises(FormLoadError, match="缺少 survey 工作表"):
        load_xlsform(buffer.getvalue(), "blank.xlsx")
    real = ROOT / "tests" / "forms" / "real" / "pyxform"
    for name in ("group.xlsx", "group.xls"):  # damaged: cut short, or bytes overwritten
        data = (real / name).read_bytes()
        scribbled = bytearray(data)
        scribbled[len(data) // 3 : len(data) // 3 + 64] = b"\xff" * 64
        for broken in (data[: len(data) // 2], bytes(scribbled)):
            with pytest.raises(FormLoadError) as info:
                load_xlsform(broken, name)
            [problem] = info.value.problems
            assert str(problem).startswith("文件："), problem  # our words, no library's
            assert not re.search(r"[A-Za-z]{4,}(Error|Exception)|warn\(", str(problem)), problem


def test_forms_in_the_style_of_odk_and_kobo_users():
    """Conventions seen in forms made with ODK Build, KoboToolbox and older pyxform: single-colon
    language columns, spaces in types and column names, metadata rows, media and display columns,
    an unsupported question type, and a field-list group."""
    form = load(
        [
            {"type": "start", "name": "start"},
            {"type": "end", "name": "end"},
            {"type": "deviceid", "name": "deviceid"},
            {
                "type": "begin group",
                "name": "household",
                "label:English": "Household",
                "appearance": "field-list",
            },
            {
                "type": "select one from yes_no",
                "name": "head",
                "label:English": "Are you the head?",
                "required": "TRUE",
                "media::image": "head.png",
            },
            {
                "type": "select all that apply from assets",
                "name": "assets",
                "label:English": "Assets",
                "relevant": "selected(${head}, 'yes')",
                "constraint message": "Pick one only",
                "constraint": "count-selected(.) <= 1",
            },
            {"type": "geopoint", "name": "gps", "label:English": "Location"},
            {"type": "end group", "name": ""},
            {
                "type": "integer",
                "name": "members",
                "label:English": "Members",
                "hint:English": "Including you",
                "guidance_hint": "ask kindly",
            },
        ],
        [
            {"list name": "yes_no", "name": "yes", "label:English": "Yes"},
            {"list name": "yes_no", "name": "no", "label:English": "No"},
            {"list name": "assets", "name": "radio", "label:English": "Radio"},
            {"list name": "assets", "name": "bike", "label:English": "Bicycle"},
        ],
        {"form_title": "Household survey", "form_id": "household_2024", "version": "2024031501"},
    )
    assert form.by_name["head"].type == "select_one" and form.by_name["head"].required == "true()"
    assert form.by_name["assets"].type == "select_multiple"
    assert form.by_name["assets"].constraint_message == {"default": "Pick one only"}
    assert form.languages == ["English"]
    warnings = " ".join(form.warnings)
    for expected in (
        "元数据题型 start",
        "元数据题型 deviceid",
        "暂不支持的题型 geopoint",
        "media::image",
        "guidance_hint",
    ):
        assert expected in warnings
    _, errors, _ = engine.evaluate_form(form, {"head": "yes", "assets": ["radio", "bike"]}, TODAY)
    assert errors == {"assets": "Pick one only"}


# ---- versions, answers, export, CLI --------------------------------------------------------------


def _form_v(version: str, label: str) -> bytes:
    return build_xlsform(
        [
            {"type": "text", "name": "q", ZH: label},
            {"type": "begin_repeat", "name": "r", ZH: "重复"},
            {"type": "integer", "name": "n", ZH: "数"},
            {"type": "end_repeat"},
        ],
        None,
        {"form_id": "vt", "version": version, "default_language": "中文 (zh)"},
    )


def test_versions_keep_old_answers_with_their_labels(db, tmp_path):
    v1, _ = questionnaires.save_version(db, SYSTEM, _form_v("1", "旧题目"), "vt.xlsx")
    questionnaires.publish(db, SYSTEM, v1)
    with store.transaction(db):
        questionnaires.save_answers(db, v1, {"q": "旧答案", "r": [{"n": 1}, {"n": 2}]}, visit_id=1)
    v2, _ = questionnaires.save_version(db, SYSTEM, _form_v("2", "新题目"), "vt.xlsx")
    questionnaires.publish(db, SYSTEM, v2)
    assert questionnaires.current(db, SYSTEM, "vt")[0] == v2
    with store.transaction(db):
        questionnaires.save_answers(db, v2, {"q": "新答案", "r": [{"n": 5}]}, visit_id=2)
    form, answers = questionnaires.load_answers(db, visit_id=1)
    assert form.by_name["q"].label() == "旧题目" and answers == {
        "q": "旧答案",
        "r": [{"n": 1}, {"n": 2}],
    }
    with pytest.raises(ValidationError, match="版本 2 已存在"):
        questionnaires.save_version(db, SYSTEM, _form_v("2", "x"), "vt.xlsx")
    target = tmp_path / "answers.xlsx"
    counts = questionnaires.export_answers(db, SYSTEM, "vt", target)
    assert counts == {"submissions": 2, "repeat:r": 3}
    book = load_workbook(target)
    main = list(book["vt"].values)
    assert main[0] == ("_index", "_version", "_visit_id", "_feedback_id", "q")
    assert [row[1:] for row in main[1:]] == [("1", 1, None, "旧答案"), ("2", 2, None, "新答案")]
    assert list(book["r"].values) == [
        ("_parent_index", "_repeat_index", "n"),
        (1, 1, 1),
        (1, 2, 2),
        (2, 1, 5),
    ]


def test_default_forms_are_installed_and_published(db):
    for form_id in ("visit", "feedback"):
        _, form = questionnaires.current(db, SYSTEM, form_id)
        assert form.default_language == "中文 (zh)" and form.warnings == []
    visit = questionnaires.current(db, SYSTEM, "visit")[1]
    assert {
        "output_trend",
        "orders_trend",
        "employment_trend",
        "inspection_count",
        "whitelist",
        "policies_known",
        "earlier_satisfaction",
        "projects",
    } <= set(visit.by_name)


def test_load_form_command(tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "survey", "load-form", "data/forms/visit.xlsx"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and "问卷 visit" in ok.stdout and "select_one 10" in ok.stdout
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(
        build_xlsform(
            [
                {"type": "integer", "name": "a", "label": "A", "relevant": "${b}"},
                {"type": "texty", "name": "c", "label": "C"},
            ]
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "survey", "load-form", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "有 2 处问题" in result.stderr and "第 3 行“type”列" in result.stderr


def test_repeat_values_read_from_outside_choice_names_and_filled_labels():
    form = load(
        [
            {"type": "select_one yn", "name": "own", ZH: "自有厂房"},
            {"type": "begin_repeat", "name": "lines", ZH: "产线"},
            {"type": "integer", "name": "staff", ZH: "第 ${n_line} 条产线人数"},
            {"type": "calculate", "name": "n_line", "calculation": "position(..)"},
            {"type": "end_repeat"},
            {"type": "calculate", "name": "total", "calculation": "sum(${staff})"},
            {"type": "calculate", "name": "lines_n", "calculation": "count(${lines})"},
            {
                "type": "calculate",
                "name": "second",
                "calculation": "indexed-repeat(${staff}, ${lines}, 2)",
            },
            {
                "type": "calculate",
                "name": "own_label",
                "calculation": "jr:choice-name(${own}, '${own}')",
            },
            {
                "type": "note",
                "name": "sum_note",
                ZH: "共 ${lines_n} 条产线、${total} 人（${own_label}）",
            },
        ],
        YN,
    )
    answers = {"own": "yes", "lines": [{"staff": 12}, {"staff": 30}]}
    clean, errors, _ = engine.evaluate_form(form, answers, TODAY)
    assert errors == {}
    assert [i["n_line"] for i in clean["lines"]] == ["1", "2"]
    assert (clean["total"], clean["lines_n"], clean["second"]) == ("42", "2", "30")
    assert clean["own_label"] == "是"
    scope = engine.Scope(clean, form=form)
    assert engine.fill(form.by_name["sum_note"].label(), scope) == "共 2 条产线、42 人（是）"
    empty, _, _ = engine.evaluate_form(form, {"own": "no", "lines": []}, TODAY)
    assert (empty["total"], empty["lines_n"]) == ("0", "0")


# ---- what pyxform accepts and real forms use (tests/forms/real) ----------------------------------


@pytest.mark.store_independent
def test_begin_loop_asks_its_rows_once_per_choice_as_pyxform_expands_it():
    form = load(
        [
            {"type": "begin loop over kinds", "name": "per_kind", "label": "每类"},
            {"type": "integer", "name": "number", "label": "%(label)s有几个？"},
            {"type": "text", "name": "note_%(name)s", "label": "说明"},
            {"type": "end loop"},
        ],
        [
            {"list_name": "kinds", "name": "pit", "label": "旱厕"},
            {"list_name": "kinds", "name": "flush", "label": "水厕"},
            {"list_name": "kinds", "name": "none", "label": "没有"},
        ],
    )
    [loop] = form.questions
    assert (loop.type, loop.name) == ("begin_group", "per_kind")
    assert [(g.name, g.label()) for g in loop.children] == [
        ("per_kind_pit", "旱厕"),
        ("per_kind_flush", "水厕"),
    ]  # "none" is left out, as pyxform leaves it
    assert [q.name for q in loop.children[0].children] == ["number_pit", "note_pit"]
    assert loop.children[1].children[0].label() == "水厕有几个？"


@pytest.mark.store_independent
def test_select_one_external_reads_the_external_choices_sheet_with_its_filter():
    form = load_xlsform(
        build_xlsform(
            [
                {"type": "select_one yn", "name": "big", "label": "大城市？"},
                {
                    "type": "select_one_external city",
                    "name": "city",
                    "label": "城市",
                    "choice_filter": "big=${big}",
                },
            ],
            YN,
            {"form_id": "t"},
            {
                "external_choices": [
                    {"list_name": "city", "name": "sh", "label": "上海", "big": "yes"},
                    {"list_name": "city", "name": "zj", "label": "镇江", "big": "no"},
                ]
            },
        ),
        "t.xlsx",
    )
    city = form.by_name["city"]
    assert city.type == "select_one" and city.list_name == "city"
    shown = engine.choices_for(form, city, engine.Scope({"big": "no"}, form=form), TODAY)
    assert [c.name for c in shown] == ["zj"]


@pytest.mark.store_independent
def test_what_a_browser_cannot_ask_is_accepted_and_said():
    """osm (OpenMapKit), a choice file not uploaded, pulldata without its file, last-saved and a
    form with nothing to ask: accepted as pyxform accepts them, the notes say what is not asked
    or filled, and the admin decides whether to publish."""
    form = load(
        [
            {"type": "osm building_tags", "name": "building", "label": "建筑"},
            {"type": "select_one_from_file towns.csv", "name": "town", "label": "镇"},
            {
                "type": "text",
                "name": "a",
                "label": "A ${town}",
                "relevant": "${building} = ''",
                "default": "${last-saved#a}",
            },
            {
                "type": "calculate",
                "name": "price",
                "calculation": "pulldata('prices', 'p', 'k', ${a})",
            },
        ],
    )
    assert [q.name for q, _ in form.walk()] == ["a", "price"]
    said = "\n".join(form.warnings)
    assert "第 2 行：OpenMapKit（osm）题要在手机上用 OpenMapKit 应用" in said
    assert "第 3 行：选项文件“towns.csv”未随问卷上传" in said and "该题不会显示" in said
    assert "第 4 行“relevant”列引用了不会显示的题目 ${building}（osm），按未作答计算" in said
    assert "第 4 行“default”列的 last-saved（手机上次保存的答案）网页问卷没有" in said
    assert (
        "第 5 行“calculation”列从文件“prices”取值（pulldata/instance），该文件未随问卷上传" in said
    )
    nothing = load([{"type": "geopoint", "name": "where", "label": "位置"}])
    assert nothing.questions == []
    assert nothing.warnings[0].startswith("问卷中没有可在网页中填写的题目")


@pytest.mark.store_independent
def test_pulldata_and_instance_lookups_read_the_file_uploaded_with_the_form():
    csv = "k,p,label\napple,3.5,苹果\npear,2,梨\n".encode()
    form = load_xlsform(
        build_xlsform(
            [
                {"type": "text", "name": "fruit", "label": "水果"},
                {
                    "type": "calculate",
                    "name": "price",
                    "calculation": "pulldata('prices', 'p', 'k', ${fruit})",
                },
                {
                    "type": "calculate",
                    "name": "zh",
                    "calculation": "instance(‘prices’)/root/item[k = ${fruit}]/label",
                },
            ],
            None,
            {"form_id": "t"},
        ),
        "t.xlsx",
        {"prices.csv": csv},
    )
    values, _errors, _shown = engine.evaluate_form(form, {"fruit": "pear"}, TODAY)
    assert (values["price"], values["zh"]) == ("2", "梨")
    assert form.files == ["prices.csv"]


@pytest.mark.store_independent
def test_rows_pyxform_accepts_that_we_refused():
    form = load(
        [
            {"type": "start", "name": "start"},
            {"type": "note", "label": "开始于 ${start}"},  # a note without a name, a metadata ref
            {"type": "begin_group", "name": "bridge", "label": "桥"},  # a group, a question's name
            {"type": "select_one yn", "name": "bridge", "label": "桥？", "required": "=FALSE()"},
            {"type": "integer", "name": "n", "media::image": "a.jpg"},  # only an image for label
            {"type": "end_group"},
        ],
        YN,
    )
    names = [q.name for q, _ in form.walk()]
    assert names == ["generated_note_name_3", "bridge_group", "bridge", "n"]
    assert form.by_name["bridge"].type == "select_one" and not form.by_name["bridge"].required
    said = "\n".join(form.warnings)
    assert "第 4 行：分组名“bridge”与第 5 行的题目同名，分组已改名为“bridge_group”" in said
    siblings = problems_of(  # siblings of one name: refused, as pyxform refuses them
        [
            {"type": "select_one yn", "name": "bridge", "label": "桥？"},
            {"type": "begin_group", "name": "bridge", "label": "桥"},
            {"type": "note", "name": "n", "label": "N"},
            {"type": "end_group"},
        ],
        YN,
    )
    assert "survey 表第 3 行“name”列：名称“bridge”重复（第 2 行已有）" in siblings
    assert "第 6 行：题目“n”只有图片标签（a.jpg），网页问卷不显示图片，以题目名称“n”作标题" in said
    assert form.by_name["n"].label() == "n"
