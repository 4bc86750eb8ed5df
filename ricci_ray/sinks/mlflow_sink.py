"""MLflow as a browsable view of the results: one experiment per sweep, one run per trial.

Runs are keyed by the trial id (tag ``ricci_ray.trial_id``): logging a trial that already
has a FINISHED run does nothing, and a trial whose earlier run failed reuses that run, so
MLflow never holds a trial twice. Per-layer curvature and geodesic sums are logged as
step-indexed series (step = layer, the input layer is step 0).

All logging happens in the driver process (one writer). A failure to log is reported and
returned to the caller; it never stops a sweep, since Parquet already holds the result.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ricci_ray import __version__
from ricci_ray.trial import STATUS_FAILED, TrialResult

logger = logging.getLogger(__name__)

TAG_TRIAL_ID = "ricci_ray.trial_id"
TAG_SWEEP = "ricci_ray.sweep"
TAG_VERSION = "ricci_ray.code_version"
_BATCH = 1000  # MLflow's limit on metrics per log_batch call


def default_tracking_uri(out_dir: str | Path) -> str:
    """The embedded store: a SQLite file inside the sweep's output folder."""
    return f"sqlite:///{Path(out_dir).resolve() / 'mlflow.db'}"


def flatten_params(config: dict[str, Any]) -> dict[str, str]:
    """The trial config as MLflow params (nested keys joined with '.')."""
    params: dict[str, str] = {}
    for key, value in config.items():
        if key in ("data_dir", "cpus", "sweep"):
            continue
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                params[f"{key}.{inner}"] = str(inner_value)
        elif isinstance(value, list | tuple):
            params[key] = ",".join(str(v) for v in value)
        else:
            params[key] = str(value)
    return params


class MlflowSink:
    """Logs finished trials of one sweep to an MLflow tracking store."""

    def __init__(self, tracking_uri: str, experiment: str) -> None:
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        from mlflow.tracking import MlflowClient

        self.tracking_uri = tracking_uri
        self.client = MlflowClient(tracking_uri=tracking_uri)
        found = self.client.get_experiment_by_name(experiment)
        if found is None:
            self.experiment_id = self.client.create_experiment(experiment)
        else:
            self.experiment_id = found.experiment_id
        self._runs = self._existing_runs()

    def _existing_runs(self) -> dict[str, tuple[str, str]]:
        """trial id -> (run id, status) for the runs already in the experiment."""
        runs: dict[str, tuple[str, str]] = {}
        token = None
        while True:
            page = self.client.search_runs(
                [self.experiment_id], max_results=1000, page_token=token
            )
            for run in page:
                trial_id = run.data.tags.get(TAG_TRIAL_ID)
                if trial_id and runs.get(trial_id, ("", ""))[1] != "FINISHED":
                    runs[trial_id] = (run.info.run_id, run.info.status)
            token = page.token
            if not token:
                return runs

    def is_logged(self, trial_id: str) -> bool:
        return self._runs.get(trial_id, ("", ""))[1] == "FINISHED"

    def log(self, sweep: str, result: TrialResult) -> str:
        """Log one trial; return its run id. Idempotent per trial id."""
        from mlflow.entities import Metric, Param

        if self.is_logged(result.trial_id):
            return self._runs[result.trial_id][0]
        run_id = self._runs.get(result.trial_id, (None, ""))[0]
        if run_id is None:
            run = self.client.create_run(
                self.experiment_id,
                run_name=result.trial_id,
                tags={TAG_TRIAL_ID: result.trial_id, TAG_SWEEP: sweep, TAG_VERSION: __version__},
            )
            run_id = run.info.run_id
            self._runs[result.trial_id] = (run_id, "RUNNING")

        now = int(time.time() * 1000)
        metrics = [Metric(key, value, now, step) for key, value, step in _metric_points(result)]
        params = [Param(key, value) for key, value in flatten_params(result.config).items()]
        if result.node_id:
            params.append(Param("node_id", result.node_id))
        for start in range(0, max(len(metrics), 1), _BATCH):
            self.client.log_batch(
                run_id,
                metrics=metrics[start : start + _BATCH],
                params=params if start == 0 else (),
            )
        if result.error:
            self.client.set_tag(run_id, "ricci_ray.error", result.error[:5000])
        status = "FAILED" if result.status == STATUS_FAILED else "FINISHED"
        self.client.set_terminated(run_id, status=status)
        self._runs[result.trial_id] = (run_id, status)
        return run_id


def _metric_points(result: TrialResult) -> Iterator[tuple[str, float, int]]:
    """(key, value, step) for every number MLflow should show; NaN for undefined values."""
    for key, value in result.metrics().items():
        yield key, value, 0
    yield "seconds/train", result.seconds_train, 0
    yield "seconds/geometry", result.seconds_geometry, 0
    for scale in result.scales:
        for layer, value in enumerate(scale.ric):
            yield f"ric/k{scale.k}", value, layer
        for layer, value in enumerate(scale.g):
            yield f"geodesic_sum/k{scale.k}", value, layer
        for layer, value in enumerate(scale.eta or [], start=1):
            yield f"eta/k{scale.k}", value, layer
