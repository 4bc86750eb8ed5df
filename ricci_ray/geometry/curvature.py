"""Forman-Ricci curvature of a kNN graph with unit weights (SPEC §2).

Edge curvature R(i, j) = 4 - deg(i) - deg(j). In the ``paper`` convention the layer total
is summed over the directed arcs, so a mutual pair contributes twice; in the
``undirected`` convention each edge counts once.
"""

from __future__ import annotations

import numpy as np

from ricci_ray.geometry.knn import KnnGraph


def edge_forman_curvature(graph: KnnGraph) -> np.ndarray:
    """Forman curvature 4 - deg(i) - deg(j) of every entry of ``graph.indices``.

    Returns:
        (n_arcs,) int64 aligned with ``graph.indices`` (row i holds the arcs leaving i).
        In the ``undirected`` convention every edge appears twice, once in each row.
    """
    degree = graph.degree
    return 4 - degree[graph.sources] - degree[graph.indices]


def forman_curvature(graph: KnnGraph) -> int:
    """Total Forman curvature Ric of a layer's graph (SPEC §2).

    ``paper``: Ric = sum over directed arcs i -> j of (4 - deg i - deg j); when every
    out-degree is exactly k this equals 4nk - 3nk^2 - sum_j indeg(j)^2.
    ``undirected``: Ric = sum over edges {i, j}, each once, of (4 - deg i - deg j).
    """
    total = int(edge_forman_curvature(graph).sum())
    if graph.convention == "undirected":
        return total // 2
    return total
