"""`ricci-ray submit`: a sweep through a real Ray job API (dashboard on loopback, token auth)."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ricci_ray.errors import ConfigError, RicciRayError
from ricci_ray.submit import CLUSTER_RUNS_DIR, add_submit_command, submit_sweep

TINY = {
    "name": "tiny-submit",
    "datasets": ["baptista-a"],
    "widths": ["narrow"],
    "depths": [5],
    "seeds": [0],
    "k": [10],
    "recipe": {"name": "paper", "epochs": 2},
}


def _free_ports(n_ports: int) -> list[int]:
    """Distinct free TCP ports on loopback (held together, so they differ)."""
    probes = [socket.socket() for _ in range(n_ports)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def _reload_token() -> None:
    """Ray caches the token per process; make it read the environment again."""
    from ray._raylet import AuthenticationTokenLoader

    AuthenticationTokenLoader.instance().reset_cache()


@pytest.fixture
def sweep_file(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


@pytest.fixture(scope="module")
def job_api(tmp_path_factory):
    """A Ray head with its job API on 127.0.0.1, token auth on, as `ray start --head`.

    Not ``ray.init(include_dashboard=True)``: it cannot choose the dashboard agent's port,
    which then is always 52365 and collides with any other Ray on the machine (the job API
    then answers "No available agent to submit job"). ``--block`` ties every Ray process
    to this one, so stopping it stops them (``ray stop`` would stop every Ray here).
    """
    gcs, dashboard, agent, agent_grpc, runtime_env, metrics, client = _free_ports(7)
    token = secrets.token_hex(32)
    bin_dir = Path(sys.executable).parent
    ray_env = {
        **os.environ,
        # One node, every listener on loopback.
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_USAGE_STATS_ENABLED": "0",
        # A token of this module's own, not ~/.ray/auth_token.
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": token,
        # The job's shell finds this environment's `ricci-ray`, as a cluster image has it.
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    head_log = tmp_path_factory.mktemp("ray-head") / "ray-start.log"
    with head_log.open("w") as log:
        head = subprocess.Popen(
            [
                str(bin_dir / "ray"),
                "start",
                "--head",
                "--block",
                "--num-cpus=2",
                f"--port={gcs}",
                "--dashboard-host=127.0.0.1",
                f"--dashboard-port={dashboard}",
                f"--dashboard-agent-listen-port={agent}",
                f"--dashboard-agent-grpc-port={agent_grpc}",
                f"--runtime-env-agent-port={runtime_env}",
                f"--metrics-export-port={metrics}",
                f"--ray-client-server-port={client}",
                f"--temp-dir={tmp_path_factory.mktemp('ray')}",
                "--disable-usage-stats",
            ],
            env=ray_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    address = f"http://127.0.0.1:{dashboard}"
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("RAY_AUTH_MODE", "token")
            env.setenv("RAY_AUTH_TOKEN", token)
            _reload_token()
            _wait_for_job_api(address, head, head_log)
            yield address
    finally:
        _reload_token()
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()


def _wait_for_job_api(address: str, head: subprocess.Popen, head_log: Path) -> None:
    from ray.job_submission import JobSubmissionClient

    deadline = time.monotonic() + 60
    while True:
        if head.poll() is not None:
            pytest.fail(f"ray start --head exited: {head_log.read_text()[-2000:]}")
        try:
            JobSubmissionClient(address)
            return
        except ConnectionError:
            if time.monotonic() > deadline:
                pytest.fail(f"the Ray job API at {address} did not come up in 60 s")
            time.sleep(0.5)


def test_a_sweep_submitted_with_wait_succeeds_and_lands_in_parquet(job_api, sweep_file, tmp_path):
    import pandas as pd
    from ray.job_submission import JobSubmissionClient

    out = tmp_path / "out"
    job_id = submit_sweep(sweep_file, job_api, out=str(out), wait=True)

    assert str(JobSubmissionClient(job_api).get_job_status(job_id).value) == "SUCCEEDED"
    results = pd.read_parquet(out / "results")
    assert len(results) == 1
    row = results.iloc[0]
    assert (row.dataset, row.width, row.depth, row.seed, row.k) == (
        "baptista-a",
        "narrow",
        5,
        0,
        10,
    )
    assert row.status in {"ok", "undefined"}
    assert (out / "mlflow.db").is_file()


def test_a_job_that_fails_on_the_cluster_is_an_error_with_wait(job_api, tmp_path):
    path = tmp_path / "fmnist.yaml"
    path.write_text(yaml.safe_dump(dict(TINY, name="tiny-fails", datasets=["fmnist-5v9"])))
    missing = tmp_path / "no-data-here"
    with pytest.raises(
        RicciRayError, match="ended FAILED: .*ricci-ray sweep: error: .*no-data-here.*ray job logs"
    ):
        submit_sweep(path, job_api, out=str(tmp_path / "out"), data_dir=str(missing), wait=True)


def test_a_wrong_token_is_refused_with_advice(job_api, sweep_file, tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_TOKEN", "not-the-token")
    _reload_token()
    try:
        with pytest.raises(RicciRayError, match="RAY_AUTH_TOKEN"):
            submit_sweep(sweep_file, job_api, out=str(tmp_path / "out"))
    finally:
        monkeypatch.undo()
        _reload_token()


def test_an_unreachable_address_is_a_one_line_error(sweep_file):
    address = f"http://127.0.0.1:{_free_ports(1)[0]}"
    with pytest.raises(RicciRayError, match="cannot reach the Ray job API"):
        submit_sweep(sweep_file, address, out="/data/runs/tiny")


def test_a_missing_sweep_file_fails_before_contacting_ray(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        submit_sweep(tmp_path / "nope.yaml", "http://127.0.0.1:1", out="/data/runs/x")


@pytest.mark.parametrize("option", ["out", "data_dir"])
def test_cluster_paths_must_be_absolute(sweep_file, option):
    paths = {"out": "/data/runs/x", option: "runs/x"}
    with pytest.raises(ConfigError, match=f"--{option.replace('_', '-')}: allowed: an absolute"):
        submit_sweep(sweep_file, "http://127.0.0.1:1", **paths)


def test_an_address_without_scheme_names_the_job_api(sweep_file):
    with pytest.raises(ConfigError, match="http://HOST:8265"):
        submit_sweep(sweep_file, "127.0.0.1:6379", out="/data/runs/x")


def test_image_data_sets_need_a_data_dir(tmp_path):
    path = tmp_path / "fmnist.yaml"
    path.write_text(yaml.safe_dump(dict(TINY, datasets=["fmnist-5v9"])))
    with pytest.raises(ConfigError, match="only with --data-dir"):
        submit_sweep(path, "http://127.0.0.1:1", out="/data/runs/x")


def test_the_submit_command_parses_and_defaults_out_to_the_shared_volume(sweep_file, monkeypatch):
    parser = argparse.ArgumentParser(prog="ricci-ray")
    add_submit_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["submit", str(sweep_file), "--address", "http://127.0.0.1:8265", "--wait"]
    )
    assert (args.sweep_file, args.address, args.out, args.wait) == (
        sweep_file,
        "http://127.0.0.1:8265",
        None,
        True,
    )

    calls = []
    monkeypatch.setattr(
        "ricci_ray.submit.submit_sweep", lambda *a, **kw: calls.append((a, kw)) or "job-1"
    )
    assert args.handler(args) == 0
    assert calls[0][1]["out"] == f"{CLUSTER_RUNS_DIR}/tiny-submit"
