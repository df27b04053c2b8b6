"""The form model: questions (a tree of groups and repeats), choice lists and settings.

It round-trips through JSON (the `questionnaires.definition` column) with expressions kept as source
text; parsed trees are cached on first use.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cached_property

from survey.xlsform import expressions as ex

# The question types, and what each stores. One registry: the loader accepts exactly these, the
# engine coerces answers by `value`, and ui/form_widgets.py has one widget per key (a test checks).
QUESTION_TYPES: dict[str, dict] = {
    "text": {"value": "text", "input": True},
    "integer": {"value": "integer", "input": True},
    "decimal": {"value": "decimal", "input": True},
    "date": {"value": "date", "input": True},
    "time": {"value": "time", "input": True},
    "select_one": {"value": "choice", "input": True, "list": True},
    "select_multiple": {"value": "choices", "input": True, "list": True},
    "note": {"value": None, "input": False},
    "acknowledge": {"value": "ok", "input": True},
    "calculate": {"value": "calculated", "input": False},
    "image": {"value": "image", "input": True},
    "begin_group": {"value": None, "input": False, "container": True},
    "begin_repeat": {"value": "repeat", "input": False, "container": True},
}


@dataclass
class Choice:
    name: str
    labels: dict[str, str]
    extra: dict[str, str] = field(default_factory=dict)

    def label(self, lang: str | None = None) -> str:
        return _pick(self.labels, lang) or self.name

    def columns(self) -> dict[str, str]:
        """What a choice_filter may name: the choice's name, labels and extra columns."""
        labels = {"label" if k == "default" else f"label::{k}": v for k, v in self.labels.items()}
        return {"name": self.name, **labels, **self.extra}


@dataclass
class Question:
    row: int
    type: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)
    list_name: str | None = None
    required: str = ""  # an expression; "" when optional
    required_message: dict[str, str] = field(default_factory=dict)
    relevant: str = ""
    constraint: str = ""
    constraint_message: dict[str, str] = field(default_factory=dict)
    default: str = ""
    read_only: bool = False
    appearance: str = ""
    choice_filter: str = ""
    calculation: str = ""
    repeat_count: str = ""
    children: list[Question] = field(default_factory=list)

    def label(self, lang: str | None = None) -> str:
        """The label; a question with only a hint shows the hint (XLSForm allows either)."""
        return _pick(self.labels, lang) or _pick(self.hints, lang) or self.name

    def hint(self, lang: str | None = None) -> str:
        return _pick(self.hints, lang) if self.labels else ""

    @property
    def spec(self) -> dict:
        return QUESTION_TYPES[self.type]

    def tree(self, attribute: str):
        """The parsed expression of `attribute`, or None when the column is empty."""
        cache = self.__dict__.setdefault("_trees", {})
        if attribute not in cache:
            source = getattr(self, attribute)
            cache[attribute] = ex.parse(source) if source else None
        return cache[attribute]

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("_trees", None)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Question:
        data = dict(data)
        data["children"] = [cls.from_dict(c) for c in data.get("children", [])]
        return cls(**data)


@dataclass
class Form:
    form_id: str
    title: str
    version: str
    default_language: str
    languages: list[str]
    questions: list[Question]
    choices: dict[str, list[Choice]]
    warnings: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # uploaded with it: the choices CSVs

    def walk(self, questions: list[Question] | None = None, repeat: Question | None = None):
        """(question, enclosing repeat or None) for every question, depth first."""
        for q in self.questions if questions is None else questions:
            yield q, repeat
            if q.children:
                yield from self.walk(q.children, q if q.type == "begin_repeat" else repeat)

    @cached_property
    def by_name(self) -> dict[str, Question]:
        return {q.name: q for q, _ in self.walk()}

    def counts_by_type(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for q, _ in self.walk():
            counts[q.type] = counts.get(q.type, 0) + 1
        return counts

    def to_dict(self) -> dict:
        return {
            "form_id": self.form_id,
            "title": self.title,
            "version": self.version,
            "default_language": self.default_language,
            "languages": self.languages,
            "questions": [q.to_dict() for q in self.questions],
            "choices": {k: [asdict(c) for c in v] for k, v in self.choices.items()},
            "warnings": self.warnings,
            "files": self.files,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Form:
        return cls(
            form_id=data["form_id"],
            title=data["title"],
            version=data["version"],
            default_language=data["default_language"],
            languages=list(data["languages"]),
            questions=[Question.from_dict(q) for q in data["questions"]],
            choices={k: [Choice(**c) for c in v] for k, v in data["choices"].items()},
            warnings=list(data.get("warnings", [])),
            files=list(data.get("files", [])),
        )


def _pick(texts: dict[str, str], lang: str | None) -> str:
    if not texts:
        return ""
    if lang and texts.get(lang):
        return texts[lang]
    return texts.get("default") or next(iter(texts.values()))
