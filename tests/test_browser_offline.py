"""Every page loads from our own server alone (issue 26, item 14): on a government intranet a
request to an outside host (a font CDN for an icon, usage statistics) fails or hangs. Each role
opens the pages no role before it opened (so every page of every role's navigation is opened once),
and a record's detail views, while the browser aborts every request to a host other than loopback
before it leaves the machine and counts it. What a page asks for does not depend on the store, so
this runs once, on SQLite. Every Material icon the
code names is drawn from the font Streamlit bundles.

On each page it opens, axe-core (the npm package's axe.min.js, 4.12, MPL-2.0, as bundled by the
PyPI package axe-playwright-python) checks the page: no serious or critical violation, and heading
levels in order (axe's heading-order, itself "moderate"), every target at least 24x24 px (its
target-size, off by default), for every role (issue 28, items 2 and 3)."""

from __future__ import annotations

import importlib.util
import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import streamlit

from survey import db as store
from survey.companyview import links as company_links
from tests.browser import chromium, demo_server, sign_in, wait_idle
from tests.helpers import ROOT, actor_for
from ui import navigation

AXE_SCRIPT = (
    Path(importlib.util.find_spec("axe_playwright_python").origin).parent / "axe.min.js"
).read_text("utf-8")
# What fails: a serious or critical violation, or a heading level skipped.
AXE_RUN = """async () => {
  // target-size (WCAG 2.2's 24x24 px, serious) is off in axe by default: on here
  const results = await axe.run(document, {
    resultTypes: ['violations'], rules: {'target-size': {enabled: true}}});
  return results.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical' || v.id === 'heading-order')
    .flatMap(v => v.nodes.map(n => [v.id, v.impact, n.target.join(' ')]));
}"""

ROLES = ("supervisor", "officer", "handler", "monitor", "lead", "admin")  # admin last: the rest
LOOPBACK_WS = re.compile(r"^wss?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?/")


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: resolving it would already be a request to the outside
        return False


def addresses_for(db) -> dict[str, list[str]]:
    """Each role's pages (as its navigation lists them) that no role before it in ROLES lists, and
    the detail views of a visit, a problem, a company and a published case (as the officer, the
    handler, the officer and the supervisor, who may open them)."""
    officer = actor_for(db, "officer")
    handler = actor_for(db, "handler")
    visit = store.scalar(db, "SELECT min(id) FROM visits WHERE officer_id = ?", (officer.id,))
    problem = store.scalar(
        db,
        "SELECT min(id) FROM problems WHERE lead_department_code = ?",
        (handler.department_code,),
    )
    company = store.scalar(
        db,
        "SELECT min(id) FROM companies WHERE department_code = ?",
        (officer.department_code,),
    )
    case = store.scalar(db, "SELECT min(id) FROM cases WHERE status = 'published'")
    details = {
        "officer": [f"/visits?id={visit}", f"/company?id={company}"],
        "handler": [f"/problems?id={problem}"],
        "supervisor": [f"/cases?id={case}"],
    }
    seen: set[str] = set()
    addresses = {}
    for role in ROLES:
        pages = [f"/{spec.url_path}" for spec in navigation.pages_for(actor_for(db, role))]
        addresses[role] = [a for a in pages if a not in seen] + details.get(role, [])
        seen |= set(pages)
    return addresses


@pytest.fixture(scope="module")
def served(template_db, tmp_path_factory):
    """The demo served, with each role's addresses."""
    with demo_server(template_db, tmp_path_factory.mktemp("offline")) as (url, path):
        with store.opened(path) as db:
            addresses = addresses_for(db)
            # A company's own view (企业端), opened from a link as the company would.
            company = store.scalar(db, "SELECT company_id FROM problems WHERE source = 'visit'")
            token = company_links.issue_qr(db, actor_for(db, "supervisor"), company)
            addresses["company"] = [f"/company-view?t={token}"]
        yield url, addresses


@pytest.fixture(scope="module")
def browser(served):
    with chromium() as b:
        yield b


def test_every_page_of_every_role_is_opened(demo_db):
    # a private copy, never the template itself: on PostgreSQL a connection left to the template
    # (the pool keeps it) makes every later copy of it fail
    with store.opened(demo_db) as db:
        addresses = addresses_for(db)
        every = {
            f"/{spec.url_path}" for r in ROLES for spec in navigation.pages_for(actor_for(db, r))
        }
    opened = [a for role in ROLES for a in addresses[role]]
    assert len(opened) == len(set(opened))  # each once
    assert every <= set(opened) and len(every) > 20


@pytest.mark.browser
@pytest.mark.store_independent
@pytest.mark.parametrize("role", (*ROLES, "company"))
def test_every_page_loads_from_our_own_server_alone(served, browser, role):
    url, addresses = served
    outside: list[tuple[str, str]] = []  # (the page, the URL it asked for)
    violations: list[tuple[str, ...]] = []  # (the page, the role, axe's rule, impact, the element)
    where = {"page": "/"}

    def refuse(route):
        if is_loopback(route.request.url):
            route.continue_()
        else:  # aborted here: nothing is sent, not even a name lookup
            outside.append((where["page"], route.request.url))
            route.abort("blockedbyclient")

    def refuse_socket(ws):
        outside.append((where["page"], ws.url))
        ws.close()

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        context.route("**/*", refuse)
        context.route_web_socket(lambda u: not LOOPBACK_WS.match(u), refuse_socket)
        page = context.new_page()
        if role != "company":  # a company has no account: its link is its address
            sign_in(page, url, role)
        for address in addresses[role]:
            where["page"] = address
            page.goto(url + address)
            wait_idle(page)
            page.wait_for_timeout(300)  # icons and images asked for after the last run
            page.evaluate(AXE_SCRIPT)
            violations += [(address, role, *hit) for hit in page.evaluate(AXE_RUN)]
    finally:
        context.close()
    assert outside == [], "\n".join(" ".join(hit) for hit in outside)
    assert violations == [], "\n".join(" ".join(hit) for hit in violations)


def test_every_material_icon_is_in_the_bundled_font():
    """An icon name missing from Streamlit's bundled Material Symbols font shows as its name (the
    font's ligature is the icon): each name is laid out as one glyph, one em wide."""
    from PIL import ImageFont, features

    if not features.check("raqm"):
        pytest.skip("Pillow without raqm cannot lay out the font's ligatures")
    media = Path(streamlit.__file__).parent / "static" / "static" / "media"
    (font_file,) = media.glob("MaterialSymbols-Rounded*.woff2")
    font = ImageFont.truetype(str(font_file), 100, layout_engine=ImageFont.Layout.RAQM)
    sources = [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]
    names = {
        n for path in sources for n in re.findall(r":material/(\w+):", path.read_text("utf-8"))
    }
    assert len(names) > 30 and font.getlength("nosuchicon") > 100
    assert sorted(n for n in names if font.getlength(n) != 100) == []
