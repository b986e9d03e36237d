"""Per-size outcomes of the book's vision families, turned into smooth and sharp metrics with confidence intervals.

The artifact tables hold one column per run (``<family>-<size>_s<seed>``). Outcomes keep the run axis when asked
(``by_run``) so that :func:`seed_curve` can treat seeds as the unit; :func:`binary_by_size` pools a size's runs into
one array of per-example outcomes (an interval over examples only).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ..diagnosis import Curve, binary_curve, mean_curve
from ..seeding import rng

_RUN = re.compile(r"^(?P<family>[a-z]+)-(?P<size>\d+)_s(?P<seed>\d+)$")


def run_columns(table: pd.DataFrame, family: str) -> dict[int, list[str]]:
    """Size index -> that size's run columns (sorted by seed)."""
    out: dict[int, list[str]] = {}
    for col in table.columns:
        m = _RUN.match(str(col))
        if m and m["family"] == family:
            out.setdefault(int(m["size"]), []).append(col)
    if not out:
        raise ValueError(f"no run columns for family {family!r} in the table")
    return {k: sorted(v, key=lambda c: int(cast(re.Match[str], _RUN.match(c))["seed"])) for k, v in sorted(out.items())}


def correct_by_size(predictions: pd.DataFrame, family: str) -> dict[int, NDArray[np.bool_]]:
    """Size index -> boolean matrix (n_examples, n_seeds): prediction equals the label."""
    if "label" not in predictions.columns:
        raise ValueError("the predictions table needs a 'label' column")
    label = predictions["label"].to_numpy()
    return {
        k: np.column_stack([predictions[c].to_numpy() == label for c in cols])
        for k, cols in run_columns(predictions, family).items()
    }


def subset_outcomes(correct: NDArray[np.bool_], k: int, seed: int = 0, by_run: bool = False) -> NDArray[np.float64]:
    """App. B's subset accuracy per group: 1 if all k images of a group are right. Groups are disjoint k-tuples of a
    seeded permutation of the test set (the same for every model), taken for each seed's run and pooled (with
    ``by_run``: a (n_groups, n_runs) matrix instead)."""
    if correct.ndim != 2 or k < 1 or k > correct.shape[0]:
        raise ValueError("correct must be (n_examples, n_runs) and 1 <= k <= n_examples")
    order = rng(seed).permutation(correct.shape[0])
    usable = (correct.shape[0] // k) * k
    groups = correct[order[:usable]].T.reshape(correct.shape[1], -1, k)
    hits = cast(NDArray[np.float64], groups.all(axis=2).astype(np.float64))  # (n_runs, n_groups)
    return hits.T if by_run else hits.ravel()


def class_subset_outcomes(
    correct: NDArray[np.bool_], labels: NDArray[np.integer], k: int, seed: int = 0
) -> NDArray[np.float64]:
    """Subset accuracy with groups of k images of the *same class* (disjoint k-tuples within each class, seeded
    order): (n_groups, n_runs). Random groups make subset accuracy ~ accuracy^k by construction; same-class groups
    test whether errors cluster, which is what the math model's independence assumption is about."""
    labels = np.asarray(labels)
    if correct.ndim != 2 or labels.shape != (correct.shape[0],) or k < 1:
        raise ValueError("correct must be (n_examples, n_runs), labels (n_examples,), and k >= 1")
    order = rng(seed).permutation(correct.shape[0])
    rows = []
    for cls in np.unique(labels):
        idx = order[labels[order] == cls]
        usable = (idx.size // k) * k
        if usable:
            rows.append(correct[idx[:usable]].reshape(-1, k, correct.shape[1]).all(axis=1))
    if not rows:
        raise ValueError(f"no class has {k} examples")
    return np.concatenate(rows).astype(np.float64)


def beats_independence(curve: Curve, prediction: ArrayLike) -> NDArray[np.bool_]:
    """Per size: the measured subset accuracy's interval lies entirely above the independence prediction
    (errors cluster: groups are all right more often than accuracy^k says)."""
    pred = np.asarray(prediction, dtype=float)
    if pred.shape != curve.mean.shape:
        raise ValueError("prediction must have one value per size")
    return curve.lo > pred


def episode_subset_outcomes(
    predictions: pd.DataFrame, length: int, family: str = "sequence"
) -> dict[int, NDArray[np.float64]]:
    """Size index -> (n_episodes, n_runs): 1 if the first ``length`` queries of a test episode that have at least one
    earlier exemplar of their character are all right (the paper's "all L images right", on answerable queries)."""
    if not {"episode", "position", "earlier", "label"} <= set(predictions.columns):
        raise ValueError("the predictions table needs episode, position, earlier and label columns")
    answerable = predictions[predictions["earlier"] >= 1].sort_values(["episode", "position"])
    rank = answerable.groupby("episode").cumcount()
    per_episode = answerable.groupby("episode").size()
    if length < 1 or length > int(per_episode.min()):
        raise ValueError(f"length must be between 1 and {int(per_episode.min())} (the fewest answerable queries)")
    first = answerable[rank.to_numpy() < length]
    out: dict[int, NDArray[np.float64]] = {}
    for size, correct in correct_by_size(first, family).items():
        per_ep = correct.reshape(-1, length, correct.shape[1])
        out[size] = cast(NDArray[np.float64], per_ep.all(axis=1).astype(np.float64))
    return out


def context_accuracy(hit: ArrayLike, earlier: ArrayLike, cap: int = 3) -> dict[str, float]:
    """One run's accuracy per number of earlier exemplars of the query's character (keys ``"0"``, ..., ``f"{cap}+"``)
    and on all answerable queries (``"context"``: at least one)."""
    h, e = np.asarray(hit, dtype=bool), np.minimum(np.asarray(earlier), cap)
    if h.shape != e.shape or h.ndim != 1 or cap < 1:
        raise ValueError("hit and earlier need one value per query, and cap must be >= 1")
    out = {str(k): float(h[e == k].mean()) for k in range(cap)}
    out[f"{cap}+"] = float(h[e == cap].mean())
    out["context"] = float(h[e >= 1].mean())
    return out


def accuracy_by_context(predictions: pd.DataFrame, family: str = "sequence", cap: int = 3) -> pd.DataFrame:
    """One row per run (size index, seed) with :func:`context_accuracy` of its predictions."""
    if not {"earlier", "label"} <= set(predictions.columns):
        raise ValueError("the predictions table needs 'earlier' and 'label' columns")
    label, earlier = predictions["label"].to_numpy(), predictions["earlier"].to_numpy()
    return pd.DataFrame(
        [
            {
                "size_index": size,
                "seed": int(cast(re.Match[str], _RUN.match(col))["seed"]),
                **context_accuracy(predictions[col].to_numpy() == label, earlier, cap),
            }
            for size, cols in run_columns(predictions, family).items()
            for col in cols
        ]
    )


def rises_with_context(by_context: pd.DataFrame, chance: float, z: float = 2.0) -> pd.Series:
    """Per size index: True if accuracy climbs with every further earlier exemplar (1 -> 2 -> ... -> cap+) and sits
    above ``chance`` with one exemplar, each by more than ``z`` standard errors over seeds. Seeds are the unit and the
    steps are paired within a run (one run's gain from one more exemplar). What "the model learns from its context"
    means here; a model that ignores its context is flat and fails."""
    cols = [c for c in by_context.columns if c not in ("size_index", "seed", "context", "0")]
    if len(cols) < 2 or not 0 < chance < 1:
        raise ValueError("need accuracy for at least two numbers of earlier exemplars and 0 < chance < 1")

    def resolved(x: NDArray[np.float64]) -> bool:
        se = x.std(ddof=1) / np.sqrt(x.size) if x.size > 1 else 0.0
        return bool(x.mean() - z * se > 0)

    out = {}
    for size, g in by_context.groupby("size_index"):
        acc = g[cols].to_numpy(dtype=np.float64)
        steps = [resolved(acc[:, j + 1] - acc[:, j]) for j in range(len(cols) - 1)]
        out[size] = all(steps) and resolved(acc[:, 0] - chance)
    return pd.Series(out, name="rises with context")


def within_optimum(trained: ArrayLike, optimum: ArrayLike, tolerance: float = 0.1) -> NDArray[np.bool_]:
    """Per size: the trained error is at most (1 + tolerance) x the known optimum's (e.g. PCA for a linear
    bottleneck): the competence test of an autoencoder family."""
    t, o = np.asarray(trained, dtype=float), np.asarray(optimum, dtype=float)
    if t.shape != o.shape or t.ndim != 1 or not np.all(o > 0) or tolerance < 0:
        raise ValueError("trained and optimum need one positive value per size, and tolerance >= 0")
    return t <= (1 + tolerance) * o


def binary_by_size(outcomes: dict[int, NDArray[Any]]) -> Curve:
    """Wilson-interval curve over sizes from a size -> 0/1 outcomes mapping."""
    return binary_curve([outcomes[k] for k in sorted(outcomes)])


def seed_curve(values: dict[int, NDArray[Any]], higher_is_better: bool = True) -> Curve:
    """Seeds as the unit: size -> (n_examples, n_runs) outcomes; each run's mean is one replicate, and the interval is
    a Student-t interval over the runs (at least two per size)."""
    per_run_means = []
    for size in sorted(values):
        v = np.asarray(values[size], dtype=np.float64)
        if v.ndim != 2 or v.shape[1] < 2 or v.shape[0] == 0:
            raise ValueError(f"size {size}: need an (n_examples, n_runs) matrix with at least 2 runs, got {v.shape}")
        per_run_means.append(v.mean(axis=0))
    return mean_curve(per_run_means, higher_is_better)


def per_run(table: pd.DataFrame, family: str, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run: size index, seed, params and the run's smooth metric (accuracy, or mean squared error for the
    autoencoder, whose table holds per-image errors instead of predictions)."""
    rows = []
    for size, cols in run_columns(table, family).items():
        for col in cols:
            seed = int(cast(re.Match[str], _RUN.match(col))["seed"])
            if "label" in table.columns:
                value, metric = float((table[col] == table["label"]).mean()), "accuracy"
            else:
                value, metric = float(table[col].mean()), "mean squared error"
            rows.append({"size_index": size, "seed": seed, metric: value})
    out = pd.DataFrame(rows)
    params = runs.groupby("size_index")["params"].first()
    return out.assign(params=out["size_index"].map(params))


def monotone_within_noise(
    per_run_table: pd.DataFrame, metric: str, higher_is_better: bool = True, z: float = 2.0
) -> pd.DataFrame:
    """Each step to the next size: change of the seed-mean and whether it is >= -z standard errors of that change
    (i.e. no step gets worse by more than seed noise explains)."""
    g = per_run_table.groupby("size_index")[metric].agg(["mean", "std", "count"]).sort_index()
    se = cast("pd.Series[float]", np.sqrt(g["std"].fillna(0) ** 2 / g["count"]))
    sign = 1.0 if higher_is_better else -1.0
    change = sign * g["mean"].diff().iloc[1:]
    noise = np.sqrt(se.iloc[1:].to_numpy() ** 2 + se.iloc[:-1].to_numpy() ** 2)
    return pd.DataFrame(
        {
            "from size": g.index[:-1],
            "to size": g.index[1:],
            "improvement": change.to_numpy(),
            "seed noise (1 se)": noise,
            "ok": change.to_numpy() >= -z * noise,
        }
    )


def independent_subset_prediction(per_run_table: pd.DataFrame, k: int) -> NDArray[np.float64]:
    """Subset accuracy per size if errors were independent: each run's accuracy^k, averaged over seeds (not mean^k)."""
    if k < 1:
        raise ValueError("k must be >= 1")
    return per_run_table.groupby("size_index")["accuracy"].apply(lambda a: np.mean(a.to_numpy() ** k)).to_numpy()


def threshold_table(table: pd.DataFrame, family: str, runs: pd.DataFrame, thresholds: ArrayLike) -> pd.DataFrame:
    """Reconstruction_c for every run at every threshold ``c`` (the share of its test examples with error below c),
    one row per run x c: params, seed, c, log10_c, share_below, and the run's mean error. The input of an explorer
    that moves c over a family's errors; seeds stay separate."""
    cs = np.asarray(thresholds, dtype=np.float64)
    if cs.ndim != 1 or cs.size == 0 or not np.all(cs > 0):
        raise ValueError("thresholds must be a non-empty 1-D array of positive numbers")
    params = runs.groupby("size_index")["params"].first()
    rows = []
    for size, cols in run_columns(table, family).items():
        for col in cols:
            errors = np.sort(table[col].to_numpy(dtype=np.float64))
            share = np.searchsorted(errors, cs, side="left") / errors.size  # strictly below c
            rows.append(
                pd.DataFrame(
                    {
                        "params": float(params[size]),
                        "seed": int(cast(re.Match[str], _RUN.match(col))["seed"]),
                        "c": cs,
                        "log10_c": np.round(np.log10(cs), 6),
                        "share_below": share,
                        "mean_error": float(errors.mean()),
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def pca_errors(train: ArrayLike, test: ArrayLike, ranks: Sequence[int]) -> dict[int, NDArray[np.float64]]:
    """The known optimum of a linear bottleneck: per-test-example mean squared error (per pixel) of the best rank-k
    reconstruction, the top-k principal components of ``train`` (centred on its mean), for each k in ``ranks``. An
    autoencoder with a k-unit bottleneck that is trained well should come close to it or beat it."""
    xtr = np.asarray(train, dtype=np.float64).reshape(len(np.asarray(train)), -1)
    xte = np.asarray(test, dtype=np.float64).reshape(len(np.asarray(test)), -1)
    if xtr.shape[1] != xte.shape[1] or xtr.shape[0] < 2 or xte.shape[0] < 1:
        raise ValueError("train and test need the same number of features, and train at least two examples")
    if not ranks or min(ranks) < 1 or max(ranks) > xtr.shape[1]:
        raise ValueError(f"ranks must lie in [1, {xtr.shape[1]}]")
    mean = xtr.mean(axis=0)
    centred = xtr - mean
    _, vecs = np.linalg.eigh(centred.T @ centred)  # ascending eigenvalues
    basis = vecs[:, ::-1]
    resid = xte - mean
    out = {}
    for k in ranks:
        top = basis[:, :k]
        recon = resid @ top @ top.T
        out[int(k)] = ((resid - recon) ** 2).mean(axis=1)
    return out


def run_means(values: dict[int, NDArray[Any]]) -> NDArray[np.float64]:
    """Size -> (n_examples, n_runs) outcomes as one (n_sizes, n_runs) matrix of per-run means: each column is one
    seed's curve across sizes (sizes sorted), the unit of a per-seed check."""
    if not values:
        raise ValueError("values is empty")
    means = [np.asarray(values[s], dtype=np.float64).mean(axis=0) for s in sorted(values)]
    if len({m.shape for m in means}) != 1 or means[0].ndim != 1:
        raise ValueError("every size needs the same number of runs")
    return np.vstack(means)


@dataclass(frozen=True)
class FamilyCurves:
    """Chapter 4's three families from their artifacts: sizes, per-run smooth metrics, the per-example outcomes
    (size -> (n_examples, n_runs)) of each smooth and sharp metric, and their seed curves (seeds as the unit)."""

    lenet_params: NDArray[np.float64]
    lenet_acc: pd.DataFrame
    lenet_correct: dict[int, NDArray[np.bool_]]
    lenet_subset_outcomes: dict[int, dict[int, NDArray[np.float64]]]
    per_image: Curve
    lenet_subset: dict[int, Curve]
    ae_params: NDArray[np.float64]
    ae_mse: pd.DataFrame
    ae_errors: dict[int, NDArray[np.float64]]
    mse_curve: Curve
    recon: dict[float, Curve]
    seq_params: NDArray[np.float64]
    by_context: pd.DataFrame
    seq_correct: dict[int, NDArray[np.bool_]]
    seq_subset_outcomes: dict[int, dict[int, NDArray[np.float64]]]
    seq_per_image: Curve
    seq_subset: dict[int, Curve]


def family_curves(
    art: dict[str, pd.DataFrame],
    ks: Sequence[int] = (1, 2, 3, 4, 5),
    cs: Sequence[float] = (0.004, 0.008, 0.016, 0.024),
    lengths: Sequence[int] = (1, 2, 3, 4, 5),
) -> FamilyCurves:
    """Every curve Chapter 4 and its robustness page plot or check, from ``train.load_artifacts``: LeNet accuracy and
    subset accuracy for each k; autoencoder squared error and Reconstruction_c for each c; the sequence family's
    per-image accuracy on answerable queries and "all L right" for each L. Bands are t intervals over seeds."""
    lenet_runs, ae_runs, seq_runs = (art[f"runs_{f}"] for f in ("lenet", "autoencoder", "sequence"))
    lenet_correct = correct_by_size(art["lenet"], "lenet")
    lenet_sub = {k: {s: subset_outcomes(c, k, by_run=True) for s, c in lenet_correct.items()} for k in ks}
    ae_errors = {
        s: art["autoencoder"][cols].to_numpy(dtype=np.float64)
        for s, cols in run_columns(art["autoencoder"], "autoencoder").items()
    }
    seq_table = art["sequence"]
    answerable = (seq_table["earlier"] >= 1).to_numpy()
    seq_correct = {s: c[answerable] for s, c in correct_by_size(seq_table, "sequence").items()}
    seq_sub = {L: episode_subset_outcomes(seq_table, L) for L in lengths}

    def sizes(runs: pd.DataFrame) -> NDArray[np.float64]:
        return runs.groupby("size_index")["params"].first().to_numpy(dtype=np.float64)

    return FamilyCurves(
        lenet_params=sizes(lenet_runs),
        lenet_acc=per_run(art["lenet"], "lenet", lenet_runs),
        lenet_correct=lenet_correct,
        lenet_subset_outcomes=lenet_sub,
        per_image=seed_curve({s: c * 1.0 for s, c in lenet_correct.items()}),
        lenet_subset={k: seed_curve(v) for k, v in lenet_sub.items()},
        ae_params=sizes(ae_runs),
        ae_mse=per_run(art["autoencoder"], "autoencoder", ae_runs),
        ae_errors=ae_errors,
        mse_curve=seed_curve(ae_errors, higher_is_better=False),
        recon={c: seed_curve({s: (e < c) * 1.0 for s, e in ae_errors.items()}) for c in cs},
        seq_params=sizes(seq_runs),
        by_context=accuracy_by_context(seq_table),
        seq_correct=seq_correct,
        seq_subset_outcomes=seq_sub,
        seq_per_image=seed_curve({s: c * 1.0 for s, c in seq_correct.items()}),
        seq_subset={L: seed_curve(v) for L, v in seq_sub.items()},
    )


def smooth_sharp_pairs(
    curves: FamilyCurves, k: int = 5, length: int = 5
) -> dict[str, tuple[NDArray[np.float64], dict[int, NDArray[Any]], bool, dict[int, NDArray[Any]]]]:
    """Family (and threshold) -> (sizes, smooth outcomes, smooth higher is better, sharp outcomes): the pairs whose
    sharpness Chapter 4 compares (LeNet at ``k``, each autoencoder threshold c, the transformers at ``length``).
    Outcomes are size -> (n_examples, n_runs), so both the seed mean and each seed's curve can be scored."""
    out: dict[str, tuple[NDArray[np.float64], dict[int, NDArray[Any]], bool, dict[int, NDArray[Any]]]] = {
        "LeNet": (curves.lenet_params, curves.lenet_correct, True, curves.lenet_subset_outcomes[k])
    }
    for c in curves.recon:
        out[f"autoencoder, c = {c}"] = (
            curves.ae_params,
            curves.ae_errors,
            False,
            {s: (e < c) * 1.0 for s, e in curves.ae_errors.items()},
        )
    out["sequence transformer"] = (curves.seq_params, curves.seq_correct, True, curves.seq_subset_outcomes[length])
    return out


def sharpness_by_seed(
    curves: FamilyCurves,
    measures: Sequence[str] = ("emergence_score", "steepest_rise_ratio"),
    k: int = 5,
    length: int = 5,
) -> pd.DataFrame:
    """Seeds as the unit of the sharpness comparison: for each pair of :func:`smooth_sharp_pairs`, each measure and
    each run (column ``seed``, position of the run at every size) plus the seed-mean curves (``seed`` = "mean"),
    the smooth and the sharp metric's score and whether the sharp one scores sharper (any margin)."""
    from ..emergence import is_sharper, sharpness

    rows = []
    for family, (x, smooth, smooth_hib, sharp) in smooth_sharp_pairs(curves, k, length).items():
        a, b = run_means(smooth), run_means(sharp)
        cols: list[tuple[Any, NDArray[np.float64], NDArray[np.float64]]] = [
            (i, a[:, i], b[:, i]) for i in range(a.shape[1])
        ]
        cols.append(("mean", a.mean(axis=1), b.mean(axis=1)))
        for seed, ys, yb in cols:
            for m in measures:
                s_smooth = sharpness(x, ys, m, smooth_hib)
                s_sharp = sharpness(x, yb, m, True)
                rows.append(
                    {
                        "family": family,
                        "seed": str(seed),
                        "measure": m,
                        "window (decades)": float(np.log10(x.max() / x.min())),
                        "smooth": s_smooth,
                        "sharp": s_sharp,
                        "sharp is sharper": is_sharper(s_sharp, s_smooth, m),
                    }
                )
    return pd.DataFrame(rows)


def pca_mean_errors(train: ArrayLike, test: ArrayLike, ranks: Sequence[int]) -> NDArray[np.float64]:
    """:func:`pca_errors` averaged over the test examples, one value per rank, computed at once: only the top
    ``max(ranks)`` principal components are found, and every rank's residual is the test images' total squared
    deviation minus the cumulative sum of their squared projections (same numbers to rounding, several times
    faster)."""
    from scipy.linalg import eigh

    xtr = np.asarray(train, dtype=np.float64).reshape(len(np.asarray(train)), -1)
    xte = np.asarray(test, dtype=np.float64).reshape(len(np.asarray(test)), -1)
    n, d = xtr.shape
    if xte.shape[1] != d or n < 2 or xte.shape[0] < 1:
        raise ValueError("train and test need the same number of features, and train at least two examples")
    if not ranks or min(ranks) < 1 or max(ranks) > d:
        raise ValueError(f"ranks must lie in [1, {d}]")
    top = int(max(ranks))
    mean = xtr.mean(axis=0)
    xtr -= mean
    _, vecs = eigh(xtr.T @ xtr, subset_by_index=[d - top, d - 1])  # ascending eigenvalues
    resid = xte - mean
    cumulative = np.cumsum((resid @ vecs[:, ::-1]) ** 2, axis=1)
    total = (resid**2).sum(axis=1)
    return np.array([((total - cumulative[:, k - 1]) / d).mean() for k in ranks])


def threshold_span(thresholds: pd.DataFrame) -> pd.DataFrame:
    """How far one threshold carries a family: for each c of a :func:`threshold_table`, the seed-mean
    Reconstruction_c of the smallest and of the largest model and the rise between them (indexed by c)."""
    if not {"c", "params", "share_below"} <= set(thresholds.columns):
        raise ValueError("thresholds needs c, params and share_below columns (see threshold_table)")
    t = thresholds.groupby(["c", "params"])["share_below"].mean().unstack("params").sort_index(axis=1)
    out = pd.DataFrame({"smallest": t.iloc[:, 0], "largest": t.iloc[:, -1]})
    return out.assign(rise=out["largest"] - out["smallest"])
