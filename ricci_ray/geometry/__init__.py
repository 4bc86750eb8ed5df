"""Geometry core: kNN graphs, Forman curvature, hop geodesics and the Ricci coefficient.

Imports only numpy and numba (no Ray, MLflow or torch).
"""

from ricci_ray.geometry.coefficient import NetworkGeometry, network_geometry, pearson
from ricci_ray.geometry.curvature import edge_forman_curvature, forman_curvature
from ricci_ray.geometry.geodesics import connected_components, hop_distance_sums
from ricci_ray.geometry.knn import (
    KnnGraph,
    NeighborTable,
    knn_graph,
    knn_graph_from_table,
    neighbor_table,
)

__all__ = [
    "KnnGraph",
    "NeighborTable",
    "NetworkGeometry",
    "connected_components",
    "edge_forman_curvature",
    "forman_curvature",
    "hop_distance_sums",
    "knn_graph",
    "knn_graph_from_table",
    "network_geometry",
    "neighbor_table",
    "pearson",
]
