"""report.html in a real headless Chromium: loads offline, charts render, no errors.

Without Chromium (or playwright) the tests skip locally and fail under CI (CI set).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scripts.archive.folder import load_run
from scripts.render.html import render_html_compare, write_report
from tests.harness.conftest import loadlab, only_run, require
from tests.harness.runfactory import Spec, make_run

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("report")
    spec = Spec(clients={"sleep": ("httpx", "aiohttp")}, trials=2, seconds=15,
                warnings=lambda k: ["generator-hot"] if k[0] == "uvicorn" else [])
    a = load_run(make_run(root, "A", spec, seed=1))
    b = load_run(make_run(root, "B", Spec(clients=spec.clients, trials=2, seconds=15,
                                          shift=lambda k: 0.7 if k[2] == "async" else 1.0),
                          seed=2))
    compare = root / "compare.html"
    compare.write_text(render_html_compare(a, b))
    return [write_report(a), compare, _real_run(root / "results")]


def _real_run(results: Path) -> Path:
    """A real run's report.html, written by bench while the folder was still
    `.partial-<name>`: it must carry the name the folder is sealed under."""
    done = loadlab("bench", "--profile", "smoke", "--servers", "uvicorn",
                   "--scenarios", "hello,weather", "--flavors", "sync", "--users", "2",
                   "--duration", "1", "--warmup", "0.3", "--results", str(results),
                   "--label", "seen", "--quiet")
    assert done.code == 0, done.err
    return only_run(results) / "report.html"


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    # Without a browser the report is not checked: a skip locally, a failure under CI.
    require(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} not installed (apt-get install"
            " chromium); the HTML report was not checked in a browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright is not installed (pip install -e '.[test]');"
                " the HTML report was not checked in a browser")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def offline_page(browser, console: bool = False):  # type: ignore[no-untyped-def]
    """A page that may load files only (anything else is blocked and listed) and lists
    its script errors (and console errors, with `console`)."""
    page = browser.new_page()
    blocked: list[str] = []
    errors: list[str] = []

    def route(r) -> None:  # type: ignore[no-untyped-def]
        if r.request.url.startswith(("file:", "data:", "blob:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    if console:
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, blocked, errors


@pytest.mark.parametrize("index", [0, 1, 2], ids=["run-report", "compare-report", "real-run"])
def test_report_renders_offline(browser, pages: list[Path], index: int) -> None:  # type: ignore[no-untyped-def]
    page, blocked, errors = offline_page(browser, console=True)
    try:
        page.goto(pages[index].as_uri(), wait_until="load", timeout=60_000)
        page.wait_for_selector(".plot-container .main-svg", timeout=30_000)
        charts = page.locator(".plot-container").count()
        bars_or_lines = page.locator(".plot-container .trace").count()
        assert charts == page.locator("div.chart").count() and charts >= 4
        assert bars_or_lines > 0
        assert page.locator("table").count() >= 2
        assert "permutation test" in page.inner_text("body")
    finally:
        page.close()
    assert blocked == [], f"the report tried the network: {blocked}"
    assert errors == [], f"console errors: {errors}"


def test_a_real_runs_report_names_itself_and_plots_the_percentile_spectrum(
        browser, pages: list[Path]) -> None:  # type: ignore[no-untyped-def]
    report = pages[2]
    name = report.parent.name
    page = browser.new_page()
    try:
        page.goto(report.as_uri(), wait_until="load", timeout=60_000)
        page.wait_for_selector(".plot-container .main-svg", timeout=30_000)
        assert page.title() == f"loadlab {name}"
        body = page.inner_text("body")
        assert ".partial" not in body and ".partial" not in page.title()
        assert f"loadlab run {name}" in body
        # the stories in the literature's order: weather's charts before hello's
        titles = [t.text_content() for t in page.locator(".gtitle").all()]
        spectra = [t for t in titles if "latency by percentile" in t]
        assert [t.split(":")[0] for t in spectra] == ["weather", "hello"], titles
        # hello's hundreds of requests resolve the tail to 99 % and beyond (weather's
        # few dozen stop where their count does: a line is never drawn past its data)
        spectrum = page.locator(".plot-container").filter(
            has_text="hello: latency by percentile")
        ticks = [t.text_content() for t in spectrum.locator(".xtick text").all()]
        assert {"50%", "90%", "99%"} <= set(ticks), ticks
        assert spectrum.locator(".scatterlayer .trace").count() == 1  # hello/sync
    finally:
        page.close()


def test_a_cells_locust_report_renders_offline_from_the_shared_bundle(
        browser, pages: list[Path]) -> None:  # type: ignore[no-untyped-def]
    """Each cell's Locust page loads the run's one copy of its bundle (a classic
    deferred script from assets/): it must still draw Locust's report, offline."""
    run = pages[2].parent
    reports = sorted(run.glob("cells/*/*/locust_report.html"))
    assert len(reports) == 2 and len(list((run / "assets").glob("locust-report-*.js"))) == 1
    page, blocked, errors = offline_page(browser)
    try:
        for report in reports:
            assert "locust-report-" in report.read_text() and report.stat().st_size < 100_000
            page.goto(report.as_uri(), wait_until="load", timeout=60_000)
            page.wait_for_function("document.querySelector('#root').children.length > 0",
                                   timeout=30_000)
            body = page.inner_text("#root")
            assert "hello.py" in body or "weather.py" in body, body[:500]
    finally:
        page.close()
    assert errors == [], f"page errors: {errors}"
    assert blocked == [], f"the report tried the network: {blocked}"
