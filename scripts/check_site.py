"""Open every page of the built book in headless Chromium, offline, and fail on anything a reader would see broken.

Checks per page: every altair chart container (``div.mirage-vega``) holds a rendered SVG or canvas; no JavaScript
error (uncaught exception or console error); no request leaves the machine (the site must work offline); every
image loaded; every internal link points at an existing file and, where it names one, an existing anchor; the Vega
bundle is loaded at most once. Page budget (``--budget``, 3 MB), on two measures: the page's *own* bytes (its HTML,
its images, and the page-specific Vega bundle; theme files under ``_static`` are shared and cached across pages),
and everything the browser fetches for it, gzip-compressed as a static host serves it. The uncompressed total is
printed too.
Layout, at a desktop (1280 px) and a phone (390 px) width: the page never scrolls sideways; no chart is drawn wider
than its column; at 1280 px no code cell,
printed output or table needs a horizontal scrollbar (chapter code is formatted to 88 columns); at 390 px code and
printed output wrap, and a table wider than the phone keeps its own horizontal scroll inside the text column (counted
in the report, not a failure: ten numeric columns cannot fit 390 px at a readable size).
A full-page screenshot of each page is saved at both widths (default ``_build/screenshots/``) so a person can look.

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
WIDTHS = (1280, 390)
# Elements that scroll sideways (scrollWidth > clientWidth), by kind; each element counted once.
OVERFLOW_JS = r"""
() => {
  const found = [];
  const doc = document.scrollingElement;
  if (doc.scrollWidth > window.innerWidth + 1) found.push(['page', `${doc.scrollWidth} px wide`]);
  const kinds = [['div.cell_input pre', 'code'], ['div.cell_output pre', 'output'], ['table', 'table']];
  const seen = new Set();
  for (const [selector, kind] of kinds) {
    for (const el of document.querySelectorAll(selector)) {
      if (seen.has(el) || !el.closest('article, main')) continue;
      seen.add(el);
      if (el.scrollWidth > el.clientWidth + 1) {
        const text = el.textContent.trim().replace(/\s+/g, ' ').slice(0, 50);
        found.push([kind, `${el.scrollWidth} px in ${el.clientWidth} px: "${text}"`]);
      }
    }
  }
  return found;
}
"""
# Charts wider than their column (plotting.offline_html redraws a chart narrower until it fits and then marks its
# container with data-fitted, the drawn width in px).
CHART_FIT_JS = r"""
sel => [...document.querySelectorAll(sel)].filter(d => d.closest('article, main')).map(d => {
  const svg = d.querySelector('svg');
  const drawn = svg ? svg.getBoundingClientRect().width : 0;
  return [d.id, Math.round(drawn), d.clientWidth];
}).filter(([id, drawn, room]) => drawn > room + 1).map(([id, drawn, room]) => `${id}: ${drawn} px in ${room} px`)
"""
SKIP_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static", "_panels_static"}


@dataclass
class PageReport:
    path: str
    charts: int = 0
    scrolling_tables: int = 0  # tables with their own horizontal scroll at the phone width (allowed)
    weight: Weight = None  # type: ignore[assignment]
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
        p
        for p in sorted(build.rglob("*.html"))
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


@dataclass
class Weight:
    own: int = 0  # HTML + images + page-specific scripts, uncompressed
    total: int = 0  # every file the browser fetched, uncompressed
    total_gzip: int = 0  # the same, gzip-compressed (what a static host with compression sends)


_GZIP_CACHE: dict[Path, int] = {}


def _gzip_size(path: Path) -> int:
    import gzip

    if path not in _GZIP_CACHE:
        _GZIP_CACHE[path] = len(gzip.compress(path.read_bytes(), compresslevel=6))
    return _GZIP_CACHE[path]


def page_weight(urls: list[str], html_path: Path, build: Path) -> Weight:
    """Bytes of the page and of every local file the browser requested for it (see the module docstring)."""
    files = {html_path.resolve()} | {Path(unquote(urlparse(u).path)).resolve() for u in urls if u.startswith("file:")}
    files = {f for f in files if f.is_file()}
    static = (build / "_static").resolve()
    own = [f for f in files if static not in f.parents or "vega-bundle" in f.name]
    return Weight(
        sum(f.stat().st_size for f in own), sum(f.stat().st_size for f in files), sum(_gzip_size(f) for f in files)
    )


def chart_fit_problems(page: Page, width: int) -> list[str]:
    """Charts wider than their column at this viewport width, once every chart has finished fitting itself."""
    if not page.locator(CHART_SELECTOR).count():
        return []
    try:
        page.wait_for_function(
            "sel => [...document.querySelectorAll(sel)].every(d => d.hasAttribute('data-fitted'))",
            arg=CHART_SELECTOR,
            timeout=20_000,
        )
    except Exception:
        return [f"at {width} px, a chart never finished drawing"]
    return [f"at {width} px, chart wider than its column: {w}" for w in page.evaluate(CHART_FIT_JS, CHART_SELECTOR)]


def check_layout(browser: Browser, html_path: Path, report: PageReport, shots: Path) -> None:
    """The layout rules of the module docstring at the phone width (the desktop width is checked in check_page);
    saves the phone screenshot."""
    context = browser.new_context(viewport={"width": WIDTHS[1], "height": 844})
    context.route("http://**/*", lambda route: route.abort())
    context.route("https://**/*", lambda route: route.abort())
    page = context.new_page()
    page.goto(html_path.resolve().as_uri(), wait_until="load")
    page.wait_for_timeout(300)
    report.problems += chart_fit_problems(page, WIDTHS[1])
    for kind, what in page.evaluate(OVERFLOW_JS):
        if kind == "table":
            report.scrolling_tables += 1
        else:
            report.problems.append(f"at {WIDTHS[1]} px, {kind} overflows: {what}")
    page.screenshot(path=str(shots / (_shot_name(report.path) + f"@{WIDTHS[1]}.png")), full_page=True)
    context.close()


def _shot_name(path: str) -> str:
    return path.replace("/", "__").removesuffix(".html")


def check_page(browser: Browser, html_path: Path, build: Path, shots: Path, budget: int = 3_000_000) -> PageReport:
    report = PageReport(path=str(html_path.relative_to(build)))
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
    external: list[str] = []

    def block_external(route):  # the site must work with no network at all
        external.append(route.request.url)
        route.abort()

    context.route("http://**/*", block_external)
    context.route("https://**/*", block_external)
    page = context.new_page()
    errors: list[str] = []
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
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
        except Exception:
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
    report.weight = w = page_weight(requested, html_path, build)
    if w.own > budget or w.total_gzip > budget:
        report.problems.append(
            f"over the {budget / 1e6:.1f} MB budget: own {w.own / 1e6:.2f} MB, "
            f"all assets {w.total_gzip / 1e6:.2f} MB gzipped"
        )
    report.problems += chart_fit_problems(page, WIDTHS[0])
    report.problems += [f"at {WIDTHS[0]} px, {kind} overflows: {what}" for kind, what in page.evaluate(OVERFLOW_JS)]
    vega_loads = sum("vega-bundle" in u for u in requested)
    if vega_loads > 1:
        report.problems.append(f"the Vega bundle is loaded {vega_loads} times")

    shot = shots / (_shot_name(report.path) + ".png")
    page.screenshot(path=str(shot), full_page=True)
    context.close()
    check_layout(browser, html_path, report, shots)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path, help="built HTML folder, e.g. _build/html")
    parser.add_argument(
        "--screenshots", type=Path, default=None, help="where to save PNGs (default: _build/screenshots)"
    )
    parser.add_argument("--only", default=None, help="check only pages whose path contains this text")
    parser.add_argument("--budget", type=int, default=3_000_000, help="max bytes per page with its assets")
    args = parser.parse_args(argv)

    build: Path = args.build
    shots: Path = args.screenshots or build.parent / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    pages = pages_in(build, args.only)

    reports = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_browser(), headless=True, args=CHROMIUM_ARGS)
        for html_path in pages:
            reports.append(check_page(browser, html_path, build, shots, args.budget))
        browser.close()

    failed = [r for r in reports if r.problems]
    for r in reports:
        status = "FAIL" if r.problems else "ok"
        w = r.weight
        print(
            f"{status:4}  {r.path}  ({r.charts} chart{'s' if r.charts != 1 else ''}; "
            f"{r.scrolling_tables} table(s) scroll at {WIDTHS[1]} px; own {w.own / 1e6:.2f} MB, "
            f"all assets {w.total_gzip / 1e6:.2f} MB gzipped / {w.total / 1e6:.2f} MB raw)"
        )
        for problem in r.problems:
            print(f"        - {problem}")
    total_charts = sum(r.charts for r in reports)
    heaviest = max(reports, key=lambda r: r.weight.total_gzip)
    print(
        f"heaviest page: {heaviest.path}: own {heaviest.weight.own / 1e6:.2f} MB, all assets "
        f"{heaviest.weight.total_gzip / 1e6:.2f} MB gzipped ({heaviest.weight.total / 1e6:.2f} MB raw)"
    )
    print(
        f"{len(reports)} pages, {total_charts} charts rendered check, {len(failed)} pages with problems; "
        f"screenshots in {shots}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
