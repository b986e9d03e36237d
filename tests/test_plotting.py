"""Offline altair output and the Sphinx extension that serves the Vega libraries."""

import altair as alt
import numpy as np
import pandas as pd
import pytest

from mirage_utils import plotting, sphinxext


def _chart() -> alt.Chart:
    return alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_line().encode(x="x", y="y")


def test_offline_html_is_deterministic_and_uses_page_vega():
    spec = _chart().to_dict()
    html = plotting.offline_html(spec)
    assert html == plotting.offline_html(spec)
    assert plotting.chart_id(spec) in html and plotting.CHART_CLASS in html
    assert "vegaEmbed" in html
    assert "cdn" not in html.lower() and "http" not in html.lower().replace(spec["$schema"].lower(), "")


def test_setup_enables_offline_renderer_only_in_book_builds(monkeypatch):
    monkeypatch.delenv(plotting.BOOK_BUILD_ENV, raising=False)
    alt.renderers.enable("default")
    plotting.setup()
    assert alt.renderers.active == "default"
    monkeypatch.setenv(plotting.BOOK_BUILD_ENV, "1")
    plotting.setup()
    assert alt.renderers.active == "mirage_offline"
    bundle = _chart()._repr_mimebundle_()
    html = bundle[0]["text/html"] if isinstance(bundle, tuple) else bundle["text/html"]
    assert plotting.CHART_CLASS in html
    alt.renderers.enable("default")


def test_vega_bundle_is_wrapped_and_defines_vega_embed(tmp_path):
    path = sphinxext.write_vega_bundle(tmp_path / "_static")
    text = path.read_text()
    assert text.startswith("(function () {") and text.rstrip().endswith("})();")
    assert "window.vegaEmbed" in text


class _JS:
    def __init__(self, filename, **attributes):
        self.filename, self.attributes = filename, attributes

    def __str__(self):
        return f"{self.filename!r} {self.attributes}"


def test_duplicate_inline_scripts_are_dropped_in_place():
    scripts = [_JS(None, body="const A = 1"), _JS("x.js"), _JS("", body="const A = 1"), _JS("x.js", defer="defer")]
    context = {"script_files": scripts}
    sphinxext._dedupe_scripts(context)
    assert context["script_files"] is scripts
    assert [(s.filename, s.attributes) for s in scripts] == [
        (None, {"body": "const A = 1"}),
        ("x.js", {}),
        ("x.js", {"defer": "defer"}),
    ]


def test_log_x_axes_formatting():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    plotting.log_x_scaling_axes(ax, title="T", ylabel="Y", ylim=(0, 1))
    assert ax.get_xscale() == "log" and ax.get_title() == "T" and ax.get_ylim() == (0, 1)
    plt.close(fig)
    with pytest.raises(TypeError):
        plotting.log_x_scaling_axes(ax)  # title and ylabel are required


def test_plot_diagnosis_draws_curves_shading_and_verdict():
    import matplotlib.pyplot as plt

    from mirage_utils import diagnosis

    disc = diagnosis.binary_curve([np.zeros(200), np.zeros(200), np.ones(200)])
    cont = diagnosis.mean_curve([np.array([0.0, 0.1]), np.array([0.5, 0.6]), np.array([1.0, 1.1])])
    result = diagnosis.diagnose(disc, cont)
    fig, ax = plt.subplots()
    plotting.plot_diagnosis(ax, [1, 10, 100], disc, cont, result, title="t", xlabel="x", log_x=True)
    assert len(ax.lines) == 2 and ax.get_xscale() == "log" and ax.get_title() == "t"
    assert any(t.get_text() == result.verdict for t in ax.texts)
    plt.close(fig)


def test_write_glued_images_writes_missing_pngs_under_their_hash(tmp_path):
    import base64
    import hashlib
    import json

    png = b"\x89PNG\r\n\x1a\nnot-really"
    cache = tmp_path / "exec" / "notebooks" / "ch.glue.json"
    cache.parent.mkdir(parents=True)
    cache.write_text(json.dumps({"k": {"data": {"image/png": base64.b64encode(png).decode()}}, "t": {"data": {}}}))
    written = sphinxext.write_glued_images(tmp_path / "exec", tmp_path / "_images")
    assert [p.name for p in written] == [hashlib.sha256(png).hexdigest() + ".png"]
    assert written[0].read_bytes() == png
    assert sphinxext.write_glued_images(tmp_path / "exec", tmp_path / "_images") == []  # already there


def test_family_explorer_spec_filters_by_task_and_metric():
    rows = [
        {
            "task": t,
            "metric": m,
            "params": p,
            "model": f"m{p}",
            "seed": s,
            "target_length": 4,
            "value": 0.1 * s,
            "chance": 1e-4,
        }
        for t in ("a", "b")
        for m in ("exact match", "edit distance")
        for p in (1e3, 1e4)
        for s in range(3)
    ]
    spec = plotting.family_explorer(pd.DataFrame(rows), title="t").to_dict()
    params = {p["name"]: p for p in spec["params"]}
    assert params["task"]["bind"]["options"] == ["a", "b"]
    assert params["metric"]["bind"]["options"] == ["exact match", "edit distance"]
    assert "datum.task == task" in str(spec)
    with pytest.raises(ValueError, match="lacks"):
        plotting.family_explorer(pd.DataFrame(rows).drop(columns="seed"), title="t")


def test_sharpness_strip_chart_drops_infinite_scores_and_binds_the_measure():
    rows = [
        {
            "source": "s",
            "metric": m,
            "task": "t",
            "family": "f",
            "n_points": 5,
            "measure": meas,
            "value": v,
            "beyond": v > 3,
        }
        for m in ("exact match", "BLEU")
        for meas in ("Eq. 1", "steepest-rise ratio")
        for v in (1.5, 4.0, np.inf)
    ]
    spec = plotting.sharpness_strip_chart(pd.DataFrame(rows), title="t").to_dict()
    assert spec["params"][0]["bind"]["options"] == ["Eq. 1", "steepest-rise ratio"]
    data = spec["datasets"][next(iter(spec["datasets"]))]
    assert all(np.isfinite(r["value"]) for r in data) and len(data) == len(rows)  # +inf drawn at the edge, not dropped
    assert any(r["score"].startswith("infinite") for r in data)
    with pytest.raises(ValueError, match="lacks"):
        plotting.sharpness_strip_chart(pd.DataFrame(rows).drop(columns="beyond"), title="t")


def test_threshold_explorer_binds_log_c_and_filters_on_it():
    table = pd.DataFrame(
        [
            {"params": p, "seed": s, "log10_c": lc, "share_below": 0.5, "mean_error": 0.01}
            for p in (1e3, 1e4)
            for s in range(3)
            for lc in (-3.0, -2.5, -2.0)
        ]
    )
    spec = plotting.threshold_explorer(table, title="t", start=-2.4).to_dict()
    slider = {p["name"]: p for p in spec["params"]}["logc"]
    assert slider["value"] == -2.5 and slider["bind"]["step"] == 0.5  # snapped to the grid
    assert "abs(datum.log10_c - logc) < 1e-6" in str(spec)
    with pytest.raises(ValueError, match="lacks"):
        plotting.threshold_explorer(table.drop(columns="seed"), title="t", start=-2)
    uneven = pd.concat([table, table.assign(log10_c=-1.0)])
    with pytest.raises(ValueError, match="evenly spaced"):
        plotting.threshold_explorer(uneven, title="t", start=-2)


def test_plot_curves_draws_one_line_and_band_per_setting():
    import matplotlib.pyplot as plt

    from mirage_utils.diagnosis import binary_curve
    from mirage_utils.plotting import plot_curves

    curves = {k: binary_curve([np.ones(10) * (i < j) for i in range(3)]) for k, j in ((1, 1), (2, 2))}
    fig, ax = plt.subplots()
    plot_curves(ax, [1, 10, 100], curves, label_prefix="k = ")
    assert [line.get_label() for line in ax.get_lines()] == ["k = 1", "k = 2"] and len(ax.collections) == 2
    with pytest.raises(ValueError, match="empty"):
        plot_curves(ax, [1], {})
    plt.close(fig)


def test_figures_are_numbered_per_chapter():
    from types import SimpleNamespace

    from mirage_utils import sphinxext

    assert sphinxext.figure_prefix("notebooks/02_gpt_arithmetic") == "2"
    assert sphinxext.figure_prefix("notebooks/05_appendix_derivations") == "A"
    assert sphinxext.figure_prefix("notebooks/07_when_is_emergence_real_robustness") == "R7"
    assert sphinxext.figure_prefix("book/figures") is None
    env = SimpleNamespace(
        toc_fignumbers={
            "notebooks/06_inverse_scaling_over_training": {"figure": {"b": (41,), "a": (40,)}},
            "book/intro": {"figure": {"x": (3,)}},
        }
    )
    sphinxext._number_figures_by_chapter(None, env)  # type: ignore[arg-type]
    assert env.toc_fignumbers["notebooks/06_inverse_scaling_over_training"]["figure"] == {"a": ("6", 1), "b": ("6", 2)}
    assert env.toc_fignumbers["book/intro"]["figure"] == {"x": (3,)}
