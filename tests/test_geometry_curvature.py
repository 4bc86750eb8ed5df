"""Curvatures beyond Forman, the pooled coefficient and the depth adjustment."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ricci_ray.errors import ConfigError
from ricci_ray.geometry import (
    KnnGraph,
    NetworkGeometry,
    common_neighbors,
    depth_adjusted,
    depth_adjusted_values,
    edge_approx_ollivier_curvature,
    edge_augmented_forman_curvature,
    edge_curvature,
    edge_forman_curvature,
    edge_ollivier_curvature,
    knn_graph,
    layer_curvature,
    network_geometry,
    node_curvature,
    pearson,
    pooled_coefficient,
)
from tests.test_geometry import clouds, graph_arcs, line, slow_arcs, slow_degree, star

CONVENTIONS = ["paper", "undirected"]
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None)


def graph_from_edges(n: int, edges: list[tuple[int, int]]) -> KnnGraph:
    """An undirected KnnGraph with exactly these edges (for shapes kNN cannot produce)."""
    rows = [
        sorted({j for a, b in edges for i2, j in ((a, b), (b, a)) if i2 == i}) for i in range(n)
    ]
    indptr = np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)
    indices = np.array([j for r in rows for j in r], dtype=np.int64)
    degree = np.diff(indptr)
    return KnnGraph(1, "undirected", indptr, indices, degree, indptr, indices)


def diamond() -> KnnGraph:
    # Two triangles 0-1-2 and 1-2-3 sharing the edge 1-2; 0 and 3 are not adjacent.
    return graph_from_edges(4, [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)])


def arc_values(graph: KnnGraph, values: np.ndarray) -> dict[tuple[int, int], float]:
    pairs = zip(graph.sources.tolist(), graph.indices.tolist(), strict=True)
    return dict(zip(pairs, values.tolist(), strict=True))


# --- Hand-derived tiny graphs ---------------------------------------------------------------


def test_triangle_undirected():
    # K3: deg 2, t = 1 per edge. Forman 4-2-2 = 0; augmented 0 + 3 = 3. Jost-Liu with
    # d = 2, t = 1: base 1 - 1/2 - 1/2 = 0, both (.)_+ terms vanish, lower = t/max = 1/2 =
    # upper, approx 1/2. Exact on K_n: (n-2)/(n-1) = 1/2 (move 1/2 across the edge).
    graph = knn_graph(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.5]]), 2, "undirected")
    assert common_neighbors(graph).tolist() == [1] * 6
    assert edge_augmented_forman_curvature(graph).tolist() == [3] * 6
    assert edge_approx_ollivier_curvature(graph).tolist() == [0.5] * 6
    assert edge_ollivier_curvature(graph) == pytest.approx([0.5] * 6)
    # Totals count each edge once: 3 edges.
    assert layer_curvature(graph, "forman") == 0
    assert layer_curvature(graph, "augmented_forman") == 9
    assert layer_curvature(graph, "approx_ollivier") == 1.5
    assert layer_curvature(graph, "ollivier") == pytest.approx(1.5)


def test_triangle_paper():
    # paper, k = 2 on 3 points: 6 arcs, deg = out 2 + in 2 = 4; t is taken on the simple
    # graph (K3), so t = 1. Augmented 4-4-4+3 = -1 per arc, total -6. The Ollivier measures
    # sit on the simple neighbourhoods (d = 2): 1/2 per arc, total over arcs 3.
    graph = knn_graph(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.5]]), 2, "paper")
    assert edge_augmented_forman_curvature(graph).tolist() == [-1] * 6
    assert layer_curvature(graph, "augmented_forman") == -6
    assert layer_curvature(graph, "approx_ollivier") == 3.0
    assert layer_curvature(graph, "ollivier") == pytest.approx(3.0)


def test_path_undirected():
    # Path 0-1-2-3-4, deg [1, 2, 2, 2, 1], no triangles: augmented = Forman = [1, 0, 0, 1]
    # per edge. Ollivier: end edge, m_0 = delta_1, m_1 = (delta_0 + delta_2)/2, W1 = 1;
    # inner edge 1-2, m_1 = {0, 2}, m_2 = {1, 3}, move 0->1 and 2->3, W1 = 1: all 0.
    # Jost-Liu: t = 0 makes upper 0 and base <= 0, so approx 0 too.
    graph = knn_graph(line(5), 1, "undirected")
    forman = arc_values(graph, edge_forman_curvature(graph))
    assert arc_values(graph, edge_augmented_forman_curvature(graph)) == forman
    assert forman[(0, 1)] == forman[(3, 4)] == 1 and forman[(1, 2)] == 0
    assert edge_approx_ollivier_curvature(graph).tolist() == [0.0] * 8
    assert edge_ollivier_curvature(graph) == pytest.approx([0.0] * 8)
    # Node curvature: mean over the edges at x: [1, (1+0)/2, 0, 1/2, 1].
    assert node_curvature(graph).tolist() == [1.0, 0.5, 0.0, 0.5, 1.0]


def test_star_undirected():
    # Star, centre deg 4, leaves 1: Forman 4-4-1 = -1 per edge, no triangles. Ollivier:
    # m_leaf = delta_centre, m_centre uniform on the leaves, W1 = 1, curvature 0.
    graph = knn_graph(star(), 1, "undirected")
    assert edge_augmented_forman_curvature(graph).tolist() == [-1] * 8
    assert edge_ollivier_curvature(graph) == pytest.approx([0.0] * 8)
    assert edge_approx_ollivier_curvature(graph).tolist() == [0.0] * 8
    assert node_curvature(graph, "augmented_forman").tolist() == [-1.0] * 5


def test_diamond():
    # Degrees [2, 3, 3, 2]. Edge 1-2: t = 2 (0 and 3); Forman 4-3-3 = -2, augmented +6 = 4.
    # Ollivier: m_1 = {0, 2, 3}/3, m_2 = {0, 1, 3}/3, move 1/3 from 2 to 1: W1 = 1/3, 2/3.
    # Jost-Liu: base 1 - 1/3 - 1/3 = 1/3 < t/3 = 2/3, lower = upper = 2/3.
    # Edge 0-1: t = 1 (2); Forman 4-2-3 = -1, augmented 2. m_0 = {1, 2}/2,
    # m_1 = {0, 2, 3}/3: 1/3 stays on 2, the other 2/3 moves one hop: curvature 1/3.
    # Jost-Liu: base 1 - 1/2 - 1/3 = 1/6 < t/3, lower = upper = 1/3.
    graph = diamond()
    augmented = arc_values(graph, edge_augmented_forman_curvature(graph))
    assert (augmented[(1, 2)], augmented[(0, 1)], augmented[(2, 3)]) == (4, 2, 2)
    approx = arc_values(graph, edge_approx_ollivier_curvature(graph))
    exact = arc_values(graph, edge_ollivier_curvature(graph))
    assert approx[(1, 2)] == pytest.approx(2 / 3) and exact[(1, 2)] == pytest.approx(2 / 3)
    assert approx[(0, 1)] == pytest.approx(1 / 3) and exact[(0, 1)] == pytest.approx(1 / 3)


def test_approx_ollivier_differs_from_exact_where_bounds_are_apart():
    # Edge 0-1 of a triangle 0-1-2 with pendant leaves 3, 4 on 0 and 5, 6 on 1:
    # d = 4, 4, t = 1. base = 1 - 1/4 - 1/4 = 1/2, t/4 = 1/4: lower = -2 * 1/4 + 1/4 = -1/4,
    # upper = 1/4, approx 0. Exact: m_0 = {1, 2, 3, 4}/4, m_1 = {0, 2, 5, 6}/4; 2 stays, and
    # 1, 3, 4 must cover 0, 5, 6. Only 1 is one hop from 5 or 6, so one of 3, 4 travels the
    # 3 hops 3-0-1-5: the optimum 1->5, 3->0, 4->6 costs (1 + 1 + 3)/4 = 5/4, curvature -1/4.
    graph = graph_from_edges(7, [(0, 1), (0, 2), (1, 2), (0, 3), (0, 4), (1, 5), (1, 6)])
    approx = arc_values(graph, edge_approx_ollivier_curvature(graph))
    exact = arc_values(graph, edge_ollivier_curvature(graph))
    assert approx[(0, 1)] == pytest.approx(0.0)
    assert exact[(0, 1)] == pytest.approx(-0.25)


# --- Slow reference and invariants ------------------------------------------------------------


def slow_common(arcs: set[tuple[int, int]], n: int) -> dict[tuple[int, int], int]:
    neighbours = [set() for _ in range(n)]
    for i, j in arcs:
        neighbours[i].add(j)
        neighbours[j].add(i)
    return {(i, j): len(neighbours[i] & neighbours[j]) for i, j in arcs}


@pytest.mark.parametrize("convention", CONVENTIONS)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_augmented_forman_matches_slow_reference(convention, data):
    points = np.asarray(data.draw(clouds()), dtype=np.float64)
    n = len(points)
    k = data.draw(st.integers(1, n - 1))
    graph = knn_graph(points, k, convention)
    arcs = slow_arcs(points, k, convention)
    degree = slow_degree(arcs, n, convention)
    common = slow_common(arcs, n)
    expected = {(i, j): 4 - degree[i] - degree[j] + 3 * common[(i, j)] for i, j in arcs}
    assert graph_arcs(graph) == set(arcs)
    assert arc_values(graph, edge_augmented_forman_curvature(graph)) == expected
    total = sum(expected.values())
    assert layer_curvature(graph, "augmented_forman") == (
        total if convention == "paper" else total // 2
    )


@pytest.mark.parametrize("convention", CONVENTIONS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_exact_ollivier_within_jost_liu_bounds(convention, data):
    # lower <= exact <= upper, and approx is their midpoint: upper = t/max(d_i, d_j).
    points = np.asarray(data.draw(clouds(max_points=25)), dtype=np.float64)
    k = data.draw(st.integers(1, len(points) - 1))
    graph = knn_graph(points, k, convention)
    degree = np.diff(graph.adjacency_indptr)
    upper = common_neighbors(graph) / np.maximum(degree[graph.sources], degree[graph.indices])
    lower = 2 * edge_approx_ollivier_curvature(graph) - upper
    exact = edge_ollivier_curvature(graph)
    assert np.all(exact <= upper + 1e-9)
    assert np.all(exact >= lower - 1e-9)
    assert np.all(exact >= -2 - 1e-9) and np.all(exact <= 1 + 1e-9)


@pytest.mark.parametrize("curvature", ["augmented_forman", "approx_ollivier", "ollivier"])
@pytest.mark.parametrize("seed", [0, 1])
def test_curvature_invariant_under_relabelling(curvature, seed):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(30, 3))
    perm = rng.permutation(30)
    graph = knn_graph(points, 4, "undirected")
    permuted = knn_graph(points[perm], 4, "undirected")
    assert layer_curvature(permuted, curvature) == pytest.approx(layer_curvature(graph, curvature))
    assert node_curvature(permuted, curvature) == pytest.approx(
        node_curvature(graph, curvature)[perm]
    )


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("curvature", ["augmented_forman", "approx_ollivier", "ollivier"])
def test_network_geometry_uses_the_chosen_curvature(convention, curvature):
    layers = [np.random.default_rng(i).normal(size=(20, 3)) for i in range(6)]
    result = network_geometry(layers, [3, 5], convention=convention, curvature=curvature)
    for k, geometry in result.items():
        assert geometry.curvature == curvature
        expected = [layer_curvature(knn_graph(x, k, convention), curvature) for x in layers]
        assert geometry.ric.tolist() == pytest.approx(expected)
        default = network_geometry(layers, [k], convention=convention)[k]
        assert geometry.g.tolist() == default.g.tolist()
        assert default.curvature == "forman"


def test_edge_curvature_dispatch():
    graph = knn_graph(line(6), 2, "paper")
    assert edge_curvature(graph).tolist() == edge_forman_curvature(graph).tolist()
    assert edge_curvature(graph, "approx_ollivier").dtype == np.float64


# --- Validation and the optional dependency ---------------------------------------------------


def test_unknown_curvature_lists_the_allowed_names():
    with pytest.raises(ConfigError) as info:
        network_geometry([line(5), line(5)], [2], curvature="ricci")
    assert str(info.value) == (
        "curvature: allowed 'forman', 'augmented_forman', 'approx_ollivier', 'ollivier'; "
        "given 'ricci'"
    )


def test_ollivier_is_limited_to_small_graphs():
    # Raised before any distance pass: the layers are never read.
    layers = [np.arange(2001.0)[:, None]] * 2
    with pytest.raises(ConfigError, match="n_points <= 2000 .*force=True.*given n_points = 2001"):
        network_geometry(layers, [1], curvature="ollivier")


def test_missing_pot_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "ot", None)
    with pytest.raises(ImportError, match=r"pip install 'ricci-ray\[ollivier\]'"):
        edge_ollivier_curvature(knn_graph(line(5), 1))
    with pytest.raises(ImportError, match="POT"):
        network_geometry([line(5), line(5)], [1], curvature="ollivier")


# --- Pooled coefficient -----------------------------------------------------------------------


def fake_network(ric, eta, status="ok", k=10, convention="paper") -> NetworkGeometry:
    ric = np.asarray(ric, dtype=np.float64)
    eta = None if eta is None else np.asarray(eta, dtype=np.float64)
    return NetworkGeometry(
        k, convention, ric, np.zeros_like(ric), np.ones(ric.size, dtype=np.int64), eta,
        0.0 if status == "ok" else None, status, None if status == "ok" else "why",
    )  # fmt: skip


def test_pooled_coefficient_pools_all_layer_pairs():
    # ric[1:-1] of each network pairs with its eta: (1, 1), (2, 2), (3, 4) and (1, 4),
    # (2, 2), (3, 1); the undefined network is left out. x = [1, 2, 3] twice (mean 2),
    # y = [1, 2, 4, 4, 2, 1] (mean 7/3); sum dx dy = (-1)(-4/3) + (1)(5/3) + (-1)(5/3)
    # + (1)(-4/3) = 0, so r = 0.
    a = fake_network([9, 1, 2, 3, 9], [1, 2, 4])
    b = fake_network([0, 1, 2, 3, 0], [4, 2, 1])
    c = fake_network([0, 5, 6, 7, 0], None, status="undefined")
    assert pooled_coefficient([a, b, c]) == (0.0, None)
    r, reason = pooled_coefficient([a])
    assert reason is None and r == pytest.approx(pearson([1, 2, 3], [1, 2, 4])[0])


def test_pooled_coefficient_undefined_and_mixed():
    c = fake_network([0, 5, 6, 7, 0], None, status="undefined")
    assert pooled_coefficient([c, c]) == (
        None,
        "no network with a defined coefficient (of 2)",
    )
    assert pooled_coefficient([]) == (None, "no network with a defined coefficient (of 0)")
    with pytest.raises(ConfigError, match="one k, convention and curvature"):
        pooled_coefficient(
            [
                fake_network([0, 1, 2, 3, 0], [1, 2, 3], k=10),
                fake_network([0, 1, 2, 3, 0], [1, 2, 3], k=20),
            ]
        )


# --- Depth adjustment -------------------------------------------------------------------------


def test_depth_adjusted_values():
    # artanh(0.5) = 0.5493...; L = 8: sqrt(L - 4) = 2.
    z = math.atanh(0.5)
    assert depth_adjusted(0.5, 8) == (pytest.approx(z / 2), None)
    assert depth_adjusted(0.5, 8, "fisher") == (pytest.approx(z * 2), None)
    assert depth_adjusted(-0.5, 5) == (pytest.approx(-z), None)
    values = depth_adjusted_values([0.5, np.nan, 1.0, 0.5], [8, 11, 11, 4], "fisher")
    assert values[0] == pytest.approx(2 * z)
    assert np.isnan(values[1:]).all()


@pytest.mark.parametrize(
    ("rho", "depth", "reason"),
    [
        (None, 11, "rho undefined"),
        (float("nan"), 11, "rho undefined"),
        (0.3, 4, "depth 4 <= 4: sqrt(L - 4) undefined"),
        (1.0, 11, "|rho| = 1: artanh infinite"),
        (-1.0 + 1e-12, 11, "|rho| = 1: artanh infinite"),
    ],
)
def test_depth_adjusted_undefined(rho, depth, reason):
    assert depth_adjusted(rho, depth) == (None, reason)


def test_depth_adjusted_variant_validation():
    with pytest.raises(ConfigError, match="variant: allowed 'printed', 'fisher'; given 'plain'"):
        depth_adjusted(0.5, 8, "plain")


def test_analysis_uses_the_geometry_depth_adjustment():
    from ricci_ray.analysis.stats import depth_adjusted as analysis_depth_adjusted

    rho, depth = np.array([0.5, -0.2, 0.9]), np.array([5, 11, 8])
    for variant in ("printed", "fisher"):
        np.testing.assert_array_equal(
            analysis_depth_adjusted(rho, depth, variant),
            depth_adjusted_values(rho, depth, variant),
        )
