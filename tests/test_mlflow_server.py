"""Against a real tracking server: a sweep survives the server going away mid-sweep."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from ricci_ray.sinks.mlflow_sink import TAG_TRIAL_ID, sync_from_parquet
from ricci_ray.spec import parse_sweep
from ricci_ray.sweep import run_sweep
from tests.helpers import search_runs
from tests.mlflow_server import MlflowServer

SWEEP = {
    "name": "outage",
    "datasets": ["baptista-a"],
    "widths": ["narrow", "wide"],
    "depths": [5],
    "seeds": [0, 1, 2, 3],
    "k": [10, 30],
    "recipe": {"epochs": 2},
    "max_concurrent_trials": 2,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"))
    server.start()
    yield server
    server.stop()


def _n_landed(out) -> int:
    folder = out / "results" / "sweep=outage"
    return len(list(folder.glob("*.parquet"))) if folder.is_dir() else 0


def _wait_for(condition, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.2)


def test_server_outage_mid_sweep_loses_nothing_and_duplicates_nothing(
    ray_local, server, tmp_path, monkeypatch
):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    out = tmp_path / "out"
    summary = {}

    def sweep():
        summary["value"] = run_sweep(parse_sweep(SWEEP), out, tracking_uri=server.uri)

    thread = threading.Thread(target=sweep)
    thread.start()
    _wait_for(lambda: _n_landed(out) >= 2)
    server.stop()
    _wait_for(lambda: _n_landed(out) >= 5 or not thread.is_alive())
    server.start()
    thread.join(600)
    assert not thread.is_alive()

    assert summary["value"].n_finished == 8 and summary["value"].n_failed == 0
    results = pd.read_parquet(out / "results")
    assert results.trial_id.nunique() == 8 and len(results) == 16

    sync_from_parquet(out, server.uri)
    runs = search_runs(server.uri, "outage")
    assert sorted(runs["tags." + TAG_TRIAL_ID]) == sorted(results.trial_id.unique())
    assert set(runs.status) == {"FINISHED"}


def test_sweep_starts_with_the_server_down_and_sync_completes_mlflow(
    ray_local, tmp_path, monkeypatch
):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    down = MlflowServer(tmp_path / "never")
    (tmp_path / "never").mkdir()
    out = tmp_path / "out"
    spec = parse_sweep(dict(SWEEP, seeds=[0]))
    summary = run_sweep(spec, out, tracking_uri=down.uri)
    assert summary.n_finished == 2 and summary.n_unlogged == 2
    assert pd.read_parquet(out / "results").trial_id.nunique() == 2

    down.start()
    try:
        assert sync_from_parquet(out, down.uri) == {"outage": 2}
        assert sync_from_parquet(out, down.uri) == {"outage": 0}
        assert len(search_runs(down.uri, "outage")) == 2
    finally:
        down.stop()
