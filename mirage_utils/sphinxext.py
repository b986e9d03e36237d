"""Sphinx extension for the book: serve the Vega libraries once from ``_static`` and mark the build for notebooks.

Jupyter Book loads it through ``sphinx.extra_extensions`` in ``_config.yml``. Notebooks executed during the build
inherit ``MIRAGE_BOOK_BUILD=1`` and then emit charts that call the page-wide ``vegaEmbed`` (see ``plotting``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

from .plotting import BOOK_BUILD_ENV, CHART_CLASS

VEGA_BUNDLE = "vega-bundle.js"
LAYOUT_CSS = "mirage-layout.css"
# Pages that fit at 1280 px and at 390 px (scripts/check_site.py measures both). Chapter code is formatted to 88
# columns (scripts/lint_chapters.py); at 12 px a monospace column is ~7.2 px, so 88 fit the ~684 px text column
# (collapsed cells sit in a toggle 18 px narrower, so their code is set a little smaller).
# Printed output wraps instead of running off the page; tables keep their own horizontal scroll so that a wide
# one never widens the page, and on a phone code wraps too.
LAYOUT_RULES = """
div.cell div.highlight pre, div.cell_output pre { font-size: 0.75rem; line-height: 1.45; }
div.cell details div.highlight pre { font-size: 0.73rem; }
div.solution div.cell div.highlight pre, div.admonition div.cell div.highlight pre { font-size: 0.72rem; }
div.cell_output pre { white-space: pre-wrap; overflow-wrap: anywhere; }
div.cell_output table, article table.table { display: block; max-width: 100%; overflow-x: auto; }
div.cell_output table, article table.table { font-size: 0.68rem; }
table.indextable { display: block; max-width: 100%; overflow-x: auto; }
div.cell_output table td, div.cell_output table th { padding: 0.2em 0.4em; }
article table.table td, article table.table th { overflow-wrap: break-word; word-break: normal; hyphens: auto; }
article table.table code { overflow-wrap: anywhere; white-space: normal; }
div.cell_output img, article img { max-width: 100%; height: auto; }
div.mirage-vega { max-width: 100%; overflow-x: auto; }
mjx-container[display="true"] { max-width: 100%; overflow-x: auto; overflow-y: hidden; }
article { overflow-wrap: break-word; }
code.literal, code.literal span.pre { white-space: normal; overflow-wrap: anywhere; }
@media (max-width: 600px) {
  div.highlight pre { white-space: pre-wrap; overflow-wrap: anywhere; }
}
"""


def write_vega_bundle(static_dir: Path) -> Path:
    """Write vega + vega-lite + vega-embed (from vl-convert, no network) as one IIFE-wrapped script."""
    import vl_convert

    static_dir.mkdir(parents=True, exist_ok=True)
    target = static_dir / VEGA_BUNDLE
    # The bundle declares top-level consts; an IIFE keeps them off the page's global scope.
    # vl_convert's stub omits the default of javascript_bundle's snippet (None: the standard bundle), hence the ignore.
    target.write_text(
        "(function () {\n" + vl_convert.javascript_bundle() + "\n})();\n",  # type: ignore[call-arg]
        encoding="utf-8",
    )
    return target


def write_layout_css(static_dir: Path) -> Path:
    """Write the book's layout rules (code size, wrapping, table scroll) to ``_static``."""
    static_dir.mkdir(parents=True, exist_ok=True)
    target = static_dir / LAYOUT_CSS
    target.write_text(LAYOUT_RULES.lstrip(), encoding="utf-8")
    return target


def _on_builder_inited(app: Sphinx) -> None:
    if app.builder.format == "html":
        write_vega_bundle(Path(app.outdir) / "_static")
        write_layout_css(Path(app.outdir) / "_static")
        app.add_css_file(LAYOUT_CSS)


def _dedupe_scripts(context: dict[str, Any]) -> None:
    """Drop repeated <script> entries, in place (the list is the builder's own).

    Under Jupyter Book, sphinx-thebe and sphinx-togglebutton register their inline config twice (once with file
    name ``None``, once ``''``); the second ``const THEBE_JS_URL`` throws a SyntaxError in the browser. Same file
    name and attributes (inline body included) means the same script: the first is kept.
    """
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    unique = []
    for js in scripts:
        attrs = getattr(js, "attributes", {})
        key = (str(getattr(js, "filename", js) or ""), tuple(sorted((str(k), str(v)) for k, v in attrs.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def _on_page_context(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    # The theme's layout reads `default_mode`, which no theme option sets here; empty makes it log an error.
    context.setdefault("default_mode", "auto")
    # Only pages that hold a chart load the ~0.9 MB bundle (Sphinx adds a file to this page alone when
    # add_js_file is called from html-page-context).
    if CHART_CLASS in context.get("body", ""):
        app.add_js_file(VEGA_BUNDLE, loading_method="defer")
    _dedupe_scripts(context)


def write_glued_images(glue_dir: Path, image_dir: Path) -> list[Path]:
    """Write every PNG stored by ``plotting.glue_figure`` into the site's image folder under its SHA-256 name.

    myst-nb's cross-page glue (used by the figures index) links ``_images/<sha256>.png`` but only works when the
    chapter happened to display byte-identical pixels; this makes the link hold for every glued figure.
    """
    written = []
    for cache in sorted(glue_dir.rglob("*.glue.json")):
        for output in json.loads(cache.read_text()).values():
            data = output.get("data", {}) if isinstance(output, dict) else {}
            if "image/png" not in data:
                continue
            png = base64.b64decode(data["image/png"])
            target = image_dir / f"{hashlib.sha256(png).hexdigest()}.png"
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(png)
                written.append(target)
    return written


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        glue_dir = Path(app.outdir).parent / "jupyter_execute"
        write_glued_images(glue_dir, Path(app.outdir) / app.builder.imagedir)


_CHAPTER = re.compile(r"^notebooks/(\d\d)_[\w]+?(_robustness)?$")


def figure_prefix(docname: str) -> str | None:
    """The figure-number prefix of a page: "2" for Chapter 2, "A" for the appendix (file 05), "R2" for Chapter 2's
    robustness page; None for pages outside the chapters (they keep Sphinx's numbering)."""
    found = _CHAPTER.match(docname)
    if not found:
        return None
    number = "A" if found.group(1) == "05" else str(int(found.group(1)))
    return ("R" + number) if found.group(2) else number


def _number_figures_by_chapter(app: Sphinx, env: Any) -> list[str]:
    """Number each chapter's figures from 1 under its own prefix ("Figure 2.3", "Figure R2.1"), in page order.

    Sphinx numbers figures across the whole book when the table of contents is not numbered (and numbering it would
    renumber the chapters themselves), so a reader of Chapter 6 met "Figure 40". Runs after Sphinx assigns its
    numbers and keeps their order within each page.
    """
    for docname, by_type in env.toc_fignumbers.items():
        prefix = figure_prefix(docname)
        if prefix is None:
            continue
        for numbers in by_type.values():
            for k, key in enumerate(sorted(numbers, key=lambda i: numbers[i]), start=1):
                numbers[key] = (prefix, k)
    return []


def setup(app: Sphinx) -> dict[str, Any]:
    os.environ[BOOK_BUILD_ENV] = "1"
    app.connect("builder-inited", _on_builder_inited)
    app.connect("html-page-context", _on_page_context, priority=900)  # after other extensions add scripts
    app.connect("build-finished", _on_build_finished)
    app.connect("env-get-updated", _number_figures_by_chapter, priority=900)  # after Sphinx's own numbering
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
