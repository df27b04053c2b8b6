"""Every change to the data model, in order: a sqlite-utils Migrations set, run on SQLite and on
PostgreSQL alike (survey/schema.py applies it). Never edit a migration that has shipped: add one at the
end. m001 and m002 create the first release's tables (survey/tables.py).
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

from survey import db as store
from survey.tables import CORE_TABLES_SQL, REFERENCE_TABLES_SQL

migrations = Migrations("zhenheyi")


@migrations()
def m001_reference_lists(db: Database) -> None:
    for statement in _statements(REFERENCE_TABLES_SQL):
        db.execute(statement)


@migrations()
def m002_core_tables(db: Database) -> None:
    for statement in _statements(CORE_TABLES_SQL):
        db.execute(statement)


@migrations()
def m003_session_cookie_handoff(db: Database) -> None:
    """Sign-in that survives a reload: a one-time code the browser exchanges for an HttpOnly cookie."""
    for statement in (
        "ALTER TABLE sessions ADD COLUMN handoff_hash TEXT",
        "ALTER TABLE sessions ADD COLUMN handoff_expires_at TEXT",
        "ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password'",
        "ALTER TABLE users ADD COLUMN last_sign_in_at TEXT",
        "CREATE UNIQUE INDEX idx_sessions_handoff ON sessions(handoff_hash)",
    ):
        db.execute(statement)


@migrations()
def m004_problem_extensions(db: Database) -> None:
    """A department's pending request for more working days."""
    for statement in (
        "ALTER TABLE problems ADD COLUMN extension_requested_days INTEGER",
        "ALTER TABLE problems ADD COLUMN extension_reason TEXT",
    ):
        db.execute(statement)


@migrations()
def m005_rating_dimensions(db: Database) -> None:
    """Editable dimensions of a monitor's department rating; ratings refer to them by code."""
    db.execute(
        "CREATE TABLE rating_dimensions (code TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " sort_order INTEGER NOT NULL DEFAULT 0, active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)))"
    )


@migrations()
def m006_dashboard_cubes(db: Database) -> None:
    """Summary tables kept by triggers, so dashboards stay fast at a million problems; and an index for
    the newest-first problem list of a period. Any later change to survey.reports.cubes ships as a new migration
    that drops and reinstalls them."""
    from survey.reports import cubes

    db.execute("CREATE INDEX idx_problems_raised_on ON problems(raised_on)")
    db.execute("CREATE INDEX idx_problems_replied_at ON problems(replied_at)")
    cubes.install(db)


@migrations()
def m007_signin_failures(db: Database) -> None:
    """Failed sign-ins by typed user name and client address: throttles per address and per
    (name, address), so one client cannot lock others out; an unknown name is counted the same."""
    db.execute(
        "CREATE TABLE signin_failures (id INTEGER PRIMARY KEY, at TEXT NOT NULL,"
        " username TEXT NOT NULL, address TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX idx_signin_failures_address ON signin_failures(address, at)")
    db.execute("CREATE INDEX idx_signin_failures_username ON signin_failures(username, at)")
    db.execute("CREATE INDEX idx_signin_failures_at ON signin_failures(at)")


@migrations()
def m008_messages(db: Database) -> None:
    """In-app messages (消息): one row per recipient, written in the transaction of the change
    that causes it. `dedupe_key` makes a reminder once per problem, state and deadline."""
    db.execute(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),"
        " created_at TEXT NOT NULL, kind TEXT NOT NULL, problem_id INTEGER REFERENCES problems(id),"
        " event_id INTEGER REFERENCES problem_events(id), title TEXT NOT NULL, body TEXT NOT NULL,"
        " link TEXT NOT NULL DEFAULT '', urgent INTEGER NOT NULL DEFAULT 0 CHECK (urgent IN (0, 1)),"
        " dedupe_key TEXT UNIQUE, read_at TEXT)"
    )
    db.execute("CREATE INDEX idx_messages_user ON messages(user_id, read_at, id)")
    db.execute("CREATE INDEX idx_messages_problem ON messages(problem_id)")


@migrations()
def m009_deliveries(db: Database) -> None:
    """The delivery outbox for messages that leave the app, and each user's e-mail address."""
    db.execute("ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT ''")
    db.execute(
        "CREATE TABLE deliveries (id INTEGER PRIMARY KEY,"
        " message_id INTEGER NOT NULL REFERENCES messages(id),"
        " channel TEXT NOT NULL CHECK (channel IN ('email', 'wecom', 'dingtalk', 'sms')),"
        " target TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending'"
        " CHECK (status IN ('pending', 'sent', 'parked')), attempts INTEGER NOT NULL DEFAULT 0,"
        " next_at TEXT NOT NULL, lease_until TEXT, lease_owner TEXT,"
        " last_error TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, sent_at TEXT)"
    )
    db.execute("CREATE INDEX idx_deliveries_due ON deliveries(status, next_at)")
    db.execute("CREATE INDEX idx_deliveries_message ON deliveries(message_id)")


@migrations()
def m010_channels(db: Database) -> None:
    """Group robots (WeCom, DingTalk) per department or for the supervisors, the posts each
    made (for the services' 20-a-minute limit), and each user's choice of urgent messages only."""
    db.execute(
        "CREATE TABLE robots (id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " platform TEXT NOT NULL CHECK (platform IN ('wecom', 'dingtalk')),"
        " audience TEXT NOT NULL, url TEXT NOT NULL, secret TEXT NOT NULL DEFAULT '',"
        " active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)), created_at TEXT NOT NULL,"
        " UNIQUE (url))"
    )
    db.execute("CREATE INDEX idx_robots_audience ON robots(audience, active)")
    db.execute(
        "CREATE TABLE robot_posts (id INTEGER PRIMARY KEY,"
        " robot_id INTEGER NOT NULL REFERENCES robots(id) ON DELETE CASCADE, at TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX idx_robot_posts ON robot_posts(robot_id, at)")
    db.execute(
        "ALTER TABLE users ADD COLUMN urgent_only INTEGER NOT NULL DEFAULT 0"
        " CHECK (urgent_only IN (0, 1))"
    )


@migrations()
def m011_api_clients(db: Database) -> None:
    """Other government systems: API clients (each acting through a user row of its own that
    cannot sign in, so problems, events and audit rows name it), the origin of a problem they
    send, and their request counts for the rate limit. Problems may now come from the 12345
    hotline, the government service portal or another platform: the CHECK on problems.source is
    widened in place (SQLite's documented writable_schema procedure for loosening a constraint:
    no row can break it, so no table rebuild of a million problems is needed)."""
    db.execute(
        "ALTER TABLE users ADD COLUMN api_client INTEGER NOT NULL DEFAULT 0"
        " CHECK (api_client IN (0, 1))"
    )
    db.execute(
        "CREATE TABLE api_clients (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " user_id INTEGER NOT NULL UNIQUE REFERENCES users(id), token_hash TEXT NOT NULL UNIQUE,"
        " token_hint TEXT NOT NULL, scopes TEXT NOT NULL, row_kind TEXT NOT NULL DEFAULT 'all'"
        " CHECK (row_kind IN ('all', 'department', 'district')), row_value TEXT NOT NULL DEFAULT '',"
        " per_minute INTEGER NOT NULL DEFAULT 120 CHECK (per_minute > 0),"
        " active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)), created_at TEXT NOT NULL,"
        " rotated_at TEXT, revoked_at TEXT, last_used_at TEXT)"
    )
    db.execute(
        "CREATE TABLE api_calls (client_id INTEGER NOT NULL REFERENCES api_clients(id),"
        " minute TEXT NOT NULL, calls INTEGER NOT NULL, PRIMARY KEY (client_id, minute))"
        " WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE problem_origins (problem_id INTEGER PRIMARY KEY REFERENCES problems(id),"
        " client_id INTEGER NOT NULL REFERENCES api_clients(id), external_ref TEXT NOT NULL,"
        " idempotency_key TEXT NOT NULL, request_hash TEXT NOT NULL, received_at TEXT NOT NULL,"
        " UNIQUE (client_id, idempotency_key))"
    )
    db.execute("CREATE INDEX idx_problem_origins_ref ON problem_origins(client_id, external_ref)")
    _loosen(
        db,
        "problems",
        "CHECK (source IN ('visit', 'monitor'))",
        "CHECK (source IN ('visit', 'monitor', 'hotline', 'portal', 'platform'))",
    )


@migrations()
def m012_webhooks(db: Database) -> None:
    """Webhooks: another system's subscription to events, delivered through the outbox like an
    e-mail (a delivery then carries the event, not a message)."""
    db.execute(
        "CREATE TABLE webhooks (id INTEGER PRIMARY KEY,"
        " client_id INTEGER NOT NULL REFERENCES api_clients(id), url TEXT NOT NULL,"
        " secret TEXT NOT NULL, actions TEXT NOT NULL DEFAULT '*',"
        " active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)), created_at TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX idx_webhooks_client ON webhooks(client_id, active)")
    _loosen(
        db,
        "deliveries",
        "CHECK (channel IN ('email', 'wecom', 'dingtalk', 'sms'))",
        "CHECK (channel IN ('email', 'wecom', 'dingtalk', 'sms', 'webhook'))",
    )
    _loosen(
        db,
        "deliveries",
        "message_id INTEGER NOT NULL REFERENCES messages(id)",
        "message_id INTEGER REFERENCES messages(id)",
    )
    db.execute("ALTER TABLE deliveries ADD COLUMN event_id INTEGER REFERENCES problem_events(id)")


@migrations()
def m013_action_plan(db: Database) -> None:
    """The year's action plan (任务清单): tasks with their lead and co-departments, due dates and
    indicators; monthly progress reports reviewed by supervisors; links from tasks to problems;
    and department aliases learnt at import (the names plans use for departments)."""
    for statement in (
        "CREATE TABLE plans (id INTEGER PRIMARY KEY, year INTEGER NOT NULL UNIQUE"
        " CHECK (year BETWEEN 2000 AND 2100), title TEXT NOT NULL, created_at TEXT NOT NULL,"
        " updated_at TEXT NOT NULL)",
        "CREATE TABLE plan_tasks (id INTEGER PRIMARY KEY,"
        " plan_id INTEGER NOT NULL REFERENCES plans(id), number TEXT NOT NULL,"
        " content TEXT NOT NULL CHECK (length(content) > 0), target TEXT NOT NULL DEFAULT '',"
        " lead_department_code TEXT NOT NULL REFERENCES departments(code), due_on TEXT NOT NULL,"
        " indicator_code TEXT REFERENCES indicators(code), created_at TEXT NOT NULL,"
        " updated_at TEXT NOT NULL, UNIQUE (plan_id, number))",
        "CREATE INDEX idx_plan_tasks_lead ON plan_tasks(lead_department_code)",
        "CREATE TABLE plan_task_departments (task_id INTEGER NOT NULL REFERENCES plan_tasks(id),"
        " department_code TEXT NOT NULL REFERENCES departments(code),"
        " PRIMARY KEY (task_id, department_code)) WITHOUT ROWID",
        "CREATE INDEX idx_plan_task_departments ON plan_task_departments(department_code)",
        "CREATE TABLE department_aliases (alias TEXT PRIMARY KEY,"
        " department_code TEXT NOT NULL REFERENCES departments(code))",
        "CREATE TABLE task_reports (id INTEGER PRIMARY KEY,"
        " task_id INTEGER NOT NULL REFERENCES plan_tasks(id), month TEXT NOT NULL,"
        " done_text TEXT NOT NULL, percent INTEGER NOT NULL CHECK (percent BETWEEN 0 AND 100),"
        " issues_text TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'submitted'"
        " CHECK (status IN ('submitted', 'accepted', 'returned')),"
        " late INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1)),"
        " review_note TEXT NOT NULL DEFAULT '', submitted_by INTEGER NOT NULL REFERENCES users(id),"
        " submitted_at TEXT NOT NULL, reviewed_by INTEGER REFERENCES users(id), reviewed_at TEXT,"
        " UNIQUE (task_id, month))",
        "CREATE INDEX idx_task_reports_month ON task_reports(month, status)",
        "CREATE TABLE task_problems (task_id INTEGER NOT NULL REFERENCES plan_tasks(id),"
        " problem_id INTEGER NOT NULL REFERENCES problems(id),"
        " PRIMARY KEY (task_id, problem_id)) WITHOUT ROWID",
        "CREATE INDEX idx_task_problems_problem ON task_problems(problem_id)",
        "ALTER TABLE attachments ADD COLUMN report_id INTEGER REFERENCES task_reports(id)",
    ):
        db.execute(statement)
    _loosen(
        db,
        "attachments",
        "(feedback_id IS NOT NULL) = 1",
        "(feedback_id IS NOT NULL) + (report_id IS NOT NULL) = 1",
    )


@migrations()
def m014_joint_reviews(db: Database) -> None:
    """Joint review meetings (联审会办): dated meetings, the problems on each agenda with the
    decision, the departments responsible, the deadline and the chair; open items carry over."""
    for statement in (
        "CREATE TABLE meetings (id INTEGER PRIMARY KEY, held_on TEXT NOT NULL, title TEXT NOT NULL,"
        " created_by INTEGER NOT NULL REFERENCES users(id), created_at TEXT NOT NULL)",
        "CREATE INDEX idx_meetings_held ON meetings(held_on)",
        "CREATE TABLE meeting_items (id INTEGER PRIMARY KEY,"
        " meeting_id INTEGER NOT NULL REFERENCES meetings(id),"
        " problem_id INTEGER NOT NULL REFERENCES problems(id), reason TEXT NOT NULL DEFAULT '',"
        " decision TEXT NOT NULL DEFAULT '', chair TEXT NOT NULL DEFAULT '', deadline_on TEXT,"
        " status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),"
        " decided_at TEXT, done_at TEXT, carried_from INTEGER REFERENCES meeting_items(id),"
        " UNIQUE (meeting_id, problem_id))",
        "CREATE INDEX idx_meeting_items_problem ON meeting_items(problem_id)",
        "CREATE TABLE meeting_item_departments (item_id INTEGER NOT NULL REFERENCES meeting_items(id),"
        " department_code TEXT NOT NULL REFERENCES departments(code),"
        " PRIMARY KEY (item_id, department_code)) WITHOUT ROWID",
    ):
        db.execute(statement)


@migrations()
def m015_case_library(db: Database) -> None:
    """The case library (经典案例): cases written up from closed problems or adopted suggestions,
    yearly selection rounds with a panel, weighted criteria and private scores, and publishing."""
    for statement in (
        "CREATE TABLE cases (id INTEGER PRIMARY KEY, problem_id INTEGER REFERENCES problems(id),"
        " feedback_id INTEGER REFERENCES feedback(id), title TEXT NOT NULL CHECK (length(title) > 0),"
        " background TEXT NOT NULL, approach TEXT NOT NULL, results TEXT NOT NULL,"
        " figures TEXT NOT NULL DEFAULT '', category_code TEXT REFERENCES problem_categories(code),"
        " sector_code TEXT REFERENCES sectors(code), company_id INTEGER REFERENCES companies(id),"
        " mask_company INTEGER NOT NULL DEFAULT 0 CHECK (mask_company IN (0, 1)),"
        " status TEXT NOT NULL DEFAULT 'nominated'"
        " CHECK (status IN ('nominated', 'selected', 'published')),"
        " nominated_by INTEGER NOT NULL REFERENCES users(id), created_at TEXT NOT NULL,"
        " updated_at TEXT NOT NULL, published_at TEXT,"
        " CHECK ((problem_id IS NOT NULL) + (feedback_id IS NOT NULL) = 1))",
        "CREATE INDEX idx_cases_status ON cases(status, category_code, sector_code)",
        "CREATE TABLE case_rounds (id INTEGER PRIMARY KEY, year INTEGER NOT NULL,"
        " title TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open'"
        " CHECK (status IN ('open', 'closed')), created_by INTEGER NOT NULL REFERENCES users(id),"
        " created_at TEXT NOT NULL, closed_at TEXT)",
        "CREATE TABLE case_round_cases (round_id INTEGER NOT NULL REFERENCES case_rounds(id),"
        " case_id INTEGER NOT NULL REFERENCES cases(id), PRIMARY KEY (round_id, case_id)) WITHOUT ROWID",
        "CREATE TABLE case_criteria (id INTEGER PRIMARY KEY,"
        " round_id INTEGER NOT NULL REFERENCES case_rounds(id), name TEXT NOT NULL,"
        " weight REAL NOT NULL CHECK (weight > 0), UNIQUE (round_id, name))",
        "CREATE TABLE case_panel (round_id INTEGER NOT NULL REFERENCES case_rounds(id),"
        " user_id INTEGER NOT NULL REFERENCES users(id), PRIMARY KEY (round_id, user_id)) WITHOUT ROWID",
        "CREATE TABLE case_scores (round_id INTEGER NOT NULL REFERENCES case_rounds(id),"
        " case_id INTEGER NOT NULL REFERENCES cases(id),"
        " criterion_id INTEGER NOT NULL REFERENCES case_criteria(id),"
        " user_id INTEGER NOT NULL REFERENCES users(id),"
        " score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 100), scored_at TEXT NOT NULL,"
        " PRIMARY KEY (round_id, case_id, criterion_id, user_id)) WITHOUT ROWID",
        "ALTER TABLE attachments ADD COLUMN case_id INTEGER REFERENCES cases(id)",
    ):
        db.execute(statement)
    _loosen(
        db,
        "attachments",
        "(report_id IS NOT NULL) = 1",
        "(report_id IS NOT NULL) + (case_id IS NOT NULL) = 1",
    )


@migrations()
def m016_questionnaire_files(db: Database) -> None:
    """The files uploaded with a form version (the CSVs its select_*_from_file rows read), kept so
    the version can be downloaded whole again."""
    db.execute(
        "CREATE TABLE questionnaire_files (questionnaire_id INTEGER NOT NULL"
        " REFERENCES questionnaires(id), name TEXT NOT NULL, data BLOB NOT NULL,"
        " PRIMARY KEY (questionnaire_id, name))"
    )


@migrations()
def m017_delivery_targets(db: Database) -> None:
    """Deliveries by channel, target and status: a webhook subscription's backlog (counted
    against its cap at every event) and a stopped client's queue are read from its own rows."""
    db.execute("CREATE INDEX idx_deliveries_target ON deliveries(channel, target, status)")


@migrations()
def m018_company_aliases(db: Database) -> None:
    """Other names of a company (TS公司, 天盛电气) that an editor adds so a masked case hides them
    too, for every case about that company."""
    db.execute(
        "CREATE TABLE company_aliases (company_id INTEGER NOT NULL REFERENCES companies(id),"
        " alias TEXT NOT NULL CHECK (length(alias) >= 2), PRIMARY KEY (company_id, alias))"
        " WITHOUT ROWID"
    )


@migrations()
def m019_plan_import(db: Database) -> None:
    """A task may have no deadline (长期坚持, 持续推进); a learnt department alias records who
    learnt it and when, so 参考列表 can show it and undo it."""
    _loosen(db, "plan_tasks", " due_on TEXT NOT NULL,", " due_on TEXT,")
    db.execute("ALTER TABLE department_aliases ADD COLUMN learnt_by INTEGER REFERENCES users(id)")
    db.execute("ALTER TABLE department_aliases ADD COLUMN learnt_at TEXT")


def _loosen(db: Database, table: str, old: str, new: str) -> None:
    """Rewrite one constraint of a table's definition in place: SQLite's documented writable_schema
    procedure, for changes no existing row can break (widening a CHECK, dropping NOT NULL), with
    no rebuild of a table that may hold a million rows. PostgreSQL: the same change as ALTERs."""
    if store.dialect(db) == "postgresql":
        _loosen_postgres(db, table, old, new)
        return
    sql = store.scalar(
        db, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    )
    if old not in sql:
        raise RuntimeError(f"{table}: unexpected definition, expected {old!r}")
    version = store.scalar(db, "PRAGMA schema_version")
    db.execute("PRAGMA writable_schema = ON")
    try:
        db.execute(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
            (sql.replace(old, new), table),
        )
        db.execute(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        db.execute("PRAGMA writable_schema = OFF")


def _loosen_postgres(db, table: str, old: str, new: str) -> None:
    """The SQLite definition comes from the shadow database the migrations also run on (see
    _migrate_postgres in survey/schema.py); the store turns what the replacement changes into
    ALTERs."""
    sql = store.scalar(
        db.shadow, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    )
    if old not in sql:
        raise RuntimeError(f"{table}: unexpected definition, expected {old!r}")
    db.loosen(table, sql, sql.replace(old, new))


def _statements(script: str) -> list[str]:
    """Split a script of CREATE statements (no semicolons inside them) so each runs in the
    migration's transaction; executescript would commit it."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


@migrations()
def m021_company_view(db: Database) -> None:
    """The company's own view (企业端, issue 30): links that belong to one company (only the
    token's SHA-256 is kept), the short sessions they open, failed openings (for the rate limit),
    the company's rating of each answer, a company e-mail address, deliveries that carry a link
    (minted when sent), and problems the company raised itself (source 'company', 企业自报)."""
    db.execute("ALTER TABLE companies ADD COLUMN contact_email TEXT NOT NULL DEFAULT ''")
    db.execute(
        "CREATE TABLE company_links (id INTEGER PRIMARY KEY,"
        " company_id INTEGER NOT NULL REFERENCES companies(id), token_hash TEXT NOT NULL UNIQUE,"
        " via TEXT NOT NULL CHECK (via IN ('sms', 'email', 'qr')),"
        " problem_id INTEGER REFERENCES problems(id), issued_by INTEGER REFERENCES users(id),"
        " issued_at TEXT NOT NULL, expires_at TEXT NOT NULL, revoked_at TEXT, last_used_at TEXT)"
    )
    db.execute("CREATE INDEX idx_company_links_company ON company_links(company_id, revoked_at)")
    db.execute(
        "CREATE TABLE company_sessions (id INTEGER PRIMARY KEY,"
        " company_id INTEGER NOT NULL REFERENCES companies(id),"
        " link_id INTEGER NOT NULL REFERENCES company_links(id), token_hash TEXT NOT NULL UNIQUE,"
        " created_at TEXT NOT NULL, expires_at TEXT NOT NULL, revoked_at TEXT)"
    )
    db.execute("CREATE INDEX idx_company_sessions_company ON company_sessions(company_id)")
    db.execute(
        "CREATE TABLE company_link_failures (id INTEGER PRIMARY KEY, at TEXT NOT NULL,"
        " address TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX idx_company_link_failures ON company_link_failures(address, at)")
    db.execute(
        "CREATE TABLE company_ratings (id INTEGER PRIMARY KEY,"
        " problem_id INTEGER NOT NULL REFERENCES problems(id),"
        " reply_event_id INTEGER NOT NULL UNIQUE REFERENCES problem_events(id),"
        " company_id INTEGER NOT NULL REFERENCES companies(id),"
        " level INTEGER NOT NULL REFERENCES satisfaction_levels(level),"
        " comment TEXT NOT NULL DEFAULT '', rated_at TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX idx_company_ratings_problem ON company_ratings(problem_id)")
    db.execute("CREATE INDEX idx_company_ratings_at ON company_ratings(rated_at)")
    db.execute("ALTER TABLE deliveries ADD COLUMN company_id INTEGER REFERENCES companies(id)")
    db.execute("CREATE INDEX idx_deliveries_company ON deliveries(company_id, event_id)")
    _loosen(
        db,
        "problems",
        "CHECK (source IN ('visit', 'monitor', 'hotline', 'portal', 'platform'))",
        "CHECK (source IN ('visit', 'monitor', 'hotline', 'portal', 'platform', 'company'))",
    )


@migrations()
def m020_data_version(db: Database) -> None:
    """A counter every write to what the dashboards and the navigation's counts read moves on, in
    the write's own transaction (survey.dataversion), so their results can be cached under it."""
    from survey import dataversion

    dataversion.install(db)


@migrations()
def m022_dashboard_indexes(db: Database) -> None:
    """Two dashboard statements that grew with the problems on PostgreSQL (issue 29, 10 million
    problems): the 督办回访 count reads the few problems whose extension is asked through a small
    partial index instead of every held problem's row; and PostgreSQL reads "raised by N companies"
    in key order from an index that also holds the month bits, as SQLite reads its clustered
    (WITHOUT ROWID) table, instead of sorting the whole table."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_problems_extension_asked ON problems (status, deadline_on)"
        " WHERE extension_requested_days IS NOT NULL"
    )
    if store.dialect(db) == "postgresql":
        db.native(
            "CREATE INDEX IF NOT EXISTS idx_cube_company_category_months ON cube_company_category"
            " (sector, category, company_id, year, area, source, department) INCLUDE (months)"
        )


@migrations()
def m023_form_requests(db: Database) -> None:
    """The request id of a form's submission (survey.repeats): a double tap that interrupted the
    run before the page showed its success is sent again with the same id, and finds here the
    first result instead of writing twice (or being refused as a duplicate)."""
    db.execute(
        "CREATE TABLE form_requests (request_id TEXT PRIMARY KEY,"
        " actor_id INTEGER NOT NULL REFERENCES users(id), kind TEXT NOT NULL,"
        " result TEXT NOT NULL, created_at TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX idx_form_requests_created ON form_requests(created_at)")


@migrations()
def m024_dashboard_indexes_10m(db: Database) -> None:
    """Two more dashboard statements that grew with the problems (issue 29, tried on the 10,000,000-
    problem PostgreSQL seed): the 逾期 counts read the held problems past their deadline from a
    partial index (250 -> 40-54 ms at 10M; built in 11 s), and 常见问题's examples find a sector's
    and category's problems in id order from an index (38-200 -> ~1 ms; built in 69 s). The held
    statuses are the register's own list, as every query that counts them writes it."""
    from survey.problems.register import HELD_SQL

    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_problems_held_overdue ON problems"
        f" (deadline_on, raised_month, lead_department_code) WHERE status IN {HELD_SQL}"
    )
    _sector_category_index(db)


@migrations()
def m026_list_indexes(db: Database) -> None:
    """The supervisors' lists at a million problems (issue 29: 交办 7.3 s, 督办回访 4.4 s, 走访记录
    1.6 s, 反馈汇总 2.1 s): each reads its first page in its own order from an index and stops,
    instead of walking the date index through every problem for the few of one status, or sorting
    a quarter's visits or feedback; the department ratings' chart reads two covering indexes.
    Plain SQL on both stores; the id after the date makes the order exact on PostgreSQL too.
    SQLite's planner takes an index it has no statistics for as a perfect one (it then read the
    extension requests through the new status index, 0.5 s, instead of their partial index): the
    four tables are measured again at once, every index alike (4 s at a million problems)."""
    indexes = {
        "idx_problems_status_raised": "problems (status, raised_on, id)",
        "idx_visits_date_id": "visits (visit_date, id)",
        "idx_feedback_submitted_id": "feedback (submitted_at, id)",
        "idx_feedback_kind_department": "feedback (kind, department_code, submitted_at)",
        "idx_feedback_ratings_scores": "feedback_ratings (feedback_id, dimension, score)",
    }
    for name, columns in indexes.items():
        db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {columns}")
    if store.dialect(db) == "sqlite":  # PostgreSQL's statistics are per column, kept by autovacuum
        for table in ("problems", "visits", "feedback", "feedback_ratings"):
            db.execute(f"ANALYZE {table}")


@migrations()
def m027_held_raised_index(db: Database) -> None:
    """督办回访's 逾期督办 list at a million problems on PostgreSQL (issue 29: the page 0.91 s): the
    planner took "held and past the deadline" for 38,000 rows where there were 4,200, and so walked
    the date index from the oldest problem, filtering out 768,000 rows (0.82 s), to find the first
    50. The held problems in date order, a partial index as small as the held problems themselves,
    give the list in order whatever the estimate (0.1 ms; SQLite sorted them, 17 ms -> 1 ms). As in
    m026, SQLite measures the table again so that its planner weighs the new index rightly."""
    from survey.problems.register import HELD_SQL

    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_problems_held_raised ON problems (raised_on, id)"
        f" WHERE status IN {HELD_SQL}"
    )
    if store.dialect(db) == "sqlite":
        db.execute("ANALYZE problems")


# 常见问题's examples: a sector's and sub-category's newest problems, ORDER BY p.id DESC. On
# PostgreSQL the index is made as written, not translated: the translation spells SQLite's NULL
# order out (id NULLS FIRST), and an index scanned backward in that order gives id DESC NULLS
# LAST, which the query's order (an ORDER BY of the primary key keeps PostgreSQL's own, NULLS
# FIRST) is not; the planner then walked the primary key instead (m028).
_SECTOR_CATEGORY_INDEX = (
    "CREATE INDEX IF NOT EXISTS idx_problems_sector_category_id ON problems"
    " (sector_code, category_code, id)"
)


def _sector_category_index(db: Database) -> None:
    if store.dialect(db) == "postgresql":
        db.native(_SECTOR_CATEGORY_INDEX)
    else:
        db.execute(_SECTOR_CATEGORY_INDEX)


@migrations()
def m028_sector_category_index_order(db: Database) -> None:
    """常见问题's examples at ten million problems on PostgreSQL took 24-70 ms each (ten of them a
    render): m024 made their index through the translation (id NULLS FIRST), whose order the
    query's ORDER BY p.id DESC no longer matched once an ORDER BY of primary keys kept
    PostgreSQL's own order (e97fa07), so the planner walked the primary key backward past
    thousands of other problems. Made again as written (a million problems: 22 ms -> 0.1 ms).
    SQLite's index is right as it is."""
    if store.dialect(db) != "postgresql":
        return
    definition = db.native(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_problems_sector_category_id'"
    ).fetchone()
    if definition and "NULLS FIRST" in definition[0]:
        db.native("DROP INDEX idx_problems_sector_category_id")
        _sector_category_index(db)


@migrations()
def m029_day_cube(db: Database) -> None:
    """周报 at ten million problems on PostgreSQL (issue 29): its first open after a write took
    1.33 s, most of it summing the KPIs' forty measures over two weeks of problems row by row
    (380,000 rows, 330 ms), the twelve weeks' trend (2.3 M rows, 109 ms) and the ratings' phone
    side. A summary table by day, sector and department (survey.reports.cubes.DAY_CUBE), kept by
    the same triggers as the monthly ones, gives a week in ~2,700 rows. Only the new table is
    filled here; the triggers are made again because each writes to every cube."""
    from survey.reports import cubes

    cubes.add_new_cubes(db)


@migrations()
def m030_reply_day_cube(db: Database) -> None:
    """周报's first open after a restart at ten million problems on PostgreSQL (issue 29), with
    nothing in memory: 1.1-2.4 s, of which the week's replies per department 2.2 s (they belong to
    problems raised over months, scattered over the table) and the week's overdue problems 0.2 s
    a week (the held problems of the week, 136,000, fetched to read their deadline).
    - A summary table by the day of the latest reply and department
      (survey.reports.cubes.REPLY_DAY_CUBE), kept by the cube triggers: a week is ~200 rows.
    - The held problems by deadline, then day raised: "held, past its deadline, raised in the
      week" reads the index alone (60 ms -> 0.8 ms)."""
    from survey.problems.register import HELD_SQL
    from survey.reports import cubes

    cubes.add_new_cubes(db)
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_problems_held_deadline ON problems (deadline_on, raised_on)"
        f" WHERE status IN {HELD_SQL}"
    )
    if store.dialect(db) == "sqlite":
        db.execute("ANALYZE problems")


@migrations()
def m031_day_category_cube(db: Database) -> None:
    """周报's week by sector and category group was its last figure read row by row from `problems`
    (issue 29): with the rows scattered, as updates scatter them, 0.73 s of its 0.94 s at a million
    problems with nothing in memory. A summary table by day, sector and sub-category
    (survey.reports.cubes.DAY_CATEGORY_CUBE), kept by the cube triggers, gives it in ~7,000 rows a
    week. Only the new table is filled here."""
    from survey.reports import cubes

    cubes.add_new_cubes(db)
