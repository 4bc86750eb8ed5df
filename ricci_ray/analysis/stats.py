"""The statistics of the report, on pandas frames read from a sweep's Parquet output.

Steps, in the order of the paper (Baptista et al. 2024): keep the well-trained networks; pool the
(Ric_l, η_l) pairs of a cell (data set × width × depth) at each k and pick the k with the
most negative pooled coefficient; read every network's ρ_k at its cell's chosen k; adjust
it for depth; regress test accuracy on it with the architecture as categorical controls.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from ricci_ray.analysis.table import correlate, thresholds_for
from ricci_ray.errors import ConfigError
from ricci_ray.geometry.coefficient import depth_adjusted_values
from ricci_ray.trial import STATUS_FAILED

CELL = ["dataset", "width", "depth"]
VARIANTS = ("printed", "fisher")
# |ρ| this close to 1 counts as 1: artanh would be infinite or a meaningless 15-20.
UNIT_TOLERANCE = 1e-9
# Per-(trial, k) columns that later schema versions add; read at the chosen k when present.
OPTIONAL_COLUMNS = ("ricci_coef_init", "local_coef_mean", "local_coef_frac_negative")


def network_key(frame: pd.DataFrame) -> list[str]:
    """Columns that identify a network: the trial id, within its sweep when known."""
    return ["sweep", "trial_id"] if "sweep" in frame.columns else ["trial_id"]


def has_values(frame: pd.DataFrame, column: str) -> bool:
    """Whether ``column`` exists in ``frame`` and holds at least one value."""
    return column in frame.columns and bool(frame[column].notna().any())


def well_trained(results: pd.DataFrame, thresholds: Mapping[str, float] | None = None):
    """Boolean Series over ``results`` rows: not failed and test accuracy > the threshold."""
    limits = thresholds_for(results["dataset"].unique(), thresholds)
    accuracy = results["accuracy_test"].astype(float)
    return (results["status"] != STATUS_FAILED) & (accuracy > results["dataset"].map(limits))


def pooled_coefficients(
    results: pd.DataFrame,
    layers: pd.DataFrame,
    *,
    thresholds: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The pooled coefficient of every (cell, k), Baptista et al. 2024.

    One Pearson correlation of (Ric_l, η_l) over all (network, l), l = 1 … L−1, of the
    cell's well-trained networks whose ρ_k is defined. Columns: ``dataset``, ``width``,
    ``depth``, ``k``, ``n_networks`` (networks pooled), ``n_pairs``, ``pooled_rho``,
    ``pooled_p``; one row per (cell, k) present in ``results``, NaN where undefined.
    """
    key = network_key(results)
    usable = results[well_trained(results, thresholds) & results["ricci_coef"].notna()]
    pairs = layers[
        layers["eta"].notna() & (layers["layer"] >= 1) & (layers["layer"] <= layers["depth"] - 1)
    ]
    pairs = pairs.merge(usable[[*key, "k"]], on=[*key, "k"])

    rows = []
    grid = results[[*CELL, "k"]].drop_duplicates().sort_values([*CELL, "k"])
    grouped = dict(tuple(pairs.groupby([*CELL, "k"], sort=False)))
    for cell_k in grid.itertuples(index=False, name=None):
        group = grouped.get(cell_k)
        if group is None:
            group = pairs.iloc[:0]
        ric = group["ric"].to_numpy(dtype=float)
        eta = group["eta"].to_numpy(dtype=float)
        r, p = correlate(ric, eta)[:2]
        rows.append(
            {
                **dict(zip([*CELL, "k"], cell_k, strict=True)),
                "n_networks": group.drop_duplicates(key).shape[0],
                "n_pairs": len(group),
                "pooled_rho": r,
                "pooled_p": p,
            }
        )
    columns = [*CELL, "k", "n_networks", "n_pairs", "pooled_rho", "pooled_p"]
    return pd.DataFrame(rows, columns=columns).astype({"depth": int, "k": int})


def chosen_k(pooled: pd.DataFrame) -> pd.DataFrame:
    """Per cell, the k whose pooled coefficient is most negative (ties: the smaller k).

    Cells without any defined pooled coefficient have no chosen k and are left out.
    Adds ``n_test`` and ``k_fraction`` (k / test-set size) from the data-set registry.
    """
    from ricci_ray.data import DATASETS

    defined = pooled[pooled["pooled_rho"].notna()].sort_values([*CELL, "pooled_rho", "k"])
    chosen = defined.groupby(CELL, sort=True).head(1).reset_index(drop=True)
    n_test = chosen["dataset"].map(
        lambda name: DATASETS[name].n_test if name in DATASETS else math.nan
    )
    chosen = chosen.assign(n_test=n_test.astype(float))
    return chosen.assign(k_fraction=chosen["k"] / chosen["n_test"])


def depth_adjusted(rho, depth, variant: str = "printed") -> np.ndarray:
    """The depth-adjusted coefficient of Baptista et al. 2024, NaN where undefined.

    ``printed``: z = artanh(ρ) / √(L − 4), as the paper prints it; ``fisher``:
    z = artanh(ρ) · √(L − 4). Undefined (NaN) for L ≤ 4 and |ρ| = 1; such networks are
    dropped from the regression and counted, not clipped. The formula lives in
    :func:`ricci_ray.geometry.depth_adjusted_values`; ``rho`` and ``depth`` broadcast.
    """
    if variant not in VARIANTS:
        raise ConfigError(f"depth_adjustment: allowed: 'printed' or 'fisher'; given: {variant!r}")
    return depth_adjusted_values(rho, depth, variant)


def depth_adjustment_problem(rho: float, depth: int) -> str | None:
    """Why :func:`depth_adjusted` is undefined for one network, or None when it is defined."""
    if not np.isfinite(rho):
        return "ρ_k undefined"
    if depth <= 4:
        return f"depth {depth} ≤ 4: √(L − 4) undefined"
    if abs(rho) >= 1 - UNIT_TOLERANCE:
        return "|ρ_k| = 1: artanh infinite"
    return None


def ols_accuracy(frame: pd.DataFrame, column: str) -> dict[str, object]:
    """OLS of test accuracy on ``column`` + C(dataset) + C(width) + C(depth), as in the paper.

    Rows with a missing value are left out; a categorical control with a single level is
    dropped from the formula. Returns the coefficient of ``column`` with its standard
    error, t, p, n, R², the formula and ``reason`` (None, or why the fit is undefined:
    too few networks, a constant series, or a coefficient not identifiable).
    """
    data = frame[["accuracy_test", column, *CELL]].dropna()
    controls = [name for name in CELL if data[name].nunique() > 1]
    formula = " + ".join([f"accuracy_test ~ {column}", *(f"C({name})" for name in controls)])
    n_params = 2 + sum(data[name].nunique() - 1 for name in controls)
    out: dict[str, object] = {
        "variable": column,
        "formula": formula,
        "n": len(data),
        "coefficient": math.nan,
        "std_error": math.nan,
        "t": math.nan,
        "p": math.nan,
        "r_squared": math.nan,
        "reason": None,
    }
    x = data[column].to_numpy(dtype=float)
    y = data["accuracy_test"].to_numpy(dtype=float)
    if len(data) <= n_params:
        out["reason"] = f"{len(data)} networks for {n_params} parameters"
        return out
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        out["reason"] = "constant " + ("accuracy" if np.ptp(y) == 0 else column)
        return out

    import statsmodels.formula.api as smf

    with np.errstate(all="ignore"):
        fit = smf.ols(formula, data=data).fit()
    if np.linalg.matrix_rank(fit.model.exog) < fit.model.exog.shape[1]:
        out["reason"] = f"{column} is collinear with the categorical controls"
        return out
    out.update(
        coefficient=float(fit.params[column]),
        std_error=float(fit.bse[column]),
        t=float(fit.tvalues[column]),
        p=float(fit.pvalues[column]),
        r_squared=float(fit.rsquared),
    )
    return out


def bootstrap_correlations(
    x: np.ndarray, y: np.ndarray, *, n_resamples: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Pearson and Spearman r of paired samples ``x``, ``y`` (shape ``(n,)``) with p values
    and percentile-bootstrap 95% intervals (networks resampled with replacement).

    Resamples in which either series is constant are skipped; with fewer than half of
    them usable, or ``n_resamples = 0``, the interval is NaN.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    pearson_r, pearson_p, spearman_r, spearman_p = correlate(x, y)
    out = {
        "n": len(x),
        "pearson_r": pearson_r,
        "pearson_low": math.nan,
        "pearson_high": math.nan,
        "pearson_p": pearson_p,
        "spearman_r": spearman_r,
        "spearman_low": math.nan,
        "spearman_high": math.nan,
        "spearman_p": spearman_p,
    }
    if n_resamples <= 0 or math.isnan(pearson_r):
        return out
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(x), size=(n_resamples, len(x)))
    xs, ys = x[index], y[index]
    usable = (np.ptp(xs, axis=1) > 0) & (np.ptp(ys, axis=1) > 0)
    if usable.sum() < n_resamples / 2:
        return out
    xs, ys = xs[usable], ys[usable]
    for name, (a, b) in {
        "pearson": (xs, ys),
        "spearman": (stats.rankdata(xs, axis=1), stats.rankdata(ys, axis=1)),
    }.items():
        low, high = np.percentile(_rowwise_pearson(a, b), [2.5, 97.5])
        out[f"{name}_low"], out[f"{name}_high"] = float(low), float(high)
    return out


def _rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair of ``a`` and ``b`` (shape ``(m, n)``) -> shape ``(m,)``."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    r = (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.clip(r, -1.0, 1.0)


def paired_control(trained: np.ndarray, initial: np.ndarray) -> dict[str, float]:
    """Trained against initial ρ_k of the same networks: summaries and a paired Wilcoxon test.

    ``trained`` and ``initial`` have shape ``(n,)``, one entry per network.
    """
    trained = np.asarray(trained, dtype=float)
    initial = np.asarray(initial, dtype=float)
    out = {
        "n": len(trained),
        "mean_trained": float(trained.mean()) if len(trained) else math.nan,
        "mean_initial": float(initial.mean()) if len(initial) else math.nan,
        "median_trained": float(np.median(trained)) if len(trained) else math.nan,
        "median_initial": float(np.median(initial)) if len(initial) else math.nan,
        "frac_negative_trained": float((trained < 0).mean()) if len(trained) else math.nan,
        "frac_negative_initial": float((initial < 0).mean()) if len(initial) else math.nan,
        "wilcoxon_statistic": math.nan,
        "wilcoxon_p": math.nan,
    }
    if len(trained) < 2 or np.all(trained == initial):
        return out
    with warnings.catch_warnings():
        # Small samples with ties fall back to the normal approximation, with a warning.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        test = stats.wilcoxon(trained, initial)
    out["wilcoxon_statistic"] = float(test.statistic)
    out["wilcoxon_p"] = float(test.pvalue)
    return out
