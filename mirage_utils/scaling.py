"""The paper's math model (Sec. 2): a power-law per-token loss, and what each metric makes of it.

Per-token cross-entropy ``L_CE(N) = (N / c) ** alpha`` with ``c > 0`` and ``alpha < 0`` falls smoothly with the
parameter count ``N``; the per-token probability of the correct token is ``p = exp(-L_CE)``. Every expected metric
below is a function of ``p`` only, so any sharpness in it comes from the metric, not from the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import as_float_array, positive, positive_int, probability

if TYPE_CHECKING:
    import pandas as pd

FloatArray = NDArray[np.float64]


def _check_power_law(c: float, alpha: float) -> tuple[float, float]:
    c_arr = positive(c, "c")
    alpha_arr = as_float_array(alpha, "alpha")
    if c_arr.ndim or alpha_arr.ndim:
        raise ValueError("c and alpha must be scalars")
    if alpha_arr >= 0:
        raise ValueError(f"alpha must be < 0 (loss falls with scale), got {float(alpha_arr)!r}")
    return float(c_arr), float(alpha_arr)


def cross_entropy(n_params: ArrayLike, c: float, alpha: float) -> FloatArray:
    """Per-token cross-entropy (nats) of an ``N``-parameter model: ``(N / c) ** alpha`` (Fig. 2A)."""
    c, alpha = _check_power_law(c, alpha)
    n = positive(n_params, "n_params")
    return np.power(n / c, alpha)


def per_token_probability(n_params: ArrayLike, c: float, alpha: float) -> FloatArray:
    """Probability the model puts on the correct next token, ``exp(-L_CE(N))`` (Fig. 2B)."""
    return np.exp(-cross_entropy(n_params, c, alpha))


def accuracy_from_p(p: ArrayLike, target_length: int) -> FloatArray:
    """Expected exact-match accuracy of an ``L``-token target when each token is right with prob. ``p``: ``p**L``."""
    return np.power(probability(p, "p"), positive_int(target_length, "target_length"))


def token_edit_distance_from_p(p: ArrayLike, target_length: int) -> FloatArray:
    """Expected token edit distance (substitutions only) of an ``L``-token target: ``L * (1 - p)``."""
    return positive_int(target_length, "target_length") * (1.0 - probability(p, "p"))


def option_probability_from_p(p: ArrayLike, target_length: int, n_options: int) -> FloatArray:
    """Probability mass on the correct option among ``K`` options, each ``L`` tokens long.

    Our modelling choice (the paper does not spell out its Fig. 2D/F model): the correct option's sequence gets
    ``p**L`` and the rest of the mass is shared equally by the ``K - 1`` distractors.
    """
    k = positive_int(n_options, "n_options")
    if k < 2:
        raise ValueError(f"n_options must be >= 2, got {k}")
    return accuracy_from_p(p, target_length)


def multiple_choice_grade_from_p(p: ArrayLike, target_length: int, n_options: int) -> FloatArray:
    """Expected Multiple Choice Grade: 1 when the correct option outweighs every distractor, else 0 (a step)."""
    q = option_probability_from_p(p, target_length, n_options)
    distractor = (1.0 - q) / (n_options - 1)
    return (q > distractor).astype(np.float64)


def brier_score_from_p(p: ArrayLike, target_length: int, n_options: int) -> FloatArray:
    """Expected multi-class Brier score (BIG-bench convention: mean over the ``K`` options) under the same model."""
    q = option_probability_from_p(p, target_length, n_options)
    distractor = (1.0 - q) / (n_options - 1)
    return ((1.0 - q) ** 2 + (n_options - 1) * distractor**2) / n_options


def expected_accuracy(n_params: ArrayLike, c: float, alpha: float, target_length: int) -> FloatArray:
    """Fig. 2C: ``exp(-(N/c)**alpha) ** L``, sharp in log N for long targets."""
    return accuracy_from_p(per_token_probability(n_params, c, alpha), target_length)


def expected_token_edit_distance(n_params: ArrayLike, c: float, alpha: float, target_length: int) -> FloatArray:
    """Fig. 2E: ``L * (1 - exp(-(N/c)**alpha))``, smooth in log N."""
    return token_edit_distance_from_p(per_token_probability(n_params, c, alpha), target_length)


def expected_multiple_choice_grade(
    n_params: ArrayLike, c: float, alpha: float, target_length: int = 1, n_options: int = 4
) -> FloatArray:
    """Fig. 2D: Multiple Choice Grade of the math model, a step function of N."""
    return multiple_choice_grade_from_p(per_token_probability(n_params, c, alpha), target_length, n_options)


def expected_brier_score(
    n_params: ArrayLike, c: float, alpha: float, target_length: int = 1, n_options: int = 4
) -> FloatArray:
    """Fig. 2F: Brier score of the math model, smooth and decreasing in N."""
    return brier_score_from_p(per_token_probability(n_params, c, alpha), target_length, n_options)


def fit_power_law(n_params: ArrayLike, loss: ArrayLike) -> tuple[float, float]:
    """Least-squares fit of ``log L = alpha * (log N - log c)``; returns ``(c, alpha)``.

    Used to put measured per-token losses back into the math model.
    """
    n = positive(n_params, "n_params")
    y = positive(loss, "loss")
    if n.shape != y.shape or n.ndim != 1 or n.size < 2:
        raise ValueError("n_params and loss must be 1-D arrays of the same length >= 2")
    if np.unique(n).size < 2:
        raise ValueError("n_params must contain at least two distinct values")
    alpha, intercept = np.polyfit(np.log(n), np.log(y), 1)
    if alpha >= 0:
        raise ValueError(f"loss does not fall with n_params (fitted alpha = {alpha:.3g} >= 0)")
    # intercept = -alpha * log c
    return float(np.exp(-intercept / alpha)), float(alpha)


def params_tokens_regression(
    table: pd.DataFrame, y: str, params: str = "n_params", tokens: str = "tokens"
) -> pd.DataFrame:
    """Michaelov & Bergen's test for inverse scaling over training: OLS of ``y`` on log10(parameters),
    log10(training tokens) and their interaction. Returns coefficient, standard error, t, p and df per term.

    A negative interaction means larger models gain less (or lose) as training goes on.
    """
    import pandas as pd
    import statsmodels.formula.api as smf

    missing = [c for c in (y, params, tokens) if c not in table.columns]
    if missing:
        raise ValueError(f"columns not in the table: {missing}")
    d = pd.DataFrame(
        {
            "y": table[y].astype(float),
            "log_params": np.log10(positive(table[params], params)),
            "log_tokens": np.log10(positive(table[tokens], tokens)),
        }
    )
    if len(d) < 5:
        raise ValueError("need at least 5 rows (model x checkpoint) to fit 4 coefficients")
    fit = smf.ols("y ~ log_params * log_tokens", data=d).fit()
    return pd.DataFrame(
        {"coef": fit.params, "std_err": fit.bse, "t": fit.tvalues, "p": fit.pvalues, "df_resid": fit.df_resid}
    )


_MIXED_TERMS = ["Intercept", "c_log_params", "c_log_tokens", "c_log_params:c_log_tokens"]


def params_tokens_mixedlm(
    table: pd.DataFrame, y: str, group: str = "unit", params: str = "n_params", tokens: str = "tokens"
) -> pd.DataFrame:
    """Michaelov & Bergen's inverse-scaling-over-training test with the model run, not the checkpoint, as the unit.

    Checkpoints of one run are not independent, so plain OLS (``params_tokens_regression``) overstates the evidence.
    Fits ``y ~ c_log_params * c_log_tokens`` with a random intercept per ``group`` (statsmodels ``mixedlm``, REML),
    where ``c_log_*`` are log10 values centred on their mean over the rows used, so the main effects are read at the
    average model size and training length. Rows with ``tokens <= 0`` (the random initialisation) are dropped first.

    If the mixed model raises, does not converge, is singular (group SD < 1e-3 of the residual SD, or a singular
    covariance / non-positive-definite Hessian) or gives non-finite standard errors, falls back to a
    two-stage fit: per unit, OLS of ``y`` on ``c_log_tokens``; then the per-unit intercepts and slopes are each
    regressed on the unit's ``c_log_params`` (the slope-on-size coefficient is the interaction), t tests with
    ``n_units - 2`` df. Returns, per term, ``coef, std_err, stat`` (Wald z for mixedlm, t for two-stage), ``p``,
    ``method`` ("mixedlm" or "two-stage"), ``n_units`` and ``n_rows``.
    """
    import pandas as pd

    missing = [c for c in dict.fromkeys((y, group, params, tokens)) if c not in table.columns]
    if missing:
        raise ValueError(f"columns not in the table: {missing}")
    tok = as_float_array(table[tokens], tokens)
    keep = tok > 0
    rows = table.loc[keep]
    if rows[group].isna().any():
        raise ValueError(f"group column {group!r} has missing values")
    n_params = positive(rows[params], params)
    d = pd.DataFrame(
        {
            "y": as_float_array(rows[y], y),
            "unit": rows[group].to_numpy(),
            "log_params": np.log10(n_params),
            "log_tokens": np.log10(tok[keep]),
        }
    )
    per_unit = d.groupby("unit", sort=True)["log_params"].agg(["min", "max"])
    if len(per_unit) < 3:
        raise ValueError(f"need at least 3 units (model runs) with tokens > 0, got {len(per_unit)}")
    if np.any(per_unit["max"] > per_unit["min"]):
        raise ValueError(f"{params} must be constant within each unit ({group})")
    if per_unit["min"].nunique() < 2:
        raise ValueError(f"need at least 2 distinct {params} values across units to estimate a size effect")
    if d["y"].nunique() < 2:
        raise ValueError(f"{y} is constant over the rows used; nothing to fit")
    d["c_log_params"] = d["log_params"] - d["log_params"].mean()
    d["c_log_tokens"] = d["log_tokens"] - d["log_tokens"].mean()

    out = _mixedlm_fit(d)
    if out is None:
        out = _two_stage_fit(d)
    out["n_units"] = len(per_unit)
    out["n_rows"] = len(d)
    return out


def _mixedlm_fit(d: pd.DataFrame) -> pd.DataFrame | None:
    """Random-intercept fit; None when it raises, fails to converge, is singular or has non-finite SEs.

    ``y`` is standardised for the optimiser (statsmodels' tolerances are absolute, so a y with a small spread
    converges poorly) and the coefficients and SEs are mapped back; z and p are unaffected.
    """
    import warnings

    import pandas as pd
    import statsmodels.formula.api as smf
    from scipy import stats
    from statsmodels.tools.sm_exceptions import SingularMatrixWarning

    mean, sd = float(d["y"].mean()), float(d["y"].std(ddof=0))
    ds = d.assign(y=(d["y"] - mean) / sd)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = smf.mixedlm("y ~ c_log_params * c_log_tokens", ds, groups=ds["unit"]).fit(reml=True)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            return None
    # statsmodels' own "MLE may be on the boundary" warning uses an absolute threshold (group variance < 0.01), so it
    # is not used; singular = the group SD is < 1e-3 of the residual SD (cf. lme4's isSingular), or the covariance or
    # Hessian is singular.
    singular = any(
        issubclass(w.category, SingularMatrixWarning) or "not positive definite" in str(w.message) for w in caught
    )
    group_var, scale = float(np.asarray(fit.cov_re)[0, 0]), float(fit.scale)
    if not (np.isfinite(group_var) and np.isfinite(scale) and scale > 0) or group_var <= 1e-6 * scale:
        singular = True
    coef = fit.fe_params.reindex(_MIXED_TERMS).to_numpy(dtype=float)
    se = fit.bse_fe.reindex(_MIXED_TERMS).to_numpy(dtype=float)
    if singular or not fit.converged or not (np.all(np.isfinite(coef)) and np.all(np.isfinite(se)) and np.all(se > 0)):
        return None
    z = coef / se
    coef = coef * sd
    coef[0] += mean
    return pd.DataFrame(
        {"coef": coef, "std_err": se * sd, "stat": z, "p": 2 * stats.norm.sf(np.abs(z)), "method": "mixedlm"},
        index=pd.Index(_MIXED_TERMS, name="term"),
    )


def _two_stage_fit(d: pd.DataFrame) -> pd.DataFrame:
    """Summary-statistics fit: per-unit OLS on c_log_tokens, then intercepts and slopes regressed on c_log_params."""
    import pandas as pd
    import statsmodels.api as sm

    stage1 = []
    for unit, g in d.groupby("unit", sort=True):
        if g["c_log_tokens"].nunique() < 2:
            raise ValueError(f"two-stage fallback needs >= 2 distinct token counts per unit; unit {unit!r} has fewer")
        slope, intercept = np.polyfit(g["c_log_tokens"].to_numpy(), g["y"].to_numpy(), 1)
        stage1.append((float(g["c_log_params"].iloc[0]), float(intercept), float(slope)))
    s1 = np.asarray(stage1)
    x = sm.add_constant(s1[:, 0])
    fit_a = sm.OLS(s1[:, 1], x).fit()  # intercepts: Intercept, c_log_params
    fit_b = sm.OLS(s1[:, 2], x).fit()  # slopes: c_log_tokens, interaction
    coef = np.r_[fit_a.params, fit_b.params]
    se = np.r_[fit_a.bse, fit_b.bse]
    return pd.DataFrame(
        {
            "coef": coef,
            "std_err": se,
            "stat": np.r_[fit_a.tvalues, fit_b.tvalues],
            "p": np.r_[fit_a.pvalues, fit_b.pvalues],
            "method": "two-stage",
        },
        index=pd.Index(_MIXED_TERMS, name="term"),
    )


def holm_adjust(p_values: ArrayLike) -> FloatArray:
    """Holm-Bonferroni step-down adjusted p values (same order as given), for testing several tasks or terms at
    once with family-wise error control and no independence assumption."""
    from statsmodels.stats.multitest import multipletests

    p = probability(p_values, "p_values")
    if p.ndim != 1 or p.size == 0:
        raise ValueError("p_values must be a non-empty 1-D sequence")
    return np.asarray(multipletests(p, method="holm")[1], dtype=np.float64)


def crossing(x: ArrayLike, y: ArrayLike, level: float) -> float:
    """First x at which the (noisy, rising) curve y reaches ``level``, by linear interpolation; NaN if it never does."""
    xs, ys = as_float_array(x, "x"), as_float_array(y, "y")
    if xs.shape != ys.shape or xs.ndim != 1:
        raise ValueError("x and y must be 1-D arrays of the same length")
    hit = np.flatnonzero(ys >= level)
    if hit.size == 0:
        return float("nan")
    i = int(hit[0])
    if i == 0:
        return float(xs[0])
    return float(xs[i - 1] + (level - ys[i - 1]) * (xs[i] - xs[i - 1]) / (ys[i] - ys[i - 1]))


def onset_size(sizes: ArrayLike, y: ArrayLike, level: float = 0.5) -> float:
    """Model size at which a rising curve first reaches ``level``, interpolated on log10(size); NaN if it never does."""
    s = as_float_array(sizes, "sizes")
    if np.any(s <= 0):
        raise ValueError("sizes must be positive")
    return float(10 ** crossing(np.log10(s), y, level))


def onsets_increase(onsets: ArrayLike) -> bool:
    """Claim check: onsets (model sizes, NaN for a curve that never reaches its level) listed from the least to the
    most demanding metric setting move strictly later, at least two of them are reached, and once one setting is
    never reached no stricter one is. False for onsets that stay put, reverse, or skip a setting."""
    o = np.asarray(onsets, dtype=float)
    if o.ndim != 1 or o.size < 2 or np.any(np.isinf(o)) or np.any(o[np.isfinite(o)] <= 0):
        raise ValueError("need a 1-D list of at least two onsets: positive sizes, or NaN for never reached")
    reached = np.isfinite(o)
    n = int(reached.sum())
    return bool(n >= 2 and reached[:n].all() and np.all(np.diff(o[:n]) > 0))


def interaction_verdict(coef: float, p_adjusted: float, alpha: float = 0.05) -> str:
    """Claim check for inverse scaling over training: "inverse" when the size x training interaction is negative
    and significant after correction, "positive" when positive and significant, else "none"."""
    coef, p_adjusted = float(coef), float(p_adjusted)
    if not np.isfinite(coef) or not 0 <= p_adjusted <= 1:
        raise ValueError(f"need a finite coefficient and a p value in [0, 1], got {coef!r}, {p_adjusted!r}")
    if p_adjusted >= alpha:
        return "none"
    return "inverse" if coef < 0 else "positive"


def inverse_scaling_table(
    table: pd.DataFrame,
    tests: Sequence[str],
    metrics: Sequence[str],
    group: str = "unit",
    test_column: str = "task",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Michaelov & Bergen's test for every test x metric: the mixed model (:func:`params_tokens_mixedlm`, the unit
    is ``group``) next to their plain least squares (:func:`params_tokens_regression`), Holm-corrected over the
    interactions that could be fitted, with :func:`interaction_verdict`. A metric that never varies on a test
    (e.g. exact match stuck at 0) is reported as "untestable" instead of fitted."""
    import pandas as pd

    if test_column not in table.columns:
        raise ValueError(f"column {test_column!r} not in the table")
    rows = []
    for test in tests:
        sub = table[(table[test_column] == test) & (table["tokens"] > 0)]
        if sub.empty:
            raise ValueError(f"no trained checkpoints for test {test!r}")
        for metric in metrics:
            row = {
                "test": test,
                "metric": metric,
                "coef": np.nan,
                "stat": np.nan,
                "p": np.nan,
                "method": "",
                "OLS t": np.nan,
                "OLS p": np.nan,
            }
            if sub[metric].nunique() < 2:
                row["method"] = "untestable (constant)"
            else:
                mixed = params_tokens_mixedlm(sub, metric, group=group).loc["c_log_params:c_log_tokens"]
                ols = params_tokens_regression(sub, metric).loc["log_params:log_tokens"]
                row.update(
                    coef=mixed["coef"],
                    stat=mixed["stat"],
                    p=mixed["p"],
                    method=mixed["method"],
                    **{"OLS t": ols["t"], "OLS p": ols["p"]},
                )
            rows.append(row)
    out = pd.DataFrame(rows)
    fitted = out["p"].notna()
    out["p (Holm)"] = np.nan
    out["verdict"] = "untestable"
    if fitted.any():
        out.loc[fitted, "p (Holm)"] = holm_adjust(out.loc[fitted, "p"].to_numpy())
        out.loc[fitted, "verdict"] = [
            interaction_verdict(c, p, alpha) for c, p in out.loc[fitted, ["coef", "p (Holm)"]].itertuples(index=False)
        ]
    return out


# --- App. A.3-A.4: item-varying difficulty, ROUGE-L-Sum's stitching, and shape checks ---------------------------------


def mean_accuracy_item_varying(error_rates: ArrayLike, target_length: int) -> float:
    """Expected accuracy when item ``n`` has its own per-token error ``eps_n``: ``mean((1 - eps_n)**L)``.

    By Jensen this is at least ``(1 - mean eps)**L``; error rates that vary by *token* (independently) give exactly the
    geometric law, so only item-level variation slows the decay.
    """
    eps = probability(error_rates, "error_rates")
    if eps.ndim != 1 or eps.size == 0:
        raise ValueError("error_rates must be a non-empty 1-D array (one rate per item)")
    return float(np.mean(np.power(1.0 - eps, positive_int(target_length, "target_length"))))


def _attempts(n_attempts: int) -> int:
    return positive_int(n_attempts, "n_attempts")


def rouge_lsum_recall_from_p(p: ArrayLike, n_attempts: int) -> FloatArray:
    """Union-LCS recall of ``K`` independent attempts at a reference (no chance matches): ``1 - (1 - p)**K``.

    Concave in ``p``: the point reflection of exact match's convex ``p**L`` (``1 - f(1 - p)`` with ``f(x) = x**K``).
    """
    return 1.0 - np.power(1.0 - probability(p, "p"), _attempts(n_attempts))


def rouge_lsum_f_from_p(p: ArrayLike, n_attempts: int) -> FloatArray:
    """ROUGE-L-Sum F-measure (what BIG-bench reports) of the same ``K`` attempts of ``L`` tokens each: ``2R / (K + 1)``.

    Precision divides the union-LCS hits by all ``K L`` written tokens, so extra attempts are penalised.
    """
    k = _attempts(n_attempts)
    return 2.0 * rouge_lsum_recall_from_p(p, k) / (k + 1)


def f_measure_break_even(n_attempts: int) -> float:
    """Per-token error rate above which ``K >= 2`` attempts beat one attempt in ROUGE-L-Sum F-measure.

    Root in (0, 1) of ``2 (1 - eps**K) / (K + 1) = 1 - eps``, i.e. ``2 (1 + eps + ... + eps**(K-1)) = K + 1``.
    """
    from scipy.optimize import brentq

    k = _attempts(n_attempts)
    if k < 2:
        raise ValueError(f"n_attempts must be >= 2 for a break-even point, got {k}")
    return float(brentq(lambda e: 2.0 * np.sum(e ** np.arange(k)) - (k + 1), 0.0, 1.0, xtol=1e-12))


def is_concave(x: ArrayLike, y: ArrayLike, se: ArrayLike = 0.0, z: float = 4.0) -> bool:
    """Claim check: no second divided difference of ``y(x)`` is positive by more than ``z`` of its standard errors.

    ``se`` are standard errors of ``y`` (independent); pass ``-y`` to check convexity. Needs >= 3 points.
    """
    xs, ys = as_float_array(x, "x"), as_float_array(y, "y")
    s = np.broadcast_to(as_float_array(se, "se"), ys.shape)
    if xs.ndim != 1 or xs.shape != ys.shape or xs.size < 3 or np.any(np.diff(xs) <= 0):
        raise ValueError("x and y must be 1-D of equal length >= 3, with x strictly increasing")
    if np.any(s < 0):
        raise ValueError("se must be >= 0")
    h1, h2 = np.diff(xs)[:-1], np.diff(xs)[1:]
    # d2 = 2 [y0/(h1 (h1+h2)) - y1/(h1 h2) + y2/(h2 (h1+h2))]
    c0, c1, c2 = 2 / (h1 * (h1 + h2)), -2 / (h1 * h2), 2 / (h2 * (h1 + h2))
    d2 = c0 * ys[:-2] + c1 * ys[1:-1] + c2 * ys[2:]
    d2_se = np.sqrt((c0 * s[:-2]) ** 2 + (c1 * s[1:-1]) ** 2 + (c2 * s[2:]) ** 2)
    return bool(np.all(d2 <= z * d2_se + 1e-12 * np.abs(c1)))


def log_log_slope(x: ArrayLike, y: ArrayLike) -> float:
    """Least-squares slope of ``log y`` on ``log x``: the exponent of a power law ``y ~ x**k``."""
    xs, ys = positive(x, "x"), positive(y, "y")
    if xs.ndim != 1 or xs.shape != ys.shape or xs.size < 2 or np.ptp(xs) == 0:
        raise ValueError("x and y must be 1-D of equal length >= 2, with x not constant")
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def has_power_exponent(x: ArrayLike, y: ArrayLike, exponent: float, rtol: float = 0.1) -> bool:
    """Claim check: ``y ~ x**exponent``, the fitted log-log slope within ``rtol`` (relative) of ``exponent``."""
    if not rtol > 0 or not np.isfinite(exponent) or exponent == 0:
        raise ValueError(f"need rtol > 0 and a finite, non-zero exponent, got {rtol!r}, {exponent!r}")
    return bool(abs(log_log_slope(x, y) - exponent) <= rtol * abs(exponent))
