"""Open every page of the built book in headless Chromium, offline, and fail on anything a reader would see broken.

Checks per page: every altair chart container (``div.mirage-vega``) holds a rendered SVG or canvas; no JavaScript
error (uncaught exception or console error); no request leaves the machine (the site must work offline); every
image loaded; every internal link points at an existing file and, where it names one, an existing anchor.
A full-page screenshot of each page is saved (default ``_build/screenshots/``) so a person can look.

Usage: python scripts/check_site.py _build/html [--screenshots DIR] [--only SUBSTRING]
Needs Debian's ``chromium`` (``apt-get install chromium``); Playwright drives it, no browser download.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from playwright.sync_api import Browser, Page, sync_playwright

CHART_SELECTOR = "div.mirage-vega"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SKIP_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static", "_panels_static"}


@dataclass
class PageReport:
    path: str
    charts: int = 0
    problems: list[str] = field(default_factory=list)


def find_browser() -> str:
    """Path of a system Chromium, or exit with the command that installs it."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("check_site: no Chromium found. Install Debian's package: apt-get install -y chromium")


def pages_in(build: Path, only: str | None) -> list[Path]:
    pages = [
        p for p in sorted(build.rglob("*.html"))
        if not SKIP_DIRS.intersection(p.relative_to(build).parts) and (only is None or only in str(p))
    ]
    if not pages:
        sys.exit(f"check_site: no HTML pages under {build} (run `make book` first)")
    return pages


def check_links(page: Page, build: Path) -> list[str]:
    """Internal links must name an existing file inside the build, and an existing id when they have a fragment."""
    problems = []
    build = build.resolve()
    html_path = Path(unquote(urlparse(page.url).path)).resolve()  # after redirects (index.html -> intro)
    hrefs: list[str] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    ids_cache: dict[Path, set[str]] = {}
    for href in sorted(set(hrefs)):
        parsed = urlparse(href)
        if parsed.scheme or href.startswith("//"):
            continue  # external (http, https, mailto): checked only where a network exists
        target = (html_path.parent / unquote(parsed.path)).resolve() if parsed.path else html_path
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            problems.append(f"broken link {href!r}: {target} does not exist")
            continue
        if build not in target.parents:
            problems.append(f"link {href!r} leaves the built site")
            continue
        if parsed.fragment and target.suffix == ".html":
            if target not in ids_cache:
                text = target.read_text(encoding="utf-8", errors="replace")
                ids_cache[target] = set(_ids(text))
            if unquote(parsed.fragment) not in ids_cache[target]:
                problems.append(f"broken anchor {href!r}: no id {parsed.fragment!r} in {target.name}")
    return problems


def _ids(html: str) -> list[str]:
    import re

    return re.findall(r'\sid="([^"]+)"', html)


def check_page(browser: Browser, html_path: Path, build: Path, shots: Path) -> PageReport:
    report = PageReport(path=str(html_path.relative_to(build)))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    external: list[str] = []

    def block_external(route):  # the site must work with no network at all
        external.append(route.request.url)
        route.abort()

    context.route("http://**/*", block_external)
    context.route("https://**/*", block_external)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.goto(html_path.resolve().as_uri(), wait_until="load")

    report.charts = page.locator(CHART_SELECTOR).count()
    if report.charts:
        try:
            page.wait_for_function(
                "sel => [...document.querySelectorAll(sel)].every(d => d.querySelector('svg, canvas'))",
                arg=CHART_SELECTOR,
                timeout=20_000,
            )
        except Exception:  # noqa: BLE001 - a timeout is reported as a problem below
            pass
        blank = page.eval_on_selector_all(
            CHART_SELECTOR, "els => els.filter(d => !d.querySelector('svg, canvas')).map(d => d.id)"
        )
        report.problems += [f"chart {cid} did not render (no svg/canvas)" for cid in blank]
    page.wait_for_timeout(300)  # let MathJax and late console messages settle

    broken_images = page.eval_on_selector_all(
        "img", "els => els.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'))"
    )
    report.problems += [f"image did not load: {src}" for src in broken_images]
    report.problems += [f"network request attempted offline: {url}" for url in sorted(set(external))]
    report.problems += [e for e in errors if "net::ERR_FAILED" not in e]  # blocked requests are listed above
    report.problems += check_links(page, build)

    shot = shots / (report.path.replace("/", "__").removesuffix(".html") + ".png")
    page.screenshot(path=str(shot), full_page=True)
    context.close()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path, help="built HTML folder, e.g. _build/html")
    parser.add_argument("--screenshots", type=Path, default=None, help="where to save PNGs (default: _build/screenshots)")
    parser.add_argument("--only", default=None, help="check only pages whose path contains this text")
    args = parser.parse_args(argv)

    build: Path = args.build
    shots: Path = args.screenshots or build.parent / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    pages = pages_in(build, args.only)

    reports = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_browser(), headless=True, args=CHROMIUM_ARGS)
        for html_path in pages:
            reports.append(check_page(browser, html_path, build, shots))
        browser.close()

    failed = [r for r in reports if r.problems]
    for r in reports:
        status = "FAIL" if r.problems else "ok"
        print(f"{status:4}  {r.path}  ({r.charts} chart{'s' if r.charts != 1 else ''})")
        for problem in r.problems:
            print(f"        - {problem}")
    total_charts = sum(r.charts for r in reports)
    print(f"{len(reports)} pages, {total_charts} charts rendered check, {len(failed)} pages with problems; "
          f"screenshots in {shots}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
