"""MLflow as a browsable view of the results: one experiment per sweep, one run per trial.

Runs are keyed by the trial id (tag ``ricci_ray.trial_id``): logging a trial that already
has a FINISHED run does nothing, and a trial whose earlier run failed reuses that run, so
MLflow never holds a trial twice. A run is built from the trial's Parquet rows, so the
same code logs a finished trial live and rebuilds MLflow from Parquet later
(:func:`sync_from_parquet`). Per-layer curvature and geodesic sums are step-indexed
series (step = layer, the input layer is step 0).

During a sweep all logging goes through one :class:`MlflowWriter` thread in the driver:
a slow or unreachable tracking server delays only that thread, never the sweep.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tenacity import Retrying, stop_after_attempt, wait_exponential

from ricci_ray import __version__
from ricci_ray.sinks.parquet import TrialRows

logger = logging.getLogger(__name__)

TAG_TRIAL_ID = "ricci_ray.trial_id"
TAG_SWEEP = "ricci_ray.sweep"
TAG_VERSION = "ricci_ray.code_version"
_BATCH = 1000  # MLflow's limit on metrics per log_batch call

# Results columns that become params (the config) and metrics (the outcome) of a run.
_PARAM_COLUMNS = ("dataset", "width", "depth", "seed", "convention", "data_seed", "node_id")
_METRIC_COLUMNS = {
    "accuracy_test": "accuracy/test",
    "loss_test": "loss/test",
    "accuracy_train": "accuracy/train",
    "loss_train": "loss/train",
    "accuracy_val": "accuracy/val",
    "loss_val": "loss/val",
    "seconds_train": "seconds/train",
    "seconds_geometry": "seconds/geometry",
    "seconds_total": "seconds/total",
    "epochs_trained": "epochs_trained",
}


def default_tracking_uri(out_dir: str | Path) -> str:
    """The embedded store: a SQLite file inside the sweep's output folder."""
    return f"sqlite:///{Path(out_dir).resolve() / 'mlflow.db'}"


def artifact_location_for(out_dir: str | Path, tracking_uri: str) -> str | None:
    """Where a new experiment keeps artifacts: inside the output folder for the embedded
    store (MLflow would otherwise use ./mlruns under the current directory); the server's
    own choice for a tracking server."""
    if "://" not in str(out_dir) and tracking_uri == default_tracking_uri(out_dir):
        return (Path(out_dir).resolve() / "mlartifacts").as_uri()
    return None


def bound_http_retries(max_retries: int = 2, timeout_s: int = 10) -> None:
    """Keep MLflow's own HTTP retries short (its default waits minutes on a dead server).

    Our writer retries whole trials with its own backoff instead. Values already set in
    the environment win.
    """
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(max_retries))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(timeout_s))
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def _store_template_dir() -> Path:
    """Where empty SQLite stores are kept to be copied: ``$RICCI_RAY_CACHE_DIR``, else the
    user's cache folder."""
    if "RICCI_RAY_CACHE_DIR" in os.environ:
        return Path(os.environ["RICCI_RAY_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ricci-ray"


def prepare_sqlite_store(tracking_uri: str) -> None:
    """Create a new SQLite tracking store by copying an empty one, made once per MLflow
    version, instead of letting MLflow build its schema migration by migration.

    MLflow takes about 2 s of CPU to create a store (and the driver shares its cores with
    the first trials); a copy takes milliseconds. The copy is the store MLflow itself
    created, at the same schema revision; only its ``Default`` experiment is pointed at
    ``mlartifacts/0`` next to the new file rather than at the folder the template was made
    in. Does nothing for other URIs or an existing file; any failure here (a read-only
    cache, say) leaves the store to MLflow, as without this step.
    """
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return
    target = Path(tracking_uri[len(prefix) :])
    if target.exists() or not target.parent.is_dir():
        return
    try:
        import sqlite3

        import mlflow
        from mlflow.tracking import MlflowClient

        template = _store_template_dir() / f"mlflow-{mlflow.__version__}-empty.db"
        if not template.is_file():
            template.parent.mkdir(parents=True, exist_ok=True)
            making = template.with_name(f"{template.name}.{os.getpid()}.tmp")
            making.unlink(missing_ok=True)
            MlflowClient(tracking_uri=f"{prefix}{making}").search_experiments()
            os.replace(making, template)
        copy = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(template, copy)
        with contextlib.closing(sqlite3.connect(copy)) as db, db:
            default = target.parent / "mlartifacts" / "0"
            db.execute(
                "UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
                (str(default),),
            )
        try:
            os.link(copy, target)  # never replaces a store another process just made
        except FileExistsError:
            pass
        finally:
            copy.unlink()
    except Exception as error:  # noqa: BLE001  (MLflow creates the store instead)
        logger.debug("no store template for %s: %s", tracking_uri, error)


class MlflowSink:
    """Logs trials of one sweep to an MLflow tracking store, one run per trial id."""

    def __init__(
        self, tracking_uri: str, experiment: str, *, artifact_location: str | None = None
    ) -> None:
        bound_http_retries()
        from mlflow.tracking import MlflowClient

        prepare_sqlite_store(tracking_uri)

        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.client = MlflowClient(tracking_uri=tracking_uri)
        found = self.client.get_experiment_by_name(experiment)
        if found is None:
            self.experiment_id = self.client.create_experiment(
                experiment, artifact_location=artifact_location
            )
        else:
            self.experiment_id = found.experiment_id
        self._runs = self._search_runs()

    def _search_runs(self, trial_id: str | None = None) -> dict[str, tuple[str, str]]:
        """trial id -> (run id, status) of the runs in the experiment (FINISHED preferred)."""
        runs: dict[str, tuple[str, str]] = {}
        query = f"tags.`{TAG_TRIAL_ID}` = '{trial_id}'" if trial_id else ""
        token = None
        while True:
            page = self.client.search_runs(
                [self.experiment_id], filter_string=query, max_results=1000, page_token=token
            )
            for run in page:
                key = run.data.tags.get(TAG_TRIAL_ID)
                if key and runs.get(key, ("", ""))[1] != "FINISHED":
                    runs[key] = (run.info.run_id, run.info.status)
            token = page.token
            if not token:
                return runs

    @property
    def logged_trial_ids(self) -> set[str]:
        return {key for key, (_, status) in self._runs.items() if status == "FINISHED"}

    def is_logged(self, trial_id: str) -> bool:
        return self._runs.get(trial_id, ("", ""))[1] == "FINISHED"

    def log(self, rows: TrialRows) -> str:
        """Log one trial from its Parquet rows; return the run id. Idempotent per trial id."""
        from mlflow.entities import Metric, Param, RunTag

        results = rows.results
        first = results[0]
        trial_id = first["trial_id"]
        if self.is_logged(trial_id):
            return self._runs[trial_id][0]
        if trial_id not in self._runs:
            # A previous attempt may have created the run before its reply was lost.
            self._runs.update(self._search_runs(trial_id))
        if trial_id in self._runs:
            run_id = self._runs[trial_id][0]
            if self.is_logged(trial_id):
                return run_id
        else:
            run = self.client.create_run(
                self.experiment_id,
                run_name=trial_id,
                tags={
                    TAG_TRIAL_ID: trial_id,
                    TAG_SWEEP: self.experiment,
                    TAG_VERSION: str(first.get("code_version") or __version__),
                },
            )
            run_id = run.info.run_id
            self._runs[trial_id] = (run_id, "RUNNING")

        now = int(time.time() * 1000)
        metrics = [Metric(key, value, now, step) for key, value, step in _metric_points(rows)]
        params = [Param(key, value) for key, value in run_params(results).items()]
        failed = first["status"] == "failed"
        tags = [RunTag("ricci_ray.error", str(first["reason"])[:5000])] if failed else []
        for start in range(0, max(len(metrics), 1), _BATCH):
            self.client.log_batch(
                run_id,
                metrics=metrics[start : start + _BATCH],
                params=params if start == 0 else (),
                tags=tags if start == 0 else (),
            )
        status = "FAILED" if failed else "FINISHED"
        self.client.set_terminated(run_id, status=status)
        self._runs[trial_id] = (run_id, status)
        return run_id


def run_params(results: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The trial config as MLflow params, from its results rows."""
    first = results[0]
    params = {key: str(first[key]) for key in _PARAM_COLUMNS if first.get(key) is not None}
    params.update(
        {
            key.replace("recipe_", "recipe."): str(value)
            for key, value in first.items()
            if key.startswith("recipe_")
        }
    )
    params["ks"] = ",".join(str(row["k"]) for row in sorted(results, key=lambda r: r["k"]))
    return params


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _metric_points(rows: TrialRows) -> Iterator[tuple[str, float, int]]:
    """(key, value, step) for every number MLflow shows; NaN stands for undefined.

    Per-layer series use step = layer; the training curve uses step = epoch.
    """
    first = rows.results[0]
    for column, key in _METRIC_COLUMNS.items():
        yield key, _number(first.get(column)), 0
    for row in rows.results:
        yield f"ricci_coef/k{row['k']}", _number(row["ricci_coef"]), 0
        if row.get("reason_init") is not None or row.get("ricci_coef_init") is not None:
            yield f"ricci_coef_init/k{row['k']}", _number(row["ricci_coef_init"]), 0
        for column in ("local_coef_mean", "local_coef_frac_negative"):
            if row.get(column) is not None:
                yield f"{column}/k{row['k']}", float(row[column]), 0
    for row in rows.curves:
        yield f"curve/ricci_coef/k{row['k']}", _number(row["ricci_coef"]), row["epoch"]
    for epoch, row in {row["epoch"]: row for row in rows.curves}.items():
        yield "curve/accuracy/test", _number(row["accuracy_test"]), epoch
    for row in rows.layers:
        k, layer = row["k"], row["layer"]
        yield f"ric/k{k}", _number(row["ric"]), layer
        yield f"geodesic_sum/k{k}", _number(row["g"]), layer
        if row.get("eta") is not None and not _is_nan(row["eta"]):
            yield f"eta/k{k}", float(row["eta"]), layer
        if row.get("layer_coef") is not None and not _is_nan(row["layer_coef"]):
            yield f"layer_coef/k{k}", float(row["layer_coef"]), layer


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


class MlflowWriter:
    """One background thread that logs trials to MLflow with bounded, backed-off retries.

    :meth:`submit` never blocks on the network. ``first`` runs in the thread before any
    trial is logged. With ``wait_for_start`` the thread does nothing, not even import
    MLflow, until :meth:`begin` (or :meth:`close`): a sweep's driver calls it when the
    first trial starts, so that MLflow's import and store set-up (1-2 s of CPU, holding the
    interpreter lock) do not slow Tune's own set-up. A trial whose logging still fails after
    ``attempts`` tries is parked and tried again, first thing, once the next trial
    arrives after ``park_seconds`` and at :meth:`close`; what is left after that stays
    in Parquet and is logged by the next ``ricci-ray sweep`` or ``ricci-ray mlflow-sync``
    on the same folder.
    """

    def __init__(
        self,
        sink_factory,
        *,
        attempts: int = 3,
        max_wait_s: float = 8.0,
        park_seconds: float = 15.0,
        first: Callable[[], None] | None = None,
        wait_for_start: bool = False,
    ) -> None:
        self._sink_factory = sink_factory
        self._go = threading.Event()
        if not wait_for_start:
            self._go.set()
        self._first = first
        self._sink: MlflowSink | None = None
        self._retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=0.5, max=max_wait_s),
            reraise=True,
        )
        self._park_seconds = park_seconds
        self._queue: queue.Queue[TrialRows | None] = queue.Queue()
        self._parked: list[TrialRows] = []
        self._parked_at = 0.0
        self.n_logged = 0
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="ricci-ray-mlflow", daemon=True)
        self._thread.start()

    def begin(self) -> None:
        """Let the thread start its work (see ``wait_for_start``); later calls do nothing."""
        self._go.set()

    def submit(self, rows: TrialRows) -> None:
        self._queue.put(rows)

    @property
    def n_pending(self) -> int:
        return self._queue.qsize() + len(self._parked)

    def _log(self, item: TrialRows) -> bool:
        try:
            for attempt in self._retrying:
                with attempt:
                    if self._sink is None:
                        self._sink = self._sink_factory()
                    self._sink.log(item)
        except Exception as error:  # any client or server error: park it, keep going
            self.last_error = f"{type(error).__name__}: {error}"
            trial_id = item.results[0]["trial_id"]
            logger.warning(
                "MLflow: trial %s not logged yet (%s); it stays in Parquet",
                trial_id,
                self.last_error,
            )
            return False
        self.n_logged += 1
        return True

    def _retry_parked(self) -> None:
        parked, self._parked = self._parked, []
        for index, item in enumerate(parked):
            if not self._log(item):
                self._parked.extend(parked[index:])
                self._parked_at = time.monotonic()
                return

    def _run(self) -> None:
        self._go.wait()
        if self._first is not None:
            self._first()  # e.g. catching up on an earlier run, while trials already train
        while True:
            item = self._queue.get()
            if item is None:
                self._retry_parked()
                return
            if self._parked and time.monotonic() - self._parked_at > self._park_seconds:
                self._retry_parked()
            if self._parked:
                self._parked.append(item)  # behind the trials already waiting, in order
            elif not self._log(item):
                self._parked.append(item)
                self._parked_at = time.monotonic()

    def close(self, timeout_s: float | None = None) -> int:
        """Finish logging (one last try for parked trials); return how many are left."""
        self._go.set()
        self._queue.put(None)
        self._thread.join(timeout_s)
        return self.n_pending


def sync_from_parquet(
    out_dir: str | Path,
    tracking_uri: str,
    sweeps: Iterable[str] | None = None,
    *,
    skip: Iterable[str] = (),
) -> dict[str, int]:
    """Log to MLflow every trial in the Parquet data set that it does not hold yet.

    Trial ids in ``skip`` are left out (a running sweep logs its own trials as they land).
    Returns, per sweep, how many runs were logged. Safe to run again: runs are keyed by
    trial id, so nothing is logged twice.
    """
    from ricci_ray.sinks.parquet import ParquetStore

    store = ParquetStore(out_dir)
    logged: dict[str, int] = {}
    location = artifact_location_for(out_dir, tracking_uri)
    for sweep in sweeps or store.sweeps():
        sink = MlflowSink(tracking_uri, sweep, artifact_location=location)
        done = sink.logged_trial_ids | set(skip)
        count = 0
        for rows in store.trial_rows(sweep, exclude=done):
            sink.log(rows)
            count += 1
        logged[sweep] = count
    return logged
