"""Random-graph phase transitions (Erdős–Rényi G(n, p)): a genuine transition to contrast with the mirage.

The giant-component fraction is a continuous order parameter whose limit has a kink at mean degree c = 1; the
appearance of a 4-clique is a coarse threshold whose sharpness lives only in the indicator. Large graphs are sampled
as edge lists with NumPy and measured with SciPy's sparse-graph routines; small ones use networkx.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from scipy.sparse import csgraph
from scipy.special import lambertw

from ._validation import as_float_array
from .scaling import crossing
from .seeding import rng


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
    out[above] = 1.0 + np.real(lambertw(-cc[above] * np.exp(-cc[above]))) / cc[above]
    return out


def sample_giant_fractions(n: int, mean_degrees: ArrayLike, reps: int, seed: int) -> NDArray[np.float64]:
    """Largest-component fraction of ``reps`` independent G(n, c/(n-1)) graphs per mean degree: shape (len(c), reps)."""
    cs = as_float_array(mean_degrees, "mean_degrees")
    if reps < 1:
        raise ValueError("reps must be >= 1")
    gen = rng(seed)
    return np.array([[largest_component_fraction(n, gnp_edges(n, min(1.0, c / (n - 1)), gen)) for _ in range(reps)]
                     for c in cs])


def densest_four_set_edges(graph: nx.Graph) -> int:
    """Most edges induced on any 4 vertices (6 means a 4-clique): partial credit toward the K4 "ability"."""
    if graph.number_of_edges() == 0:
        return 0
    adj = {v: set(graph[v]) - {v} for v in graph}
    if any(len(c) >= 4 for c in nx.find_cliques(graph)):
        return 6
    common = [len(adj[u] & adj[v]) for u, v in graph.edges]
    if max(common, default=0) >= 2:
        return 5  # an edge in two triangles: K4 minus one edge
    triangle_vertices = {v for v, t in nx.triangles(graph).items() if t}
    if any(len(adj[v]) >= 3 for v in triangle_vertices):
        return 4  # a triangle with a pendant edge
    if _has_four_cycle(adj):
        return 4
    if triangle_vertices or any(len(a) >= 3 for a in adj.values()) or _has_path_of_three_edges(graph, adj):
        return 3
    return 2 if graph.number_of_edges() >= 2 else 1


def _has_four_cycle(adj: dict) -> bool:
    seen: set[tuple] = set()
    for v, nbrs in adj.items():
        for a in nbrs:
            for b in nbrs:
                if a < b:
                    if (a, b) in seen:
                        return True
                    seen.add((a, b))
    return False


def _has_path_of_three_edges(graph: nx.Graph, adj: dict) -> bool:
    return any(len(adj[u]) >= 2 and len(adj[v]) >= 2 for u, v in graph.edges)


def sample_k4(n: int, ps: ArrayLike, reps: int, seed: int) -> dict[str, NDArray[np.float64]]:
    """Per G(n, p) draw: whether it has a 4-clique, its number of 4-cliques, and the densest-4-set edge count.

    Arrays have shape (len(ps), reps). Graphs come from networkx's ``fast_gnp_random_graph`` with derived seeds.
    """
    pv = as_float_array(ps, "ps")
    gen = rng(seed)
    has, count, best = (np.zeros((len(pv), reps)) for _ in range(3))
    for i, p in enumerate(pv):
        _check_np(n, float(p))
        for r in range(reps):
            g = nx.fast_gnp_random_graph(n, float(p), seed=int(gen.integers(0, 2**31 - 1)))
            k4 = sum(1 for c in nx.enumerate_all_cliques(g) if len(c) == 4) if g.number_of_edges() >= 6 else 0
            # a 4-clique already settles the partial credit; otherwise search the densest 4-set
            has[i, r], count[i, r], best[i, r] = k4 > 0, k4, 6 if k4 else densest_four_set_edges(g)
    return {"has_k4": has, "k4_count": count, "densest_four_set": best}


def giant_transition_summary(mean_degrees: ArrayLike, fractions: dict[int, NDArray[np.float64]],
                             threshold: float = 0.05) -> "pd.DataFrame":
    """Per graph size n: the order parameter's precursor share S(0.9)/S(2), its slopes either side of c = 1, and the
    width of the window in which the indicator "S > threshold" goes from 10% to 90% of graphs."""
    import pandas as pd

    cs = as_float_array(mean_degrees, "mean_degrees")
    at = lambda c: int(np.argmin(np.abs(cs - c)))  # noqa: E731
    rows = []
    for n, s in sorted(fractions.items()):
        m, p = s.mean(axis=1), (s > threshold).mean(axis=1)
        rows.append({"n": n, "S(0.9)": m[at(0.9)], "S(2.0)": m[at(2.0)], "precursor share": m[at(0.9)] / m[at(2.0)],
                     "slope 0.8-1.0": (m[at(1.0)] - m[at(0.8)]) / (cs[at(1.0)] - cs[at(0.8)]),
                     "slope 1.0-1.2": (m[at(1.2)] - m[at(1.0)]) / (cs[at(1.2)] - cs[at(1.0)]),
                     "indicator window": crossing(cs, p, 0.9) - crossing(cs, p, 0.1)})
    return pd.DataFrame(rows)
