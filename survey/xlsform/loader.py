"""Reading an XLSForm .xlsx into a Form. Every error names sheet, row and column, in Chinese; what
the file uses that we do not support is either listed as ignored (metadata, display-only columns) or
refused with a message, never silently changed.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from openpyxl import load_workbook

from survey.spreadsheets import SpreadsheetTooLargeError, check_xlsx
from survey.xlsform import choice_files
from survey.xlsform import expressions as ex
from survey.xlsform.model import QUESTION_TYPES, Choice, Form, Question


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.sheet == "文件":
            where = self.sheet
        elif "." in self.sheet:  # a file uploaded with the form, such as a choices CSV
            where = f"文件 {self.sheet} "
        else:
            where = f"{self.sheet} 表"
        if self.row:
            where += f"第 {self.row} 行"
        if self.column:
            where += f"“{self.column}”列"
        return f"{where}：{self.message}"


class FormLoadError(Exception):
    """The form cannot be used; `problems` lists every error found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


NAME_RE = re.compile(r"^[^\W\d][\w.-]*$")  # an XML name without a namespace: 题目 is one
FORM_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
TYPE_ALIASES = {
    "begin group": "begin_group",
    "end group": "end_group",
    "begin repeat": "begin_repeat",
    "end repeat": "end_repeat",
    "select one": "select_one",
    "select_one_external": None,
    "int": "integer",
    "photo": "image",
    "string": "text",
    "select1": "select_one",
    # pyxform's question-type dictionary (its all.xls): the older English spellings
    "add text prompt": "text",
    "q string": "text",
    "phone number": "text",
    "add integer prompt": "integer",
    "q int": "integer",
    "percentage": "integer",
    "add decimal prompt": "decimal",
    "q decimal": "decimal",
    "add date prompt": "date",
    "q date": "date",
    "add note prompt": "note",
    "q note": "note",
    "add calculate prompt": "calculate",
    "q calculate": "calculate",
    "add image prompt": "image",
    "q image": "image",
    "q picture": "image",
    "add acknowledge prompt": "acknowledge",
    "q acknowledge": "acknowledge",
    "add select one prompt using": "select_one",
    "select all that apply from": "select_multiple",
    "select all that apply": "select_multiple",
    "add select multiple prompt using": "select_multiple",
    "get start time": "start",
    "start time": "start",
    "get end time": "end",
    "end time": "end",
    "get today": "today",
    "device id": "deviceid",
    "get device id": "deviceid",
    "sim id": "simserial",
    "get sim id": "simserial",
    "subscriber id": "subscriberid",
    "get subscriber id": "subscriberid",
    "get phone number": "phonenumber",
    "add date time prompt": "dateTime",
    "q date time": "dateTime",
    "date time": "dateTime",
    "add location prompt": "geopoint",
    "q location": "geopoint",
    "q geopoint": "geopoint",
    "location": "geopoint",
    "gps": "geopoint",
    "add audio prompt": "audio",
    "q audio": "audio",
    "add video prompt": "video",
    "q video": "video",
    "add barcode prompt": "barcode",
    "q barcode": "barcode",
    "add file prompt": "file",
}
# What pyxform's dictionary adds to two of those when the row gives no constraint of its own.
ALIAS_CONSTRAINTS = {
    "phone number": ("regex(., '^\\d*$')", "只能填写数字"),
    "percentage": (". >= 0 and . <= 100", "应在 0–100 之间"),
}
MULTIWORD_ALIASES = sorted((a for a in TYPE_ALIASES if " " in a), key=len, reverse=True)
# Recorded by the phone in ODK, nothing to ask: ignored with a note.
METADATA_TYPES = {
    "start",
    "end",
    "today",
    "deviceid",
    "subscriberid",
    "simserial",
    "phonenumber",
    "username",
    "email",
    "audit",
    "start-geopoint",
    "imei",
    "uri:deviceid",
    "background-geopoint",
}
# Questions we cannot ask on this app: ignored with a warning unless an expression needs them.
UNSUPPORTED_INPUTS = {
    "geopoint",
    "geotrace",
    "geoshape",
    "audio",
    "video",
    "file",
    "barcode",
    "range",
    "rank",
    "hidden",
    "datetime",
    "dateTime",
    "background-audio",
    "xml-external",
    "csv-external",
    "trigger",
}
SURVEY_COLUMNS = {
    "type",
    "name",
    "label",
    "hint",
    "required",
    "required_message",
    "relevant",
    "constraint",
    "constraint_message",
    "default",
    "read_only",
    "appearance",
    "choice_filter",
    "calculation",
    "repeat_count",
    "parameters",
}
TRANSLATABLE = {"label", "hint", "required_message", "constraint_message"}
COLUMN_ALIASES = {
    "required message": "required_message",
    "constraint message": "constraint_message",
    "read only": "read_only",
    "choice filter": "choice_filter",
    "repeat count": "repeat_count",
    "calculate": "calculation",
    "list name": "list_name",
    "caption": "label",
}
# Display-only or bind columns we do not apply: listed as ignored.
IGNORED_COLUMN_PREFIXES = (
    "media",
    "image",
    "audio",
    "video",
    "big-image",
    "guidance_hint",
    "bind",
    "body",
    "instance",
    "note",
    "trigger",
    "tag",
    "label_column",
    "autoplay",
)
TRUE_WORDS = {"yes", "true", "true()", "1", "y", "是"}
FALSE_WORDS = {"", "no", "false", "false()", "0", "n", "否"}


def _unknown_type(raw_type: str) -> str:
    said = f"未知题型“{raw_type}”"
    words = raw_type.lower().split()
    if words[:2] == ["select", "multiple"] and len(words) > 2:
        return f"{said}：多选题请写 select_multiple {words[-1]}"
    if raw_type.lower() in QUESTION_TYPES and raw_type not in QUESTION_TYPES:
        return f"{said}：题型须用小写，写作 {raw_type.lower()}"
    return said


def _split_column(raw: str) -> tuple[str, str | None]:
    """'label::中文 (zh)' -> ('label', '中文 (zh)'); aliases folded; lower case base."""
    text = str(raw).strip()
    base, _, lang = text.partition("::")
    if not _ and ":" in text and text.split(":")[0].strip().lower() in TRANSLATABLE:
        base, _, lang = text.partition(":")
    base = base.strip().lower()
    base = COLUMN_ALIASES.get(base, base.replace(" ", "_"))
    return base, (lang.strip() or None)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_sheet(workbook, name: str) -> list[tuple[int, dict[str, str], dict[str, str]]] | None:
    """(row number, {column: value}, {column: original header}) per non-empty row; None if absent."""
    sheet = next((ws for ws in workbook.worksheets if ws.title.strip().lower() == name), None)
    if sheet is None:
        return None
    rows = sheet.iter_rows(values_only=True)
    try:
        header = next(rows)
    except StopIteration:
        return []
    keys = [str(h).strip() if h is not None else "" for h in header]
    out = []
    for number, row in enumerate(rows, start=2):
        values = {k: _cell(v) for k, v in zip(keys, row, strict=False) if k}
        if any(values.values()):
            out.append((number, values, {k: k for k in keys if k}))
    return out


class _Loader:
    def __init__(self, workbook, filename: str, files: dict[str, bytes] | None = None):
        self.workbook = workbook
        self.filename = filename
        self.files = files or {}
        self.used_files: list[str] = []
        self.bad_files: set[str] = set()
        self.errors: list[Problem] = []
        self.warnings: list[str] = []
        self.languages: list[str] = []
        self.ignored_columns: set[tuple[str, str]] = set()

    def error(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        self.errors.append(Problem(sheet, row, column, message))

    # -- columns -------------------------------------------------------------------------------
    def columns(self, sheet: str, values: dict[str, str], allowed: set[str]) -> dict:
        """Fold a row's columns into {base: value} and {base: {lang: text}} for translatable ones."""
        plain: dict[str, str] = {}
        texts: dict[str, dict[str, str]] = {}
        for raw, value in values.items():
            base, lang = _split_column(raw)
            if base in TRANSLATABLE:
                key = lang or "default"
                if lang and lang not in self.languages:
                    self.languages.append(lang)
                if value:
                    texts.setdefault(base, {})[key] = value
            elif base in allowed:
                plain[base] = value
            elif base.startswith(IGNORED_COLUMN_PREFIXES) or value:
                self.ignored_columns.add((sheet, raw))
        return {"plain": plain, "texts": texts}

    # -- settings ------------------------------------------------------------------------------
    def settings(self) -> dict[str, str]:
        rows = _read_sheet(self.workbook, "settings") or []
        if not rows:
            return {}
        _number, values, _ = rows[0]
        return {_split_column(k)[0]: v for k, v in values.items()}

    # -- choices -------------------------------------------------------------------------------
    def choices(self, allow_duplicates: bool = False) -> dict[str, list[Choice]]:
        rows = _read_sheet(self.workbook, "choices")
        if rows is None:
            rows = _read_sheet(self.workbook, "external_choices") or []
        lists: dict[str, list[Choice]] = {}
        seen: dict[tuple[str, str], int] = {}
        for number, values, _ in rows:
            folded = {}
            extra = {}
            labels: dict[str, str] = {}
            for raw, value in values.items():
                base, lang = _split_column(raw)
                if base == "label":
                    if value:
                        labels[lang or "default"] = value
                        if lang and lang not in self.languages:
                            self.languages.append(lang)
                elif base in ("list_name", "name"):
                    folded[base] = value
                elif base.startswith(IGNORED_COLUMN_PREFIXES):
                    if value:
                        self.ignored_columns.add(("choices", raw))
                else:
                    extra[raw.strip()] = value
            list_name, name = folded.get("list_name", ""), folded.get("name", "")
            if not list_name:  # pyxform passes over such rows; so do we, and say so
                self.warnings.append(f"choices 表第 {number} 行没有选项列表名（list_name），已忽略")
                continue
            if name == "":
                self.error("choices", number, "name", "缺少选项值")
                continue
            if (list_name, name) in seen and not allow_duplicates:
                self.error(
                    "choices",
                    number,
                    "name",
                    f"列表 {list_name} 中选项值“{name}”重复（第 {seen[(list_name, name)]} 行已有）",
                )
                continue
            seen[(list_name, name)] = number
            lists.setdefault(list_name, []).append(Choice(name, labels, extra))
        return lists

    # -- survey --------------------------------------------------------------------------------
    def survey(self, choices: dict[str, list[Choice]]) -> list[Question]:
        rows = _read_sheet(self.workbook, "survey")
        if rows is None:
            self.error("survey", None, None, "缺少 survey 工作表")
            return []
        root: list[Question] = []
        stack: list[tuple[Question, int]] = []
        names: dict[str, int] = {}
        generated: set[str] = set()  # names or_other made
        self.ignored_questions: dict[str, str] = {}
        for number, values, _ in rows:
            cols = self.columns("survey", values, SURVEY_COLUMNS)
            plain, texts = cols["plain"], cols["texts"]
            raw_type = plain.get("type", "").strip()
            if not raw_type:
                if any(plain.values()) or texts:
                    self.error("survey", number, "type", "缺少题型")
                continue
            normalized = re.sub(r"\s+", " ", raw_type)
            legacy = re.match(r"(?i)^select (one|all that apply) from (\S+)(.*)$", normalized)
            if legacy:  # the older "select one from LIST" spelling
                kinds = {"one": "select_one", "all that apply": "select_multiple"}
                suffix = " or_other" if "specify other" in legacy.group(3) else legacy.group(3)
                normalized = f"{kinds[legacy.group(1).lower()]} {legacy.group(2)}{suffix}"
            if normalized.lower().startswith(("begin loop", "end loop")):
                if normalized.lower().startswith("begin loop"):
                    self.error("survey", number, "type", "暂不支持 begin loop，请改用 begin_repeat")
                continue
            kind, _, rest = normalized.partition(" ")
            alias_used = None
            for (
                alias
            ) in MULTIWORD_ALIASES:  # the longest first: "select one using" before "select one"
                lowered = normalized.lower()
                if lowered == alias or lowered.startswith(alias + " "):
                    kind, rest = TYPE_ALIASES[alias], normalized[len(alias) :].strip()
                    alias_used = alias
                    break
            if alias_used is None and kind.lower() in ALIAS_CONSTRAINTS:
                alias_used = kind.lower()
            kind = TYPE_ALIASES.get(kind, kind) or kind
            name = plain.get("name", "")
            if kind in ("end_group", "end_repeat"):
                opener = "begin_group" if kind == "end_group" else "begin_repeat"
                if not stack or stack[-1][0].type != opener:
                    self.error("survey", number, "type", f"{kind} 没有对应的 {opener}")
                else:
                    stack.pop()
                continue
            if kind == "audit" and name not in ("", "audit"):
                self.error("survey", number, "name", "audit 题的名称须为 audit（或留空）")
                continue
            if kind == "background-geopoint" and not any(
                v for k, v in values.items() if k.strip().lower() == "trigger"
            ):
                self.error(
                    "survey", number, "type", "background-geopoint 须在 trigger 列写明触发它的题目"
                )
                continue
            if kind in METADATA_TYPES | UNSUPPORTED_INPUTS and not (kind == "audit" and not name):
                if not self.name_ok(number, name, names, generated):
                    continue
                names[name] = number
            if kind in METADATA_TYPES:
                self.warnings.append(f"survey 表第 {number} 行：元数据题型 {kind}（{name}）已忽略")
                continue
            if kind in UNSUPPORTED_INPUTS:
                if not texts.get("label") and not texts.get("hint") and kind != "hidden":
                    self.error(
                        "survey", number, "label", f"题目“{name}”缺少标签（label）或提示（hint）"
                    )
                self.warnings.append(
                    f"survey 表第 {number} 行：暂不支持的题型 {kind}（{name}），该题不会显示"
                )
                if name:
                    self.ignored_questions[name] = kind
                continue
            from_file = None
            if kind in choice_files.KINDS:
                from_file = self.file_list(number, kind, rest, plain.get("parameters", ""), choices)
                if from_file is None:
                    continue
                kind = choice_files.KINDS[kind]
            elif plain.get("parameters"):
                self.ignored_columns.add(("survey", "parameters"))
            if kind not in QUESTION_TYPES:
                self.error("survey", number, "type", _unknown_type(raw_type))
                continue
            list_name = None
            if from_file is not None:
                list_name = from_file
            elif QUESTION_TYPES[kind].get("list"):
                parts = rest.split()
                or_other = "or_other" in parts
                parts = [p for p in parts if p != "or_other"]
                if not parts:
                    self.error("survey", number, "type", f"{kind} 后须写选项列表名")
                    continue
                list_name = parts[0]
                if list_name not in choices:
                    self.error(
                        "survey", number, "type", f"选项列表“{list_name}”在 choices 表中不存在"
                    )
                elif or_other:  # as pyxform: an "other" choice, and a question to say what
                    other_list = f"{list_name}__or_other"
                    if other_list not in choices:
                        other = Choice(
                            "other",
                            {
                                "default": "其他",
                                **{
                                    lang: "Other"
                                    for lang in self.languages
                                    if lang.lower().startswith("english")
                                },
                            },
                        )
                        choices[other_list] = [*choices[list_name], other]
                    list_name = other_list
            elif rest and kind not in ("begin_group", "begin_repeat"):
                self.error("survey", number, "type", f"未知题型“{raw_type}”")
                continue
            if not self.name_ok(number, name, names, generated):
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
                self.error("survey", number, "calculation", "calculate 题必须填写 calculation")
            if (
                not question.labels
                and not question.hints
                and (QUESTION_TYPES[kind]["input"] or kind == "note")
            ):  # as pyxform: a hint alone will do
                self.error(
                    "survey", number, "label", f"题目“{name}”缺少标签（label）或提示（hint）"
                )
            if "search(" in question.appearance.replace(" ", ""):
                self.error(
                    "survey",
                    number,
                    "appearance",
                    "search() 从手机上的 CSV 文件读取选项，网页问卷不支持；"
                    "请改用 select_one_from_file 并把该 CSV 随问卷上传",
                )
            (stack[-1][0].children if stack else root).append(question)
            if pending_other is not None:
                if pending_other.name in names:
                    self.error(
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
        for question, number in stack:
            end = "end_group" if question.type == "begin_group" else "end_repeat"
            self.error(
                "survey", number, "type", f"{question.type} {question.name} 没有对应的 {end}"
            )
        return root

    def name_ok(self, number: int, name: str, names: dict, generated: set) -> bool:
        """A row's name is present, valid and not taken (reported when not)."""
        if not name:
            self.error("survey", number, "name", "缺少题目名称（name）")
            return False
        if not NAME_RE.match(name):
            self.error(
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
            self.error("survey", number, "name", said)
            return False
        return True

    def file_list(
        self, number: int, kind: str, rest: str, raw_parameters: str, choices: dict
    ) -> str | None:
        """The choice list read from the CSV a select_*_from_file row names, or None (reported)."""
        list_name = rest.strip()
        if not list_name or " " in list_name:
            self.error("survey", number, "type", f"{kind} 后须写一个选项文件名，如 companies.csv")
            return None
        why = choice_files.check_name(list_name, kind)
        if why:
            self.error("survey", number, "type", why)
            return None
        try:
            params = choice_files.parameters(raw_parameters)
        except choice_files.ChoiceFileError as exc:
            self.error("survey", number, "parameters", str(exc))
            return None
        value, label = params.get("value", "name"), params.get("label", "label")
        key = choice_files.list_key(list_name, value, label)
        if key in choices:
            return key  # read once
        if key in self.bad_files:
            return None  # reported once
        data = self.files.get(list_name)
        if data is None:
            self.error(
                "survey",
                number,
                "type",
                f"选项文件“{list_name}”未随问卷上传：请在上传问卷时一并选择该 CSV 文件"
                f"（{value}、{label} 两列）",
            )
            return None
        try:
            options, languages = choice_files.read(list_name, data, value, label)
        except (choice_files.ChoiceFileError, ExceptionGroup) as caught:
            for exc in getattr(caught, "exceptions", [caught]):
                self.error(list_name, exc.row, exc.column, str(exc))
            self.bad_files.add(key)
            return None
        for lang in languages:
            if lang not in self.languages:
                self.languages.append(lang)
        choices[key] = options
        if list_name not in self.used_files:
            self.used_files.append(list_name)
        return key

    # -- expressions ---------------------------------------------------------------------------
    def expressions(self, form: Form) -> None:
        known = set(form.by_name)
        from_files = {k for k in form.choices if choice_files.file_of(k) in form.files}
        for question, _repeat in form.walk():
            self.texts(question, known | set(self.ignored_questions))
            if question.type == "select_multiple" and question.list_name not in from_files:
                spaced = [
                    c.name for c in form.choices.get(question.list_name or "", []) if " " in c.name
                ]
                if spaced:  # stored space-separated in XForms, so pyxform refuses them too
                    self.error(
                        "survey",
                        question.row,
                        "type",
                        f"多选题的选项值不能含空格：列表 {question.list_name} 中的“{spaced[0]}”",
                    )
            for column in (
                "relevant",
                "constraint",
                "calculation",
                "choice_filter",
                "repeat_count",
                "required",
                "default",
            ):
                source = getattr(question, column)
                if not source or source == "true()":
                    continue
                if column == "default" and not ex.is_dynamic(source):
                    continue
                fields = set()
                if column == "choice_filter" and question.list_name in form.choices:
                    for choice in form.choices[question.list_name]:
                        fields |= set(choice.columns())
                try:
                    tree = ex.parse(source)
                    missing = ex.references(tree) & set(self.ignored_questions)
                    if missing:
                        name = sorted(missing)[0]
                        raise ex.ExpressionError(
                            f"引用了不支持而被忽略的题目 ${{{name}}}（{self.ignored_questions[name]}）"
                        )
                    ex.check(tree, known, fields)
                except ex.ExpressionError as exc:
                    self.error("survey", question.row, column, f"表达式“{source}”有误：{exc}")
        self.calculation_cycles(form)

    def texts(self, question: Question, known: set[str]) -> None:
        """${name} in a label, hint or message must name a question, as pyxform checks."""
        for attribute, column in (
            ("labels", "label"),
            ("hints", "hint"),
            ("constraint_message", "constraint_message"),
            ("required_message", "required_message"),
        ):
            for text in getattr(question, attribute).values():
                unknown = [n for n in ex.TEXT_REFERENCE.findall(text) if n not in known]
                if unknown:
                    self.error(
                        "survey", question.row, column, f"引用了不存在的题目 ${{{unknown[0]}}}"
                    )
                    break

    def calculation_cycles(self, form: Form) -> None:
        graph = {}
        for q, _ in form.walk():
            if q.type == "calculate" and q.calculation:
                try:
                    graph[q.name] = ex.references(ex.parse(q.calculation))
                except ex.ExpressionError:
                    continue
        state: dict[str, int] = {}

        def visit(name: str, path: list[str]) -> None:
            state[name] = 1
            for dep in graph.get(name, ()):
                if dep not in graph:
                    continue
                if state.get(dep) == 1:
                    cycle = path[path.index(dep) :] + [dep] if dep in path else [name, dep]
                    q = form.by_name[name]
                    self.error(
                        "survey",
                        q.row,
                        "calculation",
                        f"计算互相依赖，形成循环：{' → '.join(cycle)}",
                    )
                elif not state.get(dep):
                    visit(dep, path + [dep])
            state[name] = 2

        for name in graph:
            if not state.get(name):
                visit(name, [name])

    def load(self) -> Form:
        settings = self.settings()
        duplicates = settings.get("allow_choice_duplicates", "").strip().lower() in TRUE_WORDS
        choices = self.choices(allow_duplicates=duplicates)
        questions = self.survey(choices)
        form_id = settings.get("form_id") or settings.get("id_string") or Path(self.filename).stem
        if form_id and not FORM_ID_RE.match(form_id):
            # pyxform makes a valid id of it; so do we, and say so
            fixed = re.sub(r"[^A-Za-z0-9_.-]+", "_", form_id.strip()).strip("_")
            fixed = fixed if re.match(r"^[A-Za-z_]", fixed or "") else f"form_{fixed}".rstrip("_")
            self.warnings.append(f"form_id“{form_id}”含空格或其他字符，已改为“{fixed}”")
            form_id = fixed
        default_language = settings.get("default_language", "")
        languages = list(self.languages)
        if default_language and languages and default_language not in languages:
            self.warnings.append(
                f"settings 表默认语言“{default_language}”在标签列中不存在，已改用“{languages[0]}”"
            )
            default_language = ""
        if not default_language:
            default_language = languages[0] if languages else "default"
        for sheet, column in sorted(self.ignored_columns):
            self.warnings.append(f"{sheet} 表“{column}”列不受支持，已忽略")
        form = Form(
            form_id=form_id or "form",
            title=settings.get("form_title") or settings.get("title") or form_id or "问卷",
            version=settings.get("version") or "1",
            default_language=default_language,
            languages=languages,
            questions=questions,
            choices=choices,
            warnings=self.warnings,
            files=self.used_files,
        )
        self.expressions(form)
        if not any(True for _ in form.walk()) and not self.errors:
            self.error("survey", None, None, "问卷中没有任何题目")
        if self.errors:
            raise FormLoadError(self.errors)
        return form


def load_xlsform(
    data: bytes | str | Path, filename: str | None = None, files: dict[str, bytes] | None = None
) -> Form:
    """A Form from .xlsx bytes or a path; FormLoadError lists every problem. `files` are those
    uploaded with the form, by name (the CSVs that select_*_from_file rows read)."""
    if isinstance(data, str | Path):
        filename = filename or Path(data).name
        data = Path(data).read_bytes()
    filename = filename or "form.xlsx"
    try:
        check_xlsx(data, filename)  # before openpyxl trusts the declared size
    except SpreadsheetTooLargeError as exc:
        raise FormLoadError([Problem("文件", None, None, str(exc))]) from None
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets one clear message
        raise FormLoadError(
            [Problem("文件", None, None, f"无法作为 .xlsx 读取（{type(exc).__name__}）")]
        ) from None
    try:
        return _Loader(workbook, filename, files).load()
    finally:
        workbook.close()
