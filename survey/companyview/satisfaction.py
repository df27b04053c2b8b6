"""The companies' own ratings next to the supervisors' phone callbacks (企业端, issue 30 item 6),
per sector or lead department, for the dashboard and the weekly report.

Both sides count the answers given in the period (problems.replied_at, indexed; a problem reopened
and answered again counts once, with its latest answer):
- phone (电话回访): asked = every answer (each is due a callback), answered = those called back
  by a supervisor (a callback that is not the company's own rating), satisfied = not a bad review;
- company (企业自评): asked = answers whose company was sent its link (an SMS or e-mail queued for
  the reply), answered = those it rated, satisfied = 满意 or 基本满意.
The gap is the company's share satisfied minus the phone's, in percentage points: negative when
companies say, unasked by a person, that they are less satisfied than the calls recorded.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlite_utils import Database

from survey.access.actor import Actor
from survey.access.permissions import require

KEYS = {
    "sector": ("p.sector_code", "sectors"),
    "department": ("p.lead_department_code", "departments"),
}
FIELDS = (
    "phone_asked",
    "phone_answered",
    "phone_satisfied",
    "company_asked",
    "company_answered",
    "company_satisfied",
)


def month_range(start: str, end: str) -> tuple[str, str]:
    """[first day of `start`, first day after `end`) for YYYY-MM months."""
    last = date.fromisoformat(f"{end}-01")
    after = (last.replace(day=28) + timedelta(days=4)).replace(day=1)
    return f"{start}-01", after.isoformat()


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def comparison(db: Database, actor: Actor, since: str, until: str, by: str) -> list[dict]:
    """One row per sector or department with answers in [since, until), then a 合计 row: the six
    counts, each side's share satisfied (%) and the gap (company minus phone, points)."""
    require(actor, "dashboard.read")
    key, table = KEYS[by]
    phone = db.conn.execute(
        f"SELECT {key}, count(*),"
        " sum(CASE WHEN p.called_back_at IS NOT NULL AND r.id IS NULL THEN 1 ELSE 0 END),"
        " sum(CASE WHEN p.called_back_at IS NOT NULL AND r.id IS NULL AND s.is_bad_review = 0"
        " THEN 1 ELSE 0 END)"
        " FROM problems p LEFT JOIN company_ratings r ON r.problem_id = p.id"
        " AND r.rated_at = p.called_back_at"
        " LEFT JOIN satisfaction_levels s ON s.level = p.satisfaction_level"
        f" WHERE p.replied_at >= ? AND p.replied_at < ? GROUP BY {key}",
        (since, until),
    ).fetchall()
    company = db.conn.execute(
        f"SELECT {key}, count(*), count(r.id),"
        " sum(CASE WHEN s.is_bad_review = 0 THEN 1 ELSE 0 END)"
        " FROM (SELECT DISTINCT event_id FROM deliveries WHERE company_id IS NOT NULL) d"
        " JOIN problem_events e ON e.id = d.event_id AND e.action = 'reply'"
        " JOIN problems p ON p.id = e.problem_id"
        " LEFT JOIN company_ratings r ON r.reply_event_id = e.id"
        " LEFT JOIN satisfaction_levels s ON s.level = r.level"
        f" WHERE e.at >= ? AND e.at < ? GROUP BY {key}",
        (since, until),
    ).fetchall()
    counts: dict = {}
    for rows, offset in ((phone, 0), (company, 3)):
        for code, *values in rows:
            entry = counts.setdefault(code, [0] * 6)
            for i, value in enumerate(values):
                entry[offset + i] = int(value or 0)
    names = dict(db.conn.execute(f"SELECT code, name FROM {table}"))
    rows = [
        {"code": code, "name": names.get(code, "（未交办）") if code else "（未交办）"}
        | dict(zip(FIELDS, values, strict=True))
        for code, values in sorted(counts.items(), key=lambda kv: (-kv[1][0], str(kv[0])))
    ]
    total = {"code": "", "name": "合计"} | {f: sum(r[f] for r in rows) for f in FIELDS}
    for row in [*rows, total]:
        row["phone_share"] = _share(row["phone_satisfied"], row["phone_answered"])
        row["company_share"] = _share(row["company_satisfied"], row["company_answered"])
        both = row["phone_share"] is not None and row["company_share"] is not None
        row["gap"] = round(row["company_share"] - row["phone_share"], 1) if both else None
    return [*rows, total] if rows else []


def overview(db: Database, actor: Actor, since: str, until: str) -> dict[str, list[dict]]:
    """Both breakdowns: {'sector': rows, 'department': rows}."""
    return {by: comparison(db, actor, since, until, by) for by in KEYS}
