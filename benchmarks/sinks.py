"""Benchmark of the result sinks: what landing a trial costs, and what reading a sweep costs.

Run: ``.venv/bin/python benchmarks/sinks.py [--trials 60] [--read-trials 10000]``.

Part 1 times, per trial, ``ParquetStore.write`` (results + layers, atomic rename) and
``MlflowSink.log`` to a local SQLite store, on a realistic record: depth 11 (12 layers
with the input), 11 ks, so 11 results rows and 132 layers rows, about 400 MLflow metrics.
Part 2 times ``ricci_ray.load_results`` on 10,000 synthetic trials x 11 ks (110,000
results rows, made column-wise with pyarrow), stored as one file per trial and after
``compact``, plus the compacted ``layers`` table (1.32 M rows). Part 3 relates the sink
overhead to a quick-sweep trial: the median ``seconds_train + seconds_geometry`` in
/tmp/quick/results when that sweep output exists, else 2.0 s.

Results on the development machine (2 shared CPU cores; medians of 60 trials for part
1 and of 3 reads for part 2; the quick-sweep trial time is the median of the 24 trials
in /tmp/quick; a second run gave 1.9 ms and 46 ms for part 1):

    parquet write per trial (results + layers)    2.9 ms
    mlflow log per trial (SQLite)                49.1 ms
    load_results, 10,000 per-trial files         12.6 s   (writing them: 10 s; the
                                                           reader before compaction
                                                           support took 10.3 s)
    load_results, compacted (one file)            0.10 s  (compacting: 19.3 s)
    load layers, compacted (1,320,000 rows)       0.18 s
    quick-sweep trial (train + geometry)          4.20 s
    sink overhead / quick trial                   1.24 %  (parquet 0.07 %, mlflow 1.17 %)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ricci_ray import load_results
from ricci_ray.sinks.compact import compact
from ricci_ray.sinks.mlflow_sink import MlflowSink, bound_http_retries, default_tracking_uri
from ricci_ray.sinks.parquet import SCHEMA_VERSION, SCHEMAS, ParquetStore, TrialRows
from ricci_ray.spec import TrialConfig
from ricci_ray.trial import ScaleResult, TrialResult

KS = (5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 100)
DEPTH = 11
QUICK = Path("/tmp/quick")


def realistic_result(seed: int) -> TrialResult:
    """A finished trial of depth 11 measured at 11 ks, every coefficient defined."""
    config = TrialConfig(
        sweep="bench", dataset="baptista-a", width="narrow", depth=DEPTH, seed=seed, ks=KS
    )
    rng = np.random.default_rng(seed)
    n_layers = DEPTH + 1
    scales = []
    for k in KS:
        g = np.sort(rng.uniform(1e5, 1e6, n_layers))[::-1]
        scales.append(
            ScaleResult(
                k=k,
                ricci_coef=float(rng.uniform(-1, 0)),
                status="ok",
                reason=None,
                ric=rng.uniform(-5e4, -1e3, n_layers).tolist(),
                g=g.tolist(),
                n_components=[1] * n_layers,
                eta=np.diff(g)[: DEPTH - 1].tolist(),
            )
        )
    return TrialResult(
        trial_id=config.trial_id,
        config=config.to_dict(),
        accuracy_test=0.99,
        loss_test=0.03,
        accuracy_train=1.0,
        loss_train=0.01,
        accuracy_val=None,
        loss_val=None,
        diverged=False,
        scales=scales,
        seconds_train=2.0,
        seconds_geometry=1.0,
        node_id="node-a",
    )


def per_trial_ms(function, items) -> float:
    times = []
    for item in items:
        start = time.perf_counter()
        function(item)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def synthetic_table(table: str, n_trials: int, per_trial: int) -> pa.Table:
    """``n_trials`` x ``per_trial`` rows of ``table``, column by column (no Python rows)."""
    schema = SCHEMAS[table]
    n = n_trials * per_trial
    rng = np.random.default_rng(0)
    trial = np.repeat(np.arange(n_trials), per_trial)
    within = np.tile(np.arange(per_trial), n_trials)
    ids = np.array([f"synthetic_{i:06d}" for i in range(n_trials)], dtype=object)
    special = {
        "schema_version": pa.array(np.full(n, SCHEMA_VERSION, np.int32)),
        "trial_id": pa.array(ids[trial], pa.string()),
        "seed": pa.array(trial, pa.int64()),
        "depth": pa.array(np.full(n, DEPTH), pa.int64()),
        "k": pa.array(np.asarray(KS)[within % len(KS)], pa.int64()),
        "layer": pa.array(within // len(KS), pa.int64()),
        "status": pa.array(np.full(n, "ok", dtype=object), pa.string()),
        "finished_at": pa.array(np.full(n, np.datetime64("2026-12-01T00:00:00", "us"))),
    }
    columns = []
    for field in schema:
        if field.name in special:
            column = special[field.name]
        elif pa.types.is_list(field.type):
            offsets = pa.array(np.arange(0, (n + 1) * (DEPTH + 1), DEPTH + 1, dtype=np.int32))
            column = pa.ListArray.from_arrays(offsets, pa.array(np.ones(n * (DEPTH + 1))))
        elif pa.types.is_floating(field.type):
            column = pa.array(rng.standard_normal(n))
        elif pa.types.is_integer(field.type):
            column = pa.array(np.zeros(n, np.int64))
        elif pa.types.is_boolean(field.type):
            column = pa.array(np.zeros(n, bool))
        else:
            column = pa.array(np.full(n, field.name, dtype=object), pa.string())
        columns.append(column.cast(field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def median_seconds(function, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def quick_trial_seconds() -> tuple[float, str]:
    if (QUICK / "results").is_dir():
        frame = load_results(QUICK).drop_duplicates("trial_id")
        seconds = float((frame.seconds_train + frame.seconds_geometry).median())
        return seconds, f"median of {len(frame)} trials in {QUICK}"
    return 2.0, f"assumed: {QUICK} not found"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60, help="trials per sink (>= 50)")
    parser.add_argument("--read-trials", type=int, default=10_000)
    args = parser.parse_args()
    bound_http_retries()
    rows = []

    with tempfile.TemporaryDirectory() as tmp:
        results = [realistic_result(seed) for seed in range(args.trials)]
        store = ParquetStore(Path(tmp) / "parquet")
        parquet_ms = per_trial_ms(lambda result: store.write("bench", result), results)
        trial_rows = [TrialRows.of(result) for result in results]
        sink = MlflowSink(default_tracking_uri(tmp), "bench")
        mlflow_ms = per_trial_ms(sink.log, trial_rows)
        rows.append(("parquet write per trial (results + layers)", f"{parquet_ms:.1f} ms"))
        rows.append(("mlflow log per trial (SQLite)", f"{mlflow_ms:.1f} ms"))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        n = args.read_trials
        table = synthetic_table("results", n, len(KS))
        folder = root / "results" / "sweep=bench"
        folder.mkdir(parents=True)
        start = time.perf_counter()
        for index in range(n):
            piece = table.slice(index * len(KS), len(KS))
            pq.write_table(piece, folder / f"synthetic_{index:06d}.parquet")
        written = time.perf_counter() - start
        expected = n * len(KS)
        assert len(load_results(root)) == expected
        per_file = median_seconds(lambda: load_results(root))
        rows.append(
            (
                f"load_results, {n:,} per-trial files",
                f"{per_file:.2f} s (writing: {written:.0f} s)",
            )
        )
        start = time.perf_counter()
        compact(root)
        compacting = time.perf_counter() - start
        assert len(list(folder.iterdir())) == 1 and len(load_results(root)) == expected
        compacted = median_seconds(lambda: load_results(root))
        rows.append(
            ("load_results, compacted", f"{compacted:.2f} s (compacting: {compacting:.1f} s)")
        )
        layers = synthetic_table("layers", n, len(KS) * (DEPTH + 1))
        (root / "layers" / "sweep=bench").mkdir(parents=True)
        pq.write_table(layers, root / "layers" / "sweep=bench" / f"part-{uuid.uuid4()}.parquet")
        layers_s = median_seconds(lambda: load_results(root, "layers"))
        rows.append((f"load layers, compacted ({layers.num_rows:,} rows)", f"{layers_s:.2f} s"))

    trial_s, source = quick_trial_seconds()
    overhead = (parquet_ms + mlflow_ms) / 1000
    rows.append(("quick-sweep trial (train + geometry)", f"{trial_s:.2f} s ({source})"))
    rows.append(
        (
            "sink overhead / quick trial",
            f"{100 * overhead / trial_s:.2f} % (parquet {100 * parquet_ms / 1000 / trial_s:.2f} %,"
            f" mlflow {100 * mlflow_ms / 1000 / trial_s:.2f} %)",
        )
    )
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


if __name__ == "__main__":
    main()
