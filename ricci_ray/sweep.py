"""The sweep driver: a validated sweep -> Ray Tune trials -> Parquet and MLflow.

Trials run wherever Ray places them; their results come back to this (driver) process
through Tune, where :class:`SinkCallback` lands each one in Parquet first (the record)
and then in MLflow (the view). Rerunning a sweep on the same output folder runs only the
trials that have not landed yet.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import logging
import math
import os
import socket
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ricci_ray.errors import ConfigError
from ricci_ray.sinks.mlflow_sink import (
    MlflowSink,
    MlflowWriter,
    artifact_location_for,
    bound_http_retries,
    default_tracking_uri,
    sync_from_parquet,
)
from ricci_ray.sinks.parquet import ParquetStore, is_uri
from ricci_ray.spec import SweepSpec, TrialConfig
from ricci_ray.trial import TrialResult, run_trial

logger = logging.getLogger(__name__)

RECORD_KEY = "ricci_ray_record"
# Tune keeps a record of every trial of a run in the driver until the run ends (tens of
# KiB each), so a sweep runs as successive Tune runs of at most this many trials: the
# driver's memory stays bounded whatever the sweep's size, for the price of starting the
# trial workers once more per run (a few seconds).
TRIALS_PER_TUNE_RUN = 1000
# How long the end of a sweep waits for MLflow logging to drain before leaving the rest
# to 'ricci-ray mlflow-sync'.
MLFLOW_DRAIN_SECONDS = 120.0


@dataclass
class SweepSummary:
    """How a sweep ended."""

    sweep: str
    out_dir: Path | str
    n_trials: int
    n_skipped: int
    n_finished: int
    n_failed: int
    n_unlogged: int
    seconds: float


def _ray_environment(local: bool) -> None:
    """Keep a local Ray on 127.0.0.1 and quiet; must run before Ray starts."""
    if local:
        # With clusters disabled every Ray listener binds loopback, not the routable
        # address. (It also forbids joining other nodes, so only for a local Ray.)
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Parquet and MLflow are the records; Tune's own CSV/JSON/TensorBoard files are noise.
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


# Every worker of a local Ray imports these before it takes work (Ray's
# preload_python_modules); see ricci_ray.worker.
WORKER_PRELOAD_MODULES = ["ricci_ray.worker"]
# Ray stops idle workers after 10 s by default; a sweep's driver checks and Tune's set-up
# may take longer than that, and the preloaded workers must still be there for the trials.
IDLE_WORKER_SECONDS = 300


def start_local_ray(num_cpus: int | None = None, **options: Any) -> Any:
    """Start a local Ray for sweeps: on 127.0.0.1, quiet, with warm trial workers.

    Ray starts one idle worker per CPU as it comes up; with ``ricci_ray.worker`` preloaded
    those workers import torch, Ray Tune and the trial code, load the geometry kernels and
    train once while the driver is still preparing, so the first trial on each slot starts
    at once instead of after 3-5 s of start-up. ``options`` go to ``ray.init``.
    """
    _ray_environment(local=True)
    import ray

    system_config = {
        "preload_python_modules": WORKER_PRELOAD_MODULES,
        "idle_worker_killing_time_threshold_ms": IDLE_WORKER_SECONDS * 1000,
        **options.pop("_system_config", {}),
    }
    options.setdefault("include_dashboard", False)
    return ray.init(num_cpus=num_cpus, _system_config=system_config, **options)


@contextlib.contextmanager
def _trial_actors_without_runtime_env():
    """Let Tune's trial actors run in the workers Ray started ahead of time.

    Tune gives every trial actor a runtime environment that sets ``PL_DISABLE_FORK`` (a
    PyTorch Lightning switch that ricci-ray's trials never read). Any runtime environment
    makes Ray start a fresh worker process for the actor, through its runtime-environment
    agent, instead of taking an idle worker it already has: the preloaded workers of
    :func:`start_local_ray` (or of a cluster started with ``RAY_preload_python_modules``)
    would go unused. Environment variables Tune propagates from the driver (AWS
    credentials, Ray Train settings) are left alone. Ray is pinned, and this is checked by
    the test suite; should Tune's defaults move, trials only start more slowly.
    """
    from ray.tune.execution import class_cache

    defaults = getattr(class_cache, "DEFAULT_ENV_VARS", None)
    saved = dict(defaults) if isinstance(defaults, dict) else None
    if saved is not None:
        defaults.pop("PL_DISABLE_FORK", None)
    try:
        yield
    finally:
        if saved is not None:
            defaults.clear()
            defaults.update(saved)


@contextlib.contextmanager
def _no_callback_usage_census():
    """Skip Tune's usage tag for callbacks while Ray's usage stats are off.

    To count the kinds of callbacks a run uses, Tune imports its MLflow, W&B and Comet
    integrations, and with them MLflow itself: most of a second of the driver's set-up
    before the first trial starts. With usage stats disabled (as ricci-ray's local Ray
    runs) the tag is never recorded, so skipping it changes nothing else; with them
    enabled it is left alone.
    """
    try:
        from ray._common.usage import usage_lib
        from ray.air._internal import usage
    except ImportError:  # another Ray layout: Tune keeps its census
        yield
        return
    if usage_lib.usage_stats_enabled() or not hasattr(usage, "tag_callbacks"):
        yield
        return
    original = usage.tag_callbacks
    usage.tag_callbacks = lambda callbacks: False
    try:
        yield
    finally:
        usage.tag_callbacks = original


def trainable(config: dict[str, Any]) -> None:
    """The Tune function: run one trial and report its metrics and its whole record."""
    import ray
    import torch
    from ray import tune

    # A crash in native code (torch, numba) then leaves a Python stack in the worker's log.
    faulthandler.enable()
    trial_config = TrialConfig.from_dict(config["trial"])
    torch.set_num_threads(max(1, int(trial_config.cpus)))
    node_id = ray.get_runtime_context().get_node_id()
    # Geometry measured during training (geometry_every) goes out as intermediate results.
    result = run_trial(trial_config, node_id=node_id, report=tune.report)
    tune.report({**result.metrics(), RECORD_KEY: json.dumps(result.to_dict())})


class SinkCallback:
    """Lands every finished trial in Parquet, then MLflow, from the driver process.

    It also keeps the live view: one line per finished trial, headed by the counts of
    trials done, running and failed, the median and most negative ρ_k so far, and an ETA.
    """

    def __init__(
        self,
        sweep: str,
        store: ParquetStore,
        mlflow_writer: MlflowWriter | None,
        n_total: int,
        estimates: dict[str, float] | None = None,
    ) -> None:
        self.sweep = sweep
        self.store = store
        self.mlflow_writer = mlflow_writer
        self.n_total = n_total
        # Estimated seconds per trial id: the ETA weighs finished work by them, since the
        # longest trials run first.
        self.estimates = estimates or {}
        self._estimate_left = sum(self.estimates.values())
        self._estimate_done = 0.0
        self.n_finished = 0
        self.n_failed = 0
        self.running: set[str] = set()
        self._coefs: list[float] = []  # every defined ρ_k so far, for the median
        self._best: tuple[float, int] | None = None
        self.started = time.monotonic()

    def trial_started(self, tune_trial_id: str) -> None:
        self.running.add(tune_trial_id)
        if self.mlflow_writer is not None:
            self.mlflow_writer.begin()  # Tune's set-up is done: MLflow's may start

    def trial_ended(self, tune_trial_id: str) -> None:
        self.running.discard(tune_trial_id)

    def handle_result(self, result: TrialResult) -> None:
        estimate = self.estimates.get(result.trial_id, 0.0)
        self._estimate_done += estimate
        self._estimate_left -= estimate
        rows = self.store.write(self.sweep, result)
        if self.mlflow_writer is not None:
            self.mlflow_writer.submit(rows)
        if result.error:
            self.n_failed += 1
            logger.warning(
                "%s trial %s failed: %s (config %s)",
                self.progress(),
                result.trial_id,
                result.error,
                result.config,
            )
            return
        self.n_finished += 1
        for scale in result.scales:
            if scale.ricci_coef is not None:
                self._coefs.append(scale.ricci_coef)
                if self._best is None or scale.ricci_coef < self._best[0]:
                    self._best = (scale.ricci_coef, scale.k)
        logger.info("%s %s", self.progress(), _describe(result))

    def progress(self) -> str:
        done = self.n_finished + self.n_failed
        elapsed = time.monotonic() - self.started
        if self._estimate_done > 0:
            left = elapsed / self._estimate_done * max(0.0, self._estimate_left)
        else:
            left = elapsed / done * (self.n_total - done) if done else None
        eta = "?" if left is None else f"{left:.0f}s"
        coefs = "ρ —"
        if self._best is not None:
            median = statistics.median(self._coefs)
            coefs = f"ρ median {median:+.2f}, best {self._best[0]:+.2f}@k{self._best[1]}"
        return (
            f"[{done}/{self.n_total} done · {len(self.running)} running · "
            f"{self.n_failed} failed · {coefs} · eta {eta}]"
        )


def _describe(result: TrialResult) -> str:
    config = result.config
    shown = result.scales[:4]
    coefs = " ".join(
        f"k{s.k}={'—' if s.ricci_coef is None else f'{s.ricci_coef:+.3f}'}" for s in shown
    )
    if len(result.scales) > len(shown):
        coefs += f" (+{len(result.scales) - len(shown)} more k)"
    accuracy = "—" if result.accuracy_test is None else f"{result.accuracy_test:.4f}"
    return (
        f"{config['dataset']} {config['width']} depth {config['depth']} seed {config['seed']}: "
        f"accuracy {accuracy}, ricci_coef {coefs}"
    )


def _check_fits(spec: SweepSpec, *, local: bool) -> None:
    """A trial that asks for more than the cluster has would wait forever: say so now.

    On a local Ray that is an error; a cluster may autoscale, so there it is a warning.
    """
    import ray

    available = ray.cluster_resources()
    for field, key in (("cpus_per_trial", "CPU"), ("gpus_per_trial", "GPU")):
        wanted = getattr(spec.resources, field)
        have = available.get(key, 0.0)
        if wanted <= have:
            continue
        message = (
            f"resources.{field}: allowed: at most the {have:g} {key}s of this Ray "
            f"cluster; given: {wanted:g}"
        )
        if local:
            raise ConfigError(message)
        logger.warning("%s (trials wait until the cluster grows)", message)


@contextlib.contextmanager
def _pending_trials_limit(max_concurrent: int | None, cluster: dict[str, float]):
    """Let Tune queue enough trials to fill the cluster while a sweep runs.

    Tune queues one trial at a time for a custom searcher unless the sweep caps its
    concurrent trials, so a large cluster would fill one trial at a time. Without a cap
    this allows what Tune allows for a grid search: 200 trials, or 1.1 per cluster CPU
    if that is more (queued trials are also what an autoscaler sees as demand).
    ``TUNE_MAX_PENDING_TRIALS_PG`` set by the user wins.
    """
    name = "TUNE_MAX_PENDING_TRIALS_PG"
    if name in os.environ:
        yield
        return
    limit = max_concurrent or max(200, int(1.1 * cluster.get("CPU", 1.0)))
    os.environ[name] = str(limit)
    try:
        yield
    finally:
        del os.environ[name]


def _no_result_files_warning(record: logging.LogRecord) -> bool:
    """Drop Tune's complaint that its own result files are missing: ricci-ray switches
    them off (Parquet and MLflow hold the results), and never reads Tune's result grid."""
    return "Failed to fetch metrics" not in record.getMessage()


def _trial_name(trial) -> str:
    return TrialConfig.from_dict(trial.config["trial"]).trial_id


def preflight(spec: SweepSpec, data_dir: str | None) -> None:
    """Load every data set once on the driver so that missing files fail before trials.

    (The geometry kernels are compiled, or loaded from numba's cache, in the trial workers:
    a local Ray's workers do it as they start, see :mod:`ricci_ray.worker`.)
    """
    from ricci_ray.data import load_dataset, resolve_dataset

    for i, name in enumerate(spec.datasets):
        if resolve_dataset(name).needs_data_dir and data_dir is None:
            raise ConfigError(
                f"field 'datasets[{i}]': allowed: '{name}' only with --data-dir or "
                f"$RICCI_RAY_DATA_DIR ({resolve_dataset(name).source}); given: no data folder"
            )
        load_dataset(name, data_seed=spec.data_seed, data_dir=data_dir)


# Seconds per unit of work on one core, fitted to benchmarks/training.py and
# benchmarks/geometry.py; only the ratios between trials matter.
SECONDS_PER_STEP_LAYER = 7e-5  # an optimiser step's fixed cost, per layer
SECONDS_PER_ROW_WEIGHT = 1e-9  # forward and backward arithmetic, per row and weight
SECONDS_PER_PAIR_LAYER_K = 1e-8  # geometry, per pair of test points, layer and k


def estimated_seconds(config: TrialConfig) -> float:
    """A rough estimate of a trial's seconds on one core, from its size alone.

    Training costs a fixed amount per optimiser step and layer plus arithmetic per
    training row and weight; each geometry measurement (trained, untrained control, every
    ``geometry_every`` epochs) grows with the squared number of test points, the layers
    and the k values. Good to a factor of about two: enough to start long trials first.
    """
    from ricci_ray.architectures import hidden_widths
    from ricci_ray.data import resolve_dataset

    info = resolve_dataset(config.dataset)
    layers = [info.dim, *hidden_widths(config.width, config.depth), 1]
    weights = sum(a * b for a, b in zip(layers, layers[1:], strict=False))
    recipe = config.recipe
    if recipe["name"] == "paper":
        rows = info.n_train * (1 - recipe["validation_split"])
        epochs = recipe["epochs"]
        steps = math.ceil(rows / recipe["batch_size"]) * epochs
    else:  # full batch, one step per epoch, at most max_epochs of them
        rows, epochs = info.n_train, recipe["max_epochs"]
        steps = epochs
    training = (
        steps * len(layers) * SECONDS_PER_STEP_LAYER
        + rows * epochs * weights * SECONDS_PER_ROW_WEIGHT
    )
    measurements = 1 + int(config.control)
    if config.geometry_every:
        measurements += epochs // config.geometry_every
    geometry = (
        measurements
        * info.n_test**2
        * (config.depth + 1)
        * len(config.ks)
        * SECONDS_PER_PAIR_LAYER_K
    )
    return training + geometry


def _catch_up_mlflow(out_dir: Path, tracking_uri: str, sweep: str, running: set[str]) -> None:
    """Log trials that reached Parquet but not MLflow in an earlier run of this sweep (the
    trials this run is about to run, ``running``, are logged as they land)."""
    bound_http_retries()
    try:
        synced = sync_from_parquet(out_dir, tracking_uri, [sweep], skip=running)
    except Exception as error:  # the tracking server may be down: the sweep goes on
        logger.warning("MLflow at %s not reachable before the sweep (%s)", tracking_uri, error)
        return
    if synced.get(sweep):
        logger.info("logged %d earlier trials to MLflow", synced[sweep])


def run_sweep(
    spec: SweepSpec,
    out_dir: str | Path,
    *,
    data_dir: str | Path | None = None,
    tracking_uri: str | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
    tune_dir: str | Path | None = None,
) -> SweepSummary:
    """Run every trial of ``spec`` that has not landed in ``out_dir`` yet.

    ``out_dir`` is a local folder or an object-store URI (``s3://bucket/prefix``) for the
    Parquet data set. With a URI, ``tracking_uri`` is required (the embedded SQLite store
    is a local file) and Tune's own state goes to ``tune_dir`` (default ``./ray_results``);
    with a folder, both default to places inside it.
    """
    if num_cpus is not None and num_cpus < 1:
        raise ConfigError(f"--num-cpus: allowed: an integer >= 1; given: {num_cpus}")
    if is_uri(out_dir):
        if tracking_uri is None:
            raise ConfigError(
                f"--tracking-uri: allowed: an MLflow tracking URI when --out is an object "
                f"store; given: none (with --out {out_dir})"
            )
        tune_dir = Path(tune_dir or "ray_results").resolve()
    else:
        out_dir = Path(out_dir).resolve()
        tune_dir = Path(tune_dir).resolve() if tune_dir else out_dir / "tune"
    data_dir = None if data_dir is None else str(Path(data_dir).resolve())
    started = time.monotonic()

    check_reachable(address or os.environ.get("RAY_ADDRESS"))
    preflight(spec, data_dir)  # before the output folder exists: a bad sweep leaves none
    store = ParquetStore(out_dir)
    store.check_writable()
    configs = spec.trial_configs(data_dir=data_dir)
    done = store.finished_trial_ids(spec.name)
    # Longest first: a sweep then ends with short trials on every slot instead of waiting on
    # one long trial (sorted() is stable: equal estimates keep the sweep file's order).
    estimates = {
        config.trial_id: estimated_seconds(config)
        for config in configs
        if config.trial_id not in done
    }
    pending = sorted(
        (config for config in configs if config.trial_id in estimates),
        key=lambda config: estimates[config.trial_id],
        reverse=True,
    )
    if done:
        logger.info(
            "%d of %d trials already in %s; running the other %d",
            len(configs) - len(pending),
            len(configs),
            out_dir,
            len(pending),
        )

    tracking_uri = tracking_uri or default_tracking_uri(out_dir)
    location = artifact_location_for(out_dir, tracking_uri)
    writer = MlflowWriter(
        lambda: MlflowSink(tracking_uri, spec.name, artifact_location=location),
        first=lambda: _catch_up_mlflow(out_dir, tracking_uri, spec.name, set(estimates)),
        wait_for_start=True,
    )
    sink = SinkCallback(
        spec.name,
        store,
        writer,
        n_total=len(pending),
        estimates=estimates,
    )
    try:
        if pending:
            _run_tune(spec, pending, tune_dir, sink, address=address, num_cpus=num_cpus)
    finally:
        n_unlogged = writer.close(timeout_s=MLFLOW_DRAIN_SECONDS)
    if n_unlogged:
        logger.warning(
            "%d trials are in Parquet but not in MLflow (%s); run "
            "'ricci-ray mlflow-sync %s --tracking-uri %s' when the server is back",
            n_unlogged,
            writer.last_error,
            out_dir,
            tracking_uri,
        )

    return SweepSummary(
        sweep=spec.name,
        out_dir=out_dir,
        n_trials=len(configs),
        n_skipped=len(configs) - len(pending),
        n_finished=sink.n_finished,
        n_failed=sink.n_failed,
        n_unlogged=n_unlogged,
        seconds=time.monotonic() - started,
    )


def _fit(
    spec: SweepSpec, part: list[TrialConfig], name: str, tune_dir: Path, sink: SinkCallback
) -> None:
    """One Tune run over ``part`` of the sweep's pending trials."""
    import ray
    from ray import tune

    from ricci_ray.tune_callback import PendingTrials, TuneCallback

    resources = {"cpu": spec.resources.cpus_per_trial}
    if spec.resources.gpus_per_trial:
        resources["gpu"] = spec.resources.gpus_per_trial
    tuner = tune.Tuner(
        tune.with_resources(trainable, resources),
        tune_config=tune.TuneConfig(
            search_alg=PendingTrials([config.to_dict() for config in part]),
            num_samples=len(part),
            max_concurrent_trials=spec.max_concurrent_trials,
            reuse_actors=True,
            trial_name_creator=_trial_name,
            trial_dirname_creator=_trial_name,
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=str(tune_dir),
            callbacks=[TuneCallback(sink)],
            failure_config=tune.FailureConfig(max_failures=spec.max_retries),
            verbose=0,
        ),
    )
    experiment_log = logging.getLogger("ray.tune.analysis.experiment_analysis")
    experiment_log.addFilter(_no_result_files_warning)
    try:
        with (
            _pending_trials_limit(spec.max_concurrent_trials, ray.cluster_resources()),
            _trial_actors_without_runtime_env(),
            _no_callback_usage_census(),
        ):
            tuner.fit()
    finally:
        experiment_log.removeFilter(_no_result_files_warning)


def check_reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """Fail at once, naming the address, when a Ray head given as ``[ray://]host:port`` does
    not accept connections (``ray.init`` would retry it for minutes). Other forms (``auto``,
    ``local``, none) are left to Ray."""
    if not address or address in ("auto", "local"):
        return
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or "/" in target:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise ConfigError(
            f"--address: allowed: the host:port of a running Ray cluster's head, reachable "
            f"from here; given: {address} ({error.strerror or error})"
        ) from None


def _run_tune(
    spec: SweepSpec,
    pending: list[TrialConfig],
    tune_dir: Path,
    sink: SinkCallback,
    *,
    address: str | None,
    num_cpus: int | None,
) -> None:
    # Under 'ray job submit' (or with RAY_ADDRESS set) ray.init joins that cluster.
    local = address is None and not os.environ.get("RAY_ADDRESS")
    _ray_environment(local=local)
    import ray

    started_ray = False
    if not ray.is_initialized():
        if local:
            start_local_ray(num_cpus, log_to_driver=True)
        else:
            ray.init(address=address)
        started_ray = True
    try:
        _check_fits(spec, local=local)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        parts = [
            pending[start : start + TRIALS_PER_TUNE_RUN]
            for start in range(0, len(pending), TRIALS_PER_TUNE_RUN)
        ]
        for number, part in enumerate(parts, start=1):
            name = f"{spec.name}-{stamp}" + (f"-part{number}" if len(parts) > 1 else "")
            landed = sink.n_finished + sink.n_failed
            _fit(spec, part, name, tune_dir, sink)
            if sink.n_finished + sink.n_failed - landed < len(part):
                break  # interrupted (Ctrl-C): the summary counts what did not run
    finally:
        if started_ray:
            ray.shutdown()
