"""k-nearest-neighbour graphs of one layer's activations (Baptista et al. 2024).

Two conventions:

* ``"paper"`` (Baptista et al.): a directed arc i -> j for every j != i whose distance to i
  is at most the k-th smallest distance from i to the other points. Every point tied at
  the k-th distance is kept, so an out-degree can exceed k; duplicate points are other
  points at distance exactly 0.
* ``"undirected"`` (Hehl et al.): exactly k nearest per point, ties broken by the lower
  index, symmetrised by OR.

Tie decisions are made on ``d_ij = sqrt(sum_c (x_ic - x_jc)**2)`` evaluated directly in
float64, coordinate by coordinate in order, as R's ``dist()`` does. The BLAS expansion
``|x|^2 + |y|^2 - 2 x.y`` is not used: it turns exact duplicates into small non-zero
distances and breaks exact ties. The direct loop is vectorised over the second point, so
each sum keeps its coordinate order and ``d_ij == d_ji`` holds bit for bit.

Each layer needs one distance pass for every k of a grid: :func:`neighbor_table` keeps,
per point, its neighbours sorted by (distance, index) up to the largest k with its ties,
and :func:`knn_graph_from_table` cuts that table at any smaller k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ricci_ray.errors import ConfigError

CONVENTIONS = ("paper", "undirected")

# Rows whose distances are accumulated together in one pass over the coordinates.
_TILE_ROWS = 8


@dataclass(frozen=True, eq=False)
class NeighborTable:
    """Per point, the other points sorted by (distance, index), cut after the k-th
    smallest distance for ``max_neighbors`` = k, ties at that distance included.

    Attributes:
        max_neighbors: the largest k this table can serve.
        indptr: (n + 1,) int64, row i is ``indices[indptr[i]:indptr[i + 1]]``.
        indices: (n_entries,) int64 neighbour indices, never i itself.
        distances: (n_entries,) float64, non-decreasing within a row.
    """

    max_neighbors: int
    indptr: np.ndarray
    indices: np.ndarray
    distances: np.ndarray

    @property
    def n_points(self) -> int:
        return self.indptr.size - 1


@dataclass(frozen=True, eq=False)
class KnnGraph:
    """A kNN graph in CSR form.

    Attributes:
        n_neighbors: k.
        convention: ``"paper"`` or ``"undirected"``.
        indptr, indices: (n + 1,) and (n_arcs,) int64. ``paper``: the directed arcs
            i -> j, row i sorted by (distance, index). ``undirected``: each edge appears
            in both of its rows, rows sorted by index.
        degree: (n,) int64. ``paper``: out-degree + in-degree (a mutual pair counts
            twice). ``undirected``: the undirected degree.
        adjacency_indptr, adjacency_indices: (n + 1,) and (n_adjacent,) int64, the simple
            graph with direction ignored (each neighbour once, rows sorted by index),
            on which hop distances are measured.
    """

    n_neighbors: int
    convention: str
    indptr: np.ndarray
    indices: np.ndarray
    degree: np.ndarray
    adjacency_indptr: np.ndarray
    adjacency_indices: np.ndarray

    @property
    def n_nodes(self) -> int:
        return self.indptr.size - 1

    @property
    def sources(self) -> np.ndarray:
        """(n_arcs,) int64: the tail node of each entry of ``indices``."""
        return np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(self.indptr))


def check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        allowed = ", ".join(repr(c) for c in CONVENTIONS)
        raise ConfigError(f"convention: allowed {allowed}; given {convention!r}")


def check_n_neighbors(n_neighbors: object, n_points: int, field: str = "n_neighbors") -> None:
    is_int = isinstance(n_neighbors, int | np.integer) and not isinstance(n_neighbors, bool)
    if not is_int or not 1 <= n_neighbors < n_points:
        raise ConfigError(
            f"{field}: allowed integers 1 <= k < n_points = {n_points}; given {n_neighbors!r}"
        )


def as_points(points: object, field: str = "points") -> np.ndarray:
    """Return ``points`` as a C-contiguous (n, d) float64 array of finite values."""
    array = np.asarray(points)
    if array.ndim != 2 or array.shape[0] < 2:
        raise ConfigError(
            f"{field}: allowed a 2-D array (n_points >= 2, n_features); given shape {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ConfigError(f"{field}: allowed a real numeric array; given dtype {array.dtype}")
    array = np.ascontiguousarray(array, dtype=np.float64)
    if not np.isfinite(array).all():
        raise ConfigError(f"{field}: allowed finite values only; given NaN or infinity")
    return array


def neighbor_table(points: np.ndarray, max_neighbors: int) -> NeighborTable:
    """Sort every point's neighbours up to the ``max_neighbors``-th distance and its ties.

    Args:
        points: (n, d) array, any real dtype (converted to float64).
        max_neighbors: the largest k that will be cut from the table, 1 <= k < n.
    """
    points = as_points(points)
    n_points = points.shape[0]
    check_n_neighbors(max_neighbors, n_points, field="max_neighbors")
    indptr, indices, distances = _neighbor_table(
        points, np.ascontiguousarray(points.T), max_neighbors
    )
    return NeighborTable(
        max_neighbors=int(max_neighbors),
        indptr=indptr,
        indices=indices,
        distances=distances,
    )


def knn_graph(points: np.ndarray, n_neighbors: int, convention: str = "paper") -> KnnGraph:
    """Build the kNN graph of one layer (Baptista et al. 2024).

    Args:
        points: (n, d) activations, any real dtype (converted to float64).
        n_neighbors: k, 1 <= k < n.
        convention: ``"paper"`` or ``"undirected"``.
    """
    check_convention(convention)
    points = as_points(points)
    check_n_neighbors(n_neighbors, points.shape[0])
    return knn_graph_from_table(neighbor_table(points, n_neighbors), n_neighbors, convention)


def knn_graph_from_table(
    table: NeighborTable, n_neighbors: int, convention: str = "paper"
) -> KnnGraph:
    """Cut the kNN graph at k = ``n_neighbors`` <= ``table.max_neighbors`` from a table."""
    check_convention(convention)
    check_n_neighbors(n_neighbors, table.n_points)
    if n_neighbors > table.max_neighbors:
        raise ConfigError(
            f"n_neighbors: allowed k <= table.max_neighbors = {table.max_neighbors}; "
            f"given {n_neighbors}"
        )
    n_points = table.n_points

    counts = _row_cut(table.indptr, table.distances, n_neighbors, convention == "paper")
    arc_indptr, arc_indices = _take_prefixes(table.indptr, table.indices, counts)
    adj_indptr, adj_indices = _symmetric_adjacency(arc_indptr, arc_indices)

    if convention == "paper":
        degree = counts + np.bincount(arc_indices, minlength=n_points)
        return KnnGraph(
            n_neighbors, convention, arc_indptr, arc_indices, degree, adj_indptr, adj_indices
        )
    degree = np.diff(adj_indptr)
    return KnnGraph(
        n_neighbors, convention, adj_indptr, adj_indices, degree, adj_indptr, adj_indices
    )


@njit(cache=True)
def _neighbor_table(points, points_t, max_neighbors):
    """(indptr, indices, distances) of the neighbour table, rows packed back to back."""
    n_points = points.shape[0]
    indptr = np.zeros(n_points + 1, dtype=np.int64)
    indices = np.empty(n_points * max_neighbors + n_points, dtype=np.int64)
    distances = np.empty(indices.size, dtype=np.float64)
    row_index = np.empty(n_points - 1, dtype=np.int64)
    row_dist = np.empty(n_points - 1, dtype=np.float64)
    tile = np.empty((_TILE_ROWS, n_points), dtype=np.float64)

    for first in range(0, n_points, _TILE_ROWS):
        last = min(first + _TILE_ROWS, n_points)
        _distance_tile(points, points_t, first, last, tile)
        for i in range(first, last):
            m = _sort_row(tile[i - first], i, max_neighbors, row_index, row_dist)
            end = indptr[i] + m
            if end > indices.size:  # ties beyond k: grow the packed arrays
                size = max(2 * indices.size, end)
                indices = _grown(indices, size)
                distances = _grown(distances, size)
            indices[indptr[i] : end] = row_index[:m]
            distances[indptr[i] : end] = row_dist[:m]
            indptr[i + 1] = end
    return indptr, indices[: indptr[-1]].copy(), distances[: indptr[-1]].copy()


@njit(cache=True)
def _grown(array, size):
    out = np.empty(size, dtype=array.dtype)
    out[: array.size] = array
    return out


@njit(cache=True)
def _distance_tile(points, points_t, first, last, tile):
    """tile[t, j] = d(first + t, j), squares summed coordinate by coordinate in order.

    Several rows share each pass over a coordinate so the loads of points_t are reused;
    the loop over j is vectorised without reordering any single sum.
    """
    n_points, n_features = points.shape
    tile[:] = 0.0
    for c in range(n_features):
        row = points_t[c]
        for t in range(last - first):
            x_ic = points[first + t, c]
            squares = tile[t]
            for j in range(n_points):
                diff = row[j] - x_ic
                squares[j] += diff * diff
    for t in range(last - first):
        for j in range(n_points):
            tile[t, j] = np.sqrt(tile[t, j])


@njit(cache=True)
def _sort_row(distances, i, max_neighbors, order, dist):
    """Write the neighbours of i up to the max_neighbors-th distance, ties included,
    sorted by (distance, index) into order and dist; return how many."""
    n_points = distances.size
    others = np.empty(n_points - 1, dtype=np.float64)
    m = 0
    for j in range(n_points):
        if j != i:
            others[m] = distances[j]
            m += 1
    threshold = np.partition(others, max_neighbors - 1)[max_neighbors - 1]

    # Candidates in index order; a stable sort then breaks distance ties by index.
    cand_index = np.empty(n_points - 1, dtype=np.int64)
    m = 0
    for j in range(n_points):
        if j != i and distances[j] <= threshold:
            cand_index[m] = j
            others[m] = distances[j]
            m += 1
    perm = np.argsort(others[:m], kind="mergesort")
    for p in range(m):
        order[p] = cand_index[perm[p]]
        dist[p] = others[perm[p]]
    return m


@njit(cache=True)
def _row_cut(indptr, distances, n_neighbors, keep_ties):
    """Per row, how many sorted entries the graph at k keeps: k, plus ties if asked."""
    n_points = indptr.size - 1
    counts = np.empty(n_points, dtype=np.int64)
    for i in range(n_points):
        lo, hi = indptr[i], indptr[i + 1]
        end = lo + n_neighbors
        if keep_ties:
            kth = distances[end - 1]
            while end < hi and distances[end] == kth:
                end += 1
        counts[i] = end - lo
    return counts


@njit(cache=True)
def _take_prefixes(indptr, indices, counts):
    n_points = indptr.size - 1
    out_indptr = np.zeros(n_points + 1, dtype=np.int64)
    for i in range(n_points):
        out_indptr[i + 1] = out_indptr[i] + counts[i]
    out_indices = np.empty(out_indptr[-1], dtype=np.int64)
    for i in range(n_points):
        out_indices[out_indptr[i] : out_indptr[i + 1]] = indices[indptr[i] : indptr[i] + counts[i]]
    return out_indptr, out_indices


@njit(cache=True)
def _symmetric_adjacency(indptr, indices):
    """The simple undirected graph of a directed CSR graph: row i = sorted N_out(i) | N_in(i)."""
    n_points = indptr.size - 1

    # Reverse arcs by a counting sort on the heads.
    rev_indptr = np.zeros(n_points + 1, dtype=np.int64)
    for p in range(indices.size):
        rev_indptr[indices[p] + 1] += 1
    for i in range(n_points):
        rev_indptr[i + 1] += rev_indptr[i]
    fill = rev_indptr[:-1].copy()
    rev_indices = np.empty(indices.size, dtype=np.int64)
    for i in range(n_points):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            rev_indices[fill[j]] = i
            fill[j] += 1

    # The union is symmetric, so it equals its own transpose; building the transpose by
    # visiting nodes r in increasing order appends r to each neighbour's row in sorted
    # order. A mutual pair reaches row j twice from the same r; last[j] drops the copy.
    bound = np.zeros(n_points + 1, dtype=np.int64)
    for i in range(n_points):
        bound[i + 1] = bound[i] + (indptr[i + 1] - indptr[i]) + (rev_indptr[i + 1] - rev_indptr[i])
    fill = bound[:-1].copy()
    last = np.full(n_points, -1, dtype=np.int64)
    buffer = np.empty(bound[-1], dtype=np.int64)
    for r in range(n_points):
        for p in range(indptr[r], indptr[r + 1]):
            j = indices[p]
            if last[j] != r:
                last[j] = r
                buffer[fill[j]] = r
                fill[j] += 1
        for p in range(rev_indptr[r], rev_indptr[r + 1]):
            j = rev_indices[p]
            if last[j] != r:
                last[j] = r
                buffer[fill[j]] = r
                fill[j] += 1

    out_indptr = np.zeros(n_points + 1, dtype=np.int64)
    for i in range(n_points):
        out_indptr[i + 1] = out_indptr[i] + (fill[i] - bound[i])
    out_indices = np.empty(out_indptr[-1], dtype=np.int64)
    for i in range(n_points):
        out_indices[out_indptr[i] : out_indptr[i + 1]] = buffer[bound[i] : fill[i]]
    return out_indptr, out_indices
