"""Random-graph phase transitions (Erdős–Rényi G(n, p)): a genuine transition to contrast with the mirage.

The giant-component fraction is a continuous order parameter whose limit has a kink at mean degree c = 1; the
appearance of a 4-clique is a coarse threshold (its count is close to Poisson with mean C(n, 4) p^6, so the 90/10
window of P(K4) is a fixed ratio of edge probabilities), and the partial credit "most edges among 4 vertices" rises
below it through other subgraphs' thresholds (the diamond, K4 minus an edge, at p ~ n^(-4/5)). Large graphs are
sampled as edge lists with NumPy and measured with SciPy's sparse-graph routines; small ones use networkx.
"""

from __future__ import annotations

from itertools import combinations
from math import lgamma, log
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from scipy.sparse import csgraph
from scipy.special import lambertw

from ._validation import as_float_array
from .scaling import crossing
from .seeding import rng

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd


class Subgraph(NamedTuple):
    """A fixed graph H, as its first-moment count in G(n, p) needs it: vertices, edges, automorphisms."""

    name: str
    vertices: int
    edges: int
    automorphisms: int


K4 = Subgraph("4-clique", 4, 6, 24)
DIAMOND = Subgraph("diamond (4-clique minus an edge)", 4, 5, 4)


def _check_np(n: int, p: float) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p!r}")


def gnp_edges(n: int, p: float, gen: np.random.Generator) -> NDArray[np.int64]:
    """Edge list (m, 2) of one G(n, p) draw: m ~ Binomial(n(n-1)/2, p), then m distinct pairs uniformly at random."""
    _check_np(n, p)
    pairs = n * (n - 1) // 2
    m = int(gen.binomial(pairs, p))
    chosen: set[int] = set()
    while len(chosen) < m:  # sparse regime: few collisions, so a couple of rounds suffice
        chosen.update(gen.integers(0, pairs, size=m - len(chosen)).tolist())
    codes = np.fromiter(chosen, dtype=np.int64, count=m)
    # Decode pair index k -> (i, j), i < j, in the row-major order of the strict upper triangle.
    i = (n - 2 - np.floor(np.sqrt(-8.0 * codes + 4.0 * n * (n - 1) - 7) / 2.0 - 0.5)).astype(np.int64)
    j = codes + i + 1 - n * (n - 1) // 2 + (n - i) * ((n - i) - 1) // 2
    return np.column_stack([i, j])


def largest_component_fraction(n: int, edges: ArrayLike) -> float:
    """Size of the largest connected component divided by n."""
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if e.size and (e.min() < 0 or e.max() >= n):
        raise ValueError("edge endpoints must lie in [0, n)")
    adj = sparse.coo_matrix((np.ones(len(e), dtype=np.int8), (e[:, 0], e[:, 1])), shape=(n, n))
    _, labels = csgraph.connected_components(adj, directed=False)
    return float(np.bincount(labels).max() / n)


def giant_fraction_limit(c: ArrayLike) -> NDArray[np.float64]:
    """n -> infinity limit of the giant-component fraction at mean degree c: the root S of S = 1 - exp(-c S)."""
    cc = as_float_array(c, "c")
    if np.any(cc < 0):
        raise ValueError("mean degree c must be non-negative")
    out = np.zeros_like(cc)
    above = cc > 1
    # scipy-stubs 1.17.1.5: lambertw's array overload omits the default of k, so a call without k matches none
    out[above] = 1.0 + np.real(lambertw(-cc[above] * np.exp(-cc[above]))) / cc[above]  # type: ignore[call-overload]
    return out


def sample_giant_fractions(n: int, mean_degrees: ArrayLike, reps: int, seed: int) -> NDArray[np.float64]:
    """Largest-component fraction of ``reps`` independent G(n, c/(n-1)) graphs per mean degree: shape (len(c), reps)."""
    cs = as_float_array(mean_degrees, "mean_degrees")
    if reps < 1:
        raise ValueError("reps must be >= 1")
    gen = rng(seed)
    return np.array(
        [[largest_component_fraction(n, gnp_edges(n, min(1.0, c / (n - 1)), gen)) for _ in range(reps)] for c in cs]
    )


def densest_four_set_edges(graph: nx.Graph[Any]) -> int:
    """Most edges induced on any 4 vertices (6 means a 4-clique): partial credit toward the K4 "ability"."""
    if graph.number_of_edges() == 0:
        return 0
    adj = {v: set(graph[v]) - {v} for v in graph}
    if any(len(c) >= 4 for c in nx.find_cliques(graph)):
        return 6
    common = [len(adj[u] & adj[v]) for u, v in graph.edges]
    if max(common, default=0) >= 2:
        return 5  # an edge in two triangles: K4 minus one edge
    triangle_vertices = {v for v, t in cast(dict[Any, int], nx.triangles(graph)).items() if t}
    if any(len(adj[v]) >= 3 for v in triangle_vertices):
        return 4  # a triangle with a pendant edge
    if _has_four_cycle(adj):
        return 4
    if triangle_vertices or any(len(a) >= 3 for a in adj.values()) or _has_path_of_three_edges(graph, adj):
        return 3
    return 2 if graph.number_of_edges() >= 2 else 1


def _has_four_cycle(adj: dict[Any, set[Any]]) -> bool:
    seen: set[tuple[Any, Any]] = set()
    for _v, nbrs in adj.items():
        for a in nbrs:
            for b in nbrs:
                if a < b:
                    if (a, b) in seen:
                        return True
                    seen.add((a, b))
    return False


def _has_path_of_three_edges(graph: nx.Graph[Any], adj: dict[Any, set[Any]]) -> bool:
    return any(len(adj[u]) >= 2 and len(adj[v]) >= 2 for u, v in graph.edges)


def count_diamonds_and_k4(graph: nx.Graph[Any]) -> tuple[int, int]:
    """Copies of the diamond (K4 minus an edge, not necessarily induced) and of K4 in a graph.

    A diamond is its spine edge plus two common neighbours of the spine's ends, so there are sum over edges of
    C(common neighbours, 2); a K4 is counted once from each of its 6 edges as such a pair that is itself an edge.
    """
    adj = {v: set(graph[v]) - {v} for v in graph}
    diamonds = k4_times_6 = 0
    for u, v in graph.edges:
        if u == v:
            continue
        common = adj[u] & adj[v]
        m = len(common)
        diamonds += m * (m - 1) // 2
        if m >= 2:
            k4_times_6 += sum(1 for a, b in combinations(common, 2) if b in adj[a])
    return diamonds, k4_times_6 // 6


def sample_k4(n: int, ps: ArrayLike, reps: int, seed: int) -> dict[str, NDArray[np.float64]]:
    """Per G(n, p) draw: whether it has a 4-clique, its numbers of 4-cliques and diamonds, and the densest-4-set
    edge count. Arrays have shape (len(ps), reps); graphs come from networkx's ``fast_gnp_random_graph``."""
    pv = as_float_array(ps, "ps")
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
        raise ValueError(f"reps must be an integer >= 1, got {reps!r}")
    gen = rng(seed)
    has, count, diamonds, best = (np.zeros((len(pv), reps)) for _ in range(4))
    for i, p in enumerate(pv):
        _check_np(n, float(p))
        for r in range(reps):
            g = nx.fast_gnp_random_graph(n, float(p), seed=int(gen.integers(0, 2**31 - 1)))
            d, k4 = count_diamonds_and_k4(g)
            # a 4-clique or a diamond settles the partial credit; otherwise search the densest 4-set
            has[i, r], count[i, r], diamonds[i, r] = k4 > 0, k4, d
            best[i, r] = 6 if k4 else 5 if d else densest_four_set_edges(g)
    return {"has_k4": has, "k4_count": count, "diamond_count": diamonds, "densest_four_set": best}


def rise_by_level(best: ArrayLike, upto: int) -> dict[int, float]:
    """Share of the partial credit's rise from the first to the ``upto``-th edge probability that each level
    "at least k edges among 4 vertices" (k = 1..6) makes: the mean credit is sum_k P(best >= k) / 6.

    ``best`` holds densest-4-set edge counts, shape (len(ps), reps), as :func:`sample_k4` returns them."""
    b = as_float_array(best, "best")
    if b.ndim != 2 or b.shape[0] < 2 or np.any((b < 0) | (b > 6)):
        raise ValueError("best must have shape (len(ps) >= 2, reps) with edge counts in [0, 6]")
    if isinstance(upto, bool) or not isinstance(upto, (int, np.integer)) or not 0 < upto < b.shape[0]:
        raise ValueError(f"upto must be an index in [1, {b.shape[0] - 1}]")
    gains = {k: float((b[upto] >= k).mean() - (b[0] >= k).mean()) for k in range(1, 7)}
    total = sum(gains.values())
    if total <= 0:
        raise ValueError("the partial credit does not rise over this range")
    return {k: g / total for k, g in gains.items()}


def expected_copies(n: int, p: ArrayLike, h: Subgraph) -> NDArray[np.float64]:
    """Expected number of copies of H in G(n, p): n (n-1) ... (n-v+1) / aut(H) * p^e (C(n, 4) p^6 for K4)."""
    pv = as_float_array(p, "p")
    _check_np(n, 0.0)
    if n < h.vertices:
        raise ValueError(f"n must be at least {h.vertices} to hold a {h.name}")
    if np.any((pv < 0) | (pv > 1)):
        raise ValueError("p must be in [0, 1]")
    log_falling = lgamma(n + 1) - lgamma(n - h.vertices + 1)
    return cast(NDArray[np.float64], np.exp(log_falling - log(h.automorphisms)) * pv**h.edges)


def poisson_presence(n: int, p: ArrayLike, h: Subgraph) -> NDArray[np.float64]:
    """Poisson approximation of P(G(n, p) contains H): 1 - exp(-expected copies)."""
    return -np.expm1(-expected_copies(n, p, h))


def poisson_half_point(n: int, h: Subgraph) -> float:
    """Edge probability at which the Poisson approximation gives P(contains H) = 1/2 (expected copies = ln 2)."""
    one = float(expected_copies(n, 1.0, h)[()])
    return float((log(2) / one) ** (1 / h.edges))


def poisson_window_ratio(n_edges: float, lo: float = 0.1, hi: float = 0.9) -> float:
    """Ratio p(hi) / p(lo) of the edge probabilities at which 1 - exp(-a p^e) reaches ``hi`` and ``lo``:
    (ln(1/(1-hi)) / ln(1/(1-lo)))^(1/e), whatever a (so whatever n). For K4 (e = 6) and 90/10: 1.672."""
    if not n_edges > 0:
        raise ValueError("n_edges must be positive")
    if not 0 < lo < hi < 1:
        raise ValueError("need 0 < lo < hi < 1")
    return float((np.log1p(-hi) / np.log1p(-lo)) ** (1 / n_edges))


def fit_presence_shape(x: ArrayLike, hits: ArrayLike, trials: ArrayLike, confidence: float = 0.95) -> dict[str, float]:
    """Fit P(x) = 1 - exp(-(x/s)^k) to counts of graphs that have the property (a binomial GLM with a complementary
    log-log link on log x): the shape k with its Wald interval, and the 90/10 window ratio they imply."""
    import statsmodels.api as sm
    from scipy import stats

    xv, k, m = (as_float_array(a, name) for a, name in ((x, "x"), (hits, "hits"), (trials, "trials")))
    if xv.ndim != 1 or xv.shape != k.shape or xv.shape != m.shape or xv.size < 3:
        raise ValueError("x, hits and trials must be 1-D arrays of the same length >= 3")
    if np.any(xv <= 0) or np.any(m < 1) or np.any((k < 0) | (k > m)):
        raise ValueError("need x > 0, trials >= 1 and 0 <= hits <= trials")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be in (0, 1)")
    if np.all(k == 0) or np.all(k == m):
        raise ValueError("the property is never (or always) present: nothing to fit")
    link = sm.families.links.CLogLog()
    fit = sm.GLM(np.column_stack([k, m - k]), sm.add_constant(np.log(xv)), family=sm.families.Binomial(link)).fit()
    shape, se = float(fit.params[1]), float(fit.bse[1])
    z = stats.norm.ppf(0.5 + confidence / 2)
    lo_k, hi_k = shape - z * se, shape + z * se
    ratio: Callable[[float], float] = lambda e: poisson_window_ratio(e) if e > 0 else float("inf")
    return {
        "shape": shape,
        "shape lo": lo_k,
        "shape hi": hi_k,
        "window ratio": ratio(shape),
        "ratio lo": ratio(hi_k),
        "ratio hi": ratio(lo_k),
    }


def window_matches_poisson(
    x: ArrayLike, presence: dict[int, NDArray[np.float64]], n_edges: int, confidence: float = 0.95
) -> bool:
    """Claim check: at every n, the fitted 90/10 window ratio's interval contains the Poisson value for a subgraph
    with ``n_edges`` edges (Bonferroni: ``confidence`` holds for all sizes together). ``presence`` maps n to 0/1
    outcomes of shape (len(x), reps). False for a threshold that sharpens with n, or one with another window."""
    if not presence:
        raise ValueError("presence needs at least one graph size")
    target = poisson_window_ratio(n_edges)
    each = 1 - (1 - confidence) / len(presence)
    for outcomes in presence.values():
        o = as_float_array(outcomes, "presence")
        if o.ndim != 2:
            raise ValueError("each presence array must have shape (len(x), reps)")
        fit = fit_presence_shape(x, o.sum(axis=1), np.full(o.shape[0], o.shape[1]), each)
        if not fit["ratio lo"] <= target <= fit["ratio hi"]:
            return False
    return True


def precursor_follows(
    x: ArrayLike, shares: dict[int, NDArray[np.float64]], half_points: dict[int, float], rel_tol: float = 0.25
) -> bool:
    """Claim check: at every n the share ``shares[n]`` (over rescaled edge probabilities ``x``) crosses 1/2 within
    ``rel_tol`` (relative) of ``half_points[n]``, and those crossings move strictly left as n grows. False for a
    curve that stays put with n (as K4's own does) or sits at another threshold."""
    if set(shares) != set(half_points) or len(shares) < 2:
        raise ValueError("shares and half_points need the same two or more graph sizes")
    if not rel_tol > 0:
        raise ValueError("rel_tol must be positive")
    seen = [crossing(x, shares[n], 0.5) for n in sorted(shares)]
    if any(np.isnan(seen)):
        return False
    near = all(abs(c / half_points[n] - 1) <= rel_tol for c, n in zip(seen, sorted(shares)))
    return bool(near and np.all(np.diff(seen) < 0))


def k4_limit_outcomes(
    x: ArrayLike, reps: int, seed: int
) -> tuple[list[NDArray[np.float64]], list[NDArray[np.float64]]]:
    """Per rescaled edge probability x = p n^(2/3), ``reps`` graphs of the n -> infinity limit: the K4 indicator
    (Bernoulli with the Poisson limit 1 - exp(-x^6/24)) and the partial credit, which is then (5 + indicator) / 6
    because every graph already holds a diamond (its expected count grows like x^5 n^(2/3) / 4)."""
    xv = as_float_array(x, "x")
    if np.any(xv <= 0):
        raise ValueError("x must be positive")
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 2:
        raise ValueError(f"reps must be an integer >= 2, got {reps!r}")
    gen = rng(seed)
    has = [(gen.random(reps) < -np.expm1(-(v**6) / 24)) * 1.0 for v in xv]
    return has, [(5 + h) / 6 for h in has]


def sharpens_with_n(
    table: pd.DataFrame, largest_precursor_below: float | None = None, largest_slope_above: float | None = None
) -> bool:
    """Claim check on :func:`giant_transition_summary`: as n grows the order parameter's precursor share and its slope
    below c = 1 fall, its slope above rises and the indicator's window narrows, at every step; optionally, at the
    largest n the precursor share is below ``largest_precursor_below`` and the slope above c = 1 exceeds
    ``largest_slope_above``. False for a coarse threshold, whose window does not narrow."""
    need = {"n", "precursor share", "slope 0.8-1.0", "slope 1.0-1.2", "indicator window"}
    if not need <= set(table.columns) or len(table) < 2:
        raise ValueError(f"need columns {sorted(need)} and at least two graph sizes")
    t = table.sort_values("n")
    directions = {"precursor share": -1, "slope 0.8-1.0": -1, "slope 1.0-1.2": 1, "indicator window": -1}
    ok = all(np.all(np.diff(t[col].to_numpy(dtype=float)) * d > 0) for col, d in directions.items())
    last = t.iloc[-1]
    if largest_precursor_below is not None:
        ok = ok and float(last["precursor share"]) < largest_precursor_below
    if largest_slope_above is not None:
        ok = ok and float(last["slope 1.0-1.2"]) > largest_slope_above
    return bool(ok)


def rise_mostly_from(table: pd.DataFrame, n: int, column: str, share: float = 0.9) -> bool:
    """Claim check on a per-n table of how the partial credit's rise splits by level (``rise_by_level`` columns):
    at graph size ``n`` the level in ``column`` makes at least ``share`` of the rise."""
    if "n" not in table.columns or column not in table.columns:
        raise ValueError(f"table needs columns 'n' and {column!r}")
    if not 0 < share <= 1:
        raise ValueError("share must lie in (0, 1]")
    row = table[table["n"] == n]
    if row.empty:
        raise ValueError(f"no row for n = {n}")
    return bool(float(row[column].iloc[0]) >= share)


def giant_transition_summary(
    mean_degrees: ArrayLike, fractions: dict[int, NDArray[np.float64]], threshold: float = 0.05
) -> pd.DataFrame:
    """Per graph size n: the order parameter's precursor share S(0.9)/S(2), its slopes either side of c = 1, and the
    width of the window in which the indicator "S > threshold" goes from 10% to 90% of graphs."""
    import pandas as pd

    cs = as_float_array(mean_degrees, "mean_degrees")
    at: Callable[[float], int] = lambda c: int(np.argmin(np.abs(cs - c)))
    rows = []
    for n, s in sorted(fractions.items()):
        m, p = s.mean(axis=1), (s > threshold).mean(axis=1)
        rows.append(
            {
                "n": n,
                "S(0.9)": m[at(0.9)],
                "S(2.0)": m[at(2.0)],
                "precursor share": m[at(0.9)] / m[at(2.0)],
                "slope 0.8-1.0": (m[at(1.0)] - m[at(0.8)]) / (cs[at(1.0)] - cs[at(0.8)]),
                "slope 1.0-1.2": (m[at(1.2)] - m[at(1.0)]) / (cs[at(1.2)] - cs[at(1.0)]),
                "indicator window": crossing(cs, p, 0.9) - crossing(cs, p, 0.1),
            }
        )
    return pd.DataFrame(rows)
