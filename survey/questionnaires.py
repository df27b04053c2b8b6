"""Questionnaires stored as versions: upload an XLSForm, publish it, read the current one; answers
keep the version they were given with, so old answers display with their own labels; flat export
like Kobo/ODK (one column per question, repeats on their own sheet linked by a parent key).
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlite_utils import Database

from survey import clock, repeats, spreadsheets
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.errors import NotFoundError, ValidationError
from survey.xlsform import engine
from survey.xlsform.loader import load_xlsform
from survey.xlsform.model import Form

FORMS_DIR = store.PROJECT_ROOT / "data" / "forms"


def save_version(
    db: Database,
    actor: Actor,
    data: bytes,
    filename: str,
    files: dict[str, bytes] | None = None,
    *,
    request_id: str | None = None,
) -> tuple[int, Form]:
    """Store an uploaded form as an unpublished version, with the files uploaded beside it that
    it reads (choices CSVs; the others are not kept). FormLoadError lists what is wrong. A repeat
    of `request_id` (survey.repeats: a second tap) returns the version the first one stored."""
    require(actor, "questionnaires.manage")
    form = load_xlsform(data, filename, files)
    with store.transaction(db):
        if repeat := repeats.first(db, actor, request_id, "save_questionnaire"):
            stored = store.scalar(
                db, "SELECT definition FROM questionnaires WHERE id = ?", (repeat.result,)
            )
            return repeat.result, _form(stored)
        if store.scalar(
            db,
            "SELECT 1 FROM questionnaires WHERE form_id = ? AND version = ?",
            (form.form_id, form.version),
        ):
            raise ValidationError(
                f"问卷 {form.form_id} 的版本 {form.version} 已存在；请在 settings 表中改用新的 version。",
                "version",
            )
        cursor = db.execute(
            "INSERT INTO questionnaires (form_id, version, title, definition, source_file, created_by,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                form.form_id,
                form.version,
                form.title,
                json.dumps(form.to_dict(), ensure_ascii=False),
                data,
                actor.id,
                clock.now_iso(),
            ),
        )
        _keep_files(db, cursor.lastrowid, form, files)
        audit.record(
            db,
            actor,
            "insert",
            "questionnaires",
            cursor.lastrowid,
            after={
                "form_id": form.form_id,
                "version": form.version,
                "file": filename,
                "files": form.files,
            },
        )
        repeats.record(db, actor, request_id, "save_questionnaire", int(cursor.lastrowid))
    return cursor.lastrowid, form


def _keep_files(db: Database, questionnaire_id: int, form: Form, files: dict | None) -> None:
    db.conn.executemany(
        "INSERT INTO questionnaire_files (questionnaire_id, name, data) VALUES (?, ?, ?)",
        [(questionnaire_id, name, (files or {})[name]) for name in form.files],
    )


def media_files(path: Path) -> dict[str, bytes]:
    """The CSVs beside a form on disk, by name: next to it and in its `<name>-media` folder
    (where ODK tools put a form's media)."""
    found: dict[str, bytes] = {}
    for folder in (path.parent, path.with_name(f"{path.stem}-media")):
        for item in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
            found.setdefault(item.name, item.read_bytes())
    return found


def publish(
    db: Database, actor: Actor, questionnaire_id: int, *, request_id: str | None = None
) -> None:
    """Make a version the current one for new answers (publishing an earlier one again makes it
    current again). A repeat of `request_id` (survey.repeats: a second tap that cut off the run
    after this write) writes nothing: no second publication time, no second audit row."""
    require(actor, "questionnaires.manage")
    with store.transaction(db):
        if repeats.first(db, actor, request_id, "publish_questionnaire"):
            return
        row = store.query(
            db,
            "SELECT form_id, version, published_at FROM questionnaires WHERE id = ?",
            (questionnaire_id,),
        )
        if not row:
            raise NotFoundError(f"没有编号为 {questionnaire_id} 的问卷版本。")
        db.execute(
            "UPDATE questionnaires SET published_at = ? WHERE id = ?",
            (clock.now_iso(), questionnaire_id),
        )
        audit.record(
            db,
            actor,
            "update",
            "questionnaires",
            questionnaire_id,
            before={"published_at": row[0]["published_at"]},
            note="发布",
        )
        repeats.record(db, actor, request_id, "publish_questionnaire", int(questionnaire_id))


def _form(definition: str) -> Form:
    return Form.from_dict(json.loads(definition))


def current(db: Database, actor: Actor, form_id: str) -> tuple[int, Form]:
    """The most recently published version of a form."""
    require(actor, "questionnaires.read")
    row = db.conn.execute(
        "SELECT id, definition FROM questionnaires WHERE form_id = ? AND published_at IS NOT NULL"
        " ORDER BY published_at DESC, id DESC LIMIT 1",
        (form_id,),
    ).fetchone()
    if not row:
        raise NotFoundError(f"问卷 {form_id} 还没有发布的版本。")
    return row[0], _form(row[1])


def get_version(db: Database, actor: Actor, questionnaire_id: int) -> Form:
    require(actor, "questionnaires.read")
    definition = store.scalar(
        db, "SELECT definition FROM questionnaires WHERE id = ?", (questionnaire_id,)
    )
    if definition is None:
        raise NotFoundError(f"没有编号为 {questionnaire_id} 的问卷版本。")
    return _form(definition)


def list_versions(db: Database, actor: Actor) -> list[dict]:
    require(actor, "questionnaires.read")
    return store.query(
        db,
        "SELECT q.id, q.form_id, q.version, q.title, q.published_at, q.created_at,"
        " u.username AS created_by, (SELECT count(DISTINCT coalesce(a.visit_id, -a.feedback_id))"
        " FROM answers a WHERE a.questionnaire_id = q.id) AS answered"
        " FROM questionnaires q LEFT JOIN users u ON u.id = q.created_by ORDER BY q.form_id, q.id DESC",
    )


def attached_files(db: Database, actor: Actor, questionnaire_id: int) -> dict[str, bytes]:
    """The files kept with a version (its choices CSVs), by name."""
    require(actor, "questionnaires.read")
    rows = db.conn.execute(
        "SELECT name, data FROM questionnaire_files WHERE questionnaire_id = ? ORDER BY name",
        (questionnaire_id,),
    ).fetchall()
    return dict(rows)


def source_file(db: Database, actor: Actor, questionnaire_id: int) -> bytes:
    require(actor, "questionnaires.read")
    data = store.scalar(
        db, "SELECT source_file FROM questionnaires WHERE id = ?", (questionnaire_id,)
    )
    if data is None:
        raise NotFoundError(f"没有编号为 {questionnaire_id} 的问卷文件。")
    return data


def install_defaults(db: Database, directory: Path = FORMS_DIR) -> list[str]:
    """Store and publish each shipped form (data/forms/*.xlsx) whose form_id has no version yet."""
    installed = []
    with store.transaction(db):
        for path in sorted(directory.glob("*.xlsx")):
            data = path.read_bytes()
            files = media_files(path)
            form = load_xlsform(data, path.name, files)
            if store.scalar(db, "SELECT 1 FROM questionnaires WHERE form_id = ?", (form.form_id,)):
                continue
            now = clock.now_iso()
            cursor = db.execute(
                "INSERT INTO questionnaires (form_id, version, title, definition, source_file,"
                " published_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    form.form_id,
                    form.version,
                    form.title,
                    json.dumps(form.to_dict(), ensure_ascii=False),
                    data,
                    now,
                    now,
                ),
            )
            _keep_files(db, cursor.lastrowid, form, files)
            audit.record(
                db, None, "insert", "questionnaires", cursor.lastrowid, note=f"内置问卷 {path.name}"
            )
            installed.append(form.form_id)
    return installed


def save_answers(
    db: Database,
    questionnaire_id: int,
    answers: dict,
    *,
    visit_id: int | None = None,
    feedback_id: int | None = None,
) -> int:
    """Store clean answers (from engine.evaluate_form) in the caller's transaction; returns rows."""
    form = _form(
        store.scalar(db, "SELECT definition FROM questionnaires WHERE id = ?", (questionnaire_id,))
    )
    rows = [
        (questionnaire_id, visit_id, feedback_id, name, path, json.dumps(value, ensure_ascii=False))
        for name, path, value in engine.flatten(form, answers)
    ]
    db.conn.executemany(
        "INSERT INTO answers (questionnaire_id, visit_id, feedback_id, question, repeat_path, value)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


def load_answers(
    db: Database, *, visit_id: int | None = None, feedback_id: int | None = None
) -> tuple[Form, dict] | None:
    """The form version the answers were given with, and the answers; None when there are none."""
    column, key = ("visit_id", visit_id) if visit_id is not None else ("feedback_id", feedback_id)
    rows = db.conn.execute(
        f"SELECT questionnaire_id, question, repeat_path, value FROM answers WHERE {column} = ? ORDER BY id",
        (key,),
    ).fetchall()
    if not rows:
        return None
    form = _form(
        store.scalar(db, "SELECT definition FROM questionnaires WHERE id = ?", (rows[0][0],))
    )
    return form, engine.unflatten(form, [(r[1], r[2], json.loads(r[3])) for r in rows])


def export_answers(db: Database, actor: Actor, form_id: str, target) -> dict[str, int]:
    """All answers to every version of a form, flat: the main sheet has one row per submission and
    one column per question; each repeat has its own sheet whose _parent_index points at the row."""
    require(actor, "questionnaires.manage")
    versions = db.conn.execute(
        "SELECT id, version, definition FROM questionnaires WHERE form_id = ? ORDER BY id",
        (form_id,),
    ).fetchall()
    if not versions:
        raise NotFoundError(f"没有问卷 {form_id}。")
    forms = {vid: _form(d) for vid, _v, d in versions}
    version_of = {vid: v for vid, v, _d in versions}
    main_columns: list[str] = []
    repeat_columns: dict[str, list[str]] = {}
    for form in forms.values():
        for q, repeat in form.walk():
            if q.type in ("begin_group", "note") or q.type == "begin_repeat":
                if q.type == "begin_repeat":
                    repeat_columns.setdefault(q.name, [])
                continue
            bucket = main_columns if repeat is None else repeat_columns.setdefault(repeat.name, [])
            if q.name not in bucket:
                bucket.append(q.name)
    submissions = db.conn.execute(
        "SELECT questionnaire_id, visit_id, feedback_id FROM answers WHERE questionnaire_id IN"
        f" ({', '.join('?' for _ in forms)}) GROUP BY questionnaire_id, visit_id, feedback_id"
        " ORDER BY coalesce(visit_id, feedback_id)",
        list(forms),
    ).fetchall()
    # Answers are user text: written as text, never as a formula (spreadsheets.SAFE_OPTIONS).
    workbook = spreadsheets.new_workbook(target)
    main = _Appender(
        workbook, form_id, ["_index", "_version", "_visit_id", "_feedback_id", *main_columns]
    )
    sheets = {
        name: _Appender(workbook, name, ["_parent_index", "_repeat_index", *columns])
        for name, columns in repeat_columns.items()
    }
    counts = {"submissions": 0, **{f"repeat:{n}": 0 for n in repeat_columns}}

    def cell(value):
        return " ".join(value) if isinstance(value, list) else value

    for index, (qid, visit_id, feedback_id) in enumerate(submissions, start=1):
        loaded = (
            load_answers(db, visit_id=visit_id)
            if visit_id
            else load_answers(db, feedback_id=feedback_id)
        )
        answers = loaded[1] if loaded else {}
        main.append(
            [
                index,
                version_of[qid],
                visit_id,
                feedback_id,
                *(cell(answers.get(c)) for c in main_columns),
            ]
        )
        counts["submissions"] += 1
        for name, columns in repeat_columns.items():
            for i, instance in enumerate(answers.get(name) or [], start=1):
                sheets[name].append([index, i, *(cell(instance.get(c)) for c in columns)])
                counts[f"repeat:{name}"] += 1
    workbook.close()
    with store.transaction(db):
        audit.record(
            db, actor, "other", "answers", form_id, after=counts, note=f"导出问卷答案 {form_id}"
        )
    return counts


class _Appender:
    """One sheet written top-down (xlsxwriter's constant-memory mode writes rows in order)."""

    def __init__(self, workbook, title: str, headers: list[str]):
        self.sheet = workbook.add_worksheet(title[:31])
        self.row = spreadsheets.write_rows(self.sheet, [headers])

    def append(self, values: list) -> None:
        self.sheet.write_row(self.row, 0, values)
        self.row += 1
