"""A small sweep through a real local Ray into Parquet and MLflow, and the CLI around it."""

from __future__ import annotations

import os

import pandas as pd
import pytest
import yaml

from ricci_ray.cli import main
from ricci_ray.sinks.mlflow_sink import TAG_TRIAL_ID, default_tracking_uri
from ricci_ray.spec import parse_sweep
from ricci_ray.sweep import run_sweep
from tests.helpers import search_runs

SWEEP = {
    "name": "tiny",
    "datasets": ["baptista-a"],
    "widths": ["narrow", "wide"],
    "depths": [5],
    "seeds": [0, 1],
    "k": [10, 30],
    "recipe": {"epochs": 3},
    "max_concurrent_trials": 2,
}


@pytest.fixture(scope="module")
def finished(ray_local, tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    summary = run_sweep(parse_sweep(SWEEP), out)
    return out, summary


def test_every_trial_lands_in_parquet_once_per_k(finished):
    out, summary = finished
    assert (summary.n_trials, summary.n_finished, summary.n_failed) == (4, 4, 0)
    results = pd.read_parquet(out / "results")
    assert len(results) == 4 * 2
    assert results.groupby("trial_id").k.apply(sorted).tolist() == [[10, 30]] * 4
    assert set(results.status) <= {"ok", "undefined"}
    assert results.accuracy_test.between(0, 1).all()
    assert results.node_id.notna().all()
    defined = results[results.status == "ok"]
    assert defined.ricci_coef.between(-1, 1).all()
    # Each trial says when it began on its worker and how long it took there in all.
    assert (results.started_at <= results.finished_at).all()
    assert (results.seconds_total >= results.seconds_train + results.seconds_geometry).all()
    assert (results.epochs_trained == results.recipe_epochs).all()
    layers = pd.read_parquet(out / "layers")
    # depth 5: the input and five hidden layers, for every trial and k
    assert len(layers) == 4 * 2 * 6


def test_every_trial_is_one_finished_mlflow_run_with_the_metrics(finished):
    out, _ = finished
    runs = search_runs(default_tracking_uri(out), "tiny")
    results = pd.read_parquet(out / "results")
    assert sorted(runs["tags." + TAG_TRIAL_ID]) == sorted(results.trial_id.unique())
    assert set(runs.status) == {"FINISHED"}
    merged = runs.set_index("tags." + TAG_TRIAL_ID)
    for row in results.itertuples():
        logged = merged.loc[row.trial_id, f"metrics.ricci_coef/k{row.k}"]
        if pd.isna(row.ricci_coef):
            assert pd.isna(logged)
        else:
            assert logged == pytest.approx(row.ricci_coef)
        assert merged.loc[row.trial_id, "metrics.accuracy/test"] == pytest.approx(
            row.accuracy_test
        )


def test_rerun_on_the_same_output_runs_nothing_again(finished):
    out, _ = finished
    before = pd.read_parquet(out / "results")
    summary = run_sweep(parse_sweep(SWEEP), out)
    assert (summary.n_skipped, summary.n_finished) == (4, 0)
    after = pd.read_parquet(out / "results")
    assert len(after) == len(before)
    assert len(search_runs(default_tracking_uri(out), "tiny")) == 4


def test_growing_the_grid_runs_only_the_new_trials(ray_local, finished, tmp_path):
    out, _ = finished
    grown = dict(SWEEP, seeds=[0, 1, 2])
    summary = run_sweep(parse_sweep(grown), out)
    assert (summary.n_skipped, summary.n_finished) == (4, 2)
    assert pd.read_parquet(out / "results").trial_id.nunique() == 6


def test_cli_sweep_then_analyze(ray_local, tmp_path, capsys):
    sweep_file = tmp_path / "s.yaml"
    sweep_file.write_text(yaml.safe_dump(dict(SWEEP, name="cli", widths=["narrow"])))
    out = tmp_path / "out"
    assert main(["sweep", str(sweep_file), "--out", str(out)]) == 0
    assert "2 trials finished" in capsys.readouterr().out
    assert main(["analyze", str(out), "--all-networks"]) == 0
    printed = capsys.readouterr().out
    assert "pearson_r" in printed and "baptista-a" in printed
    table = pd.read_csv(out / "analysis" / "correlations.csv")
    assert table.k.tolist() == [10, 30] and table.n_networks.tolist() == [2, 2]


def test_report_from_a_real_sweep_is_logged_as_the_summary_run(finished, tmp_path, capsys):
    import mlflow

    out, _ = finished
    assert main(["analyze", str(out), "--all-networks", "--report", "--log-mlflow"]) == 0
    report = (out / "report" / "report.md").read_text()
    assert "Headline regression" in report and "tiny" in report
    assert list((out / "report" / "figures").glob("*.png"))
    uri = default_tracking_uri(out)
    summary = search_runs(uri, "tiny").query("`tags.mlflow.runName` == 'summary'")
    assert len(summary) == 1
    artifacts = mlflow.tracking.MlflowClient(uri).list_artifacts(summary.run_id.iloc[0])
    assert "report.md" in {artifact.path for artifact in artifacts}


def test_cli_rejects_a_bad_sweep_before_anything_starts(tmp_path, capsys):
    sweep_file = tmp_path / "bad.yaml"
    sweep_file.write_text(yaml.safe_dump(dict(SWEEP, datasets=["nope"])))
    out = tmp_path / "out"
    assert main(["sweep", str(sweep_file), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "field 'datasets[0]'" in err and "given: 'nope'" in err and "usage:" in err
    assert not out.exists()


def test_image_data_set_without_data_dir_is_rejected_up_front(tmp_path):
    from ricci_ray.errors import ConfigError

    spec = parse_sweep(dict(SWEEP, datasets=["fmnist-5v9"]))
    with pytest.raises(ConfigError, match="only with --data-dir"):
        run_sweep(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_control_curve_and_local_coefficients_land_in_parquet_and_mlflow(ray_local, tmp_path):
    import mlflow

    spec = parse_sweep(
        dict(
            SWEEP,
            name="curve",
            widths=["narrow"],
            seeds=[0],
            control=True,
            geometry_every=1,
            convention="undirected",
            local_coefficients=True,
        )
    )
    run_sweep(spec, tmp_path)
    results = pd.read_parquet(tmp_path / "results")
    assert results.ricci_coef_init.notna().any() or results.reason_init.notna().all()
    assert results.local_coef_mean.between(-1, 1).all()
    layers = pd.read_parquet(tmp_path / "layers")
    # Hehl's layer coefficients exist for the input and hidden layers 1 .. 4, not layer 5.
    assert layers[layers.layer < 5].layer_coef.notna().any()
    assert layers[layers.layer == 5].layer_coef.isna().all()
    curves = pd.read_parquet(tmp_path / "curves")
    assert sorted(curves.epoch.unique()) == [1, 2, 3]
    assert sorted(curves.k.unique()) == [10, 30]

    uri = default_tracking_uri(tmp_path)
    run = search_runs(uri, "curve").iloc[0]
    history = mlflow.tracking.MlflowClient(uri).get_metric_history(
        run.run_id, "curve/accuracy/test"
    )
    assert [m.step for m in sorted(history, key=lambda m: m.step)] == [1, 2, 3]
    assert "metrics.ricci_coef_init/k10" in run.index


def test_the_cli_and_driver_import_without_ray():
    # A local Ray binds only 127.0.0.1 if its setting is in place before Ray is first
    # imported; the driver sets it just before starting Ray, so nothing may import Ray
    # earlier.
    import subprocess
    import sys

    code = (
        "import sys, ricci_ray.cli, ricci_ray.sweep; ricci_ray.cli.build_parser(); "
        "sys.exit('ray' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_trials_are_handed_to_tune_in_order_then_the_searcher_finishes(tmp_path):
    from ray.tune.search import Searcher

    from ricci_ray.tune_callback import PendingTrials

    configs = [{"seed": seed} for seed in range(3)]
    searcher = PendingTrials(configs)
    handed = [searcher.suggest(f"t{i}") for i in range(4)]
    assert handed == [{"trial": c} for c in configs] + [Searcher.FINISHED]
    # Its saved state is its position; a restored searcher goes on from there.
    searcher = PendingTrials(configs)
    searcher.suggest("t0")
    searcher.save(str(tmp_path / "state"))
    restored = PendingTrials(configs)
    restored.restore(str(tmp_path / "state"))
    assert restored.suggest("t1") == {"trial": configs[1]}


def test_tune_may_queue_enough_trials_to_fill_the_cluster(monkeypatch):
    import os

    from ricci_ray.sweep import _pending_trials_limit

    monkeypatch.delenv("TUNE_MAX_PENDING_TRIALS_PG", raising=False)
    with _pending_trials_limit(3, {"CPU": 64.0}):
        assert os.environ["TUNE_MAX_PENDING_TRIALS_PG"] == "3"
    assert "TUNE_MAX_PENDING_TRIALS_PG" not in os.environ
    with _pending_trials_limit(None, {"CPU": 1000.0}):
        assert os.environ["TUNE_MAX_PENDING_TRIALS_PG"] == "1100"
    with _pending_trials_limit(None, {"CPU": 2.0}):
        assert os.environ["TUNE_MAX_PENDING_TRIALS_PG"] == "200"
    # The user's own setting wins and is left in place.
    monkeypatch.setenv("TUNE_MAX_PENDING_TRIALS_PG", "7")
    with _pending_trials_limit(3, {"CPU": 64.0}):
        assert os.environ["TUNE_MAX_PENDING_TRIALS_PG"] == "7"
    assert os.environ["TUNE_MAX_PENDING_TRIALS_PG"] == "7"


def test_a_sweep_larger_than_one_tune_run_runs_as_several(ray_local, tmp_path, monkeypatch):
    import ricci_ray.sweep

    monkeypatch.setattr(ricci_ray.sweep, "TRIALS_PER_TUNE_RUN", 3)
    summary = run_sweep(parse_sweep(dict(SWEEP, name="parts", seeds=[0, 1, 2])), tmp_path)
    assert (summary.n_trials, summary.n_finished, summary.n_failed) == (6, 6, 0)
    results = pd.read_parquet(tmp_path / "results")
    assert results.trial_id.nunique() == 6 and len(results) == 6 * 2
    runs = sorted(path.name.rsplit("-", 1)[-1] for path in (tmp_path / "tune").iterdir())
    assert runs == ["part1", "part2"]
    assert len(search_runs(default_tracking_uri(tmp_path), "parts")) == 6


def test_estimated_cost_grows_with_the_work_a_trial_does():
    from ricci_ray.spec import TrialConfig
    from ricci_ray.sweep import estimated_seconds

    def cost(**changes):
        base = dict(sweep="s", dataset="baptista-a", width="narrow", depth=5, seed=0, ks=(10,))
        return estimated_seconds(TrialConfig(**{**base, **changes}))

    assert cost(depth=11) > cost(depth=5)
    assert cost(width="wide") > cost(width="narrow")
    assert cost(dataset="fmnist-idx-5v9") > cost(dataset="baptista-a")
    assert cost(control=True) > cost()
    assert cost(geometry_every=10) > cost()
    assert cost(ks=(10, 30, 50)) > cost()
    assert cost(recipe={**parse_sweep(SWEEP).recipe.model_dump(), "epochs": 100}) > cost()
    # The seed changes nothing about the size of the work.
    assert cost(seed=7) == cost()


def test_trials_start_longest_first_in_a_stable_order(tmp_path, monkeypatch):
    import ricci_ray.sweep

    handed = []
    monkeypatch.setattr(
        ricci_ray.sweep, "_run_tune", lambda spec, pending, *a, **kw: handed.extend(pending)
    )
    sweep = dict(SWEEP, name="order", depths=[5, 11], seeds=[0, 1])
    run_sweep(parse_sweep(sweep), tmp_path)
    grid = [(c.width, c.depth, c.seed) for c in parse_sweep(sweep).trial_configs()]
    order = [(c.width, c.depth, c.seed) for c in handed]
    assert sorted(order) == sorted(grid)
    # Wide depth-11 nets first, narrow depth-5 last; seeds keep the sweep file's order.
    assert order[:2] == [("wide", 11, 0), ("wide", 11, 1)]
    assert order[-2:] == [("narrow", 5, 0), ("narrow", 5, 1)]
    costs = [ricci_ray.sweep.estimated_seconds(c) for c in handed]
    assert costs == sorted(costs, reverse=True)


def test_eta_weighs_finished_trials_by_their_estimated_cost(tmp_path):
    import time

    from ricci_ray.sinks.parquet import ParquetStore
    from ricci_ray.sweep import SinkCallback
    from tests.helpers import make_result

    long, short = make_result(0), make_result(1)
    estimates = {long.trial_id: 30.0, short.trial_id: 10.0}
    sink = SinkCallback("s", ParquetStore(tmp_path), None, n_total=2, estimates=estimates)
    assert "eta ?" in sink.progress()
    sink.started = time.monotonic() - 60.0
    sink.handle_result(long)
    # 60 s bought 30 s of estimated work; 10 s of it is left: about 20 s, not 60 s.
    eta = int(sink.progress().rsplit("eta ", 1)[1].rstrip("s]"))
    assert 19 <= eta <= 21
    sink.handle_result(short)
    assert "2/2 done" in sink.progress() and "eta 0s" in sink.progress()


@pytest.mark.parametrize("stats, imports_mlflow", [("0", False), ("1", True)])
def test_tune_counts_callbacks_without_importing_mlflow_only_when_stats_are_off(
    stats, imports_mlflow
):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ray.air._internal import usage\n"
        "from ray.tune import Callback\n"
        "from ricci_ray.sweep import _no_callback_usage_census\n"
        "original = usage.tag_callbacks\n"
        "with _no_callback_usage_census():\n"
        "    usage.tag_callbacks([Callback()])\n"
        "assert usage.tag_callbacks is original\n"
        "print('mlflow' in sys.modules)\n"
    )
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED=stats)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == str(imports_mlflow)


def test_an_unreachable_ray_address_fails_at_once_naming_it(tmp_path, capsys):
    import socket
    import time

    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump(dict(SWEEP, name="nowhere")))
    started = time.monotonic()
    argv = ["sweep", str(sweep), "--out", str(tmp_path / "out"), "--address"]
    assert main([*argv, f"127.0.0.1:{port}"]) == 1
    assert time.monotonic() - started < 30
    err = capsys.readouterr().err
    assert "--address" in err and f"127.0.0.1:{port}" in err and "refused" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("given", ["baptista-a=1.5", "baptista-a=-0.1", "baptista-a", "=0.9"])
def test_analyze_rejects_a_threshold_that_is_not_an_accuracy_below_1(tmp_path, capsys, given):
    assert main(["analyze", str(tmp_path), "--threshold", given]) == 1
    err = capsys.readouterr().err
    assert "--threshold" in err and "0 <= ACCURACY < 1" in err and repr(given) in err


def test_analyze_rejects_a_negative_bootstrap_before_writing_anything(tmp_path, capsys):
    assert main(["analyze", str(tmp_path), "--bootstrap", "-5"]) == 1
    assert "--bootstrap: allowed: an integer >= 0; given: -5" in capsys.readouterr().err
    assert not (tmp_path / "analysis").exists()
