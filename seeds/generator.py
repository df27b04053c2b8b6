"""Deterministic demo data: a year of visits, monitor feedback and problems in every lifecycle state.

Streams rows in batches so that a million problems fit in memory; all writes go through survey.bulk.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

from stdnum.cn import uscc as stdnum_uscc

from seeds import plans, texts
from survey import bootstrap, bulk, clock, reference, workdays
from survey import db as store
from survey.access import audit, settings
from survey.access.actor import SYSTEM
from survey.access.auth import hash_password
from survey.labels import OUTCOME_LABELS
from survey.problems import register
from survey.reports import cubes

DEMO_PASSWORD = "demo2025"
BATCH = 20_000


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    roles: tuple[str, ...]
    department_code: str | None = None


# The accounts documented in README (all with DEMO_PASSWORD).
MAIN_ACCOUNTS = [
    DemoAccount("admin", "系统管理员", ("admin",)),
    DemoAccount("supervisor", "王督查", ("supervisor",)),
    DemoAccount("officer", "李走访", ("officer",), "GXJ"),
    DemoAccount("handler", "张办理", ("handler",), "GXJ"),
    DemoAccount("monitor", "陈监督", ("monitor",)),
    DemoAccount("lead", "赵主任", ("supervisor", "officer"), "FGW"),
]
MONITOR_COUNT = 12


class SeedError(Exception):
    pass


class FastRandom(random.Random):
    """random.Random with cheaper choice/randint/choices (still deterministic for a seed):
    the generator draws tens of millions of numbers for a million problems."""

    def __init__(self, seed: int):
        super().__init__(seed)
        self._cum: dict[tuple, list] = {}

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def choices(self, population, weights=None, *, cum_weights=None, k=1):
        if k != 1 or (weights is None and cum_weights is None):
            return super().choices(population, weights, cum_weights=cum_weights, k=k)
        if cum_weights is None:
            key = tuple(weights)
            cum_weights = self._cum.get(key)
            if cum_weights is None:
                cum_weights = self._cum[key] = list(accumulate(weights))
        return [population[bisect_right(cum_weights, self.random() * cum_weights[-1])]]


def organization_code_check(body: str) -> str:
    """GB 11714 check character of an 8-character organization code body."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    total = sum(alphabet.index(c) * w for c, w in zip(body, weights, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(rng: random.Random, region: str) -> str:
    """A code with the right check characters: 9 (市场监管) 1 (企业), region, organization code."""
    body = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    base = "91" + region + body + organization_code_check(body)
    return base + stdnum_uscc.calc_check_digit(base)


class Calendar:
    """Working-day arithmetic over the seeded window by table lookup (fast for a million rows)."""

    def __init__(self, start: date, end: date):
        self.start = start
        days = (end - start).days + 1
        flags = [workdays.is_workday(start + timedelta(d)) for d in range(days)]
        self.cum = list(accumulate(int(f) for f in flags))
        self.days = days

    def add(self, day: date, n: int) -> date:
        i = (day - self.start).days
        target = self.cum[i] + n
        j = bisect_left(self.cum, target, lo=i)
        return self.start + timedelta(min(j, self.days - 1))

    def between(self, a: date, b: date) -> int:
        return max(0, self.cum[(b - self.start).days] - self.cum[(a - self.start).days])


class Generator:
    def __init__(self, db, *, seed: int, companies: int, problems: int, today: date):
        self.db = db
        self.rng = FastRandom(seed)
        self.n_companies = companies
        self.n_problems = problems
        self.today = today
        self.start = today - timedelta(days=365)
        self.cal = Calendar(self.start - timedelta(days=10), today + timedelta(days=400))
        self.times = [f" {h:02d}:{m:02d}:00" for h in range(8, 18) for m in range(0, 60, 7)]
        self.stats: dict[str, int] = {}
        self._iso: dict[date, str] = {}
        # The rules the real register applies, read from the same tables.
        self.deadline_days = {
            code: register.deadline_days(db, code)
            for code in reference.options(db, "deadline_classes")
        }
        self.bad_levels = set(register.bad_review_levels(db))
        self.good_levels = [lv for lv in (5, 4, 3, 2, 1) if lv not in self.bad_levels]

    # ---- helpers -------------------------------------------------------------------------
    def at(self, day: date) -> str:
        text = self._iso.get(day)
        if text is None:
            text = self._iso[day] = day.isoformat()
        return text + self.rng.choice(self.times)

    def person_name(self) -> str:
        return self.rng.choice(texts.SURNAMES) + self.rng.choice(texts.GIVEN_NAMES)

    # ---- users ---------------------------------------------------------------------------
    def users(self) -> None:
        # One hash for the shared demo password keeps seeding fast; real users each get their own.
        pw = hash_password(DEMO_PASSWORD)
        now = self.start.isoformat() + " 09:00:00"
        accounts = list(MAIN_ACCOUNTS)
        departments = list(reference.options(self.db, "departments"))
        for code in departments:
            if code != "GXJ":
                accounts.append(
                    DemoAccount(f"officer.{code.lower()}", self.person_name(), ("officer",), code)
                )
                accounts.append(
                    DemoAccount(f"handler.{code.lower()}", self.person_name(), ("handler",), code)
                )
        for i in range(2, MONITOR_COUNT + 1):
            accounts.append(DemoAccount(f"monitor{i:02d}", self.person_name(), ("monitor",)))
        rows, roles = [], []
        for uid, acc in enumerate(accounts, start=1):
            rows.append((uid, acc.username, acc.display_name, pw, acc.department_code, 0, now, now))
            roles += [(uid, r) for r in acc.roles]
        bulk.insert_rows(
            self.db,
            "users",
            (
                "id",
                "username",
                "display_name",
                "password_hash",
                "department_code",
                "must_change_password",
                "created_at",
                "updated_at",
            ),
            rows,
        )
        bulk.insert_rows(self.db, "user_roles", ("user_id", "role"), roles)
        self.officers_by_dept: dict[str, list[int]] = {}
        self.monitors: list[int] = []
        for uid, acc in enumerate(accounts, start=1):
            if "officer" in acc.roles:
                self.officers_by_dept.setdefault(acc.department_code, []).append(uid)
            if "monitor" in acc.roles:
                self.monitors.append(uid)
        self.supervisor_id = 2
        self.handler_by_dept = {
            acc.department_code: uid
            for uid, acc in enumerate(accounts, start=1)
            if "handler" in acc.roles
        }
        self.departments = departments
        self.department_names = reference.names(self.db, "departments")
        self.stats["users"] = len(rows)

    # ---- companies -----------------------------------------------------------------------
    def companies(self) -> None:
        rng = self.rng
        sectors = list(reference.options(self.db, "sectors"))
        districts = list(texts.DISTRICT_WEIGHTS)
        d_weights = list(texts.DISTRICT_WEIGHTS.values())
        now = self.start.isoformat() + " 09:00:00"
        seen_codes: set[str] = set()
        seen_names: set[str] = set()
        self.company_rows: list[tuple[int, str, str, str | None]] = []  # id, sector, district, dept
        rows = []

        def add(name: str, sector: str, district: str) -> None:
            park = None
            if rng.random() < 0.25:
                park = rng.choice([p for p, d in texts.PARKS.items() if d == district] or [None])
            region = park if park and park.isdigit() else district
            code = make_uscc(rng, region)
            while code in seen_codes:
                code = make_uscc(rng, region)
            seen_codes.add(code)
            seen_names.add(name)
            group = sector.split("-")[0]
            dept = rng.choice(
                texts.SECTOR_DEPARTMENTS.get(group, texts.SECTOR_DEPARTMENTS["OTHER"])
            )
            cid = len(rows) + 1
            size = rng.choices(["大型", "中型", "小型", "微型"], [5, 20, 50, 25])[0]
            rows.append(
                (
                    cid,
                    code,
                    name,
                    district,
                    park,
                    sector,
                    dept,
                    f"{name[:2]}{rng.randint(1, 300)}号",
                    self.person_name(),
                    f"1{rng.choice('35789')}{rng.randint(0, 999999999):09d}",
                    size,
                    int(size in ("大型", "中型") or rng.random() < 0.3),
                    int(rng.random() < 0.08),
                    now,
                    now,
                )
            )
            self.company_rows.append((cid, sector, park or district, dept))

        for name, sector, district in texts.FIXED_COMPANIES[: self.n_companies]:
            add(name, sector, district)
        while len(rows) < self.n_companies:
            district = rng.choices(districts, d_weights)[0]
            bias = texts.DISTRICT_SECTOR_BIAS.get(district, {})
            sector = rng.choices(sectors, [bias.get(s, 1) for s in sectors])[0]
            name = (
                rng.choice(texts.DISTRICT_PREFIX[district])
                + rng.choice(texts.BRAND_CHARS)
                + rng.choice(texts.BRAND_CHARS)
                + rng.choice(texts.SECTOR_WORDS.get(sector, texts.SECTOR_WORDS["OTHER"]))
                + rng.choice(texts.COMPANY_FORMS)
            )
            if name in seen_names:
                continue
            add(name, sector, district)
        bulk.insert_rows(
            self.db,
            "companies",
            (
                "id",
                "uscc",
                "name",
                "district_code",
                "park_code",
                "sector_code",
                "department_code",
                "address",
                "contact_name",
                "contact_phone",
                "size",
                "is_above_scale",
                "is_specialized",
                "created_at",
                "updated_at",
            ),
            rows,
        )
        self.stats["companies"] = len(rows)

    # ---- problems ------------------------------------------------------------------------
    def description(self, category: str) -> str:
        rng = self.rng
        template = rng.choice(texts.DESCRIPTION_TEMPLATES[category[0]])
        text = template.format(
            product=rng.choice(texts.PRODUCTS),
            place=rng.choice(texts.PLACES),
            area=rng.choice([10, 15, 20, 30, 50, 80]),
            months=rng.randint(2, 10),
            amount=rng.choice([50, 100, 200, 300, 500, 800, 1000, 2000]),
            count=rng.randint(2, 80),
            percent=rng.randint(10, 40),
            year=self.today.year - 1,
        )
        return text + rng.choice(texts.DESCRIPTION_TAILS)

    def lifecycle(
        self, pid: int, raised: date, category: str, spot: bool, creator: int, origin: str
    ) -> tuple[dict, list]:
        """Simulate one problem up to today: its final columns and its events. Every event is a
        legal move of survey.problems.register (event_row checks it), and the deadlines, the bad
        review rule and the reopening days are the register's and the reference tables'."""
        rng, cal, today = self.rng, self.cal, self.today
        sup = self.supervisor_id
        events: list[tuple] = []
        p: dict = {"status": None, "at": {}}  # "at": each action's latest event time

        def event(day: date, actor, action: str, note: str = "", *, at: str = "") -> None:
            # Never before the previous event: a timeline is read in order of time.
            at = max(at or self.at(day), events[-1][2]) if events else (at or self.at(day))
            row = register.event_row(pid, actor, at, action, p["status"], note)
            events.append(row)
            p["status"] = row[5]
            p["at"][action] = at

        event(raised, creator, "raise", origin, at=f"{raised.isoformat()}{self.times[0]}")
        if spot:
            event(raised, creator, "solve_on_spot", "现场解决")
            p.update(outcome="resolved", replied=raised, closed=raised)
            p["at"] |= {"reply": p["at"]["solve_on_spot"], "close": p["at"]["solve_on_spot"]}
            return p, events
        assign_day = cal.add(raised, rng.randint(0, 3))
        if assign_day > today:
            return p, events
        dept = texts.CATEGORY_DEPARTMENTS.get(category, "FGW")
        if dept not in self.handler_by_dept:
            dept = rng.choice(self.departments)
        klass = (
            "short"
            if category in ("E1", "G3", "N2")
            else rng.choices(["standard", "long", "ongoing", "immediate"], [80, 12, 5, 3])[0]
        )
        days = self.deadline_days[klass]
        if rng.random() < 0.05:  # misrouted first: returned, then assigned again
            wrong = rng.choice(self.departments)
            due = cal.add(assign_day, days).isoformat() if days else "长期推进"
            event(assign_day, sup, "assign", f"交办{self.department_names[wrong]}，时限 {due}")
            back = cal.add(assign_day, 1)
            if back > today:
                p.update(lead=wrong, klass=klass, assigned=assign_day, days=days)
                return p, events
            event(back, self.handler_by_dept.get(wrong), "return", "非本部门职责")
            p["return_count"] = 1
            assign_day = cal.add(back, 1)
            if assign_day > today:
                return p, events
        due = cal.add(assign_day, days).isoformat() if days else "长期推进"
        event(assign_day, sup, "assign", f"交办{self.department_names[dept]}，时限 {due}")
        p.update(lead=dept, klass=klass, assigned=assign_day, days=days)
        handler = self.handler_by_dept.get(dept)
        accept_day = cal.add(assign_day, rng.randint(0, 2))
        if accept_day > today:
            return p, events
        event(accept_day, handler, "accept")
        p["accepted"] = accept_day
        start, limit = accept_day, days or 30
        rounds = 3
        for round_no in range(rounds):
            late = rng.random() < 0.15
            span = rng.randint(limit + 1, limit * 2) if late else rng.randint(1, max(1, limit))
            reply_day = cal.add(start, span)
            deadline = (
                cal.add(p["assigned"], days) if (days and round_no == 0) else p.get("deadline")
            )
            if round_no == 0:
                p["deadline"] = deadline
            if deadline and deadline < min(reply_day, today) and rng.random() < 0.5:
                esc = cal.add(deadline, 1)
                if esc <= today:
                    event(esc, sup, "escalate", "请加快办理")
                    p["escalated"] = esc
            if reply_day > today:
                return p, events
            outcome = (
                "ongoing"
                if klass == "ongoing"
                else rng.choices(["resolved", "partial", "explained"], [72, 16, 12])[0]
            )
            reply_text = rng.choice(texts.REPLY_TEXTS[outcome])
            # As lifecycle.reply writes it: the outcome's label and the words of the reply.
            event(reply_day, handler, "reply", f"{OUTCOME_LABELS[outcome]}：{reply_text}")
            p.update(replied=reply_day, outcome=outcome, reply_text=reply_text)
            call_day = cal.add(reply_day, rng.randint(1, 5))
            if call_day > today:
                return p, events
            # The last round's company is satisfied, so that every timeline ends.
            levels = self.good_levels if round_no == rounds - 1 else [5, 4, 3, 2, 1]
            level = rng.choices(levels, [45, 30, 15, 7, 3][: len(levels)])[0]
            event(call_day, sup, "callback", f"满意度 {level}")
            p.update(called=call_day, level=level, solved=int(outcome == "resolved" and level >= 3))
            if level in self.bad_levels:  # the register's rule: a bad review reopens it
                p["deadline"] = cal.add(call_day, register.REOPEN_WORKING_DAYS)
                event(call_day, sup, "reopen", f"差评重办，新时限 {p['deadline'].isoformat()}")
                p["reopen_count"] = p.get("reopen_count", 0) + 1
                p["replied"] = None
                start, limit = call_day, register.REOPEN_WORKING_DAYS
                continue
            close_day = cal.add(call_day, rng.randint(0, 2))
            if close_day > today:
                return p, events
            event(close_day, sup, "close")
            p["closed"] = close_day
            break
        return p, events

    def problem_row(self, pid, source, visit_id, feedback_id, company, raised, creator, category):
        rng = self.rng
        spot = source == "visit" and rng.random() < 0.08
        origin = f"走访 #{visit_id}" if source == "visit" else f"监督员线索 #{feedback_id}"
        p, events = self.lifecycle(pid, raised, category, spot, creator, origin)
        cid, sector, district, _dept = company if company else (None, None, None, None)
        # Each dated column is the time of its event, updated_at the last event's (as the app
        # writes them), so a mirror keyed on updated_at misses nothing.
        at = lambda action, day: p["at"][action] if day else None  # noqa: E731
        replied = p.get("replied")
        row = (
            pid,
            f"seed-p-{pid}",
            source,
            visit_id,
            feedback_id,
            cid,
            sector,
            district,
            category,
            rng.choices(["consult", "help", "complaint", "report", "suggest"], [25, 45, 15, 3, 12])[
                0
            ],
            self.description(category),
            p["status"],
            raised.isoformat(),
            raised.isoformat()[:7],
            int(spot),
            rng.choice(texts.SPOT_SOLUTIONS) if spot else "",
            p.get("lead"),
            p.get("klass"),
            p["deadline"].isoformat() if p.get("deadline") else None,
            at("assign", p.get("assigned")),
            at("accept", p.get("accepted")),
            at("reply", replied),
            self.cal.between(p["assigned"], replied) if replied and p.get("assigned") else None,
            p.get("outcome"),
            p.get("reply_text", ""),
            at("callback", p.get("called")),
            p.get("level"),
            p.get("solved"),
            at("close", p.get("closed")),
            at("escalate", p.get("escalated")),
            p.get("return_count", 0),
            p.get("reopen_count", 0),
            creator,
            events[0][2],
            events[-1][2],
        )
        return row, events

    PROBLEM_COLUMNS = (
        "id",
        "submission_id",
        "source",
        "visit_id",
        "feedback_id",
        "company_id",
        "sector_code",
        "district_code",
        "category_code",
        "nature_code",
        "description",
        "status",
        "raised_on",
        "raised_month",
        "solved_on_spot",
        "spot_solution",
        "lead_department_code",
        "deadline_class",
        "deadline_on",
        "assigned_at",
        "accepted_at",
        "replied_at",
        "reply_working_days",
        "outcome",
        "reply_text",
        "called_back_at",
        "satisfaction_level",
        "company_says_solved",
        "closed_at",
        "escalated_at",
        "return_count",
        "reopen_count",
        "created_by",
        "created_at",
        "updated_at",
    )

    def random_day(self) -> date:
        day = self.start + timedelta(days=self.rng.randint(0, 365))
        while not workdays.is_workday(day) and self.rng.random() < 0.9:
            day += timedelta(days=1)
        return min(day, self.today)

    def activity(self, progress: Callable[[float, str], None] | None) -> None:
        rng = self.rng
        categories = list(texts.CATEGORY_WEIGHTS)
        cat_cum = list(accumulate(texts.CATEGORY_WEIGHTS.values()))
        n_leads = max(1, int(self.n_problems * 0.08)) if self.n_problems >= 20 else 0
        n_visit_problems = self.n_problems - n_leads
        state = {"pid": 0, "vid": 0, "fid": 0, "events": 0}

        def pick_category() -> str:
            return rng.choices(categories, cum_weights=cat_cum)[0]

        def visit_batches() -> Iterator[tuple[list, list, list, list]]:
            visits, parts, probs, events = [], [], [], []
            made = 0
            while made < n_visit_problems:
                company = rng.choice(self.company_rows)
                state["vid"] += 1
                vid = state["vid"]
                day = self.random_day()
                officers = self.officers_by_dept.get(company[3]) or self.officers_by_dept["GXJ"]
                officer = rng.choice(officers)
                mode = rng.choices(["实地", "电话", "座谈", "线上"], [70, 15, 10, 5])[0]
                visits.append(
                    (
                        vid,
                        f"seed-v-{vid}",
                        company[0],
                        day.isoformat(),
                        mode,
                        officer,
                        company[3],
                        "",
                        company[1],
                        company[2],
                        self.at(day),
                        self.at(day),
                    )
                )
                parts.append((vid, officer))
                if rng.random() < 0.3:
                    other = rng.choice(self.officers_by_dept["GXJ"])
                    if other != officer:
                        parts.append((vid, other))
                k = rng.choices([0, 1, 2, 3], [20, 40, 25, 15])[0]
                for _ in range(min(k, n_visit_problems - made)):
                    state["pid"] += 1
                    row, evs = self.problem_row(
                        state["pid"], "visit", vid, None, company, day, officer, pick_category()
                    )
                    probs.append(row)
                    events += evs
                    made += 1
                if len(probs) >= BATCH:
                    yield visits, parts, probs, events
                    if progress:
                        progress(made / max(1, self.n_problems), f"走访问题 {made:,}")
                    visits, parts, probs, events = [], [], [], []
            yield visits, parts, probs, events

        for visits, parts, probs, events in visit_batches():
            bulk.insert_rows(
                self.db,
                "visits",
                (
                    "id",
                    "submission_id",
                    "company_id",
                    "visit_date",
                    "mode",
                    "officer_id",
                    "department_code",
                    "summary",
                    "sector_code",
                    "district_code",
                    "created_at",
                    "updated_at",
                ),
                visits,
            )
            bulk.insert_rows(self.db, "visit_participants", ("visit_id", "user_id"), parts)
            bulk.insert_rows(self.db, "problems", self.PROBLEM_COLUMNS, probs)
            register.insert_events(self.db, events)
            state["events"] += len(events)

        # Monitor feedback: leads become problems; the rest are suggestions, reports, ratings.
        # Written in batches as the visits are (ten million problems hold 1.6 million feedback).
        n_feedback = max(n_leads * 2, min(60, self.n_problems))
        feedback, ratings, probs, events = [], [], [], []
        indicators = list(reference.options(self.db, "indicators"))
        dimensions = list(reference.options(self.db, "rating_dimensions"))

        def write_feedback() -> None:
            bulk.insert_rows(
                self.db,
                "feedback",
                (
                    "id",
                    "submission_id",
                    "monitor_id",
                    "kind",
                    "department_code",
                    "service_window",
                    "indicator_code",
                    "company_id",
                    "body",
                    "anonymous",
                    "submitted_at",
                    "created_at",
                ),
                feedback,
            )
            bulk.insert_rows(
                self.db, "feedback_ratings", ("feedback_id", "dimension", "score"), ratings
            )
            bulk.insert_rows(self.db, "problems", self.PROBLEM_COLUMNS, probs)
            register.insert_events(self.db, events)
            state["events"] += len(events)
            for rows in (feedback, ratings, probs, events):
                rows.clear()

        for i in range(n_feedback):
            state["fid"] += 1
            fid = state["fid"]
            kind = "lead" if i < n_leads else rng.choice(["suggestion", "experience", "rating"])
            day = self.random_day()
            monitor = rng.choice(self.monitors)
            company = (
                rng.choice(self.company_rows) if kind == "lead" and rng.random() < 0.7 else None
            )
            dept = rng.choice(self.departments)
            body = rng.choice(texts.FEEDBACK_TEXTS[kind]).format(
                place=rng.choice(texts.PLACES), topic=rng.choice(texts.FEEDBACK_TOPICS)
            )
            feedback.append(
                (
                    fid,
                    f"seed-f-{fid}",
                    monitor,
                    kind,
                    dept,
                    "",
                    rng.choice(indicators),
                    company[0] if company else None,
                    body,
                    int(rng.random() < 0.3),
                    self.at(day),
                    self.at(day),
                )
            )
            if kind == "rating":
                ratings += [
                    (fid, dim, rng.choices([5, 4, 3, 2, 1], [35, 35, 18, 8, 4])[0])
                    for dim in dimensions
                ]
            if kind == "lead":
                state["pid"] += 1
                row, evs = self.problem_row(
                    state["pid"], "monitor", None, fid, company, day, monitor, pick_category()
                )
                probs.append(row)
                events += evs
            if len(feedback) >= BATCH:
                write_feedback()
        write_feedback()
        self.stats.update(
            visits=state["vid"],
            feedback=state["fid"],
            problems=state["pid"],
            problem_events=state["events"],
        )


def generate(
    path=None,
    *,
    seed: int = 2025,
    companies: int = 2000,
    problems: int = 5000,
    today: date | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> dict:
    """Create (or complete) the database at `path` and fill it with demo data.

    Refuses a database that already holds companies, so real data is never mixed with demo data.
    """
    bootstrap.init_db(path)
    today = today or clock.today()
    with store.opened(path) as db:
        counts = bulk.table_counts(db)
        if counts["companies"] or counts["users"]:
            raise SeedError(
                f"数据库 {store.db_path(path)} 已有企业或用户数据，演示数据只写入新库。"
            )
        gen = Generator(db, seed=seed, companies=companies, problems=problems, today=today)
        # PostgreSQL loads by COPY (survey.bulk) with the indexes and foreign keys of the big
        # tables set aside and rebuilt once: a load of any size takes that path there.
        big = problems >= 50_000 or store.dialect(db) == "postgresql"
        loaded = (
            "problems",
            "problem_events",
            "visits",
            "visit_participants",
            "feedback",
            "feedback_ratings",
        )
        with bulk.fast_load(db), store.transaction(db):
            gen.users()
            gen.companies()
            with cubes.suspended(db):
                if big:
                    with (
                        bulk.deferred_indexes(db, (*loaded[:3], "feedback")),
                        bulk.deferred_foreign_keys(db, loaded),
                    ):
                        gen.activity(progress)
                else:
                    gen.activity(progress)
            gen.stats |= plans.generate(db, random.Random(seed), today, gen.handler_by_dept)
            gen.stats |= plans.meetings_demo(db, random.Random(seed), today, gen.supervisor_id)
            gen.stats |= plans.cases_demo(db, random.Random(seed), today, gen.supervisor_id)
            for key, value in (
                ("demo_data", "1"),
                ("demo_seed", str(seed)),
                ("demo_today", today.isoformat()),
            ):
                settings.set_setting(db, SYSTEM, key, value)
            audit.record(db, None, "import", "demo", note=f"演示数据 seed={seed} {gen.stats}")
        bulk.in_date_order(db)
        store.optimize(db)
    return gen.stats
