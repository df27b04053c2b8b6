"""Reference lists (districts, sectors, categories, departments...): editable data, never enums.

Loaded from data/reference/*.csv on first run. An entry in use cannot be deleted, only deactivated:
a deactivated entry leaves the pickers but old records still show its name.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.errors import InUseError, NotFoundError, ValidationError
from survey.labels import TABLE_LABELS
from survey.names import one_line

REFERENCE_DIR = store.PROJECT_ROOT / "data" / "reference"


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: str = "text"  # text | int | bool
    required: bool = False


@dataclass(frozen=True)
class RefList:
    key: str
    title: str
    table: str
    csv_file: str
    columns: tuple[Column, ...]
    key_column: str = "code"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


_CODE = Column("code", "代码", required=True)
_NAME = Column("name", "名称", required=True)
_NAME_EN = Column("name_en", "英文名")
_NOTE = Column("note", "备注")

LISTS: dict[str, RefList] = {
    spec.key: spec
    for spec in (
        RefList(
            "districts",
            "区县/园区",
            "districts",
            "districts.csv",
            (_CODE, _NAME, Column("kind", "类型"), _NOTE),
        ),
        RefList(
            "sectors",
            "产业/行业",
            "sectors",
            "sectors.csv",
            (_CODE, _NAME, Column("cluster", "产业集群", required=True), _NOTE),
        ),
        RefList(
            "problem_categories",
            "问题类别",
            "problem_categories",
            "problem_categories.csv",
            (_CODE, _NAME, Column("parent", "上级类别"), _NAME_EN),
        ),
        RefList("departments", "责任部门", "departments", "departments.csv", (_CODE, _NAME)),
        RefList(
            "indicators",
            "营商环境指标",
            "indicators",
            "indicators.csv",
            (_CODE, _NAME, Column("system", "指标体系", required=True), _NAME_EN),
        ),
        RefList(
            "request_natures",
            "诉求性质",
            "request_natures",
            "request_natures.csv",
            (_CODE, _NAME, _NAME_EN),
        ),
        RefList(
            "deadline_classes",
            "办理时限",
            "deadline_classes",
            "deadlines.csv",
            (_CODE, _NAME, Column("working_days", "工作日数", "int"), _NOTE),
        ),
        RefList(
            "rating_dimensions",
            "评价维度",
            "rating_dimensions",
            "rating_dimensions.csv",
            (_CODE, _NAME),
        ),
        RefList(
            "satisfaction_levels",
            "满意度等级",
            "satisfaction_levels",
            "satisfaction_levels.csv",
            (
                Column("level", "等级", "int", required=True),
                _NAME,
                Column("three_level", "三级分类", required=True),
                Column("is_bad_review", "差评", "bool"),
            ),
            key_column="level",
        ),
    )
}


def get_list(key: str) -> RefList:
    try:
        return LISTS[key]
    except KeyError:
        raise NotFoundError(f"没有名为“{key}”的参考列表。") from None


def _convert(column: Column, raw) -> object:
    if raw is None:
        raw = ""
    if column.kind == "int":
        text = str(raw).strip()
        if text == "":
            return None
        try:
            return int(text)
        except ValueError:
            raise ValidationError(f"“{column.label}”须为整数。", column.name) from None
    if column.kind == "bool":
        return 1 if str(raw).strip().lower() in ("1", "true", "yes", "是") else 0
    text = one_line(raw)  # codes and names are one line (a note too: it is shown beside them)
    return text or ("" if column.name not in ("parent",) else None)


def load_from_csv(db: Database, directory: Path = REFERENCE_DIR) -> dict[str, int]:
    """Fill every empty reference table from its CSV; lists already holding data are left alone."""
    loaded = {}
    with store.transaction(db):
        for spec in LISTS.values():
            if store.scalar(db, f"SELECT count(*) FROM {spec.table}"):
                continue
            path = directory / spec.csv_file
            with path.open(encoding="utf-8-sig", newline="") as handle:
                rows = list(csv.DictReader(handle))
            # Parents first, so the self-reference of problem categories holds.
            rows.sort(key=lambda r: 1 if (r.get("parent") or "").strip() else 0)
            for order, raw in enumerate(rows, start=1):
                record = {c.name: _convert(c, raw.get(c.name)) for c in spec.columns}
                record["sort_order"] = order
                columns = ", ".join(record)
                marks = ", ".join("?" for _ in record)
                db.execute(
                    f"INSERT INTO {spec.table} ({columns}) VALUES ({marks})",
                    tuple(record.values()),
                )
            loaded[spec.key] = len(rows)
            audit.record(
                db, None, "import", spec.table, note=f"从 {spec.csv_file} 载入 {len(rows)} 条"
            )
    return loaded


def list_entries(db: Database, key: str, *, include_inactive: bool = False) -> list[dict]:
    """Entries in display order; pickers use the default (active only)."""
    spec = get_list(key)
    where = "" if include_inactive else "WHERE active = 1"
    return store.query(
        db, f"SELECT * FROM {spec.table} {where} ORDER BY sort_order, {spec.key_column}"
    )


def names(db: Database, key: str) -> dict:
    """code -> name for every entry, active or not, so old records keep their labels."""
    spec = get_list(key)
    return dict(db.conn.execute(f"SELECT {spec.key_column}, name FROM {spec.table}").fetchall())


def options(db: Database, key: str) -> dict:
    """code -> name for active entries, for pickers."""
    return {row[get_list(key).key_column]: row["name"] for row in list_entries(db, key)}


def _get(db: Database, spec: RefList, code) -> dict:
    rows = store.query(db, f"SELECT * FROM {spec.table} WHERE {spec.key_column} = ?", (code,))
    if not rows:
        raise NotFoundError(f"{spec.title}中没有代码为“{code}”的条目。")
    return rows[0]


def _check_name_free(db: Database, spec: RefList, name: str, except_code=None) -> None:
    clash = store.scalar(
        db,
        f"SELECT {spec.key_column} FROM {spec.table} WHERE name = ? AND {spec.key_column} IS NOT ?",
        (name, except_code),
    )
    if clash is not None and spec.key not in ("problem_categories", "indicators"):
        raise ValidationError(f"{spec.title}中已有名称“{name}”（代码 {clash}）。", "name")


def add_entry(db: Database, actor: Actor, key: str, values: dict) -> dict:
    """Add an entry; values are keyed by column name. Returns the stored row."""
    require(actor, "reference.edit")
    spec = get_list(key)
    record = {}
    for column in spec.columns:
        value = _convert(column, values.get(column.name))
        if column.required and value in (None, ""):
            raise ValidationError(f"请填写“{column.label}”。", column.name)
        record[column.name] = value
    code = record[spec.key_column]
    with store.transaction(db):
        if store.scalar(db, f"SELECT 1 FROM {spec.table} WHERE {spec.key_column} = ?", (code,)):
            raise ValidationError(f"{spec.title}中已有代码“{code}”。", spec.key_column)
        _check_name_free(db, spec, record["name"])
        if spec.key == "problem_categories" and record.get("parent"):
            _get(db, spec, record["parent"])
        record["sort_order"] = (
            store.scalar(db, f"SELECT coalesce(max(sort_order), 0) + 1 FROM {spec.table}") or 1
        )
        columns = ", ".join(record)
        db.execute(
            f"INSERT INTO {spec.table} ({columns}) VALUES ({', '.join('?' for _ in record)})",
            tuple(record.values()),
        )
        audit.record(db, actor, "insert", spec.table, code, after=record)
        return _get(db, spec, code)


def rename_entry(db: Database, actor: Actor, key: str, code, new_name: str) -> None:
    require(actor, "reference.edit")
    spec = get_list(key)
    new_name = one_line(new_name)
    if not new_name:
        raise ValidationError("请填写新名称。", "name")
    with store.transaction(db):
        before = _get(db, spec, code)
        _check_name_free(db, spec, new_name, except_code=code)
        db.execute(
            f"UPDATE {spec.table} SET name = ? WHERE {spec.key_column} = ?", (new_name, code)
        )
        audit.record(
            db,
            actor,
            "update",
            spec.table,
            code,
            before={"name": before["name"]},
            after={"name": new_name},
        )


def set_active(db: Database, actor: Actor, key: str, code, active: bool) -> None:
    """Deactivate (hide from pickers) or reactivate an entry."""
    require(actor, "reference.edit")
    spec = get_list(key)
    with store.transaction(db):
        before = _get(db, spec, code)
        db.execute(
            f"UPDATE {spec.table} SET active = ? WHERE {spec.key_column} = ?", (int(active), code)
        )
        audit.record(
            db,
            actor,
            "update",
            spec.table,
            code,
            before={"active": before["active"]},
            after={"active": int(active)},
        )


# References that are not foreign keys (the column predates its list).
EXTRA_USAGES = {"rating_dimensions": [("feedback_ratings", "dimension")]}


def usages(db: Database, key: str, code) -> dict[str, int]:
    """How many rows of each table reference this entry (found through the foreign keys)."""
    spec = get_list(key)
    counts = {}
    for table, column in EXTRA_USAGES.get(key, []):
        n = store.scalar(db, f"SELECT count(*) FROM {table} WHERE {column} = ?", (code,))
        if n:
            counts[table] = n
    for table, from_col, parent in store.foreign_keys(db):
        if parent != spec.table:
            continue
        n = store.scalar(db, f"SELECT count(*) FROM {table} WHERE {from_col} = ?", (code,))
        if n:
            counts[table] = counts.get(table, 0) + n
    return counts


def delete_entry(db: Database, actor: Actor, key: str, code) -> None:
    """Delete an unused entry; an entry that records use is refused (deactivate it instead)."""
    require(actor, "reference.edit")
    spec = get_list(key)
    with store.transaction(db):
        before = _get(db, spec, code)
        used = usages(db, key, code)
        if used:
            parts = "、".join(f"{TABLE_LABELS.get(t, t)} {n} 条" for t, n in used.items())
            raise InUseError(
                f"“{before['name']}”正被使用（{parts}），不能删除；如不再使用，请改为停用。"
            )
        db.execute(f"DELETE FROM {spec.table} WHERE {spec.key_column} = ?", (code,))
        audit.record(db, actor, "delete", spec.table, code, before=before)
