"""Benchmark of training: how often the paper's networks pass the well-trained bar, and how long
one network takes, on every synthetic data set.

Run: ``.venv/bin/python benchmarks/training.py [--seeds 10] [--datasets baptista-a ...]
[--recipe paper|hehl]``. Network ``s`` (``s`` = 0 .. seeds - 1) uses ``seed = s`` for its
weights and shuffles and ``data_seed = s`` for its data, trains on one thread, and passes when
its test accuracy is strictly above the data set's threshold (Baptista et al. 2024).

Results on the development machine. pass = networks above the threshold; accuracy =
median [min, max] test accuracy; s = median training seconds per network.

Paper recipe, Baptista's sets, ``--seeds 10 --datasets baptista-a baptista-b baptista-c``
(Baptista C with one wave of its sheet, see ``ricci_ray.data.synthetic.baptista_c``):

    data set    net              pass  accuracy                      s
    baptista-a  narrow-5         9/10  1.000 [0.980, 1.000]       0.84
    baptista-a  narrow-11        9/10  0.996 [0.982, 0.999]       1.40
    baptista-a  wide-5          10/10  1.000 [0.998, 1.000]       0.84
    baptista-a  wide-11         10/10  1.000 [0.998, 1.000]       1.66
    baptista-a  bottleneck-5    10/10  1.000 [0.998, 1.000]       1.02
    baptista-a  bottleneck-11    9/10  0.998 [0.989, 1.000]       1.64
    baptista-b  narrow-5        10/10  0.998 [0.993, 1.000]       0.99
    baptista-b  narrow-11       10/10  0.998 [0.994, 0.999]       1.73
    baptista-b  wide-5          10/10  0.997 [0.992, 0.999]       1.22
    baptista-b  wide-11          8/10  0.998 [0.961, 1.000]       1.81
    baptista-b  bottleneck-5    10/10  0.998 [0.996, 0.999]       0.99
    baptista-b  bottleneck-11    9/10  0.998 [0.978, 1.000]       2.01
    baptista-c  narrow-5         8/10  0.925 [0.892, 0.936]       1.07
    baptista-c  narrow-11        8/10  0.923 [0.894, 0.932]       1.84
    baptista-c  wide-5           9/10  0.923 [0.894, 0.934]       1.27
    baptista-c  wide-11          9/10  0.927 [0.906, 0.933]       2.02
    baptista-c  bottleneck-5     9/10  0.929 [0.906, 0.939]       1.35
    baptista-c  bottleneck-11    8/10  0.925 [0.904, 0.937]       2.22
    total: 165/180 networks passed; median 1.48 s per network; 266 s in all

Paper recipe, every synthetic set, ``--seeds 3`` (other jobs shared the cores; measured with
Baptista C's earlier two-wave sheet):

    data set    net              pass  accuracy                      s
    baptista-a  narrow-5          3/3  1.000 [0.995, 1.000]       2.62
    baptista-a  narrow-11         2/3  0.991 [0.954, 0.999]       1.27
    baptista-a  wide-5            3/3  1.000 [0.999, 1.000]       0.83
    baptista-a  wide-11           3/3  0.999 [0.995, 0.999]       1.87
    baptista-a  bottleneck-5      3/3  0.999 [0.999, 1.000]       1.11
    baptista-a  bottleneck-11     3/3  0.999 [0.992, 1.000]       1.80
    baptista-b  narrow-5          3/3  0.996 [0.993, 0.997]       1.01
    baptista-b  narrow-11         3/3  0.997 [0.994, 0.998]       1.74
    baptista-b  wide-5            3/3  0.995 [0.994, 0.999]       0.94
    baptista-b  wide-11           3/3  0.995 [0.993, 0.997]       1.57
    baptista-b  bottleneck-5      3/3  0.996 [0.995, 0.997]       1.12
    baptista-b  bottleneck-11     3/3  0.996 [0.994, 0.998]       2.03
    baptista-c  narrow-5          2/3  0.926 [0.890, 0.927]       0.89
    baptista-c  narrow-11         2/3  0.917 [0.895, 0.920]       1.59
    baptista-c  wide-5            2/3  0.924 [0.896, 0.926]       1.15
    baptista-c  wide-11           2/3  0.916 [0.894, 0.925]       3.38
    baptista-c  bottleneck-5      2/3  0.926 [0.895, 0.928]       1.78
    baptista-c  bottleneck-11     2/3  0.923 [0.904, 0.930]       1.67
    hehl-1      narrow-5          3/3  0.999 [0.994, 1.000]       0.78
    hehl-1      narrow-11         3/3  0.998 [0.998, 0.999]       1.45
    hehl-1      wide-5            2/3  0.999 [0.935, 1.000]       1.00
    hehl-1      wide-11           3/3  0.999 [0.998, 1.000]       2.09
    hehl-1      bottleneck-5      2/3  0.999 [0.960, 0.999]       1.10
    hehl-1      bottleneck-11     3/3  0.999 [0.998, 0.999]       2.02
    hehl-2      narrow-5          2/3  0.957 [0.939, 0.963]       1.76
    hehl-2      narrow-11         1/3  0.950 [0.931, 0.954]       3.03
    hehl-2      wide-5            3/3  0.971 [0.953, 0.975]       1.06
    hehl-2      wide-11           2/3  0.952 [0.947, 0.974]       2.17
    hehl-2      bottleneck-5      3/3  0.964 [0.957, 0.973]       1.23
    hehl-2      bottleneck-11     2/3  0.963 [0.942, 0.975]       1.95
    hehl-3      narrow-5          2/3  0.958 [0.930, 0.965]       1.28
    hehl-3      narrow-11         2/3  0.955 [0.909, 0.968]       2.88
    hehl-3      wide-5            2/3  0.965 [0.932, 0.983]       1.29
    hehl-3      wide-11           1/3  0.946 [0.894, 0.967]       2.43
    hehl-3      bottleneck-5      2/3  0.964 [0.941, 0.972]       1.04
    hehl-3      bottleneck-11     1/3  0.940 [0.890, 0.965]       1.86
    hehl-4      narrow-5          3/3  0.984 [0.982, 0.987]       0.96
    hehl-4      narrow-11         3/3  0.988 [0.983, 0.993]       1.60
    hehl-4      wide-5            3/3  0.984 [0.984, 0.995]       1.09
    hehl-4      wide-11           3/3  0.991 [0.984, 0.995]       1.80
    hehl-4      bottleneck-5      3/3  0.987 [0.987, 0.987]       0.90
    hehl-4      bottleneck-11     3/3  0.992 [0.986, 0.996]       1.97
    total: 104/126 networks passed; median 1.57 s per network; 204 s in all

Hehl recipe (``--seeds 1 --recipe hehl --datasets hehl-1 hehl-2 hehl-3 hehl-4``):

    data set    net              pass  accuracy                      s
    hehl-1      narrow-5          1/1  0.994 [0.994, 0.994]       1.21
    hehl-1      narrow-11         1/1  0.993 [0.993, 0.993]       0.15
    hehl-1      wide-5            1/1  0.991 [0.991, 0.991]       0.15
    hehl-1      wide-11           1/1  0.997 [0.997, 0.997]       0.16
    hehl-1      bottleneck-5      1/1  0.992 [0.992, 0.992]       0.13
    hehl-1      bottleneck-11     1/1  0.997 [0.997, 0.997]       0.16
    hehl-2      narrow-5          1/1  0.967 [0.967, 0.967]       0.67
    hehl-2      narrow-11         1/1  0.967 [0.967, 0.967]       0.49
    hehl-2      wide-5            1/1  0.966 [0.966, 0.966]       0.43
    hehl-2      wide-11           1/1  0.977 [0.977, 0.977]       0.69
    hehl-2      bottleneck-5      1/1  0.968 [0.968, 0.968]       0.47
    hehl-2      bottleneck-11     1/1  0.983 [0.983, 0.983]       0.59
    hehl-3      narrow-5          1/1  0.975 [0.975, 0.975]       0.19
    hehl-3      narrow-11         1/1  0.966 [0.966, 0.966]       0.28
    hehl-3      wide-5            1/1  0.969 [0.969, 0.969]       0.16
    hehl-3      wide-11           1/1  0.974 [0.974, 0.974]       0.26
    hehl-3      bottleneck-5      1/1  0.972 [0.972, 0.972]       0.18
    hehl-3      bottleneck-11     1/1  0.974 [0.974, 0.974]       0.24
    hehl-4      narrow-5          1/1  0.979 [0.979, 0.979]       0.25
    hehl-4      narrow-11         1/1  0.986 [0.986, 0.986]       0.26
    hehl-4      wide-5            1/1  0.986 [0.986, 0.986]       0.25
    hehl-4      wide-11           1/1  0.983 [0.983, 0.983]       0.35
    hehl-4      bottleneck-5      1/1  0.982 [0.982, 0.982]       0.22
    hehl-4      bottleneck-11     1/1  0.984 [0.984, 0.984]       0.30
    total: 24/24 networks passed; median 0.25 s per network; 8 s in all
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import torch

from ricci_ray.data import DATASETS, load_dataset
from ricci_ray.nets import HehlRecipe, PaperRecipe, build_mlp, evaluate, hidden_widths, train

ARCHITECTURES = [(width, depth) for width in ("narrow", "wide", "bottleneck") for depth in (5, 11)]
SYNTHETIC = [name for name, info in DATASETS.items() if not info.needs_data_dir]
# Image tasks whose files ship with the development data folder (the IDX tasks need the
# user's MNIST/fashion-MNIST downloads).
IMAGES_AT_HAND = [name for name, info in DATASETS.items() if info.needs_data_dir]
REPO = Path(__file__).resolve().parents[1]


def train_once(
    name: str, width: str, depth: int, seed: int, *, recipe, data_dir: str | None
) -> tuple[float, float]:
    """Test accuracy and training seconds of one network."""
    data = load_dataset(name, data_seed=seed, data_dir=data_dir)
    model = build_mlp(data.x_train.shape[1], hidden_widths(width, depth), seed=seed)
    start = time.perf_counter()
    train(model, data.x_train, data.y_train, recipe, seed=seed)
    seconds = time.perf_counter() - start
    _, accuracy = evaluate(model, data.x_test, data.y_test)
    return accuracy, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="networks per row (default 10)")
    parser.add_argument(
        "--datasets", nargs="+", default=SYNTHETIC, choices=SYNTHETIC + IMAGES_AT_HAND
    )
    parser.add_argument("--recipe", choices=("paper", "hehl"), default="paper")
    parser.add_argument(
        "--data-dir",
        default=str(REPO.parent / "shared" / "data"),
        help="folder of the image files (default ../shared/data)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="networks trained at once, one thread each"
    )
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f"--seeds: must be >= 1; given {args.seeds}")
    if args.jobs < 1:
        parser.error(f"--jobs: must be >= 1; given {args.jobs}")
    torch.set_num_threads(1)
    recipe = PaperRecipe() if args.recipe == "paper" else HehlRecipe()
    pool = ProcessPoolExecutor(args.jobs, initializer=torch.set_num_threads, initargs=(1,))

    print(f"{'data set':<11} {'net':<14} {'pass':>6}  {'accuracy':<24} {'s':>6}")
    n_passed = n_networks = 0
    all_seconds = []
    start = time.perf_counter()
    for name in args.datasets:
        threshold = DATASETS[name].accuracy_threshold
        for width, depth in ARCHITECTURES:
            data_dir = args.data_dir if DATASETS[name].needs_data_dir else None
            train_seed = partial(train_once, name, width, depth, recipe=recipe, data_dir=data_dir)
            runs = list(pool.map(train_seed, range(args.seeds)))
            accuracies = [a for a, _ in runs]
            seconds = [s for _, s in runs]
            passed = sum(a > threshold for a in accuracies)
            n_passed, n_networks = n_passed + passed, n_networks + len(runs)
            all_seconds += seconds
            spread = (
                f"{statistics.median(accuracies):.3f} "
                f"[{min(accuracies):.3f}, {max(accuracies):.3f}]"
            )
            print(
                f"{name:<11} {f'{width}-{depth}':<14} {f'{passed}/{len(runs)}':>6}  "
                f"{spread:<24} {statistics.median(seconds):6.2f}",
                flush=True,
            )
    pool.shutdown()
    print(
        f"total: {n_passed}/{n_networks} networks passed; median "
        f"{statistics.median(all_seconds):.2f} s per network; "
        f"{time.perf_counter() - start:.0f} s in all"
    )


if __name__ == "__main__":
    main()
