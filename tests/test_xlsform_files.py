"""select_one_from_file / select_multiple_from_file: choices from a CSV uploaded with the form,
read when the form is uploaded and versioned with it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from survey import db as store
from survey import questionnaires
from survey.access.actor import SYSTEM
from survey.xlsform import engine
from survey.xlsform.loader import FormLoadError, load_xlsform
from survey.xlsform.writer import build_xlsform
from tests.helpers import ROOT, open_page

COMPANIES = (
    "name,label,district\nC1,镇江甲机械有限公司,JK\nC2,镇江乙化工有限公司,RZ\nC3,丹阳丙眼镜厂,DY\n"
)
FORM = [
    {"type": "select_one_from_file companies.csv", "name": "company", "label": "企业"},
    {"type": "select_one districts", "name": "district", "label": "区县"},
    {
        "type": "select_multiple_from_file companies.csv",
        "name": "peers",
        "label": "同行企业",
        "choice_filter": "district = ${district}",
    },
]
DISTRICTS = [
    {"list_name": "districts", "name": "JK", "label": "京口区"},
    {"list_name": "districts", "name": "RZ", "label": "润州区"},
]


def xlsx(survey=FORM, version="1") -> bytes:
    return build_xlsform(survey, DISTRICTS, {"form_id": "ff", "version": version})


def problems(survey, files) -> list[str]:
    with pytest.raises(FormLoadError) as info:
        load_xlsform(xlsx(survey), "ff.xlsx", files)
    return [str(p) for p in info.value.problems]


def test_the_csv_rows_become_the_choices_and_filter_on_their_columns():
    form = load_xlsform(xlsx(), "ff.xlsx", {"companies.csv": COMPANIES.encode()})
    assert form.files == ["companies.csv"]
    assert [c.label() for c in form.choices["companies.csv"]] == [
        "镇江甲机械有限公司",
        "镇江乙化工有限公司",
        "丹阳丙眼镜厂",
    ]
    assert form.by_name["company"].type == "select_one"
    assert form.by_name["peers"].type == "select_multiple"
    scope = engine.Scope({"district": "RZ"})
    peers = engine.choices_for(form, form.by_name["peers"], scope, None)
    assert [c.name for c in peers] == ["C2"]
    clean, errors, _ = engine.evaluate_form(
        form, {"company": "C1", "district": "RZ", "peers": ["C2"]}, None
    )
    assert errors == {} and clean["company"] == "C1"


def test_value_and_label_parameters_and_language_columns():
    survey = [
        {
            "type": "select_one_from_file towns.csv",
            "name": "town",
            "label": "镇",
            "parameters": "value=code, label=title",
        },
        {"type": "select_one_from_file towns.csv", "name": "home", "label": "籍贯"},
    ]
    towns = "code,title::English,title::中文,name,label\n1,Dantu,丹徒,d,丹徒镇\n2,Jurong,句容,j,句容市\n"
    form = load_xlsform(xlsx(survey), "ff.xlsx", {"towns.csv": towns.encode()})
    town = form.by_name["town"]
    assert [c.name for c in form.choices[town.list_name]] == ["1", "2"]
    assert form.choices[town.list_name][0].label("中文") == "丹徒"
    assert set(form.languages) >= {"English", "中文"}
    assert [c.name for c in form.choices[form.by_name["home"].list_name]] == ["d", "j"]
    assert form.files == ["towns.csv"]


def test_what_is_wrong_is_named_by_file_row_and_column():
    said = problems(FORM, {"companies.csv": b"name,label\n,x\nA,\nB,b\nB,c\n"})
    assert said == [
        "文件 companies.csv 第 2 行“name”列：缺少选项值",
        "文件 companies.csv 第 3 行“label”列：选项“A”缺少标签",
        "文件 companies.csv 第 5 行“name”列：选项值“B”重复（第 4 行已有）",
    ]
    # not uploaded: accepted as pyxform accepts it, the rows that read it not shown, and said
    missing = load_xlsform(xlsx(), "ff.xlsx", {})
    assert [q.name for q, _ in missing.walk()] == ["district"]
    assert missing.warnings[0].startswith("survey 表第 2 行：选项文件“companies.csv”未随问卷上传")
    assert "该题不会显示" in missing.warnings[0]
    assert any("引用了不会显示的题目" not in w for w in missing.warnings)
    no_label = problems(FORM, {"companies.csv": b"name,title\nA,a\n"})
    assert no_label == ["文件 companies.csv 第 1 行“label”列：缺少“label”列（选项标签）"]


@pytest.mark.parametrize(
    ("type_", "parameters", "expected"),
    [
        ("select_one_from_file cities", "", "须以 .csv 结尾"),
        ("select_one_from_file cities.txt", "", "须以 .csv 结尾"),
        ("select_one_from_file cities.csv.bak", "", "须以 .csv 结尾"),
        ("select_one_from_file", "", "后须写一个选项文件名"),
        ("select_one_from_file cities.csv", "value=", "格式不对"),
        ("select_one_from_file cities.csv", "value=a*b", "列名“a*b”不合法"),
        ("select_one_from_file cities.csv", "value=1code", "列名“1code”不合法"),
        ("select_one_from_file cities.csv", "max-pixels=5", "不适用于选项文件"),
    ],
)
def test_names_and_parameters_pyxform_refuses_we_refuse(type_, parameters, expected):
    survey = [{"type": type_, "name": "c", "label": "城市", "parameters": parameters}]
    said = problems(survey, {"cities.csv": b"name,label\na,A\n"})
    assert len(said) == 1 and expected in said[0] and "第 2 行" in said[0]


@pytest.mark.store_independent
def test_geojson_features_are_choices_and_an_xml_file_is_said_not_read():
    geojson = (
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [119.4, 32.2]},'
        ' "properties": {"id": "b1", "title": "1 号楼", "building": "yes"}},'
        '{"type": "Feature", "id": "b2", "geometry": null, "properties": {"building": "no"}}]}'
    ).encode()
    survey = [{"type": "select_one_from_file places.geojson", "name": "place", "label": "地点"}]
    form = load_xlsform(xlsx(survey), "ff.xlsx", {"places.geojson": geojson})
    options = form.choices[form.by_name["place"].list_name]
    assert [(c.name, c.label(), c.extra["building"]) for c in options] == [
        ("b1", "1 号楼", "yes"),
        ("b2", "b2", "no"),
    ]
    xml = [{"type": "select_one_from_file places.xml", "name": "place", "label": "地点"}]
    form = load_xlsform(xlsx(xml), "ff.xlsx", {"places.xml": b"<root/>"})
    assert form.by_name.get("place") is None
    assert "survey 表第 2 行：XML 选项文件网页问卷不能读取，该题不会显示" in form.warnings


def test_versions_keep_their_own_csv_and_the_file_can_be_downloaded(db):
    v1, _ = questionnaires.save_version(
        db, SYSTEM, xlsx(), "ff.xlsx", {"companies.csv": COMPANIES.encode(), "other.csv": b"x"}
    )
    newer = COMPANIES + "C4,句容丁食品有限公司,JR\n"
    v2, _ = questionnaires.save_version(
        db, SYSTEM, xlsx(version="2"), "ff.xlsx", {"companies.csv": newer.encode()}
    )
    old = questionnaires.get_version(db, SYSTEM, v1)
    assert len(old.choices["companies.csv"]) == 3
    assert len(questionnaires.get_version(db, SYSTEM, v2).choices["companies.csv"]) == 4
    # only the file the form reads is kept, byte for byte
    assert questionnaires.attached_files(db, SYSTEM, v1) == {"companies.csv": COMPANIES.encode()}
    assert questionnaires.attached_files(db, SYSTEM, v2) == {"companies.csv": newer.encode()}
    audit = store.scalar(
        db,
        "SELECT after FROM audit_log WHERE table_name = 'questionnaires' AND row_id = ?",
        (str(v1),),
    )
    assert "companies.csv" in audit


def test_load_form_command_finds_the_csv_in_the_media_folder(tmp_path):
    (tmp_path / "ff.xlsx").write_bytes(xlsx())
    run = [sys.executable, "-m", "survey", "load-form", str(tmp_path / "ff.xlsx")]
    missing = subprocess.run(run, cwd=ROOT, capture_output=True, text=True)
    assert (
        missing.returncode == 0
        and "提示：survey 表第 2 行：选项文件“companies.csv”未随问卷上传" in missing.stdout
    )
    (tmp_path / "ff-media").mkdir()
    (tmp_path / "ff-media" / "companies.csv").write_text(COMPANIES, encoding="utf-8")
    found = subprocess.run(run, cwd=ROOT, capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    assert "选项文件：companies.csv（3 项）" in found.stdout


def test_preview_offers_the_file_choices_and_submits(demo_db):
    long_list = "name,label\n" + "".join(f"K{i},企业{i:04d}\n" for i in range(2000))
    with store.opened(demo_db) as db:
        qid, _ = questionnaires.save_version(
            db,
            SYSTEM,
            xlsx([{**FORM[0], "required": "yes"}]),
            "ff.xlsx",
            {"companies.csv": long_list.encode()},
        )
    at = open_page(demo_db, "supervisor", "pages/questionnaires_page.py")
    at.selectbox(key="form_version_upload_0").set_value(qid).run()
    key = f"preview{qid}"
    box = at.selectbox(key=f"{key}|company")
    assert len(box.options) == 2000  # a long list is a searchable box, not 2,000 radios
    at.button(key=f"{key}#submit").click().run()
    assert any(e.value == "此题必答。" for e in at.error)
    at.selectbox(key=f"{key}|company").set_value("K1999").run()
    at.button(key=f"{key}#submit").click().run()
    assert not at.exception and at.success[-1].value.startswith("试填通过")
    assert "下载选项文件 companies.csv" in [b.label for b in at.get("download_button")]
