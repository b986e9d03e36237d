"""Forecasters for :mod:`mirage_utils.forecast` (import them from there) and the two curve fits behind them.

Each forecaster is a frozen dataclass with ``fit(train) -> Fitted`` and ``predict(fitted, x) -> (mean, lower,
upper)``; the base class does the replicate bookkeeping (a fit per seed and a t interval over seeds, or a parametric
bootstrap for a single replicate) so a subclass only says what it fits. The fits never raise on a flat or degenerate
curve (a backtest from below a jump sees exactly such curves): a line's slope is then 0 and a sigmoid's midpoint
runs to its bound.
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
from scipy.optimize import least_squares
from scipy.special import expit, logit

from . import scaling
from ._validation import as_float_array, positive, positive_int
from .seeding import rng

FloatArray = NDArray[np.float64]
X, REPLICATE = "x", "replicate"
MIN_SIZES = 3  # distinct sizes a fit needs at or below a cutoff
_LOG_CLIP = 700.0  # exp() argument clip, so a far extrapolation saturates instead of overflowing

MAX_SLOPE = 20.0  # steepest sigmoid allowed, in logits per unit of the axis (per decade of size: 10%-90% in 0.22 dec.)
MIDPOINT_PAD = 5.0  # the sigmoid's midpoint may sit this far (axis units) outside the fitted points


def residual_sd(resid: FloatArray, n_params: int) -> float:
    """Residual standard deviation with ``n_params`` fitted parameters (0 when no degrees of freedom are left)."""
    dof = resid.size - n_params
    return float(np.sqrt(np.sum(resid**2) / dof)) if dof > 0 else 0.0


def line(u: FloatArray, y: FloatArray) -> FloatArray:
    """Least-squares line ``y = a + b u``; returns ``[a, b, residual sd]``."""
    um = u.mean()
    du = u - um
    ss = float(np.sum(du**2))
    b = float(np.sum(du * (y - y.mean())) / ss) if ss > 0 else 0.0
    a = float(y.mean() - b * um)
    return np.array([a, b, residual_sd(y - (a + b * u), 2)])


def sigmoid(u: FloatArray, mid: float, slope: float, floor: float, ceiling: float) -> FloatArray:
    """``floor + (ceiling - floor) * expit(slope * (u - mid))``."""
    return floor + (ceiling - floor) * expit(slope * (u - mid))


def fit_sigmoid(u: FloatArray, y: FloatArray, floor: float, ceiling: float, rising: bool = True) -> FloatArray:
    """Least-squares sigmoid between fixed ``floor`` and ``ceiling`` (2 free parameters: midpoint and slope).

    The slope is kept in ``(0, MAX_SLOPE)`` (``(-MAX_SLOPE, 0)`` when not ``rising``) and the midpoint within the
    points' range widened by ``MIDPOINT_PAD``, by fitting logit-transformed parameters with MINPACK's
    Levenberg-Marquardt (scipy ``least_squares(method="lm")``, much faster than a bounded solver on a few points).
    Start: a line through the clipped logits. Returns ``[mid, slope, residual sd]``.
    """
    span = ceiling - floor
    lo_u, width = float(u.min()) - MIDPOINT_PAD, float(u.max() - u.min()) + 2 * MIDPOINT_PAD
    sign = 1.0 if rising else -1.0
    z = np.clip((y - floor) / span, 0.02, 0.98)
    a, b, _ = line(u, logit(z))
    slope0 = float(np.clip(sign * b, 0.05, MAX_SLOPE - 0.05))
    mid0 = -a / b if b * sign > 0 else float(u.max()) + 1.0
    mid0 = float(np.clip(mid0, lo_u + 0.01, lo_u + width - 0.01))

    def params(theta: FloatArray) -> tuple[float, float]:
        return lo_u + width * float(expit(theta[0])), sign * MAX_SLOPE * float(expit(theta[1]))

    def resid(theta: FloatArray) -> FloatArray:
        mid, slope = params(theta)
        return sigmoid(u, mid, slope, floor, ceiling) - y

    start = np.array([logit((mid0 - lo_u) / width), logit(slope0 / MAX_SLOPE)])
    fit = least_squares(resid, start, method="lm", xtol=1e-8, ftol=1e-10)
    mid, slope = params(fit.x)
    return np.array([mid, slope, residual_sd(resid(fit.x), 2)])


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
    """What a forecaster learnt from one training slice. ``params`` holds one parameter vector per replicate
    ("seeds") or per bootstrap draw ("bootstrap", with the point fit in ``point``); ``x_max`` is the largest size it
    saw, so a backtest can refuse a fit that reached above its cutoff."""

    forecaster: str
    target: str
    method: Literal["seeds", "bootstrap"]
    params: tuple[FloatArray, ...]
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
        return f"parametric bootstrap ({len(self.params)} draws, {pct})"


@dataclass(frozen=True, kw_only=True)
class Forecaster:
    """Base of every forecaster: fits per replicate or by parametric bootstrap, predicts with an interval.

    Subclasses say which columns they read (:meth:`inputs`) and implement three hooks on ``u = log10(x)``:
    ``_fit_point`` (one replicate -> parameter vector), ``_predict_point`` and ``_simulate`` (one parametric draw of
    the inputs from a point fit, for the bootstrap).
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
            data.append((np.log10(x[idx]), {c: v[idx] for c, v in values.items()}))
        point: FloatArray | None = None
        if len(data) >= 2:
            method: Literal["seeds", "bootstrap"] = "seeds"
            params = tuple(self._fit_point(u, c) for u, c in data)
        else:
            method = "bootstrap"
            u, c = data[0]
            point = self._fit_point(u, c)
            gen = rng(self.seed)
            params = tuple(self._fit_point(u, self._simulate(point, u, c, gen)) for _ in range(self.n_boot))
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
        draws = np.stack([self._predict_point(p, u) for p in fitted.params])
        if fitted.method == "seeds":
            k = draws.shape[0]
            mean = draws.mean(axis=0)
            half = _t_quantile(fitted.confidence, k - 1) * draws.std(axis=0, ddof=1) / np.sqrt(k)
            return mean, mean - half, mean + half
        assert fitted.point is not None
        tail = (1 - fitted.confidence) / 2
        lower, upper = np.quantile(draws, [tail, 1 - tail], axis=0)
        return self._predict_point(fitted.point, u), lower, upper

    def _fit_point(self, u: FloatArray, cols: Mapping[str, FloatArray]) -> FloatArray:
        raise NotImplementedError

    def _predict_point(self, params: FloatArray, u: FloatArray) -> FloatArray:
        raise NotImplementedError

    def _simulate(
        self, params: FloatArray, u: FloatArray, cols: Mapping[str, FloatArray], gen: np.random.Generator
    ) -> dict[str, FloatArray]:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class DirectLinear(Forecaster):
    """The metric as a straight line in log10 size (what "extrapolate the trend" usually means)."""

    @property
    def name(self) -> str:
        return "direct linear"

    def _fit_point(self, u: FloatArray, cols: Mapping[str, FloatArray]) -> FloatArray:
        return line(u, cols[self.target])

    def _predict_point(self, params: FloatArray, u: FloatArray) -> FloatArray:
        return np.asarray(params[0] + params[1] * u, dtype=np.float64)

    def _simulate(
        self, params: FloatArray, u: FloatArray, cols: Mapping[str, FloatArray], gen: np.random.Generator
    ) -> dict[str, FloatArray]:
        return {self.target: self._predict_point(params, u) + gen.normal(0.0, params[2], u.size)}


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

    def _fit_point(self, u: FloatArray, cols: Mapping[str, FloatArray]) -> FloatArray:
        return fit_sigmoid(u, cols[self.target], self.floor, self.ceiling, self.rising)

    def _predict_point(self, params: FloatArray, u: FloatArray) -> FloatArray:
        return sigmoid(u, float(params[0]), float(params[1]), self.floor, self.ceiling)

    def _simulate(
        self, params: FloatArray, u: FloatArray, cols: Mapping[str, FloatArray], gen: np.random.Generator
    ) -> dict[str, FloatArray]:
        return {self.target: self._predict_point(params, u) + gen.normal(0.0, params[2], u.size)}


def _log_power_law(u: FloatArray, y: FloatArray) -> FloatArray:
    """``ln y = a + b log10 x``: [a, b, residual sd of ln y]; values are clipped at 1e-12 first."""
    return line(u, np.log(np.maximum(y, 1e-12)))


def _power(params: FloatArray, u: FloatArray) -> FloatArray:
    return np.asarray(np.exp(np.minimum(params[0] + params[1] * u, _LOG_CLIP)), dtype=np.float64)


@dataclass(frozen=True, kw_only=True)
class PowerLaw(Forecaster):
    """A positive quantity (cross-entropy, loss) as a power law in size: ``ln y`` linear in ``log10 x``."""

    @property
    def name(self) -> str:
        return "power law"

    def _fit_point(self, u: FloatArray, cols: Mapping[str, FloatArray]) -> FloatArray:
        y = cols[self.target]
        if np.any(y <= 0):
            raise ValueError(f"a power law needs {self.target!r} > 0")
        return _log_power_law(u, y)

    def _predict_point(self, params: FloatArray, u: FloatArray) -> FloatArray:
        return _power(params, u)

    def _simulate(
        self, params: FloatArray, u: FloatArray, cols: Mapping[str, FloatArray], gen: np.random.Generator
    ) -> dict[str, FloatArray]:
        return {self.target: _power(params, u) * np.exp(gen.normal(0.0, params[2], u.size))}


RouteOutput = Literal["exact_match", "ted", "token_prob", "cross_entropy"]
_ROUTE_VIA = ("cross_entropy", "token_prob")


@dataclass(frozen=True, kw_only=True)
class PerTokenRoute(Forecaster):
    """The paper's route (Sec. 2, Eqs. for Accuracy and Token Edit Distance): fit the per-token cross-entropy as a
    power law in size, ``p = exp(-CE)``, and map it to ``output``: exact match ``p**L``, token edit distance
    ``L (1 - p)``, ``p`` itself or ``CE``.

    ``via`` names the per-token column: ``"cross_entropy"`` (mean -ln p per token, so ``p`` is the geometric mean
    probability) or ``"token_prob"`` (mean p per token; its ``-ln`` is fitted). It never reads ``target``, which
    is only the observed column the backtest compares with (default: ``output``).
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

    def _ce(self, cols: Mapping[str, FloatArray]) -> FloatArray:
        v = cols[self.via_column]
        if self.via == "token_prob":
            if np.any((v < 0) | (v > 1)):
                raise ValueError(f"{self.via_column!r} must lie in [0, 1]")
            return -np.log(np.clip(v, 1e-300, 1.0))
        if np.any(v < 0):
            raise ValueError(f"{self.via_column!r} (a cross-entropy) must be >= 0")
        return v

    def _fit_point(self, u: FloatArray, cols: Mapping[str, FloatArray]) -> FloatArray:
        return _log_power_law(u, self._ce(cols))

    def _predict_point(self, params: FloatArray, u: FloatArray) -> FloatArray:
        ce = _power(params, u)
        p = np.exp(-ce)
        if self.output == "exact_match":
            return scaling.accuracy_from_p(p, self.length)
        if self.output == "ted":
            return scaling.token_edit_distance_from_p(p, self.length)
        return p if self.output == "token_prob" else ce

    def _simulate(
        self, params: FloatArray, u: FloatArray, cols: Mapping[str, FloatArray], gen: np.random.Generator
    ) -> dict[str, FloatArray]:
        ce = _power(params, u) * np.exp(gen.normal(0.0, params[2], u.size))
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
        if self.shape == "sigmoid":
            return sigmoid(loss, float(params[3]), float(params[4]), self.floor, self.ceiling)
        return np.asarray(params[3] + params[4] * loss, dtype=np.float64)

    def _fit_point(self, u: FloatArray, cols: Mapping[str, FloatArray]) -> FloatArray:
        loss, y = cols[self.loss], cols[self.target]
        if np.any(loss <= 0):
            raise ValueError(f"the loss column {self.loss!r} must be > 0")
        stage1 = _log_power_law(u, loss)
        if self.shape == "sigmoid":
            stage2 = fit_sigmoid(loss, y, self.floor, self.ceiling, rising=False)
        else:
            stage2 = line(loss, y)
        return np.concatenate([stage1, stage2])

    def _predict_point(self, params: FloatArray, u: FloatArray) -> FloatArray:
        return self._stage2(params, _power(params, u))

    def _simulate(
        self, params: FloatArray, u: FloatArray, cols: Mapping[str, FloatArray], gen: np.random.Generator
    ) -> dict[str, FloatArray]:
        loss = _power(params, u) * np.exp(gen.normal(0.0, params[2], u.size))
        return {self.loss: loss, self.target: self._stage2(params, loss) + gen.normal(0.0, params[5], u.size)}
