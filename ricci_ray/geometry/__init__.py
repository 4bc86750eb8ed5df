"""Geometry core: kNN graphs, curvatures, hop geodesics, global and local Ricci coefficients.

Imports only numpy, scipy and numba (no Ray, MLflow or torch); exact Ollivier curvature
imports POT when it is asked for.
"""

from ricci_ray.geometry.coefficient import (
    NetworkGeometry,
    depth_adjusted,
    depth_adjusted_values,
    network_geometry,
    pearson,
    pooled_coefficient,
)
from ricci_ray.geometry.curvature import (
    CURVATURES,
    common_neighbors,
    edge_approx_ollivier_curvature,
    edge_augmented_forman_curvature,
    edge_curvature,
    edge_forman_curvature,
    edge_ollivier_curvature,
    forman_curvature,
    layer_curvature,
    node_curvature,
)
from ricci_ray.geometry.geodesics import connected_components, hop_distance_sums
from ricci_ray.geometry.knn import (
    KnnGraph,
    NeighborTable,
    knn_graph,
    knn_graph_from_table,
    neighbor_table,
)
from ricci_ray.geometry.local import (
    LocalGeometry,
    geodesic_change,
    local_coefficients,
    neighbor_hops,
)

__all__ = [
    "CURVATURES",
    "KnnGraph",
    "LocalGeometry",
    "NeighborTable",
    "NetworkGeometry",
    "common_neighbors",
    "connected_components",
    "depth_adjusted",
    "depth_adjusted_values",
    "edge_approx_ollivier_curvature",
    "edge_augmented_forman_curvature",
    "edge_curvature",
    "edge_forman_curvature",
    "edge_ollivier_curvature",
    "forman_curvature",
    "geodesic_change",
    "hop_distance_sums",
    "knn_graph",
    "knn_graph_from_table",
    "layer_curvature",
    "local_coefficients",
    "neighbor_hops",
    "neighbor_table",
    "network_geometry",
    "node_curvature",
    "pearson",
    "pooled_coefficient",
]
