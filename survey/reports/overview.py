"""Everything the dashboard page draws, gathered in one call."""

from __future__ import annotations

from datetime import date

from sqlite_utils import Database

from survey.access.actor import Actor
from survey.reports.chart_data import (
    DEFAULT_MIN_VOLUME,
    league,
    monthly,
    reply_days,
    sector_category,
    top_categories,
)
from survey.reports.periods import Filters
from survey.reports.problem_list import problem_list
from survey.reports.scorecard import kpis
from survey.reports.visit_coverage import coverage


def dashboard_data(
    db: Database,
    actor: Actor,
    view: Filters,
    per_chart=None,
    *,
    min_volume: int = DEFAULT_MIN_VOLUME,
    today: date | None = None,
) -> dict:
    """Everything the dashboard page draws. `per_chart(name)` gives the filters of one chart (the view
    narrowed by the other charts' clicks); by default every chart shows the view."""
    chart = per_chart or (lambda name: view)
    cells = sector_category(db, actor, chart("cell"))
    # The top categories read the same sector x category sums: once, unless a click narrowed one.
    same = chart("topcat") == chart("cell")
    return {
        "kpis": kpis(db, actor, view, today=today),
        "cells": cells,
        "top": top_categories(cells if same else sector_category(db, actor, chart("topcat"))),
        "months": monthly(db, actor, chart("month")),
        "days": reply_days(db, actor, chart("replysector")),
        "departments": league(db, actor, chart("dept"), min_volume=min_volume, today=today),
        "cover_sector": coverage(db, actor, chart("coversector"), "sector"),
        "cover_department": coverage(db, actor, chart("coverdept"), "department"),
        "problems": problem_list(db, actor, view, limit=200),
    }
