"""The correlation table: counts, filters and statistics on hand-made result tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ricci_ray.analysis import (
    analyze,
    chosen_k,
    correlation_table,
    depth_adjusted,
    ols_accuracy,
    pooled_coefficients,
)
from ricci_ray.analysis.report import build_tables
from ricci_ray.analysis.stats import bootstrap_correlations, depth_adjustment_problem
from ricci_ray.errors import ConfigError
from ricci_ray.sinks.parquet import ParquetStore
from tests.helpers import make_result


def frame(rows):
    return pd.DataFrame(rows, columns=["dataset", "k", "accuracy_test", "ricci_coef", "status"])


def planted(n: int, slope: float, seed: int = 0) -> pd.DataFrame:
    """Networks whose accuracy depends on rho by ``slope`` plus noise, all well trained."""
    rng = np.random.default_rng(seed)
    rho = rng.uniform(-0.9, 0.2, n)
    accuracy = 0.995 + slope * rho + rng.normal(0, 0.0005, n)
    return frame(
        [("baptista-a", 10, a, r, "ok") for a, r in zip(np.clip(accuracy, 0, 1), rho, strict=True)]
    )


def test_planted_negative_relation_is_recovered():
    table = correlation_table(planted(80, slope=-0.004, seed=1))
    row = table.iloc[0]
    assert row.n_defined == 80
    assert row.pearson_r < -0.8 and row.pearson_p < 1e-6
    assert row.spearman_r < -0.8 and row.spearman_p < 1e-6


def test_no_relation_is_not_claimed():
    table = correlation_table(planted(80, slope=0.0, seed=2))
    row = table.iloc[0]
    assert abs(row.pearson_r) < 0.3 and row.pearson_p > 0.01


def test_counts_filters_and_fraction_negative():
    rows = [
        ("baptista-a", 10, 0.999, -0.5, "ok"),
        ("baptista-a", 10, 0.998, -0.2, "ok"),
        ("baptista-a", 10, 0.997, 0.4, "ok"),
        ("baptista-a", 10, 0.996, None, "undefined"),  # well trained, no coefficient
        ("baptista-a", 10, 0.950, -0.9, "ok"),  # below the 0.99 threshold
        ("baptista-a", 10, None, None, "failed"),
        ("baptista-a", 30, 0.999, -0.1, "ok"),
    ]
    table = correlation_table(frame(rows)).set_index("k")
    first = table.loc[10]
    assert (first.n_networks, first.n_failed, first.n_well_trained, first.n_defined) == (
        5,
        1,
        4,
        3,
    )
    assert first.frac_negative == pytest.approx(2 / 3)
    expected = stats.pearsonr([-0.5, -0.2, 0.4], [0.999, 0.998, 0.997])
    assert first.pearson_r == pytest.approx(expected.statistic)
    assert first.pearson_p == pytest.approx(expected.pvalue)
    # One network is too few for a correlation: reported as NaN, not as 0.
    assert table.loc[30].n_defined == 1 and math.isnan(table.loc[30].pearson_r)

    everyone = correlation_table(frame(rows), well_trained_only=False).set_index("k")
    assert everyone.loc[10].n_defined == 4


def test_threshold_override_and_constant_accuracy():
    rows = [("baptista-a", 10, 1.0, r, "ok") for r in (-0.3, -0.2, -0.1)]
    table = correlation_table(frame(rows))
    assert table.iloc[0].n_defined == 3 and math.isnan(table.iloc[0].spearman_r)
    strict = correlation_table(frame(rows), thresholds={"baptista-a": 1.0})
    assert strict.iloc[0].n_well_trained == 0


def test_analyze_reads_parquet_and_writes_csv(tmp_path):
    store = ParquetStore(tmp_path)
    for seed, coef in enumerate([-0.6, -0.3, 0.1]):
        store.write("s", make_result(seed, coef=coef))
    table, target = analyze(tmp_path)
    assert target == tmp_path / "analysis" / "correlations.csv"
    written = pd.read_csv(target)
    assert written.k.tolist() == [10, 30]
    assert written.n_networks.tolist() == [3, 3]
    assert written.loc[0, "frac_negative"] == pytest.approx(2 / 3)
    assert table.shape == written.shape


def test_analyze_warns_when_networks_differ_only_in_their_configuration(tmp_path, caplog):
    import dataclasses

    store = ParquetStore(tmp_path)
    for seed in range(3):
        store.write("s", make_result(seed))
    analyze(tmp_path)
    assert "configurations" not in caplog.text
    # Seed 0 again with another recipe: a different trial, the same network otherwise.
    first = make_result(0)
    config = dict(first.config, recipe=dict(first.config["recipe"], epochs=3))
    store.write("s", dataclasses.replace(first, trial_id="other-recipe", config=config))
    analyze(tmp_path)
    assert "1 networks (data set, architecture, seed) were trained in up to 2" in caplog.text


# ---------------------------------------------------------------------------------------
# The report's statistics: pooled coefficients, chosen k, depth adjustment, regression.


def exact_pair(rho: float, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two series of length ``n`` whose Pearson correlation is exactly ``rho``."""
    x = rng.normal(size=n)
    x = (x - x.mean()) / x.std()
    noise = rng.normal(size=n)
    noise -= noise.mean()
    noise -= (noise @ x) / (x @ x) * x
    noise /= noise.std()
    return x, rho * x + math.sqrt(1 - rho * rho) * noise


def synthetic_sweep(
    *,
    slope: float,
    seed: int = 0,
    n_seeds: int = 6,
    ks: tuple[int, ...] = (10,),
    init: bool = False,
    hehl: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``results`` and ``layers`` frames of 8 cells × ``n_seeds`` well-trained networks.

    Each network draws ρ in (−0.9, 0.5) and gets per-layer series with exactly that ρ at
    every k; its test accuracy is 0.995 + ``slope`` · z_printed + noise (sd 0.0005).
    """
    rng = np.random.default_rng(seed)
    results, layers = [], []
    for dataset in ("baptista-a", "fmnist-5v9"):
        for width in ("narrow", "wide"):
            for depth in (5, 11):
                for network_seed in range(n_seeds):
                    trial_id = f"{dataset}_{width}_d{depth}_s{network_seed}"
                    rho = rng.uniform(-0.9, 0.5)
                    z_printed = math.atanh(rho) / math.sqrt(depth - 4)
                    accuracy = 0.995 + slope * z_printed + rng.normal(0, 0.0005)
                    network = {
                        "sweep": "s",
                        "trial_id": trial_id,
                        "dataset": dataset,
                        "width": width,
                        "depth": depth,
                        "seed": network_seed,
                    }
                    for k in ks:
                        ric, eta = exact_pair(rho, depth - 1, rng)
                        row = {
                            **network,
                            "k": k,
                            "accuracy_test": accuracy,
                            "ricci_coef": rho,
                            "status": "ok",
                            "reason": None,
                        }
                        if init:
                            row["ricci_coef_init"] = rng.uniform(-0.6, 0.2)
                        if hehl:
                            row["local_coef_mean"] = rng.uniform(-0.2, 0.1)
                            row["local_coef_frac_negative"] = rng.uniform(0.3, 0.7)
                        results.append(row)
                        ric_all = np.r_[rng.normal(), ric, rng.normal()] * 100 - 1000 * k
                        for layer in range(depth + 1):
                            layer_row = {
                                **network,
                                "k": k,
                                "layer": layer,
                                "ric": ric_all[layer],
                                "g": 1000.0 + layer,
                                "n_components": 1,
                                "eta": eta[layer - 1] * 50 if 1 <= layer < depth else None,
                            }
                            if hehl:
                                layer_row["layer_coef"] = (
                                    rng.normal(-0.1, 0.2) if layer < depth else None
                                )
                            layers.append(layer_row)
    return pd.DataFrame(results), pd.DataFrame(layers)


def test_depth_adjusted_known_values():
    rho = np.array([0.5, 0.5, -0.5, 0.5, 1.0, -1.0, np.nan])
    depth = np.array([5, 8, 8, 4, 8, 8, 8])
    half = math.atanh(0.5)  # 0.5493...
    # L = 5: √(L−4) = 1, both variants are artanh(ρ); L = 8: √4 = 2.
    printed = [half, half / 2, -half / 2, np.nan, np.nan, np.nan, np.nan]
    fisher = [half, half * 2, -half * 2, np.nan, np.nan, np.nan, np.nan]
    np.testing.assert_allclose(depth_adjusted(rho, depth), printed)
    np.testing.assert_allclose(depth_adjusted(rho, depth, "fisher"), fisher)
    assert depth_adjustment_problem(0.5, 4).startswith("depth 4 ≤ 4")
    assert depth_adjustment_problem(-1.0, 8).startswith("|ρ_k| = 1")
    assert depth_adjustment_problem(0.3, 5) is None
    with pytest.raises(ConfigError, match="depth_adjustment: allowed: 'printed' or 'fisher'"):
        depth_adjusted(rho, depth, "plain")


def tiny_sweep() -> tuple[pd.DataFrame, pd.DataFrame]:
    """One cell (baptista-a, narrow, L = 4), k 10 and 30, four networks:

    a and b well trained with ρ defined at both k; c well trained but ρ undefined at
    k = 30; d below the 0.99 threshold (its layers must not enter the pooled value).
    """
    base = {"sweep": "s", "dataset": "baptista-a", "width": "narrow", "depth": 4}
    per_layer = {  # (trial, k) -> (Ric_1..3, η_1..3)
        ("a", 10): ([1.0, 2.0, 3.0], [3.0, 2.0, 2.0]),
        ("b", 10): ([2.0, 3.0, 4.0], [2.0, 1.0, 0.0]),
        ("c", 10): ([5.0, 1.0, 2.0], [4.0, 1.0, 1.0]),
        ("d", 10): ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),
        ("a", 30): ([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]),
        ("b", 30): ([3.0, 1.0, 2.0], [1.0, 3.0, 2.0]),
        ("c", 30): ([1.0, 1.0, 1.0], [1.0, 1.0, 1.0]),
        ("d", 30): ([3.0, 2.0, 1.0], [1.0, 2.0, 3.0]),
    }
    accuracy = {"a": 0.999, "b": 0.995, "c": 0.998, "d": 0.95}
    results, layers = [], []
    for seed, (trial, k) in enumerate(per_layer):
        ric, eta = per_layer[(trial, k)]
        defined = not (trial == "c" and k == 30)
        rho = stats.pearsonr(ric, eta).statistic if defined else None
        results.append(
            {
                **base,
                "trial_id": trial,
                "seed": seed % 4,
                "k": k,
                "accuracy_test": accuracy[trial],
                "ricci_coef": rho,
                "status": "ok" if defined else "undefined",
                "reason": None if defined else "constant curvature series",
            }
        )
        ric_all = [0.0, *ric, 0.0]
        for layer in range(5):
            eta_l = eta[layer - 1] if 1 <= layer <= 3 and defined else None
            layers.append(
                {**base, "trial_id": trial, "k": k, "layer": layer, "ric": ric_all[layer]}
                | {"eta": eta_l}
            )
    return pd.DataFrame(results), pd.DataFrame(layers)


def test_pooled_coefficient_pools_well_trained_defined_networks():
    results, layers = tiny_sweep()
    pooled = pooled_coefficients(results, layers).set_index("k")
    # k = 10 pools a, b, c (d is not well trained): 9 pairs.
    at_10 = stats.pearsonr([1, 2, 3, 2, 3, 4, 5, 1, 2], [3, 2, 2, 2, 1, 0, 4, 1, 1])
    # k = 30 pools a and b (c's ρ is undefined there): 6 pairs.
    at_30 = stats.pearsonr([1, 2, 3, 3, 1, 2], [1, 2, 4, 1, 3, 2])
    assert pooled.loc[10, "n_networks"] == 3 and pooled.loc[10, "n_pairs"] == 9
    assert pooled.loc[30, "n_networks"] == 2 and pooled.loc[30, "n_pairs"] == 6
    assert pooled.loc[10, "pooled_rho"] == pytest.approx(at_10.statistic)
    assert pooled.loc[30, "pooled_rho"] == pytest.approx(at_30.statistic)

    chosen = chosen_k(pooled.reset_index())
    # 0.165 < 0.191: the lower one is chosen even though neither is negative.
    assert at_10.statistic < at_30.statistic
    assert chosen[["k", "n_test"]].values.tolist() == [[10, 1000]]
    assert chosen.iloc[0].k_fraction == pytest.approx(0.01)


def test_chosen_k_ties_go_to_the_smaller_k_and_undefined_cells_are_left_out():
    pooled = pd.DataFrame(
        {
            "dataset": ["baptista-a"] * 4,
            "width": ["narrow", "narrow", "narrow", "wide"],
            "depth": [5, 5, 5, 5],
            "k": [10, 30, 50, 10],
            "n_networks": [2, 2, 2, 0],
            "n_pairs": [8, 8, 8, 0],
            "pooled_rho": [-0.4, -0.4, 0.1, np.nan],
            "pooled_p": [0.1, 0.1, 0.5, np.nan],
        }
    )
    chosen = chosen_k(pooled)
    assert chosen[["width", "k"]].values.tolist() == [["narrow", 10]]


def test_network_table_drop_reasons_and_depth_guard():
    results, layers = tiny_sweep()
    tables = build_tables(results, layers, bootstrap=0)
    networks = tables.networks.set_index("trial_id")
    assert networks["chosen_k"].tolist() == [10, 10, 10, 10]
    assert networks.loc["d", "dropped"] == "not well trained"
    assert networks["analysed"].tolist() == [True, True, True, False]
    # L = 4 has no depth-adjusted value: analysed, counted, left out of the regression.
    assert networks.loc[["a", "b", "c"], "z_printed"].isna().all()
    assert networks.loc["a", "z_dropped"].startswith("depth 4")
    headline = tables.headline
    assert headline["n"] == 0 and "0 networks" in headline["reason"]
    overall = tables.overall
    assert (overall["n_well_trained"], overall["n_analysed"], overall["n_negative"]) == (3, 3, 2)


def test_ols_matches_least_squares_by_hand():
    # Two data sets, one width (dropped from the formula), two depths; 10 networks.
    rng = np.random.default_rng(3)
    n = 10
    frame = pd.DataFrame(
        {
            "dataset": ["baptista-a", "fmnist-5v9"] * 5,
            "width": ["narrow"] * n,
            "depth": [5, 5, 11, 11, 5, 11, 5, 11, 5, 11],
            "z": rng.normal(size=n),
        }
    )
    frame["accuracy_test"] = 0.99 - 0.003 * frame.z + rng.normal(0, 0.001, n)
    fit = ols_accuracy(frame, "z")
    assert fit["formula"] == "accuracy_test ~ z + C(dataset) + C(depth)"

    design = np.column_stack(
        [np.ones(n), frame.z, frame.dataset == "fmnist-5v9", frame.depth == 11]
    ).astype(float)
    y = frame.accuracy_test.to_numpy()
    beta, rss, *_ = np.linalg.lstsq(design, y, rcond=None)
    dof = n - design.shape[1]
    std_error = math.sqrt(rss[0] / dof * np.linalg.inv(design.T @ design)[1, 1])
    t = beta[1] / std_error
    assert fit["n"] == n and fit["reason"] is None
    assert fit["coefficient"] == pytest.approx(beta[1])
    assert fit["std_error"] == pytest.approx(std_error)
    assert fit["t"] == pytest.approx(t)
    assert fit["p"] == pytest.approx(2 * stats.t.sf(abs(t), dof))


def test_ols_reports_why_it_cannot_fit():
    frame = pd.DataFrame(
        {
            "dataset": ["baptista-a"] * 3,
            "width": ["narrow"] * 3,
            "depth": [5] * 3,
            "z": [0.1, 0.2, 0.3],
            "accuracy_test": [1.0, 1.0, 1.0],
        }
    )
    assert ols_accuracy(frame, "z")["reason"] == "constant accuracy"
    assert "2 networks for 2 parameters" in ols_accuracy(frame.iloc[:2], "z")["reason"]
    assert math.isnan(ols_accuracy(frame, "z")["t"])


def test_planted_relation_is_recovered_by_the_regression():
    results, layers = synthetic_sweep(slope=-0.002, seed=5)
    tables = build_tables(results, layers, bootstrap=0)
    headline = tables.headline
    assert headline["n"] == 48
    assert headline["formula"] == ("accuracy_test ~ z_printed + C(dataset) + C(width) + C(depth)")
    assert headline["coefficient"] == pytest.approx(-0.002, rel=0.2)
    assert headline["t"] < -5 and headline["p"] < 1e-4


def test_no_relation_is_not_claimed_by_the_regression():
    results, layers = synthetic_sweep(slope=0.0, seed=6)
    headline = build_tables(results, layers, bootstrap=0).headline
    assert headline["n"] == 48 and headline["p"] > 0.05


def test_bootstrap_intervals_cover_the_estimate_and_are_seeded():
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    y = 0.6 * x + rng.normal(size=40)
    first = bootstrap_correlations(x, y, n_resamples=500, seed=1)
    again = bootstrap_correlations(x, y, n_resamples=500, seed=1)
    assert first == again
    assert first["pearson_low"] < first["pearson_r"] < first["pearson_high"]
    assert first["spearman_low"] < first["spearman_r"] < first["spearman_high"]
    assert first["pearson_r"] == pytest.approx(stats.pearsonr(x, y).statistic)
    assert math.isnan(bootstrap_correlations(x, y, n_resamples=0)["pearson_low"])
