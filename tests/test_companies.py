"""Company registry: code checks, Chinese search, scope, edits, all-or-nothing import, export."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from stdnum.cn import uscc as stdnum_uscc

from survey import db as store
from survey import spreadsheets
from survey.access.actor import SYSTEM
from survey.companies import codes, registry, transfer
from survey.errors import PermissionDeniedError, ValidationError
from tests.helpers import actor_for

GOOD = "91321102MA1XY2W30P"


def good_code(prefix: str = "91321102MA1XY2W3") -> str:
    body = prefix + "0"
    return body + stdnum_uscc.calc_check_digit(body)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("9132110", "应为 18 位，当前为 7 位"),
        ("91321102MA1XY2W3OA", "不允许的字符“O”"),
        ("9132A102MA1XY2W30A", "不允许的字符“A”"),
    ],
)
def test_code_messages_say_what_is_wrong(raw, message):
    with pytest.raises(ValidationError) as info:
        codes.validate_uscc(raw)
    assert message in str(info.value) and info.value.field == "uscc"


def test_code_check_character_and_normalisation():
    code = good_code()
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(ValidationError, match=f"最后一位应为“{code[-1]}”"):
        codes.validate_uscc(wrong)
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in code.lower())
    assert codes.validate_uscc(f" {fullwidth[:6]} {fullwidth[6:]} ") == code


def test_search_finds_two_characters_typos_and_code_prefixes(db):
    admin = actor_for(db, "admin")
    hits = registry.search_companies(db, admin, "恒顺")
    assert hits[0]["name"] == "江苏恒顺醋业股份有限公司" and hits[0]["match"] == "名称"
    typo = registry.search_companies(db, admin, "恒顺醋叶")
    assert typo[0]["name"] == "江苏恒顺醋业股份有限公司" and typo[0]["match"].startswith("相近")
    code = store.scalar(db, "SELECT uscc FROM companies WHERE name = '江苏恒顺醋业股份有限公司'")
    assert registry.search_companies(db, admin, code[:10].lower())[0]["uscc"] == code
    assert registry.search_companies(db, admin, "   ") == []


def test_search_respects_scope_and_sees_new_companies(db):
    officer = actor_for(db, "officer")  # 市工业和信息化局
    hits = registry.search_companies(db, officer, "有限公司", limit=500)
    visited = {
        r["company_id"]
        for r in store.query(
            db, "SELECT company_id FROM visits WHERE officer_id = ?", (officer.id,)
        )
    }
    assert hits and all(h["department_code"] == "GXJ" or h["id"] in visited for h in hits)
    handler = actor_for(db, "handler")
    for hit in registry.search_companies(db, handler, "有限公司", limit=500):
        assert store.scalar(
            db,
            "SELECT count(*) FROM problems WHERE company_id = ? AND lead_department_code = 'GXJ'",
            (hit["id"],),
        )
    new_id = registry.create_company(
        db,
        officer,
        {
            "name": "镇江云帆低空科技有限公司",
            "uscc": good_code(),
            "district_code": "321111",
            "sector_code": "OTHER",
            "department_code": "GXJ",
        },
    )
    assert registry.search_companies(db, officer, "云帆")[0]["id"] == new_id


def test_create_and_edit_are_validated_and_audited(db):
    supervisor = actor_for(db, "supervisor")
    values = {
        "name": "镇江测试企业有限公司",
        "uscc": good_code(),
        "district_code": "321102",
        "sector_code": "TR-FOOD",
        "size": "小型",
        "is_above_scale": "否",
    }
    with pytest.raises(ValidationError, match="缺少企业名称"):
        registry.create_company(db, supervisor, values | {"name": " "})
    with pytest.raises(ValidationError, match="所属区县代码“nowhere”无效"):
        registry.create_company(db, supervisor, values | {"district_code": "nowhere"})
    cid = registry.create_company(db, supervisor, values)
    with pytest.raises(ValidationError, match="已登记为“镇江测试企业有限公司”"):
        registry.create_company(db, supervisor, values | {"name": "别的名字"})
    registry.update_company(db, supervisor, cid, values | {"sector_code": "TR-TEX"})
    row = store.query(
        db,
        "SELECT before, after FROM audit_log WHERE table_name='companies' AND row_id=? AND action='update'",
        (str(cid),),
    )[0]
    assert "TR-FOOD" in row["before"] and "TR-TEX" in row["after"] and "name" not in row["after"]
    with pytest.raises(PermissionDeniedError):
        registry.update_company(db, actor_for(db, "officer"), cid, values)


def sheet(rows: list[list]) -> tuple[list[str], list[list]]:
    return registry.HEADERS, rows


def row(name: str, code: str, district="京口区", sector="食品(香醋等)", **extra) -> list:
    values = dict(
        zip(
            registry.HEADERS,
            [name, code, district, "", sector, "", "", "", "", "", "否", "否"],
            strict=True,
        )
    )
    values.update(extra)
    return [values[h] for h in registry.HEADERS]


def test_import_with_bad_rows_imports_nothing_and_reports_each(db):
    before = registry.count_companies(db)
    a, b = good_code("91321102MA1AAAA1"), good_code("91321102MA1BBBB2")
    headers, rows = sheet(
        [
            row("甲公司", a),
            row("", b),  # missing name
            row("乙公司", "91321102MA1XY2W3OA"),  # bad character
            row("丙公司", a),  # code twice in the file
            row("丁公司", good_code("91321102MA1CCCC3"), district="火星区"),
            row("戊公司", good_code("91321102MA1DDDD4"), sector="不存在的行业"),
        ]
    )
    with pytest.raises(transfer.ImportRejectedError) as info:
        transfer.import_companies(db, SYSTEM, headers, rows)
    reported = {(p["行号"], p["字段"]) for p in info.value.problems}
    assert reported == {
        (3, "企业名称"),
        (4, "统一社会信用代码"),
        (5, "统一社会信用代码"),
        (6, "所属区县"),
        (7, "所属行业"),
    }
    assert "第 2 行已有" in next(p["问题"] for p in info.value.problems if p["行号"] == 5)
    assert registry.count_companies(db) == before
    report = load_workbook(io.BytesIO(transfer.problems_report(info.value.problems)))
    assert report.active.max_row == 1 + len(info.value.problems)


def test_import_twice_updates_instead_of_duplicating(db):
    before = registry.count_companies(db)
    code = good_code("91321102MA1EEEE5")
    headers, rows = sheet([row("己公司", code), row("庚公司", good_code("91321102MA1FFFF6"))])
    steps = []
    first = transfer.import_companies(
        db, SYSTEM, headers, rows, progress=lambda f, t: steps.append(f)
    )
    assert first == {"inserted": 2, "updated": 0, "unchanged": 0}
    assert steps[0] == 0.0 and steps[-1] == 1.0
    rows[0] = row("己公司（更名）", code)
    second = transfer.import_companies(db, SYSTEM, headers, rows)
    assert second == {"inserted": 0, "updated": 1, "unchanged": 1}
    assert registry.count_companies(db) == before + 2
    assert (
        store.scalar(db, "SELECT name FROM companies WHERE uscc = ?", (code,)) == "己公司（更名）"
    )


def test_export_imports_back_without_mapping(db, tmp_path):
    admin = actor_for(db, "admin")
    target = tmp_path / "registry.xlsx"
    count = transfer.export_xlsx(db, admin, target)
    headers, rows = spreadsheets.read_table(target.read_bytes(), target.name)
    assert count == len(rows) == registry.count_companies(db)
    assert all(v for v in transfer.suggest_mapping(headers).values())
    result = transfer.import_companies(db, admin, headers, rows)
    assert result == {"inserted": 0, "updated": 0, "unchanged": count}


def test_csv_with_synonym_headers_and_gbk(db):
    text = f"公司名称,信用代码,区县,行业\n辛公司,{good_code('91321181MA1GGGG7')},丹阳市,眼镜\n"
    headers, rows = spreadsheets.read_table(text.encode("gb18030"), "list.csv")
    mapping = transfer.suggest_mapping(headers)
    assert mapping["name"] == "公司名称" and mapping["sector_code"] == "行业"
    assert transfer.import_companies(db, SYSTEM, headers, rows, mapping)["inserted"] == 1


def test_only_admins_import(db):
    with pytest.raises(PermissionDeniedError):
        transfer.import_companies(db, actor_for(db, "supervisor"), *sheet([]))
