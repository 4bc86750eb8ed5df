"""Benchmark of the geometry core: hop-distance row sums, peak memory, whole networks.

Run: ``.venv/bin/python benchmarks/geometry.py [--quick]`` (needs the ``bench`` extra:
python-igraph, networkx). ``--quick`` runs the smallest cases only (about a minute).

Part 1 times the row sums of the hop-distance matrix (edge direction ignored) on the
paper-convention kNN graphs of n points: fashion-MNIST 5 vs 9 test images (784 raw pixels)
for n <= 2000, a synthetic ReLU-like cloud above (50-dim ReLU of a random 10-dim
projection, so many coordinates are exactly 0), against python-igraph ``distances()`` and
``closeness()``, scipy's ``csgraph.shortest_path(unweighted=True)`` and networkx's
all-pairs BFS. Every competitor must return the same row sums. Part 2 times
``network_geometry`` on a paper-size network (n = 2000, input + 11 hidden layers, the 11
image ks) and measures n = 8000 against the 2 GB memory target.

Every case runs in its own subprocess; peak memory is the process's peak resident set
during the timed call (reset through /proc/self/clear_refs just before it) minus its
resident set just before, after the data, the graph and the compiled kernels are loaded:
the working memory of the measured call alone.

Results on the development machine (2 CPU cores shared with other work, so ratios are
noisy; seconds, median of 3, one run for networkx and above n = 2000; (ratio) = competitor /
ricci-ray; MB = peak RSS growth of the call; igraph.distances and scipy skipped above
n = 4000, networkx above 100k adjacency entries). ricci-ray's growth reads 0 where its
bitsets fit in heap pages already resident from building the graph:

   n    k  entries  ricci-ray (MB)  igraph.distances  igraph.closeness        scipy       networkx
1000   10    15506   0.0007 ( 0.0)       0.07 (111x)        0.04 (65x)   0.13 (199x)   1.23 (1847x)
1000   30    44800   0.0010 ( 0.0)       0.12 (115x)       0.12 (118x)   0.41 (408x)   2.80 (2802x)
1000  120   167594   0.0050 ( 0.0)        0.26 (52x)        0.13 (26x)   0.88 (178x)              -
1000  500   609314   0.0092 ( 0.0)       0.95 (104x)        0.68 (74x)    0.72 (79x)              -
2000   10    31798   0.0065 ( 0.0)        0.34 (52x)        0.20 (31x)   0.72 (111x)    3.43 (525x)
2000   30    92168   0.0082 ( 0.0)        0.38 (46x)        0.21 (25x)    0.81 (99x)  10.89 (1335x)
2000  120   349672   0.0095 ( 0.0)        0.92 (97x)        0.81 (86x)   2.31 (243x)              -
2000  500  1307270   0.0243 ( 0.0)        1.98 (81x)        1.74 (71x)   4.16 (171x)              -
4000   10    59262   0.0129 ( 5.6)       1.86 (144x)        0.61 (47x)   2.62 (202x)  13.11 (1013x)
4000   30   177132   0.0190 ( 5.6)       2.35 (124x)        0.92 (49x)   3.91 (206x)              -
4000  120   706880   0.0463 ( 0.2)       4.83 (104x)        2.63 (57x)  10.72 (232x)              -
4000  500  2905362   0.1420 ( 0.0)       10.74 (76x)       11.81 (83x)  46.85 (330x)              -
8000   10   118662   0.0798 (22.6)                 -                 -             -              -
8000   30   355186   0.1506 (22.7)                 -                 -             -              -
8000  120  1424528   0.3087 (15.6)                 -                 -             -              -
8000  500  5914360   0.9241 ( 0.0)                 -                 -             -              -

Competitors' peak growth: igraph.distances 8-58 MB at n <= 2000 and 170-242 MB at n = 4000
(an n x n list of lists), scipy 31 MB at n = 2000 and 122 MB at n = 4000 (n x n float64),
igraph.closeness about 0, networkx 10-20 MB.

network_geometry (graphs, curvature, row sums, coefficient at every k; one run):
    paper-size, n=2000, 50-dim input + 11 ReLU layers, the 11 image ks: 5.9 s,
        peak growth 92 MB, process peak 330 MB; 11/11 ks with a coefficient.
    n=8000, 50-dim input + 5 ReLU layers, ks 10/120/500: 19.5 s,
        peak growth 322 MB, process peak 573 MB, against the 2 GB target.

After the kernel rewrite (level 1 from adjacency, in-place levels, early exit), n = 2000,
fashion-MNIST graphs, median of 3 (competitor time as a multiple of ricci-ray's):

    k     ricci-ray   igraph.distances  igraph.closeness  scipy   networkx
    10    0.0023 s    133x              63x               240x    1293x
    20    0.0022 s    152x              80x               305x    2073x
    30    0.0028 s    131x              77x               281x    2173x
    50    0.0037 s    122x              73x               313x    -
    120   0.0060 s    144x              94x               371x    -
    500   0.0124 s    153x              136x              327x    -
    paper-size network (n = 2000, 12 layers, 11 ks): 4.1 s; n = 8000: 15.0 s, 573 MB peak.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import statistics
import subprocess
import sys
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
# igraph.distances and scipy hold an n x n matrix; above this n they are skipped.
COMPETITOR_MAX_POINTS = 4000
TOOLS = ("ricci-ray", "igraph.distances", "igraph.closeness", "scipy.shortest_path", "networkx")
MEMORY_TARGET_MB = 2048


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


def synthetic_network(inputs: np.ndarray, widths: list[int], seed: int = 0) -> list[np.ndarray]:
    """Random ReLU-like activations: inputs pushed through random ReLU layers (float32)."""
    rng = np.random.default_rng(seed)
    layers = [inputs]
    for width in widths:
        fan_in = layers[-1].shape[1]
        weights = rng.normal(size=(fan_in, width)) / np.sqrt(fan_in * layers[-1].std() ** 2)
        layers.append(np.maximum(layers[-1] @ weights + 0.1 * rng.normal(size=width), 0.0))
    return [layer.astype(np.float32) for layer in layers]


def relu_cloud(n_points: int, seed: int = 0) -> np.ndarray:
    """(n, 50) float32: ReLU of a random projection of a 10-dim Gaussian, ReLU-like ties."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_points, 10))
    hidden = latent @ rng.normal(size=(10, 50)) + 0.5 * rng.normal(size=50)
    return np.maximum(hidden, 0.0).astype(np.float32)


def points_for(n_points: int) -> np.ndarray:
    return load_images(n_points) if n_points <= 2000 else relu_cloud(n_points)


def status_mb(field: str) -> float:
    """VmRSS or VmHWM (peak) of this process in MB, from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measure(func: Callable[[], object], repeats: int) -> tuple[float, float, float, object]:
    """(median seconds, peak growth MB, absolute process peak MB, last result) of func.

    The growth is the process's peak RSS during the calls minus its RSS just before them
    (peak reset through /proc/self/clear_refs; where that is refused, the growth of
    getrusage's maximum RSS, which can under-count).
    """
    before = status_mb("VmRSS")
    if not reset_peak():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds, result = median_time(func, repeats)
    peak = status_mb("VmHWM")
    return seconds, peak - before, peak, result


def run_row_sums_case(n_points: int, k: int, tool: str, repeats: int) -> dict[str, object]:
    """One (n, k, tool) row-sum case, in this process."""
    graph = knn_graph_from_table(neighbor_table(points_for(n_points), k), k, "paper")
    hop_distance_sums(knn_graph_from_table(neighbor_table(np.eye(4), 1), 1, "paper"))  # compile
    if tool == "ricci-ray":
        func = lambda: hop_distance_sums(graph)[0]  # noqa: E731
    else:
        func = competitors(graph)[tool]
    seconds, peak_mb, _, sums = measure(func, repeats)
    sums = np.asarray(sums, dtype=np.int64)
    return {
        "seconds": seconds,
        "peak_mb": peak_mb,
        "entries": int(graph.adjacency_indices.size),
        "checksum": hashlib.sha1(sums.tobytes()).hexdigest(),
    }


def run_network_case(n_points: int, depth: int, ks: list[int], repeats: int) -> dict[str, object]:
    """network_geometry of one synthetic network: 50-dim input + depth ReLU layers."""
    inputs = np.random.default_rng(1).normal(size=(n_points, 50))
    widths = [50] * (depth // 2) + [25] + [50] * (depth - depth // 2 - 1)
    layers = synthetic_network(inputs, widths)
    network_geometry([layers[0][:20], layers[1][:20]], [2])  # compile, or load the cache
    seconds, peak_mb, process_mb, results = measure(lambda: network_geometry(layers, ks), repeats)
    n_ok = sum(result.status == "ok" for result in results.values())
    return {"seconds": seconds, "peak_mb": peak_mb, "process_mb": process_mb, "n_ok": n_ok}


def in_subprocess(*argv: str) -> dict[str, object]:
    """Run one case of this script in a fresh interpreter and return its JSON line."""
    done = subprocess.run(
        [sys.executable, __file__, "--case", *argv], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"case {argv} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def tools_for(n_points: int, k: int, entries: int) -> list[str]:
    tools = ["ricci-ray"]
    if n_points <= COMPETITOR_MAX_POINTS:
        tools += ["igraph.distances", "igraph.closeness", "scipy.shortest_path"]
    if entries <= NETWORKX_MAX_ENTRIES:
        tools.append("networkx")
    return tools


def bench_row_sums(sizes: list[int], ks: list[int], repeats: int) -> list[dict[str, object]]:
    rows = []
    print("hop-distance row sums, paper convention (seconds median, peak MB growth)")
    for n_points in sizes:
        for k in ks:
            if k >= n_points:
                continue
            ours = in_subprocess("rows", str(n_points), str(k), "ricci-ray", str(repeats))
            row = {"n": n_points, "k": k, "entries": ours["entries"], "ricci-ray": ours}
            for tool in tools_for(n_points, k, ours["entries"])[1:]:
                tool_repeats = 1 if tool == "networkx" or n_points > 2000 else repeats
                other = in_subprocess("rows", str(n_points), str(k), tool, str(tool_repeats))
                if other["checksum"] != ours["checksum"]:
                    raise SystemExit(f"{tool} disagrees with ricci-ray at n={n_points}, k={k}")
                row[tool] = other
            rows.append(row)
            print(format_row(row), flush=True)
    return rows


def format_row(row: dict[str, object]) -> str:
    ours = row["ricci-ray"]
    cells = [f"{row['n']:5d} {row['k']:4d} {ours['seconds']:8.4f}s {ours['peak_mb']:6.1f}MB"]
    for tool in TOOLS[1:]:
        if tool in row:
            other = row[tool]
            ratio = other["seconds"] / ours["seconds"]
            cells.append(f"{tool} {other['seconds']:.3f}s ({ratio:.0f}x) {other['peak_mb']:.0f}MB")
    return "  ".join(cells)


def markdown_table(rows: list[dict[str, object]]) -> str:
    """The row-sum results as a Markdown table (seconds, ratio to ricci-ray, peak MB)."""
    lines = [
        "| n | k | adjacency entries | ricci-ray s (MB) | " + " | ".join(TOOLS[1:]) + " |",
        "|---:|---:|---:|---:|" + "---:|" * (len(TOOLS) - 1),
    ]
    for row in rows:
        ours = row["ricci-ray"]
        cells = [
            str(row["n"]),
            str(row["k"]),
            f"{row['entries']:,}",
            f"{ours['seconds']:.4f} ({ours['peak_mb']:.1f})",
        ]
        for tool in TOOLS[1:]:
            other = row.get(tool)
            cells.append(
                "-"
                if other is None
                else f"{other['seconds']:.3f} ({other['seconds'] / ours['seconds']:.0f}x, "
                f"{other['peak_mb']:.0f} MB)"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bench_networks(quick: bool) -> list[str]:
    cases = [(2000, 11, IMAGE_KS, "paper-size: n=2000, input + 11 hidden, 11 image ks")]
    if quick:
        cases = [(1000, 5, [10, 30, 100], "n=1000, input + 5 hidden, ks 10/30/100")]
    else:
        cases.append((8000, 5, [10, 120, 500], "n=8000, input + 5 hidden, ks 10/120/500"))
    lines = []
    for n_points, depth, ks, label in cases:
        result = in_subprocess("network", str(n_points), str(depth), ",".join(map(str, ks)))
        line = (
            f"network_geometry {label}: {result['seconds']:.1f} s, peak growth "
            f"{result['peak_mb']:.0f} MB, process peak {result['process_mb']:.0f} MB "
            f"(target {MEMORY_TARGET_MB} MB), "
            f"{result['n_ok']}/{len(ks)} ks with a coefficient"
        )
        print(line, flush=True)
        lines.append(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="the smallest cases only")
    parser.add_argument("--case", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.case:
        kind, *values = args.case
        if kind == "rows":
            n_points, k, tool, repeats = values
            result = run_row_sums_case(int(n_points), int(k), tool, int(repeats))
        else:
            n_points, depth, ks = values
            result = run_network_case(
                int(n_points), int(depth), [int(k) for k in ks.split(",")], 1
            )
        print(json.dumps(result))
        return

    if args.quick:
        rows = bench_row_sums([1000], [10, 30], 1)
    else:
        rows = bench_row_sums([1000, 2000, 4000, 8000], [10, 30, 120, 500], args.repeats)
    network_lines = bench_networks(args.quick)
    print()
    print(markdown_table(rows))
    print()
    print("\n".join(network_lines))


if __name__ == "__main__":
    main()
