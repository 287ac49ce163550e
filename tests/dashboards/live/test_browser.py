"""A person's view of the dashboards, through Debian's headless Chromium.

It logs in, opens every dashboard, waits for every chart, fails on any chart error, empty chart
or failed query, saves a screenshot of each, and checks that the total spend on the invoices
dashboard is the total in gold.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1440, "height": 900}  # a laptop screen
CHART_TIMEOUT_S = 90


def _charts(dashboard: dict) -> int:
    return sum(
        1
        for n in dashboard["position"].values()
        if isinstance(n, dict) and n.get("type") == "CHART"
    )


@pytest.fixture(scope="module")
def page(superset, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium (make chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with playwright.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS, viewport=VIEWPORT
        )
        pg = ctx.new_page()
        pg.inflight = set()
        pg.failures = []

        def started(req):
            if "/api/v1/chart/data" in req.url:
                pg.inflight.add(req)

        def finished(req):
            pg.inflight.discard(req)

        def failed(req):
            if req in pg.inflight:
                pg.failures.append(f"failed {req.url}")
            finished(req)

        def responded(resp):
            if "/api/v1/chart/data" in resp.url and resp.status >= 400:
                pg.failures.append(f"{resp.status} {resp.url}")

        pg.on("request", started)
        pg.on("requestfinished", finished)
        pg.on("requestfailed", failed)
        pg.on("response", responded)
        pg.goto(f"{superset['url']}/login/")
        pg.fill("input#username", superset["user"])
        pg.fill("input#password", superset["password"])
        pg.keyboard.press("Enter")
        pg.wait_for_url("**/superset/welcome/**", timeout=30_000)
        yield pg
        ctx.close()


def _open(page, superset, dashboard: dict) -> None:
    """Open a dashboard and wait until every chart has rendered or failed, with no query left."""
    page.failures.clear()
    page.goto(f"{superset['url']}/superset/dashboard/{dashboard['slug']}/")
    expected = _charts(dashboard)
    holders = page.locator("[data-test-chart-id]").filter(visible=True)
    rendered = holders.locator("[data-test='chart-container']").filter(visible=True)
    failed = holders.filter(has=page.locator(".ant-alert-error"))
    deadline = time.monotonic() + CHART_TIMEOUT_S
    quiet_since = None
    while time.monotonic() < deadline:
        loading = holders.locator("[data-test='loading-indicator']").count()
        settled = rendered.count() + failed.count()
        if holders.count() == expected and settled >= expected and not loading:
            if not page.inflight:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 1.5:  # charts animate in; filters re-query
                    return
        else:
            quiet_since = None
        page.wait_for_timeout(250)
    raise AssertionError(
        f"{dashboard['slug']}: {holders.count()}/{expected} charts, {rendered.count()} rendered, "
        f"{failed.count()} failed, {page.locator('[data-test=loading-indicator]').count()} loading"
    )


@pytest.mark.parametrize(
    "slug",
    [
        "pantrypulse-invoices",
        "pantrypulse-invoice-detail",
        "pantrypulse-product-detail",
        "pantrypulse-spend",
    ],
)
def test_dashboard_renders_every_chart(page, superset, assets, slug, tmp_path_factory):
    dashboard = next(d for d in assets["dashboards"].values() if d["slug"] == slug)
    _open(page, superset, dashboard)
    assert page.failures == []
    errors = page.locator("[data-test-chart-id] .ant-alert-error").all_inner_texts()
    errors = [" ".join(e.split()) for e in errors]
    assert errors == [], f"chart errors on {slug}: {errors}"
    empty = page.get_by_text("No results were returned for this query").count()
    assert empty == 0, f"{empty} empty chart(s) on {slug}"
    out = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / f"{slug}.png"), full_page=True)


def test_total_spend_on_screen_matches_gold(page, superset, assets, gold):
    dashboard = next(
        d for d in assets["dashboards"].values() if d["slug"] == "pantrypulse-invoices"
    )
    _open(page, superset, dashboard)
    (spend,) = gold.sql("select sum(lines_total) from gold.fct_invoices").fetchone()
    card = page.locator("[data-test-chart-name='Spend in selection (EUR)']")
    assert card.count() == 1
    assert card.locator(".header-line").inner_text().strip() == f"{spend:,.2f}"
