"""Bad input, generated (hypothesis): the company code field, the company importer, the questionnaire
loader, the expression evaluator, visit dates, numbers and free text, monitor feedback and the
dashboard's period. Each either works or raises the project's own error with a Chinese message; nothing
else escapes and nothing is stored half-way. Text is stored exactly as typed (after trimming)."""

from __future__ import annotations

import io
import re
import uuid
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from survey import db as store
from survey import feedback, questionnaires, spreadsheets, visits
from survey.companies import codes, transfer
from survey.errors import SurveyError
from survey.reports import periods
from survey.xlsform import expressions
from survey.xlsform.loader import FormLoadError, load_xlsform
from tests.helpers import actor_for, payload

NASTY = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "'; DROP TABLE visits; --",
    '" OR 1=1 --',
    '=HYPERLINK("http://example.invalid","点我")',
    "\u202e\u2066反向文本\u2069\u200f",
    "😀👍🏽🇨🇳 企业😡",
    "\x00\x01\x07\x1b[31m控制字符\x7f",
    "中" * 10_000,
    "   ",
    "",
    "\ufeff带BOM",
    "𠀀𪚥 生僻字",
]
TEXT = st.one_of(st.sampled_from(NASTY), st.text(max_size=300))
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def assert_chinese_message(error: Exception) -> None:
    assert CHINESE.search(str(error)), repr(error)


def counts(db) -> dict[str, int]:
    tables = (
        "visits",
        "problems",
        "answers",
        "problem_events",
        "feedback",
        "companies",
        "audit_log",
    )
    return {t: store.scalar(db, f"SELECT count(*) FROM {t}") for t in tables}


@SETTINGS
@given(raw=st.one_of(TEXT, st.from_regex(r"[0-9A-Za-z０-９ ]{16,20}", fullmatch=True)))
def test_company_code_field(raw):
    try:
        code = codes.validate_uscc(raw)
    except SurveyError as error:
        assert_chinese_message(error)
    else:
        assert len(code) == 18 and code == code.upper()


@SETTINGS
@given(text=TEXT)
def test_expression_parser_and_evaluator(text):
    try:
        node = expressions.parse(text)
    except expressions.ExpressionError as error:
        assert str(error)
        return
    try:
        expressions.evaluate(node, lambda name: text, today=date(2026, 6, 15))
    except expressions.ExpressionError as error:
        assert str(error)


def _xlsx(rows: list[list]) -> bytes:
    """A real .xlsx; control characters a worksheet cannot hold are dropped, as Excel would."""
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


CELL = st.one_of(
    TEXT, st.integers(-(10**20), 10**20), st.floats(allow_nan=True), st.none(), st.dates()
)


@SETTINGS
@given(rows=st.lists(st.lists(CELL, min_size=0, max_size=6), min_size=0, max_size=5))
def test_questionnaire_loader(rows):
    try:
        load_xlsform(_xlsx([["type", "name", "label"], *rows]), "form.xlsx")
    except FormLoadError as error:
        assert_chinese_message(error)
    for garbage in (b"", b"PK\x03\x04broken", bytes(range(256))):
        with pytest.raises(FormLoadError) as caught:
            load_xlsform(garbage, "form.xlsx")
        assert_chinese_message(caught.value)


def test_company_import_all_or_nothing(db):
    admin = actor_for(db, "admin")
    headers = ["企业名称", "统一社会信用代码", "所属区县", "所属行业"]

    @SETTINGS
    @given(rows=st.lists(st.lists(CELL, min_size=4, max_size=4), min_size=1, max_size=4))
    def run(rows):
        before = counts(db)
        data = _xlsx([headers, *rows])
        try:
            read_headers, read_rows = spreadsheets.read_table(data, "companies.xlsx")
            transfer.import_companies(db, admin, read_headers, read_rows)
        except SurveyError as error:
            assert_chinese_message(error)
            after = counts(db)
            assert after["companies"] == before["companies"]  # one bad row: nothing imported

    run()


def test_visit_text_dates_and_numbers(db):
    officer = actor_for(db, "officer")
    qid, form = questionnaires.current(db, officer, "visit")
    number_questions = [q.name for q in form.questions if q.type in ("integer", "decimal")]

    @SETTINGS
    @given(
        description=TEXT,
        summary=TEXT,
        visit_date=st.one_of(st.dates().map(date.isoformat), TEXT),
        number=st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True), TEXT),
    )
    def run(description, summary, visit_date, number):
        body = payload(db, officer, visit_date=visit_date, summary=summary)
        body["problems"] = [dict(body["problems"][0], description=description)]
        for name in number_questions:
            body["answers"][name] = number
        before = counts(db)
        sid = f"fuzz-{uuid.uuid4().hex}"
        try:
            receipt = visits.submit_visit(db, officer, sid, body)
        except SurveyError as error:
            assert_chinese_message(error)
            assert counts(db) == before  # nothing stored half-way
            return
        stored = store.query(
            db, "SELECT description FROM problems WHERE id = ?", (receipt.problem_ids[0],)
        )
        assert stored[0]["description"] == description.strip()
        assert (
            store.scalar(db, "SELECT summary FROM visits WHERE id = ?", (receipt.visit_id,))
            == summary.strip()
        )

    run()


def test_feedback_text(db):
    monitor = actor_for(db, "monitor")

    @SETTINGS
    @given(
        body=TEXT,
        kind=st.sampled_from(["lead", "suggestion", "experience", "rating", "nonsense", ""]),
    )
    def run(body, kind):
        before = counts(db)
        try:
            feedback.submit_feedback(
                db, monitor, f"fuzz-{uuid.uuid4().hex}", {"kind": kind, "body": body}
            )
        except SurveyError as error:
            assert_chinese_message(error)
            assert counts(db) == before
            return
        kept = body.strip()
        if store.dialect(db) == "postgresql":  # its text cannot hold U+0000 (README)
            kept = kept.replace("\x00", "\ufffd")
        assert store.scalar(db, "SELECT body FROM feedback ORDER BY id DESC LIMIT 1") == kept

    run()


@SETTINGS
@given(start=TEXT, end=TEXT)
def test_dashboard_period(start, end):
    try:
        periods.Filters(start, end)
    except SurveyError as error:
        assert_chinese_message(error)
