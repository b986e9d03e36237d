"""Ruan, Maddison & Hashimoto (2024), "Observational Scaling Laws": forecast "emergent" tasks of large models from a
sigmoid in the principal components (PCs) of standard benchmarks, fitted only on models below a compute cutoff, and
compare it with the same sigmoid in log training FLOPs (or log parameters) alone.

Why: the mirage paper calls an ability emergent when it is sharp *and* unpredictable. Ruan et al. claim these tasks
become predictable once the scale axis is a capability measure read off cheap benchmarks instead of compute. This
module backtests that claim on their own released data (``data/third_party/obsscaling-emergent``), honestly: for a
cutoff ``C`` the benchmark imputation, the PCA, the predictor scaling and the sigmoid all see only the models with
training FLOPs ``<= C``; every larger model is predicted once and scored against its observed value.

Their setup as reimplemented here (from their public description and utilities; none of their code is used):
* PCs: the standard benchmarks' scores (0-1), missing values imputed by iterated rank-1 PCA on standardised columns
  (fitted on the training models, clipped to [0, 1]), then an *unstandardised* PCA; the first 3 PCs are the
  predictors. Default benchmark list: the 7 without GSM8K (their utilities exclude GSM8K "for some tasks, e.g.
  arithmetic"); :data:`BENCHMARKS` with GSM8K is an option.
* Link: ``y = b + (1 - b) * sigmoid(c + w . x)`` by least squares (scipy ``least_squares``, best of 3 starts),
  ceiling fixed at 1 and floor ``b`` fitted in [0, 0.2] (their default "sigmoid-parametric" with fixed height);
  ``floor="chance"`` fixes ``b`` at the task's chance level instead. BLEU (0-100) is divided by 100 so that every
  score lives in [0, 1]. The same link with log10 FLOPs or log10 parameters as the one predictor is the baseline.
* Cutoff: FLOPs <= 8.4e22 (Llama-2 7B) is the cutoff of their README example; :data:`SWEEP_CUTOFFS` adds others.
  Not verified against the paper's Sec. 4.1 text, which was not available here.

Not theirs: the interval. Ours is a bootstrap over the training models (the PCA is kept fixed across replicates for
speed; each replicate's sigmoid is refitted by a batched Levenberg-Marquardt started at the full fit), and
``interval="prediction"`` (default) adds one in-bag residual per replicate, so that ``covered`` asks whether a single
held-out model lands inside it. Models without a FLOPs figure (11 of 84: Qwen2, Mistral, Mixtral, Qwen1.5-110B,
Jamba) cannot be placed relative to a compute cutoff and are left out unless ``unknown_flops="heldout"``.
Cost: one cutoff (8 tasks x 3 forecasters, 200 replicates) takes about 1.5 s of CPU; :func:`sweep` about 9 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats
from scipy.special import expit

from . import data
from ._validation import as_float_array, positive_int
from .arithmetic.legs import CANNOT_TELL, FAILS, HOLDS
from .seeding import DEFAULT_SEED, rng

FloatArray = NDArray[np.float64]

BENCHMARKS: tuple[str, ...] = (
    "MMLU", "ARC-C", "HellaSwag", "Winograd", "TruthfulQA", "GSM8K", "XWinograd", "HumanEval",
)  # fmt: skip
BENCHMARKS_NO_GSM8K: tuple[str, ...] = tuple(b for b in BENCHMARKS if b != "GSM8K")
N_PCS = 3
PAPER_CUTOFF = 8.4e22  # training FLOPs of Llama-2 7B: the cutoff of their README's example
SWEEP_CUTOFFS: tuple[float, ...] = (1e22, 3e22, PAPER_CUTOFF, 3e23, 1e24)
FLOOR_BOUNDS = (0.0, 0.2)  # their fitted-floor range
MIN_TRAIN = 8
FIT_NFEV, BOOT_ITER = 5000, 60  # point fit: scipy least_squares evaluations; replicates: batched LM steps from it
COLUMNS = [
    "forecaster", "metric", "cutoff", "model", "family", "x", "predicted", "lower", "upper", "observed", "abs_error",
    "covered",
]  # fmt: skip


@dataclass(frozen=True)
class EmergentTask:
    """One emergent-task column of their file: its name there, a label, its chance level and the divisor that puts
    it on [0, 1] (100 for BLEU)."""

    column: str
    label: str
    chance: float
    scale: float = 1.0


# chance: exact-match/generation tasks 0; parsinlu_qa is 4-option multiple choice (BIG-bench), its smallest models
# sit at 0.24-0.25.
TASKS: dict[str, EmergentTask] = {
    "word_unscrambling": EmergentTask("word_unscrambling_2_exact_match", "word unscrambling (exact match)", 0.0),
    "ipa_transliterate_em": EmergentTask("ipa_transliterate_2_exact_match", "IPA transliterate (exact match)", 0.0),
    "ipa_transliterate_bleu": EmergentTask("ipa_transliterate_2_bleu", "IPA transliterate (BLEU/100)", 0.0, 100.0),
    "arithmetic_3ds": EmergentTask("arithmetic_3ds_2_acc", "3-digit subtraction", 0.0),
    "arithmetic_3da": EmergentTask("arithmetic_3da_2_acc", "3-digit addition", 0.0),
    "arithmetic_2dm": EmergentTask("arithmetic_2dm_2_acc", "2-digit multiplication", 0.0),
    "arithmetic_2da": EmergentTask("arithmetic_2da_2_acc", "2-digit addition", 0.0),
    "parsinlu_qa": EmergentTask("parsinlu_qa_2_acc", "Persian QA (accuracy)", 0.25),
}

Predictor = Literal["pcs", "log_flops", "log_size"]
FORECASTERS: dict[str, Predictor] = {"pc_sigmoid": "pcs", "flops_sigmoid": "log_flops", "size_sigmoid": "log_size"}
Floor = Literal["fitted", "chance"]
Interval = Literal["prediction", "mean"]


# --- the model table -----------------------------------------------------------------------------------------------


def model_table() -> pd.DataFrame:
    """Their 84 models, one row each: model, family, params, flops (absolute), log10_params, log10_flops, the 8
    benchmark scores (0-1, NaN where missing) and one column per :data:`TASKS` key on a 0-1 scale (NaN = not run).

    Both files are read through :func:`mirage_utils.data.read_csv` (hash-checked); the join on ``Model`` must be
    one-to-one and complete. ``flops``/``log10_flops`` are NaN for the 11 models without a FLOPs figure."""
    scores = data.read_csv("obsscaling/emergent")
    meta = data.read_csv("obsscaling/benchmark")
    merged = scores.merge(meta, on="Model", how="left", validate="one_to_one", indicator=True)
    if (merged["_merge"] != "both").any():
        missing = merged.loc[merged["_merge"] != "both", "Model"].tolist()
        raise data.DataFileError(f"Ruan et al. tables do not join on Model: {missing}")
    out = pd.DataFrame(
        {
            "model": merged["Model"],
            "family": merged["Model Family"],
            "params": merged["Model Size (B)"] * 1e9,
            "flops": merged["FLOPs (1E21)"] * 1e21,
        }
    )
    out["log10_params"] = np.log10(out["params"])
    out["log10_flops"] = np.log10(out["flops"])
    for bench in BENCHMARKS:
        out[bench] = merged[bench].astype(float)
    for key, task in TASKS.items():
        out[key] = merged[task.column].astype(float) / task.scale
    return out.reset_index(drop=True)


def _check_table(table: pd.DataFrame, needed: Sequence[str]) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing}; build it with model_table()")
    if table["model"].duplicated().any():
        raise ValueError("table repeats a model; one row per model is required")


def train_mask(table: pd.DataFrame, cutoff: float) -> NDArray[np.bool_]:
    """Models a forecast at ``cutoff`` (absolute training FLOPs) may see: known FLOPs ``<= cutoff``."""
    _check_table(table, ["model", "flops"])
    if not np.isfinite(cutoff) or cutoff <= 0:
        raise ValueError(f"cutoff must be a positive number of FLOPs, got {cutoff!r}")
    flops = table["flops"].to_numpy(dtype=float)
    return np.asarray(np.isfinite(flops) & (flops <= cutoff))


# --- PCA with imputation, fitted on training rows only ----------------------------------------------------------------


@dataclass(frozen=True)
class PCAFit:
    """Imputation and PCA learnt from the training models only; :meth:`transform` applies them to any rows."""

    benchmarks: tuple[str, ...]
    scale_mean: FloatArray  # standardisation used by the imputer (train nan-mean, nan-std)
    scale_std: FloatArray
    impute_mean: FloatArray  # rank-r imputer in standardised units: centre and components
    impute_components: FloatArray
    mean: FloatArray  # PCA on the imputed raw scores
    components: FloatArray  # (n_components, n_benchmarks)
    explained_variance_ratio: FloatArray
    n_train: int

    def _impute(self, raw: FloatArray, max_iter: int = 1000, tol: float = 1e-4) -> FloatArray:
        z = (raw - self.scale_mean) / self.scale_std
        missing = np.isnan(z)
        z = np.where(missing, 0.0, z)  # start from the training mean
        for _ in range(max_iter):
            recon = (z - self.impute_mean) @ self.impute_components.T @ self.impute_components + self.impute_mean
            if np.allclose(z, recon, atol=tol) or not missing.any():
                break
            z = np.where(missing, recon, z)
        return np.asarray(np.clip(z * self.scale_std + self.scale_mean, 0.0, 1.0))

    def transform(self, rows: pd.DataFrame) -> FloatArray:
        """PC coordinates ``(n_rows, n_components)`` of ``rows`` (benchmark columns; NaN imputed)."""
        _check_table(rows, ["model", *self.benchmarks])
        raw = rows[list(self.benchmarks)].to_numpy(dtype=float)
        if np.isinf(raw).any():
            raise ValueError("benchmark scores must be finite or NaN")
        return np.asarray((self._impute(raw) - self.mean) @ self.components.T)


def _leading_components(x: FloatArray, k: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean, top-k right singular vectors (sign fixed: largest |loading| positive) and variance ratios of ``x``."""
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    comps = vt[:k]
    signs = np.sign(comps[np.arange(comps.shape[0]), np.abs(comps).argmax(axis=1)])
    var = s**2
    return mean, comps * signs[:, None], var[:k] / var.sum()


def fit_pca(
    table: pd.DataFrame,
    train: ArrayLike,
    benchmarks: Sequence[str] = BENCHMARKS_NO_GSM8K,
    n_components: int = N_PCS,
    impute_rank: int = 1,
    max_iter: int = 1000,
    tol: float = 1e-4,
) -> PCAFit:
    """Fit the imputer and the PCA on ``table.loc[train]`` only (``train``: boolean mask over the rows).

    The imputer standardises each benchmark (train mean and std, NaN ignored), fills NaN with 0 (the mean) and
    alternates a rank-``impute_rank`` PCA reconstruction with refilling the missing cells until nothing moves by more
    than ``tol``; the PCA then runs on the imputed, unstandardised scores."""
    benchmarks = tuple(benchmarks)
    _check_table(table, ["model", *benchmarks])
    mask = np.asarray(train, dtype=bool)
    if mask.shape != (len(table),):
        raise ValueError(f"train must be a boolean mask of length {len(table)}, got shape {mask.shape}")
    n_components = positive_int(n_components, "n_components")
    impute_rank = positive_int(impute_rank, "impute_rank")
    if n_components > len(benchmarks) or impute_rank > len(benchmarks):
        raise ValueError(f"at most {len(benchmarks)} components from {len(benchmarks)} benchmarks")
    raw = table.loc[mask, list(benchmarks)].to_numpy(dtype=float)
    if raw.shape[0] < max(MIN_TRAIN, n_components + 1):
        raise ValueError(f"need at least {max(MIN_TRAIN, n_components + 1)} training models, got {raw.shape[0]}")
    if np.isinf(raw).any():
        raise ValueError("benchmark scores must be finite or NaN")
    counts = (~np.isnan(raw)).sum(axis=0)
    if (counts < 2).any():
        raise ValueError(f"benchmarks with < 2 training scores: {[b for b, c in zip(benchmarks, counts) if c < 2]}")
    mu = np.nanmean(raw, axis=0)
    sd = np.nanstd(raw, axis=0)
    if (sd == 0).any():
        flat = [b for b, s in zip(benchmarks, sd) if s == 0]
        raise ValueError(f"benchmarks constant over the training models: {flat}")
    z = (raw - mu) / sd
    missing = np.isnan(z)
    z = np.where(missing, 0.0, z)
    imp_mean, imp_comps, _ = _leading_components(z, impute_rank)
    for _ in range(max_iter):
        recon = (z - imp_mean) @ imp_comps.T @ imp_comps + imp_mean
        if np.allclose(z, recon, atol=tol) or not missing.any():
            break
        z = np.where(missing, recon, z)
        imp_mean, imp_comps, _ = _leading_components(z, impute_rank)
    imputed = np.clip(z * sd + mu, 0.0, 1.0)
    mean, comps, ratio = _leading_components(imputed, n_components)
    return PCAFit(benchmarks, mu, sd, imp_mean, imp_comps, mean, comps, ratio, int(raw.shape[0]))


# --- the sigmoid link ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigmoidFit:
    """``y = b + (1 - b) * sigmoid(c + w . (x - x_mean) / x_std)``: a least-squares fit on training rows."""

    intercept: float
    weights: FloatArray
    floor: float
    x_mean: FloatArray
    x_std: FloatArray
    sse: float

    def predict(self, x: ArrayLike) -> FloatArray:
        xs = as_float_array(x, "x")
        xs = xs[:, None] if xs.ndim == 1 else xs
        if xs.ndim != 2 or xs.shape[1] != self.weights.size:
            raise ValueError(f"x must have {self.weights.size} column(s), got shape {xs.shape}")
        z = self.intercept + ((xs - self.x_mean) / self.x_std) @ self.weights
        return np.asarray(self.floor + (1 - self.floor) * expit(z))


def _values(theta: FloatArray, x: FloatArray, floor: float | None) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Batched sigmoid for parameter rows ``theta``: predictions ``(B, n)``, the sigmoid ``s`` and the floors."""
    k = x.shape[1]
    b = theta[:, k + 1] if floor is None else np.full(theta.shape[0], floor)
    s = expit(theta[:, :1] + theta[:, 1 : k + 1] @ x.T)
    return b[:, None] + (1 - b)[:, None] * s, s, b


def _curves(theta: FloatArray, x: FloatArray, floor: float | None) -> tuple[FloatArray, FloatArray]:
    """Batched predictions ``(B, n)`` and Jacobian ``(B, n, p)`` (intercept, weights, then the floor if fitted)."""
    f, s, b = _values(theta, x, floor)
    ds = (1 - b)[:, None] * s * (1 - s)
    jac = np.empty((*f.shape, theta.shape[1]))
    jac[:, :, 0] = ds
    jac[:, :, 1 : x.shape[1] + 1] = ds[:, :, None] * x[None, :, :]
    if floor is None:
        jac[:, :, -1] = 1 - s
    return f, jac


def _levenberg_marquardt(
    x: FloatArray,
    y: FloatArray,
    weights: FloatArray,
    theta: FloatArray,
    floor: float | None,
    bounds: tuple[float, float],
    max_iter: int = 200,
    rtol: float = 1e-8,
) -> tuple[FloatArray, FloatArray]:
    """Weighted least squares for many replicates at once (rows of ``weights``/``theta``), floor clipped to bounds.

    A replicate stops when an accepted step lowers its loss by less than ``rtol`` (relative) or its damping runs
    away (no step helps); only the replicates still moving are computed."""
    theta = theta.copy()
    k = x.shape[1]
    eye = np.eye(theta.shape[1])

    def loss(th: FloatArray, w: FloatArray) -> FloatArray:
        f, _, _ = _values(th, x, floor)
        return np.asarray(((y - f) ** 2 * w).sum(axis=1))

    cur = loss(theta, weights)
    lam = np.full(theta.shape[0], 1e-2)
    idx = np.arange(theta.shape[0])
    for _ in range(max_iter):
        th, w, lm = theta[idx], weights[idx], lam[idx]
        f, jac = _curves(th, x, floor)
        jw = jac * w[:, :, None]
        jtj = jw.transpose(0, 2, 1) @ jac
        grad = (jw.transpose(0, 2, 1) @ (y - f)[:, :, None])[:, :, 0]
        damp = lm[:, None, None] * (jtj * eye) + 1e-8 * eye  # Marquardt scaling plus a ridge: never singular
        cand = th + np.linalg.solve(jtj + damp, grad[:, :, None])[:, :, 0]
        if floor is None:
            cand[:, k + 1] = np.clip(cand[:, k + 1], *bounds)
        new = loss(cand, w)
        better = new < cur[idx]
        gain = np.where(better, cur[idx] - new, 0.0)
        theta[idx[better]] = cand[better]
        cur[idx[better]] = new[better]
        lam[idx] = np.where(better, lm / 3, lm * 4)
        done = (better & (gain <= rtol * (1e-12 + cur[idx]))) | (lam[idx] >= 1e10)
        idx = idx[~done]
        if idx.size == 0:
            break
    return theta, cur


def _standardise(x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    if (std == 0).any():
        raise ValueError("a predictor is constant over the training models")
    return (x - mean) / std, mean, std


def _starts(xs: FloatArray, y: FloatArray, floor: float | None, bounds: tuple[float, float]) -> FloatArray:
    """A few starting points: theirs (0, 0.01..., floor 0) and a logit-linear least-squares guess at two floors."""
    k = xs.shape[1]
    floors = [bounds[0], float(np.clip(np.quantile(y, 0.1), *bounds))] if floor is None else [floor]
    starts = [np.r_[0.0, np.full(k, 0.01), [bounds[0]] if floor is None else []]]
    design = np.column_stack([np.ones(len(y)), xs])
    for b in floors:
        p = np.clip((y - b) / (1 - b), 0.01, 0.99)
        coef = np.linalg.lstsq(design, np.log(p / (1 - p)), rcond=None)[0]
        starts.append(np.r_[coef, [b] if floor is None else []])
    return np.array(starts)


def fit_sigmoid(
    x: ArrayLike,
    y: ArrayLike,
    floor: float | None = None,
    floor_bounds: tuple[float, float] = FLOOR_BOUNDS,
) -> SigmoidFit:
    """Least-squares ``y = b + (1 - b) * sigmoid(c + w . x)`` (ceiling 1). ``floor=None`` fits ``b`` within
    ``floor_bounds`` (their default, [0, 0.2]); a number fixes it (e.g. the task's chance level)."""
    xs = as_float_array(x, "x")
    xs = xs[:, None] if xs.ndim == 1 else xs
    ys = as_float_array(y, "y")
    if xs.ndim != 2 or ys.ndim != 1 or xs.shape[0] != ys.size:
        raise ValueError(f"x must be (n,) or (n, k) and y (n,), got {xs.shape} and {ys.shape}")
    if np.any((ys < 0) | (ys > 1)):
        raise ValueError("y must lie in [0, 1] (rescale BLEU and other 0-100 scores first)")
    lo, hi = floor_bounds
    if not 0 <= lo < hi < 1:
        raise ValueError(
            f"floor_bounds must satisfy 0 <= low < high < 1 (fix the floor with floor=), got {floor_bounds!r}"
        )
    if floor is not None and not 0 <= floor < 1:
        raise ValueError(f"floor must lie in [0, 1), got {floor!r}")
    n_params = xs.shape[1] + 1 + (floor is None)
    if ys.size < n_params + 2:
        raise ValueError(f"need at least {n_params + 2} points for {n_params} parameters, got {ys.size}")
    z, mean, std = _standardise(xs)
    k = xs.shape[1]
    bounds = (np.r_[np.full(k + 1, -np.inf), [lo] if floor is None else []],
              np.r_[np.full(k + 1, np.inf), [hi] if floor is None else []])  # fmt: skip

    def residuals(th: FloatArray) -> FloatArray:
        return np.asarray(_values(th[None, :], z, floor)[0][0] - ys)

    def jacobian(th: FloatArray) -> FloatArray:
        return np.asarray(_curves(th[None, :], z, floor)[1][0])

    best: tuple[float, FloatArray] | None = None
    for start in _starts(z, ys, floor, (lo, hi)):  # scipy's trust-region reflective least squares, best of a few starts
        res = optimize.least_squares(
            residuals, start, jac=jacobian, bounds=bounds, method="trf", xtol=1e-12, ftol=1e-12, gtol=1e-12,
            max_nfev=FIT_NFEV,
        )  # fmt: skip
        if best is None or 2 * res.cost < best[0]:
            best = (2 * float(res.cost), np.asarray(res.x, dtype=float))
    assert best is not None
    sse, theta = best
    b = float(theta[k + 1]) if floor is None else float(floor)
    return SigmoidFit(float(theta[0]), theta[1 : k + 1].copy(), b, mean, std, sse)


def _theta(fit: SigmoidFit, floor: float | None) -> FloatArray:
    return np.concatenate([[fit.intercept], fit.weights, [fit.floor] if floor is None else []])


def bootstrap_predict(
    x_train: ArrayLike,
    y_train: ArrayLike,
    x_new: ArrayLike,
    floor: float | None = None,
    n_boot: int = 200,
    level: float = 0.95,
    interval: Interval = "prediction",
    seed: int = DEFAULT_SEED,
    floor_bounds: tuple[float, float] = FLOOR_BOUNDS,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Point prediction (fit on all training rows) and a bootstrap interval at ``x_new``.

    Each replicate resamples the training rows with replacement (as multinomial weights) and refits the sigmoid,
    warm-started at the full fit; ``interval="prediction"`` adds one residual drawn from that replicate's in-bag rows
    to each prediction (a single model's score, not the curve), ``"mean"`` does not. Quantiles are clipped to [0, 1].
    """
    n_boot = positive_int(n_boot, "n_boot")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    if interval not in ("prediction", "mean"):
        raise ValueError(f"interval must be 'prediction' or 'mean', got {interval!r}")
    fit = fit_sigmoid(x_train, y_train, floor, floor_bounds)
    xt = as_float_array(x_train, "x_train")
    xt = xt[:, None] if xt.ndim == 1 else xt
    xn = as_float_array(x_new, "x_new")
    xn = xn[:, None] if xn.ndim == 1 else xn
    if xn.ndim != 2 or xn.shape[1] != xt.shape[1]:
        raise ValueError(f"x_new must have {xt.shape[1]} column(s), got shape {xn.shape}")
    y = np.asarray(y_train, dtype=float)
    zt, zn = (xt - fit.x_mean) / fit.x_std, (xn - fit.x_mean) / fit.x_std
    gen = rng(seed)
    counts = gen.multinomial(y.size, np.full(y.size, 1 / y.size), size=n_boot).astype(float)
    theta0 = np.repeat(_theta(fit, floor)[None, :], n_boot, axis=0)
    theta, _ = _levenberg_marquardt(zt, y, counts, theta0, floor, floor_bounds, BOOT_ITER)
    preds, _, _ = _values(theta, zn, floor)
    if interval == "prediction":
        fitted, _, _ = _values(theta, zt, floor)
        resid = y[None, :] - fitted
        cdf = np.cumsum(counts, axis=1) / y.size  # draw in-bag rows in proportion to their bootstrap counts
        picks = np.minimum((gen.random((n_boot, zn.shape[0]))[:, :, None] >= cdf[:, None, :]).sum(axis=2), y.size - 1)
        preds = preds + np.take_along_axis(resid, picks, axis=1)
    tail = (1 - level) / 2
    lower, upper = np.clip(np.quantile(preds, [tail, 1 - tail], axis=0), 0.0, 1.0)
    return fit.predict(xn), np.asarray(lower), np.asarray(upper)


# --- backtests -----------------------------------------------------------------------------------------------------


def backtest(
    table: pd.DataFrame,
    cutoff: float = PAPER_CUTOFF,
    tasks: Sequence[str] = tuple(TASKS),
    forecasters: Sequence[str] = tuple(FORECASTERS),
    benchmarks: Sequence[str] = BENCHMARKS_NO_GSM8K,
    n_components: int = N_PCS,
    floor: Floor = "fitted",
    n_boot: int = 200,
    level: float = 0.95,
    interval: Interval = "prediction",
    seed: int = DEFAULT_SEED,
    unknown_flops: Literal["exclude", "heldout"] = "exclude",
) -> pd.DataFrame:
    """Fit each forecaster on the models with FLOPs <= ``cutoff`` and predict every larger model, per task.

    Returns one row per forecaster x task x held-out model with :data:`COLUMNS` (``cutoff`` and ``x`` in log10
    FLOPs; ``metric`` is the :data:`TASKS` key; scores on a 0-1 scale) plus ``interval`` and ``n_train``. Forecasters:
    ``pc_sigmoid`` (first ``n_components`` PCs of ``benchmarks``), ``flops_sigmoid`` (log10 FLOPs),
    ``size_sigmoid`` (log10 parameters). Nothing about a held-out model is read except to predict and score it.
    ``unknown_flops="heldout"`` also predicts the models without a FLOPs figure (their split puts them in the test
    set) with the forecasters that can (``x`` is NaN there; ``flops_sigmoid`` cannot, so paired comparisons
    in :func:`compare` still use the shared models only)."""
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ValueError(f"unknown tasks {unknown}; known: {list(TASKS)}")
    _check_table(table, ["model", "family", "flops", "params", *benchmarks, *tasks])
    bad = [f for f in forecasters if f not in FORECASTERS]
    if bad:
        raise ValueError(f"unknown forecasters {bad}; known: {list(FORECASTERS)}")
    if floor not in ("fitted", "chance"):
        raise ValueError(f"floor must be 'fitted' or 'chance', got {floor!r}")
    if unknown_flops not in ("exclude", "heldout"):
        raise ValueError(f"unknown_flops must be 'exclude' or 'heldout', got {unknown_flops!r}")
    train = train_mask(table, cutoff)
    held = np.isfinite(table["flops"].to_numpy(dtype=float)) & ~train
    if unknown_flops == "heldout":
        held = held | ~np.isfinite(table["flops"].to_numpy(dtype=float))
    if train.sum() < MIN_TRAIN or not held.any():
        counts = f"{int(train.sum())} training and {int(held.sum())} held-out models"
        raise ValueError(f"cutoff {cutoff:.3g} leaves {counts} (need >= {MIN_TRAIN} and >= 1)")
    predictors: dict[str, FloatArray] = {
        "log_flops": np.log10(table["flops"].to_numpy(dtype=float))[:, None],
        "log_size": np.log10(table["params"].to_numpy(dtype=float))[:, None],
    }
    if "pc_sigmoid" in forecasters:
        pca = fit_pca(table, train, benchmarks, n_components)
        predictors["pcs"] = pca.transform(table)
    frames = []
    for task in tasks:
        y = table[task].to_numpy(dtype=float)
        tr, te = train & np.isfinite(y), held & np.isfinite(y)
        if tr.sum() < MIN_TRAIN or not te.any():
            continue
        task_floor = None if floor == "fitted" else TASKS[task].chance
        for name in forecasters:
            x = predictors[FORECASTERS[name]]
            te_x = te & np.isfinite(x).all(axis=1)
            if not te_x.any():
                continue
            pred, lower, upper = bootstrap_predict(x[tr], y[tr], x[te_x], task_floor, n_boot, level, interval, seed)
            obs = y[te_x]
            frames.append(
                pd.DataFrame(
                    {
                        "forecaster": name,
                        "metric": task,
                        "cutoff": np.log10(cutoff),
                        "model": table.loc[te_x, "model"].to_numpy(),
                        "family": table.loc[te_x, "family"].to_numpy(),
                        "x": predictors["log_flops"][te_x, 0],
                        "predicted": pred,
                        "lower": lower,
                        "upper": upper,
                        "observed": obs,
                        "abs_error": np.abs(pred - obs),
                        "covered": (lower <= obs) & (obs <= upper),
                        "interval": f"bootstrap-{interval}",
                        "n_train": int(tr.sum()),
                    }
                )
            )
    if not frames:
        raise ValueError("no task has enough training and held-out models at this cutoff")
    return pd.concat(frames, ignore_index=True)


def sweep(table: pd.DataFrame, cutoffs: Sequence[float] = SWEEP_CUTOFFS, **kwargs: Any) -> pd.DataFrame:
    """:func:`backtest` at every cutoff (absolute FLOPs), stacked; keyword arguments pass through."""
    if len(cutoffs) == 0:
        raise ValueError("cutoffs must not be empty")
    frames: list[pd.DataFrame] = [backtest(table, c, **kwargs) for c in cutoffs]
    return pd.concat(frames, ignore_index=True)


def summarise(backtests: pd.DataFrame) -> pd.DataFrame:
    """Per forecaster x metric x cutoff: n_train, n_heldout, mean and median absolute error, interval coverage and
    mean interval width, over the held-out models."""
    _check_backtests(backtests)
    grouped = backtests.assign(width=backtests["upper"] - backtests["lower"]).groupby(
        ["forecaster", "metric", "cutoff"], sort=True
    )
    out = grouped.agg(
        n_train=("n_train", "first"),
        n_heldout=("model", "size"),
        mae=("abs_error", "mean"),
        median_ae=("abs_error", "median"),
        coverage=("covered", "mean"),
        mean_width=("width", "mean"),
    )
    return out.reset_index()


def _check_backtests(backtests: pd.DataFrame) -> None:
    if not isinstance(backtests, pd.DataFrame):
        raise ValueError("backtests must be a DataFrame from backtest() or sweep()")
    missing = [c for c in [*COLUMNS, "n_train"] if c not in backtests.columns]
    if missing:
        raise ValueError(f"backtests lacks columns {missing}")
    if backtests.empty:
        raise ValueError("backtests is empty")


def compare(backtests: pd.DataFrame, forecaster: str = "pc_sigmoid", baseline: str = "flops_sigmoid") -> pd.DataFrame:
    """Paired comparison per metric x cutoff on the same held-out models: both mean absolute errors, their ratio,
    the share of models ``forecaster`` predicts more closely, and a two-sided Wilcoxon signed-rank p (models of one
    family are not independent; read p as descriptive)."""
    _check_backtests(backtests)
    for name in (forecaster, baseline):
        if name not in set(backtests["forecaster"]):
            raise ValueError(f"forecaster {name!r} is not in backtests")
    keys = ["metric", "cutoff", "model"]
    a = backtests.loc[backtests["forecaster"] == forecaster, [*keys, "abs_error"]]
    b = backtests.loc[backtests["forecaster"] == baseline, [*keys, "abs_error"]]
    paired = a.merge(b, on=keys, how="inner", suffixes=("_a", "_b"), validate="one_to_one")  # shared models only
    rows = []
    for (metric, cutoff), g in paired.groupby(["metric", "cutoff"], sort=True):
        diff = g["abs_error_a"].to_numpy() - g["abs_error_b"].to_numpy()
        p = float(stats.wilcoxon(diff).pvalue) if len(diff) >= 5 and np.any(diff != 0) else float("nan")
        mae_a, mae_b = float(g["abs_error_a"].mean()), float(g["abs_error_b"].mean())
        rows.append(
            {
                "metric": metric,
                "cutoff": cutoff,
                "n_heldout": len(g),
                f"mae_{forecaster}": mae_a,
                f"mae_{baseline}": mae_b,
                "mae_ratio": mae_a / mae_b if mae_b > 0 else float("nan"),
                "share_closer": float((diff < 0).mean()),
                "wilcoxon_p": p,
            }
        )
    return pd.DataFrame(rows)


def verdicts(comparison: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Add ``verdict`` to :func:`compare`'s table for the claim "the first forecaster predicts the held-out models
    more closely than the baseline": holds when its mean absolute error is lower and the paired Wilcoxon p < alpha,
    fails when it is higher (or equal) with p < alpha, cannot tell otherwise (including p = NaN, < 5 models)."""
    if not isinstance(comparison, pd.DataFrame) or not {"mae_ratio", "wilcoxon_p"} <= set(comparison.columns):
        raise ValueError("comparison must be a DataFrame from compare()")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    sig = comparison["wilcoxon_p"].lt(alpha)
    better = comparison["mae_ratio"].lt(1)
    verdict = np.where(sig & better, HOLDS, np.where(sig & ~better, FAILS, CANNOT_TELL))
    return comparison.assign(verdict=verdict)
