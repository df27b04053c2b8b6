"""The first release's tables as explicit SQL (types, NOT NULL, CHECK, foreign keys), so no insert can
invent a column. Migrations m001 and m002 (survey/migrations.py) create them; every later change is a
migration of its own, so never edit these.
"""

from __future__ import annotations

from survey.labels import ROLE_LABELS
from survey.problems.register import STATUSES

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
