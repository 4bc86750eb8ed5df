"""Local and per-layer Ricci coefficients (Hehl et al. 2025, Hehl, von Renesse and Weber 2025).

Undirected kNN graphs (``"undirected"`` convention) of the layers l = 0..L, input first.
For l = 0..L-1 and every point x:

* node scalar curvature S_l(x) = mean curvature of the edges at x in layer l's graph;
* geodesic change eta_l(x) = mean over the neighbours y of x in layer l of
  d_{l+1}(x, y) - 1, the hop distance measured in the NEXT layer's graph.

The local coefficient of x is the Pearson correlation over l of (S_l(x), eta_l(x)), L
points; it is undefined when some neighbour becomes unreachable in the next layer. The
layer coefficient of l is the Pearson correlation over the points x of (S_l(x), eta_l(x)),
over the points whose layer-l neighbours all stay reachable (the others are counted in
``n_unreachable``).

Only the hop distances between layer-l neighbours are needed, so each x runs one
breadth-first search in the next layer's graph that stops as soon as all of its layer-l
neighbours are found: O(n) memory, never an n x n matrix.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

from ricci_ray.geometry.coefficient import _check_activations, _pearson
from ricci_ray.geometry.curvature import check_curvature, check_ollivier, node_curvature
from ricci_ray.geometry.knn import KnnGraph, check_n_neighbors, knn_graph

logger = logging.getLogger(__name__)

UNREACHABLE = "a neighbour becomes unreachable"


@dataclass(frozen=True, eq=False)
class LocalGeometry:
    """Local and per-layer coefficients of one network at one scale k (Hehl et al. 2025).

    Layers l = 0..L-1 (the input and every hidden layer but the last, which has no next
    layer); L = ``len(activations) - 1``.

    Attributes:
        n_neighbors: k.
        curvature: the edge curvature behind ``node_curvature``.
        node_curvature: (L, n) float64, S_l(x).
        geodesic_change: (L, n) float64, eta_l(x); +inf where a neighbour of x in layer l
            is unreachable in layer l + 1.
        local_coef: (n,) float64, Pearson over l of (S_l(x), eta_l(x)); NaN where undefined.
        n_local_defined: points with a defined local coefficient.
        local_coef_mean: mean of the defined local coefficients; None when there are none.
        local_coef_frac_negative: fraction of the defined ones below 0; None when none.
        local_reasons: {reason: number of points} for the undefined local coefficients.
        layer_coef: (L,) float64, Pearson over points of (S_l, eta_l); NaN where undefined.
        layer_reasons: L entries, None or why that layer's coefficient is undefined.
        n_unreachable: (L,) int64, points left out of layer l's coefficient because a
            neighbour becomes unreachable in layer l + 1.
    """

    n_neighbors: int
    curvature: str
    node_curvature: np.ndarray
    geodesic_change: np.ndarray
    local_coef: np.ndarray
    n_local_defined: int
    local_coef_mean: float | None
    local_coef_frac_negative: float | None
    local_reasons: dict[str, int]
    layer_coef: np.ndarray
    layer_reasons: tuple[str | None, ...]
    n_unreachable: np.ndarray


def neighbor_hops(graph: KnnGraph, next_graph: KnnGraph) -> np.ndarray:
    """Hop distance in ``next_graph`` (direction ignored) across every arc of ``graph``.

    Returns:
        (n_arcs,) int64 aligned with ``graph.indices``; -1 where the two ends are in
        different components of ``next_graph``.
    """
    return _neighbor_hops(
        graph.indptr, graph.indices, next_graph.adjacency_indptr, next_graph.adjacency_indices
    )


def geodesic_change(graph: KnnGraph, next_graph: KnnGraph) -> np.ndarray:
    """eta(x) = mean over the neighbours y of x in ``graph`` of d_next(x, y) - 1 (Hehl et al.).

    Returns:
        (n,) float64; +inf where some neighbour is unreachable in ``next_graph``.
    """
    hops = neighbor_hops(graph, next_graph).astype(np.float64)
    hops[hops < 0] = np.inf
    totals = np.bincount(graph.sources, weights=hops - 1.0, minlength=graph.n_nodes)
    return totals / np.diff(graph.indptr)


def local_coefficients(
    activations: Sequence[np.ndarray],
    k: int,
    *,
    curvature: str = "forman",
    force: bool = False,
) -> LocalGeometry:
    """Local and per-layer Ricci coefficients of one network at scale k (Hehl et al. 2025).

    Args:
        activations: [X_0, X_1, ..., X_L]: the input (n, d_0), then the hidden layer
            outputs (n, d_l). Any real dtype; distances are computed in float64.
        k: n_neighbors of the undirected kNN graphs, 1 <= k < n.
        curvature: the edge curvature averaged into S_l(x), one of
            :data:`~ricci_ray.geometry.curvature.CURVATURES`.
        force: run exact Ollivier curvature above its size limit.
    """
    check_curvature(curvature)
    layers = _check_activations(activations)
    n_points = layers[0].shape[0]
    check_n_neighbors(k, n_points, field="k")
    if curvature == "ollivier":
        check_ollivier(n_points, force)
    k = int(k)

    graphs = [knn_graph(points, k, "undirected") for points in layers]
    curv = np.stack([node_curvature(g, curvature, force=force) for g in graphs[:-1]])
    eta = np.stack([geodesic_change(g, nxt) for g, nxt in zip(graphs, graphs[1:], strict=False)])

    local_coef, reasons = _pointwise_pearson(curv, eta)
    defined = local_coef[~np.isnan(local_coef)]
    n_unreachable = (~np.isfinite(eta)).sum(axis=1).astype(np.int64)
    if n_unreachable.any():
        logger.warning(
            "k=%d: points with a neighbour unreachable in the next layer, per layer: %s; "
            "left out of the layer coefficients",
            k,
            n_unreachable.tolist(),
        )

    layer_coef = np.full(curv.shape[0], np.nan)
    layer_reasons: list[str | None] = []
    for layer in range(curv.shape[0]):
        usable = np.isfinite(eta[layer])
        r, reason = _pearson(curv[layer][usable], eta[layer][usable], "curvature", "eta")
        layer_coef[layer] = np.nan if r is None else r
        layer_reasons.append(reason)

    return LocalGeometry(
        n_neighbors=k,
        curvature=curvature,
        node_curvature=curv,
        geodesic_change=eta,
        local_coef=local_coef,
        n_local_defined=int(defined.size),
        local_coef_mean=float(defined.mean()) if defined.size else None,
        local_coef_frac_negative=float((defined < 0).mean()) if defined.size else None,
        local_reasons=reasons,
        layer_coef=layer_coef,
        layer_reasons=tuple(layer_reasons),
        n_unreachable=n_unreachable,
    )


def _pointwise_pearson(curv: np.ndarray, eta: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Pearson over rows (layers) of every column (point) of two (L, n) arrays.

    Undefined cases, in this order, as in :func:`~ricci_ray.geometry.pearson`: fewer than
    3 layers, an unreachable neighbour (infinite eta), a constant series.
    """
    n_layers, n_points = curv.shape
    if n_layers < 3:
        return np.full(n_points, np.nan), {f"fewer than 3 points ({n_layers})": n_points}

    why = np.full(n_points, "", dtype=object)
    reachable = np.isfinite(eta).all(axis=0)
    why[~reachable] = UNREACHABLE
    flat_curv = (curv == curv[0]).all(axis=0)
    why[reachable & flat_curv] = "constant curvature series"
    safe_eta = np.where(np.isfinite(eta), eta, 0.0)
    flat_eta = (safe_eta == safe_eta[0]).all(axis=0)
    why[reachable & ~flat_curv & flat_eta] = "constant eta series"

    dx = curv - curv.mean(axis=0)
    dy = safe_eta - safe_eta.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (dx * dy).sum(axis=0) / np.sqrt((dx * dx).sum(axis=0) * (dy * dy).sum(axis=0))
    r = np.clip(r, -1.0, 1.0)
    defined = why == ""
    r[~defined] = np.nan
    return r, dict(Counter(why[~defined].tolist()))


@njit(cache=True)
def _neighbor_hops(indptr, indices, next_indptr, next_indices):
    """Per arc x -> y of the first graph, the hop distance from x to y in the second graph
    (-1 if unreachable): one BFS per x, stopped once all of x's neighbours are found."""
    n_nodes = indptr.size - 1
    hops = np.full(indices.size, -1, dtype=np.int64)
    dist = np.full(n_nodes, -1, dtype=np.int64)
    target = np.full(n_nodes, -1, dtype=np.int64)
    queue = np.empty(n_nodes, dtype=np.int64)
    for x in range(n_nodes):
        remaining = 0
        for p in range(indptr[x], indptr[x + 1]):
            if target[indices[p]] != x:
                target[indices[p]] = x
                remaining += 1

        dist[x] = 0
        queue[0] = x
        head, tail = 0, 1
        while head < tail and remaining > 0:
            u = queue[head]
            head += 1
            for p in range(next_indptr[u], next_indptr[u + 1]):
                v = next_indices[p]
                if dist[v] < 0:
                    dist[v] = dist[u] + 1
                    queue[tail] = v
                    tail += 1
                    if target[v] == x:
                        remaining -= 1

        for p in range(indptr[x], indptr[x + 1]):
            hops[p] = dist[indices[p]]
        for q in range(tail):
            dist[queue[q]] = -1
    return hops
