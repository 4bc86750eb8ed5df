"""The quick correlation table: ρ_k against test accuracy per (data set, k).

For every (data set, k) the table counts the networks, the well-trained ones (test
accuracy above the data set's threshold, Baptista et al. 2024), the share of those with a negative
Ricci coefficient ρ_k, and the Pearson and Spearman correlations of ρ_k with test
accuracy over the well-trained networks whose ρ_k is defined.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ricci_ray.sinks.parquet import load_table
from ricci_ray.trial import STATUS_FAILED

logger = logging.getLogger(__name__)

COLUMNS = [
    "dataset",
    "convention",
    "curvature",
    "k",
    "threshold",
    "n_networks",
    "n_failed",
    "n_well_trained",
    "n_defined",
    "frac_negative",
    "pearson_r",
    "pearson_p",
    "spearman_r",
    "spearman_p",
]


def thresholds_for(datasets, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """The well-trained threshold of each data set: the registry's, unless overridden."""
    from ricci_ray.data import DATASETS

    out = {}
    for name in datasets:
        if overrides and name in overrides:
            out[name] = float(overrides[name])
        elif name in DATASETS:
            out[name] = DATASETS[name].accuracy_threshold
        else:
            out[name] = math.nan  # an unknown data set has no threshold: nothing passes
    return out


def correlate(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """(Pearson r, p, Spearman r, p); NaN when under 3 points or either series is constant."""
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return (math.nan,) * 4
    pearson = stats.pearsonr(x, y)
    spearman = stats.spearmanr(x, y)
    return (
        float(pearson.statistic),
        float(pearson.pvalue),
        float(spearman.statistic),
        float(spearman.pvalue),
    )


def correlation_table(
    results: pd.DataFrame,
    *,
    thresholds: Mapping[str, float] | None = None,
    well_trained_only: bool = True,
) -> pd.DataFrame:
    """One row per (data set, k) with the columns of :data:`COLUMNS`.

    ``results`` is the ``results`` table (one row per trial and k). With
    ``well_trained_only=False`` every non-failed network enters the statistics.
    """
    limits = thresholds_for(results["dataset"].unique(), thresholds)
    rows = []
    # Networks measured with another graph convention or curvature are other measurements:
    # never pooled together (files written before these columns existed read as null).
    keys = ["dataset", "convention", "curvature", "k"]
    results = results.assign(
        **{key: results[key] if key in results else None for key in keys[1:3]}
    )
    for (dataset, convention, curvature, k), group in results.groupby(
        keys, sort=True, dropna=False
    ):
        ran = group[group["status"] != STATUS_FAILED]
        accuracy = ran["accuracy_test"].astype(float)
        passed = ran[accuracy > limits[dataset]] if well_trained_only else ran
        defined = passed[passed["ricci_coef"].notna()]
        coef = defined["ricci_coef"].to_numpy(dtype=float)
        acc = defined["accuracy_test"].to_numpy(dtype=float)
        rows.append(
            {
                "dataset": dataset,
                "convention": convention,
                "curvature": curvature,
                "k": int(k),
                "threshold": limits[dataset],
                "n_networks": len(ran),
                "n_failed": len(group) - len(ran),
                "n_well_trained": int((accuracy > limits[dataset]).sum()),
                "n_defined": len(defined),
                "frac_negative": float((coef < 0).mean()) if len(coef) else math.nan,
                **dict(zip(COLUMNS[-4:], correlate(coef, acc), strict=True)),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _warn_of_variants(results: pd.DataFrame) -> None:
    """Say so when networks differ only in their configuration (recipe, graph convention,
    data seed, ...): the correlations pool them as if they were further seeds."""
    if results.empty:
        return
    network = ["dataset", "width", "depth", "seed"]
    per_network = results.groupby(network)["trial_id"].nunique()
    shared = per_network[per_network > 1]
    if not shared.empty:
        logger.warning(
            "%d networks (data set, architecture, seed) were trained in up to %d "
            "configurations (recipe, graph convention or data seed); the correlations pool "
            "them all: pick one with --sweep, or give each variant a sweep of its own",
            len(shared),
            int(shared.max()),
        )


def analyze(
    out_dir: str | Path,
    *,
    thresholds: Mapping[str, float] | None = None,
    well_trained_only: bool = True,
    sweeps: list[str] | None = None,
) -> tuple[pd.DataFrame, Path]:
    """Read a sweep output folder, compute the table, write it as CSV; return both."""
    out_dir = Path(out_dir)
    results = load_table(out_dir, "results", sweeps)
    _warn_of_variants(results)
    table = correlation_table(results, thresholds=thresholds, well_trained_only=well_trained_only)
    target = out_dir / "analysis" / "correlations.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(target, index=False)
    return table, target
