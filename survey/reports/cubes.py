"""Summary tables the dashboards read: problem counts and measures per month × area × sector × category ×
source × department, kept exact by SQLite triggers on every write to `problems`.

Each measure is one SQL expression over a problem row, so the triggers, the rebuild and the raw queries of
the weekly report all count the same thing. Cubes differ only in which dimensions they keep (and their key
order); a query reads the smallest cube holding every dimension it filters or groups on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlite_utils import Database

from survey import db as store
from survey.problems.register import STATUSES

# Dimension name -> column of `problems`. Null keys are stored as '' (a key column cannot be NULL).
DIMENSIONS = {
    "month": "raised_month",
    "area": "district_code",
    "sector": "sector_code",
    "category": "category_code",
    "source": "source",
    "department": "lead_department_code",
    "day": "raised_on",
    "reply_day": "replied_at",  # its day: see key_of
}

MAX_EXACT_DAYS = 30  # reply times up to 30 working days are kept exactly; longer ones in one bucket
DAY_BUCKETS = [f"days_{d}" for d in range(MAX_EXACT_DAYS + 1)] + [f"days_{MAX_EXACT_DAYS + 1}p"]
SATISFACTION_COLUMNS = [f"sat_{level}" for level in range(1, 6)]


def _flag(condition: str) -> str:
    return f"(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def _measures() -> dict[str, str]:
    """Measure name -> SQL over a problem row written as {p}.column."""
    replied = "{p}.replied_at IS NOT NULL"
    measures = {"n": "1"}
    measures |= {f"st_{s}": _flag(f"{{p}}.status = '{s}'") for s in STATUSES}
    measures["replied"] = _flag(replied)
    measures["due_replied"] = _flag(f"{replied} AND {{p}}.deadline_on IS NOT NULL")
    measures["on_time"] = _flag(
        f"{replied} AND {{p}}.deadline_on IS NOT NULL AND substr({{p}}.replied_at, 1, 10) <= {{p}}.deadline_on"
    )
    measures["returned"] = _flag("{p}.return_count > 0")
    measures["reopened"] = _flag("{p}.reopen_count > 0")
    measures["spot"] = _flag("{p}.solved_on_spot = 1")
    for level, column in enumerate(SATISFACTION_COLUMNS, start=1):
        measures[column] = _flag(f"{{p}}.satisfaction_level = {level}")
    for days, column in enumerate(DAY_BUCKETS[:-1]):
        measures[column] = _flag(f"{replied} AND {{p}}.reply_working_days = {days}")
    measures[DAY_BUCKETS[-1]] = _flag(f"{replied} AND {{p}}.reply_working_days > {MAX_EXACT_DAYS}")
    measures["days_sum"] = (
        f"(CASE WHEN {replied} THEN coalesce({{p}}.reply_working_days, 0) ELSE 0 END)"
    )
    return measures


MEASURES = _measures()


@dataclass(frozen=True)
class Cube:
    table: str
    dims: tuple[str, ...]  # key order: the first dimensions are the ones a query narrows on

    def covers(self, needed: set[str]) -> bool:
        return needed <= set(self.dims)


# By day, for what reads days rather than months (周报's weeks): sector and department only, so
# it stays small (1M problems: 118k rows; at most 366 x 388 pairs whatever the volume) and a week
# is ~2,700 rows to sum instead of 190,000 problems at ten million.
DAY_CUBE = Cube("cube_day", ("day", "sector", "department"))
# By day, sector and sub-category: 周报's week by sector and category group (1M problems: 255k rows;
# at most 366 x ~1,000 sector-category pairs a year whatever the volume). Without it that figure
# walked the week's rows, which are scattered over the table once updates have moved them.
DAY_CATEGORY_CUBE = Cube("cube_day_category", ("day", "sector", "category"))
# By the day of the latest reply (the rest under ''), for "replied this week" per department: a
# week's replies belong to problems raised over months, scattered over the table (ten million
# problems, nothing in memory: 2.2 s to read them from `problems`).
REPLY_DAY_CUBE = Cube("cube_reply_day", ("reply_day", "department"))

# The monthly cubes smallest first (measured on the 1M-problem demo: 24k, 36k and 172k rows), then
# the day cubes, which cube_for never picks (they have no month).
CUBES = (
    Cube("cube_sector", ("month", "sector", "category", "source")),
    Cube("cube_department", ("department", "month", "sector", "category", "source")),
    Cube("cube_area", ("area", "month", "sector", "category", "source", "department")),
    DAY_CUBE,
    DAY_CATEGORY_CUBE,
    REPLY_DAY_CUBE,
)

# Which companies raised which sub-category, per year: a bit per month, for "raised by N companies".
COMPANY_TABLE = "cube_company_category"
# Key order: sector, category, company first, so "how many companies" streams without a sort.
COMPANY_DIMS = ("sector", "category", "company_id", "year", "area", "source", "department")

_WATCHED = sorted(
    set(DIMENSIONS.values())
    | {
        "status",
        "replied_at",
        "deadline_on",
        "return_count",
        "reopen_count",
        "solved_on_spot",
        "satisfaction_level",
        "reply_working_days",
        "company_id",
    }
)


def cube_for(needed: set[str]) -> Cube:
    for cube in CUBES:
        if cube.covers(needed):
            return cube
    raise ValueError(f"no cube holds {sorted(needed)}")


def key_of(dim: str, row: str) -> str:
    """A dimension's key for a problem row (`row`.column), as the cubes store it."""
    if dim == "reply_day":
        return f"coalesce(substr({row}.replied_at, 1, 10), '')"
    return f"coalesce({row}.{DIMENSIONS[dim]}, '')"


def _company_key(dim: str, row: str) -> str:
    if dim == "year":
        return f"substr({row}.raised_month, 1, 4)"
    if dim == "company_id":
        return f"{row}.company_id"
    return key_of(dim, row)


def _month_bit(row: str) -> str:
    return f"(1 << (CAST(substr({row}.raised_month, 6, 2) AS INTEGER) - 1))"


def _table_sql(cube: Cube) -> str:
    keys = ", ".join(f"{d} TEXT NOT NULL" for d in cube.dims)
    values = ", ".join(f"{m} INTEGER NOT NULL DEFAULT 0" for m in MEASURES)
    return (
        f"CREATE TABLE IF NOT EXISTS {cube.table} ({keys}, {values},"
        f" PRIMARY KEY ({', '.join(cube.dims)})) WITHOUT ROWID"
    )


def _company_table_sql() -> str:
    keys = ", ".join(
        f"{d} {'INTEGER' if d == 'company_id' else 'TEXT'} NOT NULL" for d in COMPANY_DIMS
    )
    return (
        f"CREATE TABLE IF NOT EXISTS {COMPANY_TABLE} ({keys}, months INTEGER NOT NULL,"
        f" PRIMARY KEY ({', '.join(COMPANY_DIMS)})) WITHOUT ROWID"
    )


def _add(cube: Cube, row: str, sign: str) -> str:
    keys = [key_of(d, row) for d in cube.dims]
    values = [f"{sign}({expr.format(p=row)})" for expr in MEASURES.values()]
    updates = ", ".join(f"{m} = {cube.table}.{m} + excluded.{m}" for m in MEASURES)
    return (
        f"INSERT INTO {cube.table} ({', '.join(cube.dims)}, {', '.join(MEASURES)})"
        f" VALUES ({', '.join(keys + values)})"
        f" ON CONFLICT ({', '.join(cube.dims)}) DO UPDATE SET {updates};"
    )


def _drop_empty(cube: Cube, row: str) -> str:
    match = " AND ".join(f"{d} = {key_of(d, row)}" for d in cube.dims)
    return f"DELETE FROM {cube.table} WHERE {match} AND n = 0;"


def _company_add(row: str) -> str:
    keys = ", ".join(_company_key(d, row) for d in COMPANY_DIMS)
    return (
        f"INSERT INTO {COMPANY_TABLE} ({', '.join(COMPANY_DIMS)}, months)"
        f" SELECT {keys}, {_month_bit(row)} WHERE {row}.company_id IS NOT NULL"
        f" ON CONFLICT ({', '.join(COMPANY_DIMS)}) DO UPDATE SET months = {COMPANY_TABLE}.months | excluded.months;"
    )


def _company_recount(row: str) -> str:
    """Recompute the month bits of OLD's key from the problems left (a bit cannot simply be cleared:
    another problem may share that month)."""
    match_problem = " AND ".join(
        f"{_company_key(d, 'q')} = {_company_key(d, row)}" for d in COMPANY_DIMS
    )
    match_row = " AND ".join(f"{d} = {_company_key(d, row)}" for d in COMPANY_DIMS)
    return (
        f"UPDATE {COMPANY_TABLE} SET months = (SELECT coalesce(sum(DISTINCT {_month_bit('q')}), 0)"
        f" FROM problems q WHERE q.company_id = {row}.company_id AND {match_problem}) WHERE {match_row};"
        f" DELETE FROM {COMPANY_TABLE} WHERE {match_row} AND months = 0;"
    )


def _trigger_bodies() -> tuple[str, dict[str, str]]:
    """(the update trigger's condition, {event: its statements}) in SQLite's dialect."""
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _WATCHED)
    on_insert = "".join(_add(c, "NEW", "") for c in CUBES) + _company_add("NEW")
    on_delete = "".join(_add(c, "OLD", "-") + _drop_empty(c, "OLD") for c in CUBES)
    on_delete += _company_recount("OLD")
    on_update = "".join(
        _add(c, "OLD", "-") + _drop_empty(c, "OLD") + _add(c, "NEW", "") for c in CUBES
    )
    on_update += _company_recount("OLD") + _company_add("NEW")
    return changed, {"insert": on_insert, "delete": on_delete, "update": on_update}


def _trigger_sql(db: Database) -> list[str]:
    changed, bodies = _trigger_bodies()
    if store.dialect(db) == "postgresql":
        return _trigger_sql_postgres(db, changed, bodies)
    return [
        f"CREATE TRIGGER IF NOT EXISTS problems_cube_insert AFTER INSERT ON problems BEGIN {bodies['insert']} END",
        f"CREATE TRIGGER IF NOT EXISTS problems_cube_delete AFTER DELETE ON problems BEGIN {bodies['delete']} END",
        f"CREATE TRIGGER IF NOT EXISTS problems_cube_update AFTER UPDATE ON problems WHEN {changed}"
        f" BEGIN {bodies['update']} END",
    ]


def _trigger_sql_postgres(db: Database, changed: str, bodies: dict[str, str]) -> list[str]:
    """The same statements as row triggers in PL/pgSQL, each translated like any other."""
    out = []
    for event, body in bodies.items():
        steps = "; ".join(store.in_dialect(db, part) for part in body.split(";") if part.strip())
        name = f"problems_cube_{event}"
        out.append(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS"
            f" $body$ BEGIN {steps}; RETURN NULL; END $body$"
        )
        when = ""
        if event == "update":
            condition = changed.replace(" IS NOT ", " IS DISTINCT FROM ")
            when = f" WHEN ({condition})"
        out.append(f"DROP TRIGGER IF EXISTS {name} ON problems")
        out.append(
            f"CREATE TRIGGER {name} AFTER {event.upper()} ON problems FOR EACH ROW{when}"
            f" EXECUTE FUNCTION {name}()"
        )
    return out


TRIGGERS = ("problems_cube_insert", "problems_cube_delete", "problems_cube_update")


def install(db: Database) -> None:
    """Create the summary tables and triggers (idempotent), then fill the tables from `problems`."""
    for cube in CUBES:
        db.execute(_table_sql(cube))
    db.execute(_company_table_sql())
    for statement in _trigger_sql(db):
        db.execute(statement)
    rebuild(db)


def add_new_cubes(db: Database) -> None:
    """For a migration that adds a cube: create the tables missing, put in the triggers of this code
    (they write to every cube) and fill only the new tables; the existing ones are exact already."""
    new = [c for c in CUBES if c.table not in store.table_names(db)]
    for cube in new:
        db.execute(_table_sql(cube))
    for name in TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}{_on_problems(db)}")
    for statement in _trigger_sql(db):
        db.execute(statement)
    _fill(db, new)


def _on_problems(db: Database) -> str:
    return " ON problems" if store.dialect(db) == "postgresql" else ""


def rebuild(db: Database) -> None:
    """Recompute every summary table from `problems` (inside the caller's transaction, if any)."""
    _fill(db, CUBES)
    keys = ", ".join(_company_key(d, "p") for d in COMPANY_DIMS)
    db.execute(f"DELETE FROM {COMPANY_TABLE}")
    db.execute(
        f"INSERT INTO {COMPANY_TABLE} ({', '.join(COMPANY_DIMS)}, months)"
        f" SELECT {keys}, sum(DISTINCT {_month_bit('p')}) FROM problems p"
        f" WHERE p.company_id IS NOT NULL GROUP BY {keys}"
    )


def _fill(db: Database, cubes) -> None:
    for cube in cubes:
        keys = ", ".join(key_of(d, "p") for d in cube.dims)
        sums = ", ".join(f"sum({expr.format(p='p')})" for expr in MEASURES.values())
        db.execute(f"DELETE FROM {cube.table}")
        db.execute(
            f"INSERT INTO {cube.table} ({', '.join(cube.dims)}, {', '.join(MEASURES)})"
            f" SELECT {keys}, {sums} FROM problems p GROUP BY {keys}"
        )


@contextmanager
def suspended(db: Database) -> Iterator[None]:
    """Bulk loads (the demo seeder) drop the triggers and rebuild once at the end: one GROUP BY instead
    of a million upserts."""
    for name in TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}{_on_problems(db)}")
    try:
        yield
    finally:
        for statement in _trigger_sql(db):
            db.execute(statement)
        rebuild(db)


def mismatches(db: Database) -> list[str]:
    """Cube rows that disagree with a fresh count from `problems` (for `survey check`)."""
    problems = []
    for cube in CUBES:
        keys = ", ".join(key_of(d, "p") for d in cube.dims)
        sums = ", ".join(f"sum({expr.format(p='p')})" for expr in MEASURES.values())
        fresh = f"SELECT {keys}, {sums} FROM problems p GROUP BY {keys}"
        stored = (
            f"SELECT {', '.join(cube.dims)}, {', '.join(MEASURES)} FROM {cube.table} WHERE n != 0"
        )
        differing = store.scalar(
            db,
            f"SELECT (SELECT count(*) FROM ({fresh} EXCEPT {stored}) AS extra)"
            f" + (SELECT count(*) FROM ({stored} EXCEPT {fresh}) AS missing)",
        )
        if differing:
            problems.append(f"汇总表 {cube.table} 与问题表不一致（{differing} 行）")
    return problems
