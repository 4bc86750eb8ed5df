"""Benchmark of the geometry core: hop-distance row sums and a whole network_geometry call.

Run: ``.venv/bin/python benchmarks/geometry.py`` (needs the ``bench`` extra: python-igraph,
networkx).

Part 1 times the row sums of the hop-distance matrix (edge direction ignored) on the
paper-convention kNN graphs of fashion-MNIST 5 vs 9 test images (784 raw pixels), against
python-igraph ``Graph.distances()`` and ``closeness()``, scipy's
``csgraph.shortest_path(unweighted=True)`` and networkx's all-pairs BFS. Every competitor
must return the same row sums. Part 2 times ``network_geometry`` on two networks of
random ReLU layers: one on the images, one of the paper's size and k grid.

Results on the development machine (2 shared CPU cores; seconds, median of 5, networkx
a single run and skipped above 100k adjacency entries; (ratio) = competitor / ricci-ray):

    n     k  ricci-ray  igraph.distances  igraph.closeness  scipy.shortest_path  networkx
 1000    10     0.0007    0.073 ( 104x)     0.035 (  50x)     0.129 ( 186x)      0.67 ( 959x)
 1000    30     0.0010    0.090 (  90x)     0.051 (  51x)     0.187 ( 189x)      1.28 (1287x)
 1000   120     0.0022    0.154 (  69x)     0.113 (  51x)     0.492 ( 220x)         -
 2000    10     0.0025    0.309 ( 126x)     0.149 (  61x)     0.542 ( 221x)      2.92 (1188x)
 2000    30     0.0039    0.386 (  99x)     0.248 (  64x)     1.000 ( 257x)     11.9  (3063x)
 2000   120     0.0177    1.448 (  82x)     0.703 (  40x)     3.182 ( 179x)         -

network_geometry (graphs, curvature, row sums and coefficient at every k):
    n=1000, fMNIST 784-dim input + 5 random ReLU layers of 25, ks [10, 30, 100]: 0.34 s
    n=2000, 50-dim input + 11 random ReLU layers of 25-50, the 11 image ks: 4.7 s
    (about 40% of it is the distance pass and sort, 25% the row sums, 20% symmetrising).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from ricci_ray.geometry import (
    KnnGraph,
    hop_distance_sums,
    knn_graph_from_table,
    neighbor_table,
    network_geometry,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fmnist"
IMAGE_KS = [10, 20, 30, 50, 90, 100, 120, 150, 250, 350, 500]
NETWORKX_MAX_ENTRIES = 100_000


def load_images(n_points: int) -> np.ndarray:
    """The first n_points / 2 test images of fashion-MNIST classes 5 and 9, (n, 784)."""
    halves = []
    for label in (5, 9):
        frame = pd.read_csv(DATA / f"test{label}.csv")
        halves.append(frame.iloc[: n_points // 2, 1:].to_numpy(dtype=np.float64))
    return np.concatenate(halves)


def median_time(func: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def igraph_graph(graph: KnnGraph):
    try:
        import igraph
    except ImportError as error:
        raise SystemExit("pip install 'ricci-ray[bench]'  # python-igraph is missing") from error
    sources = np.repeat(np.arange(graph.n_nodes), np.diff(graph.adjacency_indptr))
    keep = sources < graph.adjacency_indices
    edges = np.stack([sources[keep], graph.adjacency_indices[keep]], axis=1)
    return igraph.Graph(n=graph.n_nodes, edges=edges.tolist())


def scipy_matrix(graph: KnnGraph) -> sp.csr_matrix:
    data = np.ones(graph.adjacency_indices.size)
    n = graph.n_nodes
    return sp.csr_matrix((data, graph.adjacency_indices, graph.adjacency_indptr), shape=(n, n))


def networkx_row_sums(graph: KnnGraph) -> np.ndarray:
    import networkx as nx

    nx_graph = nx.Graph()
    nx_graph.add_nodes_from(range(graph.n_nodes))
    sources = np.repeat(np.arange(graph.n_nodes), np.diff(graph.adjacency_indptr))
    nx_graph.add_edges_from(zip(sources.tolist(), graph.adjacency_indices.tolist(), strict=True))
    sums = np.zeros(graph.n_nodes, dtype=np.int64)
    for node, lengths in nx.all_pairs_shortest_path_length(nx_graph):
        sums[node] = sum(lengths.values())
    return sums


def competitors(graph: KnnGraph) -> dict[str, Callable[[], np.ndarray]]:
    """Row-sum functions of other libraries on the same graph, direction ignored."""
    ig = igraph_graph(graph)
    matrix = scipy_matrix(graph)
    n = graph.n_nodes
    functions = {
        "igraph.distances": lambda: np.asarray(ig.distances()).sum(axis=1),
        "igraph.closeness": lambda: np.rint((n - 1) / np.asarray(ig.closeness())),
        "scipy.shortest_path": lambda: shortest_path(matrix, directed=False, unweighted=True).sum(
            axis=1
        ),
    }
    if graph.adjacency_indices.size <= NETWORKX_MAX_ENTRIES:
        functions["networkx"] = lambda: networkx_row_sums(graph)
    return functions


def bench_row_sums(n_points: int, ks: list[int], repeats: int) -> None:
    table = neighbor_table(load_images(n_points), max(ks))
    for k in ks:
        graph = knn_graph_from_table(table, k, "paper")
        ours, (expected, _) = median_time(lambda graph=graph: hop_distance_sums(graph), repeats)
        cells = [f"{n_points:5d} {k:5d} {ours:10.4f}"]
        for name, func in competitors(graph).items():
            seconds, sums = median_time(func, 1 if name == "networkx" else repeats)
            if not np.array_equal(np.asarray(sums, dtype=np.int64), expected):
                raise SystemExit(f"{name} disagrees with hop_distance_sums at n={n_points}, k={k}")
            cells.append(f"{name} {seconds:.4f} ({seconds / ours:5.0f}x)")
        print("  ".join(cells), flush=True)


def synthetic_network(inputs: np.ndarray, widths: list[int], seed: int = 0) -> list[np.ndarray]:
    """Random ReLU-like activations: inputs pushed through random ReLU layers (float32)."""
    rng = np.random.default_rng(seed)
    layers = [inputs]
    for width in widths:
        fan_in = layers[-1].shape[1]
        weights = rng.normal(size=(fan_in, width)) / np.sqrt(fan_in * layers[-1].std() ** 2)
        layers.append(np.maximum(layers[-1] @ weights + 0.1 * rng.normal(size=width), 0.0))
    return [layer.astype(np.float32) for layer in layers]


def bench_network(name: str, layers: list[np.ndarray], ks: list[int], repeats: int) -> None:
    network_geometry(layers[:2], [min(ks)])  # compile, or load the numba cache
    seconds, results = median_time(lambda: network_geometry(layers, ks), repeats)
    n_ok = sum(result.status == "ok" for result in results.values())
    print(
        f"network_geometry {name}, n={len(layers[0])}, depth={len(layers) - 1}, ks={ks}: "
        f"{seconds:.2f} s ({n_ok}/{len(ks)} ks with a coefficient)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    print("hop-distance row sums, paper convention, fashion-MNIST 5 vs 9 (seconds, median)")
    for n_points in (1000, 2000):
        bench_row_sums(n_points, [10, 30, 120], args.repeats)

    images = load_images(1000)
    bench_network("fMNIST input", synthetic_network(images, [25] * 5), [10, 30, 100], 3)
    synthetic_input = np.random.default_rng(1).normal(size=(2000, 50))
    widths = [50] * 5 + [25] + [50] * 5
    bench_network("synthetic", synthetic_network(synthetic_input, widths), IMAGE_KS, 1)


if __name__ == "__main__":
    main()
