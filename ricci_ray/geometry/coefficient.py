"""The global Ricci coefficient of one network at each scale k (Baptista et al. 2024).

Per layer l = 0..L (input first) and scale k: the total curvature Ric_l of the kNN graph
(Forman by default, or any of :data:`~ricci_ray.geometry.curvature.CURVATURES`),
the geodesic sum g_l over ordered reachable pairs, and the component partition. Over the
hidden layers, eta_l = g_{l+1} - g_l and rho_k = Pearson_l(Ric_l, eta_l), l = 1..L-1.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ricci_ray.errors import ConfigError
from ricci_ray.geometry.curvature import check_curvature, check_ollivier, layer_curvature
from ricci_ray.geometry.geodesics import hop_distance_sums
from ricci_ray.geometry.knn import (
    as_points,
    check_convention,
    check_n_neighbors,
    knn_graph_from_table,
    neighbor_table,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class NetworkGeometry:
    """Geometry of one network at one scale k.

    Attributes:
        n_neighbors: k.
        convention: ``"paper"`` or ``"undirected"``.
        ric: (L + 1,) float64, total curvature Ric_l per layer, input (l = 0) first.
        g: (L + 1,) float64, sum over ordered reachable pairs of the hop distance.
        n_components: (L + 1,) int64, connected components per layer (direction ignored).
        eta: (L - 1,) float64, geodesic change eta_l = g_{l+1} - g_l for l = 1..L-1;
            None when the component partition changes across layers.
        ricci_coef: rho_k = Pearson over l = 1..L-1 of (Ric_l, eta_l); None when undefined.
        status: ``"ok"`` or ``"undefined"``.
        reason: why the coefficient is undefined, None when it is defined.
        curvature: the curvature behind ``ric`` (default ``"forman"``).
    """

    n_neighbors: int
    convention: str
    ric: np.ndarray
    g: np.ndarray
    n_components: np.ndarray
    eta: np.ndarray | None
    ricci_coef: float | None
    status: str
    reason: str | None
    curvature: str = "forman"


def pearson(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray
) -> tuple[float | None, str | None]:
    """Pearson correlation with explicit undefined cases (Baptista et al. 2024).

    Returns:
        ``(r, None)``, or ``(None, reason)`` for fewer than 3 points, a constant series or
        non-finite values. Series of different lengths are a caller error (ValueError).
    """
    return _pearson(x, y, "x", "y")


def _pearson(x, y, x_name: str, y_name: str) -> tuple[float | None, str | None]:
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.size != y.size:
        raise ConfigError(
            f"{y_name}: allowed a series as long as {x_name} ({x.size}); given {y.size}"
        )
    if x.size < 3:
        return None, f"fewer than 3 points ({x.size})"
    for name, series in ((x_name, x), (y_name, y)):
        if not np.isfinite(series).all():
            return None, f"non-finite values in {name}"

    dx = x - x.mean()
    dy = y - y.mean()
    sxx = float(dx @ dx)
    syy = float(dy @ dy)
    for name, series, spread in ((x_name, x, sxx), (y_name, y, syy)):
        if spread == 0.0 or (series == series[0]).all():
            return None, f"constant {name} series"
    r = float(dx @ dy) / math.sqrt(sxx * syy)
    return min(1.0, max(-1.0, r)), None


def network_geometry(
    activations: Sequence[np.ndarray],
    ks: Sequence[int],
    *,
    convention: str = "paper",
    curvature: str = "forman",
    force: bool = False,
) -> dict[int, NetworkGeometry]:
    """Curvature, geodesic change and Ricci coefficient of one network at every k.

    Args:
        activations: [X_0, X_1, ..., X_L]: the input (n, d_0), then the hidden layer
            outputs (n, d_l). Any real dtype; distances are computed in float64.
        ks: the scales k, each 1 <= k < n. One distance pass per layer serves them all.
        convention: ``"paper"`` (directed, ties kept) or ``"undirected"``.
        curvature: which curvature gives Ric_l: ``"forman"`` (default), ``"augmented_forman"``,
            ``"approx_ollivier"`` or ``"ollivier"`` (exact, slow, needs POT).
        force: run exact Ollivier curvature above its size limit of n = 2000.

    Returns:
        {k: NetworkGeometry} in the order of ``ks`` (duplicates collapsed).
    """
    check_convention(convention)
    check_curvature(curvature)
    layers = _check_activations(activations)
    n_points = layers[0].shape[0]
    ks = _check_ks(ks, n_points)
    if curvature == "ollivier":
        check_ollivier(n_points, force)
    n_layers = len(layers)

    ric = np.empty((len(ks), n_layers), dtype=np.float64)
    g = np.empty((len(ks), n_layers), dtype=np.float64)
    n_components = np.empty((len(ks), n_layers), dtype=np.int64)
    labels = np.empty((len(ks), n_layers, n_points), dtype=np.int64)
    for layer, points in enumerate(layers):
        table = neighbor_table(points, max(ks))
        for index, k in enumerate(ks):
            graph = knn_graph_from_table(table, k, convention)
            row_sums, labels[index, layer] = hop_distance_sums(graph)
            ric[index, layer] = layer_curvature(graph, curvature, force=force)
            g[index, layer] = row_sums.sum()
            n_components[index, layer] = np.unique(labels[index, layer]).size

    return {
        k: _coefficient(k, convention, curvature, ric[i], g[i], n_components[i], labels[i])
        for i, k in enumerate(ks)
    }


def _coefficient(
    k: int,
    convention: str,
    curvature: str,
    ric: np.ndarray,
    g: np.ndarray,
    n_components: np.ndarray,
    labels: np.ndarray,
) -> NetworkGeometry:
    """Assemble one k's result; labels is (L + 1, n) canonical component labels."""
    depth = ric.size - 1
    counts = ", ".join(str(c) for c in n_components)

    if not (labels == labels[0]).all():
        if (n_components == n_components[0]).all():
            reason = f"connected components change across layers (same counts {counts})"
        else:
            reason = f"connected components change across layers (counts {counts})"
        logger.debug("k=%d: %s", k, reason)
        return NetworkGeometry(
            k, convention, ric, g, n_components, None, None, "undefined", reason, curvature
        )

    eta = g[2:] - g[1:-1]
    if eta.size < 3:
        rho, reason = None, f"fewer than 3 layer pairs (depth {depth})"
    else:
        rho, reason = _pearson(ric[1:-1], eta, "curvature", "geodesic change")
    status = "ok" if rho is not None else "undefined"
    return NetworkGeometry(
        k, convention, ric, g, n_components, eta, rho, status, reason, curvature
    )


def _check_activations(activations: Sequence[np.ndarray]) -> list[np.ndarray]:
    if isinstance(activations, np.ndarray) or not isinstance(activations, Sequence):
        raise ConfigError(
            "activations: allowed a sequence of 2-D arrays [input, hidden 1, ...]; "
            f"given {type(activations).__name__}"
        )
    if len(activations) < 2:
        raise ConfigError(
            "activations: allowed at least 2 layers (input and one hidden layer); "
            f"given {len(activations)}"
        )
    layers = [as_points(a, field=f"activations[{i}]") for i, a in enumerate(activations)]
    n_points = [layer.shape[0] for layer in layers]
    if len(set(n_points)) > 1:
        raise ConfigError(
            f"activations: allowed layers with the same number of points (rows); given {n_points}"
        )
    return layers


def _check_ks(ks: Sequence[int], n_points: int) -> list[int]:
    if isinstance(ks, str | bytes) or not isinstance(ks, Sequence | np.ndarray) or len(ks) == 0:
        raise ConfigError(f"ks: allowed a non-empty sequence of integers; given {ks!r}")
    for k in ks:
        check_n_neighbors(k, n_points, field="ks")
    return list(dict.fromkeys(int(k) for k in ks))


def pooled_coefficient(networks: Sequence[NetworkGeometry]) -> tuple[float | None, str | None]:
    """The pooled coefficient of a cell at one k (Baptista et al. 2024): one Pearson correlation of
    (Ric_l, eta_l) over all (network, l), l = 1..L-1, of the given networks.

    Only networks with a defined coefficient (``status == "ok"``) contribute, the same
    networks the analysis pools, so both give the same value; pass the cell's well-trained
    networks. All networks must share k, convention and curvature (ConfigError otherwise).

    Returns:
        ``(r, None)`` or ``(None, reason)``.
    """
    networks = list(networks)
    settings = {(net.n_neighbors, net.convention, net.curvature) for net in networks}
    if len(settings) > 1:
        given = ", ".join(f"(k={k}, {conv}, {curv})" for k, conv, curv in sorted(settings))
        raise ConfigError(
            "networks: allowed results of one k, convention and curvature; given " + given
        )
    usable = [net for net in networks if net.status == "ok"]
    if not usable:
        return None, f"no network with a defined coefficient (of {len(networks)})"
    ric = np.concatenate([net.ric[1:-1] for net in usable])
    eta = np.concatenate([net.eta for net in usable])
    return _pearson(ric, eta, "curvature", "geodesic change")


DEPTH_VARIANTS = ("printed", "fisher")
# |rho| this close to 1 counts as 1: artanh would be infinite or a meaningless 15-20.
UNIT_TOLERANCE = 1e-9


def depth_adjusted_values(rho, depth, variant: str = "printed") -> np.ndarray:
    """Vectorised :func:`depth_adjusted`: NaN where undefined (rho may hold NaN).

    ``rho`` and ``depth`` broadcast against each other; the result has their shape.
    """
    _check_depth_variant(variant)
    rho = np.asarray(rho, dtype=np.float64)
    excess = np.asarray(depth, dtype=np.float64) - 4.0
    usable = np.isfinite(rho) & (np.abs(rho) < 1 - UNIT_TOLERANCE) & (excess > 0)
    z = np.arctanh(np.where(usable, rho, 0.0))
    scale = np.sqrt(np.where(usable, excess, 1.0))
    return np.where(usable, z / scale if variant == "printed" else z * scale, np.nan)


def depth_adjusted(
    rho: float | None, depth: int, variant: str = "printed"
) -> tuple[float | None, str | None]:
    """The depth-adjusted Ricci coefficient of one network (Baptista et al. 2024).

    rho_k is a correlation over L - 1 layer pairs, so Fisher's artanh(rho) has standard
    error 1 / sqrt(L - 4). ``"printed"``: z = artanh(rho) / sqrt(L - 4), as the paper prints
    it (the default, for reproduction); ``"fisher"``: z = artanh(rho) * sqrt(L - 4), the
    usual test statistic.

    Returns:
        ``(z, None)``, or ``(None, reason)`` when rho is undefined, L <= 4, or |rho| = 1
        (within 1e-9), where artanh is infinite.
    """
    _check_depth_variant(variant)
    if rho is None or not math.isfinite(rho):
        return None, "rho undefined"
    if depth <= 4:
        return None, f"depth {depth} <= 4: sqrt(L - 4) undefined"
    if abs(rho) >= 1 - UNIT_TOLERANCE:
        return None, "|rho| = 1: artanh infinite"
    return float(depth_adjusted_values(rho, depth, variant)), None


def _check_depth_variant(variant: str) -> None:
    if variant not in DEPTH_VARIANTS:
        allowed = ", ".join(repr(v) for v in DEPTH_VARIANTS)
        raise ConfigError(f"variant: allowed {allowed}; given {variant!r}")
