"""The survey sheet: its rows as a tree of questions (groups and repeats), each type read with its
spellings, names checked, or_other expanded, choice lists from the choices sheet or an uploaded
file."""

from __future__ import annotations

import re

from survey.xlsform import choice_files
from survey.xlsform.loops import expand_loops
from survey.xlsform.model import QUESTION_TYPES, Choice, Question
from survey.xlsform.problems import Reading
from survey.xlsform.vocabulary import (
    ALIAS_CONSTRAINTS,
    FALSE_WORDS,
    METADATA_TYPES,
    MULTIWORD_ALIASES,
    NAME_RE,
    SURVEY_COLUMNS,
    TRUE_WORDS,
    TYPE_ALIASES,
    UNSUPPORTED_INPUTS,
    UNSUPPORTED_WHY,
    unknown_type,
)
from survey.xlsform.workbook import read_sheet, split_column


def read_survey(r: Reading, book, choices: dict[str, list[Choice]]) -> list[Question]:
    rows = read_sheet(book, "survey")
    if rows is None:
        r.error("survey", None, None, "缺少 survey 工作表")
        return []
    rows = expand_loops(r, rows, choices)
    root: list[Question] = []
    stack: list[tuple[Question, int]] = []
    names: dict[str, int] = {}
    generated: set[str] = set()  # names or_other made
    groups: dict[str, Question] = {}  # by name, for a question that comes after its namesake
    for number, values, _ in rows:
        cols = r.columns("survey", values, SURVEY_COLUMNS)
        plain, texts = cols["plain"], cols["texts"]
        raw_type = plain.get("type", "").strip()
        if not raw_type:
            if any(plain.values()) or texts:
                r.error("survey", number, "type", "缺少题型")
            continue
        normalized = re.sub(r"\s+", " ", raw_type)
        legacy = re.match(r"(?i)^select (one|all that apply) from (\S+)(.*)$", normalized)
        if legacy:  # the older "select one from LIST" spelling
            kinds = {"one": "select_one", "all that apply": "select_multiple"}
            suffix = " or_other" if "specify other" in legacy.group(3) else legacy.group(3)
            normalized = f"{kinds[legacy.group(1).lower()]} {legacy.group(2)}{suffix}"
        if normalized.lower().startswith(("begin loop", "end loop")):  # left by expand_loops
            r.error("survey", number, "type", "end loop 没有对应的 begin loop")
            continue
        kind, _, rest = normalized.partition(" ")
        alias_used = None
        for alias in MULTIWORD_ALIASES:  # the longest first: "select one using" before "select one"
            lowered = normalized.lower()
            if lowered == alias or lowered.startswith(alias + " "):
                kind, rest = TYPE_ALIASES[alias], normalized[len(alias) :].strip()
                alias_used = alias
                break
        if alias_used is None and kind.lower() in ALIAS_CONSTRAINTS:
            alias_used = kind.lower()
        kind = TYPE_ALIASES.get(kind, kind) or kind
        name = plain.get("name", "")
        if kind == "note" and not name:  # pyxform names it; so do we
            name = f"generated_note_name_{number}"
        container = stack[-1][0].children if stack else root
        if (
            name in names
            and NAME_RE.match(name)
            and (kind == "begin_group" or name in groups)
            and not any(q.name == name for q in container)  # siblings: refused, as by pyxform
        ):
            # pyxform scopes names by group, so a group may share a question's name; here names
            # key the answers, so the group is renamed (it holds no answer; ${name} is the question)
            group = None if kind == "begin_group" else groups.pop(name)
            renamed = _group_name(name, names)
            r.warnings.append(
                f"survey 表第 {group.row if group else number} 行：分组名“{name}”与第 "
                f"{number if group else names[name]} 行的题目同名，分组已改名为“{renamed}”"
                f"（${{{name}}} 仍指那道题）"
            )
            if group is None:
                name = renamed
            else:
                group.name = renamed
                names[renamed] = group.row
                del names[name]
        if kind in ("end_group", "end_repeat"):
            opener = "begin_group" if kind == "end_group" else "begin_repeat"
            if not stack or stack[-1][0].type != opener:
                r.error("survey", number, "type", f"{kind} 没有对应的 {opener}")
            else:
                stack.pop()
            continue
        if kind == "audit" and name not in ("", "audit"):
            r.error("survey", number, "name", "audit 题的名称须为 audit（或留空）")
            continue
        if kind == "background-geopoint" and not any(
            v for k, v in values.items() if k.strip().lower() == "trigger"
        ):
            r.error("survey", number, "type", "background-geopoint 须在 trigger 列写明触发它的题目")
            continue
        if kind in METADATA_TYPES | UNSUPPORTED_INPUTS and not (kind == "audit" and not name):
            if not name_ok(r, number, name, names, generated):
                continue
            names[name] = number
        if kind in METADATA_TYPES:
            r.warnings.append(f"survey 表第 {number} 行：元数据题型 {kind}（{name}）已忽略")
            if name:
                r.ignored_questions[name] = kind
            continue
        image = image_of(values)
        if kind in UNSUPPORTED_INPUTS:
            if not texts.get("label") and not texts.get("hint") and not image and kind != "hidden":
                r.error("survey", number, "label", f"题目“{name}”缺少标签（label）或提示（hint）")
            why = UNSUPPORTED_WHY.get(kind, f"暂不支持的题型 {kind}")
            r.warnings.append(f"survey 表第 {number} 行：{why}（{name}），该题不会显示")
            if name:
                r.ignored_questions[name] = kind
            continue
        from_file = None
        if kind in choice_files.KINDS:
            from_file = file_list(r, number, kind, rest, plain.get("parameters", ""), choices)
            if from_file is None:
                if name_ok(r, number, name, names, generated):
                    names[name] = number
                    r.ignored_questions.setdefault(name, kind)
                continue
            kind = choice_files.KINDS[kind]
        elif plain.get("parameters"):
            r.ignored_columns.add(("survey", "parameters"))
        if kind not in QUESTION_TYPES:
            r.error("survey", number, "type", unknown_type(raw_type))
            continue
        list_name = None
        if from_file is not None:
            list_name = from_file
        elif QUESTION_TYPES[kind].get("list"):
            parts = rest.split()
            or_other = "or_other" in parts
            parts = [p for p in parts if p != "or_other"]
            if not parts:
                r.error("survey", number, "type", f"{kind} 后须写选项列表名")
                continue
            list_name = parts[0]
            if list_name not in choices:
                sheet = "external_choices" if "external" in raw_type.lower() else "choices"
                r.error("survey", number, "type", f"选项列表“{list_name}”在 {sheet} 表中不存在")
            elif or_other:  # as pyxform: an "other" choice, and a question to say what
                other_list = f"{list_name}__or_other"
                if other_list not in choices:
                    other = Choice(
                        "other",
                        {
                            "default": "其他",
                            **{
                                lang: "Other"
                                for lang in r.languages
                                if lang.lower().startswith("english")
                            },
                        },
                    )
                    choices[other_list] = [*choices[list_name], other]
                list_name = other_list
        elif rest and kind not in ("begin_group", "begin_repeat"):
            r.error("survey", number, "type", f"未知题型“{raw_type}”")
            continue
        if not name_ok(r, number, name, names, generated):
            continue
        names[name] = number
        required = plain.get("required", "").strip()
        if required.lower() in TRUE_WORDS:
            required = "true()"
        elif required.lower() in FALSE_WORDS:
            required = ""
        read_only = plain.get("read_only", "").strip().lower() in TRUE_WORDS
        question = Question(
            row=number,
            type=kind,
            name=name,
            labels=texts.get("label", {}),
            hints=texts.get("hint", {}),
            list_name=list_name,
            required=required,
            required_message=texts.get("required_message", {}),
            relevant=plain.get("relevant", ""),
            constraint=plain.get("constraint", ""),
            constraint_message=texts.get("constraint_message", {}),
            default=plain.get("default", ""),
            read_only=read_only,
            appearance=plain.get("appearance", ""),
            choice_filter=plain.get("choice_filter", ""),
            calculation=plain.get("calculation", ""),
            repeat_count=plain.get("repeat_count", ""),
        )
        if alias_used in ALIAS_CONSTRAINTS and not question.constraint:
            question.constraint, message = ALIAS_CONSTRAINTS[alias_used]
            question.constraint_message = question.constraint_message or {"default": message}
        if list_name and list_name.endswith("__or_other"):
            pending_other = Question(
                row=number,
                type="text",
                name=f"{name}_other",
                labels={"default": "请注明其他"},
                relevant=(
                    f"selected(${{{name}}}, 'other')"
                    if kind == "select_multiple"
                    else f"${{{name}}} = 'other'"
                ),
            )
        else:
            pending_other = None
        if alias_used in ("add calculate prompt", "q calculate") and not question.calculation:
            question.calculation = "''"  # pyxform's older spellings do not require one
        if kind == "calculate" and not question.calculation:
            r.error("survey", number, "calculation", "calculate 题必须填写 calculation")
        if (
            not question.labels
            and not question.hints
            and (QUESTION_TYPES[kind]["input"] or kind == "note")
        ):  # as pyxform: a hint alone will do, or an image
            if image:
                question.labels = {"default": name}
                r.warnings.append(
                    f"survey 表第 {number} 行：题目“{name}”只有图片标签（{image}），"
                    f"网页问卷不显示图片，以题目名称“{name}”作标题"
                )
            else:
                r.error("survey", number, "label", f"题目“{name}”缺少标签（label）或提示（hint）")
        if "search(" in question.appearance.replace(" ", ""):
            r.error(
                "survey",
                number,
                "appearance",
                "search() 从手机上的 CSV 文件读取选项，网页问卷不支持；"
                "请改用 select_one_from_file 并把该 CSV 随问卷上传",
            )
        (stack[-1][0].children if stack else root).append(question)
        if pending_other is not None:
            if pending_other.name in names:
                r.error(
                    "survey",
                    number,
                    "name",
                    f"or_other 要生成的题目“{pending_other.name}”已存在",
                )
            else:
                names[pending_other.name] = number
                generated.add(pending_other.name)
                (stack[-1][0].children if stack else root).append(pending_other)
        if kind in ("begin_group", "begin_repeat"):
            stack.append((question, number))
            if kind == "begin_group":
                groups[name] = question
    for question, number in stack:
        end = "end_group" if question.type == "begin_group" else "end_repeat"
        r.error("survey", number, "type", f"{question.type} {question.name} 没有对应的 {end}")
    return root


def name_ok(r: Reading, number: int, name: str, names: dict, generated: set) -> bool:
    """A row's name is present, valid and not taken (reported when not)."""
    if not name:
        r.error("survey", number, "name", "缺少题目名称（name）")
        return False
    if not NAME_RE.match(name):
        r.error(
            "survey",
            number,
            "name",
            f"名称“{name}”不合法：须以字母、汉字或下划线开头，"
            "只含字母、汉字、数字和 _ . -（不能有空格或冒号）",
        )
        return False
    if name in names:
        where = names[name]
        said = (
            f"名称“{name}”与第 {where} 行 or_other 自动生成的题目重名"
            if name in generated
            else f"名称“{name}”重复（第 {where} 行已有）"
        )
        r.error("survey", number, "name", said)
        return False
    return True


def file_list(
    r: Reading, number: int, kind: str, rest: str, raw_parameters: str, choices: dict
) -> str | None:
    """The choice list read from the CSV a select_*_from_file row names, or None (reported)."""
    list_name = rest.strip()
    if not list_name or " " in list_name:
        r.error("survey", number, "type", f"{kind} 后须写一个选项文件名，如 companies.csv")
        return None
    why = choice_files.check_name(list_name, kind)
    if why:
        r.error("survey", number, "type", why)
        return None
    try:
        params = choice_files.parameters(raw_parameters)
    except choice_files.ChoiceFileError as exc:
        r.error("survey", number, "parameters", str(exc))
        return None
    geojson = list_name.lower().endswith(".geojson")
    default_value, default_label = ("id", "title") if geojson else ("name", "label")
    value, label = params.get("value", default_value), params.get("label", default_label)
    key = choice_files.list_key(list_name, value, label)
    if key in choices:
        return key  # read once
    if key in r.bad_files:
        return None  # reported once
    data = r.files.get(list_name)
    if data is None or list_name.lower().endswith(".xml"):
        # accepted, as pyxform accepts it: the question is not shown, and the notes say why
        why = (
            "XML 选项文件网页问卷不能读取"
            if data is not None or list_name.lower().endswith(".xml")
            else f"选项文件“{list_name}”未随问卷上传（上传问卷时一并选择该文件即可显示此题"
            f"，{'GeoJSON 要素的 ' if geojson else ''}{value}、{label} 两列）"
        )
        r.warnings.append(f"survey 表第 {number} 行：{why}，该题不会显示")
        r.bad_files.add(key)
        return None
    reader = choice_files.read_geojson if geojson else choice_files.read
    try:
        options, languages = reader(list_name, data, value, label)
    except (choice_files.ChoiceFileError, ExceptionGroup) as caught:
        for exc in getattr(caught, "exceptions", [caught]):
            r.error(list_name, exc.row, exc.column, str(exc))
        r.bad_files.add(key)
        return None
    for lang in languages:
        if lang not in r.languages:
            r.languages.append(lang)
    choices[key] = options
    if list_name not in r.used_files:
        r.used_files.append(list_name)
    return key


def image_of(values: dict[str, str]) -> str:
    """The image a row shows as (part of) its label: an `image` or `media::image` column."""
    for raw, value in values.items():
        base, lang = split_column(raw)
        media = base == "media" and (lang or "").startswith("image")
        if value and (base in ("image", "media:image") or media):
            return value
    return ""


def _group_name(name: str, names: dict) -> str:
    return next(n for i in range(1, 99) if (n := f"{name}_group{i if i > 1 else ''}") not in names)
