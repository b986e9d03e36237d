"""Chapter 7's shared set-ups: the random-graph samples, the cases the mirage test is run on, and summaries of its
verdicts over settings. The chapter page and its robustness page both call these, so the two pages compute the
same numbers from the same seeds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np
from numpy.typing import NDArray

from . import diagnosis, graphs
from .scaling import crossing
from .seeding import rng

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import pandas as pd

MEAN_DEGREES: NDArray[np.float64] = np.round(np.arange(0.2, 2.51, 0.1), 2)
GIANT_SIZES: tuple[int, ...] = (100, 1_000, 10_000, 100_000)
RESCALED_P: NDArray[np.float64] = np.geomspace(0.3, 3.0, 13)
CLIQUE_SIZES: tuple[int, ...] = (50, 100, 200, 400)
CLIQUE_REPS = 100
TOLERANCES: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3)
ONSET_RISES: tuple[float, ...] = (0.0, 0.01, 0.05)
VERDICT_ORDER: tuple[str, ...] = diagnosis.VERDICTS
KNOWN_EXPECTED: dict[str, str] = {
    "math model (exact match vs per-token accuracy)": "metric-induced",
    "giant component, n = 100,000 (S > 0.05 vs S)": "persists",
    "step in both metrics": "persists",
    "4-clique, n = 400 (indicator vs densest 4-set)": "metric-induced",
    "4-clique, n → ∞ (indicator vs densest 4-set)": "persists",
}


def giant_samples(sizes: Sequence[int] = GIANT_SIZES, reps: int = 20) -> dict[int, NDArray[np.float64]]:
    """Largest-component fractions, ``reps`` graphs per mean degree in :data:`MEAN_DEGREES`, for each size; the
    seed of size n is its position in :data:`GIANT_SIZES`, so a subset of sizes reproduces the same graphs."""
    return {n: graphs.sample_giant_fractions(n, MEAN_DEGREES, reps=reps, seed=GIANT_SIZES.index(n)) for n in sizes}


def k4_samples(sizes: Sequence[int] = CLIQUE_SIZES) -> dict[int, dict[str, NDArray[np.float64]]]:
    """:func:`graphs.sample_k4` at p = x n^(-2/3) for x in :data:`RESCALED_P`, :data:`CLIQUE_REPS` graphs per point,
    seed 10 + n for size n."""
    return {n: graphs.sample_k4(n, RESCALED_P * n ** (-2 / 3), reps=CLIQUE_REPS, seed=10 + n) for n in sizes}


def k4_below_index() -> int:
    """Index of the last x in :data:`RESCALED_P` before the 4-clique's Poisson probability reaches 5%."""
    return int(np.flatnonzero(RESCALED_P < (24 * np.log(1 / 0.95)) ** (1 / 6))[-1])


def k4_window_table(k4: dict[int, dict[str, NDArray[np.float64]]]) -> pd.DataFrame:
    """One row per size: the fitted shape k of P(x) = 1 - exp(-(x/s)^k) with its interval, the 90/10 window ratio
    with its interval, the half-points of "contains a 4-clique" and "contains a diamond" (simulated and Poisson),
    and the shares of the partial credit's rise below the window made by diamonds and by 4-edge sets."""
    import pandas as pd

    below = k4_below_index()
    rows = []
    for n, r in k4.items():
        by_level = graphs.rise_by_level(r["densest_four_set"], below)
        trials = np.full(RESCALED_P.size, r["has_k4"].shape[1])
        fit = graphs.fit_presence_shape(RESCALED_P, r["has_k4"].sum(axis=1), trials)
        rows.append(
            {
                "n": n,
                "shape k": fit["shape"],
                "k lo": fit["shape lo"],
                "k hi": fit["shape hi"],
                "window ratio": fit["window ratio"],
                "ratio lo": fit["ratio lo"],
                "ratio hi": fit["ratio hi"],
                "x½ 4-clique": crossing(RESCALED_P, r["has_k4"].mean(axis=1), 0.5),
                "x½ 4-clique, Poisson": graphs.poisson_half_point(n, graphs.K4) * n ** (2 / 3),
                "x½ diamond": crossing(RESCALED_P, (r["densest_four_set"] >= 5).mean(axis=1), 0.5),
                "x½ diamond, Poisson": graphs.poisson_half_point(n, graphs.DIAMOND) * n ** (2 / 3),
                "rise: diamond share": by_level[5],
                "rise: 4-edge share": by_level[4],
            }
        )
    return pd.DataFrame(rows)


def known_cases(
    giant_big: NDArray[np.float64], k4_big: dict[str, NDArray[np.float64]]
) -> dict[str, tuple[diagnosis.Curve, diagnosis.Curve]]:
    """The five cases whose answer is known (:data:`KNOWN_EXPECTED`), as (discrete, continuous) curves: the mirage
    mechanism (6-token answers, exact match vs per-token accuracy), the giant component from ``giant_big`` (the
    n = 100,000 samples), a step in both metrics, the 4-clique from ``k4_big`` (the n = 400 samples) and the
    4-clique in the n -> infinity limit."""
    gen = rng(7)
    tokens = [gen.random((1000, 6)) < p for p in np.linspace(0.3, 0.95, 8)]
    step = [0, 0, 0, 0, 0.8, 0.9, 0.95]
    limit = graphs.k4_limit_outcomes(RESCALED_P, reps=CLIQUE_REPS, seed=8)
    names = list(KNOWN_EXPECTED)
    return {
        names[0]: (
            diagnosis.binary_curve([t.all(axis=1) * 1.0 for t in tokens]),
            diagnosis.mean_curve([t.mean(axis=1) for t in tokens]),
        ),
        names[1]: (
            diagnosis.binary_curve(list((giant_big > 0.05) * 1.0)),
            diagnosis.mean_curve(list(giant_big)),
        ),
        names[2]: (
            diagnosis.binary_curve([(gen.random(500) < s) * 1.0 for s in step]),
            diagnosis.mean_curve([s + 0.01 * gen.standard_normal(500) for s in step]),
        ),
        names[3]: (
            diagnosis.binary_curve(list(k4_big["has_k4"])),
            diagnosis.mean_curve(list(k4_big["densest_four_set"] / 6)),
        ),
        names[4]: (diagnosis.binary_curve(list(limit[0])), diagnosis.mean_curve(list(limit[1]))),
    }


def arithmetic_tables(config_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The GPT arithmetic family's held-out scores: one row per size, seed, task and answer length (``metrics``),
    and one row per size, seed and held-out problem (``outputs``, with ``n_params`` added)."""
    from .arithmetic import shards

    art = shards.load_artifacts(config_path)
    params = art["models"].drop_duplicates("model").set_index("model")["n_params"]
    per_seed = art["metrics"].query("split == 'test'")
    per_problem = art["outputs"].query("split == 'test'").assign(n_params=lambda t: t["model"].map(params))
    return per_seed, per_problem


def case_name(task: str, length: int) -> str:
    """A case's name: its task and answer length."""
    return f"{task}, {length}-digit answers"


def arithmetic_cases(
    per_seed: pd.DataFrame,
    per_problem: pd.DataFrame,
    continuous: str,
    higher_is_better: bool,
    tasks: Sequence[str] | None = None,
    n_boot: int = 2000,
) -> dict[str, list[diagnosis.Replicate]]:
    """The mirage test's cases on the arithmetic family, one per task and answer length: exact match against
    ``continuous``, each with its replicates (:func:`diagnosis.replicate_curves`: seeds as the unit, then each seed
    with a bootstrap over its problems)."""
    cases = {}
    for (task, length), g in per_seed.groupby(["task", "target_length"]):
        if tasks is None or task in tasks:
            problems = per_problem[(per_problem["task"] == task) & (per_problem["target_length"] == length)]
            cases[case_name(str(task), int(cast("int", length)))] = diagnosis.replicate_curves(
                g,
                problems,
                discrete="exact_match",
                continuous=continuous,
                continuous_higher_is_better=higher_is_better,
                n_boot=n_boot,
            )
    return cases


def replicate_verdict_counts(
    cases: dict[str, list[diagnosis.Replicate]],
    tolerances: Sequence[float] = TOLERANCES,
    onset_rises: Sequence[float] = ONSET_RISES,
    **rule: Any,
) -> pd.DataFrame:
    """How often each verdict comes out, per case and kind of replicate, over every tolerance x onset rise.

    Rows: (case, unit) with unit "seed mean" (the seeds-as-unit replicate) or "single seeds" (every seed's own);
    columns: the verdicts of :data:`VERDICT_ORDER`; entries: counts of (replicate, setting) pairs. ``rule`` goes to
    :func:`diagnosis.replicate_table` (``min_rise``, ``min_effect``, ``monotone``)."""
    import pandas as pd

    tables = [
        diagnosis.replicate_table(cases, tolerance=tol, onset_rise=rise, **rule)
        for tol in tolerances
        for rise in onset_rises
    ]
    runs = pd.concat(tables, ignore_index=True)
    runs["unit"] = np.where(runs["replicate"] == "seeds", "seed mean", "single seeds")
    counts = pd.crosstab([runs["case"], runs["unit"]], runs["verdict"])
    order = [(c, u) for c in cases for u in ("seed mean", "single seeds") if (c, u) in counts.index]
    return counts.reindex(
        index=pd.MultiIndex.from_tuples(order, names=["case", "unit"]), columns=list(VERDICT_ORDER), fill_value=0
    )


def vision_cases() -> dict[str, tuple[diagnosis.Curve, diagnosis.Curve]]:
    """The three vision families at their sharpest setting (k = 5, L = 5, c = 0.004), seeds as the unit: subset
    accuracy against per-image accuracy, and Reconstruction_c against squared error."""
    from .vision import outcomes
    from .vision import train as vision_train

    vision = vision_train.load_artifacts()
    lenet = outcomes.correct_by_size(vision["lenet"], "lenet")
    ae_runs = outcomes.run_columns(vision["autoencoder"], "autoencoder")
    errors = {k: vision["autoencoder"][cols].to_numpy() for k, cols in ae_runs.items()}
    answerable = (vision["sequence"]["earlier"] >= 1).to_numpy()
    seq = outcomes.correct_by_size(vision["sequence"], "sequence")
    return {
        "LeNet, all 5 images right (vs per-image accuracy)": (
            outcomes.seed_curve({k: outcomes.subset_outcomes(c, 5, by_run=True) for k, c in lenet.items()}),
            outcomes.seed_curve({k: c * 1.0 for k, c in lenet.items()}),
        ),
        "autoencoder, Reconstruction_c at c = 0.004 (vs squared error)": (
            outcomes.seed_curve({k: (e < 0.004) * 1.0 for k, e in errors.items()}),
            outcomes.seed_curve(errors, higher_is_better=False),
        ),
        "sequence transformer, all 5 right (vs per-image accuracy)": (
            outcomes.seed_curve(outcomes.episode_subset_outcomes(vision["sequence"], 5)),
            outcomes.seed_curve({k: c[answerable] * 1.0 for k, c in seq.items()}),
        ),
    }


def lu_setting_grid(
    rises: Sequence[float] = (0.0, 0.02, 0.05), shares: Sequence[float | None] = (None, 0.01, 0.05, 0.1)
) -> dict[tuple[float, str, bool], pd.DataFrame]:
    """:func:`bigbench.lu_mirage_tests` on LLaMA (edit distance) under every onset rise x minimum effect (share of
    the headroom; None = no minimum) x monotonicity guard, keyed (rise, "none" or "5%", monotone)."""
    from . import bigbench

    return {
        (rise, "none" if share is None else f"{share:.0%}", monotone): bigbench.lu_mirage_tests(
            "LLaMA", "edit distance", onset_rise=rise, min_effect_share=share, monotone=monotone
        )
        for rise in rises
        for share in shares
        for monotone in (False, True)
    }


def verdict_word(holds: bool, fails: bool) -> str:
    """The chapter's verdict word for a claim: "holds", "fails" (when ``holds`` is False and ``fails`` True), or
    "cannot tell from these data" (neither)."""
    return "holds" if holds else "fails" if fails else "cannot tell from these data"


def arithmetic_artifacts(config_path: Path) -> dict[str, pd.DataFrame]:
    """The GPT arithmetic family's merged artifacts (models, metrics, outputs, config) for ``config_path``."""
    from .arithmetic import shards

    return shards.load_artifacts(config_path)
