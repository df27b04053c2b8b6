"""The companies' own ratings next to the supervisors' phone callbacks (企业端, issue 30 item 6),
per sector or lead department, for the dashboard and the weekly report.

Both sides count the problems raised in the period, as the dashboard's other figures do (a
problem answered, reopened and answered again counts once, with its latest rating):
- phone (电话回访): asked = problems answered (each answer is due a callback), answered = those
  whose latest rating is a supervisor's callback, satisfied = not a bad review (基本满意 or better);
- company (企业自评): asked = answers whose company was sent its link (an SMS or e-mail queued for
  the reply), answered = those it rated, satisfied = 满意 or 基本满意.
The gap is the company's share satisfied minus the phone's, in percentage points: negative when
companies, asked by no person, say they are less satisfied than the calls recorded.

The phone side comes from the summary tables, monthly for the dashboard and by day for the weekly
report (ten million problems cost milliseconds); the company side reads only its own small tables
and the problems they name.
"""

from __future__ import annotations

from sqlite_utils import Database

from survey import db as store
from survey.access.actor import Actor
from survey.access.permissions import require
from survey.labels import NO_DEPARTMENT, NO_SECTOR

KEYS = {  # column, reference table, the name of a missing code
    "sector": ("p.sector_code", "sectors", NO_SECTOR),
    "department": ("p.lead_department_code", "departments", NO_DEPARTMENT),
}
FIELDS = (
    "phone_asked",
    "phone_answered",
    "phone_satisfied",
    "company_asked",
    "company_answered",
    "company_satisfied",
)


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _good_levels(db: Database) -> list[int]:
    return [
        r[0]
        for r in db.conn.execute("SELECT level FROM satisfaction_levels WHERE is_bad_review = 0")
    ]


def _add(counts: dict, rows, offset: int, sign: int = 1) -> None:
    for code, *values in rows:
        entry = counts.setdefault(code or "", [0] * 6)
        for i, value in enumerate(values):
            entry[offset + i] += sign * int(value or 0)


def _chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _company_side(db: Database, column: str, inside, counts: dict) -> None:
    """The company's links and ratings for problems raised in the period (`inside(problem)`): read
    from its own small tables and the rows they name, by key (never a scan of `problems`); and,
    taken off the phone side, the problems whose latest rating is the company's."""
    sent = [
        r[0]
        for r in db.conn.execute(
            "SELECT DISTINCT event_id FROM deliveries WHERE company_id IS NOT NULL"
        )
    ]
    replies: dict[int, int] = {}  # reply event -> problem
    for chunk in _chunks(sent):
        marks = ", ".join("?" for _ in chunk)
        replies |= dict(
            db.conn.execute(
                f"SELECT id, problem_id FROM problem_events WHERE id IN ({marks})"
                " AND action = 'reply'",
                chunk,
            ).fetchall()
        )
    ratings = db.conn.execute(
        "SELECT r.reply_event_id, r.problem_id, r.rated_at, s.is_bad_review FROM company_ratings r"
        " JOIN satisfaction_levels s ON s.level = r.level"
    ).fetchall()
    wanted = sorted(set(replies.values()) | {r[1] for r in ratings})
    problems: dict[int, dict] = {}
    for chunk in _chunks(wanted):
        marks = ", ".join("?" for _ in chunk)
        for row in store.query(
            db,
            f"SELECT id, {column} AS code, raised_on, raised_month, called_back_at FROM problems"
            f" WHERE id IN ({marks})",
            chunk,
        ):
            problems[row["id"]] = row
    rated = {r[0]: r for r in ratings}
    for event_id, problem_id in replies.items():
        problem = problems.get(problem_id)
        if problem is None or not inside(problem):
            continue
        entry = counts.setdefault(problem["code"] or "", [0] * 6)
        entry[3] += 1
        if event_id in rated:
            entry[4] += 1
            entry[5] += 0 if rated[event_id][3] else 1
    for _, problem_id, rated_at, bad in ratings:  # the latest rating is the company's
        problem = problems.get(problem_id)
        if problem is None or not inside(problem) or problem["called_back_at"] != rated_at:
            continue
        entry = counts.setdefault(problem["code"] or "", [0] * 6)
        entry[1] -= 1
        entry[2] -= 0 if bad else 1


def _rows(db: Database, by: str, counts: dict) -> list[dict]:
    _, table, missing = KEYS[by]
    names = dict(db.conn.execute(f"SELECT code, name FROM {table}"))
    rows = [
        {"code": code, "name": names.get(code, missing) if code else missing}
        | dict(zip(FIELDS, values, strict=True))
        for code, values in sorted(counts.items(), key=lambda kv: (-kv[1][0], str(kv[0])))
        if any(values)
    ]
    if not rows:
        return []
    total = {"code": "", "name": "合计"} | {f: sum(r[f] for r in rows) for f in FIELDS}
    for row in [*rows, total]:
        row["phone_share"] = _share(row["phone_satisfied"], row["phone_answered"])
        row["company_share"] = _share(row["company_satisfied"], row["company_answered"])
        both = row["phone_share"] is not None and row["company_share"] is not None
        row["gap"] = round(row["company_share"] - row["phone_share"], 1) if both else None
    return [*rows, total]


def for_days(db: Database, actor: Actor, first: str, last: str, by: str) -> list[dict]:
    """Problems raised from `first` to `last` (ISO days, both included: the weekly report), one row
    per sector or department, then 合计: the six counts, each side's share satisfied (%) and the
    gap (company minus phone, points). The phone side from the day cube."""
    from survey.reports import aggregates, cubes, periods

    require(actor, "dashboard.read")
    phone = ("replied", *cubes.SATISFACTION_COLUMNS)
    view = periods.Filters(first[:7], last[:7])
    sums = aggregates.day_sums(db, actor, first, last, view, (by,), measures=phone)
    return _compared(db, by, sums, lambda p: first <= p["raised_on"] <= last)


def for_months(db: Database, actor: Actor, start: str, end: str, by: str) -> list[dict]:
    """As for_days, for problems raised in the months `start` to `end` (YYYY-MM, the dashboard's
    period): the phone side from the monthly summary tables."""
    from survey.reports import aggregates, cubes, periods

    require(actor, "dashboard.read")
    phone = ("replied", *cubes.SATISFACTION_COLUMNS)
    sums = aggregates.measure_sums(db, actor, periods.Filters(start, end), (by,), measures=phone)
    return _compared(db, by, sums, lambda p: start <= p["raised_month"] <= end)


def _compared(db: Database, by: str, sums, inside) -> list[dict]:
    """The rows of for_days and for_months from the phone side's sums (`sums`: problems answered
    and their ratings by level, by `by`) and the company side of the problems `inside` the period."""
    from survey.reports import cubes

    good = [f"sat_{level}" for level in _good_levels(db)]
    counts: dict = {}
    _add(
        counts,
        zip(
            sums[by],
            sums["replied"],
            sums[cubes.SATISFACTION_COLUMNS].sum(axis=1),
            sums[good].sum(axis=1) if good else [0] * len(sums),
            strict=True,
        ),
        0,
    )
    _company_side(db, KEYS[by][0][2:], inside, counts)
    return _rows(db, by, counts)


def overview_days(db: Database, actor: Actor, first: str, last: str) -> dict[str, list[dict]]:
    return {by: for_days(db, actor, first, last, by) for by in KEYS}


def overview_months(db: Database, actor: Actor, start: str, end: str) -> dict[str, list[dict]]:
    return {by: for_months(db, actor, start, end, by) for by in KEYS}


def comparison(db: Database, actor: Actor, first: str, last: str, by: str) -> list[dict]:
    """for_days (kept for callers that name a range of days)."""
    return for_days(db, actor, first, last, by)
