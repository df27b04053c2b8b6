"""AppTest: fill and submit the visit questionnaire in the preview, with a repeat and a question
hidden by relevant."""

from __future__ import annotations

import json

from survey import db as store
from tests.helpers import open_page


def test_fill_and_submit_visit_form_with_repeat_and_hidden_question(demo_db):
    at = open_page(demo_db, "supervisor", "pages/questionnaires_page.py")
    with store.opened(demo_db) as db:
        form_id = store.scalar(db, "SELECT id FROM questionnaires WHERE form_id = 'visit'")
    at.selectbox(key="form_version").set_value(form_id).run()
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
