"""Local and per-layer coefficients of Hehl et al. 2025 against hand-derived graphs and a
slow obvious implementation."""

from __future__ import annotations

import logging
import math
from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ricci_ray.errors import ConfigError
from ricci_ray.geometry import geodesic_change, knn_graph, local_coefficients, neighbor_hops
from tests.test_geometry import clouds, line, slow_arcs


def positions(*order: float) -> np.ndarray:
    return np.asarray(order, dtype=np.float64)[:, None]


# Layer graphs at k = 1, undirected, ties to the lower index:
#   A = line 0..4            -> path 0-1-2-3-4, degrees [1, 2, 2, 2, 1]
#   B = positions [0, 2, 1, 3, 4] (nodes 1 and 2 swapped) -> path 0-2-1-3-4
#     (0: nearest 2; 1: 2 and 3 tie -> 2; 2: 0 and 1 tie -> 0; 3: 1 and 4 tie -> 1; 4: 3).
A = line(5)
B = positions(0, 2, 1, 3, 4)


def test_neighbor_hops_between_two_paths():
    # Arcs of A measured in B, where the path order is 0, 2, 1, 3, 4:
    # 0->1: 2 hops, 1->0: 2, 1->2: 1, 2->1: 1, 2->3: 2, 3->2: 2, 3->4: 1, 4->3: 1.
    graph_a, graph_b = knn_graph(A, 1, "undirected"), knn_graph(B, 1, "undirected")
    assert neighbor_hops(graph_a, graph_b).tolist() == [2, 2, 1, 1, 2, 2, 1, 1]
    # eta(x) = mean(d - 1): [1, (1 + 0)/2, (0 + 1)/2, (1 + 0)/2, 0].
    assert geodesic_change(graph_a, graph_b).tolist() == [1.0, 0.5, 0.5, 0.5, 0.0]


def test_local_and_layer_coefficients_by_hand():
    # Layers A, B, A, A (L = 3, so l = 0, 1, 2 carry (S_l, eta_l)).
    # S_0 (path A, Forman per edge [1, 0, 0, 1]) = [1, .5, 0, .5, 1]; eta_0 = [1, .5, .5, .5, 0].
    # S_1 (path 0-2-1-3-4, edges 0-2: 1, 2-1: 0, 1-3: 0, 3-4: 1) = [1, 0, .5, .5, 1];
    #   eta_1 (arcs of B in A: 0->2 2 hops, 1->2 1, 1->3 2, 3->4 1) = [1, .5, .5, .5, 0].
    # S_2 = S_0; eta_2 = 0 (A measured in A).
    # Point 1: S = (.5, 0, .5), eta = (.5, .5, 0); centred (1, -2, 1)/6 and (1, 1, -2)/6,
    #   r = (1 - 2 - 2) / 6 = -1/2. Point 2: S = (0, .5, 0), r = +1/2 the same way.
    # Points 0, 4 (S = 1, 1, 1) and 3 (S = .5, .5, .5) have a constant curvature series.
    # Layer 0: S centred [.4, -.1, -.6, -.1, .4], eta centred [.5, 0, 0, 0, -.5]: r = 0.
    # Layer 1: S centred [.4, -.6, -.1, -.1, .4], same eta: r = 0. Layer 2: eta constant.
    result = local_coefficients([A, B, A, A], 1)
    assert result.node_curvature.tolist() == [
        [1, 0.5, 0, 0.5, 1],
        [1, 0, 0.5, 0.5, 1],
        [1, 0.5, 0, 0.5, 1],
    ]
    assert result.geodesic_change.tolist() == [[1, 0.5, 0.5, 0.5, 0]] * 2 + [[0] * 5]
    assert result.local_coef[1:3] == pytest.approx([-0.5, 0.5])
    assert np.isnan(result.local_coef[[0, 3, 4]]).all()
    assert result.n_local_defined == 2
    assert result.local_coef_mean == pytest.approx(0.0)
    assert result.local_coef_frac_negative == 0.5
    assert result.local_reasons == {"constant curvature series": 3}
    assert result.layer_coef[:2].tolist() == [0.0, 0.0]
    assert np.isnan(result.layer_coef[2])
    assert result.layer_reasons == (None, None, "constant eta series")
    assert result.n_unreachable.tolist() == [0, 0, 0]


def test_unreachable_neighbour(caplog):
    # Layer 0 is the path 0-1-2-3-4-5; layer 1 splits it into 0-1-2 | 3-4-5, so the
    # neighbours 2 and 3 become unreachable: eta_0 = inf there, local coefficients of 2
    # and 3 undefined, and both are left out of layer 0's coefficient (counted).
    split = positions(0, 1, 2, 100, 101, 102)
    with caplog.at_level(logging.WARNING, logger="ricci_ray.geometry.local"):
        result = local_coefficients([line(6), split, line(6), line(6)], 1)
    assert result.geodesic_change[0].tolist()[2:4] == [math.inf, math.inf]
    assert result.n_unreachable.tolist() == [2, 0, 0]
    assert np.isnan(result.local_coef[2:4]).all()
    assert result.local_reasons["a neighbour becomes unreachable"] == 2
    assert "unreachable in the next layer" in caplog.text


def test_shallow_network_has_no_local_coefficient():
    result = local_coefficients([A, B, A], 1)
    assert np.isnan(result.local_coef).all()
    assert result.local_reasons == {"fewer than 3 points (2)": 5}
    assert result.local_coef_mean is None and result.local_coef_frac_negative is None


def test_curvature_choice_and_shapes():
    layers = [np.random.default_rng(i).normal(size=(30, 3)) for i in range(5)]
    result = local_coefficients(layers, 4, curvature="augmented_forman")
    assert result.curvature == "augmented_forman"
    assert result.node_curvature.shape == result.geodesic_change.shape == (4, 30)
    assert result.local_coef.shape == (30,)
    assert result.layer_coef.shape == (4,) and len(result.layer_reasons) == 4


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"k": 5}, "k: allowed integers 1 <= k < n_points = 5; given 5"),
        ({"k": 1, "curvature": "ricci"}, "curvature: allowed 'forman'"),
    ],
)
def test_local_validation(kwargs, fragment):
    with pytest.raises(ConfigError, match=fragment):
        local_coefficients([A, B, A], **kwargs)


# --- Slow obvious implementation --------------------------------------------------------------


def slow_neighbours(points: np.ndarray, k: int) -> list[list[int]]:
    n = len(points)
    neighbours = [set() for _ in range(n)]
    for i, j in slow_arcs(points, k, "undirected"):
        neighbours[i].add(j)
    return [sorted(s) for s in neighbours]


def slow_hops(neighbours: list[list[int]], source: int) -> dict[int, int]:
    hops = {source: 0}
    queue = deque([source])
    while queue:
        u = queue.popleft()
        for v in neighbours[u]:
            if v not in hops:
                hops[v] = hops[u] + 1
                queue.append(v)
    return hops


def slow_pearson(x: list[float], y: list[float]) -> float | None:
    if len(x) < 3 or any(math.isinf(v) for v in y) or len(set(x)) == 1 or len(set(y)) == 1:
        return None
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy)


def slow_local(layers: list[np.ndarray], k: int):
    """(S, eta, local, layer) as nested lists, None where undefined, Forman curvature."""
    graphs = [slow_neighbours(points, k) for points in layers]
    n = len(layers[0])
    curv, eta = [], []
    for layer in range(len(layers) - 1):
        nbrs, following = graphs[layer], graphs[layer + 1]
        deg = [len(row) for row in nbrs]
        curv.append([sum(4 - deg[x] - deg[y] for y in nbrs[x]) / deg[x] for x in range(n)])
        row = []
        for x in range(n):
            hops = slow_hops(following, x)
            row.append(sum(hops.get(y, math.inf) - 1 for y in nbrs[x]) / len(nbrs[x]))
        eta.append(row)
    local = [slow_pearson([s[x] for s in curv], [e[x] for e in eta]) for x in range(n)]
    per_layer = []
    for s, e in zip(curv, eta, strict=True):
        keep = [x for x in range(n) if math.isfinite(e[x])]
        per_layer.append(slow_pearson([s[x] for x in keep], [e[x] for x in keep]))
    return curv, eta, local, per_layer


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_local_coefficients_match_slow_reference(data):
    n = data.draw(st.integers(4, 18))
    n_layers = data.draw(st.integers(2, 6))
    kind = data.draw(st.sampled_from([None, "duplicates", "clusters"]))
    layers = [
        np.asarray(data.draw(clouds(n_points=n, kind=kind)), dtype=np.float64)
        for _ in range(n_layers)
    ]
    k = data.draw(st.integers(1, n - 1))
    result = local_coefficients(layers, k)
    curv, eta, local, per_layer = slow_local(layers, k)

    assert result.node_curvature.tolist() == curv
    assert result.geodesic_change.tolist() == eta
    for got, expected in zip(result.local_coef.tolist(), local, strict=True):
        assert math.isnan(got) if expected is None else got == pytest.approx(expected, abs=1e-9)
    for got, expected in zip(result.layer_coef.tolist(), per_layer, strict=True):
        assert math.isnan(got) if expected is None else got == pytest.approx(expected, abs=1e-9)
