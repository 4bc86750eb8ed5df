"""Faults a long sweep meets: a trial's worker dies, the driver dies. Nothing is lost or
written twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import yaml

from ricci_ray.spec import parse_sweep
from ricci_ray.sweep import run_sweep

SWEEP = {
    "name": "faults",
    "datasets": ["baptista-a"],
    "widths": ["narrow"],
    "depths": [5],
    "seeds": [0, 1],
    "k": [10],
    "recipe": {"epochs": 150},
    "max_concurrent_trials": 1,
    "max_retries": 2,
}


def _landed(out: Path, sweep: str) -> list[Path]:
    folder = out / "results" / f"sweep={sweep}"
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def _trial_worker_pids() -> list[int]:
    """Processes running a Tune function trial (Ray titles them ray::ImplicitFunc...)."""
    found = subprocess.run(["pgrep", "-f", "ray::ImplicitFunc"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def test_killed_trial_worker_is_retried_and_lands_once(ray_local, tmp_path):
    out = tmp_path / "out"
    summary = {}
    thread = threading.Thread(
        target=lambda: summary.setdefault("value", run_sweep(parse_sweep(SWEEP), out))
    )
    thread.start()

    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline:
        pids = _trial_worker_pids()
        if pids and not _landed(out, "faults"):
            time.sleep(1.0)  # let the trial get into training
            if not _landed(out, "faults"):
                os.kill(pids[0], signal.SIGKILL)
                killed = pids[0]
        time.sleep(0.1)
    thread.join(600)

    assert killed is not None, "no trial worker was seen running"
    assert summary["value"].n_finished == 2 and summary["value"].n_failed == 0
    results = pd.read_parquet(out / "results")
    assert len(results) == 2 and results.trial_id.nunique() == 2
    assert set(results.status) <= {"ok", "undefined"}


def test_killed_driver_resumes_without_rerunning_finished_trials(tmp_path):
    sweep = dict(SWEEP, name="resume", seeds=[0, 1, 2, 3, 4, 5], recipe={"epochs": 40})
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(yaml.safe_dump(sweep))
    out = tmp_path / "out"
    command = [
        str(Path(sys.executable).with_name("ricci-ray")),
        "sweep",
        str(sweep_file),
        "--out",
        str(out),
        "--num-cpus",
        "1",
    ]

    with open(tmp_path / "first.log", "wb") as log:
        driver = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 300
    while len(_landed(out, "resume")) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    os.killpg(driver.pid, signal.SIGKILL)  # and the local Ray it had started, as a crash would
    time.sleep(1)

    before = pd.read_parquet(out / "results")
    n_before = before.trial_id.nunique()
    assert 2 <= n_before < 6, "the driver was not killed mid-sweep"

    second = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"{n_before} already done" in second.stdout

    after = pd.read_parquet(out / "results")
    assert len(after) == 6 and after.trial_id.nunique() == 6
    # Trials finished before the crash were not run again: their rows are untouched.
    kept = after.set_index("trial_id").loc[before.trial_id, "finished_at"]
    assert (kept.to_numpy() == before.finished_at.to_numpy()).all()


def test_a_trial_that_raises_is_retried_then_recorded_failed_and_the_sweep_goes_on(
    ray_local, tmp_path, data_dir
):
    from ricci_ray.sinks.mlflow_sink import TAG_TRIAL_ID, default_tracking_uri
    from tests.helpers import search_runs

    # Holding out 99.9 % leaves baptista-a (1000 rows) one training row, and the MNIST
    # pair (500 rows) none: its trials raise inside the worker, every attempt.
    sweep = dict(
        SWEEP,
        name="raises",
        datasets=["baptista-a", "mnist-1v7"],
        seeds=[0],
        recipe={"epochs": 1, "validation_split": 0.999},
        max_retries=1,
    )
    summary = run_sweep(parse_sweep(sweep), tmp_path, data_dir=data_dir)
    assert (summary.n_finished, summary.n_failed) == (1, 1)

    results = pd.read_parquet(tmp_path / "results")
    assert len(results) == 2 and results.trial_id.nunique() == 2
    failed = results[results.dataset == "mnist-1v7"].iloc[0]
    assert failed.status == "failed" and "validation_split" in failed.reason
    ok = results[results.dataset == "baptista-a"].iloc[0]
    assert ok.status in {"ok", "undefined"}

    runs = search_runs(default_tracking_uri(tmp_path), "raises").set_index("tags." + TAG_TRIAL_ID)
    assert runs.loc[failed.trial_id, "status"] == "FAILED"
    assert runs.loc[ok.trial_id, "status"] == "FINISHED"
