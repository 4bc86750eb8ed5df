"""Sweep throughput on Ray Tune: trials per minute and the share of wall time Ray costs.

Runs, in one process:

1. ``trial creation``: the driver time Tune spends creating the trials of a sweep, with a
   grid search over the trial configs against ricci-ray's ``PendingTrials`` searcher, on
   the configs of ``sweeps/paper-full.yaml`` (no trial runs; Tune's grid search copies the
   whole search space for every trial);
2. ``quick``: the 24 real trials of ``sweeps/quick.yaml`` (Baptista A, three widths,
   depths 5 and 11, paper recipe, 50 epochs, five k, with the untrained control), first
   in this process (so the driver's first-time costs count), on a local Ray started as
   ``ricci-ray sweep`` starts one and given ``WARM_WAIT_S`` for its workers to preload, as
   on a cluster that is already up; ``quick, 2nd``: the same again from this (now warm)
   driver on a fresh such Ray; ``quick, CLI``: the same as the command
   ``ricci-ray sweep FILE --num-cpus N`` in a process of its own, which starts its own Ray
   (its wall time is the whole command's);
3. ``one-epoch``: many very short trials (1 epoch, one k): the fixed cost per trial of
   Tune and the driver dominates; then ``1-ep/3 runs``, the same sweep split into three
   Tune runs (``ricci_ray.sweep.TRIALS_PER_TUNE_RUN``), which keeps the driver's memory
   from growing with the sweep;

and reports, for each sweep (``--cpus`` concurrent trials, default 2):

- ``start``: from calling ``run_sweep`` (or starting the command) to the first trial
  beginning on its worker;
- ``Ray overhead = 1 - Σtrial / (concurrency x wall)``, where ``Σtrial`` sums each
  trial's whole time on its worker (``seconds_total``: data, network, training,
  geometry); ``steady`` is the same over the wall time after the start;
- ``¬tr/geo``: the same with only training and geometry seconds (``Σtr+geo``) counted;
- driver memory growth per landed trial once the sweep is under way (the first quarter
  of the trials, with one-time imports and set-up, is left out).

Then it projects the wall time of ``sweeps/paper-full.yaml`` on this machine from
per-trial costs measured here and the quick sweep's steady overhead (see
``project_paper_full`` for the assumptions): median synthetic network 3.5 s, 7.3
core-hours, about 3.8 hours on 2 cores.

Run: ``.venv/bin/python benchmarks/sweep_throughput.py [--short 200] [--cpus 2]
[--creation 300 1000 1512]``

Measured on the 2-core development machine (``--short 600``; noisy, shared):

      trials  grid search s  PendingTrials s   ratio
         300           1.94            0.142     14x
        1000          18.43            0.287     64x
        1512          39.72            0.645     62x

    MLflow store template, once per machine: 4.6 s
    sweep        trials   wall  start  Σtrial  Σtr+geo   /min    Ray  steady  ¬tr/geo  KiB/tr
    quick            24   29.2    0.2    55.9     55.6     49   4.2%    3.7%     4.6%     255
    quick, 2nd       24   28.4    0.1    54.1     53.9     51   4.9%    4.4%     5.2%     143
    quick, CLI       24   38.2    7.6    53.0     52.7     38  30.6%   13.2%    30.9%     nan
    one-epoch       600   59.5    0.2    91.3     89.1    605  23.3%   23.0%    25.1%      70
    1-ep/3 runs     600   95.0    0.4    92.6     90.3    379  51.3%   51.1%    52.5%       3

(seconds; ``/min`` trials per minute; ``Ray`` the Ray overhead; ``¬tr/geo`` the share not
spent training or measuring; ``KiB/tr`` driver memory growth per trial, noisy for 24
trials.)

A local Ray started by ricci-ray (or a cluster node started with
``RAY_preload_python_modules=ricci_ray.worker``) has each idle worker import torch, Ray
Tune and the trial code, load the geometry kernels and train a tiny network before any
trial arrives (about 5 s per worker here), and Tune's trial actors take those workers, so
a sweep's first trials start 0.1-0.2 s after ``run_sweep`` is called. The command pays
for its whole start instead: Python and imports, Ray's own start and the workers' preload
come to about 8 s here. Each further Tune run of a sweep starts its trial workers afresh
(a trial actor's process ends with it): about 4.5 s per run here, once per
``TRIALS_PER_TUNE_RUN`` = 1000 trials by default. Once trials run, Tune and the driver
cost a few hundredths of a second per trial, which one-epoch trials (0.14 s) feel and real
ones (2-5 s) hardly do. MLflow's logging (about 25 ms of the driver's CPU per trial, in a
thread) is part of it, and more so after the first Tune run of a sweep, for reasons not
yet pinned down: in runs of 100 one-epoch trials the second and third took 18-20 s of
trials each with MLflow, against 10 s for the first and 8.5 s for every run without
MLflow; one run of 300 stays at 10 s per 100.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

REPO = Path(__file__).resolve().parents[1]
# Seconds a freshly started Ray gets for its idle workers to preload before a sweep.
WARM_WAIT_S = 10.0
SYNTHETIC_K = [6, 7, 9, 10, 15, 18, 20, 30, 50, 90, 100, 120, 140, 150, 160, 180, 200]
IMAGE_K = [10, 20, 30, 50, 90, 100, 120, 150, 250, 350, 500]


@contextlib.contextmanager
def running_ray(cpus: int):
    """A local Ray started as ricci-ray starts one, whose trial workers have had the time
    to preload (as on a cluster that is already up); stopped afterwards."""
    import ray

    from ricci_ray.sweep import start_local_ray

    start_local_ray(cpus, log_to_driver=False)
    time.sleep(WARM_WAIT_S)
    try:
        yield
    finally:
        ray.shutdown()


def run(spec_doc: dict, out: Path, concurrency: int, command: bool = False) -> dict[str, float]:
    """Run one sweep; return its wall time, start-up, trial count and summed trial times.

    With ``command`` the sweep runs as ``ricci-ray sweep FILE --out DIR --num-cpus N`` in a
    process of its own, which starts and stops its own local Ray: the wall time is then the
    whole command's, Python's start and Ray's included (the driver's memory is not sampled).
    """
    import pandas as pd
    import yaml

    from ricci_ray.spec import parse_sweep
    from ricci_ray.sweep import run_sweep

    spec_doc = dict(spec_doc, max_concurrent_trials=concurrency)
    spec = parse_sweep(spec_doc)
    samples: list[tuple[int, float]] = []  # (trials landed, driver RSS MiB) over time
    done = threading.Event()

    def sample() -> None:
        folder = out / "results" / f"sweep={spec.name}"
        while not done.wait(0.5):
            landed = len(list(folder.glob("*.parquet"))) if folder.is_dir() else 0
            samples.append((landed, driver_rss_mib()))

    sampler = threading.Thread(target=sample, daemon=True)
    if not command:
        sampler.start()
    began = pd.Timestamp.now(tz="UTC")
    started = time.perf_counter()
    if command:
        sweep_file = out.with_suffix(".yaml")
        sweep_file.write_text(yaml.safe_dump(spec_doc))
        cli = Path(sys.executable).with_name("ricci-ray")
        argv = [cli, "sweep", sweep_file, "--out", out, "--num-cpus", str(concurrency)]
        subprocess.run(argv, check=True, capture_output=True)
    else:
        run_sweep(spec, out)
    wall = time.perf_counter() - started
    done.set()
    if not command:
        sampler.join()
    results = pd.read_parquet(out / "results").drop_duplicates("trial_id")
    whole = float(results.seconds_total.sum())
    compute = float((results.seconds_train + results.seconds_geometry).sum())
    start_up = (results.started_at.min() - began).total_seconds()
    return {
        "trials": results.loc[results.status != "failed", "trial_id"].nunique(),
        "wall_s": wall,
        "start_up_s": start_up,
        "whole_s": whole,
        "compute_s": compute,
        "trials_per_min": 60 * results.trial_id.nunique() / wall,
        "overhead": 1 - whole / (concurrency * wall),
        "steady": 1 - whole / (concurrency * (wall - start_up)),
        "not_compute": 1 - compute / (concurrency * wall),
        "rss_growth_kib_per_trial": rss_slope_kib(samples),
    }


def trial_creation(sizes: list[int]) -> None:
    """Driver time for Tune to create the trials of a sweep: a grid search over the trial
    configs against :class:`ricci_ray.tune_callback.PendingTrials`, on the configs of
    ``sweeps/paper-full.yaml`` (no trial runs)."""
    from ray import tune
    from ray.tune.experiment import Experiment
    from ray.tune.search.basic_variant import BasicVariantGenerator
    from ray.tune.search.search_generator import SearchGenerator

    from ricci_ray.spec import load_sweep
    from ricci_ray.tune_callback import PendingTrials

    configs = load_sweep(REPO / "sweeps" / "paper-full.yaml").trial_configs(data_dir="data")
    configs = [config.to_dict() for config in configs]

    def noop(config: dict) -> None:
        pass

    def drain(generator) -> float:
        started = time.perf_counter()
        while generator.next_trial() is not None:
            pass
        return time.perf_counter() - started

    print(f"\n{'trials':>8}{'grid search s':>15}{'PendingTrials s':>17}{'ratio':>8}")
    for n in sizes:
        repeated = (configs * (n // len(configs) + 1))[:n]
        grid = BasicVariantGenerator()
        grid.add_configurations(
            [Experiment("grid", noop, config={"trial": tune.grid_search(repeated)})]
        )
        ours = SearchGenerator(PendingTrials(repeated))
        ours.add_configurations([Experiment("ours", noop, config={}, num_samples=n)])
        seconds_grid, seconds_ours = drain(grid), drain(ours)
        print(
            f"{n:>8}{seconds_grid:>15.2f}{seconds_ours:>17.3f}{seconds_grid / seconds_ours:>7.0f}x"
        )


def rss_slope_kib(samples: list[tuple[int, float]]) -> float:
    """Driver memory growth per landed trial once the sweep is under way (KiB/trial),
    between the first sample past a quarter of the trials and the last sample; one-time
    costs at the start (imports, Ray and MLflow set-up) are left out."""
    if not samples:
        return float("nan")
    total = samples[-1][0]
    start = next((s for s in samples if s[0] >= max(1, total // 4)), samples[0])
    end = samples[-1]
    if end[0] <= start[0]:
        return float("nan")
    return 1024 * (end[1] - start[1]) / (end[0] - start[0])


def driver_rss_mib() -> float:
    """Resident memory of this (driver) process, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def per_trial_cost(dataset: str, ks: list[int], data_dir: str | None) -> dict[str, float]:
    """Median seconds of one trial per architecture, measured without Ray."""
    import torch

    from ricci_ray.spec import TrialConfig
    from ricci_ray.trial import run_trial

    torch.set_num_threads(1)
    costs = {}
    for width in ("narrow", "wide", "bottleneck"):
        for depth in (5, 11):
            config = TrialConfig(
                sweep="bench",
                dataset=dataset,
                width=width,
                depth=depth,
                seed=0,
                ks=tuple(ks),
                data_dir=data_dir,
                control=True,
            )
            result = run_trial(config)
            costs[f"{width}-{depth}"] = result.seconds_train + result.seconds_geometry
    return costs


def project_paper_full(cpus: int, overhead: float, data_dir: str | None) -> None:
    """Project sweeps/paper-full.yaml's wall time from costs measured here.

    Synthetic tasks are measured directly (Baptista A stands for A, B and C: same sizes).
    The image tasks' IDX files are not available here, so an image trial is estimated from
    a fashion-MNIST CSV trial (1000 training images, 1000 test points) scaled to the IDX
    task: training x 12 (about 12,000 training images instead of 1000) and geometry x 4
    (about 2000 test points instead of 1000; the kNN and hop-distance work grows about
    quadratically in n).
    """
    synthetic = per_trial_cost("baptista-a", SYNTHETIC_K, None)
    seconds = 3 * 36 * sum(synthetic.values())
    note = "synthetic only (no --data-dir)"
    if data_dir:
        from ricci_ray.spec import TrialConfig
        from ricci_ray.trial import run_trial

        image_seconds = 0.0
        for width in ("narrow", "wide", "bottleneck"):
            for depth in (5, 11):
                config = TrialConfig(
                    sweep="bench",
                    dataset="fmnist-5v9",
                    width=width,
                    depth=depth,
                    seed=0,
                    ks=tuple(k for k in IMAGE_K if k < 1000),
                    data_dir=data_dir,
                    control=True,
                )
                result = run_trial(config)
                image_seconds += 12 * result.seconds_train + 4 * result.seconds_geometry
        seconds += 4 * 36 * image_seconds
        note = "synthetic measured, images estimated from fmnist-5v9 (see docstring)"
    wall = seconds / cpus / max(1e-9, 1 - overhead)
    print(f"\npaper-full.yaml (1512 networks, with the control), {note}:")
    print(f"  per synthetic network: median {statistics.median(synthetic.values()):.1f} s")
    print(
        f"  total compute {seconds / 3600:.1f} core-hours; on {cpus} cores with "
        f"{overhead:.0%} overhead: about {wall / 3600:.1f} hours"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=200, help="number of one-epoch trials")
    parser.add_argument("--cpus", type=int, default=2, help="concurrent trials (and Ray CPUs)")
    parser.add_argument(
        "--creation",
        type=int,
        nargs="*",
        default=[300, 1000, 1512],
        help="sweep sizes for the trial-creation comparison (none: skip it)",
    )
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    args = parser.parse_args()

    import yaml

    if args.creation:
        trial_creation(args.creation)

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        short = {
            "name": "short",
            "datasets": ["baptista-a"],
            "widths": ["narrow"],
            "depths": [5],
            "seeds": list(range(args.short)),
            "k": [10],
            "recipe": {"epochs": 1},
        }
        import ricci_ray.sweep

        quick = yaml.safe_load((REPO / "sweeps" / "quick.yaml").read_text())
        # A machine's first sweep also makes the empty MLflow store that later sweeps copy
        # (once per MLflow version); made here, in a process of its own so that this one
        # has not imported MLflow, and every sweep below costs what a sweep costs from then on.
        started = time.perf_counter()
        make = "import sys; from ricci_ray.sinks.mlflow_sink import prepare_sqlite_store as p; "
        make += "p('sqlite:///' + sys.argv[1])"
        subprocess.run([sys.executable, "-c", make, str(Path(tmp) / "made.db")], check=True)
        print(f"\nMLflow store template, once per machine: {time.perf_counter() - started:.1f} s")
        # First in this process, so that the driver's own first-time costs (importing Tune
        # and MLflow, creating the MLflow store) count as they do for a user.
        with running_ray(args.cpus):
            rows["quick"] = run(quick, Path(tmp) / "quick", args.cpus)
        # Again, from the same (now warm) driver, on a Ray with fresh preloaded workers.
        with running_ray(args.cpus):
            rows["quick, 2nd"] = run(quick, Path(tmp) / "quick-2nd", args.cpus)
        # As 'ricci-ray sweep sweeps/quick.yaml' runs on a laptop: a process that starts
        # its own Ray.
        rows["quick, CLI"] = run(quick, Path(tmp) / "quick-cli", args.cpus, command=True)
        default_part = ricci_ray.sweep.TRIALS_PER_TUNE_RUN
        ricci_ray.sweep.TRIALS_PER_TUNE_RUN = max(default_part, args.short)
        with running_ray(args.cpus):
            rows["one-epoch"] = run(short, Path(tmp) / "short", args.cpus)
        # The same sweep as three Tune runs: the driver's memory no longer grows with it.
        ricci_ray.sweep.TRIALS_PER_TUNE_RUN = max(1, args.short // 3)
        with running_ray(args.cpus):
            rows["1-ep/3 runs"] = run(short, Path(tmp) / "short-parts", args.cpus)
        ricci_ray.sweep.TRIALS_PER_TUNE_RUN = default_part

    print(
        f"\n{'sweep':<12}{'trials':>7}{'wall':>7}{'start':>7}{'Σtrial':>8}{'Σtr+geo':>9}"
        f"{'/min':>7}{'Ray':>7}{'steady':>8}{'¬tr/geo':>9}{'KiB/tr':>8}"
    )
    for name, row in rows.items():
        print(
            f"{name:<12}{row['trials']:>7.0f}{row['wall_s']:>7.1f}{row['start_up_s']:>7.1f}"
            f"{row['whole_s']:>8.1f}{row['compute_s']:>9.1f}{row['trials_per_min']:>7.0f}"
            f"{row['overhead']:>7.1%}{row['steady']:>8.1%}{row['not_compute']:>9.1%}"
            f"{row['rss_growth_kib_per_trial']:>8.0f}"
        )
    data_dir = args.data_dir if Path(args.data_dir, "fmnist", "test5.csv").is_file() else None
    # Hours of trials make the once-per-sweep start negligible: the steady share applies.
    project_paper_full(args.cpus, rows["quick"]["steady"], data_dir)


if __name__ == "__main__":
    main()
