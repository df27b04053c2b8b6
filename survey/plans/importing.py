"""Importing a year's task list in the shape plans are published: a title row above the header,
merged cells (read by survey/spreadsheets as their top-left value), section rows, 序号, 重点任务,
目标要求, 牵头单位, 配合单位, 完成时限 and optionally 指标 and 类别.

Checking comes first and names three kinds of finding by file row: errors (no task text, a date
that is not a date, a repeated number) stop the import; department names the lists do not know
are a step the supervisor takes (map each to a department, or say it is not in the list);
notices (no deadline, an indicator not found) are said and imported as read. A row whose
department is not in the list is imported only if the supervisor chooses to skip such rows;
importing the same year again updates tasks by number, so the skipped rows come in later."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlite_utils import Database

from survey import clock
from survey import db as store
from survey.access import audit
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.errors import SurveyError, ValidationError
from survey.names import one_line
from survey.plans import aliases, deadlines

COLUMNS = {  # our column -> the headers plans use for it, preferred first
    "number": ("序号", "编号"),
    "content": ("重点任务", "任务", "工作任务", "任务内容", "主要任务", "改革事项"),
    "target": ("目标要求", "目标", "工作目标", "具体举措", "具体措施", "主要措施"),
    "lead": ("牵头单位", "牵头部门", "责任单位", "责任部门"),
    "co": ("配合单位", "配合部门", "协同单位", "责任单位", "参与单位"),
    "due": ("完成时限", "时限", "完成时间", "时间节点"),
    "indicator": ("指标", "对应指标", "评价指标", "指标名称"),
}
REQUIRED = ("number", "content", "lead", "due")
# What the reader needs to find the header row: each item one column, any of its names.
HEADER = tuple(COLUMNS[c] for c in REQUIRED)
SPLIT = re.compile(r"[、，,;；/\s]+")
_SPACE = re.compile(r"[\s\u3000]+")


class PlanRejectedError(SurveyError):
    """Rows to correct in the file (errors only): nothing was written."""

    def __init__(self, problems: list[dict]):
        rows = sorted({p["行号"] for p in problems})
        super().__init__(
            f"文件中有 {len(problems)} 处需要修改（第 {_rows_text(rows)} 行），"
            "改好后重新选择文件；未导入任何任务。"
        )
        self.problems = problems


class NamesToMapError(SurveyError):
    """Department names not yet mapped: the mapping step, not a fault of the file."""

    def __init__(self, names: list[str]):
        super().__init__(
            f"还有 {len(names)} 个部门名称没有对应：{'、'.join(names)}。"
            "请为每个名称选择部门，或选“不在列表中”。"
        )
        self.names = names


class DepartmentsMissingError(SurveyError):
    """Rows whose department the supervisor said is not in the list, and no choice to skip them."""

    def __init__(self, rows: dict[int, list[str]]):
        names = list(dict.fromkeys(n for ns in rows.values() for n in ns))
        super().__init__(
            f"第 {_rows_text(sorted(rows))} 行的部门不在部门列表中（{'、'.join(names)}）："
            "请管理员先在“参考列表”的部门中新增，再重新导入；或选择先导入其余任务、跳过这些行。"
        )
        self.rows = rows


@dataclass
class Unknown:
    suggestion: str | None  # a department name, only when close enough
    rows: list[int] = field(default_factory=list)  # file rows that use the name


@dataclass
class PlanCheck:
    records: list[dict]  # each with "row" (the file row) and "names" (the department names no
    # list, alias or mapping matched)
    problems: list[dict]  # errors: 行号, 列, 问题
    unknown: dict[str, Unknown]  # department names no list, alias or mapping matched
    notices: list[dict]  # 行号, 列, 说明: imported as said
    mapped: dict[str, str] = field(default_factory=dict)  # names matched by the mapping alone

    def rows_using(self, names) -> dict[int, list[str]]:
        """File row -> the names among `names` it uses."""
        wanted = set(names)
        return {
            r["row"]: [n for n in r["names"] if n in wanted]
            for r in self.records
            if wanted & set(r["names"])
        }


@dataclass(frozen=True)
class Imported:
    plan_id: int
    inserted: int
    updated: int
    unchanged: int
    skipped: tuple[int, ...] = ()  # file rows left out because their department is not listed


def _rows_text(rows: Sequence[int]) -> str:
    return "、".join(str(r) for r in rows[:12]) + ("等" if len(rows) > 12 else "")


def _plain(header) -> str:
    return _SPACE.sub("", str(header or ""))


def find_columns(headers: list[str]) -> dict[str, int]:
    """Our column -> its position. 责任单位 is the lead only when no 牵头单位 column is there
    (as plans say: 无牵头单位的，责任单位即为牵头单位); beside one, it is the co-departments."""
    plain = [_plain(h) for h in headers]
    found: dict[str, int] = {}
    for column, names in COLUMNS.items():
        for name in names:
            if name in plain and plain.index(name) not in found.values():
                found[column] = plain.index(name)
                break
    return found


def _indicators(db: Database) -> dict[str, str]:
    """Name or code -> code; a name two systems share (纳税) means the NDRC one listed first."""
    rows = db.conn.execute(
        "SELECT code, name FROM indicators WHERE active = 1"
        " ORDER BY CASE system WHEN 'NDRC' THEN 0 ELSE 1 END, code"
    ).fetchall()
    found: dict[str, str] = {}
    for code, name in rows:
        found.setdefault(code.upper(), code)
        found.setdefault(_plain(name), code)
    return found


def _indicator(text: str, known: dict[str, str]) -> str | None:
    for part in SPLIT.split(text):
        part = re.sub(r"[（）()“”\"]|指标$", "", part)
        code = known.get(part.upper()) or known.get(part)
        if code is None and (match := re.match(r"([A-Za-z]{2}\d{2})", part)):
            code = known.get(match[1].upper())
        if code:
            return code
    return None


def _is_heading(row: list, found: dict[str, int]) -> bool:
    """A section row (一、优化政务服务): one text, merged across the row or alone at its start."""
    values = [v for v in row if v not in (None, "")]
    if len({str(v).strip() for v in values}) != 1 or re.fullmatch(r"\d+", str(values[0]).strip()):
        return False
    first = next(i for i, v in enumerate(row) if v not in (None, ""))
    return len(values) > 1 or first <= found.get("number", 0)


def check_plan(
    db: Database,
    year: int,
    headers: list[str],
    rows: list[list],
    mapping: dict[str, str] | None = None,
    *,
    row_numbers: Sequence[int] | None = None,
) -> PlanCheck:
    """Every finding by file row (`row_numbers`; by default the header is row 1)."""
    found = find_columns(headers)
    header_row = (row_numbers[0] - 1) if row_numbers else 1
    lines = list(row_numbers) if row_numbers else list(range(2, len(rows) + 2))
    missing = [COLUMNS[c][0] for c in REQUIRED if c not in found]
    if missing:
        problem = {"行号": header_row, "列": "、".join(missing), "问题": "表头缺少这一列"}
        return PlanCheck([], [problem], {}, [])
    mapping = mapping or {}
    names, learnt = aliases.known(db)
    indicators = _indicators(db)
    check = PlanCheck([], [], {}, [])
    first_row_of: dict[str, int] = {}

    def cell(row, column):
        i = found.get(column)
        value = row[i] if i is not None and i < len(row) else None
        return value.strip() if isinstance(value, str) else value

    def department(name: str, line: int) -> str | None:
        code = names.get(name) or learnt.get(name)
        if code is None and name in mapping:
            code = check.mapped[name] = mapping[name]
        if code is None:
            entry = check.unknown.get(name)
            if entry is None:
                entry = check.unknown[name] = Unknown(aliases.suggest(name, list(names)))
            entry.rows.append(line)
        return code

    for line, row in zip(lines, rows, strict=True):
        if not any(v not in (None, "") for v in row) or _is_heading(row, found):
            continue
        bad, said = [], []
        number = one_line(cell(row, "number"))
        if not number:
            bad.append(("序号", "缺少序号"))
        elif number in first_row_of:
            bad.append(("序号", f"序号 {number} 重复（第 {first_row_of[number]} 行已有）"))
        else:
            first_row_of[number] = line
        content = one_line(cell(row, "content"))
        if not content:
            bad.append(("重点任务", "缺少任务内容"))
        leads = [n for n in SPLIT.split(str(cell(row, "lead") or "")) if n]
        co_names = [n for n in SPLIT.split(str(cell(row, "co") or "")) if n]
        if not leads:
            bad.append(("牵头单位", "缺少牵头单位"))
        used = list(dict.fromkeys(leads + co_names))
        codes = {name: department(name, line) for name in used}
        lead = codes[leads[0]] if leads else None
        co = sorted({codes[n] for n in used[1:] if codes[n] and codes[n] != lead})
        raw_due = cell(row, "due")
        due = None
        try:
            due = deadlines.parse_due(raw_due, year)
        except ValueError:
            shown = raw_due if raw_due not in (None, "") else "（空）"
            bad.append(("完成时限", f"“{shown}”不是日期（例如 2026-06-30、2026年6月底、年底）"))
        else:
            if due is None:
                said.append(("完成时限", f"“{raw_due}”：长期任务，不设完成时限，不会记为滞后"))
        indicator_text = str(cell(row, "indicator") or "").strip()
        indicator = _indicator(indicator_text, indicators) if indicator_text else None
        if indicator_text and indicator is None:
            said.append(("指标", f"“{indicator_text}”不在指标列表中，导入后可在“修改任务”中选择"))
        check.problems += [{"行号": line, "列": f, "问题": m} for f, m in bad]
        check.notices += [{"行号": line, "列": f, "说明": m} for f, m in said]
        if not bad:
            check.records.append(
                {
                    "row": line,
                    "names": [n for n in used if codes[n] is None],
                    "number": number,
                    "content": content,
                    "target": str(cell(row, "target") or "").strip(),
                    "lead_department_code": lead,
                    "due_on": due.isoformat() if due else None,
                    "indicator_code": indicator,
                    "co": co,
                }
            )
    return check


def import_plan(
    db: Database,
    actor: Actor,
    year: int,
    headers: list[str],
    rows: list[list],
    mapping: dict[str, str] | None = None,
    *,
    title: str = "",
    row_numbers: Sequence[int] | None = None,
    not_listed: Sequence[str] = (),
    skip_not_listed: bool = False,
) -> Imported:
    """All or nothing, unless the supervisor chose to skip the rows whose department is not in
    the list (`not_listed`, `skip_not_listed`). Mapped names are learnt as aliases; names not in
    the list are not. The same year again updates its tasks by number."""
    require(actor, "plans.manage")
    if not 2000 <= int(year) <= 2100:
        raise ValidationError("年度应为四位年份，例如 2026。", "year")
    mapping = {k: v for k, v in (mapping or {}).items() if v and k not in not_listed}
    codes = {r[0] for r in db.conn.execute("SELECT code FROM departments WHERE active = 1")}
    if any(code not in codes for code in mapping.values()):
        raise ValidationError("部门对应中有无效的部门。", "mapping")
    check = check_plan(db, year, headers, rows, mapping, row_numbers=row_numbers)
    if check.problems:
        raise PlanRejectedError(check.problems)
    unmapped = [n for n in check.unknown if n not in not_listed]
    if unmapped:
        raise NamesToMapError(unmapped)
    skipped = check.rows_using(not_listed)
    if skipped and not skip_not_listed:
        raise DepartmentsMissingError(skipped)
    records = [r for r in check.records if r["row"] not in skipped]
    if not records:
        raise ValidationError("文件中没有可导入的任务。", "file")
    learnt = check.mapped  # confirmed by the supervisor, whether or not its rows were skipped
    with store.transaction(db):
        result = _write(db, year, title, records)
        aliases.learn(db, actor, learnt)
        audit.record(
            db,
            actor,
            "import",
            "plan_tasks",
            result[0],
            after={
                "year": year,
                "inserted": result[1],
                "updated": result[2],
                "unchanged": result[3],
                "skipped_rows": sorted(skipped),
                "learnt": learnt,
            },
            note=f"{year} 年度任务清单",
        )
    return Imported(*result, skipped=tuple(sorted(skipped)))


def _write(db: Database, year: int, title: str, records: list[dict]) -> tuple:
    now = clock.now_iso()
    inserted = updated = unchanged = 0
    plan_id = store.scalar(db, "SELECT id FROM plans WHERE year = ?", (year,))
    if plan_id is None:
        plan_id = db.execute(
            "INSERT INTO plans (year, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (year, title or f"{year} 年度任务清单", now, now),
        ).lastrowid
    existing = {
        r["number"]: r
        for r in store.query(db, "SELECT * FROM plan_tasks WHERE plan_id = ?", (plan_id,))
    }
    fields = ("number", "content", "target", "lead_department_code", "due_on", "indicator_code")
    for record in records:
        values = {k: record[k] for k in fields}
        co = record["co"]
        old = existing.get(record["number"])
        if old is None:
            task_id = db.execute(
                f"INSERT INTO plan_tasks ({', '.join(fields)}, plan_id, created_at, updated_at)"
                f" VALUES ({', '.join('?' * len(fields))}, ?, ?, ?)",
                (*values.values(), plan_id, now, now),
            ).lastrowid
            inserted += 1
        else:
            task_id = old["id"]
            before_co = [
                r[0]
                for r in db.conn.execute(
                    "SELECT department_code FROM plan_task_departments WHERE task_id = ?"
                    " ORDER BY department_code",
                    (task_id,),
                )
            ]
            changed = {k: v for k, v in values.items() if old[k] != v}
            if not changed and before_co == co:
                unchanged += 1
                continue
            if changed:
                db.execute(
                    f"UPDATE plan_tasks SET {', '.join(f'{k} = ?' for k in changed)},"
                    " updated_at = ? WHERE id = ?",
                    [*changed.values(), now, task_id],
                )
            updated += 1
        db.execute("DELETE FROM plan_task_departments WHERE task_id = ?", (task_id,))
        db.conn.executemany(
            "INSERT INTO plan_task_departments (task_id, department_code) VALUES (?, ?)",
            [(task_id, c) for c in co],
        )
    db.execute("UPDATE plans SET updated_at = ? WHERE id = ?", (now, plan_id))
    return int(plan_id), inserted, updated, unchanged
