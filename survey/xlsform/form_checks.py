"""The checks that need the whole form: expressions (functions, references, skipped questions),
${name} in texts, spaces in select_multiple values, and calculations that depend on each other."""

from __future__ import annotations

from survey.xlsform import choice_files
from survey.xlsform import expressions as ex
from survey.xlsform.model import Form, Question
from survey.xlsform.problems import Reading


def check_form(r: Reading, form: Form) -> None:
    known = set(form.by_name)
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
            try:
                tree = ex.parse(source)
                missing = ex.references(tree) & set(r.ignored_questions)
                if missing:
                    name = sorted(missing)[0]
                    raise ex.ExpressionError(
                        f"引用了不支持而被忽略的题目 ${{{name}}}（{r.ignored_questions[name]}）"
                    )
                ex.check(tree, known, fields)
            except ex.ExpressionError as exc:
                r.error("survey", question.row, column, f"表达式“{source}”有误：{exc}")
    check_cycles(r, form)


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
