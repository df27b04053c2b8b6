"""Reference lists: loaded from CSV, editable by admins, in-use entries only deactivated."""

from __future__ import annotations

import csv

import pytest

from survey import db as store
from survey import reference
from survey.access.actor import SYSTEM
from survey.errors import InUseError, PermissionDeniedError, ValidationError
from tests.helpers import actor_for


def test_csv_lists_are_loaded_in_full(empty_db):
    with store.opened(empty_db) as db:
        for spec in reference.LISTS.values():
            with (reference.REFERENCE_DIR / spec.csv_file).open(encoding="utf-8-sig") as f:
                expected = [row[spec.key_column] for row in csv.DictReader(f)]
            codes = [str(r[spec.key_column]) for r in reference.list_entries(db, spec.key)]
            assert sorted(codes) == sorted(expected), spec.key


def test_categories_keep_two_levels(empty_db):
    with store.opened(empty_db) as db:
        rows = {r["code"]: r for r in reference.list_entries(db, "problem_categories")}
    assert rows["A1"]["parent"] == "A" and rows["A"]["parent"] is None


def test_add_rename_deactivate_delete_cycle(empty_db):
    with store.opened(empty_db) as db:
        reference.add_entry(
            db, SYSTEM, "sectors", {"code": "NEW", "name": "低空经济", "cluster": "新兴"}
        )
        assert reference.options(db, "sectors")["NEW"] == "低空经济"
        reference.rename_entry(db, SYSTEM, "sectors", "NEW", "低空经济/无人机")
        reference.set_active(db, SYSTEM, "sectors", "NEW", False)
        assert "NEW" not in reference.options(db, "sectors")
        assert reference.names(db, "sectors")["NEW"] == "低空经济/无人机"
        reference.delete_entry(db, SYSTEM, "sectors", "NEW")
        assert "NEW" not in reference.names(db, "sectors")
        actions = [
            (r["action"], r["row_id"])
            for r in store.query(
                db, "SELECT action, row_id FROM audit_log WHERE table_name='sectors' ORDER BY id"
            )
        ]
    assert actions[-4:] == [
        ("insert", "NEW"),
        ("update", "NEW"),
        ("update", "NEW"),
        ("delete", "NEW"),
    ]


def test_delete_in_use_is_refused_with_counts(db):
    used = store.scalar(db, "SELECT count(*) FROM companies WHERE sector_code = 'TR-EYE'")
    assert used > 0
    with pytest.raises(InUseError) as info:
        reference.delete_entry(db, SYSTEM, "sectors", "TR-EYE")
    assert (
        "眼镜" in str(info.value)
        and f"企业 {used} 条" in str(info.value)
        and "停用" in str(info.value)
    )
    assert "TR-EYE" in reference.names(db, "sectors")


def test_deactivated_entry_still_labels_old_records(db):
    reference.set_active(db, SYSTEM, "departments", "GXJ", False)
    assert "GXJ" not in reference.options(db, "departments")
    assert reference.names(db, "departments")["GXJ"] == "市工业和信息化局"


def test_validation_messages_name_the_field(empty_db):
    with store.opened(empty_db) as db:
        with pytest.raises(ValidationError) as info:
            reference.add_entry(db, SYSTEM, "sectors", {"code": "X", "name": "", "cluster": "c"})
        assert info.value.field == "name" and "名称" in str(info.value)
        with pytest.raises(ValidationError, match="已有代码"):
            reference.add_entry(db, SYSTEM, "departments", {"code": "GXJ", "name": "重复"})
        with pytest.raises(ValidationError, match="已有名称"):
            reference.add_entry(db, SYSTEM, "departments", {"code": "NEW", "name": "市财政局"})
        with pytest.raises(ValidationError, match="整数"):
            reference.add_entry(
                db, SYSTEM, "deadline_classes", {"code": "x", "name": "x", "working_days": "三"}
            )


@pytest.mark.parametrize("username", ["supervisor", "officer", "handler", "monitor"])
def test_only_admins_edit_lists(db, username):
    actor = actor_for(db, username)
    with pytest.raises(PermissionDeniedError):
        reference.add_entry(db, actor, "sectors", {"code": "Q", "name": "Q", "cluster": "Q"})
    with pytest.raises(PermissionDeniedError):
        reference.set_active(db, actor, "sectors", "OTHER", False)
