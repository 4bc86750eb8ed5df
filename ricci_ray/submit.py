"""Submit a sweep to a running Ray cluster through its job API (the dashboard, port 8265).

The sweep file is validated here, before anything is sent, and then shipped with the job:
it is the only file of the job's ``runtime_env`` working directory, so any local sweep
file runs on a cluster whose image has ricci-ray installed (``k8s/``), no rebuild
needed. The job runs ``ricci-ray sweep <file> --out OUT ...`` on the cluster, where
``OUT`` must be an absolute path on storage every Ray node shares (the working directory
of a job is a temporary folder). Resubmitting with the same ``OUT`` resumes the sweep.

A cluster with token auth (every KubeRay cluster of ``k8s/``) needs the token in the
submitting process: ``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN`` (or
``RAY_AUTH_TOKEN_PATH``) in the environment.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import shutil
import tempfile
import time
from pathlib import Path, PurePosixPath

from ricci_ray.errors import ConfigError, RicciRayError

logger = logging.getLogger(__name__)

# The shared volume of k8s/: the default home of a submitted sweep's output.
CLUSTER_RUNS_DIR = "/data/runs"

_TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
_POLL_SECONDS = 2.0
_N_LOG_LINES = 20


def submit_sweep(
    sweep_file: str | Path,
    address: str,
    *,
    out: str | PurePosixPath,
    data_dir: str | PurePosixPath | None = None,
    tracking_uri: str | None = None,
    wait: bool = False,
) -> str:
    """Submit ``ricci-ray sweep`` for ``sweep_file`` to the Ray job API at ``address``.

    Args:
        sweep_file: a local sweep YAML file; validated here, then shipped with the job.
        address: the job API, e.g. ``http://127.0.0.1:8265``.
        out: the output folder on the cluster: an absolute path on shared storage.
        data_dir: the image data folder on the cluster (absolute), for image data sets.
        tracking_uri: the MLflow tracking URI as seen from the cluster.
        wait: wait until the job ends; raise :class:`RicciRayError` unless it succeeded.

    Returns:
        The job's submission id (``ray job status/logs/stop`` take it).
    """
    from ricci_ray.spec import load_sweep

    sweep_file = Path(sweep_file)
    spec = load_sweep(sweep_file)
    out = _cluster_path("--out", out)
    data_dir = None if data_dir is None else _cluster_path("--data-dir", data_dir)
    _check_data_dir(spec.datasets, data_dir)

    argv = ["ricci-ray", "sweep", sweep_file.name, "--out", str(out)]
    if data_dir is not None:
        argv += ["--data-dir", str(data_dir)]
    if tracking_uri is not None:
        argv += ["--tracking-uri", tracking_uri]
    entrypoint = shlex.join(argv)

    client = _connect(address)
    with tempfile.TemporaryDirectory(prefix="ricci-ray-submit-") as working_dir:
        shutil.copyfile(sweep_file, Path(working_dir) / sweep_file.name)
        job_id = _call(
            address,
            client.submit_job,
            entrypoint=entrypoint,
            runtime_env={"working_dir": working_dir},
            metadata={"ricci_ray.sweep": spec.name},
        )
    logger.info("submitted sweep '%s' as job %s: %s", spec.name, job_id, entrypoint)

    if wait:
        status = _wait(client, address, job_id)
        if status != "SUCCEEDED":
            info = _call(address, client.get_job_info, job_id)
            logs = _call(address, client.get_job_logs, job_id).splitlines()[-_N_LOG_LINES:]
            logger.warning("last lines of job %s's log:\n%s", job_id, "\n".join(logs))
            # Ray's message embeds the log; its first line and the sweep's own error suffice.
            reason = (info.message or "no message").strip().splitlines()[0].rstrip(":,")
            cause = next(
                (line for line in reversed(logs) if "ricci-ray sweep: error:" in line), ""
            )
            raise RicciRayError(
                f"job {job_id} ended {status}: {reason}{'; ' + cause if cause else ''} "
                f"(whole log: ray job logs --address {address} {job_id})"
            )
    return job_id


def _cluster_path(option: str, path: str | PurePosixPath) -> PurePosixPath:
    cluster_path = PurePosixPath(path)
    if not cluster_path.is_absolute():
        raise ConfigError(
            f"{option}: allowed: an absolute path on storage shared by the cluster's nodes, "
            f"e.g. {CLUSTER_RUNS_DIR}/quick; given: {str(path)!r}"
        )
    return cluster_path


def _check_data_dir(datasets, data_dir: PurePosixPath | None) -> None:
    """Fail here, not on the cluster, when an image data set has no --data-dir."""
    from ricci_ray.data import DATASETS

    for i, name in enumerate(datasets):
        if DATASETS[name].needs_data_dir and data_dir is None:
            raise ConfigError(
                f"datasets[{i}]: allowed: '{name}' only with --data-dir (a folder on the "
                "cluster); given: no --data-dir"
            )


def _connect(address: str):
    from ray.job_submission import JobSubmissionClient

    if not address.startswith(("http://", "https://")):
        raise ConfigError(
            "--address: allowed: the Ray job API as http://HOST:8265 (the dashboard port); "
            f"given: {address!r}"
        )
    return _call(address, JobSubmissionClient, address)


def _call(address: str, function, *args, **kwargs):
    """Call the job API, turning its connection and auth failures into one-line errors."""
    import requests
    from ray.exceptions import AuthenticationError

    try:
        return function(*args, **kwargs)
    except AuthenticationError as error:
        first_line = str(error).strip().splitlines()[0]
        raise RicciRayError(
            f"--address {address}: the Ray cluster refused the request ({first_line}); "
            "set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN to the cluster's token"
        ) from None
    except (ConnectionError, requests.exceptions.ConnectionError) as error:
        raise RicciRayError(
            f"--address {address}: cannot reach the Ray job API ({error}); is the cluster "
            "up and the dashboard port (8265) forwarded?"
        ) from None
    except (RuntimeError, requests.exceptions.RequestException) as error:
        # The SDK raises RuntimeError for any HTTP error status of the job API.
        raise RicciRayError(f"--address {address}: the Ray job API failed: {error}") from None


def _wait(client, address: str, job_id: str) -> str:
    last = None
    while True:
        status = str(_call(address, client.get_job_status, job_id).value)
        if status != last:
            logger.info("job %s: %s", job_id, status)
            last = status
        if status in _TERMINAL:
            return status
        time.sleep(_POLL_SECONDS)


def add_submit_command(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``ricci-ray submit`` to the CLI's subcommands; returns its parser."""
    submit = commands.add_parser(
        "submit",
        help="submit a sweep file to a Ray cluster's job API",
        description=(
            "Validate a sweep file and submit `ricci-ray sweep` for it as a Ray job. The "
            "file travels with the job; --out and --data-dir are paths on the cluster. "
            "With token auth, set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN."
        ),
    )
    submit.add_argument("sweep_file", metavar="SWEEP.yaml", type=Path)
    submit.add_argument(
        "--address",
        required=True,
        help="the Ray job API, e.g. http://127.0.0.1:8265 through kubectl port-forward",
    )
    submit.add_argument(
        "--out",
        default=None,
        help=(
            "output folder on the cluster's shared storage, absolute "
            f"(default: {CLUSTER_RUNS_DIR}/<sweep name>, the shared volume of k8s/)"
        ),
    )
    submit.add_argument(
        "--data-dir", default=None, help="image data folder on the cluster, absolute"
    )
    submit.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI seen from the cluster, e.g. http://mlflow:5000",
    )
    submit.add_argument(
        "--wait", action="store_true", help="wait for the job to end; exit 1 unless it succeeded"
    )
    submit.set_defaults(handler=_cmd_submit)
    return submit


def _cmd_submit(args: argparse.Namespace) -> int:
    from ricci_ray.spec import load_sweep

    out = args.out or f"{CLUSTER_RUNS_DIR}/{load_sweep(args.sweep_file).name}"
    job_id = submit_sweep(
        args.sweep_file,
        args.address,
        out=out,
        data_dir=args.data_dir,
        tracking_uri=args.tracking_uri,
        wait=args.wait,
    )
    if args.wait:
        print(f"job {job_id} succeeded; results in {out} on the cluster")
    else:
        print(f"submitted job {job_id}; results will land in {out} on the cluster")
        print(f"follow it:  ray job logs --address {args.address} --follow {job_id}")
    return 0
