"""One trial as a pure function of its config, without Ray or MLflow."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from ricci_ray.spec import TrialConfig
from ricci_ray.trial import TrialResult, run_trial


def config(**changes) -> TrialConfig:
    values = dict(
        sweep="t",
        dataset="baptista-a",
        width="narrow",
        depth=5,
        seed=3,
        ks=(10, 30),
        recipe={
            "name": "paper",
            "epochs": 3,
            "batch_size": 32,
            "learning_rate": 1e-3,
            "rho": 0.9,
            "eps": 1e-7,
            "validation_split": 0.2,
            "shuffle_split": False,
        },
    )
    values.update(changes)
    return TrialConfig(**values)


@pytest.fixture(scope="module")
def result() -> TrialResult:
    return run_trial(config())


def test_record_has_accuracy_and_geometry_per_k(result):
    assert 0.5 <= result.accuracy_test <= 1 and result.loss_test > 0
    assert result.error is None and not result.diverged
    assert [scale.k for scale in result.scales] == [10, 30]
    for scale in result.scales:
        # input layer plus five hidden layers; eta on hidden layers 1 .. 4
        assert len(scale.ric) == len(scale.g) == len(scale.n_components) == 6
        if scale.status == "ok":
            assert len(scale.eta) == 4 and -1 <= scale.ricci_coef <= 1
            assert scale.eta == pytest.approx(
                [scale.g[layer + 1] - scale.g[layer] for layer in range(1, 5)]
            )
        else:
            assert scale.ricci_coef is None and scale.reason


def test_metrics_use_the_shared_key_scheme(result):
    metrics = result.metrics()
    assert metrics["accuracy/test"] == result.accuracy_test
    for scale in result.scales:
        value = metrics[f"ricci_coef/k{scale.k}"]
        assert math.isnan(value) if scale.ricci_coef is None else value == scale.ricci_coef


def test_same_config_gives_the_same_result(result):
    again = run_trial(config())
    assert again.accuracy_test == result.accuracy_test
    assert [s.ricci_coef for s in again.scales] == [s.ricci_coef for s in result.scales]
    assert [s.ric for s in again.scales] == [s.ric for s in result.scales]


def test_record_says_when_the_trial_began_and_how_long_it_took_in_all(result):
    began = datetime.fromisoformat(result.started_at)
    assert began.tzinfo is not None
    assert timedelta(0) <= datetime.now(UTC) - began < timedelta(minutes=10)
    # The whole trial covers its training and its geometry, and more (data, network).
    assert result.seconds_total > result.seconds_train + result.seconds_geometry
    assert result.epochs_trained == 3  # the paper recipe runs all its epochs


def test_record_round_trips_through_a_dict(result):
    assert TrialResult.from_dict(result.to_dict()) == result


def test_hehl_recipe_trial():
    hehl = {"name": "hehl", "learning_rate": 1e-2, "target_accuracy": 0.9, "max_epochs": 200}
    result = run_trial(config(dataset="hehl-1", recipe=hehl, ks=(10,)))
    # Full-batch Adam stops at the first step whose training accuracy reaches the target.
    assert 0.9 <= result.accuracy_train < 0.95
    assert result.accuracy_val is None  # nothing is held out in this recipe
    # It says how many steps that took: fewer than the cap, since the target was reached.
    assert 1 <= result.epochs_trained < 200
    capped = run_trial(config(dataset="hehl-1", recipe=dict(hehl, max_epochs=3), ks=(10,)))
    assert capped.epochs_trained == 3 and capped.accuracy_train < 0.9
    assert result.scales[0].k == 10


def test_real_images_trial(data_dir):
    result = run_trial(config(dataset="fmnist-5v9", data_dir=str(data_dir), ks=(30,)))
    assert result.accuracy_test > 0.8
    assert len(result.scales[0].ric) == 6


def test_untrained_control_and_geometry_during_training():
    reported = []
    result = run_trial(config(control=True, geometry_every=1), report=reported.append)
    # The control measures the same network at initialisation: same k grid, other values.
    assert [s.k for s in result.init_scales] == [10, 30]
    assert [s.ric for s in result.init_scales] != [s.ric for s in result.scales]
    assert result.metrics().keys() >= {"ricci_coef_init/k10", "ricci_coef_init/k30"}
    # Three epochs, a point after each; the last one is the trained network.
    assert [point["epoch"] for point in result.curve] == [1.0, 2.0, 3.0]
    assert reported == result.curve
    last = result.curve[-1]
    assert last["accuracy/test"] == result.accuracy_test
    for scale in result.scales:
        value = last[f"ricci_coef/k{scale.k}"]
        assert math.isnan(value) if scale.ricci_coef is None else value == scale.ricci_coef


def test_control_does_not_change_the_trained_network(result):
    with_control = run_trial(config(control=True))
    assert with_control.accuracy_test == result.accuracy_test
    assert [s.ric for s in with_control.scales] == [s.ric for s in result.scales]


def test_hehl_local_coefficients_and_other_curvatures():
    result = run_trial(
        config(convention="undirected", curvature="augmented_forman", local_coefficients=True)
    )
    for scale in result.scales:
        assert len(scale.layer_coef) == 5  # input and hidden layers 1 .. 4: each has a next
        if scale.local_coef_mean is not None:
            assert -1 <= scale.local_coef_mean <= 1
            assert 0 <= scale.local_coef_frac_negative <= 1
    forman = run_trial(config(convention="undirected"))
    assert [s.ric for s in forman.scales] != [s.ric for s in result.scales]
