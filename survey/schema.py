"""The data model as a sqlite-utils Migrations set. Never edit a migration that has shipped: add one.

Tables are created with explicit SQL (types, NOT NULL, CHECK, foreign keys) so no insert can invent a column.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

from survey import clock
from survey import db as store
from survey.labels import ROLE_LABELS
from survey.problems.register import STATUSES

migrations = Migrations("zhenheyi")

ROLES = tuple(ROLE_LABELS)  # the role codes; their labels are the one list


def _status_check(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"CHECK ({column} IN ({quoted}))"


REFERENCE_TABLES_SQL = """
CREATE TABLE districts (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    sort_order INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);
CREATE TABLE sectors (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    cluster TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    sort_order INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);
CREATE TABLE problem_categories (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    parent TEXT REFERENCES problem_categories(code),
    name_en TEXT NOT NULL DEFAULT '',
    sort_order INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    UNIQUE (parent, name)
);
CREATE TABLE departments (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    sort_order INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);
CREATE TABLE indicators (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    system TEXT NOT NULL,
    name_en TEXT NOT NULL DEFAULT '',
    sort_order INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    UNIQUE (system, name)
);
CREATE TABLE request_natures (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    name_en TEXT NOT NULL DEFAULT '',
    sort_order INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);
CREATE TABLE deadline_classes (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    working_days INTEGER CHECK (working_days IS NULL OR working_days > 0),
    note TEXT NOT NULL DEFAULT '',
    sort_order INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);
CREATE TABLE satisfaction_levels (
    level INTEGER PRIMARY KEY CHECK (level BETWEEN 1 AND 5),
    name TEXT NOT NULL UNIQUE,
    three_level TEXT NOT NULL,
    is_bad_review INTEGER NOT NULL CHECK (is_bad_review IN (0, 1)),
    sort_order INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);
"""

CORE_TABLES_SQL = f"""
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    department_code TEXT REFERENCES departments(code),
    phone TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    must_change_password INTEGER NOT NULL DEFAULT 1 CHECK (must_change_password IN (0, 1)),
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id),
    role TEXT NOT NULL {_status_check("role", ROLES)},
    PRIMARY KEY (user_id, role)
);
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '',
    revoked_at TEXT
);
CREATE INDEX idx_sessions_user ON sessions(user_id, revoked_at);

CREATE TABLE companies (
    id INTEGER PRIMARY KEY,
    uscc TEXT NOT NULL UNIQUE CHECK (length(uscc) = 18),
    name TEXT NOT NULL CHECK (length(name) > 0),
    district_code TEXT NOT NULL REFERENCES districts(code),
    park_code TEXT REFERENCES districts(code),
    sector_code TEXT NOT NULL REFERENCES sectors(code),
    department_code TEXT REFERENCES departments(code),
    address TEXT NOT NULL DEFAULT '',
    contact_name TEXT NOT NULL DEFAULT '',
    contact_phone TEXT NOT NULL DEFAULT '',
    size TEXT NOT NULL DEFAULT '' CHECK (size IN ('', '大型', '中型', '小型', '微型')),
    is_above_scale INTEGER NOT NULL DEFAULT 0 CHECK (is_above_scale IN (0, 1)),
    is_specialized INTEGER NOT NULL DEFAULT 0 CHECK (is_specialized IN (0, 1)),
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX idx_companies_sector ON companies(sector_code, district_code);
CREATE INDEX idx_companies_district ON companies(district_code);
CREATE INDEX idx_companies_department ON companies(department_code, sector_code);

CREATE TABLE questionnaires (
    id INTEGER PRIMARY KEY,
    form_id TEXT NOT NULL,
    version TEXT NOT NULL,
    title TEXT NOT NULL,
    definition TEXT NOT NULL,
    source_file BLOB,
    published_at TEXT,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    UNIQUE (form_id, version)
);

CREATE TABLE visits (
    id INTEGER PRIMARY KEY,
    submission_id TEXT NOT NULL UNIQUE,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    visit_date TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('实地', '电话', '座谈', '线上')),
    officer_id INTEGER NOT NULL REFERENCES users(id),
    department_code TEXT REFERENCES departments(code),
    questionnaire_id INTEGER REFERENCES questionnaires(id),
    summary TEXT NOT NULL DEFAULT '',
    sector_code TEXT NOT NULL REFERENCES sectors(code),
    district_code TEXT NOT NULL REFERENCES districts(code),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX idx_visits_company ON visits(company_id, visit_date);
CREATE INDEX idx_visits_officer ON visits(officer_id, visit_date);
CREATE INDEX idx_visits_date_sector ON visits(visit_date, sector_code, company_id);
CREATE INDEX idx_visits_department ON visits(department_code, visit_date, company_id);

CREATE TABLE visit_participants (
    visit_id INTEGER NOT NULL REFERENCES visits(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (visit_id, user_id)
);

CREATE TABLE feedback (
    id INTEGER PRIMARY KEY,
    submission_id TEXT NOT NULL UNIQUE,
    monitor_id INTEGER NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL CHECK (kind IN ('lead', 'suggestion', 'experience', 'rating')),
    department_code TEXT REFERENCES departments(code),
    service_window TEXT NOT NULL DEFAULT '',
    indicator_code TEXT REFERENCES indicators(code),
    company_id INTEGER REFERENCES companies(id),
    body TEXT NOT NULL,
    anonymous INTEGER NOT NULL DEFAULT 0 CHECK (anonymous IN (0, 1)),
    questionnaire_id INTEGER REFERENCES questionnaires(id),
    submitted_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX idx_feedback_monitor ON feedback(monitor_id, submitted_at);
CREATE INDEX idx_feedback_kind ON feedback(kind, submitted_at);
CREATE INDEX idx_feedback_department ON feedback(department_code, submitted_at);

CREATE TABLE feedback_ratings (
    feedback_id INTEGER NOT NULL REFERENCES feedback(id),
    dimension TEXT NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    PRIMARY KEY (feedback_id, dimension)
);

CREATE TABLE answers (
    id INTEGER PRIMARY KEY,
    questionnaire_id INTEGER NOT NULL REFERENCES questionnaires(id),
    visit_id INTEGER REFERENCES visits(id),
    feedback_id INTEGER REFERENCES feedback(id),
    question TEXT NOT NULL,
    repeat_path TEXT NOT NULL DEFAULT '',
    value TEXT,
    CHECK ((visit_id IS NULL) != (feedback_id IS NULL)),
    UNIQUE (visit_id, feedback_id, question, repeat_path)
);
CREATE INDEX idx_answers_visit ON answers(visit_id);
CREATE INDEX idx_answers_feedback ON answers(feedback_id);

CREATE TABLE drafts (
    id INTEGER PRIMARY KEY,
    submission_id TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL CHECK (kind IN ('visit', 'feedback')),
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    submitted_at TEXT,
    discarded_at TEXT
);
CREATE INDEX idx_drafts_user ON drafts(user_id, kind, updated_at);

CREATE TABLE problems (
    id INTEGER PRIMARY KEY,
    submission_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL CHECK (source IN ('visit', 'monitor')),
    visit_id INTEGER REFERENCES visits(id),
    feedback_id INTEGER REFERENCES feedback(id),
    company_id INTEGER REFERENCES companies(id),
    sector_code TEXT REFERENCES sectors(code),
    district_code TEXT REFERENCES districts(code),
    category_code TEXT NOT NULL REFERENCES problem_categories(code),
    nature_code TEXT NOT NULL REFERENCES request_natures(code),
    description TEXT NOT NULL CHECK (length(description) > 0),
    status TEXT NOT NULL {_status_check("status", STATUSES)},
    raised_on TEXT NOT NULL,
    raised_month TEXT NOT NULL,
    solved_on_spot INTEGER NOT NULL DEFAULT 0 CHECK (solved_on_spot IN (0, 1)),
    spot_solution TEXT NOT NULL DEFAULT '',
    lead_department_code TEXT REFERENCES departments(code),
    deadline_class TEXT REFERENCES deadline_classes(code),
    deadline_on TEXT,
    assigned_at TEXT,
    accepted_at TEXT,
    replied_at TEXT,
    reply_working_days INTEGER,
    outcome TEXT CHECK (outcome IS NULL OR outcome IN ('resolved', 'partial', 'explained', 'ongoing')),
    reply_text TEXT NOT NULL DEFAULT '',
    called_back_at TEXT,
    satisfaction_level INTEGER REFERENCES satisfaction_levels(level),
    company_says_solved INTEGER CHECK (company_says_solved IS NULL OR company_says_solved IN (0, 1)),
    closed_at TEXT,
    escalated_at TEXT,
    return_count INTEGER NOT NULL DEFAULT 0,
    reopen_count INTEGER NOT NULL DEFAULT 0,
    raised_again_count INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK ((source = 'visit') = (visit_id IS NOT NULL)),
    CHECK ((source = 'monitor') = (feedback_id IS NOT NULL))
);
-- Dashboard indexes: month x sector x category aggregates are covered without touching the table.
CREATE INDEX idx_problems_month_sector ON problems(raised_month, sector_code, category_code, status);
CREATE INDEX idx_problems_sector_category ON problems(sector_code, category_code, status);
CREATE INDEX idx_problems_district ON problems(district_code, raised_month);
CREATE INDEX idx_problems_status_deadline ON problems(status, deadline_on);
CREATE INDEX idx_problems_department ON problems(lead_department_code, status, deadline_on);
CREATE INDEX idx_problems_company ON problems(company_id, raised_on);
CREATE INDEX idx_problems_visit ON problems(visit_id);
CREATE INDEX idx_problems_feedback ON problems(feedback_id);

CREATE TABLE problem_co_departments (
    problem_id INTEGER NOT NULL REFERENCES problems(id),
    department_code TEXT NOT NULL REFERENCES departments(code),
    PRIMARY KEY (problem_id, department_code)
);
CREATE INDEX idx_problem_co_departments_dept ON problem_co_departments(department_code);

CREATE TABLE problem_links (
    problem_id INTEGER NOT NULL REFERENCES problems(id),
    linked_problem_id INTEGER NOT NULL REFERENCES problems(id),
    kind TEXT NOT NULL CHECK (kind IN ('raised_again', 'same_issue')),
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (problem_id, linked_problem_id),
    CHECK (problem_id != linked_problem_id)
);

CREATE TABLE problem_events (
    id INTEGER PRIMARY KEY,
    problem_id INTEGER NOT NULL REFERENCES problems(id),
    actor_id INTEGER REFERENCES users(id),
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    data TEXT
);
CREATE INDEX idx_problem_events_problem ON problem_events(problem_id, at);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    visit_id INTEGER REFERENCES visits(id),
    problem_id INTEGER REFERENCES problems(id),
    feedback_id INTEGER REFERENCES feedback(id),
    filename TEXT NOT NULL,
    mime TEXT NOT NULL,
    width INTEGER,
    height INTEGER,
    sha256 TEXT NOT NULL,
    content BLOB NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    CHECK ((visit_id IS NOT NULL) + (problem_id IS NOT NULL) + (feedback_id IS NOT NULL) = 1)
);
CREATE INDEX idx_attachments_problem ON attachments(problem_id);
CREATE INDEX idx_attachments_visit ON attachments(visit_id);
CREATE INDEX idx_attachments_feedback ON attachments(feedback_id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor_id INTEGER REFERENCES users(id),
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('insert', 'update', 'delete', 'import', 'signin', 'signout',
                                           'restore', 'other')),
    table_name TEXT NOT NULL,
    row_id TEXT NOT NULL DEFAULT '',
    before TEXT,
    after TEXT,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX idx_audit_at ON audit_log(at);
CREATE INDEX idx_audit_table_row ON audit_log(table_name, row_id);
CREATE INDEX idx_audit_actor ON audit_log(actor_id, at);
"""


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
    _migrate_postgres); the store turns what the replacement changes into ALTERs."""
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


def migration_names() -> list[str]:
    return [m.name for m in migrations._migrations]


def applied_names(db: Database) -> list[str]:
    if store.dialect(db) == "postgresql":
        return _applied_postgres(db)
    return [m.name for m in migrations.applied(db)]


def _applied_postgres(db) -> list[str]:
    """PostgreSQL keeps the record in a table of the same name and columns as sqlite-utils'."""
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {migrations.migrations_table} (id INTEGER PRIMARY KEY,"
        " migration_set TEXT NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL,"
        " UNIQUE (migration_set, name))"
    )
    rows = db.execute(
        f"SELECT name FROM {migrations.migrations_table} WHERE migration_set = ? ORDER BY id",
        (migrations.name,),
    ).fetchall()
    return [row[0] for row in rows]


def _migrate_postgres(db) -> list[str]:
    """The same list of migrations, applied in one transaction under the writers' lock."""
    with store.transaction(db):
        done = set(_applied_postgres(db))
        pending = [m for m in migrations._migrations if m.name not in done]
        # A shadow SQLite database runs the same list a step behind, so a migration that edits a
        # table's SQLite definition (_loosen) can say what changed.
        if not pending:
            return []
        db.shadow = Database(memory=True)
        for migration in migrations._migrations:
            if migration in pending:
                migration.fn(db)
                db.execute(
                    f"INSERT INTO {migrations.migrations_table} (migration_set, name, applied_at)"
                    " VALUES (?, ?, ?)",
                    (migrations.name, migration.name, clock.now_iso()),
                )
            migration.fn(db.shadow)
    return [m.name for m in pending]


def migrate(db: Database) -> list[str]:
    """Apply pending migrations; returns their names. Safe to call on every start."""
    if store.dialect(db) == "postgresql":
        return _migrate_postgres(db)
    store.enable_wal(db)
    if not migrations.pending(db):
        return []
    # One IMMEDIATE transaction: two processes starting at once cannot both apply a migration.
    with store.transaction(db):
        pending = [m.name for m in migrations.pending(db)]
        migrations.apply(db)
    return pending
