"""AppTest of 问卷管理: fill and submit the visit questionnaire in the preview, with a repeat and a
question hidden by relevant; save and publish a version, each showing its result once (issue 28)."""

from __future__ import annotations

import json

from survey import db as store
from survey import questionnaires
from survey.access.actor import SYSTEM
from tests.helpers import actor_for, cut_off_first_done, open_page
from tests.xlsform_corpus import FORMS, xlsx


def test_fill_and_submit_visit_form_with_repeat_and_hidden_question(demo_db):
    at = open_page(demo_db, "supervisor", "pages/questionnaires_page.py")
    with store.opened(demo_db) as db:
        form_id = store.scalar(db, "SELECT id FROM questionnaires WHERE form_id = 'visit'")
    at.selectbox(key="form_version_upload_0").set_value(form_id).run()
    key = f"preview{form_id}"
    at.button(key=f"{key}#submit").click().run()
    assert at.error and "处需要修改" in at.error[-1].value
    assert any(e.value == "此题必答。" for e in at.error)

    for name, value in (
        ("output_trend", "up"),
        ("orders_trend", "flat"),
        ("employment_trend", "down"),
    ):
        at.radio(key=f"{key}|{name}").set_value(value)
    at.number_input(key=f"{key}|inspection_count").set_value(3)
    at.radio(key=f"{key}|had_earlier").set_value("yes").run()
    # relevant: the satisfaction question appears only for companies that raised problems before
    assert f"{key}|earlier_satisfaction" in [r.key for r in at.radio]
    at.radio(key=f"{key}|had_earlier").set_value("no").run()
    assert f"{key}|earlier_satisfaction" not in [r.key for r in at.radio]
    # relevant on a count: who inspected shows because there were inspections
    assert at.checkbox(key=f"{key}|inspection_depts|SCJG") is not None
    at.checkbox(key=f"{key}|inspection_depts|SCJG").check()
    at.checkbox(key=f"{key}|inspection_depts|STHJ").check()
    # a repeat: two projects, then remove the first
    at.button(key=f"{key}|projects#add").click().run()
    at.button(key=f"{key}|projects#add").click().run()
    at.text_input(key=f"{key}|projects[0].project_name").input("旧厂改造")
    at.text_input(key=f"{key}|projects[1].project_name").input("二期扩产")
    at.number_input(key=f"{key}|projects[1].project_investment").set_value(-5.0).run()
    assert any(e.value == "投资额须大于 0" for e in at.error)
    at.number_input(key=f"{key}|projects[1].project_investment").set_value(12000.0).run()
    at.button(key=f"{key}|projects[0]#remove").click().run()
    assert at.text_input(key=f"{key}|projects[0].project_name").value == "二期扩产"

    at.button(key=f"{key}#submit").click().run()
    assert not at.exception
    assert at.success and at.success[-1].value.startswith("试填通过")
    result = at.json[0].value
    data = json.loads(result) if isinstance(result, str) else result
    assert data["output_trend"] == "up" and data["inspection_count"] == 3
    assert data["had_earlier"] == "no" and "earlier_satisfaction" not in data
    assert data["inspection_depts"] == ["SCJG", "STHJ"]
    assert data["projects"] == [
        {"project_name": "二期扩产", "project_investment": 12000.0, "project_stage": None}
    ]


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def published(demo_db, qid: int) -> tuple[str | None, int]:
    """A version's publication time and how many 发布 audit rows it has."""
    with store.opened(demo_db) as db:
        return (
            store.scalar(db, "SELECT published_at FROM questionnaires WHERE id = ?", (qid,)),
            store.scalar(
                db,
                "SELECT count(*) FROM audit_log WHERE table_name = 'questionnaires'"
                " AND row_id = ? AND note = '发布'",
                (str(qid),),
            ),
        )


def test_saving_and_publishing_show_their_message_after_the_rerun(demo_db):
    """Issue 28 item 4: 检查并保存 and 发布 each show their message in the run after the action (the
    page reruns so the table and select are current), the new version is the one selected, the
    picker comes back empty, and the next interaction no longer shows the message."""
    at = open_page(demo_db, "supervisor", "pages/questionnaires_page.py")
    at.file_uploader[0].set_value([("s.xlsx", xlsx(FORMS / "simple_feedback.md"), XLSX)]).run()
    at.button(key="save_upload_0").click().run()
    assert not at.exception and not at.error, at.exception or at.error[0].value
    assert [s.value for s in at.success] == ["已保存 s 版本 1（未发布），请在下方试填后发布。"]
    with store.opened(demo_db) as db:
        [qid] = [r[0] for r in db.conn.execute("SELECT id FROM questionnaires WHERE form_id = 's'")]
    assert at.selectbox(key="form_version_upload_1").value == qid  # the new version, chosen
    assert not at.file_uploader[0].value  # a fresh picker: no second save to tap
    at.button(key=f"publish_{qid}_0").click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["已发布：新的答卷将使用此版本。"]
    assert at.selectbox(key="form_version_upload_1").value == qid
    assert f"publish_{qid}_1" not in [b.key for b in at.button]  # published: nothing to tap
    assert published(demo_db, qid)[1] == 1
    at.run()
    assert not at.success


def test_a_tap_that_cut_off_the_publish_after_its_write_publishes_once(demo_db, monkeypatch):
    """The race: the first run publishes and is stopped before done() records the success (as a
    second tap interrupts it); the second tap's request presses 发布此版本 again with the same
    request id: survey/ answers with the first result, so the message shows, and the version is
    published once (one time, one audit row, one request kept)."""

    with store.opened(demo_db) as db:
        qid, _ = questionnaires.save_version(
            db, SYSTEM, xlsx(FORMS / "simple_feedback.md"), "s.xlsx"
        )
    calls = cut_off_first_done(monkeypatch)
    at = open_page(demo_db, "supervisor", "pages/questionnaires_page.py")
    at.selectbox(key="form_version_upload_0").set_value(qid).run()
    at.button(key=f"publish_{qid}_0").click()
    screen = at._tree.get_widget_states()  # the screen the user tapped twice on
    at.run()
    assert calls and not at.success and not at.error  # cut off after the write
    first = published(demo_db, qid)
    assert first[0] and first[1] == 1
    at._run(widget_state=screen)  # the second tap's request
    assert not at.exception and not at.error, at.exception or at.error[0].value
    assert [s.value for s in at.success] == ["已发布：新的答卷将使用此版本。"]
    assert at.selectbox(key="form_version_upload_0").value == qid
    assert published(demo_db, qid) == first
    with store.opened(demo_db) as db:
        assert (
            store.scalar(
                db, "SELECT count(*) FROM form_requests WHERE kind = 'publish_questionnaire'"
            )
            == 1
        )


def test_a_repeated_request_id_saves_and_publishes_once(db):
    """survey/: a repeat of a request id writes nothing and returns the first result, on both
    stores; without an id (the CLI, the API) publishing an earlier version again still works."""
    supervisor = actor_for(db, "supervisor")
    data = xlsx(FORMS / "simple_feedback.md")
    qid, form = questionnaires.save_version(db, supervisor, data, "s.xlsx", request_id="save-0001")
    again, form_again = questionnaires.save_version(
        db, supervisor, data, "s.xlsx", request_id="save-0001"
    )
    assert again == qid and form_again.to_dict() == form.to_dict()
    assert store.scalar(db, "SELECT count(*) FROM questionnaires WHERE form_id = 's'") == 1
    questionnaires.publish(db, supervisor, qid, request_id="publish-0001")
    at = store.scalar(db, "SELECT published_at FROM questionnaires WHERE id = ?", (qid,))
    audited = store.scalar(db, "SELECT count(*) FROM audit_log")
    questionnaires.publish(db, supervisor, qid, request_id="publish-0001")
    assert store.scalar(db, "SELECT published_at FROM questionnaires WHERE id = ?", (qid,)) == at
    assert store.scalar(db, "SELECT count(*) FROM audit_log") == audited
    kinds = store.query(
        db, "SELECT kind FROM form_requests WHERE request_id IN ('save-0001', 'publish-0001')"
    )
    assert sorted(r["kind"] for r in kinds) == ["publish_questionnaire", "save_questionnaire"]
    questionnaires.publish(db, supervisor, qid)  # no id: a new publication, audited
    assert store.scalar(db, "SELECT count(*) FROM audit_log") == audited + 1
