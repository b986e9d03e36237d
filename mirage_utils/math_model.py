"""Chapter 1's analyses of the math model: where a window of sizes sits on the curves, what a finite test set and a
sparse family read from them, and the chapter's claim checks (each returns a bool that a counterfactual can fail).

Every expected metric of :mod:`scaling` depends on ``N`` only through ``|alpha| (log10 N - log10 c)``: ``c`` slides
the curves along the size axis and ``alpha`` stretches it, so a window's picture is fixed by where it sits relative
to ``c`` and by its width times ``|alpha|``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from . import bigbench, emergence, resolution, scaling
from ._validation import as_float_array, positive, positive_int
from .seeding import DEFAULT_SEED, rng

# The paper's footnote 3: the four OpenAI API models available on 2023-03-15 (350M, 1.3B, 6.7B, 175B parameters).
API_SIZES: tuple[float, ...] = (3.5e8, 1.3e9, 6.7e9, 1.75e11)
SCORED = ("emergence_score", "steepest_rise_ratio")


def shift_decades(target_length: int, alpha: float) -> float:
    """Decades by which accuracy on ``L`` tokens lags the one-token curve: ``log10(L) / |alpha|``."""
    L = positive_int(target_length, "target_length")
    a = float(as_float_array(alpha, "alpha"))
    if a >= 0:
        raise ValueError(f"alpha must be < 0, got {a}")
    return float(np.log10(L) / abs(a))


def exact_match_rise_width(alpha: float, lower: float = 0.1, upper: float = 0.9) -> float:
    """Decades over which ``p**L = exp(-L (N/c)**alpha)`` climbs from ``lower`` to ``upper`` of its ceiling 1, the
    same for every ``L`` (a Gompertz curve in log N): ``(ln(-ln lower) - ln(-ln upper)) / (|alpha| ln 10)``."""
    a = float(as_float_array(alpha, "alpha"))
    if a >= 0:
        raise ValueError(f"alpha must be < 0, got {a}")
    if not 0 < lower < upper < 1:
        raise ValueError(f"need 0 < lower < upper < 1, got {lower}, {upper}")
    return float((np.log(-np.log(lower)) - np.log(-np.log(upper))) / (abs(a) * np.log(10)))


def family(start: float, stop: float, n_models: int) -> NDArray[np.float64]:
    """``n_models`` sizes evenly spaced in log10 N from ``10**start`` to ``10**stop`` (a window of the size axis)."""
    k = positive_int(n_models, "n_models")
    if k < emergence.MIN_POINTS or not stop > start:
        raise ValueError(f"need stop > start and at least {emergence.MIN_POINTS} models, got {start}, {stop}, {k}")
    return np.logspace(start, stop, k)


def measured_curves(
    sizes: ArrayLike, c: float, alpha: float, target_length: int, n_items: int, n_repeats: int, seed: int = DEFAULT_SEED
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact match and mean token edit distance a researcher would measure on ``n_items`` fresh ``L``-token problems
    per model, tokens right independently with the model's ``p``; arrays of shape ``(n_repeats, len(sizes))``."""
    p = scaling.per_token_probability(positive(sizes, "sizes"), c, alpha)
    L, n, reps = (
        positive_int(v, name)
        for v, name in ((target_length, "target_length"), (n_items, "n_items"), (n_repeats, "n_repeats"))
    )
    correct = rng(seed).random((reps, p.size, n, L)) < p[None, :, None, None]
    return correct.all(axis=-1).mean(axis=-1), (~correct).sum(axis=-1).mean(axis=-1)


def window_scores(
    sizes: ArrayLike, c: float, alpha: float, target_length: int, floor: float = 0.01
) -> dict[str, float]:
    """Noiseless exact match and token edit distance on ``sizes``: Eq. 1 and the steepest-rise ratio of each, their
    Acc/TED ratios, the share of models whose accuracy is below ``floor`` and the largest model's accuracy."""
    xs = positive(sizes, "sizes")
    acc = scaling.expected_accuracy(xs, c, alpha, target_length)
    ted = scaling.expected_token_edit_distance(xs, c, alpha, target_length)
    row: dict[str, float] = {"share_below_floor": float((acc < floor).mean()), "top_accuracy": float(acc.max())}
    for m in SCORED:
        a = emergence.sharpness(xs, acc, m)
        t = emergence.sharpness(xs, ted, m, higher_is_better=False)
        row.update({f"{m}_acc": a, f"{m}_ted": t, f"{m}_ratio": a / t if t else np.nan})
    return row


def window_table(
    starts: ArrayLike, width: float, per_decade: float, c: float, alpha: float, target_length: int, floor: float = 0.01
) -> pd.DataFrame:
    """:func:`window_scores` for windows ``[start, start + width]`` (log10 N) sampled ``per_decade`` sizes per
    decade, one row per window start, with the window in the row."""
    if not width > 0 or not per_decade > 0:
        raise ValueError("width and per_decade must be > 0")
    k = int(round(width * per_decade)) + 1
    rows = [
        {
            "start": float(s),
            "stop": float(s) + width,
            "n_models": k,
            **window_scores(family(float(s), float(s) + width, k), c, alpha, target_length, floor),
        }
        for s in as_float_array(starts, "starts")
    ]
    return pd.DataFrame(rows)


def sweep(
    alphas: Sequence[float],
    log10_cs: Sequence[float],
    starts: Sequence[float],
    widths: Sequence[float],
    per_decade: float = 2.0,
    target_length: int = 5,
    floor: float = 0.01,
) -> pd.DataFrame:
    """:func:`window_table` over a grid of ``alpha``, ``log10 c``, window starts and widths (one row per window)."""
    parts = [
        window_table(starts, w, per_decade, 10.0**lc, a, target_length, floor).assign(alpha=a, log10_c=lc, width=w)
        for a in alphas
        for lc in log10_cs
        for w in widths
    ]
    return pd.concat(parts, ignore_index=True)


def ratio_by_floor_share(table: pd.DataFrame, bins: Sequence[float] = (0, 0.25, 0.5, 0.75, 1.0)) -> pd.DataFrame:
    """Median Acc/TED ratio of each measure, and the share of windows where accuracy is the sharper, grouped by the
    share of models reading below the floor (bins closed on the left; the last bin includes 1)."""
    need = ["share_below_floor", *(f"{m}_ratio" for m in SCORED)]
    missing = [col for col in need if col not in table.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing}")
    labels = [f"{lo:.0%}-{hi:.0%}" for lo, hi in zip(bins[:-1], bins[1:])]
    binned = table.assign(
        below=pd.cut(table["share_below_floor"], list(bins), labels=labels, right=False, include_lowest=True)
    )
    binned.loc[table["share_below_floor"] >= bins[-1], "below"] = labels[-1]
    agg: dict[str, tuple[str, str | Callable[[pd.Series[float]], float]]] = {"windows": ("share_below_floor", "size")}
    for m in SCORED:
        agg[f"median {m} ratio"] = (f"{m}_ratio", "median")
        agg[f"share {m} ratio > 1"] = (f"{m}_ratio", lambda r: float((r > 1).mean()))
    return binned.groupby("below", observed=False).agg(**agg)


def floor_counts(sizes: ArrayLike, c: float, alpha: float, target_length: int, n_items: int) -> dict[str, int]:
    """Models whose median accuracy reading on ``n_items`` items is 0 (true accuracy below
    ``resolution.median_zero_threshold``, about ln 2 / N), and models whose expected edit distance rounds to its worst
    value ``L`` (every token wrong) at the resolution of ``n_items`` items (App. A.1)."""
    xs = positive(sizes, "sizes")
    L = positive_int(target_length, "target_length")
    acc = scaling.expected_accuracy(xs, c, alpha, L)
    ted = scaling.expected_token_edit_distance(xs, c, alpha, L)
    return {
        "accuracy reads 0": int((acc < resolution.median_zero_threshold(n_items)).sum()),
        "edit distance at worst": int((resolution.round_to_resolution(L - ted, n_items) == 0).sum()),
        "models": int(xs.size),
    }


def published_curve(
    task: str = "arithmetic 2-digit addition", family_name: str = "GPT-Neo/J"
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One family's scores on one of Ruan et al.'s emergent tasks (:func:`bigbench.ruan_scores`), sorted by size:
    ``(params, value)``. The default is the published emergent curve drawn as the inset of Chapter 1's Fig. 2C."""
    ruan = bigbench.ruan_scores()
    rows = ruan[(ruan["task"] == task) & (ruan["family"] == family_name)].sort_values("params")
    if len(rows) < emergence.MIN_POINTS:
        raise ValueError(f"{family_name!r} has fewer than {emergence.MIN_POINTS} scores on {task!r}")
    return rows["params"].to_numpy(float), rows["value"].to_numpy(float)


def sharpness_summary(
    x: ArrayLike, y: ArrayLike, n_items: float, measures: Sequence[str] = emergence.MEASURES, n_draws: int = 2000
) -> pd.DataFrame:
    """Each measure of a rate curve measured on ``n_items`` items: its value, the 95% interval of
    :func:`emergence.sharpness_interval`, and :func:`emergence.line_null_test`'s median for a straight line and
    one-sided p-value (one row per measure, indexed by measure)."""
    rows = []
    for m in measures:
        ci = emergence.sharpness_interval(x, y, m, n_items=n_items, n_draws=n_draws)
        test = emergence.line_null_test(x, y, m, n_items=n_items, n_draws=n_draws)
        rows.append(
            {
                "measure": m,
                "value": ci.estimate,
                "low": ci.low,
                "high": ci.high,
                "line median": test.null_median,
                "p": test.p_value,
            }
        )
    return pd.DataFrame(rows).set_index("measure")


# --- claim checks ----------------------------------------------------------------------------------------------------


def looks_emergent(
    accuracy: ArrayLike, floor: float = 0.01, share: tuple[float, float] = (0.5, 0.75), top: float = 0.5
) -> bool:
    """Claim check (the look of the paper's Fig. 2C on a family): between ``share[0]`` and ``share[1]`` of the
    models read below ``floor`` and the largest model (the last entry) reaches ``top``."""
    acc = as_float_array(accuracy, "accuracy")
    if acc.ndim != 1 or acc.size < emergence.MIN_POINTS:
        raise ValueError(f"accuracy must be 1-D with at least {emergence.MIN_POINTS} models")
    if not 0 <= share[0] <= share[1] <= 1:
        raise ValueError(f"share must be an increasing pair in [0, 1], got {share}")
    below = float((acc < floor).mean())
    return bool(share[0] <= below <= share[1] and acc[-1] >= top)


def ratio_depends_on_window(table: pd.DataFrame, measure: str, factor: float = 1.25) -> bool:
    """Claim check: over the windows of ``table`` (:func:`window_table`), accuracy is sharper than edit distance by
    more than ``factor`` under ``measure`` in some window, and less sharp (ratio < 1) in another."""
    col = f"{measure}_ratio"
    if measure not in SCORED or col not in table.columns:
        raise ValueError(f"measure must be one of {SCORED} with a {col!r} column in the table")
    if not factor >= 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    ratio = table[col].to_numpy(float)
    return bool(np.nanmax(ratio) > factor and np.nanmin(ratio) < 1)


def more_zero_accuracy(counts: dict[str, int]) -> bool:
    """Claim check: more models read zero accuracy than sit at the edit distance's worst value
    (:func:`floor_counts`), i.e. the resolution floor hides accuracy before it hides edit distance."""
    try:
        return bool(counts["accuracy reads 0"] > counts["edit distance at worst"])
    except KeyError as exc:
        raise ValueError(f"counts lacks {exc}; use floor_counts") from exc


def spacing_inflates_eq1(
    x_sparse: ArrayLike,
    y_sparse: ArrayLike,
    x_even: ArrayLike,
    y_even: ArrayLike,
    factor: float = 2.0,
    higher_is_better: bool = True,
) -> bool:
    """Claim check (the paper's third factor): the same curve scored on unevenly spaced sizes gets an Eq. 1 score
    more than ``factor`` times its score on as many evenly spaced sizes over the same window, while its
    steepest-rise ratio does not grow (a gap between sizes cannot show a steeper slope than the curve has)."""
    xs_s, xs_e = positive(x_sparse, "x_sparse"), positive(x_even, "x_even")
    if xs_s.size != xs_e.size or not np.isclose(xs_s.min(), xs_e.min()) or not np.isclose(xs_s.max(), xs_e.max()):
        raise ValueError("both samplings need the same number of sizes and the same smallest and largest size")
    es_s, es_e = (emergence.emergence_score(x, y, higher_is_better) for x, y in ((xs_s, y_sparse), (xs_e, y_even)))
    sr_s, sr_e = (emergence.steepest_rise_ratio(x, y, higher_is_better) for x, y in ((xs_s, y_sparse), (xs_e, y_even)))
    return bool(es_s > factor * es_e and sr_s <= sr_e)


def ratios_long(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`window_table`'s Acc/TED ratios in long form (start, measure, ratio, share_below) for a chart."""
    need = ["start", "share_below_floor", *(f"{m}_ratio" for m in SCORED)]
    missing = [col for col in need if col not in table.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing}")
    names = {"emergence_score_ratio": "Eq. 1 (emergence score)", "steepest_rise_ratio_ratio": "steepest-rise ratio"}
    long = table.melt(
        id_vars=["start", "share_below_floor"], value_vars=list(names), var_name="measure", value_name="ratio"
    )
    return long.assign(measure=long["measure"].map(names)).rename(columns={"share_below_floor": "share_below"})
