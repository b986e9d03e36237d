"""Forecasters for :mod:`mirage_utils.forecast` (import them from there) and the two curve fits behind them.

Each forecaster is a frozen dataclass with ``fit(train) -> Fitted`` and ``predict(fitted, x) -> (mean, lower,
upper)``; the base class does the replicate bookkeeping (a fit per seed and a t interval over seeds, or a parametric
bootstrap for a single replicate) so a subclass only says what it fits. Fits are batched: one call fits every
bootstrap draw at once (a 10^5-row, one-replicate family backtests in seconds). They never raise on a flat or
degenerate curve (a backtest from below a jump sees exactly such curves): a line's slope is then 0 and a sigmoid's
midpoint runs to its bound.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from scipy.special import expit, logit

from . import scaling
from ._validation import as_float_array, positive, positive_int
from .seeding import rng

FloatArray = NDArray[np.float64]
Batch = Mapping[str, FloatArray]  # column -> (draws, sizes)
X, REPLICATE = "x", "replicate"
MIN_SIZES = 3  # distinct sizes a fit needs at or below a cutoff
MAX_SLOPE = 20.0  # steepest sigmoid allowed, in logits per unit of the axis (per decade of size: 10%-90% in 0.22 dec.)
MIDPOINT_PAD = 5.0  # the sigmoid's midpoint may sit this far (axis units) outside the fitted points
_LOG_CLIP = 700.0  # exp() argument clip, so a far extrapolation saturates instead of overflowing


# --- fits (each row of a 2-D ``y`` is one curve) -------------------------------------------------------------------


def residual_sd(resid: FloatArray, n_params: int) -> FloatArray:
    """Per row: residual standard deviation with ``n_params`` fitted parameters (0 with no degrees of freedom)."""
    dof = resid.shape[-1] - n_params
    return np.sqrt(np.sum(resid**2, axis=-1) / dof) if dof > 0 else np.zeros(resid.shape[:-1])


def line(u: FloatArray, y: FloatArray) -> FloatArray:
    """Least-squares line ``y = a + b u`` for each row of ``y`` (shape (draws, n)); returns (draws, 3): a, b and
    the residual sd."""
    y = np.atleast_2d(y)
    du = u - u.mean()
    ss = float(np.sum(du**2))
    ym = y.mean(axis=1)
    b = (y - ym[:, None]) @ du / ss if ss > 0 else np.zeros(y.shape[0])
    a = ym - b * u.mean()
    resid = y - (a[:, None] + b[:, None] * u)
    return np.column_stack([a, b, residual_sd(resid, 2)])


def sigmoid(u: FloatArray, mid: FloatArray, slope: FloatArray, floor: float, ceiling: float) -> FloatArray:
    """``floor + (ceiling - floor) * expit(slope * (u - mid))``; ``mid`` and ``slope`` of shape (draws,) give
    (draws, len(u))."""
    return floor + (ceiling - floor) * expit(np.asarray(slope)[:, None] * (u - np.asarray(mid)[:, None]))


def fit_sigmoid(
    u: FloatArray, y: FloatArray, floor: float, ceiling: float, rising: bool = True, iterations: int = 100
) -> FloatArray:
    """Least-squares sigmoid between fixed ``floor`` and ``ceiling`` for each row of ``y`` (2 free parameters:
    midpoint and slope); returns (draws, 3): mid, slope and the residual sd.

    The slope is kept in ``(0, MAX_SLOPE)`` (``(-MAX_SLOPE, 0)`` when not ``rising``) and the midpoint within the
    points' range widened by ``MIDPOINT_PAD`` by fitting logit-transformed parameters. Levenberg-Marquardt with a
    closed-form 2x2 step, run on every row at once (scipy has no batched least squares; tests check it against
    ``scipy.optimize.least_squares``). Start: a line through the clipped logits.
    """
    y0 = np.atleast_2d(y)
    span = ceiling - floor
    lo, width = float(u.min()) - MIDPOINT_PAD, float(u.max() - u.min()) + 2 * MIDPOINT_PAD
    sign = 1.0 if rising else -1.0
    start = line(u, logit(np.clip((y0 - floor) / span, 0.02, 0.98)))
    a, b = start[:, 0], start[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        mid_ols = np.where(b * sign > 0, -a / b, u.max() + 1.0)
    slope_ols = np.clip(sign * b, 0.05, MAX_SLOPE - 0.05)
    # several starts per curve (the logit line, and midpoints across and just beyond the points at two slopes),
    # all run at once; the best end point per curve is kept (the cost has flat valleys near the bounds)
    grid = [(m, sl) for m in (*np.quantile(u, [0.1, 0.5, 0.9]), u.max() + 1.0) for sl in (1.0, 5.0)]
    mids = np.concatenate([mid_ols, *(np.full(y0.shape[0], m) for m, _ in grid)])
    slopes = np.concatenate([slope_ols, *(np.full(y0.shape[0], sl) for _, sl in grid)])
    n_starts = 1 + len(grid)
    y = np.tile(y0, (n_starts, 1))
    mids = np.clip(mids, lo + 0.01, lo + width - 0.01)
    theta = np.column_stack([logit((mids - lo) / width), logit(slopes / MAX_SLOPE)])

    def unpack(t: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        em, es = expit(t[:, 0]), expit(t[:, 1])
        return lo + width * em, sign * MAX_SLOPE * es, width * em * (1 - em), sign * MAX_SLOPE * es * (1 - es)

    def cost(t: FloatArray, target: FloatArray) -> FloatArray:
        mid, slope, _, _ = unpack(t)
        return np.asarray(np.sum((sigmoid(u, mid, slope, floor, ceiling) - target) ** 2, axis=1), dtype=np.float64)

    lam = np.full(y.shape[0], 1e-2)
    fails = np.zeros(y.shape[0], dtype=int)
    current = cost(theta, y)
    for _ in range(iterations):
        act = np.flatnonzero(fails < 5)  # a curve that has not improved in five tries (shorter steps) is done
        if act.size == 0:
            break
        th, ya, la = theta[act], y[act], lam[act]
        mid, slope, dmid, dslope = unpack(th)
        sg = expit(slope[:, None] * (u - mid[:, None]))
        r = floor + span * sg - ya
        ds = span * sg * (1 - sg)
        j0, j1 = -slope[:, None] * ds * dmid[:, None], (u - mid[:, None]) * ds * dslope[:, None]
        a00, a01, a11 = (j0 * j0).sum(1), (j0 * j1).sum(1), (j1 * j1).sum(1)
        g0, g1 = (j0 * r).sum(1), (j1 * r).sum(1)
        a00d, a11d = a00 + la * (a00 + 1e-12), a11 + la * (a11 + 1e-12)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            det = a00d * a11d - a01**2
            step = np.column_stack([(a11d * g0 - a01 * g1) / det, (a00d * g1 - a01 * g0) / det])
        trial = th - np.nan_to_num(step, posinf=0.0, neginf=0.0)
        new = cost(trial, ya)
        better = new < current[act] * (1 - 1e-10) - 1e-300  # a negligible gain counts as no gain
        theta[act] = np.where(better[:, None], trial, th)
        current[act] = np.where(better, new, current[act])
        lam[act] = np.clip(np.where(better, la / 3, la * 4), 1e-12, 1e12)
        fails[act] = np.where(better, 0, fails[act] + 1)
    best = np.argmin(current.reshape(n_starts, -1), axis=0) * y0.shape[0] + np.arange(y0.shape[0])
    mid, slope, _, _ = unpack(theta[best])
    resid = sigmoid(u, mid, slope, floor, ceiling) - y0
    return np.column_stack([mid, slope, residual_sd(resid, 2)])


def check_frame(frame: pd.DataFrame, columns: Collection[str], what: str = "family") -> None:
    """Raise ValueError unless ``frame`` is a family frame with finite ``columns``, positive sizes, one row per
    size and replicate."""
    missing = [c for c in (X, REPLICATE, *columns) if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing} (build it with family_frame)")
    x = positive(frame[X], f"{what} sizes (x)")
    for col in columns:
        as_float_array(frame[col], f"{what} column {col!r}")
    codes = pd.factorize(frame[REPLICATE])[0]
    if np.unique(np.column_stack([x, codes]), axis=0).shape[0] < len(frame):
        raise ValueError(f"{what} has several rows per size and replicate (use family_frame(per_example=True))")


@lru_cache(maxsize=64)
def _t_quantile(confidence: float, dof: int) -> float:
    return float(stats.t.ppf(0.5 + confidence / 2, dof))


# --- fitted results and forecasters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fitted:
    """What a forecaster learnt from one training slice. ``params`` has one row per replicate ("seeds") or per
    bootstrap draw ("bootstrap", with the point fit in ``point``); ``x_max`` is the largest size it saw, so a
    backtest can refuse a fit that reached above its cutoff."""

    forecaster: str
    target: str
    method: Literal["seeds", "bootstrap"]
    params: FloatArray
    point: FloatArray | None
    confidence: float
    x_max: float
    n_sizes: int
    n_replicates: int

    @property
    def interval(self) -> str:
        """How the interval was made, for tables: e.g. "seed t interval (3 seeds, 95%)"."""
        pct = f"{self.confidence:.0%}"
        if self.method == "seeds":
            return f"seed t interval ({self.n_replicates} seeds, {pct})"
        return f"parametric bootstrap ({self.params.shape[0]} draws, {pct})"


@dataclass(frozen=True, kw_only=True)
class Forecaster:
    """Base of every forecaster: fits per replicate or by parametric bootstrap, predicts with an interval.

    Subclasses say which columns they read (:meth:`inputs`) and implement three batched hooks on
    ``u = log10(x)``: ``_fit`` (columns of shape (draws, sizes) -> parameters (draws, p)), ``_predict``
    (parameters (draws, p) -> forecasts (draws, len(u))) and ``_simulate`` (``n`` parametric draws of the inputs
    around a point fit, for the bootstrap).
    """

    target: str
    confidence: float = 0.95
    n_boot: int = 200
    seed: int = 0

    @property
    def name(self) -> str:
        raise NotImplementedError

    def inputs(self) -> tuple[str, ...]:
        """Columns of the family frame this forecaster reads."""
        return (self.target,)

    def fit(self, train: pd.DataFrame) -> Fitted:
        """Fit on ``train`` (a family frame) only. Each replicate needs >= 3 distinct sizes."""
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must lie in (0, 1), got {self.confidence}")
        positive_int(self.n_boot, "n_boot")
        cols = self.inputs()
        check_frame(train, cols, "train")
        x = train[X].to_numpy(float)
        codes, reps = pd.factorize(train[REPLICATE], sort=True)
        values = {c: train[c].to_numpy(float) for c in cols}
        data = []
        for r in range(len(reps)):
            idx = np.flatnonzero(codes == r)
            idx = idx[np.argsort(x[idx], kind="stable")]
            if idx.size < MIN_SIZES:
                raise ValueError(f"each replicate needs >= {MIN_SIZES} distinct sizes to fit, got {idx.size}")
            data.append((np.log10(x[idx]), {c: v[idx][None, :] for c, v in values.items()}))
        point: FloatArray | None = None
        if len(data) >= 2:
            method: Literal["seeds", "bootstrap"] = "seeds"
            params = np.vstack([self._fit(u, c) for u, c in data])
        else:
            method = "bootstrap"
            u, c = data[0]
            point = self._fit(u, c)[0]
            params = self._fit(u, self._simulate(point, u, c, rng(self.seed), self.n_boot))
        return Fitted(
            forecaster=self.name,
            target=self.target,
            method=method,
            params=params,
            point=point,
            confidence=self.confidence,
            x_max=float(x.max()),
            n_sizes=int(np.unique(x).size),
            n_replicates=len(data),
        )

    def predict(self, fitted: Fitted, x: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Forecast at sizes ``x``: (mean, lower, upper). Seeds: mean of the replicates' forecasts and a t interval
        over them; bootstrap: the point fit and percentiles of the draws."""
        if fitted.forecaster != self.name or fitted.target != self.target:
            raise ValueError(f"{fitted.forecaster!r} on {fitted.target!r} was not fitted by {self.name!r}")
        u = np.log10(positive(np.atleast_1d(np.asarray(x, dtype=float)), "x"))
        draws = self._predict(fitted.params, u)
        if fitted.method == "seeds":
            k = draws.shape[0]
            mean = draws.mean(axis=0)
            half = _t_quantile(fitted.confidence, k - 1) * draws.std(axis=0, ddof=1) / np.sqrt(k)
            return mean, mean - half, mean + half
        assert fitted.point is not None
        tail = (1 - fitted.confidence) / 2
        lower, upper = np.quantile(draws, [tail, 1 - tail], axis=0)
        return self._predict(fitted.point[None, :], u)[0], lower, upper

    def _fit(self, u: FloatArray, cols: Batch) -> FloatArray:
        raise NotImplementedError

    def _predict(self, params: FloatArray, u: FloatArray) -> FloatArray:
        raise NotImplementedError

    def _simulate(self, point: FloatArray, u: FloatArray, cols: Batch, gen: np.random.Generator, n: int) -> Batch:
        raise NotImplementedError


def _noise(gen: np.random.Generator, sd: float, n: int, size: int) -> FloatArray:
    return gen.normal(0.0, 1.0, (n, size)) * sd


@dataclass(frozen=True, kw_only=True)
class DirectLinear(Forecaster):
    """The metric as a straight line in log10 size (what "extrapolate the trend" usually means)."""

    @property
    def name(self) -> str:
        return "direct linear"

    def _fit(self, u: FloatArray, cols: Batch) -> FloatArray:
        return line(u, cols[self.target])

    def _predict(self, params: FloatArray, u: FloatArray) -> FloatArray:
        return np.asarray(params[:, :1] + params[:, 1:2] * u, dtype=np.float64)

    def _simulate(self, point: FloatArray, u: FloatArray, cols: Batch, gen: np.random.Generator, n: int) -> Batch:
        return {self.target: self._predict(point[None, :], u) + _noise(gen, point[2], n, u.size)}


@dataclass(frozen=True, kw_only=True)
class DirectSigmoid(Forecaster):
    """The metric as a sigmoid in log10 size between ``floor`` (chance) and ``ceiling``; ``rising=False`` for a
    metric that falls as models improve. Fitted to the points below a jump it cannot see the jump's place."""

    floor: float = 0.0
    ceiling: float = 1.0
    rising: bool = True

    def __post_init__(self) -> None:
        if not (np.isfinite(self.floor) and np.isfinite(self.ceiling) and self.floor < self.ceiling):
            raise ValueError(f"need finite floor < ceiling, got {self.floor}, {self.ceiling}")

    @property
    def name(self) -> str:
        return "direct sigmoid"

    def _fit(self, u: FloatArray, cols: Batch) -> FloatArray:
        return fit_sigmoid(u, cols[self.target], self.floor, self.ceiling, self.rising)

    def _predict(self, params: FloatArray, u: FloatArray) -> FloatArray:
        return sigmoid(u, params[:, 0], params[:, 1], self.floor, self.ceiling)

    def _simulate(self, point: FloatArray, u: FloatArray, cols: Batch, gen: np.random.Generator, n: int) -> Batch:
        return {self.target: self._predict(point[None, :], u) + _noise(gen, point[2], n, u.size)}


def _log_power_law(u: FloatArray, y: FloatArray) -> FloatArray:
    """``ln y = a + b log10 x`` per row: (draws, 3) with a, b and the residual sd of ln y; y clipped at 1e-12."""
    return line(u, np.log(np.maximum(y, 1e-12)))


def _power(params: FloatArray, u: FloatArray) -> FloatArray:
    return np.asarray(np.exp(np.minimum(params[:, :1] + params[:, 1:2] * u, _LOG_CLIP)), dtype=np.float64)


@dataclass(frozen=True, kw_only=True)
class PowerLaw(Forecaster):
    """A positive quantity (cross-entropy, loss) as a power law in size: ``ln y`` linear in ``log10 x``."""

    @property
    def name(self) -> str:
        return "power law"

    def _fit(self, u: FloatArray, cols: Batch) -> FloatArray:
        y = cols[self.target]
        if np.any(y <= 0):
            raise ValueError(f"a power law needs {self.target!r} > 0")
        return _log_power_law(u, y)

    def _predict(self, params: FloatArray, u: FloatArray) -> FloatArray:
        return _power(params, u)

    def _simulate(self, point: FloatArray, u: FloatArray, cols: Batch, gen: np.random.Generator, n: int) -> Batch:
        return {self.target: _power(point[None, :], u) * np.exp(_noise(gen, point[2], n, u.size))}


RouteOutput = Literal["exact_match", "ted", "token_prob", "cross_entropy"]
_ROUTE_VIA = ("cross_entropy", "token_prob")


@dataclass(frozen=True, kw_only=True)
class PerTokenRoute(Forecaster):
    """The paper's route (Sec. 2, Eqs. for Accuracy and Token Edit Distance): fit the per-token cross-entropy as a
    power law in size, ``p = exp(-CE)``, and map it to ``output``: exact match ``p**L``, token edit distance
    ``L (1 - p)``, ``p`` itself or ``CE``.

    ``via`` names the per-token column: ``"cross_entropy"`` (mean -ln p per token, so ``p`` is the geometric mean
    probability) or ``"token_prob"`` (mean p per token; its ``-ln`` is fitted). ``via_column`` renames it. It never
    reads ``target``, which is only the observed column the backtest compares with (default: ``output``).
    """

    target: str = ""
    output: RouteOutput = "exact_match"
    length: int = 1
    via: str = "cross_entropy"
    via_column: str = ""

    def __post_init__(self) -> None:
        positive_int(self.length, "length")
        if self.output not in ("exact_match", "ted", "token_prob", "cross_entropy"):
            raise ValueError(f"unknown output {self.output!r}")
        if self.via not in _ROUTE_VIA:
            raise ValueError(f"via must be one of {_ROUTE_VIA}, got {self.via!r}")
        if not self.target:
            object.__setattr__(self, "target", self.output)
        if not self.via_column:
            object.__setattr__(self, "via_column", self.via)

    @property
    def name(self) -> str:
        return f"per-token route ({'cross-entropy' if self.via == 'cross_entropy' else 'token probability'})"

    def inputs(self) -> tuple[str, ...]:
        return (self.via_column,)

    def _fit(self, u: FloatArray, cols: Batch) -> FloatArray:
        v = cols[self.via_column]
        if self.via == "token_prob":
            if np.any((v < 0) | (v > 1)):
                raise ValueError(f"{self.via_column!r} must lie in [0, 1]")
            v = -np.log(np.clip(v, 1e-300, 1.0))
        elif np.any(v < 0):
            raise ValueError(f"{self.via_column!r} (a cross-entropy) must be >= 0")
        return _log_power_law(u, v)

    def _predict(self, params: FloatArray, u: FloatArray) -> FloatArray:
        ce = _power(params, u)
        p = np.exp(-ce)
        if self.output == "exact_match":
            return scaling.accuracy_from_p(p, self.length)
        if self.output == "ted":
            return scaling.token_edit_distance_from_p(p, self.length)
        return p if self.output == "token_prob" else ce

    def _simulate(self, point: FloatArray, u: FloatArray, cols: Batch, gen: np.random.Generator, n: int) -> Batch:
        ce = _power(point[None, :], u) * np.exp(_noise(gen, point[2], n, u.size))
        return {self.via_column: np.exp(-ce) if self.via == "token_prob" else ce}


@dataclass(frozen=True, kw_only=True)
class LossAxis(Forecaster):
    """The metric on the family's own loss axis (after Du et al. 2024): fit the metric against the loss (a sigmoid
    between ``floor`` and ``ceiling`` that rises as the loss falls, or a line), the loss as a power law in size, and
    compose them to forecast the metric at a size."""

    loss: str = "loss"
    floor: float = 0.0
    ceiling: float = 1.0
    shape: Literal["sigmoid", "linear"] = "sigmoid"

    def __post_init__(self) -> None:
        if self.shape not in ("sigmoid", "linear"):
            raise ValueError(f"shape must be 'sigmoid' or 'linear', got {self.shape!r}")
        if not (np.isfinite(self.floor) and np.isfinite(self.ceiling) and self.floor < self.ceiling):
            raise ValueError(f"need finite floor < ceiling, got {self.floor}, {self.ceiling}")

    @property
    def name(self) -> str:
        return f"loss axis ({self.shape})"

    def inputs(self) -> tuple[str, ...]:
        return (self.loss, self.target)

    def _stage2(self, params: FloatArray, loss: FloatArray) -> FloatArray:
        """The metric at ``loss`` (draws, m) under each row's stage-2 parameters."""
        if self.shape == "sigmoid":
            z = expit(params[:, 4:5] * (loss - params[:, 3:4]))
            return np.asarray(self.floor + (self.ceiling - self.floor) * z, dtype=np.float64)
        return np.asarray(params[:, 3:4] + params[:, 4:5] * loss, dtype=np.float64)

    def _fit(self, u: FloatArray, cols: Batch) -> FloatArray:
        loss, y = cols[self.loss], cols[self.target]
        if np.any(loss <= 0):
            raise ValueError(f"the loss column {self.loss!r} must be > 0")
        # stage 2's axis: the observed loss (bootstrap draws keep it fixed and redraw the metric around the fit)
        axis = cols[_AXIS][0] if _AXIS in cols else loss[0]
        stage2 = fit_sigmoid(axis, y, self.floor, self.ceiling, rising=False) if self.shape == "sigmoid" else None
        return np.hstack([_log_power_law(u, loss), line(axis, y) if stage2 is None else stage2])

    def _predict(self, params: FloatArray, u: FloatArray) -> FloatArray:
        return self._stage2(params, _power(params, u))

    def _simulate(self, point: FloatArray, u: FloatArray, cols: Batch, gen: np.random.Generator, n: int) -> Batch:
        axis = cols[self.loss][:1]
        loss = _power(point[None, :], u) * np.exp(_noise(gen, point[2], n, u.size))
        metric = self._stage2(point[None, :], axis) + _noise(gen, point[5], n, u.size)
        return {self.loss: loss, self.target: metric, _AXIS: axis}


_AXIS = "_observed_loss"
