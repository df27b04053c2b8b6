"""The company profile (企业档案): everything about one company the actor may see, gathered from
the registry, the visits, the problems and the callbacks."""

from __future__ import annotations

from sqlite_utils import Database

from survey import db as store
from survey import reference
from survey.access.actor import Actor
from survey.access.permissions import can, problem_scope, visit_scope
from survey.companies.registry import get_company
from survey.problems.listing import list_problems


def company_profile(db: Database, actor: Actor, company_id: int) -> dict:
    """Everything about one company the actor may see: details, visits, problems, satisfaction."""
    company = get_company(db, actor, company_id)
    names = {key: reference.names(db, key) for key in ("districts", "sectors", "departments")}
    company["district"] = names["districts"].get(company["district_code"], "")
    company["park"] = (
        names["districts"].get(company["park_code"], "") if company["park_code"] else ""
    )
    company["sector"] = names["sectors"].get(company["sector_code"], "")
    company["department"] = (
        names["departments"].get(company["department_code"], "")
        if company["department_code"]
        else ""
    )
    seen_visits: list[dict] = []
    if can(actor, "visits.read"):
        where, params = visit_scope(actor)
        seen_visits = store.query(
            db,
            "SELECT v.id, v.visit_date, v.mode, u.display_name AS officer,"
            " (SELECT count(*) FROM problems p WHERE p.visit_id = v.id) AS problems"
            f" FROM visits v JOIN users u ON u.id = v.officer_id WHERE v.company_id = ? AND {where}"
            " ORDER BY v.visit_date DESC",
            [company_id, *params],
        )
    problems = list_problems(db, actor, company_id=company_id, limit=1000)
    where, params = problem_scope(actor)  # the same problems as the list above
    satisfaction = store.query(
        db,
        "SELECT substr(p.called_back_at, 1, 7) AS month, avg(p.satisfaction_level) AS average,"
        " count(*) AS callbacks FROM problems p WHERE p.company_id = ?"
        f" AND p.satisfaction_level IS NOT NULL AND {where} GROUP BY 1 ORDER BY 1",
        [company_id, *params],
    )
    return {
        "company": company,
        "visits": seen_visits,
        "problems": problems,
        "satisfaction": satisfaction,
    }
