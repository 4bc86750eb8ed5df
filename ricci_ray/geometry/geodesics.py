"""Hop-distance row sums and connected components of a kNN graph (SPEC §1, §3).

The global Ricci coefficient needs, per layer, only the row sums of the hop-distance
matrix (edge direction ignored) and the component partition. Building the n x n distance
matrix is never necessary, so this module runs a multi-source breadth-first search on
bitsets instead:

* a block of up to 64 * W sources advances together; node v holds W uint64 words, bit s
  set when source s has reached v (``visited``) or reached it at the current level
  (``frontier``);
* one level is a pull: the bits newly reaching v are the OR of its neighbours' frontier
  words, minus what v has already seen;
* since hop distance is symmetric, level * popcount(new bits of v) summed over the
  levels and source blocks is the row sum of v itself.

Memory is three n x W word arrays, about 3 n^2 / 8 bytes when all sources fit in one
block; larger graphs are processed in source blocks under a fixed budget. The work is
(levels) x (adjacency entries) x W word operations, vectorised over the W words.

Why numba: the kernels are plain loops over CSR arrays and uint64 words, which numpy
cannot express without n x n temporaries. numba ships binary wheels, so a fresh worker
(a Ray pod, a CI runner) needs no C compiler or build step, unlike a Cython or C++
extension, and ``cache=True`` keeps the compiled kernels across processes. The kernels
are serial on purpose: a sweep already runs one trial per core.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ricci_ray.geometry.knn import KnnGraph

# Upper bound on the bytes of the three bitset arrays of one source block.
_BITSET_BUDGET_BYTES = 96 * 2**20


def hop_distance_sums(graph: KnnGraph) -> tuple[np.ndarray, np.ndarray]:
    """Row sums of the hop-distance matrix and the connected components, direction ignored.

    Returns:
        row_sums: (n,) int64, sum over the nodes j reachable from i of the hop distance
            d(i, j); unreachable pairs are left out (SPEC §3).
        component_labels: (n,) int64, each node labelled by the smallest node index of its
            component, so equal arrays mean equal partitions.
    """
    indptr, indices = graph.adjacency_indptr, graph.adjacency_indices
    n_nodes = indptr.size - 1
    n_words = max(1, min((n_nodes + 63) // 64, _BITSET_BUDGET_BYTES // (24 * n_nodes)))
    return _bitset_row_sums(indptr, indices, n_words), _component_labels(indptr, indices)


def connected_components(graph: KnnGraph) -> np.ndarray:
    """(n,) int64 component labels (smallest node index of the component), direction ignored."""
    return _component_labels(graph.adjacency_indptr, graph.adjacency_indices)


@njit(cache=True, inline="always")
def _popcount(word):
    word = word - ((word >> np.uint64(1)) & np.uint64(0x5555555555555555))
    word = (word & np.uint64(0x3333333333333333)) + (
        (word >> np.uint64(2)) & np.uint64(0x3333333333333333)
    )
    word = (word + (word >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((word * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True)
def _bitset_row_sums(indptr, indices, max_words):
    n_nodes = indptr.size - 1
    row_sums = np.zeros(n_nodes, dtype=np.int64)
    block = 64 * max_words
    for first in range(0, n_nodes, block):
        last = min(first + block, n_nodes)
        _bitset_block(indptr, indices, first, last, row_sums)
    return row_sums


@njit(cache=True)
def _bitset_block(indptr, indices, first, last, row_sums):
    """Add to row_sums[v] the hop distances from sources first..last-1 to v."""
    n_nodes = indptr.size - 1
    n_sources = last - first
    n_words = (n_sources + 63) // 64
    visited = np.zeros((n_nodes, n_words), dtype=np.uint64)
    frontier = np.zeros((n_nodes, n_words), dtype=np.uint64)
    reached = np.empty((n_nodes, n_words), dtype=np.uint64)
    n_seen = np.zeros(n_nodes, dtype=np.int64)  # sources that have reached v
    in_frontier = np.zeros(n_nodes, dtype=np.bool_)
    acc = np.empty(n_words, dtype=np.uint64)
    one = np.uint64(1)

    for s in range(n_sources):
        bit = one << np.uint64(s & 63)
        visited[first + s, s >> 6] |= bit
        frontier[first + s, s >> 6] |= bit
        n_seen[first + s] = 1
        in_frontier[first + s] = True

    level = 0
    active = True
    while active:
        level += 1
        active = False

        # Pull: bits new to v are the OR of its neighbours' frontiers, minus its own.
        for v in range(n_nodes):
            reached[v, :] = 0
            if n_seen[v] == n_sources:
                continue
            acc[:] = 0
            for p in range(indptr[v], indptr[v + 1]):
                u = indices[p]
                if in_frontier[u]:
                    for w in range(n_words):
                        acc[w] |= frontier[u, w]
            n_new = 0
            for w in range(n_words):
                new = acc[w] & ~visited[v, w]
                reached[v, w] = new
                n_new += _popcount(new)
            if n_new > 0:
                row_sums[v] += level * n_new
                n_seen[v] += n_new
                active = True

        for v in range(n_nodes):
            any_new = False
            for w in range(n_words):
                visited[v, w] |= reached[v, w]
                any_new |= reached[v, w] != 0
            in_frontier[v] = any_new
        frontier, reached = reached, frontier


@njit(cache=True)
def _component_labels(indptr, indices):
    """Label each node with the smallest index in its component (plain BFS)."""
    n_nodes = indptr.size - 1
    labels = np.full(n_nodes, -1, dtype=np.int64)
    queue = np.empty(n_nodes, dtype=np.int64)
    for root in range(n_nodes):
        if labels[root] >= 0:
            continue
        labels[root] = root
        queue[0] = root
        head, tail = 0, 1
        while head < tail:
            u = queue[head]
            head += 1
            for p in range(indptr[u], indptr[u + 1]):
                v = indices[p]
                if labels[v] < 0:
                    labels[v] = root
                    queue[tail] = v
                    tail += 1
    return labels
