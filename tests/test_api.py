"""/api/v1 against a real SQLite file through FastAPI's ASGI client: tokens shown once and stored
hashed, rotated and revoked; idempotent problem intake; cursor pages and the change feed; the
permission matrix of scopes and row scopes; privacy; rate and size limits; errors as Chinese
RFC 9457 documents."""

from __future__ import annotations

import base64
import io
import json

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from stdnum.cn import uscc as stdnum_uscc

from api import app as api_module
from survey import db as store
from survey.access import clients
from survey.access.permissions import SCOPES
from survey.notify import outbox, worker
from survey.problems import lifecycle, listing
from survey.reports import overview, periods
from tests.helpers import actor_for, open_page
from tests.hookserver import Hooks

ALL = list(SCOPES)


@pytest.fixture
def api(demo_db):
    with TestClient(
        api_module.app, base_url="http://testserver/api/v1", root_path="/api/v1"
    ) as client:
        yield client


def new_client(demo_db, scopes=ALL, **kwargs) -> dict:
    with store.opened(demo_db) as db:
        _, token = clients.create_client(
            db,
            actor_for(db, "admin"),
            name=kwargs.pop("name", "12345热线平台"),
            scopes=scopes,
            **kwargs,
        )
    return {"Authorization": f"Bearer {token}"}


def a_company(demo_db) -> dict:
    with store.opened(demo_db) as db:
        return store.query(db, "SELECT uscc, name FROM companies ORDER BY id LIMIT 1")[0]


def problem_body(demo_db, ref: str = "12345-0001", **changes) -> dict:
    body = {
        "external_ref": ref,
        "source": "hotline",
        "company": {"uscc": a_company(demo_db)["uscc"]},
        "category_code": "D6",
        "nature_code": "consult",
        "description": "企业来电反映：不动产登记材料被反复要求补正。",
    }
    return body | changes


def count(demo_db, sql: str, params=()) -> int:
    with store.opened(demo_db) as db:
        return int(store.scalar(db, sql, params))


def test_a_token_is_shown_once_stored_hashed_rotated_and_revoked(demo_db, api):
    with store.opened(demo_db) as db:
        admin = actor_for(db, "admin")
        client_id, token = clients.create_client(db, admin, name="政务服务网", scopes=ALL)
        assert token.startswith("zhy_") and len(token) > 40
        stored = repr(store.query(db, "SELECT * FROM api_clients"))
        assert token not in stored  # only its hash and a 10-character hint
        [listed] = clients.list_clients(db, admin)
        assert listed["token_hint"] == token[:10] and "token_hash" not in listed
    old = {"Authorization": f"Bearer {token}"}
    assert api.get("/problems", headers=old).status_code == 200
    with store.opened(demo_db) as db:
        new = clients.rotate(db, actor_for(db, "admin"), client_id)
    assert api.get("/problems", headers=old).status_code == 401  # the old one stops at once
    assert api.get("/problems", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    with store.opened(demo_db) as db:
        clients.revoke(db, actor_for(db, "admin"), client_id)
        assert (
            store.scalar(db, "SELECT count(*) FROM audit_log WHERE table_name = 'api_clients'") == 3
        )
    refused = api.get("/problems", headers={"Authorization": f"Bearer {new}"})
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["title"] == "未认证"


def test_the_same_problem_sent_twice_is_one_problem_with_the_same_answer(demo_db, api):
    headers = new_client(demo_db)
    before = count(demo_db, "SELECT count(*) FROM problems")
    body = problem_body(demo_db)
    first = api.post("/problems", json=body, headers=headers | {"Idempotency-Key": "a-1"})
    again = api.post("/problems", json=body, headers=headers | {"Idempotency-Key": "a-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and first.json()["status"] == "new"
    assert count(demo_db, "SELECT count(*) FROM problems") == before + 1
    changed = api.post(
        "/problems",
        json=body | {"description": "另一件事"},
        headers=headers | {"Idempotency-Key": "a-1"},
    )
    assert changed.status_code == 422 and changed.json()["field"] == "Idempotency-Key"
    pid = first.json()["id"]
    with store.opened(demo_db) as db:
        row = store.query(
            db,
            "SELECT p.source, o.external_ref, u.username FROM problems p"
            " JOIN problem_origins o ON o.problem_id = p.id JOIN users u ON u.id = p.created_by"
            " WHERE p.id = ?",
            (pid,),
        )
        audited = store.scalar(
            db,
            "SELECT actor_name FROM audit_log WHERE table_name = 'problems' AND row_id = ?",
            (str(pid),),
        )
    assert row == [
        {"source": "hotline", "external_ref": "12345-0001", "username": "api:12345热线平台"}
    ]
    assert audited == "api:12345热线平台"  # the audit row names the client
    detail = api.get(f"/problems/{pid}", headers=headers).json()
    assert [e["action"] for e in detail["timeline"]] == ["raise"]
    assert detail["external_ref"] == "12345-0001"


def test_an_unknown_company_is_added_and_bad_codes_are_named(demo_db, api):
    headers = new_client(demo_db)
    base = "91321100MA1N7Y5X1"
    code = base + stdnum_uscc.calc_check_digit(base)
    wrong = base + ("0" if code[-1] != "0" else "1")
    body = problem_body(demo_db, company={"uscc": wrong, "name": "镇江新来企业有限公司"})
    refused = api.post("/problems", json=body, headers=headers | {"Idempotency-Key": "c-1"})
    assert refused.status_code == 422 and refused.json()["field"] == "company.uscc"
    assert "校验位" in refused.json()["detail"]
    body["company"]["uscc"] = code
    refused = api.post("/problems", json=body, headers=headers | {"Idempotency-Key": "c-2"})
    assert refused.json()["field"] == "company.district_code"  # unknown: district and sector too
    with store.opened(demo_db) as db:
        district, sector = db.conn.execute(
            "SELECT (SELECT code FROM districts LIMIT 1), (SELECT code FROM sectors LIMIT 1)"
        ).fetchone()
    body["company"] |= {"district_code": district, "sector_code": sector}
    image = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(image, "PNG")
    body["photos"] = [
        {"filename": "现场.png", "data_base64": base64.b64encode(image.getvalue()).decode()}
    ]
    made = api.post("/problems", json=body, headers=headers | {"Idempotency-Key": "c-3"})
    assert made.status_code == 201, made.json()
    assert count(demo_db, "SELECT count(*) FROM companies WHERE uscc = ?", (code,)) == 1
    assert (
        count(
            demo_db, "SELECT count(*) FROM attachments WHERE problem_id = ?", (made.json()["id"],)
        )
        == 1
    )
    nothing = count(demo_db, "SELECT count(*) FROM problems")
    bad = body | {"photos": [{"filename": "x.jpg", "data_base64": "not base64!"}]}
    refused = api.post("/problems", json=bad, headers=headers | {"Idempotency-Key": "c-4"})
    assert refused.status_code == 422 and refused.json()["field"] == "photos"
    assert count(demo_db, "SELECT count(*) FROM problems") == nothing  # nothing half-written


def test_pages_and_the_change_feed_give_everything_once(demo_db, api):
    headers = new_client(demo_db)
    seen, cursor = [], None
    while True:
        params = {"limit": 77} | ({"cursor": cursor} if cursor else {})
        page = api.get("/problems", params=params, headers=headers).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == count(demo_db, "SELECT count(*) FROM problems")
    closed = api.get("/problems", params={"status": "closed", "limit": 500}, headers=headers).json()
    assert {p["status"] for p in closed["items"]} == {"closed"}
    events, after = [], "0"
    while True:
        page = api.get("/events", params={"after": after, "limit": 500}, headers=headers).json()
        if not page["items"]:
            assert page["cursor"] == after  # nothing new: the cursor stays
            break
        events += [e["id"] for e in page["items"]]
        after = page["cursor"]
    assert events == sorted(set(events))
    assert len(events) == count(demo_db, "SELECT count(*) FROM problem_events")
    api.post("/problems", json=problem_body(demo_db), headers=headers | {"Idempotency-Key": "f-1"})
    fresh = api.get("/events", params={"after": after}, headers=headers).json()["items"]
    assert [e["action"] for e in fresh] == ["raise"]  # the new event, once


def a_batch(demo_db) -> dict:
    with store.opened(demo_db) as db:
        row = store.query(
            db, "SELECT uscc, name, district_code, sector_code FROM companies LIMIT 1"
        )
    return {"companies": row}


# operation -> (method, path, the scope it needs, its body, its success status)
OPERATIONS = {
    "figures": ("get", "/figures?from=2026-01&to=2026-06", "figures.read", None, 200),
    "list": ("get", "/problems", "problems.read", None, 200),
    "one": ("get", "/problems/{pid}", "problems.read", None, 200),
    "feed": ("get", "/events", "problems.read", None, 200),
    "create": ("post", "/problems", "problems.create", problem_body, 201),
    "webhooks": ("get", "/webhooks", "webhooks", None, 200),
    "company": ("get", "/companies/{uscc}", "companies.manage", None, 200),
    "companies": ("post", "/companies", "companies.manage", a_batch, 200),
}


@pytest.mark.parametrize("scope", ALL)
def test_each_scope_reaches_only_its_operations(demo_db, api, scope):
    headers = new_client(demo_db, [scope], name=f"客户端 {scope}")
    pid = count(demo_db, "SELECT min(id) FROM problems")
    uscc = a_company(demo_db)["uscc"]
    before = count(demo_db, "SELECT count(*) FROM problems")
    audited = count(demo_db, "SELECT count(*) FROM audit_log")
    for name, (method, path, needs, body, ok) in OPERATIONS.items():
        kwargs = {"headers": headers | {"Idempotency-Key": f"m-{scope}"}}
        if body:
            kwargs["json"] = body(demo_db)
        answer = getattr(api, method)(path.format(pid=pid, uscc=uscc), **kwargs)
        expected = ok if scope == needs else 403
        assert answer.status_code == expected, (scope, name, answer.json())
        if expected == 403:
            assert answer.json()["title"] == "无权访问"
    created = 1 if scope == "problems.create" else 0
    assert (
        count(demo_db, "SELECT count(*) FROM problems") == before + created
    )  # no write without it
    if scope not in ("problems.create", "companies.manage"):
        assert count(demo_db, "SELECT count(*) FROM audit_log") == audited  # nothing written


def test_row_scopes_limit_every_read(demo_db, api):
    with store.opened(demo_db) as db:
        dept, district = db.conn.execute(
            "SELECT lead_department_code, (SELECT district_code FROM problems WHERE district_code"
            " IS NOT NULL LIMIT 1) FROM problems WHERE lead_department_code IS NOT NULL LIMIT 1"
        ).fetchone()
        outside = store.scalar(
            db,
            "SELECT min(id) FROM problems p WHERE coalesce(lead_department_code, '') != ?"
            " AND NOT EXISTS (SELECT 1 FROM problem_co_departments c WHERE c.problem_id = p.id"
            " AND c.department_code = ?)",
            (dept, dept),
        )
    by_dept = new_client(
        demo_db, ["problems.read"], row_kind="department", row_value=dept, name="部门"
    )
    listed = api.get("/problems", params={"limit": 500}, headers=by_dept).json()["items"]
    with store.opened(demo_db) as db:
        theirs = {
            r[0]
            for r in db.conn.execute(
                "SELECT id FROM problems p WHERE lead_department_code = ? OR EXISTS (SELECT 1"
                " FROM problem_co_departments c WHERE c.problem_id = p.id AND c.department_code = ?)",
                (dept, dept),
            )
        }
    assert listed and {p["id"] for p in listed} == theirs  # led or helped (协办), nothing else
    assert outside not in {p["id"] for p in listed}
    assert api.get(f"/problems/{outside}", headers=by_dept).status_code == 404
    feed = api.get("/events", params={"limit": 500}, headers=by_dept).json()["items"]
    assert outside not in {e["problem_id"] for e in feed}
    by_district = new_client(
        demo_db, ["problems.read"], row_kind="district", row_value=district, name="辖区"
    )
    listed = api.get("/problems", params={"limit": 500}, headers=by_district).json()["items"]
    assert listed and {p["district_code"] for p in listed} == {district}


def test_no_names_and_no_phones_without_the_personal_scope(demo_db, api):
    with store.opened(demo_db) as db:
        db.execute("UPDATE companies SET contact_name = '王经理', contact_phone = '13911112222'")
        names = [
            r[0] for r in db.conn.execute("SELECT display_name FROM users WHERE api_client = 0")
        ]
    plain = new_client(demo_db, ["problems.read"], name="只读")
    personal = new_client(demo_db, ["problems.read", "personal"], name="含个人信息")
    text = api.get("/problems", params={"limit": 500}, headers=plain).text
    text += api.get("/events", params={"limit": 500}, headers=plain).text
    assert "13911112222" not in text and "王经理" not in text
    assert not [n for n in names if n in text]  # no officer, monitor or handler is named
    shown = api.get("/problems", params={"limit": 1}, headers=personal).json()["items"][0]
    assert shown["company"]["contact_phone"] == "13911112222"


def test_rate_and_size_limits(demo_db, api):
    headers = new_client(demo_db, per_minute=3)
    answers = [api.get("/problems", params={"limit": 1}, headers=headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert answers[-1].json()["title"] == "请求过于频繁"
    big = problem_body(demo_db, description="长" * 10)
    big["photos"] = [{"filename": "a.jpg", "data_base64": "A" * (api_module.MAX_BODY + 10)}]
    refused = api.post(
        "/problems", json=big, headers=new_client(demo_db, name="另一个") | {"Idempotency-Key": "s"}
    )
    assert refused.status_code == 413 and refused.json()["title"] == "请求内容过大"


def test_errors_are_chinese_problem_documents(demo_db, api):
    headers = new_client(demo_db)
    missing = api.post(
        "/problems", json={"source": "hotline"}, headers=headers | {"Idempotency-Key": "e"}
    )
    assert missing.status_code == 422 and missing.json()["field"] == "external_ref"
    assert "缺少" in missing.json()["detail"]
    no_key = api.post("/problems", json=problem_body(demo_db), headers=headers)
    assert no_key.status_code == 422 and no_key.json()["field"] == "idempotency-key"
    assert api.get("/nowhere", headers=headers).json()["title"] == "未找到"
    assert (
        api.get("/problems", params={"cursor": "abc"}, headers=headers).json()["field"] == "cursor"
    )


def test_the_document_and_its_page_need_nothing_from_outside(api):
    spec = api.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert set(spec["paths"]) >= {"/problems", "/problems/{problem_id}", "/events"}
    page = api.get("/docs").text
    assert "static-offline-docs/swagger-ui-bundle.js" in page and "cdn" not in page.lower()


def test_the_clients_page_shows_a_new_token_once(demo_db, api):
    at = open_page(demo_db, "admin", "pages/api_clients_page.py")
    at.button(key="FormSubmitter:new_client_0-创建并生成令牌").click().run()
    assert "名称" in at.error[0].value or "客户端名称" in at.error[0].value
    at.text_input[0].input("政务服务网")
    at.multiselect[0].set_value(["problems.read"])
    at.button(key="FormSubmitter:new_client_0-创建并生成令牌").click().run()
    [shown] = [c.value for c in at.code]
    assert shown.startswith("zhy_")
    assert at.dataframe[0].value["名称"].tolist() == ["政务服务网"]  # listed at once (issue 28)
    assert at.text_input[0].value == "" and not at.multiselect[0].value  # the form is empty
    answer = api.get("/problems", params={"limit": 1}, headers={"Authorization": f"Bearer {shown}"})
    assert answer.status_code == 200
    at.run()  # the next run no longer shows it
    assert not at.code and at.dataframe[0].value["名称"].tolist() == ["政务服务网"]


def test_figures_are_the_dashboards_numbers(demo_db, api):
    headers = new_client(demo_db, ["figures.read"], name="省平台")
    params = {"from": "2026-01", "to": "2026-06", "sector": ["EQ-AUTO", "SV-LOG"]}
    answer = api.get("/figures", params=params, headers=headers)
    assert answer.status_code == 200, answer.json()
    got = answer.json()
    with store.opened(demo_db) as db:
        view = periods.Filters("2026-01", "2026-06", sectors=("EQ-AUTO", "SV-LOG"))
        board = overview.dashboard_data(db, actor_for(db, "supervisor"), view)
    expected = {k.key: k.value for k in board["kpis"]}
    assert {k["key"]: k["value"] for k in got["kpis"]} == pytest.approx(expected, nan_ok=True)
    cells = {(c["sector_code"], c["category_code"]): c["problems"] for c in got["sector_category"]}
    frame = board["cells"]
    assert cells == {
        (s, c): int(n)
        for s, c, n in zip(frame["sector"], frame["category"], frame["n"], strict=True)
    }
    assert sum(cells.values()) > 0
    assert (
        api.get(
            "/figures", params={"from": "2026-13", "to": "2026-06"}, headers=headers
        ).status_code
        == 422
    )
    with store.opened(demo_db) as db:
        dept = store.scalar(
            db,
            "SELECT lead_department_code FROM problems WHERE lead_department_code IS NOT NULL LIMIT 1",
        )
    mine = new_client(
        demo_db, ["figures.read"], row_kind="department", row_value=dept, name="部门统计"
    )
    asked_all = api.get(
        "/figures", params={"from": "2026-01", "to": "2026-06"}, headers=mine
    ).json()
    with store.opened(demo_db) as db:
        own = overview.dashboard_data(
            db,
            actor_for(db, "supervisor"),
            periods.Filters("2026-01", "2026-06", departments=(dept,)),
        )
    assert {k["key"]: k["value"] for k in asked_all["kpis"]} == pytest.approx(
        {k.key: k.value for k in own["kpis"]}, nan_ok=True
    )  # its own department's figures, whatever it asks for


def test_webhooks_are_signed_and_outlast_a_subscriber_that_is_down(demo_db, api):
    headers = new_client(demo_db, ["problems.create", "webhooks"], name="12345推送")
    hooks = Hooks().start()
    made = api.post(
        "/webhooks", json={"url": hooks.url, "actions": ["raise", "assign"]}, headers=headers
    )
    assert made.status_code == 201 and made.json()["actions"] == ["assign", "raise"]
    hooks.secret = made.json()["secret"]
    assert "secret" not in api.get("/webhooks", headers=headers).json()[0]  # shown once
    bad = api.post("/webhooks", json={"url": hooks.url, "actions": ["explode"]}, headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "actions"
    pid = api.post(
        "/problems", json=problem_body(demo_db), headers=headers | {"Idempotency-Key": "w-1"}
    ).json()["id"]
    with store.opened(demo_db) as db:
        lifecycle.assign(db, actor_for(db, "supervisor"), pid, "GXJ", "short")
        lifecycle.accept(db, actor_for(db, "handler"), pid)  # not subscribed
        assert worker.deliver(db)["sent"] == 2
        shown = {d["target"] for d in outbox.list_deliveries(db, actor_for(db, "admin"))}
    assert shown == {hooks.url}  # 通知记录 names the subscriber's address
    page = open_page(demo_db, "admin", "pages/api_clients_page.py")
    assert page.dataframe[1].value["推送地址"].tolist() == [hooks.url]
    assert [r["action"] for r in hooks.received] == ["raise", "assign"]
    assert hooks.refused_signatures == 0
    hooks.stop()  # the subscriber goes down
    with store.opened(demo_db) as db:
        lifecycle.escalate(db, actor_for(db, "supervisor"), pid, "请尽快")  # not subscribed
        lifecycle.assign(
            db, actor_for(db, "supervisor"), new_id := _new_problem(db), "GXJ", "short"
        )
        assert worker.deliver(db) == {"sent": 0, "pending": 1, "parked": 0, "held": 0}
        [row] = store.query(db, "SELECT * FROM deliveries WHERE status = 'pending'")
        assert "无法连接订阅地址" in row["last_error"]
        hooks.start()  # back, on the same port
        db.execute("UPDATE deliveries SET next_at = ? WHERE id = ?", (row["created_at"], row["id"]))
        assert worker.deliver(db)["sent"] == 1
    assert [r["action"] for r in hooks.received] == ["raise", "assign", "assign"]
    assert new_id
    hooks.stop()
    gone = api.delete(f"/webhooks/{made.json()['id']}", headers=headers)
    assert gone.status_code == 204 and api.get("/webhooks", headers=headers).json() == []


def _new_problem(db) -> int:
    return store.scalar(db, "SELECT id FROM problems WHERE status = 'new' ORDER BY id LIMIT 1")


def test_companies_by_code_and_in_batches_all_or_nothing(demo_db, api):
    headers = new_client(demo_db, ["companies.manage"], name="市场监管")
    known = a_company(demo_db)
    found = api.get(f"/companies/{known['uscc']}", headers=headers).json()
    assert found["name"] == known["name"] and found["contact_phone"] is None  # no personal scope
    unknown = "91321100MA9999999"
    unknown += stdnum_uscc.calc_check_digit(unknown)
    assert api.get(f"/companies/{unknown}", headers=headers).json()["title"] == "未找到"
    assert api.get("/companies/123", headers=headers).json()["field"] == "uscc"
    with store.opened(demo_db) as db:
        district, sector = db.conn.execute(
            "SELECT (SELECT code FROM districts LIMIT 1), (SELECT code FROM sectors LIMIT 1)"
        ).fetchone()

    def record(i: int, **changes) -> dict:
        base = f"91321100MA{i:07d}"
        code = base + stdnum_uscc.calc_check_digit(base)
        return {
            "uscc": code,
            "name": f"接口企业{i}",
            "district_code": district,
            "sector_code": sector,
        } | changes

    good = [record(i) for i in range(1, 6)]
    bad = [*good, record(6, district_code="NOPE"), record(7, uscc="123"), good[0]]
    before = count(demo_db, "SELECT count(*) FROM companies")
    refused = api.post("/companies", json={"companies": bad}, headers=headers)
    assert refused.status_code == 422, refused.json()
    errors = refused.json()["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {
        (6, "district_code"),
        (7, "uscc"),
        (8, "uscc"),  # the same company twice in one batch
    }
    assert count(demo_db, "SELECT count(*) FROM companies") == before  # nothing written
    done = api.post("/companies", json={"companies": good}, headers=headers).json()
    assert done == {"inserted": 5, "updated": 0, "unchanged": 0}
    again = [good[0] | {"name": "接口企业1（更名）"}, *good[1:]]
    done = api.post("/companies", json={"companies": again}, headers=headers).json()
    assert done == {"inserted": 0, "updated": 1, "unchanged": 4}  # keyed by code: no duplicates
    with store.opened(demo_db) as db:
        audited = store.scalar(
            db,
            "SELECT actor_name FROM audit_log WHERE table_name = 'companies' AND action = 'import' ORDER BY id DESC LIMIT 1",
        )
    assert audited == "api:市场监管"


def test_a_problem_from_another_system_tells_no_one_at_the_client(demo_db, api):
    headers = new_client(demo_db, ["problems.create"], name="政务服务网")
    pid = api.post(
        "/problems", json=problem_body(demo_db), headers=headers | {"Idempotency-Key": "r-1"}
    ).json()["id"]
    with store.opened(demo_db) as db:
        lifecycle.assign(db, actor_for(db, "supervisor"), pid, "GXJ", "short")
        lifecycle.accept(db, actor_for(db, "handler"), pid)
        lifecycle.reply(
            db, actor_for(db, "handler"), pid, "resolved", "已协调不动产登记中心一次性告知。"
        )
        client_user = store.scalar(db, "SELECT user_id FROM api_clients WHERE name = '政务服务网'")
        mine = store.scalar(db, "SELECT count(*) FROM messages WHERE user_id = ?", (client_user,))
        told = store.scalar(db, "SELECT count(*) FROM messages WHERE problem_id = ?", (pid,))
    assert mine == 0 and told > 0  # supervisors hear of the reply; the client's inbox stays empty


def test_a_scoped_clients_webhooks_carry_only_its_rows(demo_db, api):
    dept = new_client(
        demo_db, ["webhooks"], row_kind="department", row_value="GXJ", name="工信局系统"
    )
    everything = new_client(demo_db, ["webhooks"], name="省平台")
    for headers in (dept, everything):
        made = api.post("/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=headers)
        assert made.status_code == 201
    with store.opened(demo_db) as db:
        first, second = [
            r[0] for r in db.conn.execute("SELECT id FROM problems WHERE status = 'new' LIMIT 2")
        ]
        lifecycle.assign(db, actor_for(db, "supervisor"), first, "GXJ", "short")
        lifecycle.assign(db, actor_for(db, "supervisor"), second, "JRB", "short")
        queued = store.query(
            db,
            "SELECT c.name, e.problem_id FROM deliveries d JOIN webhooks w ON CAST(w.id AS TEXT) = d.target"
            " JOIN api_clients c ON c.id = w.client_id JOIN problem_events e ON e.id = d.event_id",
        )
    assert {(q["name"], q["problem_id"]) for q in queued} == {
        ("工信局系统", first),
        ("省平台", first),
        ("省平台", second),
    }


def test_row_scopes_hold_for_companies_and_creates(demo_db, api):
    with store.opened(demo_db) as db:
        district = store.scalar(db, "SELECT district_code FROM companies ORDER BY id LIMIT 1")
        inside = store.scalar(
            db, "SELECT uscc FROM companies WHERE district_code = ? LIMIT 1", (district,)
        )
        outside = store.scalar(
            db, "SELECT uscc FROM companies WHERE district_code != ? LIMIT 1", (district,)
        )
    headers = new_client(
        demo_db,
        ["companies.manage", "problems.create", "problems.read"],
        row_kind="district",
        row_value=district,
        name="辖区系统",
    )
    assert api.get(f"/companies/{inside}", headers=headers).status_code == 200
    assert api.get(f"/companies/{outside}", headers=headers).status_code == 404
    body = problem_body(demo_db, company={"uscc": outside})
    made = api.post("/problems", json=body, headers=headers | {"Idempotency-Key": "d-1"})
    assert made.status_code == 201  # it may report a problem anywhere...
    seen = api.get(f"/problems/{made.json()['id']}", headers=headers)
    assert seen.status_code == 404  # ...but reads only its own district's


def company_row(demo_db, uscc: str) -> dict:
    with store.opened(demo_db) as db:
        return store.query(db, "SELECT * FROM companies WHERE uscc = ?", (uscc,))[0]


def new_code(i: int) -> str:
    base = f"91321100MB{i:07d}"
    return base + stdnum_uscc.calc_check_digit(base)


def test_a_department_client_cannot_take_over_another_departments_company(demo_db, api):
    """The attack of issue 26 item 1: move another department's company into one's own, replace
    its contact and blank what was not sent, then read the contact back with the personal scope."""
    with store.opened(demo_db) as db:
        [theirs] = store.query(
            db, "SELECT * FROM companies WHERE department_code = 'GXJ' ORDER BY id LIMIT 1"
        )
        mine, also_mine = store.query(
            db, "SELECT * FROM companies WHERE department_code = 'FGW' ORDER BY id LIMIT 2"
        )
    headers = new_client(
        demo_db,
        ["companies.manage", "personal"],
        row_kind="department",
        row_value="FGW",
        name="发改委系统",
    )
    taken = {
        "uscc": theirs["uscc"],
        "name": theirs["name"],
        "district_code": theirs["district_code"],
        "sector_code": theirs["sector_code"],
        "department_code": "FGW",
        "contact_name": "冒名联系人",
        "contact_phone": "13800000000",
    }
    refused = api.post("/companies", json={"companies": [taken]}, headers=headers)
    assert refused.status_code == 403, refused.json()
    body = refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert body["title"] == "无权访问" and "数据范围" in body["detail"]
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(1, "uscc")]
    assert theirs["name"] not in refused.text and theirs["contact_name"] not in refused.text
    assert company_row(demo_db, theirs["uscc"]) == theirs  # nothing moved, replaced or blanked
    read = api.get(f"/companies/{theirs['uscc']}", headers=headers)
    assert read.status_code == 404 and "13800000000" not in read.text

    # Every item outside is named, and the one inside is not written either.
    batch = [
        {"uscc": mine["uscc"], "contact_phone": "13900000001"},  # inside: fine alone
        taken,  # another department's company
        {"uscc": also_mine["uscc"], "department_code": "GXJ"},  # its own, moved out
        {"uscc": new_code(1), "name": "新企业甲", "district_code": "321181"}
        | {"sector_code": mine["sector_code"], "department_code": "GXJ"},  # created elsewhere
        {"uscc": new_code(2), "name": "新企业乙", "district_code": "321181"}
        | {"sector_code": mine["sector_code"]},  # created with no department: not its own
        {"uscc": new_code(3), "name": "新企业丙", "district_code": "321181"}
        | {"sector_code": mine["sector_code"], "department_code": "FGW"},  # inside
    ]
    before = count(demo_db, "SELECT count(*) FROM companies")
    refused = api.post("/companies", json={"companies": batch}, headers=headers)
    assert refused.status_code == 403, refused.json()
    assert [(e["row"], e["field"]) for e in refused.json()["errors"]] == [
        (2, "uscc"),
        (3, "department_code"),
        (4, "department_code"),
        (5, "department_code"),
    ]
    assert count(demo_db, "SELECT count(*) FROM companies") == before
    assert company_row(demo_db, mine["uscc"]) == mine
    assert company_row(demo_db, also_mine["uscc"]) == also_mine
    cleared = api.post(
        "/companies",
        json={"companies": [{"uscc": mine["uscc"], "department_code": None}]},
        headers=headers,
    )
    assert cleared.status_code == 403 and cleared.json()["errors"][0]["row"] == 1

    # Inside its department it writes as before.
    done = api.post("/companies", json={"companies": [batch[0], batch[5]]}, headers=headers)
    assert done.json() == {"inserted": 1, "updated": 1, "unchanged": 0}
    assert company_row(demo_db, mine["uscc"]) | {"updated_at": None} == mine | {
        "contact_phone": "13900000001",
        "updated_at": None,
    }
    read = api.get(f"/companies/{new_code(3)}", headers=headers).json()
    assert read["department_code"] == "FGW" and read["name"] == "新企业丙"


def test_a_district_client_writes_only_inside_its_district(demo_db, api):
    with store.opened(demo_db) as db:
        inside, outside = (
            store.query(db, f"SELECT * FROM companies WHERE district_code {op} '321181' LIMIT 1")[0]
            for op in ("=", "!=")
        )
    headers = new_client(
        demo_db, ["companies.manage"], row_kind="district", row_value="321181", name="丹阳系统"
    )
    take_over = {k: outside[k] for k in ("uscc", "name", "sector_code")}
    batch = [
        take_over | {"district_code": "321181", "contact_name": "甲"},  # another district's
        {"uscc": inside["uscc"], "district_code": outside["district_code"]},  # move out
        {"uscc": inside["uscc"], "contact_name": "乙"},  # inside
    ]
    alone = api.post("/companies", json={"companies": batch[:1]}, headers=headers)
    assert alone.status_code == 403, alone.json()
    refused = api.post("/companies", json={"companies": batch}, headers=headers)
    assert refused.status_code == 403, refused.json()
    assert [(e["row"], e["field"]) for e in refused.json()["errors"]] == [
        (1, "uscc"),
        (2, "district_code"),
    ]
    assert company_row(demo_db, outside["uscc"]) == outside
    assert company_row(demo_db, inside["uscc"]) == inside
    done = api.post("/companies", json={"companies": batch[2:]}, headers=headers)
    assert done.json() == {"inserted": 0, "updated": 1, "unchanged": 0}
    assert company_row(demo_db, inside["uscc"])["contact_name"] == "乙"


def test_fields_not_sent_keep_their_stored_values(demo_db, api):
    headers = new_client(demo_db, ["companies.manage"], name="市场监管")
    with store.opened(demo_db) as db:
        stored = store.query(
            db,
            "SELECT * FROM companies WHERE park_code IS NOT NULL AND is_specialized = 1"
            " ORDER BY id LIMIT 1",
        )[0]
    code = stored["uscc"]

    def sent(**fields) -> dict:
        answer = api.post(
            "/companies", json={"companies": [{"uscc": code} | fields]}, headers=headers
        )
        assert answer.status_code == 200, answer.json()
        return answer.json()

    def now() -> dict:
        return company_row(demo_db, code) | {"updated_at": None}

    # Only the code and one field: the rest is kept.
    assert sent(contact_phone="13700000000") == {"inserted": 0, "updated": 1, "unchanged": 0}
    expected = stored | {"contact_phone": "13700000000", "updated_at": None}
    assert now() == expected
    # The shape the API took before: the required fields, nothing else; nothing is blanked.
    same = {k: stored[k] for k in ("name", "district_code", "sector_code")}
    assert sent(**same) == {"inserted": 0, "updated": 0, "unchanged": 1}
    assert now() == expected
    # null clears a field that may be empty; a required one cannot be cleared.
    sent(address=None, park_code=None, is_specialized=False)
    assert now() == expected | {"address": "", "park_code": None, "is_specialized": 0}
    blank = api.post(
        "/companies", json={"companies": [{"uscc": code, "name": ""}]}, headers=headers
    )
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "name"
    # A new company still needs its name, district and sector.
    missing = api.post("/companies", json={"companies": [{"uscc": new_code(9)}]}, headers=headers)
    assert {e["field"] for e in missing.json()["errors"]} == {
        "name",
        "district_code",
        "sector_code",
    }
    # ...and the document says so.
    record = api.get("/openapi.json").json()["components"]["schemas"]["CompanyRecord"]
    assert record["required"] == ["uscc"]
    assert "保持登记的原值" in record["properties"]["address"]["description"]
    operation = api.get("/openapi.json").json()["paths"]["/companies"]["post"]
    assert "没有发送的字段保持登记的原值" in operation["description"]


def test_a_company_outside_the_scope_reads_as_an_unknown_code(demo_db, api):
    """No existence oracle (issue 26 item 10): one answer for a company outside the client's row
    scope and for a code nobody registered, naming no internal id."""
    with store.opened(demo_db) as db:
        [outside] = store.query(
            db, "SELECT id, uscc FROM companies WHERE district_code != '321181' LIMIT 1"
        )
    unknown = new_code(77)
    headers = new_client(
        demo_db, ["companies.manage"], row_kind="district", row_value="321181", name="丹阳系统"
    )
    hidden = api.get(f"/companies/{outside['uscc']}", headers=headers)
    missing = api.get(f"/companies/{unknown}", headers=headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.headers["content-type"] == missing.headers["content-type"]
    assert hidden.json() | {"detail": ""} == missing.json() | {"detail": ""}
    assert hidden.json()["detail"].replace(outside["uscc"], "…") == missing.json()[
        "detail"
    ].replace(unknown, "…")
    assert "编号" not in hidden.text and str(outside["id"]) not in hidden.json()["detail"].replace(
        outside["uscc"], ""
    )


def test_odd_ids_cursors_bodies_and_tokens_get_documented_answers(demo_db, api):
    """Issue 26 item 9, in process: ids beyond 64 bits and cursors written with other digits
    were 500s; a chunked body over 8 MB was a 400; a 401 named no scheme."""
    headers = new_client(demo_db)

    def refused(answer, status: int, field: str | None = None) -> dict:
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        if field:
            assert answer.json()["field"] == field
        return answer.json()

    huge = "99999999999999999999999"
    refused(api.get(f"/problems/{huge}", headers=headers), 422, "problem_id")
    refused(api.get(f"/problems/{2**63 - 1}", headers=headers), 404)  # the largest id: looked up
    refused(api.delete(f"/webhooks/-{huge}", headers=headers), 422, "webhook_id")
    refused(api.delete(f"/webhooks/{huge}", headers=headers), 422, "webhook_id")
    for other_digits in ("²", "①", "٣", "１"):
        refused(api.get("/events", params={"after": other_digits}, headers=headers), 422, "after")
        refused(
            api.get("/problems", params={"cursor": other_digits}, headers=headers), 422, "cursor"
        )

    def chunked(size: int):
        body = problem_body(demo_db, ref="chunk-1")
        body["photos"] = [{"filename": "a.jpg", "data_base64": "A" * size}]
        data = json.dumps(body).encode()
        for start in range(0, len(data), 65536):
            yield data[start : start + 65536]

    key = headers | {"Idempotency-Key": "c-1", "Content-Type": "application/json"}
    too_big = api.post("/problems", content=chunked(api_module.MAX_BODY), headers=key)
    assert refused(too_big, 413)["title"] == "请求内容过大"
    small = api.post("/problems", content=chunked(8), headers=key)
    refused(small, 422, "photo")  # read whole and parsed: the 8 bytes are not a photo

    for token in (None, "zhy_not-a-token"):
        answer = api.get("/problems", headers={"Authorization": f"Bearer {token}"} if token else {})
        refused(answer, 401)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert (
        "WWW-Authenticate"
        in api.get("/openapi.json").json()["paths"]["/problems"]["get"]["responses"]["401"][
            "headers"
        ]
    )


def test_a_department_client_sees_the_problems_its_handlers_see(demo_db, api):
    """Issue 26 item 13: a department's API client reads (pages, one problem, the feed) and is
    sent (webhooks) exactly the problems its department's handlers see in the app: those it leads
    and those it helps with (协办). The demo has no co-departments, so they are made here."""
    headers = new_client(
        demo_db,
        ["problems.read", "webhooks"],
        row_kind="department",
        row_value="FGW",
        name="发改委",
    )
    hook = api.post("/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=headers)
    assert hook.status_code == 201, hook.json()
    sender = new_client(demo_db, ["problems.create"], name="12345")
    led, helped, other = [
        api.post(
            "/problems",
            json=problem_body(demo_db, ref=f"co-{i}"),
            headers=sender | {"Idempotency-Key": f"co-{i}"},
        ).json()["id"]
        for i in range(3)
    ]
    with store.opened(demo_db) as db:
        supervisor = actor_for(db, "supervisor")
        lifecycle.assign(db, supervisor, led, "FGW", "short")
        lifecycle.assign(db, supervisor, helped, "GXJ", "short", co_departments=["FGW", "JRB"])
        lifecycle.assign(db, supervisor, other, "GXJ", "short", co_departments=["JRB"])
        handler = actor_for(db, "handler.fgw")
        in_app = {p["id"] for p in listing.list_problems(db, handler, limit=100_000)}
        on_desk = {p["id"] for p in listing.list_for_department(db, handler)}
        hooked = {
            r[0]
            for r in db.conn.execute(
                "SELECT e.problem_id FROM deliveries d JOIN problem_events e ON e.id = d.event_id"
                " WHERE d.channel = 'webhook' AND d.target = ?",
                (str(hook.json()["id"]),),
            )
        }
    assert {led, helped} <= on_desk and other not in in_app  # the app's handlers: led and 协办
    listed, cursor = set(), None
    while True:
        page = api.get(
            "/problems",
            params={"limit": 500} | ({"cursor": cursor} if cursor else {}),
            headers=headers,
        ).json()
        listed |= {p["id"] for p in page["items"]}
        if not (cursor := page["next_cursor"]):
            break
    assert listed == in_app
    fed, after = set(), "0"
    while items := api.get(
        "/events", params={"limit": 500, "after": after}, headers=headers
    ).json()["items"]:
        fed |= {e["problem_id"] for e in items}
        after = str(items[-1]["id"])
    assert fed == in_app
    assert api.get(f"/problems/{helped}", headers=headers).json()["co_departments"] == [
        "FGW",
        "JRB",
    ]
    assert api.get(f"/problems/{other}", headers=headers).status_code == 404
    assert hooked == {led, helped}
