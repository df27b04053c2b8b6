"""schemathesis against our own OpenAPI document: property-based requests to every operation,
with a token of every scope, with a read-only token, and with none. No 5xx, every response as the
document says (status, content type, schema), and no write without its scope."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from api.app import app
from survey import db as store
from survey.access import clients
from survey.access.permissions import SCOPES
from tests.helpers import actor_for

schema = schemathesis.openapi.from_asgi("/openapi.json", app)
# Our own rules refuse some requests the document allows (an unknown category code, a company
# code with a wrong check character): those answer 422 by design, so "schema-valid data must be
# accepted" is not a check we can pass; every other check stays on.
EXCLUDED = [checks.positive_data_acceptance]
FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


CURRENT = {"token": ""}  # the token the running test holds


@schema.auth(refresh_interval=None)
class Bearer:
    """Tells schemathesis how requests are authenticated (so that it also tries without)."""

    def get(self, case, context):
        return CURRENT["token"]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def token(demo_db, scopes, name: str) -> None:
    with store.opened(demo_db) as db:
        found = store.scalar(db, "SELECT id FROM api_clients WHERE name = ?", (name,))
        if found:  # one client per test function (hypothesis calls it many times)
            new = clients.rotate(db, actor_for(db, "admin"), found)
        else:
            _, new = clients.create_client(
                db, actor_for(db, "admin"), name=name, scopes=scopes, per_minute=6000
            )
    CURRENT["token"] = new


@pytest.mark.slow
@schema.parametrize()
@FUZZ
def test_every_operation_with_every_scope(case, demo_db):
    case.call_and_validate(
        headers=token(demo_db, list(SCOPES), "全部权限"), excluded_checks=EXCLUDED
    )


@pytest.mark.slow
@schema.parametrize()
@FUZZ
def test_a_read_only_token_writes_nothing(case, demo_db):
    with store.opened(demo_db) as db:
        before = store.scalar(db, "SELECT count(*) FROM problems")
    token(demo_db, ["problems.read"], "只读")
    response = case.call_and_validate(excluded_checks=EXCLUDED)
    if case.method.upper() == "POST":
        assert 400 <= response.status_code < 500  # refused, whatever else is wrong with it
    with store.opened(demo_db) as db:
        assert store.scalar(db, "SELECT count(*) FROM problems") == before


@pytest.mark.slow
@schema.parametrize()
@FUZZ
def test_no_token_no_answer(case, demo_db):
    CURRENT["token"] = "zhy_not-a-token"
    response = case.call()
    assert 400 <= response.status_code < 500, response.text  # never an answer, never a crash
    assert response.headers["content-type"][0].startswith("application/problem+json")
