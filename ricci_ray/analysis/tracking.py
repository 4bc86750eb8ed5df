"""Attach a report folder to a sweep's MLflow experiment as a run named "summary"."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

logger = logging.getLogger(__name__)

TAG_SUMMARY = "ricci_ray.summary"
SUMMARY_RUN_NAME = "summary"


def _sqlite_folder(tracking_uri: str) -> Path | None:
    """The folder holding the database of a ``sqlite:///`` tracking URI, else None."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return Path(tracking_uri.removeprefix("sqlite:///")).parent


def _warn_if_outside(artifact_location: str, folder: Path | None) -> None:
    """Warn when an existing experiment keeps its artifacts away from its SQLite store."""
    if folder is None:
        return
    path = Path(artifact_location.removeprefix("file://"))
    if "://" in artifact_location.removeprefix("file://") or path.is_relative_to(folder.resolve()):
        return
    logger.warning(
        "the summary artifacts go to %s, outside %s: the experiment was created with that "
        "artifact location (MLflow's default ./mlruns under the directory it ran in)",
        path,
        folder,
    )


def log_report_to_mlflow(report_dir: str | Path, tracking_uri: str, experiment: str) -> str:
    """Log every file of ``report_dir`` as artifacts of the experiment's summary run.

    The run is named "summary" and tagged ``ricci_ray.summary=true``; a later call finds
    it by that tag and logs into it again (files of the same name are replaced, files no
    longer in the report stay). The numbers of the report's ``summary.json`` are logged
    as metrics. Returns the run id.

    Where artifacts land: an experiment this function creates on a ``sqlite:///`` store
    gets the artifact location ``<database folder>/mlartifacts``, next to the database
    (the store's own default is ``./mlruns`` under the current directory). An existing
    experiment, e.g. one a sweep created, keeps the location it was created with; it is
    logged at INFO, with a WARNING when it lies outside the database's folder.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    report_dir = Path(report_dir)
    if not report_dir.is_dir():
        from ricci_ray.errors import ConfigError

        raise ConfigError(f"report_dir: allowed: an existing folder; given: {str(report_dir)!r}")
    client = MlflowClient(tracking_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    folder = _sqlite_folder(tracking_uri)
    if found is not None:
        experiment_id = found.experiment_id
        _warn_if_outside(found.artifact_location, folder)
    else:
        location = None if folder is None else (folder.resolve() / "mlartifacts").as_uri()
        experiment_id = client.create_experiment(experiment, artifact_location=location)

    runs = client.search_runs(
        [experiment_id], filter_string=f"tags.`{TAG_SUMMARY}` = 'true'", max_results=1
    )
    if runs:
        run_id = runs[0].info.run_id
    else:
        run = client.create_run(
            experiment_id, run_name=SUMMARY_RUN_NAME, tags={TAG_SUMMARY: "true"}
        )
        run_id = run.info.run_id

    client.log_artifacts(run_id, str(report_dir))
    summary_file = report_dir / "summary.json"
    if summary_file.is_file():
        now = int(time.time() * 1000)
        numbers = json.loads(summary_file.read_text())
        metrics = [
            Metric(f"summary/{key}", float(value), now, 0)
            for key, value in numbers.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        ]
        client.log_batch(run_id, metrics=metrics)
    client.set_terminated(run_id, status="FINISHED")
    artifact_uri = client.get_run(run_id).info.artifact_uri
    logger.info("report logged to MLflow run %s; artifacts at %s", run_id, artifact_uri)
    return run_id
