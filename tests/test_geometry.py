"""Tests of the geometry core against hand-derived tiny graphs and a slow obvious reference."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ricci_ray.geometry as geometry
from ricci_ray.errors import ConfigError
from ricci_ray.geometry import (
    connected_components,
    edge_forman_curvature,
    forman_curvature,
    geodesics,
    hop_distance_sums,
    knn_graph,
    knn_graph_from_table,
    neighbor_table,
    network_geometry,
    pearson,
)

CONVENTIONS = ["paper", "undirected"]
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)


# --- Slow, obvious reference --------------------------------------------------------------


def slow_distance(a: np.ndarray, b: np.ndarray) -> float:
    """sqrt of the coordinate-ordered sum of squares: the float64 operations of R's dist()."""
    total = 0.0
    for u, v in zip(a.tolist(), b.tolist(), strict=True):
        total += (u - v) * (u - v)
    return math.sqrt(total)


def slow_arcs(points: np.ndarray, k: int, convention: str) -> set[tuple[int, int]]:
    """paper: directed arcs i -> j; undirected: both orientations of every edge."""
    n = len(points)
    arcs = set()
    for i in range(n):
        others = [(slow_distance(points[i], points[j]), j) for j in range(n) if j != i]
        if convention == "paper":
            kth = sorted(d for d, _ in others)[k - 1]
            arcs |= {(i, j) for d, j in others if d <= kth}
        else:
            for _, j in sorted(others)[:k]:
                arcs |= {(i, j), (j, i)}
    return arcs


def slow_degree(arcs: set[tuple[int, int]], n: int, convention: str) -> list[int]:
    degree = [0] * n
    for i, j in arcs:
        degree[i] += 1
        if convention == "paper":
            degree[j] += 1
    return degree


def slow_ric(arcs: set[tuple[int, int]], n: int, convention: str) -> int:
    degree = slow_degree(arcs, n, convention)
    if convention == "undirected":
        arcs = {(i, j) for i, j in arcs if i < j}
    return sum(4 - degree[i] - degree[j] for i, j in arcs)


def slow_hops(arcs: set[tuple[int, int]], n: int) -> tuple[list[int], list[int]]:
    """Row sums over reachable pairs and min-index component labels, by BFS from each node."""
    neighbours = [set() for _ in range(n)]
    for i, j in arcs:
        neighbours[i].add(j)
        neighbours[j].add(i)
    row_sums, labels = [], []
    for source in range(n):
        hops = {source: 0}
        queue = deque([source])
        while queue:
            u = queue.popleft()
            for v in neighbours[u]:
                if v not in hops:
                    hops[v] = hops[u] + 1
                    queue.append(v)
        row_sums.append(sum(hops.values()))
        labels.append(min(hops))
    return row_sums, labels


def graph_arcs(graph) -> set[tuple[int, int]]:
    return set(zip(graph.sources.tolist(), graph.indices.tolist(), strict=True))


def slow_network(layers, k, convention):
    """(ric, g, n_components, eta, rho) as plain Python values, eta/rho None when undefined."""
    n = len(layers[0])
    ric, g, partitions = [], [], []
    for points in layers:
        arcs = slow_arcs(points, k, convention)
        row_sums, labels = slow_hops(arcs, n)
        ric.append(slow_ric(arcs, n, convention))
        g.append(sum(row_sums))
        partitions.append(labels)
    n_components = [len(set(labels)) for labels in partitions]
    if any(labels != partitions[0] for labels in partitions):
        return ric, g, n_components, None, None
    eta = [g[layer + 1] - g[layer] for layer in range(1, len(layers) - 1)]
    x, y = ric[1:-1], eta
    if len(x) < 3 or len(set(x)) == 1 or len(set(y)) == 1:
        return ric, g, n_components, eta, None
    return ric, g, n_components, eta, float(np.corrcoef(x, y)[0, 1])


# --- Point clouds for property tests ------------------------------------------------------


@st.composite
def clouds(draw, min_points=3, max_points=40, n_points=None, kind=None):
    """Point clouds of four kinds: many duplicates, two far clusters, floats, integer grids."""
    n = n_points if n_points is not None else draw(st.integers(min_points, max_points))
    dim = draw(st.integers(1, 4))
    kind = kind or draw(st.sampled_from(["duplicates", "clusters", "floats", "grid"]))
    if kind == "floats":
        elements = st.floats(-10, 10, allow_nan=False, allow_subnormal=False)
        return draw(hnp.arrays(np.float64, (n, dim), elements=elements))
    high = 2 if kind in ("duplicates", "clusters") else 6
    points = draw(hnp.arrays(np.int64, (n, dim), elements=st.integers(0, high)))
    if kind == "clusters":
        far = draw(hnp.arrays(np.bool_, n))
        points[far] += 1000
    return points.astype(draw(st.sampled_from([np.float64, np.float32, np.int64])))


# --- Hand-derived tiny graphs ---------------------------------------------------------------


def line(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.float64)[:, None]


def test_path_k1_paper():
    # Points 0..4 on a line, k = 1. Each end's nearest is its only neighbour; an inner point
    # has two neighbours tied at distance 1, both kept. Arcs: 0->1, 1->0, 1->2, 2->1, 2->3,
    # 3->2, 3->4, 4->3. deg = out + in = [1+1, 2+2, 2+2, 2+2, 1+1] = [2, 4, 4, 4, 2].
    # Ric = 4 end arcs * (4-2-4) + 4 inner arcs * (4-4-4) = -8 - 16 = -24.
    # The hop graph is the path: row sums [1+2+3+4, 1+1+2+3, 2+1+1+2, 7, 10].
    graph = knn_graph(line(5), 1, "paper")
    assert graph_arcs(graph) == {(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2), (3, 4), (4, 3)}
    assert graph.degree.tolist() == [2, 4, 4, 4, 2]
    assert forman_curvature(graph) == -24
    row_sums, labels = hop_distance_sums(graph)
    assert row_sums.tolist() == [10, 7, 6, 7, 10]
    assert labels.tolist() == [0] * 5


def test_path_k1_undirected():
    # k = 1, ties to the lower index: 0->1, 1->0 (0 and 2 tie), 2->1, 3->2, 4->3. The OR is
    # the path 0-1-2-3-4, degrees [1, 2, 2, 2, 1]; Ric = (4-1-2) + 0 + 0 + (4-2-1) = 2.
    graph = knn_graph(line(5), 1, "undirected")
    assert graph_arcs(graph) == {(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2), (3, 4), (4, 3)}
    assert graph.degree.tolist() == [1, 2, 2, 2, 1]
    assert forman_curvature(graph) == 2
    assert hop_distance_sums(graph)[0].tolist() == [10, 7, 6, 7, 10]


def test_path_k2_paper():
    # k = 2 on 0..4. Point 0: 2nd distance is 2 -> {1, 2}. Point 1: distances 1, 1, 2, 3
    # -> {0, 2}. Point 2: {1, 3} (0 and 4 at 2 are beyond the 2nd distance 1). Point 3:
    # {2, 4}. Point 4: {3, 2}. Every out-degree is 2; in-degrees [1, 2, 4, 2, 1];
    # deg = [3, 4, 6, 4, 3]. Closed form: 4nk - 3nk^2 - sum indeg^2 = 40 - 60 - 26 = -46.
    # Hop graph: 2 touches everyone, 0-1 and 3-4: row sums [1+1+2+2, 6, 4, 6, 6].
    graph = knn_graph(line(5), 2, "paper")
    assert graph_arcs(graph) == {
        (0, 1), (0, 2), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2), (3, 4), (4, 3), (4, 2),
    }  # fmt: skip
    assert graph.degree.tolist() == [3, 4, 6, 4, 3]
    assert forman_curvature(graph) == -46
    assert hop_distance_sums(graph)[0].tolist() == [6, 6, 4, 6, 6]


def star() -> np.ndarray:
    # Centre 0 and four leaves at distance 1; leaves are sqrt(2) or 2 apart.
    return np.array([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]], dtype=np.float64)


def test_star_k1_paper():
    # The centre has its four leaves tied at distance 1: out-degree 4. Each leaf -> centre.
    # deg(centre) = 4 + 4 = 8, deg(leaf) = 1 + 1 = 2. Ric = 8 arcs * (4-8-2) = -48.
    # Row sums: centre 4 * 1 = 4; leaf 1 + 3 * 2 = 7.
    graph = knn_graph(star(), 1, "paper")
    assert graph_arcs(graph) == {(0, j) for j in range(1, 5)} | {(j, 0) for j in range(1, 5)}
    assert graph.degree.tolist() == [8, 2, 2, 2, 2]
    assert forman_curvature(graph) == -48
    assert edge_forman_curvature(graph).tolist() == [-6] * 8
    assert hop_distance_sums(graph)[0].tolist() == [4, 7, 7, 7, 7]


def test_star_k1_undirected():
    # The centre keeps leaf 1 (lowest index of the tie); every leaf keeps the centre.
    # OR: the star, deg [4, 1, 1, 1, 1], Ric = 4 edges * (4-4-1) = -4.
    graph = knn_graph(star(), 1, "undirected")
    assert graph.degree.tolist() == [4, 1, 1, 1, 1]
    assert forman_curvature(graph) == -4
    assert hop_distance_sums(graph)[0].tolist() == [4, 7, 7, 7, 7]


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("n", [2, 3, 4, 7])
def test_clique(convention, n):
    # k = n - 1 keeps every other point. paper: n(n-1) arcs, deg = 2(n-1), each arc
    # 4 - 4(n-1). undirected: K_n, n(n-1)/2 edges, deg = n-1, each edge 4 - 2(n-1).
    points = np.random.default_rng(n).normal(size=(n, 3))
    graph = knn_graph(points, n - 1, convention)
    if convention == "paper":
        assert graph.degree.tolist() == [2 * (n - 1)] * n
        assert forman_curvature(graph) == n * (n - 1) * (4 - 4 * (n - 1))
    else:
        assert graph.degree.tolist() == [n - 1] * n
        assert forman_curvature(graph) == n * (n - 1) // 2 * (4 - 2 * (n - 1))
    assert graph_arcs(graph) == {(i, j) for i in range(n) for j in range(n) if i != j}
    assert hop_distance_sums(graph)[0].tolist() == [n - 1] * n


def two_clusters() -> np.ndarray:
    return np.array([0, 1, 2, 100, 101, 102], dtype=np.float64)[:, None]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_two_clusters_k1(convention):
    # Each cluster {0, 1, 2} is the path 0-1-2 (paper: middle point keeps both tied ends).
    # paper: arcs 0->1, 1->0, 1->2, 2->1 per cluster, deg [2, 4, 2], each arc -2, Ric = -16.
    # undirected: edges 0-1, 1-2 per cluster, deg [1, 2, 1], each edge 4-1-2 = 1, Ric = 4.
    # Row sums within a cluster [1+2, 1+1, 2+1]; unreachable pairs are left out.
    graph = knn_graph(two_clusters(), 1, convention)
    assert forman_curvature(graph) == (-16 if convention == "paper" else 4)
    row_sums, labels = hop_distance_sums(graph)
    assert row_sums.tolist() == [3, 2, 3, 3, 2, 3]
    assert labels.tolist() == [0, 0, 0, 3, 3, 3]
    assert connected_components(graph).tolist() == [0, 0, 0, 3, 3, 3]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_two_clusters_join_at_k3(convention):
    # k = 2 makes each cluster a triangle; k = 3 forces a third neighbour across the gap.
    assert np.unique(connected_components(knn_graph(two_clusters(), 2, convention))).size == 2
    assert np.unique(connected_components(knn_graph(two_clusters(), 3, convention))).size == 1


def square() -> np.ndarray:
    return np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float64)


@pytest.mark.parametrize("k", [1, 2])
def test_square_ties_paper(k):
    # Corners of a unit square: two neighbours at 1, one at sqrt(2). For k = 1 and k = 2
    # both neighbours at distance 1 are kept: the 4-cycle in both directions, out = in = 2,
    # deg 4, Ric = 8 arcs * (4-4-4) = -32. Row sums on C4: 1 + 1 + 2 = 4.
    graph = knn_graph(square(), k, "paper")
    assert graph_arcs(graph) == {(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2), (3, 0), (0, 3)}
    assert graph.degree.tolist() == [4] * 4
    assert forman_curvature(graph) == -32
    assert hop_distance_sums(graph)[0].tolist() == [4] * 4


def test_square_ties_undirected():
    # k = 1, ties to the lower index: 0->1 (1, 3 tie), 1->0 (0, 2 tie), 2->1, 3->0.
    # OR: the path 3-0-1-2, deg [2, 2, 1, 1], Ric = (4-2-2) + (4-2-1) + (4-2-1) = 2.
    # Row sums along 3-0-1-2: [1+1+2, 2+1+1, 3+2+1, 1+2+3].
    graph = knn_graph(square(), 1, "undirected")
    assert graph_arcs(graph) == {(0, 1), (1, 0), (1, 2), (2, 1), (0, 3), (3, 0)}
    assert graph.degree.tolist() == [2, 2, 1, 1]
    assert forman_curvature(graph) == 2
    assert hop_distance_sums(graph)[0].tolist() == [4, 4, 6, 6]


def test_duplicates_paper():
    # Points [0, 0, 0, 5]: the three copies are each other's neighbours at distance exactly
    # 0 (k = 1 keeps both tied copies); point 3 sees all three tied at 5.
    # out [2, 2, 2, 3], in [3, 3, 3, 0], deg [5, 5, 5, 3].
    # Ric = 6 arcs * (4-5-5) + 3 arcs * (4-3-5) = -36 - 12 = -48. Hop graph is K4.
    points = np.array([0, 0, 0, 5], dtype=np.float32)[:, None]
    graph = knn_graph(points, 1, "paper")
    assert graph_arcs(graph) == {(i, j) for i in range(3) for j in range(3) if i != j} | {
        (3, 0), (3, 1), (3, 2),
    }  # fmt: skip
    assert graph.degree.tolist() == [5, 5, 5, 3]
    assert forman_curvature(graph) == -48
    assert hop_distance_sums(graph)[0].tolist() == [3, 3, 3, 3]


def test_duplicates_undirected():
    # k = 1, lower index wins every tie: 0->1, 1->0, 2->0, 3->0. OR: star centred on 0,
    # deg [3, 1, 1, 1], Ric = 3 * (4-3-1) = 0, row sums [3, 1+2+2, 5, 5].
    points = np.array([0, 0, 0, 5], dtype=np.float64)[:, None]
    graph = knn_graph(points, 1, "undirected")
    assert graph.degree.tolist() == [3, 1, 1, 1]
    assert forman_curvature(graph) == 0
    assert hop_distance_sums(graph)[0].tolist() == [3, 5, 5, 5]


def test_collapsed_layer_is_a_clique():
    # A dead ReLU layer maps every point to 0: all distances tie at 0, so any k keeps all.
    graph = knn_graph(np.zeros((6, 3)), 1, "paper")
    assert graph.degree.tolist() == [10] * 6
    assert hop_distance_sums(graph)[0].tolist() == [5] * 6


def test_distances_are_exact_for_duplicates_in_high_dimension():
    # The |x|^2 + |y|^2 - 2x.y shortcut leaves rounding noise between exact copies; the
    # direct sum must not: copies of a 784-dim image are at distance 0 and tie with each other.
    image = np.random.default_rng(0).integers(0, 256, size=784).astype(np.float64)
    points = np.stack([image, image, image + 1, image])
    table = neighbor_table(points, 1)
    assert table.indices[: table.indptr[1]].tolist() == [1, 3]
    assert table.distances[: table.indptr[1]].tolist() == [0.0, 0.0]


# --- Closed form and slow reference ---------------------------------------------------------


@pytest.mark.parametrize("k", [1, 3, 10, 29])
def test_paper_closed_form_without_ties(k):
    # Ric = 4nk - 3nk^2 - sum_j indeg(j)^2 when every out-degree is k (Baptista et al. 2024).
    n = 30
    points = np.random.default_rng(k).normal(size=(n, 5))
    graph = knn_graph(points, k, "paper")
    indegree = np.bincount(graph.indices, minlength=n)
    assert np.diff(graph.indptr).tolist() == [k] * n
    assert forman_curvature(graph) == 4 * n * k - 3 * n * k * k - int((indegree**2).sum())


@pytest.mark.parametrize("convention", CONVENTIONS)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_graph_matches_slow_reference(convention, data):
    points = data.draw(clouds())
    n = len(points)
    k = data.draw(st.integers(1, n - 1))
    graph = knn_graph(points, k, convention)
    arcs = slow_arcs(np.asarray(points, dtype=np.float64), k, convention)

    assert graph_arcs(graph) == arcs
    assert graph.indices.size == len(arcs)
    assert graph.degree.tolist() == slow_degree(arcs, n, convention)
    assert forman_curvature(graph) == slow_ric(arcs, n, convention)
    row_sums, labels = hop_distance_sums(graph)
    assert (row_sums.tolist(), labels.tolist()) == slow_hops(arcs, n)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_table_cut_matches_direct_graph(data):
    # One table at the largest k serves every smaller k, ties at each cut included.
    points = data.draw(clouds())
    n = len(points)
    k_max = data.draw(st.integers(1, n - 1))
    k = data.draw(st.integers(1, k_max))
    table = neighbor_table(points, k_max)
    for convention in CONVENTIONS:
        cut = knn_graph_from_table(table, k, convention)
        direct = knn_graph(points, k, convention)
        assert np.array_equal(cut.indptr, direct.indptr)
        assert np.array_equal(cut.indices, direct.indices)


@PROPERTY_SETTINGS
@given(points=clouds(), seed=st.integers(0, 2**32 - 1))
def test_paper_graph_invariant_under_relabelling(points, seed):
    # Permuting the points permutes the graph: same Ric, same g, permuted row sums.
    n = len(points)
    k = 1 + seed % (n - 1)
    perm = np.random.default_rng(seed).permutation(n)
    graph = knn_graph(points, k, "paper")
    permuted = knn_graph(points[perm], k, "paper")
    row_sums, _ = hop_distance_sums(graph)
    permuted_sums, _ = hop_distance_sums(permuted)
    assert forman_curvature(permuted) == forman_curvature(graph)
    assert np.array_equal(permuted_sums, row_sums[perm])
    assert np.array_equal(permuted.degree, graph.degree[perm])


@pytest.mark.parametrize("k", [1, 4, 11])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_undirected_graph_invariant_under_relabelling_without_ties(k, seed):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(25, 3))
    perm = rng.permutation(25)
    graph = knn_graph(points, k, "undirected")
    permuted = knn_graph(points[perm], k, "undirected")
    assert forman_curvature(permuted) == forman_curvature(graph)
    assert np.array_equal(hop_distance_sums(permuted)[0], hop_distance_sums(graph)[0][perm])


@pytest.mark.parametrize("budget_bytes", [None, 1])
@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("k", [1, 3])
def test_bitset_bfs_across_words_and_source_blocks(monkeypatch, budget_bytes, convention, k):
    # 150 nodes need 3 words per node; a 1-byte budget forces one word, so 64-source blocks.
    # Small k on clustered points leaves several components and long paths.
    if budget_bytes is not None:
        monkeypatch.setattr(geodesics, "_BITSET_BUDGET_BYTES", budget_bytes)
    rng = np.random.default_rng(k)
    points = rng.integers(0, 40, size=(150, 2)).astype(np.float64)
    points[rng.random(150) < 0.3] += 1000
    graph = knn_graph(points, k, convention)
    row_sums, labels = hop_distance_sums(graph)
    assert (row_sums.tolist(), labels.tolist()) == slow_hops(graph_arcs(graph), 150)


@pytest.mark.parametrize("convention", CONVENTIONS)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_network_geometry_matches_slow_reference(convention, data):
    n = data.draw(st.integers(4, 20))
    n_layers = data.draw(st.integers(2, 7))
    kind = data.draw(st.sampled_from([None, "duplicates", "clusters"]))
    layers = [data.draw(clouds(n_points=n, kind=kind)) for _ in range(n_layers)]
    ks = data.draw(st.lists(st.integers(1, n - 1), min_size=1, max_size=3))
    results = network_geometry(layers, ks, convention=convention)

    assert list(results) == list(dict.fromkeys(ks))
    float_layers = [np.asarray(layer, dtype=np.float64) for layer in layers]
    for k, result in results.items():
        ric, g, n_components, eta, rho = slow_network(float_layers, k, convention)
        assert (result.n_neighbors, result.convention) == (k, convention)
        assert result.ric.tolist() == ric
        assert result.g.tolist() == g
        assert result.n_components.tolist() == n_components
        assert (result.eta is None) == (eta is None)
        if eta is not None:
            assert result.eta.tolist() == eta
        if rho is None:
            assert result.ricci_coef is None
            assert (result.status, bool(result.reason)) == ("undefined", True)
        else:
            assert result.ricci_coef == pytest.approx(rho, abs=1e-9)
            assert (result.status, result.reason) == ("ok", None)


# --- network_geometry: undefined cases ------------------------------------------------------


def test_components_changing_makes_coefficient_undefined():
    rng = np.random.default_rng(0)
    connected = rng.normal(size=(6, 2))
    layers = [connected, connected, two_clusters(), connected, connected]
    result = network_geometry(layers, [1, 2, 3])
    for k in (1, 2):
        assert result[k].status == "undefined"
        assert result[k].eta is None and result[k].ricci_coef is None
        assert "connected components change" in result[k].reason
    assert result[2].reason.endswith("(counts 1, 1, 2, 1, 1)")
    assert result[3].n_components.tolist() == [1] * 5


def test_same_counts_different_partition_is_undefined():
    # Both layers have two components, {0,1,2} | {3,4,5} against {0,1,3} | {2,4,5}.
    a = np.array([0, 1, 2, 100, 101, 102], dtype=np.float64)[:, None]
    b = np.array([0, 1, 100, 2, 101, 102], dtype=np.float64)[:, None]
    result = network_geometry([a, a, b, a, a], [2])[2]
    assert result.n_components.tolist() == [2] * 5
    assert result.status == "undefined"
    assert "same counts 2, 2, 2, 2, 2" in result.reason


def test_identical_disconnected_partitions_give_a_coefficient():
    # Two clusters in every layer, same partition: only reachable pairs enter g.
    rng = np.random.default_rng(1)
    layers = []
    for _ in range(6):
        cloud = rng.normal(size=(20, 2))
        cloud[10:] += 1000
        layers.append(cloud)
    result = network_geometry(layers, [3])[3]
    assert result.n_components.tolist() == [2] * 6
    assert result.status == "ok" and result.ricci_coef is not None
    assert result.eta.shape == (4,)


def test_shallow_network_has_no_coefficient():
    layers = [np.random.default_rng(i).normal(size=(10, 2)) for i in range(4)]
    result = network_geometry(layers, [2])[2]
    assert result.eta.shape == (2,)
    assert result.ricci_coef is None
    assert result.reason == "fewer than 3 layer pairs (depth 3)"


def test_constant_curvature_is_undefined():
    # Identical hidden layers: the same curvature everywhere and no geodesic change.
    hidden = np.random.default_rng(0).normal(size=(12, 3))
    result = network_geometry([hidden * 2, hidden, hidden, hidden, hidden, hidden], [3])[3]
    assert result.eta.tolist() == [0.0] * 4
    assert result.reason == "constant curvature series"


def test_result_shapes_and_dtypes():
    layers = [np.random.default_rng(i).normal(size=(15, 4)).astype(np.float32) for i in range(6)]
    result = network_geometry(layers, [2, 5], convention="undirected")[5]
    assert result.ric.shape == result.g.shape == result.n_components.shape == (6,)
    assert result.ric.dtype == result.g.dtype == np.float64
    assert result.n_components.dtype == np.int64
    assert result.eta.shape == (4,) and result.eta.dtype == np.float64
    assert isinstance(result.ricci_coef, float)


# --- pearson --------------------------------------------------------------------------------


def test_pearson_value():
    # x = [1, 2, 3], y = [1, 2, 4]: centred [-1, 0, 1] and [-4/3, -1/3, 5/3];
    # r = 3 / sqrt(2 * 14/3) = 3 / sqrt(28/3).
    r, reason = pearson([1, 2, 3], [1, 2, 4])
    assert reason is None
    assert r == pytest.approx(3 / math.sqrt(28 / 3))
    assert pearson([1, 2, 3, 4], [8, 6, 4, 2]) == (-1.0, None)


@pytest.mark.parametrize(
    ("x", "y", "fragment"),
    [
        ([1, 2], [3, 4], "fewer than 3 points"),
        ([], [], "fewer than 3 points"),
        ([1, 1, 1], [1, 2, 3], "constant x series"),
        ([1, 2, 3], [5, 5, 5], "constant y series"),
        ([1, np.nan, 3], [1, 2, 3], "non-finite values in x"),
        ([1, 2, 3], [1, np.inf, 3], "non-finite values in y"),
    ],
)
def test_pearson_undefined(x, y, fragment):
    r, reason = pearson(x, y)
    assert r is None
    assert fragment in reason


# --- Validation -----------------------------------------------------------------------------


def _layers(n=6, n_layers=3):
    return [np.random.default_rng(i).normal(size=(n, 2)) for i in range(n_layers)]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"ks": [0]}, "ks: allowed integers 1 <= k < n_points = 6; given 0"),
        ({"ks": [6]}, "given 6"),
        ({"ks": [2, 2.5]}, "given 2.5"),
        ({"ks": [True]}, "given True"),
        ({"ks": []}, "ks: allowed a non-empty sequence"),
        (
            {"ks": [2], "convention": "knn"},
            "convention: allowed 'paper', 'undirected'; given 'knn'",
        ),
        ({"ks": [2], "activations": _layers(n_layers=1)}, "at least 2 layers"),
        ({"ks": [2], "activations": [np.zeros((6, 2)), np.zeros((5, 2))]}, "given [6, 5]"),
        ({"ks": [2], "activations": [np.zeros((6, 2)), np.zeros(6)]}, "activations[1]: allowed"),
        ({"ks": [2], "activations": [np.full((6, 2), np.nan)] * 2}, "finite values only"),
        ({"ks": [2], "activations": np.zeros((2, 6, 2))}, "sequence of 2-D arrays"),
    ],
)
def test_network_geometry_validation(kwargs, fragment):
    kwargs = {"activations": _layers(), **kwargs}
    with pytest.raises(ValueError) as info:
        network_geometry(kwargs.pop("activations"), **kwargs)
    assert isinstance(info.value, ConfigError)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: knn_graph(np.zeros((5, 2)), 5), "n_neighbors: allowed integers 1 <= k < "),
        (lambda: knn_graph(np.zeros((5, 2)), 2, "mutual"), "given 'mutual'"),
        (lambda: knn_graph(np.zeros((1, 2)), 1), "n_points >= 2"),
        (lambda: knn_graph_from_table(neighbor_table(np.eye(5), 2), 3), "table.max_neighbors"),
        (lambda: pearson([1, 2, 3], [1, 2]), "y: allowed a series as long as x (3); given 2"),
    ],
)
def test_lower_level_validation(call, fragment):
    with pytest.raises(ValueError) as info:
        call()
    assert fragment in str(info.value)


def test_exported_names():
    assert sorted(geometry.__all__) == [
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
