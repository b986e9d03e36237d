"""Write a check's result as ``report.json`` (every number) and ``report.html`` (self-contained: the figure is an
embedded PNG, no scripts, no network), so a reader can open it offline or attach it to a paper review."""

from __future__ import annotations

import base64
import html
import io
import json
import os
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import numpy as np


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _plain(value: Any) -> Any:
    """A JSON-ready copy: NaN and infinities as None, keys as text (a metric or task name may be a number)."""
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else str(_plain(k))): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def to_json(result: dict[str, Any]) -> str:
    """The result as JSON (NaN and infinities become null, so any JSON reader accepts it)."""
    return json.dumps(_plain(result), indent=1, default=_json_default, allow_nan=False)


def _no_math(fig: Any) -> None:
    """Draw every text of the figure as written: a file, task or metric name holding ``$`` (``acc$v2``,
    ``$x$.csv``) is the reader's text, not mathtext, and an unpaired ``$`` would make matplotlib raise. Only tick
    labels (matplotlib's own ``10^7``) keep mathtext."""
    texts = list(fig.texts)
    for ax in fig.axes:
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        texts += [getattr(ax, name) for name in ("_left_title", "_right_title") if hasattr(ax, name)]
        legend = ax.get_legend()
        if legend is not None:
            texts += [*legend.get_texts(), legend.get_title()]
    for text in texts:
        text.set_parse_math(False)


def _aggregate_panel(ax: Any, result: dict[str, Any], name: str) -> None:
    """One metric of an aggregate table: each run's (or seed's) curve with its own interval (Wilson from n, or the
    stated standard error), the mean over runs with the runs-as-unit interval as error bars, and chance; a
    perplexity-like metric on a log axis."""
    scale = result["scale"]
    info = result.get("metrics", {}).get(name, {})
    if info.get("scale") == "log":
        ax.set_yscale("log")
    sub = sorted((r for r in result["table"] if r["metric"] == name), key=lambda r: r[scale])
    x = [r[scale] for r in sub]
    key = next((k for k in ("run table", "seed table") if result.get(k)), None)
    if key is not None:
        unit = key.split()[0]
        reps = [r for r in result[key] if r["metric"] == name]
        for label in sorted({str(r[unit]) for r in reps}):
            pts = sorted((r for r in reps if str(r[unit]) == label), key=lambda r: r[scale])
            xs = [r[scale] for r in pts]
            (line,) = ax.plot(xs, [r["value"] for r in pts], "o-", ms=3, lw=1, label=f"{unit} {label}")
            if all(r["lo"] is not None for r in pts):
                lo, hi = [r["lo"] for r in pts], [r["hi"] for r in pts]
                ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.15, lw=0)
        bottom, top = ax.get_ylim()
        if all(r["lo"] is not None for r in sub):
            values = np.array([r["value"] for r in sub])
            err = [values - np.array([r["lo"] for r in sub]), np.array([r["hi"] for r in sub]) - values]
            ax.errorbar(x, values, yerr=err, fmt="none", ecolor="0.3", capsize=2, lw=0.8, label=f"{unit}s as unit")
        ax.set_ylim(bottom, top)  # a t interval over two runs is wide: keep the runs readable
    else:
        (line,) = ax.plot(x, [r["value"] for r in sub], "o-", label="score")
        if sub and all(r["lo"] is not None for r in sub):
            lo, hi = [r["lo"] for r in sub], [r["hi"] for r in sub]
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.25, lw=0, label="interval")
    if info.get("chance") is not None:
        ax.axhline(info["chance"], ls=":", color="grey", label=f"chance ({info['chance']:.3g})")
    ax.legend(fontsize=9)


def figure_png(result: dict[str, Any], title: str = "", dpi: int = 110) -> bytes:
    """One panel per metric against scale (log axis), with intervals and the chance level where one exists;
    ``title`` heads the figure with the uncertainty used."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["table"]
    scale = result["scale"]
    if result["layout"] == "aggregates":
        names = sorted({r["metric"] for r in rows})
    else:
        names = list(result["metrics"])
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False, layout="constrained")
    for ax, name in zip(axes[0], names):
        if result["layout"] == "aggregates":
            _aggregate_panel(ax, result, name)
        else:
            x = np.array([r[scale] for r in rows])
            ax.plot(x, [r[name] for r in rows], "o-")
            # the table's intervals are already clipped to each metric's range (analyse.RANGES)
            lo, hi = [r[f"{name} lo"] for r in rows], [r[f"{name} hi"] for r in rows]
            discrete = result["metrics"][name]["kind"] == "discrete"
            ax.fill_between(x, lo, hi, alpha=0.25, lw=0, label="interval")
            chance = [r.get("chance (uniform guess)") for r in rows]
            if discrete and all(c is not None for c in chance):
                ax.plot(x, chance, ":", color="grey", label="chance (uniform guess)")
                ax.legend(fontsize=9)
        ax.set_xscale("log")
        ax.set(title=name.replace("_", " "), xlabel=f"{scale} (log scale)", ylabel=name.replace("_", " "))
    heading = f"{title}: " if title else ""
    heading = f"{heading}{len(result['models'])} models; intervals: {result['uncertainty']}"
    fig.suptitle("\n".join(textwrap.wrap(heading, width=int(15 * 4.2 * len(names)))), fontsize=9)
    _no_math(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def _table_html(rows: list[dict[str, Any]], markup: str | None = None) -> str:
    """An HTML table of ``rows``; the column ``markup`` holds HTML made here (a link), every other cell is escaped."""
    if not rows:
        return "<p>No rows.</p>"
    columns = list(rows[0])

    def cell(value: Any, column: str = "") -> str:
        if column == markup:
            return str(value)
        if isinstance(value, float):
            return f"{value:.4g}"
        return html.escape("" if value is None else str(value))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c), c)}</td>" for c in columns) + "</tr>" for r in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }
img { max-width: 100%; height: auto; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85rem; }
td, th { border-bottom: 1px solid #ddd; padding: 0.2em 0.5em; text-align: right; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: 0.5em; font-size: 0.8rem; }
"""


def _rounded(value: Any) -> Any:
    """A copy with floats at four significant digits, for reading (report.json keeps full precision)."""
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    if isinstance(value, (float, np.floating)) and np.isfinite(value):
        return float(f"{float(value):.4g}")
    return value


def to_html(result: dict[str, Any], source: str = "") -> str:
    """A self-contained page: summary, figure, per-model table, sharpness and the mirage test in full (one section
    of each per task for an aggregate table with a task column)."""
    if "tasks" in result:
        return _tasks_html(result, source)
    png = base64.b64encode(figure_png(result, source)).decode("ascii")
    summary = "".join(f"<li>{html.escape(s)}</li>" for s in result["summary"])
    title = f"Check your own curve: {html.escape(source)}" if source else "Check your own curve"
    return f"""{_page_head(title, summary)}
<h2>Metrics by model</h2>
<img alt="Each metric against model scale on a log axis, with its interval and the chance level"
 src="data:image/png;base64,{png}">
{_table_html(result["table"])}
<h2>Sharpness (both measures, with the window)</h2><pre>{html.escape(to_json(_rounded(result["sharpness"])))}</pre>
<h2>Mirage test</h2><pre>{html.escape(to_json(_rounded(result["diagnosis"])))}</pre>
{_forecast_html(result)}
</body></html>
"""


def _page_head(title: str, summary: str) -> str:
    """The top of every report page: document head, title, where it came from, and the summary list."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{STYLE}</style></head>
<body>
<h1>{title}</h1>
<p>Made by <code>python -m mirage_utils check</code> (The Mirage Book). Every number is also in
<code>report.json</code>.</p>
<h2>What the data support</h2><ul>{summary}</ul>"""


def _tasks_html(result: dict[str, Any], source: str) -> str:
    """The page for a table of several tasks: the summary, an overview row per task and metric, then one section
    per task (summary, figure with intervals and chance, table, line-null tests and mirage test)."""
    title = f"Check your own curve: {html.escape(source)}" if source else "Check your own curve"
    summary = "".join(f"<li>{html.escape(s)}</li>" for s in result["summary"])
    sections = []
    for i, (name, sec) in enumerate(result["tasks"].items()):
        png = base64.b64encode(figure_png(sec, name, dpi=90)).decode("ascii")
        items = "".join(f"<li>{html.escape(s)}</li>" for s in sec["summary"][1:])
        sections.append(
            f"""<h2 id="task-{i}">{html.escape(name)}</h2><ul>{items}</ul>
<img alt="{html.escape(name)}: each metric against model scale, each run with its interval, and chance"
 src="data:image/png;base64,{png}">
<details><summary>Table, line-null tests and mirage test</summary>{_table_html(sec["table"])}
<pre>{html.escape(to_json(_rounded({"line null": sec["line null"], "mirage test": sec["diagnosis"]})))}</pre>
</details>"""
        )
    index = {name: i for i, name in enumerate(result["tasks"])}
    overview = [
        {**row, "task": f'<a href="#task-{index[row["task"]]}">{html.escape(row["task"])}</a>'}
        for row in result["overview"]
    ]
    table = _table_html(overview, markup="task")
    return f"""{_page_head(title, summary)}
<h2>Every task and metric</h2>{table}
{"".join(sections)}
{_forecast_html(result)}
</body></html>
"""


def _forecast_html(result: dict[str, Any]) -> str:
    """The ``--forecast-to`` section (:mod:`mirage_utils.checking.forecasting`), or nothing without one."""
    if not result.get("forecast"):
        return ""
    from .forecasting import forecast_html

    return forecast_html(result["forecast"])


REPORT_FILES = ("report.json", "report.html")


def unwritable(out_dir: str | Path) -> str | None:
    """Why a report cannot be written into ``out_dir``, or None if it can: checked before any analysis, so that a
    long check never ends in a permission error. Leaves nothing behind (the folder is created only by
    :func:`write_report`)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        return f"{out} exists and is a file, not a folder; give a folder with --out"
    existing = out
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, so {out} cannot be created; give another folder with --out"
    try:  # permissions, a read-only file system, a full disk: only trying tells (a file that vanishes on close)
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        return f"{existing} is not writable ({exc.strerror or exc}); give a folder you can write to with --out"
    for name in REPORT_FILES:
        target = out / name
        if target.is_dir():
            return f"{target} is a folder; remove it or give another folder with --out"
    return None


def write_report(result: dict[str, Any], out_dir: str | Path, source: str = "") -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``out_dir`` (created); returns their paths.

    Both pages are made in memory and written to temporary files beside the old ones, then moved into place: a
    failure at any point leaves the previous report as it was (both files), never a new JSON beside an old page."""
    problem = unwritable(out_dir)
    if problem is not None:
        raise PermissionError(problem)
    texts = (to_json(result), to_html(result, source))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    final = (out / REPORT_FILES[0], out / REPORT_FILES[1])
    temporary: list[Path] = []
    backups: dict[Path, Path] = {}
    moved: list[Path] = []
    try:
        for text, path in zip(texts, final):
            handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=out)
            temporary.append(Path(name))
            with os.fdopen(handle, "w", encoding="utf-8") as fh:
                fh.write(text)
        for path in final:  # the previous files step aside until both new ones are in place
            if path.exists():
                handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".old", dir=out)
                os.close(handle)
                os.replace(path, name)
                backups[path] = Path(name)
        for tmp, path in zip(temporary, final):
            os.replace(tmp, path)
            moved.append(path)
    except BaseException:
        for path in moved:
            path.unlink(missing_ok=True)
        for path, backup in backups.items():
            os.replace(backup, path)
        for tmp in temporary:
            tmp.unlink(missing_ok=True)
        raise
    for backup in backups.values():
        backup.unlink(missing_ok=True)
    return final
