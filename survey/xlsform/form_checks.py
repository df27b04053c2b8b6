"""The checks that need the whole form: expressions (functions, references, skipped questions),
${name} in texts, spaces in select_multiple values, and calculations that depend on each other."""

from __future__ import annotations

from survey.xlsform import choice_files
from survey.xlsform import expressions as ex
from survey.xlsform.model import Form, Question
from survey.xlsform.problems import Reading


def check_form(r: Reading, form: Form) -> None:
    known = set(form.by_name)
    said: dict[str, dict[str, list[str]]] = {}  # a note -> column -> rows, said once

    def note(place: tuple[int, str], message: str) -> None:
        said.setdefault(message, {}).setdefault(place[1], []).append(str(place[0]))

    from_files = {k for k in form.choices if choice_files.file_of(k) in form.files}
    for question, _repeat in form.walk():
        check_texts(r, question, known | set(r.ignored_questions))
        if question.type == "select_multiple" and question.list_name not in from_files:
            spaced = [
                c.name for c in form.choices.get(question.list_name or "", []) if " " in c.name
            ]
            if spaced:  # stored space-separated in XForms, so pyxform refuses them too
                r.error(
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
            where = (question.row, column)
            try:
                tree = ex.parse(source)
            except ex.ExpressionError as exc:
                r.error("survey", question.row, column, f"表达式“{source}”有误：{exc}")
                continue
            for name in sorted(ex.references(tree) & set(r.ignored_questions)):
                note(
                    where,
                    f"引用了不会显示的题目 ${{{name}}}（{r.ignored_questions[name]}），按未作答计算",
                )
            for name in sorted(ex.bare_names(tree) - fields):  # XPath: a child that is not there
                note(
                    where,
                    f"的“{name}”不是题目引用"
                    f"{'也不是选项列' if column == 'choice_filter' else ''}，按 XPath 视为空值"
                    f"（比较文字应加引号 '{name}'，引用题目应写 ${{{name}}}）",
                )
            if ex.LAST_SAVED.search(source):
                note(where, "的 last-saved（手机上次保存的答案）网页问卷没有，按空值")
            _lookups(r, form, tree, lambda message, where=where: note(where, message))
            try:
                ex.check(tree, known | set(r.ignored_questions), fields | ex.bare_names(tree))
            except ex.ExpressionError as exc:
                r.error("survey", question.row, column, f"表达式“{source}”有误：{exc}")
    for message, places in said.items():
        where = "，".join(f"第 {'、'.join(rows)} 行“{column}”列" for column, rows in places.items())
        r.warnings.append(f"survey 表{where}{message}")
    check_cycles(r, form)


def _lookups(r: Reading, form: Form, tree, note) -> None:
    """pulldata()/instance() read a file uploaded with the form: it is read here (once) into the
    form's lists; when it was not uploaded, the form is accepted and the notes say what stays empty."""
    for call in ex.calls(tree, "pulldata"):
        if len(call.args) != 4 or not all(isinstance(a, ex.Literal) for a in call.args[:3]):
            continue
        stem, _column, key_column = (str(a.value) for a in call.args[:3])
        if stem in form.choices:  # instance('list'): a list of the choices sheet
            continue
        files = [n for n in r.files if n.rsplit(".", 1)[0] == stem and n.rsplit(".", 1)[-1] != n]
        if not files:
            note(
                f"从文件“{stem}”取值（pulldata/instance），该文件未随问卷上传，"
                "此项在网页问卷中留空（上传问卷时一并选择该文件即可）"
            )
            continue
        key = choice_files.list_key(files[0], key_column, "label")
        if key in form.choices or key in r.bad_files:
            continue
        try:
            form.choices[key] = choice_files.read_lookup(files[0], r.files[files[0]], key_column)
        except choice_files.ChoiceFileError as exc:
            r.error(files[0], exc.row, exc.column, str(exc))
            r.bad_files.add(key)
            continue
        if files[0] not in form.files:
            form.files.append(files[0])


def check_texts(r: Reading, question: Question, known: set[str]) -> None:
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
                r.error("survey", question.row, column, f"引用了不存在的题目 ${{{unknown[0]}}}")
                break


def check_cycles(r: Reading, form: Form) -> None:
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
                r.error(
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
