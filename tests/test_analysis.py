"""The correlation table: counts, filters and statistics on hand-made result tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ricci_ray.analysis import analyze, correlation_table
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
