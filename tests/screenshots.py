"""Screenshots of every page for each demo role at tablet and laptop sizes, to look at.

    .venv/bin/python -m tests.screenshots OUTDIR
    .venv/bin/python -m tests.screenshots --navigation data/screenshots

Seeds a fresh demo database in a temporary folder, starts the app and saves OUTDIR/<user>-<page>-<size>.png.
With --navigation: the README's three pictures of the grouped navigation (nav-*.png), the menu
opened where it is folded away (a tablet or a phone).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import seeds
from survey import db as store
from survey.access import auth
from tests.browser import chromium, sign_in, streamlit_server, wait_idle
from ui.navigation import pages_for

SIZES = {"768x1024": (768, 1024), "1366x768": (1366, 768)}
USERS = ("admin", "supervisor", "officer", "handler", "monitor")
# (file, user, width, height) of the README's navigation pictures
NAVIGATION = (
    ("nav-supervisor-1366x768.png", "supervisor", 1366, 768),
    ("nav-officer-768x1024.png", "officer", 768, 1024),
    ("nav-phone-390x844.png", "supervisor", 390, 844),
)


def navigation(out_dir: Path, url: str, browser) -> None:
    for name, user, w, h in NAVIGATION:
        page = browser.new_page(viewport={"width": w, "height": h})
        sign_in(page, url, user)
        if w <= 768:  # the sidebar is folded behind 菜单
            page.locator("[data-testid=stExpandSidebarButton]").click()
            page.wait_for_timeout(700)  # it slides in
        page.screenshot(path=str(out_dir / name))
        print(out_dir / name)
        page.close()


def main(out: str, only_navigation: bool = False) -> int:
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "demo.db"
        seeds.generate(db_path)
        with store.opened(db_path) as db:
            actors = {
                u: auth.load_actor(
                    db, store.scalar(db, "SELECT id FROM users WHERE username=?", (u,))
                )
                for u in USERS
            }
        with streamlit_server(db_path) as url, chromium() as browser:
            if only_navigation:
                navigation(out_dir, url, browser)
                return 0
            for size, (w, h) in SIZES.items():
                for user in USERS:
                    page = browser.new_page(viewport={"width": w, "height": h})
                    sign_in(page, url, user)
                    for i, spec in enumerate(pages_for(actors[user])):
                        # the first page is the default one, served at "/"; the sign-in cookie keeps us in
                        page.goto(f"{url}/{spec.url_path if i else ''}")
                        wait_idle(page)
                        page.wait_for_timeout(700)  # data grids paint on a canvas after the run
                        target = out_dir / f"{user}-{spec.url_path}-{size}.png"
                        page.screenshot(path=str(target), full_page=True)
                        print(target)
                    page.close()
    return 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--navigation"]
    sys.exit(main(args[0] if args else "screenshots", "--navigation" in sys.argv))
