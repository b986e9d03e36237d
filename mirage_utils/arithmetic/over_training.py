"""Inverse scaling over training on the family's redefined-operator tests (Chapter 6).

Every summary is computed per run (size x seed) first and only then across seeds; claim checks return booleans so
that a test can feed them a counterfactual family and see them fail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import scaling
from ..seeding import rng
from . import task as ar

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .config import FamilyConfig

#: tests whose shots give the operator another meaning, and the controls that keep the usual one
REDEFINED: tuple[str, ...] = tuple(n for n, (t, m) in ar.REDEFINITIONS.items() if ar.get_task(t).op != m)
CONTROLS: tuple[str, ...] = tuple(n for n in ar.REDEFINITIONS if n not in REDEFINED)
#: orientation of the metrics the regression is run on
HIGHER_IS_BETTER: dict[str, bool] = {"exact_match": True, "token_prob": True, "ted": False}
DIGIT_CHANCE = 0.1  # p(correct digit) of a model that knows a digit comes but not which
VOCAB_CHANCE = 1.0 / len(ar.VOCAB)  # p(correct digit) of a uniform guess over the whole vocabulary
_RUN = ["model", "seed"]


def _require(table: pd.DataFrame, columns: Sequence[str], what: str = "table") -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing}")


def _known_tests(tests: Sequence[str]) -> list[str]:
    unknown = sorted(set(tests) - set(ar.REDEFINITIONS))
    if unknown or not tests:
        raise ValueError(f"tests must be a non-empty subset of {sorted(ar.REDEFINITIONS)}; unknown: {unknown}")
    return list(tests)


def with_units(table: pd.DataFrame) -> pd.DataFrame:
    """The table with a ``unit`` column naming its run (``model/seed<k>``), the unit of the regression."""
    _require(table, _RUN)
    return table.assign(unit=table["model"].astype(str) + "/seed" + table["seed"].astype(str))


def coverage(table: pd.DataFrame) -> pd.DataFrame:
    """Per size: which seeds are present and how many trained checkpoints (tokens > 0) each run has."""
    _require(table, [*_RUN, "n_params", "step", "tokens"])
    if table.empty:
        raise ValueError("the table is empty: no shards present")
    trained = table[table["tokens"] > 0]
    rows = []
    for (model, n), g in table.groupby(["model", "n_params"], sort=False):
        t = trained[trained["model"] == model]
        rows.append(
            {
                "model": model,
                "n_params": n,
                "seeds": ",".join(map(str, sorted(g["seed"].unique()))),
                "n_seeds": g["seed"].nunique(),
                "checkpoints": int(t.groupby("seed")["step"].nunique().min()) if len(t) else 0,
            }
        )
    return pd.DataFrame(rows).sort_values("n_params").reset_index(drop=True)


def chance_levels(
    split_seed: int,
    test_fraction: float,
    tests: Sequence[str] = tuple(ar.REDEFINITIONS),
    n: int = 20_000,
    seed: int = 0,
) -> pd.Series:
    """Per test, the exact match of a uniform guess of the answer's length, averaged over ``n`` held-out problems."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    gen = rng(seed)
    out = {}
    for name in _known_tests(tests):
        d = ar.redefined_test_set(name, n, gen, split_seed, test_fraction, reverse=True)  # lengths: order-free
        out[name] = float(np.mean(ar.chance_exact_match(np.asarray(d["target_length"]))))
    return pd.Series(out, name="chance exact match")


def final_profile(table: pd.DataFrame, metric: str = "exact_match") -> pd.DataFrame:
    """Per size x test, ``metric`` at each run's last checkpoint summarised over seeds (median, low, high, n_seeds)."""
    _require(table, [*_RUN, "n_params", "task", "step", metric])
    last = table[table["step"] == table.groupby(_RUN)["step"].transform("max")]
    return (
        last.groupby(["model", "n_params", "task"], sort=True)[metric]
        .agg(median="median", low="min", high="max", n_seeds="count")
        .reset_index()
        .sort_values("n_params")
    )


def follows_context(profile: pd.DataFrame, strong: str, weak: str, high: float = 0.9, low: float = 0.5) -> bool:
    """Claim check: at the end of training every seed of the largest size reaches ``high`` on test ``strong``
    and none reaches ``low`` on test ``weak`` (it follows one redefinition, much less the other)."""
    _require(profile, ["n_params", "task", "low", "high"], "profile")
    if not 0 <= low <= high <= 1:
        raise ValueError(f"need 0 <= low <= high <= 1, got low={low}, high={high}")
    largest = profile[profile["n_params"] == profile["n_params"].max()].set_index("task")
    missing = sorted({strong, weak} - set(largest.index))
    if missing:
        raise ValueError(f"the largest size has no rows for tests {missing}")
    return bool(largest.loc[strong, "low"] >= high and largest.loc[weak, "high"] < low)


def declines(table: pd.DataFrame, metric: str, tests: Sequence[str]) -> pd.DataFrame:
    """Per run x test: the best trained checkpoint's ``metric``, the final one, and the decline between them
    (>= 0, in the metric's units, oriented so that a larger decline is a larger loss of the ability)."""
    if metric not in HIGHER_IS_BETTER:
        raise ValueError(f"unknown metric {metric!r}; known: {sorted(HIGHER_IS_BETTER)}")
    _require(table, [*_RUN, "task", "step", "tokens", metric])
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    rows = []
    sub = table[table["task"].isin(_known_tests(tests)) & (table["tokens"] > 0)].sort_values("step")
    for (model, seed, test), g in sub.groupby([*_RUN, "task"], sort=True):
        v = sign * g[metric].to_numpy(dtype=float)
        best = int(np.argmax(v))
        se = 0.0
        if metric == "exact_match" and "n" in g:  # binomial noise of the two readings on their test problems
            p1, p2, n = v[best], v[-1], float(g["n"].iloc[-1])
            se = float(np.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / n))
        rows.append(
            {
                "model": model,
                "seed": seed,
                "task": test,
                "peak": sign * v[best],
                "final": sign * v[-1],
                "decline": float(v[best] - v[-1]),
                "se": se,
                "tokens_at_peak": g["tokens"].iloc[best],
            }
        )
    if not rows:
        raise ValueError(f"no trained checkpoints for tests {list(tests)}")
    return pd.DataFrame(rows)


def loses_ability(
    table: pd.DataFrame, metrics: Sequence[str], tests: Sequence[str], margin: float, z: float = 0.0
) -> bool:
    """Claim check: some run ends training more than ``margin`` plus ``z`` standard errors (the binomial noise of
    exact match on the test's problems; 0 for other metrics) below its own best checkpoint on some test x metric
    (the direct, regression-free reading of "the model got worse as it trained")."""
    if margin < 0 or z < 0:
        raise ValueError(f"margin and z must be >= 0, got {margin}, {z}")
    for m in metrics:
        d = declines(table, m, tests)
        if bool((d["decline"] > margin + z * d["se"]).any()):
            return True
    return False


def seeds_disagree(profile: pd.DataFrame, test: str, gap: float = 0.5) -> bool:
    """Claim check: at the end of training the largest size's seeds differ by at least ``gap`` on ``test`` (a
    skill some runs learn and others do not)."""
    _require(profile, ["n_params", "task", "low", "high", "n_seeds"], "profile")
    largest = profile[(profile["n_params"] == profile["n_params"].max()) & (profile["task"] == test)]
    if largest.empty:
        raise ValueError(f"the largest size has no rows for test {test!r}")
    row = largest.iloc[0]
    return bool(row["n_seeds"] >= 2 and row["high"] - row["low"] >= gap)


def never_falls_back(table: pd.DataFrame, tests: Sequence[str] = REDEFINED, level: float = 0.02) -> bool:
    """Claim check: on the redefinition tests, no run at any checkpoint answers with the operator's usual meaning
    more often than ``level``."""
    _require(table, ["task", "prior_match"])
    if not 0 <= level <= 1:
        raise ValueError(f"level must be in [0, 1], got {level}")
    sub = table[table["task"].isin(_known_tests(tests))]
    if sub.empty:
        raise ValueError(f"no rows for tests {list(tests)}")
    return bool(sub["prior_match"].max() <= level)


def oriented_verdict(coef: float, p: float, metric: str, alpha: float = 0.05) -> str:
    """``scaling.interaction_verdict`` read in the metric's direction: "inverse" (larger models lose ground over
    training), "standard" (they gain more) or "none"."""
    if metric not in HIGHER_IS_BETTER:
        raise ValueError(f"unknown metric {metric!r}; known: {sorted(HIGHER_IS_BETTER)}")
    verdict = scaling.interaction_verdict(coef, p, alpha)
    if verdict == "none":
        return "none"
    return "inverse" if (verdict == "inverse") == HIGHER_IS_BETTER[metric] else "standard"


def regression(table: pd.DataFrame, tests: Sequence[str], metrics: Sequence[str], alpha: float = 0.05) -> pd.DataFrame:
    """Michaelov & Bergen's test per test x metric with the run as the unit (``scaling.inverse_scaling_table``,
    Holm over the fitted cells), plus ``direction`` (Holm) and ``direction (raw p)`` from :func:`oriented_verdict`."""
    unknown = sorted(set(metrics) - set(HIGHER_IS_BETTER))
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; known: {sorted(HIGHER_IS_BETTER)}")
    t = with_units(table)
    out = scaling.inverse_scaling_table(t, _known_tests(tests), list(metrics), group="unit", alpha=alpha)
    for col, p in (("direction", "p (Holm)"), ("direction (raw p)", "p")):
        out[col] = [
            oriented_verdict(c, q, m, alpha) if np.isfinite(q) else "untestable"
            for c, q, m in out[["coef", p, "metric"]].itertuples(index=False)
        ]
    trained = t[t["tokens"] > 0]
    out["n_units"], out["n_sizes"] = trained["unit"].nunique(), trained["n_params"].nunique()
    return out


def verdict_grid(
    table: pd.DataFrame,
    tests: Sequence[str],
    metrics: Sequence[str],
    windows: Mapping[str, float],
    size_floors: Mapping[str, float],
    alpha: float = 0.05,
) -> pd.DataFrame:
    """:func:`regression` refitted for every window (checkpoints with at least that many tokens) x size floor
    (sizes with at least that many parameters); a setting with fewer than 3 runs or 2 sizes is marked, not fitted."""
    if not windows or not size_floors:
        raise ValueError("need at least one window and one size floor")
    _require(table, [*_RUN, "n_params", "tokens", "task"])
    parts = []
    for wname, min_tokens in windows.items():
        for sname, min_params in size_floors.items():
            sub = table[(table["tokens"] >= max(min_tokens, 1)) & (table["n_params"] >= min_params)]
            runs, sizes = sub.groupby(_RUN).ngroups, sub["n_params"].nunique()
            if runs < 3 or sizes < 2 or sub.groupby(_RUN)["tokens"].nunique().min() < 2:
                parts.append(
                    pd.DataFrame(
                        [
                            {
                                "window": wname,
                                "sizes": sname,
                                "direction": "too few runs",
                                "n_units": runs,
                                "n_sizes": sizes,
                            }
                        ]
                    )
                )
                continue
            parts.append(regression(sub, tests, metrics, alpha).assign(window=wname, sizes=sname))
    return pd.concat(parts, ignore_index=True)


def finds_inverse(reg: pd.DataFrame, tests: Sequence[str] = REDEFINED, corrected: bool = True) -> bool:
    """Claim check: some fitted cell of ``tests`` in a :func:`regression` or :func:`verdict_grid` table says
    "inverse" (Holm-corrected, or on the raw p value with ``corrected=False``)."""
    col = "direction" if corrected else "direction (raw p)"
    _require(reg, ["test", col])
    sub = reg[reg["test"].isin(_known_tests(tests))]
    if sub.empty:
        raise ValueError(f"no fitted rows for tests {list(tests)}")
    return bool((sub[col] == "inverse").any())


#: a short title per test, for figure panels and tables
TITLES: dict[str, str] = {
    "times_as_plus": "'*' shown as +",
    "times_as_minus": "'*' shown as |a-b|",
    "plus_as_minus": "'+' shown as |a-b|",
    "times_control": "'*' as usual (control)",
    "plus_control": "'+' as usual (control)",
}
#: the metrics the regression is run on, with their names in tables
METRIC_NAMES: dict[str, str] = {
    "exact_match": "exact match",
    "token_prob": "p(in-context answer)",
    "ted": "token edit distance",
}


def load_family(config_path: str | None = None) -> tuple[FamilyConfig, pd.DataFrame]:
    """The family's config and its checkpoint table with a ``unit`` column (:func:`with_units`), read from the
    committed artifacts of ``configs/arithmetic.json`` (or ``config_path``)."""
    from ..data import REPO_ROOT
    from . import shards
    from .config import FamilyConfig

    path = REPO_ROOT / "configs" / "arithmetic.json" if config_path is None else config_path
    return FamilyConfig.load(path), with_units(shards.load_artifacts(path)["checkpoint_eval"])


def over_training_summary(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per size x test x checkpoint (``step`` is the checkpoint's rank within its run, trained checkpoints only):
    mean tokens and ``metric``'s median, min and max over seeds (``median``, ``low``, ``high``), the curves and
    bands of the over-training figures."""
    _require(table, ["model", "n_params", "task", "step", "tokens", metric])
    trained = table[table["tokens"] > 0]
    if trained.empty:
        raise ValueError("no trained checkpoints (tokens > 0)")
    # the k-th trained checkpoint of each run: seeds of a size save at slightly different steps
    trained = trained.assign(step=trained.groupby([*_RUN, "task"])["step"].rank(method="dense").astype(int))
    return (
        trained.groupby(["model", "n_params", "task", "step"], sort=True)
        .agg(
            tokens=("tokens", "mean"),
            median=(metric, "median"),
            low=(metric, "min"),
            high=(metric, "max"),
        )
        .reset_index()
    )


def plot_over_training(
    table: pd.DataFrame,
    metric: str,
    ylabel: str,
    chance_at: Mapping[str, Sequence[tuple[float, str, str]]] | None = None,
    tests: Sequence[str] = tuple(TITLES),
    width: float = 7.0,
) -> Figure:
    """One panel per test (two per row, the legend in a spare panel): ``metric`` against training tokens, one
    line per size (median over seeds) with the range over seeds as a band; ``chance_at`` maps a test to
    horizontal reference lines ``(value, label, linestyle)``. Returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    tests = _known_tests(tests)
    per_step = over_training_summary(table, metric)
    sizes = per_step[["model", "n_params"]].drop_duplicates().sort_values("n_params")
    shades = dict(zip(sizes["model"], plt.cm.viridis(np.linspace(0, 0.9, len(sizes)))))
    n_rows = (len(tests) + 2) // 2
    fig, axes = plt.subplots(n_rows, 2, figsize=(width, 2.3 * n_rows + 0.4), sharex=True, sharey=True)
    axes = np.atleast_2d(axes)
    for ax, test in zip(axes.flat, tests):
        for model, n in sizes.itertuples(index=False):
            g = per_step[(per_step["task"] == test) & (per_step["model"] == model)]
            ax.plot(g["tokens"], g["median"], "-", lw=1.2, color=shades[model], label=f"{n / 1e3:.0f}K")
            ax.fill_between(g["tokens"], g["low"], g["high"], color=shades[model], alpha=0.15, lw=0)
        for value, label, style in (chance_at or {}).get(test, []):
            ax.axhline(value, color="grey", ls=style, lw=1, label=label)
        ax.set(xscale="log", title=TITLES.get(test, test))
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    for ax in axes[-1, :]:
        ax.set_xlabel("Training tokens (log scale)")
    spare = list(axes.flat)[len(tests) :]
    handles, labels = axes.flat[0].get_legend_handles_labels()
    for ax in spare:
        ax.axis("off")
    if spare:
        spare[0].legend(handles, labels, title="parameters", ncol=2, loc="center")
        for ax in axes[-2, len(axes[-1]) - len(spare) :]:
            ax.tick_params(labelbottom=True)
            ax.set_xlabel("Training tokens (log scale)")
    else:
        axes.flat[0].legend(handles, labels, title="parameters", ncol=2)
    return fig


def verdict_word(reg: pd.DataFrame, tests: Sequence[str], metrics: Sequence[str]) -> str:
    """The verdict on Michaelov & Bergen's prediction (a negative size x training interaction) for ``tests`` x
    ``metrics`` of a :func:`regression` table: "holds" if some cell is "inverse" after Holm's correction, "fails"
    if none is and some is "standard" (larger models gain more), else "cannot tell from these data"."""
    _require(reg, ["test", "metric", "direction"])
    sub = reg[reg["test"].isin(_known_tests(tests)) & reg["metric"].isin(metrics)]
    if sub.empty:
        raise ValueError(f"no rows for tests {list(tests)} x metrics {list(metrics)}")
    if (sub["direction"] == "inverse").any():
        return "holds"
    if (sub["direction"] == "standard").any():
        return "fails"
    return "cannot tell from these data"


#: the committed sensitivity grid of the robustness page (:func:`write_sensitivity_grid` regenerates it)
GRID_ARTIFACT = "data/artifacts/arithmetic/over_training_grid.csv"
#: the windows (minimum training tokens) of the sensitivity grid
GRID_WINDOWS: dict[str, float] = {"all trained": 0, ">= 1M tokens": 1e6, ">= 5M tokens": 5e6}


def grid_floors(table: pd.DataFrame) -> tuple[dict[str, float], dict[str, float]]:
    """The size floors of the sensitivity grid (all sizes, from 25K, the four largest) and the two narrower floors
    fitted beside it (from 40K, the three largest), from the sizes present in ``table``."""
    _require(table, ["n_params"])
    sizes = sorted(table["n_params"].unique())
    if len(sizes) < 4:
        raise ValueError(f"need at least 4 sizes for the grid's floors, got {len(sizes)}")
    return (
        {"all sizes": 0, ">= 25K": 25e3, "4 largest": sizes[-4]},
        {">= 40K": 40e3, "3 largest": sizes[-3]},
    )


def table_fingerprint(table: pd.DataFrame) -> str:
    """A short hash of the checkpoint rows the regression reads (run, step, tokens, test and the three metrics),
    independent of row order, so that a committed grid can be checked against the data it was computed from."""
    import hashlib

    cols = [*_RUN, "n_params", "step", "tokens", "task", *HIGHER_IS_BETTER]
    _require(table, cols)
    rows = table[cols].sort_values([*_RUN, "task", "step"]).reset_index(drop=True)
    digest = hashlib.sha256(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def sensitivity_grid(table: pd.DataFrame, tests: Sequence[str] = REDEFINED) -> pd.DataFrame:
    """:func:`verdict_grid` over :data:`GRID_WINDOWS` x the grid's floors (``part`` "grid") and x the narrower
    floors (``part`` "narrower"), with the input's :func:`table_fingerprint` in column ``fingerprint``."""
    floors, narrow = grid_floors(table)
    metrics = list(METRIC_NAMES)
    parts = [
        verdict_grid(table, tests, metrics, GRID_WINDOWS, floors).assign(part="grid"),
        verdict_grid(table, tests, metrics, GRID_WINDOWS, narrow).assign(part="narrower"),
    ]
    return pd.concat(parts, ignore_index=True).assign(fingerprint=table_fingerprint(table))


def write_sensitivity_grid(path: str | None = None) -> str:
    """Recompute the sensitivity grid from the committed family (:func:`load_family`) and write it as CSV to
    ``path`` (default :data:`GRID_ARTIFACT` in the repository). Returns the path written."""
    from ..data import REPO_ROOT

    _, ckpt = load_family()
    out = REPO_ROOT / GRID_ARTIFACT if path is None else path
    sensitivity_grid(ckpt[ckpt["tokens"] > 0]).to_csv(out, index=False)
    return str(out)


def load_sensitivity_grid(table: pd.DataFrame, path: str | None = None) -> tuple[pd.DataFrame, bool]:
    """The committed sensitivity grid if it was computed from ``table`` (same :func:`table_fingerprint`), else the
    grid recomputed from ``table``. Returns the grid and whether it was read from the file."""
    from pathlib import Path

    from ..data import REPO_ROOT

    file = Path(REPO_ROOT / GRID_ARTIFACT if path is None else path)
    if file.is_file():
        grid = pd.read_csv(file, keep_default_na=False, na_values=[""])
        if len(grid) and str(grid["fingerprint"].iloc[0]) == table_fingerprint(table):
            return grid, True
    return sensitivity_grid(table), False


__all__ = [
    "REDEFINED",
    "CONTROLS",
    "HIGHER_IS_BETTER",
    "DIGIT_CHANCE",
    "VOCAB_CHANCE",
    "with_units",
    "coverage",
    "chance_levels",
    "final_profile",
    "follows_context",
    "declines",
    "loses_ability",
    "never_falls_back",
    "oriented_verdict",
    "regression",
    "verdict_grid",
    "finds_inverse",
    "TITLES",
    "METRIC_NAMES",
    "load_family",
    "over_training_summary",
    "plot_over_training",
    "verdict_word",
    "GRID_ARTIFACT",
    "GRID_WINDOWS",
    "grid_floors",
    "table_fingerprint",
    "sensitivity_grid",
    "write_sensitivity_grid",
    "load_sensitivity_grid",
]

if __name__ == "__main__":  # python -m mirage_utils.arithmetic.over_training
    print("wrote", write_sensitivity_grid())
