"""Reading an XLSForm into a Form. Every error names sheet, row and column, in Chinese; what the
file uses that we do not support is either listed as ignored (metadata, display-only columns) or
refused with a message, never silently changed.

Where each step lives: `workbook` (sheets as rows of text), `vocabulary` (types, columns and their
spellings), `choices_sheet`, `survey_sheet` (rows into questions), `form_checks` (expressions and
the checks that need the whole form), `problems` (what a load finds and how it is said).
"""

from __future__ import annotations

import re
from pathlib import Path

from survey.errors import SurveyError
from survey.sheets import read_workbook, sniff
from survey.xlsform.choices_sheet import read_choices
from survey.xlsform.form_checks import check_form
from survey.xlsform.model import Form
from survey.xlsform.problems import FormLoadError, Problem, Reading
from survey.xlsform.survey_sheet import read_survey
from survey.xlsform.vocabulary import FORM_ID_RE, TRUE_WORDS
from survey.xlsform.workbook import read_sheet, split_column

__all__ = ["FormLoadError", "Problem", "load_xlsform"]
NOT_A_WORKBOOK = (
    "“{filename}”不是 Excel 工作簿：问卷请上传 .xlsx、.xls、.xlsb 或 .ods 文件"
    "（在 Excel 或 WPS 中“另存为”即可）"
)


def _settings(book) -> dict[str, str]:
    rows = read_sheet(book, "settings") or []
    if not rows:
        return {}
    _number, values, _ = rows[0]
    return {split_column(k)[0]: v for k, v in values.items()}


def _form(r: Reading, book) -> Form:
    settings = _settings(book)
    duplicates = settings.get("allow_choice_duplicates", "").strip().lower() in TRUE_WORDS
    choices = read_choices(r, book, allow_duplicates=duplicates)
    questions = read_survey(r, book, choices)
    form_id = settings.get("form_id") or settings.get("id_string") or Path(r.filename).stem
    if form_id and not FORM_ID_RE.match(form_id):
        # pyxform makes a valid id of it; so do we, and say so
        fixed = re.sub(r"[^A-Za-z0-9_.-]+", "_", form_id.strip()).strip("_")
        fixed = fixed if re.match(r"^[A-Za-z_]", fixed or "") else f"form_{fixed}".rstrip("_")
        r.warnings.append(f"form_id“{form_id}”含空格或其他字符，已改为“{fixed}”")
        form_id = fixed
    default_language = settings.get("default_language", "")
    languages = list(r.languages)
    if default_language and languages and default_language not in languages:
        r.warnings.append(
            f"settings 表默认语言“{default_language}”在标签列中不存在，已改用“{languages[0]}”"
        )
        default_language = ""
    if not default_language:
        default_language = languages[0] if languages else "default"
    for sheet, column in sorted(r.ignored_columns):
        r.warnings.append(f"{sheet} 表“{column}”列不受支持，已忽略")
    form = Form(
        form_id=form_id or "form",
        title=settings.get("form_title") or settings.get("title") or form_id or "问卷",
        version=settings.get("version") or "1",
        default_language=default_language,
        languages=languages,
        questions=questions,
        choices=choices,
        warnings=r.warnings,
        files=r.used_files,
    )
    check_form(r, form)
    if not any(True for _ in form.walk()) and not r.errors:
        if not r.ignored_questions:
            r.error("survey", None, None, "问卷中没有任何题目")
        else:  # every row is of a type a browser cannot ask: accepted, and said first
            r.warnings.insert(
                0, "问卷中没有可在网页中填写的题目（以下各题都不会显示）；请确认后再决定是否发布"
            )
    if r.errors:
        raise FormLoadError(r.errors)
    return form


def load_xlsform(
    data: bytes | str | Path, filename: str | None = None, files: dict[str, bytes] | None = None
) -> Form:
    """A Form from a workbook's bytes (.xlsx, .xls, .xlsb, .ods) or a path; FormLoadError lists
    every problem. `files` are those uploaded with the form, by name (the CSVs that
    select_*_from_file rows read)."""
    if isinstance(data, str | Path):
        filename = filename or Path(data).name
        data = Path(data).read_bytes()
    filename = filename or "form.xlsx"
    try:  # .xlsx .xls .xlsb .ods, bounded by content; a damaged file is refused in our words
        if sniff(data) in ("text", "binary"):  # read_workbook would take text as a one-sheet CSV
            raise SurveyError(NOT_A_WORKBOOK.format(filename=filename))
        book = read_workbook(data, filename)  # raises ValidationError only (survey.sheets)
    except SurveyError as exc:
        raise FormLoadError([Problem("文件", None, None, str(exc))]) from None
    return _form(Reading(filename, files or {}), book)
