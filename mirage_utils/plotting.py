"""One look for every figure: a matplotlib style, an altair theme, log-x scaling axes, and offline altair charts.

Call :func:`setup` once at the top of a chapter. In a book build (``MIRAGE_BOOK_BUILD=1``, set by
:mod:`mirage_utils.sphinxext`) altair charts are emitted as a ``<div>`` plus a ``vegaEmbed`` call that uses the
Vega libraries the book serves from its own ``_static`` folder, so they render with no network.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import altair as alt
import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.rcsetup import cycler
from matplotlib.ticker import LogLocator, NullFormatter

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.typing import RcKeyType

BOOK_BUILD_ENV = "MIRAGE_BOOK_BUILD"
CHART_CLASS = "mirage-vega"
# Colour-blind-safe palette (Okabe & Ito), used by both libraries so a chapter's two views match.
PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")

_MPL_STYLE: dict[RcKeyType, Any] = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "figure.figsize": (7.0, 4.2),
    "figure.constrained_layout.use": True,
    "axes.prop_cycle": cycler(color=PALETTE),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "legend.fontsize": 9.5,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    "font.size": 10,
}


def _theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "view": {"continuousWidth": 420, "continuousHeight": 260, "stroke": None},
            "range": {"category": list(PALETTE)},
            "title": {"fontSize": 14, "anchor": "start"},
            "axis": {"labelFontSize": 11, "titleFontSize": 12, "gridOpacity": 0.35},
            "legend": {"labelFontSize": 11, "titleFontSize": 12},
        }
    }


def chart_id(spec: dict[str, Any]) -> str:
    """Deterministic element id for a chart: a hash of its spec (stable outputs, no random uuids)."""
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"mirage-vega-{digest}"


# Fits a chart into its column (a phone's is ~358 px): side-by-side views are stacked, facets go to one column,
# legends move below, titles wrap onto several lines, and view widths shrink until the drawing is no wider than its
# container. Text keeps its size.
# When done the container gets ``data-fitted`` (its drawn width), which scripts/check_site.py waits for and compares.
_FIT_JS = """
  function wrap(t, w) {
    var title = typeof t === 'object' && !Array.isArray(t) ? Object.assign({}, t) : {text: t};
    if (typeof title.text !== 'string') { return title; }
    var room = Math.max(12, Math.floor(w / 7.5)), lines = [''];
    title.text.split(' ').forEach(function (word) {
      var last = lines[lines.length - 1];
      if (last && (last + ' ' + word).length > room) { lines.push(word); }
      else { lines[lines.length - 1] = last ? last + ' ' + word : word; }
    });
    title.text = lines;
    return title;
  }
  function narrow(s, w) {
    if (s.title) { s.title = wrap(s.title, w); }
    if (Array.isArray(s.hconcat)) { s.vconcat = s.hconcat; delete s.hconcat; }
    if (Array.isArray(s.concat) || (s.facet && s.spec)) { s.columns = 1; }
    if (typeof s.width === 'number' && s.width > w) { s.width = w; }
    ['vconcat', 'concat', 'layer'].forEach(function (k) {
      (s[k] || []).forEach(function (c) { narrow(c, w); });
    });
    if (s.spec) { narrow(s.spec, w); }
    return s;
  }
  function fitted(spec, w) {
    var s = narrow(JSON.parse(JSON.stringify(spec)), w);
    s.config = s.config || {};
    s.config.view = Object.assign({}, s.config.view, {continuousWidth: w});
    s.config.legend = Object.assign({}, s.config.legend, {orient: 'bottom', direction: 'horizontal', columns: 2});
    return s;
  }
"""


def offline_html(spec: dict[str, Any]) -> str:
    """HTML for one chart: an empty container and a call to the page-wide ``vegaEmbed`` (no CDN, no inlined lib).

    The chart is drawn as specified where it fits its column; where it does not (a phone), it is redrawn narrower
    (see ``_FIT_JS``) up to five times, each time shrinking the views by what still overflows.
    """
    div_id = chart_id(spec)
    payload = json.dumps(spec, sort_keys=True, default=str).replace("</", "<\\/")
    return (
        f'<div id="{div_id}" class="{CHART_CLASS}"></div>\n'
        "<script>(function () {\n"
        f"  var spec = {payload};\n" + _FIT_JS + "  function draw() {\n"
        f"    var el = document.getElementById('{div_id}');\n"
        "    if (!window.vegaEmbed) {\n"
        "      el.textContent = 'Interactive chart: the Vega libraries did not load on this page.';\n"
        "      return;\n"
        "    }\n"
        "    function embed(s, tries, w) {\n"
        "      window.vegaEmbed(el, s, {actions: false, renderer: 'svg'}).then(function () {\n"
        "        var svg = el.querySelector('svg');\n"
        "        var drawn = svg ? svg.getBoundingClientRect().width : 0;\n"
        "        var room = el.clientWidth;\n"
        "        if (drawn > room + 1 && tries > 0) {\n"
        "          var next = Math.max(80, w ? w - Math.ceil(drawn - room) - 8 : room - 90);\n"
        "          embed(fitted(spec, next), tries - 1, next);\n"
        "        } else { el.setAttribute('data-fitted', String(Math.round(drawn))); }\n"
        "      }).catch(function (err) { console.error(err); });\n"
        "    }\n"
        "    embed(spec, 5, 0);\n"
        "  }\n"
        "  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', draw); }\n"
        "  else { draw(); }\n"
        "})();</script>"
    )


def _offline_renderer(spec: dict[str, Any], **_: Any) -> dict[str, str]:
    return {"text/html": offline_html(spec)}


def setup() -> None:
    """Apply the book's matplotlib style and altair theme; use offline altair output inside a book build."""
    mpl.rcParams.update(_MPL_STYLE)
    alt.theme.register("mirage", enable=True)(_theme)
    alt.renderers.register("mirage_offline", _offline_renderer)
    if os.environ.get(BOOK_BUILD_ENV) == "1":
        alt.renderers.enable("mirage_offline")


def log_x_scaling_axes(
    ax: Axes,
    *,
    title: str,
    ylabel: str,
    xlabel: str = "Model parameters N (log scale)",
    ylim: Sequence[float] | None = None,
) -> Axes:
    """Format an axes as a scaling plot: log-scaled x with decade ticks, title and labels set."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, numticks=12))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    return ax


def length_colors(lengths: Sequence[int]) -> dict[int, Any]:
    """One colour per target length, dark (short) to light (long), the same in every figure."""
    cmap = plt.get_cmap("viridis")
    values = np.linspace(0.0, 0.85, max(len(lengths), 2))
    return {int(L): cmap(v) for L, v in zip(lengths, values)}


def plot_by_length(
    ax: Axes,
    table: pd.DataFrame,
    y: str,
    *,
    x: str = "params",
    length: str = "target_length",
    low: str | None = None,
    high: str | None = None,
    marker: str = "o",
    label_prefix: str = "L = ",
) -> Axes:
    """One line per target length of ``y`` against ``x`` (log x expected), with an optional interval band."""
    lengths = sorted(int(v) for v in table[length].unique())
    colors = length_colors(lengths)
    for L in lengths:
        sub = table[table[length] == L].sort_values(x)
        ax.plot(sub[x], sub[y], marker=marker, ms=4, color=colors[L], label=f"{label_prefix}{L}")
        if low is not None and high is not None:
            ax.fill_between(sub[x], sub[low], sub[high], color=colors[L], alpha=0.15, lw=0)
    return ax


def plot_curves(
    ax: Axes,
    x: Any,
    curves: Mapping[Any, Any],
    *,
    label_prefix: str = "",
    limits: tuple[float, float] | None = (0.0, 1.0),
) -> Axes:
    """One line per setting (k, L or c: the mapping's keys, in order) with its interval band: each value has
    ``mean``, ``lo`` and ``hi`` over the sizes ``x`` (a :class:`~mirage_utils.diagnosis.Curve`). Bands are clipped
    to ``limits``, the metric's range (a t interval over three seeds can reach below 0 or above 1 for a rate)."""
    if not curves:
        raise ValueError("curves is empty")
    colors = length_colors(range(len(curves)))
    for i, (key, c) in enumerate(curves.items()):
        lo, hi = (np.clip(c.lo, *limits), np.clip(c.hi, *limits)) if limits else (c.lo, c.hi)
        ax.plot(x, c.mean, "o-", ms=4, color=colors[i], label=f"{label_prefix}{key}")
        ax.fill_between(x, lo, hi, color=colors[i], alpha=0.2, lw=0)
    return ax


def chance_lines(ax: Axes, lengths: Sequence[int], chance: Any, *, label: bool = True) -> Axes:
    """Dotted horizontal line per answer length at the exact match of a uniform guess (``chance(L)``), in the
    length's colour; one legend entry for all of them."""
    colors = length_colors(sorted(int(L) for L in lengths))
    for i, (L, color) in enumerate(colors.items()):
        ax.axhline(
            float(chance(L)), color=color, ls=":", lw=1, label="chance (uniform guess)" if label and i == 0 else None
        )
    return ax


def plot_diagnosis(
    ax: Axes,
    x: Sequence[float],
    discrete: Any,
    continuous: Any,
    result: Any,
    *,
    title: str,
    xlabel: str,
    log_x: bool = False,
) -> Axes:
    """Draw one mirage test (:func:`mirage_utils.diagnosis.diagnose`): the discrete metric and the continuous one
    rescaled to its improvement (0 = smallest model, 1 = best), both with their intervals; the models before the
    onset are shaded and the verdict is written in the corner."""
    xs = np.asarray(x, dtype=float)
    d_mean, d_lo, d_hi = discrete.oriented()
    c_mean, c_lo, c_hi = continuous.oriented()
    span = c_mean.max() - c_mean[0]
    scale = span if span > 0 else 1.0
    ax.plot(xs, d_mean, "o-", ms=3, color=PALETTE[3], label="discrete metric")
    ax.fill_between(xs, d_lo, d_hi, color=PALETTE[3], alpha=0.2, lw=0)
    ax.plot(xs, (c_mean - c_mean[0]) / scale, "s-", ms=3, color=PALETTE[0], label="continuous metric (rescaled)")
    ax.fill_between(xs, (c_lo - c_mean[0]) / scale, (c_hi - c_mean[0]) / scale, color=PALETTE[0], alpha=0.2, lw=0)
    if result.onset is not None and result.onset >= 1:
        ax.axvspan(xs[0], xs[result.onset - 1], color="grey", alpha=0.12, lw=0, label="before the onset")
    if log_x:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # decade labels only: minor labels collide
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("rate (continuous: share of its gain)")
    ax.text(0.02, 0.95, result.verdict, transform=ax.transAxes, va="top", fontsize=10, fontweight="bold")
    return ax


def glue_figure(key: str, fig: Any, dpi: int = 60) -> None:
    """Store a small PNG of a figure under ``key`` with myst-nb's glue, for the book's figures index (the chapter
    shows the full figure as usual). Does nothing where myst-nb is not installed (e.g. Colab without the book extra).
    """
    if not key or not isinstance(key, str):
        raise ValueError("key must be a non-empty string")
    try:
        from IPython.display import Image
        from myst_nb import glue
    except ImportError:
        return
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    glue(key, Image(buffer.getvalue()), display=False)


def window_ratio_chart(
    ratios: pd.DataFrame,
    *,
    c: float,
    alpha: float,
    target_length: int,
    width: float,
    n_models: int,
    start: float,
    span: tuple[float, float] = (4.0, 20.0),
) -> alt.HConcatChart:
    """Interactive view of a moving window of ``n_models`` sizes over ``width`` decades: left, exact match on
    ``target_length`` tokens and ``p = 1 - TED/L`` with the window's models; right, the Acc/TED ratio of each
    sharpness measure (``ratios``: columns start, measure, ratio, share_below) against the window's start."""
    import pandas as pd

    need = {"start", "measure", "ratio", "share_below"}
    if not need <= set(ratios.columns):
        raise ValueError(f"ratios lacks columns {sorted(need - set(ratios.columns))}")
    if not (width > 0 and n_models >= 3 and c > 0 and alpha < 0 and target_length >= 1):
        raise ValueError("need width > 0, n_models >= 3, c > 0, alpha < 0 and target_length >= 1")
    lo, hi = float(ratios["start"].min()), float(ratios["start"].max())
    step = float(np.round(np.diff(np.sort(ratios["start"].unique())).min(), 6))
    wstart = alt.param(
        name="wstart", value=start, bind=alt.binding_range(min=lo, max=hi, step=step, name="window start (log10 N)  ")
    )
    p_expr = f"exp(-pow(datum.N / {c!r}, {alpha!r}))"
    acc_name, p_name = f"exact match, L = {target_length}", "p = 1 - TED/L (any L)"
    scale_x = alt.Scale(type="log", domain=[10 ** span[0], 10 ** span[1]])
    x = alt.X("N:Q", scale=scale_x, axis=alt.Axis(format="~e", tickCount=8), title="Model parameters N (log scale)")
    y = alt.Y("value:Q", scale=alt.Scale(domain=[0, 1]), title="Score (0 to 1)")
    colour = alt.Color(
        "curve:N",
        scale=alt.Scale(domain=[acc_name, p_name], range=[PALETTE[0], PALETTE[3]]),
        legend=alt.Legend(orient="bottom", title=None),
    )
    dense = pd.DataFrame({"log10_N": np.linspace(span[0], span[1], 321)})
    curves = (
        alt.Chart(dense)
        .transform_calculate(N="pow(10, datum.log10_N)")
        .transform_calculate(p=p_expr)
        .transform_calculate(**{acc_name: f"pow(datum.p, {target_length})", p_name: "datum.p"})
        .transform_fold([acc_name, p_name], as_=["curve", "value"])
    )
    lines = curves.mark_line(strokeWidth=2).encode(x=x, y=y, color=colour)
    one = pd.DataFrame({"i": [0]})
    band = (
        alt.Chart(one)
        .transform_calculate(lo="pow(10, wstart)", hi=f"pow(10, wstart + {width!r})")
        .mark_rect(color="grey", opacity=0.15)
        .encode(x=alt.X("lo:Q", scale=scale_x), x2="hi:Q")
    )
    models = (
        alt.Chart(pd.DataFrame({"i": np.arange(n_models)}))
        .transform_calculate(N=f"pow(10, wstart + datum.i * {width / (n_models - 1)!r})")
        .transform_calculate(p=p_expr)
        .transform_calculate(**{acc_name: f"pow(datum.p, {target_length})", p_name: "datum.p"})
        .transform_fold([acc_name, p_name], as_=["curve", "value"])
        .mark_point(filled=True, size=40)
        .encode(
            x=x,
            y=y,
            color=colour,
            tooltip=[alt.Tooltip("N:Q", format=".2e"), "curve:N", alt.Tooltip("value:Q", format=".4f")],
        )
    )
    left = alt.layer(band, lines, models).properties(
        width=290, height=230, title=f"The window: {n_models} models over {width:g} decades"
    )
    rx = alt.X("start:Q", title="Window start (log10 N)", scale=alt.Scale(domain=[lo, hi]))
    ratio_lines = (
        alt.Chart(ratios)
        .mark_line(strokeWidth=2)
        .encode(
            x=rx,
            y=alt.Y("ratio:Q", scale=alt.Scale(type="log"), title="Acc / TED sharpness ratio (log scale)"),
            color=alt.Color(
                "measure:N",
                legend=alt.Legend(orient="bottom", title=None),
                scale=alt.Scale(range=[PALETTE[1], PALETTE[2]]),
            ),
            tooltip=[
                alt.Tooltip("start:Q", format=".1f"),
                "measure:N",
                alt.Tooltip("ratio:Q", format=".3g"),
                alt.Tooltip("share_below:Q", format=".0%", title="models below 1% accuracy"),
            ],
        )
    )
    even = alt.Chart(one).mark_rule(strokeDash=[4, 4], color="black").encode(y=alt.datum(1))
    now = alt.Chart(one).transform_calculate(s="wstart").mark_rule(color="grey").encode(x="s:Q")
    right = alt.layer(ratio_lines, even, now).properties(
        width=290, height=230, title="Above 1: accuracy scores sharper than TED"
    )
    return cast(
        alt.HConcatChart,
        alt.hconcat(left, right)
        .add_params(wstart)
        .resolve_scale(color="independent")
        .properties(title=f"Move the window: c = {c:.0e}, alpha = {alpha}, L = {target_length}"),
    )


def _params_axis(params: pd.Series, title: str) -> alt.X:
    """A log x axis for a ``params`` field, padded a little beyond the family's smallest and largest sizes."""
    lo, hi = float(params.min()), float(params.max())
    return alt.X(
        "params:Q",
        scale=alt.Scale(type="log", domain=[lo / 1.3, hi * 1.3], nice=False),
        axis=alt.Axis(format="~s"),
        title=title,
    )


def family_explorer(scores: pd.DataFrame, *, title: str) -> alt.LayerChart:
    """Interactive view of a model family's scores: pick a task and a metric; one line per answer length (mean over
    seeds), one dot per seed, log x axis, tooltips naming the model and seed. ``scores``: columns task, metric,
    params, model, seed, target_length, value (and optionally chance, drawn as a dotted rule per length)."""
    need = {"task", "metric", "params", "model", "seed", "target_length", "value"}
    if not need <= set(scores.columns):
        raise ValueError(f"scores lacks columns {sorted(need - set(scores.columns))}")
    if scores.empty:
        raise ValueError("scores is empty")
    tasks, metric_names = sorted(scores["task"].unique()), list(dict.fromkeys(scores["metric"]))
    task = alt.param(name="task", value=tasks[0], bind=alt.binding_select(options=tasks, name="task  "))
    metric = alt.param(
        name="metric", value=metric_names[0], bind=alt.binding_select(options=metric_names, name="  metric  ")
    )
    base = alt.Chart(scores).transform_filter("datum.task == task && datum.metric == metric")
    x = _params_axis(scores["params"], "Non-embedding parameters (log scale)")
    y_title = "Score (the metric picked above)"
    y = alt.Y("value:Q", title=y_title)
    colour = alt.Color("target_length:O", title="answer digits", scale=alt.Scale(scheme="viridis"))
    lines = base.mark_line(strokeWidth=2).encode(x=x, y=alt.Y("mean(value):Q", title=y_title), color=colour)
    dots = base.mark_circle(size=30, opacity=0.6).encode(
        x=x, y=y, color=colour, tooltip=["model:N", "seed:O", "target_length:O", alt.Tooltip("value:Q", format=".4g")]
    )
    layers = [lines, dots]
    if "chance" in scores.columns:
        layers.append(
            base.transform_filter("datum.metric == 'exact match'")
            .mark_rule(strokeDash=[2, 3])
            .encode(y="mean(chance):Q", color=colour)
        )
    return cast(
        alt.LayerChart, alt.layer(*layers).add_params(task, metric).properties(width=520, height=300, title=title)
    )


def sharpness_strip_chart(series: pd.DataFrame, *, title: str) -> alt.FacetChart:
    """Interactive strip plot of published series' sharpness: one dot per series, by metric, one panel per source;
    a dropdown picks the measure (Eq. 1 or the steepest-rise ratio, log scale), tooltips name task, family and sizes.
    ``series``: columns source, metric, task, family, n_points, measure, value, beyond (sharper than the null)."""
    need = {"source", "metric", "task", "family", "n_points", "measure", "value", "beyond"}
    if not need <= set(series.columns):
        raise ValueError(f"series lacks columns {sorted(need - set(series.columns))}")
    shown = series[series["value"] > 0].copy()  # NaN (no net rise) and non-positive scores have no place on a log axis
    if shown.empty:
        raise ValueError("no positive sharpness value to show")
    finite = shown.loc[np.isfinite(shown["value"]), "value"]
    cap = 10 ** np.ceil(np.log10(max(2.0, float(finite.max()) if len(finite) else 2.0)))
    shown["score"] = np.where(
        np.isinf(shown["value"]), "infinite (drawn at the right edge)", shown["value"].map("{:.3g}".format)
    )
    shown["value"] = np.minimum(shown["value"], cap)  # Eq. 1 is +inf for a curve flat at its floor but one step
    measures = list(dict.fromkeys(shown["measure"]))
    measure = alt.param(
        name="measure", value=measures[0], bind=alt.binding_select(options=measures, name="sharpness measure  ")
    )
    chart = (
        alt.Chart(shown)
        .transform_filter("datum.measure == measure")
        .mark_circle(size=45, opacity=0.7)
        .encode(
            x=alt.X("value:Q", scale=alt.Scale(type="log"), title="Sharpness of the series (log scale)"),
            y=alt.Y("metric:N", title=None),
            yOffset=alt.YOffset("jitter:Q"),
            color=alt.Color(
                "beyond:N",
                title="sharper than the null",
                scale=alt.Scale(domain=[False, True], range=["#9e9e9e", PALETTE[3]]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=["task:N", "family:N", "metric:N", alt.Tooltip("n_points:Q", title="sizes"), "score:N"],
        )
        .transform_calculate(jitter="random()")
        .properties(width=400, height=100)
    )
    return cast(
        alt.FacetChart,
        chart.facet(row=alt.Row("source:N", title=None, header=alt.Header(labelOrient="top", labelAnchor="start")))
        .resolve_scale(y="independent")
        .add_params(measure)
        .properties(title=title),
    )


def threshold_explorer(table: pd.DataFrame, *, title: str, start: float) -> alt.HConcatChart:
    """Interactive view of a thresholded metric: a slider moves c (log10) over the grid of ``table`` (from
    :func:`mirage_utils.vision.outcomes.threshold_table`); left, each run's mean error with c drawn across it; right,
    the share of examples below c per run (dots) and its mean over seeds (line). Log x axes."""
    need = {"params", "seed", "log10_c", "share_below", "mean_error"}
    if not need <= set(table.columns):
        raise ValueError(f"table lacks columns {sorted(need - set(table.columns))}")
    grid = np.sort(table["log10_c"].unique())
    if grid.size < 2:
        raise ValueError("need at least two thresholds to move between")
    step = float(np.round(np.diff(grid).min(), 6))
    if not np.allclose(np.diff(grid), step, atol=1e-6):
        raise ValueError("thresholds must be evenly spaced in log10 c")
    snap = float(grid[np.argmin(np.abs(grid - start))])
    log_c = alt.param(
        name="logc",
        value=snap,
        bind=alt.binding_range(min=float(grid[0]), max=float(grid[-1]), step=step, name="threshold log10 c  "),
    )
    x = _params_axis(table["params"], "Parameters (log scale)")
    errors = table.drop_duplicates(["params", "seed"])[["params", "seed", "mean_error"]]
    seed_dots = (
        alt.Chart(errors)
        .mark_circle(size=30, color=PALETTE[1], opacity=0.7)
        .encode(
            x=x,
            y=alt.Y("mean_error:Q", scale=alt.Scale(type="log"), title="Mean squared error per pixel (log scale)"),
            tooltip=[alt.Tooltip("params:Q", format=","), "seed:N", alt.Tooltip("mean_error:Q", format=".4f")],
        )
    )
    rule = alt.Chart(errors).transform_calculate(c="pow(10, logc)").mark_rule(color=PALETTE[3]).encode(y="c:Q")
    left = alt.layer(seed_dots, rule).properties(width=260, height=230, title="Error (smooth); red: c")
    at_c = alt.Chart(table).transform_filter("abs(datum.log10_c - logc) < 1e-6")
    y = alt.Y("share_below:Q", scale=alt.Scale(domain=[0, 1]), title="Share of test images with error < c")
    dots = at_c.mark_circle(size=30, color=PALETTE[3], opacity=0.7).encode(
        x=x, y=y, tooltip=[alt.Tooltip("params:Q", format=","), "seed:N", alt.Tooltip("share_below:Q", format=".3f")]
    )
    mean = at_c.mark_line(color=PALETTE[3]).encode(x=x, y=alt.Y("mean(share_below):Q"))
    right = alt.layer(dots, mean).properties(width=260, height=230, title="Reconstruction_c (sharp)")
    return alt.hconcat(left, right).add_params(log_c).properties(title=title)
