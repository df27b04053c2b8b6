"""The figures other systems read (the API's /figures): the dashboard's KPIs and its sector ×
category counts for a period, from the same summary tables and the same functions as the
dashboard, so the numbers are the dashboard's. A client limited to a department or a district
reads only that department's or district's figures, whatever filters it asks for."""

from __future__ import annotations

import math
from dataclasses import replace

from sqlite_utils import Database

from survey.access.actor import Actor
from survey.access.permissions import require
from survey.reports import chart_data, scorecard
from survey.reports.periods import Filters


def scoped(actor: Actor, filters: Filters) -> Filters:
    if actor.has_role("client") and actor.department_code:
        return replace(filters, departments=(actor.department_code,))
    if actor.has_role("client") and actor.district_code:
        return replace(filters, areas=(actor.district_code,))
    return filters


def _number(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def figures(db: Database, actor: Actor, filters: Filters) -> dict:
    require(actor, "dashboard.read")
    filters = scoped(actor, filters)
    kpis = [
        {
            "key": k.key,
            "label": k.label,
            "value": _number(k.value),
            "previous": _number(k.previous),
            "kind": k.kind,
        }
        for k in scorecard.kpis(db, actor, filters)
    ]
    frame = chart_data.sector_category(db, actor, filters)
    cells = [
        {"sector_code": s, "category_code": c, "problems": int(n)}
        for s, c, n in zip(frame["sector"], frame["category"], frame["n"], strict=True)
    ]
    return {"start": filters.start, "end": filters.end, "kpis": kpis, "sector_category": cells}
