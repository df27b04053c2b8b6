"""Real XLSForms, written elsewhere (tests/forms/real/<corpus>/, each with a README naming its source
and licence): pyxform's own example forms and the Humanitarian OpenStreetMap Team's field forms.

The denominator is what pyxform 4.5 converts without error (with the CSV files the repository has
beside the form). Of those we must load at least 95% per corpus; every form we refuse is listed in
REFUSED with the words its refusal must say, so a new refusal fails here. Each accepted form runs
through the form engine (what the preview evaluates) and renders in the 问卷管理 preview
(AppTest, one session: each form's version selected and drawn, about 0.3 s a form)."""

from __future__ import annotations

import re
import warnings
from functools import cache
from pathlib import Path

import pytest

from survey import clock, questionnaires
from survey import db as store
from survey.access.actor import SYSTEM
from survey.xlsform import engine
from survey.xlsform.loader import FormLoadError, load_xlsform
from survey.xlsform.model import Form
from tests.helpers import ROOT, open_page

pyxform = pytest.importorskip("pyxform.xls2xform")

REAL = ROOT / "tests" / "forms" / "real"
CORPORA = sorted(p.name for p in REAL.iterdir() if p.is_dir())
# The forms pyxform itself refuses (not counted), and the start of what it says.
PYXFORM_REFUSES = {
    "osm-fieldwork/archived/hotspring.xls": "List name not in choices sheet: amenity",
    "osm-fieldwork/archived/landuse.xls": "the 'parameters' value is invalid",
    "osm-fieldwork/archived/places.xls": "The same instance id will be generated",
    "osm-fieldwork/archived/waterways.xls": "unhashable type",
    "osm-fieldwork/buildings.xls": "List name not in choices sheet: yes_no",
    "osm-fieldwork/common/digitisation_fields.xls": "List name not in choices sheet: yes_no",
    "osm-fieldwork/common/mandatory_fields.xls": "Could not find the name 'digitisation_correct'",
    "osm-fieldwork/health.xls": "List name not in choices sheet: yes_no",
    "pyxform/include.xls": "This section has not been included",
    "pyxform/include.xlsx": "This section has not been included",
    "pyxform/include_json.xls": "This section has not been included",
    "pyxform/include_json.xlsx": "This section has not been included",
    "pyxform/unknown_question_type.xls": "Headers that are different names for the same column",
}
# The forms pyxform accepts that we refuse, and what our refusal says (the README lists them).
REFUSED = {
    # A calculation that is prose, kept by pyxform to show that it does not parse expressions;
    # we parse every expression at upload (the documented difference expression-checked).
    "pyxform/bad_calc.xlsx": "第 2 行“calculation”列：表达式“because pyxform doesn't know what to do”有误",
}
TODAY = clock.today()


def forms(corpus: str) -> list[Path]:
    return sorted(p for p in (REAL / corpus).rglob("*") if p.suffix.lower() in (".xls", ".xlsx"))


def key(path: Path) -> str:
    return path.relative_to(REAL).as_posix()


def files_for(path: Path) -> dict[str, bytes]:
    """The CSV files the repository has beside the form (and in lib/ for HOT's current forms)."""
    found = {p.name: p.read_bytes() for p in path.parent.glob("*.csv")}
    lib = path.parent / "lib"
    if lib.is_dir():
        found.update({p.name: p.read_bytes() for p in lib.glob("*.csv")})
    return found


@cache
def pyxform_verdicts() -> dict[str, str | None]:
    """pyxform's verdict per form: None when it converts it, else its message."""
    verdicts = {}
    for corpus in CORPORA:
        for path in forms(corpus):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    pyxform.convert(xlsform=str(path))
                    verdicts[key(path)] = None
                except Exception as exc:  # noqa: BLE001 - any refusal is a verdict
                    verdicts[key(path)] = f"{type(exc).__name__}: {exc}"
    return verdicts


@cache
def our_verdicts() -> dict[str, Form | list[str]]:
    """Our verdict on each form pyxform accepts: the Form, or the problems we said."""
    verdicts: dict[str, Form | list[str]] = {}
    for name, theirs in pyxform_verdicts().items():
        if theirs is not None:
            continue
        path = REAL / name
        try:
            verdicts[name] = load_xlsform(path.read_bytes(), path.name, files_for(path))
        except FormLoadError as exc:
            verdicts[name] = [str(p) for p in exc.problems]
    return verdicts


@pytest.mark.store_independent
def test_the_corpora_are_the_copied_forms_and_pyxform_refuses_only_those_listed():
    for corpus in CORPORA:
        assert (REAL / corpus / "README.md").is_file()
        assert len(forms(corpus)) >= 20
    refused = {name: said for name, said in pyxform_verdicts().items() if said is not None}
    assert set(refused) == set(PYXFORM_REFUSES), refused
    for name, said in refused.items():
        assert PYXFORM_REFUSES[name] in said, (name, said)


@pytest.mark.store_independent
def test_we_load_at_least_95_percent_per_corpus_and_every_refusal_is_listed_in_our_words():
    ours = our_verdicts()
    refused = {name: said for name, said in ours.items() if isinstance(said, list)}
    for corpus in CORPORA:
        counted = [n for n in ours if n.startswith(f"{corpus}/")]
        loaded = [n for n in counted if n not in refused]
        rate = len(loaded) / len(counted)
        print(f"\n{corpus}: {len(loaded)} of {len(counted)} that pyxform accepts ({rate:.1%})")
        assert rate >= 0.95, (corpus, {n: refused[n] for n in counted if n in refused})
    assert set(refused) == set(REFUSED), refused
    for name, problems in refused.items():
        assert any(REFUSED[name] in p for p in problems), problems
        for problem in problems:  # sheet, row and column in Chinese; no library's text
            assert re.match(r"^(survey|choices|settings|external_choices) 表第 \d+ 行", problem)
            assert "warn(" not in problem and "Error" not in problem and "Traceback" not in problem


@pytest.mark.store_independent
def test_every_accepted_form_runs_in_the_engine_and_says_what_it_will_not_ask():
    for name, form in our_verdicts().items():
        if not isinstance(form, Form):
            continue
        values, errors, shown = engine.evaluate_form(form, {}, TODAY)  # what the preview runs
        assert isinstance(values, dict) and isinstance(errors, dict), name
        assert Form.from_dict(form.to_dict()).to_dict() == form.to_dict(), name  # as stored
        for note in form.warnings:  # our words (what the form itself says aside)
            ours = re.sub(r"“[^”]*”|（[^）]*）", "", note)
            assert not re.search(r"[A-Za-z]+Error|warn\(|Traceback", ours), (name, note)
    toilets = our_verdicts()["osm-fieldwork/archived/toilets.xls"]
    said = "\n".join(toilets.warnings)
    assert "选项文件“toilets.geojson”未随问卷上传" in said and "该题不会显示" in said
    assert "从文件“toilets”取值（pulldata/instance），该文件未随问卷上传" in said
    fruit = our_verdicts()["pyxform/pull_data.xlsx"]  # pulldata('fruits', 'name', 'name', 'mango')
    assert fruit.files == ["fruits.csv"]
    assert engine.evaluate_form(fruit, {}, TODAY)[0]["fruit"] == ""  # its names are capitalised
    scope = engine.Scope({}, form=fruit)
    assert scope.pull("fruits", "name", "name_key", "mango") == "Mango"  # the file is read


@pytest.mark.slow
@pytest.mark.store_independent
def test_every_accepted_form_renders_in_the_preview(demo_db):
    ids, seen = {}, set()
    with store.opened(demo_db) as db:
        for name, form in our_verdicts().items():
            if not isinstance(form, Form) or (form.form_id, form.version) in seen:
                continue  # the .xls and .xlsx of one form are one version
            seen.add((form.form_id, form.version))
            path = REAL / name
            ids[name], _ = questionnaires.save_version(
                db, SYSTEM, path.read_bytes(), path.name, files_for(path)
            )
    at = open_page(demo_db, "supervisor", "pages/questionnaires_page.py")
    for name, qid in ids.items():
        at.selectbox(key="form_version_upload_0").set_value(qid).run()
        assert not at.exception, (name, at.exception)
        assert at.button(key=f"preview{qid}#submit"), name
