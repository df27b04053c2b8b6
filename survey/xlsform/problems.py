"""What loading a form finds: a Problem (sheet, row, column, message, in Chinese), FormLoadError
(every problem of a refused form), and the Reading a load writes its findings into."""

from __future__ import annotations

from dataclasses import dataclass, field

from survey.xlsform.vocabulary import IGNORED_COLUMN_PREFIXES, TRANSLATABLE
from survey.xlsform.workbook import split_column


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


@dataclass
class Reading:
    """One load's notebook: the files uploaded with the form, the errors and warnings found, the
    label languages met and the columns ignored."""

    filename: str
    files: dict[str, bytes] = field(default_factory=dict)
    used_files: list[str] = field(default_factory=list)
    bad_files: set[str] = field(default_factory=set)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    ignored_columns: set[tuple[str, str]] = field(default_factory=set)
    ignored_questions: dict[str, str] = field(default_factory=dict)  # name -> type skipped

    def error(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        self.errors.append(Problem(sheet, row, column, message))

    def columns(self, sheet: str, values: dict[str, str], allowed: set[str]) -> dict:
        """Fold a row's columns into {base: value} and {base: {lang: text}} for translatable ones."""
        plain: dict[str, str] = {}
        texts: dict[str, dict[str, str]] = {}
        for raw, value in values.items():
            base, lang = split_column(raw)
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
