"""A SQLite statement in PostgreSQL's dialect: sqlglot's translation plus the few rules it leaves to
us, cached by the statement's text; NotTranslatable where there is none (PRAGMA, triggers), for the
statement's owner to write both (store.dialect).
"""

from __future__ import annotations

import re
from functools import lru_cache

import sqlglot
from sqlglot import exp

_INSERT_OR_IGNORE = re.compile(r"(?is)^\s*INSERT\s+OR\s+IGNORE\s+")
INSERT_INTO = re.compile(r"(?is)^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+\"?(\w+)\"?")
DDL = re.compile(r"(?is)^\s*(CREATE|ALTER)\s+(TABLE|INDEX|UNIQUE\s+INDEX|VIEW)\b")
_NATIVE = re.compile(
    r"(?is)^\s*(CREATE\s+(OR\s+REPLACE\s+)?FUNCTION|CREATE\s+TRIGGER\s+\w+\s+.*EXECUTE\s+FUNCTION"
    r"|DROP\s+TRIGGER\s+IF\s+EXISTS\s+\w+\s+ON\b)"
)
_PASSTHROUGH = re.compile(r"(?is)^\s*(SAVEPOINT|RELEASE|ROLLBACK|COMMIT|BEGIN)\b")


class NotTranslatable(Exception):
    """A statement that has no PostgreSQL form here: its owner must give one (store.dialect)."""


def _escape_percent(node):
    """psycopg reads % as a placeholder: a literal % in a string is written %%."""
    if isinstance(node, exp.Literal) and node.is_string and "%" in node.this:
        return exp.Literal.string(node.this.replace("%", "%%"))
    return node


def _plain_conflict_target(node):
    """sqlglot spells SQLite's NULL ordering out (NULLS FIRST) even in ON CONFLICT (a, b), where
    PostgreSQL refuses it."""
    if isinstance(node, exp.Ordered) and node.find_ancestor(exp.OnConflict) is not None:
        return node.this
    return node


# Columns that are NOT NULL in every table that has one: each table's INTEGER PRIMARY KEY
# (tests/test_postgres.py checks it against the migrated schema on both stores).
NOT_NULL_KEYS = frozenset({"id"})


def _sortable_key(ordered, select) -> bool:
    column = ordered.this
    if not isinstance(column, exp.Column) or column.name not in NOT_NULL_KEYS:
        return False
    outer = [j for j in (select.args.get("joins") or []) if j.args.get("side")] if select else []
    if outer and (not column.table or column.table in {j.alias_or_name for j in outer}):
        return False  # a column an outer join may fill with NULL (or one we cannot place)
    # an output column of that name is an expression that may be NULL
    return not (
        select and not column.table and column.name in {e.alias for e in select.expressions}
    )


def _index_order(node):
    """sqlglot spells SQLite's NULL ordering out (ORDER BY id DESC NULLS LAST), and PostgreSQL can
    then not read a primary key's index in that order: the newest 30 of a million problems sorted
    all of them (0.8 s instead of 0.4 ms). An ORDER BY of primary keys alone (never NULL) keeps
    PostgreSQL's own order. Other keys keep the spelled-out order: the indexes our migrations
    made on PostgreSQL were translated the same way (raised_on NULLS FIRST), and a query's order
    must match theirs for the planner to use them."""
    if not isinstance(node, exp.Order) or node.find_ancestor(exp.OnConflict) is not None:
        return node
    select = node.parent if isinstance(node.parent, exp.Select) else None
    keys = node.expressions
    if keys and all(isinstance(k, exp.Ordered) and _sortable_key(k, select) for k in keys):
        for key in keys:
            key.set("nulls_first", bool(key.args.get("desc")))  # PostgreSQL's default
    return node


def _qualified_upsert(node):
    """In ON CONFLICT ... DO UPDATE SET n = n + 1 PostgreSQL finds `n` ambiguous (the row or
    EXCLUDED); SQLite means the row: name its table."""
    if isinstance(node, exp.Insert) and node.args.get("conflict") is not None:
        target = node.this.this if isinstance(node.this, exp.Schema) else node.this
        table = target.name
        for assignment in node.args["conflict"].args.get("expressions") or []:
            value = assignment.expression
            for column in value.find_all(exp.Column):
                if not column.table:
                    column.set("table", exp.to_identifier(table))
    return node


def _truth_literals(node):
    """`0 OR x` and `1 AND x`, as clauses built in code write them: PostgreSQL wants booleans."""
    if isinstance(node, exp.And | exp.Or | exp.Not):
        for side in ("this", "expression"):
            operand = node.args.get(side)
            if (
                isinstance(operand, exp.Literal)
                and not operand.is_string
                and operand.this in ("0", "1")
            ):
                node.set(side, exp.Boolean(this=operand.this == "1"))
    return node


def _round_as_sqlite(node):
    """PostgreSQL rounds to a number of places only numerics; SQLite's round gives a float."""
    if isinstance(node, exp.Round) and node.args.get("decimals") is not None:
        inner = exp.Cast(this=node.this, to=exp.DataType.build("DECIMAL"))
        rounded = exp.Round(this=inner, decimals=node.args["decimals"])
        return exp.Cast(this=rounded, to=exp.DataType.build("DOUBLE PRECISION"))
    return node


def _is_truth(node) -> bool:
    while isinstance(node, exp.Paren):
        node = node.this
    return isinstance(node, exp.Predicate | exp.Not | exp.And | exp.Or | exp.Boolean | exp.Exists)


def _truth_as_number(node):
    """SQLite adds comparisons as 0/1 ((a IS NOT NULL) + (b IS NOT NULL) = 1); PostgreSQL needs
    them cast to integers first."""
    if isinstance(node, exp.Sum | exp.Avg | exp.Max | exp.Min) and _is_truth(node.this):
        node.set("this", exp.Cast(this=node.this, to=exp.DataType.build("INT")))
    if isinstance(node, exp.Add | exp.Sub | exp.Mul):
        for side in ("this", "expression"):
            operand = node.args.get(side)
            if operand is not None and _is_truth(operand):
                node.set(side, exp.Cast(this=operand, to=exp.DataType.build("INT")))
    return node


def _ddl_types(node):
    """SQLite's INTEGER is 64-bit and REAL is double: say so, and make INTEGER PRIMARY KEY an
    identity column, as SQLite's rowid alias is."""
    if isinstance(node, exp.DataType) and not isinstance(node.parent, exp.Cast):
        if node.this in (exp.DataType.Type.INT, exp.DataType.Type.BIGINT):
            return exp.DataType.build("BIGINT")
        if node.this in (exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE):
            return exp.DataType.build("DOUBLE PRECISION")
    if isinstance(node, exp.ColumnDef):
        kind = node.args.get("kind")
        constraints = node.args.get("constraints") or []
        is_pk = any(
            isinstance(c.args.get("kind"), exp.PrimaryKeyColumnConstraint) for c in constraints
        )
        if (
            is_pk
            and kind is not None
            and kind.this in (exp.DataType.Type.INT, exp.DataType.Type.BIGINT)
        ):
            identity = exp.ColumnConstraint(
                kind=exp.GeneratedAsIdentityColumnConstraint(this=False)
            )
            node.set("constraints", [identity, *constraints])
    return node


@lru_cache(maxsize=16384)
def translate(sql: str) -> str:
    """The PostgreSQL form of one SQLite statement (placeholders ? and :name become %s and
    %(name)s). NotTranslatable when there is none."""
    text = sql.strip().rstrip(";")
    if re.match(r"(?i)^(PRAGMA|VACUUM|ANALYZE\s+\w|REINDEX)\b", text):
        raise NotTranslatable(text.split()[0])
    if re.search(r"(?i)\bWITHOUT\s+ROWID\b", text):
        text = re.sub(r"(?i)\)\s*WITHOUT\s+ROWID\s*$", ")", text)
    if _NATIVE.match(text):  # written for PostgreSQL by its owner (store.dialect)
        return text
    if _PASSTHROUGH.match(text) and not re.match(r"(?i)^BEGIN\s+IMMEDIATE", text):
        return re.sub(r"(?i)^BEGIN\s+(DEFERRED|EXCLUSIVE)\b", "BEGIN", text)
    ignore = _INSERT_OR_IGNORE.match(text)
    if ignore:
        text = "INSERT " + text[ignore.end() :]
    try:
        tree = sqlglot.parse_one(text, read="sqlite")
    except sqlglot.errors.ParseError as exc:
        raise NotTranslatable(f"{exc}: {text[:200]}") from None
    tree = tree.transform(_escape_percent).transform(_truth_as_number)
    tree = tree.transform(_plain_conflict_target).transform(_round_as_sqlite)
    tree = tree.transform(_index_order)
    tree = tree.transform(_qualified_upsert).transform(_truth_literals)
    if DDL.match(text):
        tree = tree.transform(_ddl_types)
    out = tree.sql(dialect="postgres")
    if ignore:
        out += " ON CONFLICT DO NOTHING"
    return out


def constraints(create_sql: str) -> dict[str, set[str]]:
    """The CHECK constraints (as SQLite text) and NOT NULL columns of a CREATE TABLE."""
    tree = sqlglot.parse_one(create_sql, read="sqlite")
    checks = {c.sql("sqlite") for c in tree.find_all(exp.CheckColumnConstraint)}
    not_null = {
        n.find_ancestor(exp.ColumnDef).name for n in tree.find_all(exp.NotNullColumnConstraint)
    }
    return {"checks": checks, "not_null": not_null}


def check_columns(check: str) -> set[str]:
    """The columns a CHECK (...) names."""
    condition = sqlglot.parse_one(f"SELECT 1 WHERE {check[len('CHECK ') :]}", read="sqlite")
    return {c.name for c in condition.find_all(exp.Column)}
