"""The study report: from a real (tiny, Ray-free) sweep and from synthetic tables, and its
MLflow summary run."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from ricci_ray.analysis import log_report_to_mlflow, write_report
from ricci_ray.sinks.mlflow_sink import default_tracking_uri
from ricci_ray.sinks.parquet import ParquetStore
from ricci_ray.spec import TrialConfig
from ricci_ray.trial import run_trial
from tests.test_analysis import synthetic_sweep


@pytest.fixture(scope="module")
def tiny_sweep_dir(tmp_path_factory) -> Path:
    """Four real baptista-a networks (L = 5, 3 epochs), k 10 and 30, trained without Ray."""
    out = tmp_path_factory.mktemp("sweep")
    store = ParquetStore(out)
    for seed in range(4):
        config = TrialConfig(
            sweep="s", dataset="baptista-a", width="narrow", depth=5, seed=seed, ks=(10, 30)
        )
        config = dataclasses.replace(config, recipe={**config.recipe, "epochs": 3})
        store.write("s", run_trial(config))
    return out


@pytest.fixture(scope="module")
def tiny_report(tiny_sweep_dir) -> Path:
    # Three epochs do not reach the 0.99 bar: analyse every network instead.
    return write_report(tiny_sweep_dir, thresholds={"baptista-a": 0.0}, bootstrap=200)


def test_report_from_a_real_sweep(tiny_sweep_dir, tiny_report):
    assert tiny_report == tiny_sweep_dir / "report" / "report.md"
    text = tiny_report.read_text()
    assert "## What was found" in text
    assert "Headline regression" in text and "accuracy_test ~ z_printed" in text
    assert "k grid: 10, 30" in text
    assert "Untrained control" in text and "Not available" in text
    assert "t = −0.86" in text  # the reproduction's caveat

    folder = tiny_report.parent
    for name in ("pooled", "chosen_k", "networks", "regression", "fraction_negative"):
        assert (folder / f"{name}.csv").is_file() and (folder / f"{name}.parquet").is_file()
    pngs = sorted((folder / "figures").glob("*.png"))
    assert {p.name for p in pngs} >= {"pooled_baptista-a.png", "layers_baptista-a.png"}
    assert all(p.stat().st_size > 1000 for p in pngs)
    for png in pngs:  # every figure is embedded by its path relative to report.md
        assert f"](figures/{png.name})" in text

    networks = pd.read_csv(folder / "networks.csv")
    assert len(networks) == 4 and set(networks.chosen_k) <= {10, 30}
    regression = pd.read_csv(folder / "regression.csv")
    assert regression.headline.sum() == 1


def test_report_of_the_fisher_variant_into_another_folder(tiny_sweep_dir, tmp_path):
    target = write_report(
        tiny_sweep_dir,
        tmp_path / "fisher",
        thresholds={"baptista-a": 0.0},
        depth_adjustment="fisher",
        bootstrap=0,
    )
    assert target == tmp_path / "fisher" / "report.md"
    regression = pd.read_csv(target.parent / "regression.csv")
    assert regression.loc[regression.headline, "adjustment"].tolist() == ["fisher"]


def test_report_without_well_trained_networks_still_reads(tiny_sweep_dir, tmp_path):
    target = write_report(tiny_sweep_dir, tmp_path / "strict", bootstrap=0)
    text = target.read_text()
    assert "not estimable" in text
    assert "No cell has a defined pooled coefficient" in text


def write_frames(out: Path, results: pd.DataFrame, layers: pd.DataFrame) -> Path:
    """Land hand-made frames in the sweep layout (the partition gives the sweep column)."""
    for table, frame in (("results", results), ("layers", layers)):
        folder = out / table / "sweep=s"
        folder.mkdir(parents=True)
        frame.drop(columns="sweep").to_parquet(folder / "part.parquet", index=False)
    return out


def test_control_and_hehl_sections_when_recorded(tmp_path):
    results, layers = synthetic_sweep(slope=-0.002, ks=(10, 30), init=True, hehl=True)
    out = write_frames(tmp_path / "run", results, layers)
    report = write_report(out, bootstrap=100)
    text = report.read_text()
    assert "paired Wilcoxon p" in text and "n = 48)" in text
    assert "mean local coefficient" in text
    folder = report.parent
    for name in ("control", "hehl_local", "hehl_layers"):
        assert (folder / f"{name}.csv").is_file()
    for name in ("control.png", "layer_coef_baptista-a.png", "layer_coef_fmnist-5v9.png"):
        assert (folder / "figures" / name).stat().st_size > 1000
    regression = pd.read_csv(folder / "regression.csv")
    assert set(regression.target) == {"trained", "initial"}
    control = pd.read_csv(folder / "control.csv").set_index("dataset")
    # Trained ρ drawn in (−0.9, 0.5), initial in (−0.6, 0.2): 48 pairs, a real difference
    # is not required, only a defined test.
    assert control.loc["all", "n"] == 48 and 0 <= control.loc["all", "wilcoxon_p"] <= 1


def test_summary_run_is_created_once_with_artifacts_under_the_sweep(tmp_path):
    results, layers = synthetic_sweep(slope=-0.002)
    out = write_frames(tmp_path / "run", results, layers)
    report = write_report(out, bootstrap=0)
    uri = default_tracking_uri(out)

    run_id = log_report_to_mlflow(report.parent, uri, "s")
    assert log_report_to_mlflow(report.parent, uri, "s") == run_id

    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    run = client.get_run(run_id)
    assert run.info.run_name == "summary"
    assert run.data.tags["ricci_ray.summary"] == "true"
    assert run.data.metrics["summary/ols_n"] == 48
    artifacts = Path(run.info.artifact_uri.removeprefix("file://"))
    assert artifacts.is_relative_to(out.resolve() / "mlartifacts")
    assert (artifacts / "report.md").is_file()
    assert (artifacts / "figures" / "accuracy.png").is_file()
    experiment = client.get_experiment_by_name("s")
    assert len(client.search_runs([experiment.experiment_id])) == 1


def test_an_existing_experiment_keeps_its_artifact_location(tmp_path, caplog):
    results, layers = synthetic_sweep(slope=0.0, n_seeds=3)
    out = write_frames(tmp_path / "run", results, layers)
    report = write_report(out, bootstrap=0)
    uri = default_tracking_uri(out)
    elsewhere = tmp_path / "elsewhere"

    from mlflow.tracking import MlflowClient

    MlflowClient(uri).create_experiment("made-by-a-sweep", artifact_location=elsewhere.as_uri())
    with caplog.at_level("WARNING", logger="ricci_ray.analysis.tracking"):
        run_id = log_report_to_mlflow(report.parent, uri, "made-by-a-sweep")
    assert "outside" in caplog.text
    artifacts = Path(MlflowClient(uri).get_run(run_id).info.artifact_uri.removeprefix("file://"))
    assert artifacts.is_relative_to(elsewhere) and (artifacts / "report.md").is_file()
