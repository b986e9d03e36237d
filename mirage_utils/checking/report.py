"""Write a check's result as ``report.json`` (every number) and ``report.html`` (self-contained: the figure is an
embedded PNG, no scripts, no network), so a reader can open it offline or attach it to a paper review."""

from __future__ import annotations

import base64
import html
import io
import json
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


def to_json(result: dict[str, Any]) -> str:
    """The result as JSON (NaN and infinities become null, so any JSON reader accepts it)."""
    return json.dumps(result, indent=1, default=_json_default, allow_nan=False)


def figure_png(result: dict[str, Any], title: str = "") -> bytes:
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
            sub = [r for r in rows if r["metric"] == name]
            x = np.array([r[scale] for r in sub])
            ax.plot(x, [r["value"] for r in sub], "o-")
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
                ax.legend(fontsize=7)
        ax.set_xscale("log")
        ax.set(title=name.replace("_", " "), xlabel=f"{scale} (log scale)", ylabel=name.replace("_", " "))
    heading = f"{title}: " if title else ""
    fig.suptitle(f"{heading}{len(result['models'])} models; intervals: {result['uncertainty']}", fontsize=9)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def _table_html(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>No rows.</p>"
    columns = list(rows[0])

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        return html.escape("" if value is None else str(value))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows)
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
    """A self-contained page: summary, figure, per-model table, sharpness and the mirage test in full."""
    png = base64.b64encode(figure_png(result, source)).decode("ascii")
    summary = "".join(f"<li>{html.escape(s)}</li>" for s in result["summary"])
    title = f"Check your own curve: {html.escape(source)}" if source else "Check your own curve"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{STYLE}</style></head>
<body>
<h1>{title}</h1>
<p>Made by <code>python -m mirage_utils check</code> (The Mirage Book). Every number is also in
<code>report.json</code>.</p>
<h2>What the data support</h2><ul>{summary}</ul>
<h2>Metrics by model</h2>
<img alt="Each metric against model scale on a log axis, with its interval and the chance level"
 src="data:image/png;base64,{png}">
{_table_html(result["table"])}
<h2>Sharpness (both measures, with the window)</h2><pre>{html.escape(to_json(_rounded(result["sharpness"])))}</pre>
<h2>Mirage test</h2><pre>{html.escape(to_json(_rounded(result["diagnosis"])))}</pre>
</body></html>
"""


def write_report(result: dict[str, Any], out_dir: str | Path, source: str = "") -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``out_dir`` (created); returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / "report.json", out / "report.html"
    json_path.write_text(to_json(result), encoding="utf-8")
    html_path.write_text(to_html(result, source), encoding="utf-8")
    return json_path, html_path
