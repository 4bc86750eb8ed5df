"""Parquet is the record (atomic, keyed by trial id); MLflow is an idempotent view of it."""

from __future__ import annotations

import os
import time

import pandas as pd
import pytest

from ricci_ray import load_results
from ricci_ray.errors import ConfigError
from ricci_ray.sinks.mlflow_sink import TAG_TRIAL_ID, MlflowSink, default_tracking_uri
from ricci_ray.sinks.parquet import ParquetStore, TrialRows
from ricci_ray.spec import TrialConfig
from ricci_ray.trial import TrialResult
from tests.helpers import make_result, search_runs


def rows(result: TrialResult) -> TrialRows:
    return TrialRows.of(result)


def test_results_and_layers_land_with_one_row_per_trial_k_and_layer(tmp_path):
    store = ParquetStore(tmp_path)
    first, second = make_result(0), make_result(1, coef=None)
    store.write("s", first)
    store.write("s", second)

    results = load_results(tmp_path)
    assert len(results) == 2 * 2
    row = results[(results.trial_id == first.trial_id) & (results.k == 10)].iloc[0]
    assert row.sweep == "s" and row.dataset == "baptista-a" and row.depth == 4
    assert row.ricci_coef == pytest.approx(-0.5) and row.status == "ok"
    assert row.accuracy_test == pytest.approx(0.995) and row.node_id == "node-a"
    assert row.recipe_epochs == 50
    undefined = results[(results.trial_id == second.trial_id) & (results.k == 10)].iloc[0]
    assert pd.isna(undefined.ricci_coef) and undefined.reason == "constant curvature series"

    layers = pd.read_parquet(tmp_path / "layers")
    assert len(layers) == 2 * 2 * 5
    one = layers[(layers.trial_id == first.trial_id) & (layers.k == 10)].sort_values("layer")
    assert one.layer.tolist() == [0, 1, 2, 3, 4]
    assert one.ric.tolist() == [-100, -101, -102, -103, -104]
    # eta is defined on hidden layers 1 .. L-1 only.
    assert one.eta.isna().tolist() == [True, False, False, False, True]


def test_rewriting_a_trial_replaces_it_without_duplicates_or_leftovers(tmp_path):
    store = ParquetStore(tmp_path)
    store.write("s", make_result(0, coef=-0.1))
    store.write("s", make_result(0, coef=-0.7))
    results = load_results(tmp_path)
    assert len(results) == 2
    assert results[results.k == 10].ricci_coef.tolist() == [pytest.approx(-0.7)]
    leftovers = [
        name for _, _, files in os.walk(tmp_path) for name in files if name.startswith(".")
    ]
    assert leftovers == []


def test_finished_trial_ids_excludes_failed_trials(tmp_path):
    store = ParquetStore(tmp_path)
    assert store.finished_trial_ids("s") == set()
    ok = make_result(0)
    store.write("s", ok)
    config = TrialConfig.from_dict(make_result(1).config)
    store.write("s", TrialResult.failed(config, "RuntimeError: boom"))
    assert store.finished_trial_ids("s") == {ok.trial_id}
    failed = load_results(tmp_path)
    failed = failed[failed.status == "failed"]
    assert len(failed) == 2 and set(failed.reason) == {"RuntimeError: boom"}


def test_sweeps_are_partitions(tmp_path):
    store = ParquetStore(tmp_path)
    store.write("a", make_result(0))
    store.write("b", make_result(0))
    assert sorted(load_results(tmp_path).sweep.unique()) == ["a", "b"]
    assert load_results(tmp_path, sweeps=["b"]).sweep.unique().tolist() == ["b"]


def test_unwritable_output_is_reported_before_anything_runs(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="must be a writable folder"):
        ParquetStore(blocker / "out").check_writable()


def test_mlflow_run_per_trial_is_idempotent(tmp_path):
    import mlflow

    uri = default_tracking_uri(tmp_path)
    sink = MlflowSink(uri, "s")
    result = make_result(0)
    run_id = sink.log(rows(result))
    assert sink.log(rows(result)) == run_id

    # A fresh sink (a resumed sweep) finds the run by its trial id and does not log twice.
    again = MlflowSink(uri, "s")
    assert again.log(rows(result)) == run_id
    again.log(rows(make_result(1)))

    runs = search_runs(uri, "s")
    assert len(runs) == 2
    assert set(runs["tags." + TAG_TRIAL_ID]) == {result.trial_id, make_result(1).trial_id}
    assert set(runs["status"]) == {"FINISHED"}
    first = runs[runs["tags." + TAG_TRIAL_ID] == result.trial_id].iloc[0]
    assert first["metrics.ricci_coef/k10"] == pytest.approx(-0.5)
    assert first["metrics.accuracy/test"] == pytest.approx(0.995)
    assert first["params.width"] == "narrow" and first["params.ks"] == "10,30"

    client = mlflow.tracking.MlflowClient(uri)
    history = client.get_metric_history(run_id, "ric/k10")
    assert sorted((m.step, m.value) for m in history) == [
        (layer, -100.0 - layer) for layer in range(5)
    ]


def test_mlflow_failed_trial_ends_failed(tmp_path):

    uri = default_tracking_uri(tmp_path)
    config = TrialConfig.from_dict(make_result(0).config)
    MlflowSink(uri, "s").log(rows(TrialResult.failed(config, "ValueError: odd")))
    runs = search_runs(uri, "s")
    assert runs["status"].tolist() == ["FAILED"]
    assert runs["tags.ricci_ray.error"].tolist() == ["ValueError: odd"]


def test_sync_from_parquet_logs_only_what_is_missing(tmp_path):
    from ricci_ray.sinks.mlflow_sink import sync_from_parquet

    store = ParquetStore(tmp_path)
    for seed in range(3):
        store.write("s", make_result(seed))
    uri = default_tracking_uri(tmp_path)
    MlflowSink(uri, "s").log(rows(make_result(0)))

    # Trials a running sweep is about to log itself are left to it.
    assert sync_from_parquet(tmp_path, uri, skip={make_result(1).trial_id}) == {"s": 1}
    assert sync_from_parquet(tmp_path, uri) == {"s": 1}
    assert sync_from_parquet(tmp_path, uri) == {"s": 0}
    runs = search_runs(uri, "s")
    assert sorted(runs["tags." + TAG_TRIAL_ID]) == sorted(
        make_result(seed).trial_id for seed in range(3)
    )
    synced = runs[runs["tags." + TAG_TRIAL_ID] == make_result(2).trial_id].iloc[0]
    assert synced["metrics.ricci_coef/k10"] == pytest.approx(-0.5)
    assert synced["params.recipe.epochs"] == "50"


def test_writer_parks_failures_and_logs_them_when_the_store_recovers(tmp_path):
    from ricci_ray.sinks.mlflow_sink import MlflowWriter

    uri = default_tracking_uri(tmp_path)
    healthy = {"up": False}

    def factory():
        if not healthy["up"]:
            raise ConnectionError("tracking server down")
        return MlflowSink(uri, "s")

    writer = MlflowWriter(factory, attempts=2, max_wait_s=0.01, park_seconds=0.0)
    writer.submit(rows(make_result(0)))
    writer.submit(rows(make_result(1)))
    deadline = time.monotonic() + 10
    while writer.last_error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "tracking server down" in writer.last_error
    healthy["up"] = True
    writer.submit(rows(make_result(2)))
    assert writer.close(timeout_s=60) == 0
    assert writer.n_logged == 3
    assert len(search_runs(uri, "s")) == 3


def test_a_waiting_writer_touches_mlflow_only_once_begun_or_closed(tmp_path):
    from ricci_ray.sinks.mlflow_sink import MlflowWriter

    uri = default_tracking_uri(tmp_path)
    calls = []

    def factory():
        calls.append("sink")
        return MlflowSink(uri, "s")

    for finish in ("begin", "close"):
        calls.clear()
        writer = MlflowWriter(factory, first=lambda: calls.append("first"), wait_for_start=True)
        writer.submit(rows(make_result(0)))
        time.sleep(0.3)
        assert calls == []  # queued, not logged
        if finish == "begin":
            writer.begin()
            deadline = time.monotonic() + 30
            while writer.n_logged == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert calls == ["first", "sink"] and writer.n_logged == 1
        assert writer.close(timeout_s=60) == 0
        assert calls[:1] == ["first"]
    assert len(search_runs(uri, "s")) == 1


def test_new_sqlite_stores_are_copies_of_one_template_made_by_mlflow(tmp_path, monkeypatch):
    import sqlite3

    import mlflow

    cache = tmp_path / "cache"
    monkeypatch.setenv("RICCI_RAY_CACHE_DIR", str(cache))
    stores = [tmp_path / "a", tmp_path / "b"]
    for out in stores:
        out.mkdir()
        sink = MlflowSink(default_tracking_uri(out), "s")
        sink.log(rows(make_result(0)))
    template = cache / f"mlflow-{mlflow.__version__}-empty.db"
    made = template.stat().st_mtime_ns
    assert [path.name for path in cache.iterdir()] == [template.name]

    for out in stores:
        runs = search_runs(default_tracking_uri(out), "s")
        assert list(runs["tags." + TAG_TRIAL_ID]) == [make_result(0).trial_id]
        client = mlflow.tracking.MlflowClient(default_tracking_uri(out))
        assert client.get_experiment("0").artifact_location == str(out / "mlartifacts" / "0")
        assert sorted(path.name for path in out.iterdir()) == ["mlflow.db"]
    # The template itself stays empty, at MLflow's schema revision.
    with sqlite3.connect(template) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)
        revision = db.execute("SELECT version_num FROM alembic_version").fetchone()
    with sqlite3.connect(stores[0] / "mlflow.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone() == revision
    # An existing store is opened as it is; the template is not made again.
    MlflowSink(default_tracking_uri(stores[0]), "s")
    assert len(search_runs(default_tracking_uri(stores[0]), "s")) == 1
    assert template.stat().st_mtime_ns == made


def test_a_store_is_still_made_when_the_template_cache_is_unusable(tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("RICCI_RAY_CACHE_DIR", str(blocked / "cache"))
    uri = default_tracking_uri(tmp_path)
    MlflowSink(uri, "s").log(rows(make_result(0)))
    assert len(search_runs(uri, "s")) == 1
