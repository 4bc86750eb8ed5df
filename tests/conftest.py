"""Shared fixtures: the real data folder and a quiet, loopback-only environment."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Keep Ray on 127.0.0.1 and every library offline and quiet, before anything imports them.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# ricci-ray's cache (the empty MLflow store it copies) stays out of the user's home.
os.environ.setdefault("RICCI_RAY_CACHE_DIR", tempfile.mkdtemp(prefix="ricci-ray-cache-"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real image data: $RICCI_RAY_DATA_DIR, else ../shared/data next to the repo."""
    candidates = [REPO.parent / "shared" / "data", Path("/work/shared/data")]
    if "RICCI_RAY_DATA_DIR" in os.environ:
        candidates = [Path(os.environ["RICCI_RAY_DATA_DIR"])]
    for path in candidates:
        if (path / "fmnist" / "test5.csv").is_file():
            return path.resolve()
    pytest.fail(f"real data not found in {candidates}; set RICCI_RAY_DATA_DIR")


@pytest.fixture(scope="module")
def ray_local(tmp_path_factory):
    """One local Ray per test module (starting it costs seconds), on loopback.

    Started the way ``ricci-ray sweep`` starts its own, with preloaded trial workers.
    """
    import ray

    from ricci_ray.sweep import start_local_ray

    start_local_ray(2, _temp_dir=str(tmp_path_factory.mktemp("ray")), log_to_driver=False)
    yield
    ray.shutdown()
