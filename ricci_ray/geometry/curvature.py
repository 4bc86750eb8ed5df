"""Edge, node and layer curvatures of a kNN graph with unit weights (Baptista et al. 2024).

Four curvatures, selected by name (:data:`CURVATURES`):

* ``"forman"``: R(i, j) = 4 - deg(i) - deg(j).
* ``"augmented_forman"``: R(i, j) = 4 - deg(i) - deg(j) + 3 t(i, j), where t(i, j) is the
  number of triangles through the edge, i.e. of common neighbours of i and j.
* ``"approx_ollivier"``: the closed-form approximation of Ollivier-Ricci curvature of Tian,
  Lubberts and Weber (2023), see :func:`edge_approx_ollivier_curvature`.
* ``"ollivier"``: exact Ollivier-Ricci curvature, 1 - W1 between the uniform measures on
  the two 1-hop neighbourhoods with the hop distance as cost (slow; needs POT).

``deg`` is :attr:`KnnGraph.degree`: out-degree + in-degree in the ``paper`` convention (a
mutual pair counts twice), the undirected degree in the ``undirected`` convention. Common
neighbours, 1-hop neighbourhoods and hop distances are always taken on the simple graph
with edge direction ignored (:attr:`KnnGraph.adjacency_indptr`); the Ollivier measures
therefore sit on the undirected neighbourhoods, of size ``d(i)`` = the simple-graph degree.

Edge curvatures are aligned with ``graph.indices``: the directed arcs in the ``paper``
convention, each undirected edge twice (once per row) in the ``undirected`` convention.
The layer total sums over the arcs in the ``paper`` convention (a mutual pair twice) and
over the edges, each once, in the ``undirected`` convention.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit
from scipy.sparse.csgraph import shortest_path

from ricci_ray.errors import ConfigError, MissingDependencyError
from ricci_ray.geometry.knn import KnnGraph

CURVATURES = ("forman", "augmented_forman", "approx_ollivier", "ollivier")
# Exact Ollivier curvature solves one transport problem per edge; above this many points it
# takes hours at the larger k of the grids, so it needs ``force=True``.
OLLIVIER_MAX_POINTS = 2000
OLLIVIER_INSTALL = "pip install 'ricci-ray[ollivier]'"
# Rows of the hop-distance matrix computed together for the Ollivier cost matrices.
_DISTANCE_BLOCK_ROWS = 256


def check_curvature(curvature: str) -> None:
    if curvature not in CURVATURES:
        allowed = ", ".join(repr(c) for c in CURVATURES)
        raise ConfigError(f"curvature: allowed {allowed}; given {curvature!r}")


def check_ollivier(n_points: int, force: bool) -> None:
    """Raise unless exact Ollivier curvature can run: POT installed, n small or forced."""
    if n_points > OLLIVIER_MAX_POINTS and not force:
        raise ConfigError(
            f"curvature: allowed 'ollivier' for n_points <= {OLLIVIER_MAX_POINTS} "
            f"(pass force=True to run it anyway, it is slow); given n_points = {n_points}"
        )
    _import_ot()


def edge_forman_curvature(graph: KnnGraph) -> np.ndarray:
    """Forman curvature 4 - deg(i) - deg(j) of every entry of ``graph.indices``.

    Returns:
        (n_arcs,) int64 aligned with ``graph.indices`` (row i holds the arcs leaving i).
        In the ``undirected`` convention every edge appears twice, once in each row.
    """
    degree = graph.degree
    return 4 - degree[graph.sources] - degree[graph.indices]


def common_neighbors(graph: KnnGraph) -> np.ndarray:
    """t(i, j): the common neighbours of i and j, direction ignored, for every arc.

    Returns:
        (n_arcs,) int64 aligned with ``graph.indices``; t is the number of triangles
        through the edge in the simple undirected graph.
    """
    return _common_neighbors(
        graph.indptr, graph.indices, graph.adjacency_indptr, graph.adjacency_indices
    )


def edge_augmented_forman_curvature(graph: KnnGraph) -> np.ndarray:
    """Augmented Forman curvature 4 - deg(i) - deg(j) + 3 t(i, j) of every arc.

    ``deg`` follows the convention (paper: out + in); t(i, j) counts the common neighbours
    in the simple graph with direction ignored (:func:`common_neighbors`), so in the
    ``paper`` convention a triangle counts once however its arcs point.

    Returns:
        (n_arcs,) int64 aligned with ``graph.indices``.
    """
    return edge_forman_curvature(graph) + 3 * common_neighbors(graph)


def edge_approx_ollivier_curvature(graph: KnnGraph) -> np.ndarray:
    """Approximate Ollivier-Ricci curvature of every arc (Tian, Lubberts and Weber 2023).

    With d_i, d_j the simple-graph degrees and t = t(i, j) the common neighbours, Jost and
    Liu (2014, Theorem 3) bound the Ollivier curvature of the uniform neighbourhood
    measures (no laziness) by

        lower = -(1 - 1/d_i - 1/d_j - t/min(d_i, d_j))_+
                - (1 - 1/d_i - 1/d_j - t/max(d_i, d_j))_+ + t/max(d_i, d_j)
        upper = t / max(d_i, d_j)

    and Tian et al. approximate the curvature by the midpoint (lower + upper) / 2. It is
    exact on cliques ((n - 2)/(n - 1)), paths and stars (0). Linear in the arcs times the
    degree, it needs no transport problem.

    Returns:
        (n_arcs,) float64 aligned with ``graph.indices``.
    """
    degree = np.diff(graph.adjacency_indptr).astype(np.float64)
    d_i = degree[graph.sources]
    d_j = degree[graph.indices]
    t = common_neighbors(graph).astype(np.float64)
    small, large = np.minimum(d_i, d_j), np.maximum(d_i, d_j)
    base = 1.0 - 1.0 / d_i - 1.0 / d_j
    lower = -np.maximum(base - t / small, 0.0) - np.maximum(base - t / large, 0.0) + t / large
    upper = t / large
    return 0.5 * (lower + upper)


def edge_ollivier_curvature(graph: KnnGraph, *, force: bool = False) -> np.ndarray:
    """Exact Ollivier-Ricci curvature 1 - W1(m_i, m_j) of every arc (Baptista et al. 2024).

    m_i is the uniform measure on the neighbours of i (direction ignored, i itself not
    included: no laziness); the cost is the hop distance, at most 3 between the two
    neighbourhoods. One optimal-transport problem per edge (POT's exact solver), so this is
    slow: about d^3 per edge. Graphs over :data:`OLLIVIER_MAX_POINTS` nodes raise a
    ConfigError unless ``force`` is set. Needs POT: ``pip install 'ricci-ray[ollivier]'``.

    Returns:
        (n_arcs,) float64 aligned with ``graph.indices``.
    """
    check_ollivier(graph.n_nodes, force)
    ot = _import_ot()
    adj_indptr, adj_indices = graph.adjacency_indptr, graph.adjacency_indices
    distances = _hop_distances_uint8(graph)

    sources = graph.sources
    curvature = np.empty(graph.indices.size, dtype=np.float64)
    solved: dict[tuple[int, int], float] = {}
    for arc, (i, j) in enumerate(zip(sources.tolist(), graph.indices.tolist(), strict=True)):
        key = (i, j) if i < j else (j, i)
        if key not in solved:
            support_i = adj_indices[adj_indptr[i] : adj_indptr[i + 1]]
            support_j = adj_indices[adj_indptr[j] : adj_indptr[j + 1]]
            cost = distances[np.ix_(support_i, support_j)].astype(np.float64)
            mass_i = np.full(support_i.size, 1.0 / support_i.size)
            mass_j = np.full(support_j.size, 1.0 / support_j.size)
            solved[key] = 1.0 - float(ot.emd2(mass_i, mass_j, cost))
        curvature[arc] = solved[key]
    return curvature


def edge_curvature(graph: KnnGraph, curvature: str = "forman", *, force: bool = False):
    """Curvature of every arc by name (:data:`CURVATURES`).

    Returns:
        (n_arcs,) aligned with ``graph.indices``: int64 for the two Forman curvatures,
        float64 for the Ollivier ones. ``force`` only matters for ``"ollivier"``.
    """
    check_curvature(curvature)
    if curvature == "forman":
        return edge_forman_curvature(graph)
    if curvature == "augmented_forman":
        return edge_augmented_forman_curvature(graph)
    if curvature == "approx_ollivier":
        return edge_approx_ollivier_curvature(graph)
    return edge_ollivier_curvature(graph, force=force)


def layer_curvature(graph: KnnGraph, curvature: str = "forman", *, force: bool = False):
    """Total curvature Ric of a layer's graph: over the arcs (``paper``), or over the edges
    each once (``undirected``). An int for the Forman curvatures, a float otherwise."""
    total = edge_curvature(graph, curvature, force=force).sum()
    if graph.convention == "undirected":
        total = total // 2 if curvature in ("forman", "augmented_forman") else total / 2
    return int(total) if curvature in ("forman", "augmented_forman") else float(total)


def node_curvature(
    graph: KnnGraph, curvature: str = "forman", *, force: bool = False
) -> np.ndarray:
    """Node scalar curvature S(x): the mean curvature of the arcs leaving x (Hehl et al. 2025).

    In the ``undirected`` convention these are exactly the edges at x. Every node of a kNN
    graph has at least one arc, so the mean is always defined.

    Returns:
        (n,) float64.
    """
    edges = edge_curvature(graph, curvature, force=force).astype(np.float64)
    n_arcs = np.diff(graph.indptr)
    totals = np.bincount(graph.sources, weights=edges, minlength=graph.n_nodes)
    return totals / n_arcs


def forman_curvature(graph: KnnGraph) -> int:
    """Total Forman curvature Ric of a layer's graph (Baptista et al. 2024).

    ``paper``: Ric = sum over directed arcs i -> j of (4 - deg i - deg j); when every
    out-degree is exactly k this equals 4nk - 3nk^2 - sum_j indeg(j)^2.
    ``undirected``: Ric = sum over edges {i, j}, each once, of (4 - deg i - deg j).
    """
    total = int(edge_forman_curvature(graph).sum())
    if graph.convention == "undirected":
        return total // 2
    return total


def _import_ot():
    try:
        import ot
    except ImportError as error:
        raise MissingDependencyError(
            f"exact Ollivier curvature needs the POT library: {OLLIVIER_INSTALL}"
        ) from error
    return ot


def _hop_distances_uint8(graph: KnnGraph) -> np.ndarray:
    """(n, n) uint8 hop distances, direction ignored, 255 for unreachable or >= 255 hops.

    Built in row blocks so that no n x n float64 matrix is ever held.
    """
    n = graph.n_nodes
    data = np.ones(graph.adjacency_indices.size, dtype=np.float64)
    matrix = sp.csr_matrix((data, graph.adjacency_indices, graph.adjacency_indptr), shape=(n, n))
    distances = np.empty((n, n), dtype=np.uint8)
    for first in range(0, n, _DISTANCE_BLOCK_ROWS):
        rows = np.arange(first, min(first + _DISTANCE_BLOCK_ROWS, n))
        block = shortest_path(matrix, directed=False, unweighted=True, indices=rows)
        distances[rows] = np.minimum(block, 255).astype(np.uint8)
    return distances


@njit(cache=True)
def _common_neighbors(indptr, indices, adj_indptr, adj_indices):
    """Per arc i -> j, |N(i) & N(j)| on the simple graph: mark N(i), count marks in N(j)."""
    n_nodes = indptr.size - 1
    mark = np.full(n_nodes, -1, dtype=np.int64)
    counts = np.empty(indices.size, dtype=np.int64)
    for i in range(n_nodes):
        for p in range(adj_indptr[i], adj_indptr[i + 1]):
            mark[adj_indices[p]] = i
        for q in range(indptr[i], indptr[i + 1]):
            j = indices[q]
            shared = 0
            for p in range(adj_indptr[j], adj_indptr[j + 1]):
                if mark[adj_indices[p]] == i:
                    shared += 1
            counts[q] = shared
    return counts
