"""The Parquet store on an S3-compatible object store (moto's server, on loopback)."""

from __future__ import annotations

import socket
import uuid

import boto3
import moto.server as moto_server
import pandas as pd
import pytest

from ricci_ray import load_results
from ricci_ray.errors import ConfigError
from ricci_ray.sinks.compact import compact
from ricci_ray.sinks.parquet import ParquetStore
from ricci_ray.spec import TrialConfig
from ricci_ray.trial import TrialResult
from tests.helpers import make_result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint():
    """One moto S3 server per module."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    yield f"http://127.0.0.1:{server._port}"
    server.stop()


@pytest.fixture
def s3(endpoint, monkeypatch):
    """A fresh bucket, with credentials and endpoint in the environment; its boto3 client."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = f"ricci-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


def keys(client, bucket: str) -> list[str]:
    """The bucket's objects, without the empty "folder/" markers pyarrow leaves when it
    deletes the last object under a prefix."""
    listing = client.list_objects_v2(Bucket=bucket)
    names = sorted(item["Key"] for item in listing.get("Contents", []))
    markers = [name for name in names if name.endswith("/")]
    assert all(
        client.head_object(Bucket=bucket, Key=name)["ContentLength"] == 0 for name in markers
    )
    return [name for name in names if not name.endswith("/")]


def test_trials_land_on_s3_and_read_back(s3):
    client, bucket = s3
    root = f"s3://{bucket}/runs/quick"
    store = ParquetStore(root)
    store.check_writable()
    for seed in range(3):
        store.write("s", make_result(seed))
    store.write("s", make_result(1, coef=-0.9))  # rewriting replaces the object
    config = TrialConfig.from_dict(make_result(3).config)
    store.write("s", TrialResult.failed(config, "RuntimeError: boom"))

    results = load_results(root)
    assert len(results) == 4 * 2 and set(results.sweep) == {"s"}
    rewritten = results[(results.trial_id == make_result(1).trial_id) & (results.k == 10)]
    assert rewritten.ricci_coef.tolist() == [pytest.approx(-0.9)]
    assert len(load_results(root, "layers")) == 4 * 2 * 5 - 2 * 5  # the failed one has none
    assert store.finished_trial_ids("s") == {make_result(seed).trial_id for seed in range(3)}
    assert store.sweeps() == ["s"]
    assert store.partition("results", "s") == f"{root}/results/sweep=s"

    # Nothing temporary: no probe, no dot-names, no unfinished multipart uploads.
    names = keys(client, bucket)
    assert len(names) == 4 * 2  # results and layers, one object per trial
    assert all(name.startswith("runs/quick/") and name.endswith(".parquet") for name in names)
    assert not [name for name in names if name.rsplit("/", 1)[-1].startswith(".")]
    assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")


def test_compaction_on_s3_keeps_the_rows(s3):
    client, bucket = s3
    root = f"s3://{bucket}/out"
    store = ParquetStore(root)
    for seed in range(4):
        store.write("s", make_result(seed))
    before = load_results(root).sort_values(["trial_id", "k"]).reset_index(drop=True)

    report = compact(root)

    after = load_results(root).sort_values(["trial_id", "k"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(after, before)
    assert report["s"]["results"] == {"files_before": 4, "files_after": 1, "rows": 8}
    names = keys(client, bucket)
    assert len(names) == 2 and all("/part-" in name for name in names)
    assert store.finished_trial_ids("s") == {make_result(seed).trial_id for seed in range(4)}


def test_a_missing_bucket_fails_check_writable_clearly(s3):
    with pytest.raises(ConfigError, match="must be a reachable, writable bucket") as caught:
        ParquetStore("s3://no-such-bucket-here/prefix").check_writable()
    assert "bucket does not exist" in str(caught.value).lower()
    assert "AWS_ENDPOINT_URL" in str(caught.value)


def test_an_unreachable_endpoint_fails_check_writable_clearly(s3, monkeypatch):
    _, bucket = s3
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ConfigError, match="must be a reachable, writable bucket") as caught:
        ParquetStore(f"s3://{bucket}/prefix").check_writable()
    assert "connect" in str(caught.value).lower()


def test_a_sweep_lands_on_s3(s3, ray_local, tmp_path):
    from ricci_ray.sinks.mlflow_sink import default_tracking_uri
    from ricci_ray.spec import parse_sweep
    from ricci_ray.sweep import run_sweep
    from tests.helpers import search_runs

    client, bucket = s3
    root = f"s3://{bucket}/runs/tiny"
    spec = parse_sweep(
        {
            "name": "on-s3",
            "datasets": ["baptista-a"],
            "widths": ["narrow"],
            "depths": [5],
            "seeds": [0, 1],
            "k": [10],
            "recipe": {"epochs": 2},
        }
    )
    uri = default_tracking_uri(tmp_path)
    summary = run_sweep(spec, root, tracking_uri=uri, tune_dir=tmp_path / "tune")
    assert summary.n_finished == 2
    results = load_results(root)
    assert results.trial_id.nunique() == 2 and set(results.sweep) == {"on-s3"}
    assert len(search_runs(uri, "on-s3")) == 2
    assert not any(".tmp" in name for name in keys(client, bucket))
    # Rerunning on the same bucket finds both trials done.
    assert run_sweep(spec, root, tracking_uri=uri, tune_dir=tmp_path / "tune").n_skipped == 2


def test_a_sweep_to_an_object_store_needs_a_tracking_uri(tmp_path):
    from ricci_ray.spec import parse_sweep
    from ricci_ray.sweep import run_sweep

    spec = parse_sweep(
        {
            "name": "x",
            "datasets": ["baptista-a"],
            "widths": ["narrow"],
            "depths": [5],
            "seeds": [0],
            "k": [10],
        }
    )
    with pytest.raises(ConfigError, match="--tracking-uri"):
        run_sweep(spec, "s3://bucket/prefix")
