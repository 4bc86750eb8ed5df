"""The study report of a sweep: tables, figures and ``report.md`` in one folder.

:func:`build_tables` turns the ``results`` and ``layers`` frames into the report's tables
(no disk access); :func:`write_report` reads a sweep output folder, writes the tables as
CSV and Parquet, draws the figures and writes ``report.md`` next to them. Sections whose
columns a sweep did not record (the untrained control ``ricci_coef_init``, Hehl's local
coefficients) are reported as absent, never as an error.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ricci_ray.analysis import figures
from ricci_ray.analysis.stats import (
    CELL,
    OPTIONAL_COLUMNS,
    VARIANTS,
    bootstrap_correlations,
    chosen_k,
    depth_adjusted,
    depth_adjustment_problem,
    has_values,
    network_key,
    ols_accuracy,
    paired_control,
    pooled_coefficients,
    well_trained,
)
from ricci_ray.analysis.table import thresholds_for
from ricci_ray.errors import ConfigError
from ricci_ray.trial import STATUS_FAILED

logger = logging.getLogger(__name__)

# The chosen k as a fraction of the test-set size in Baptista et al. 2024, by task family.
PAPER_K_FRACTIONS = {
    "baptista-a": (0.03, 0.10),
    "baptista-b": (0.006, 0.01),
    "baptista-c": (0.006, 0.05),
    "mnist": (0.16, 0.25),
    "fmnist": (0.125, 0.25),
}
ALL = "all"
_N_SCATTER = 4


@dataclass
class ReportTables:
    """Everything the report states, as frames (optional sections are None when absent)."""

    results: pd.DataFrame
    layers: pd.DataFrame
    thresholds: dict[str, float]
    depth_adjustment: str
    pooled: pd.DataFrame
    chosen: pd.DataFrame
    networks: pd.DataFrame
    fraction_negative: pd.DataFrame
    regression: pd.DataFrame
    correlations: pd.DataFrame
    layer_rows: pd.DataFrame
    control: pd.DataFrame | None = None
    hehl_local: pd.DataFrame | None = None
    hehl_layers: pd.DataFrame | None = None

    @property
    def analysed(self) -> pd.DataFrame:
        return self.networks[self.networks["analysed"]]

    @property
    def overall(self) -> dict[str, object]:
        """The ``all`` row of the fraction-negative table, counts as ints."""
        row = self.fraction_negative.set_index("dataset").loc[ALL].to_dict()
        return {key: int(v) if key.startswith("n_") else v for key, v in row.items()}

    @property
    def headline(self) -> dict[str, object]:
        row = self.regression[self.regression["headline"]]
        return row.iloc[0].to_dict()


def paper_k_fraction(dataset: str) -> tuple[float, float] | None:
    """The paper's range of chosen k / n_test for a data set's task family, if it has one."""
    if dataset in PAPER_K_FRACTIONS:
        return PAPER_K_FRACTIONS[dataset]
    family = dataset.split("-")[0]
    return PAPER_K_FRACTIONS.get(family)


def network_table(
    results: pd.DataFrame,
    chosen: pd.DataFrame,
    *,
    thresholds: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One row per network with its ρ_k at the cell's chosen k and why it was dropped.

    Columns: the network key, ``dataset``, ``width``, ``depth``, ``seed``,
    ``accuracy_test``, ``failed``, ``well_trained``, ``chosen_k``, ``ricci_coef``,
    ``status`` and ``reason`` at that k, the optional per-(trial, k) columns present in
    ``results``, ``analysed`` and ``dropped`` (the reason, or None when analysed), and the
    depth-adjusted ``z_printed`` and ``z_fisher`` (with ``*_init`` twins for the control).
    """
    key = network_key(results)
    flagged = results.assign(
        well_trained=well_trained(results, thresholds), failed=results["status"] == STATUS_FAILED
    )
    first = flagged.drop_duplicates(key)[[*key, *CELL, "seed", "accuracy_test", "failed"]]
    first = first.merge(
        flagged.groupby(key, as_index=False)["well_trained"].all(), on=key, how="left"
    )
    optional = [name for name in OPTIONAL_COLUMNS if name in results.columns]
    at_k = flagged.merge(chosen[[*CELL, "k"]], on=[*CELL, "k"])
    at_k = at_k[[*key, "k", "ricci_coef", "status", "reason", *optional]]
    nets = first.merge(at_k.rename(columns={"k": "chosen_k"}), on=key, how="left")
    nets["chosen_k"] = nets["chosen_k"].astype("Int64")

    # The first reason that applies is recorded, so they are applied in reverse.
    reasons = [
        (nets["failed"], "trial failed"),
        (~nets["well_trained"], "not well trained"),
        (nets["chosen_k"].isna(), "cell has no k with a defined pooled coefficient"),
        (
            nets["ricci_coef"].isna(),
            "ρ_k undefined at the chosen k: " + nets["reason"].fillna("no value"),
        ),
    ]
    dropped = pd.Series([None] * len(nets), index=nets.index, dtype=object)
    for condition, reason in reversed(reasons):
        dropped = dropped.where(~condition.astype(bool), reason)
    nets["dropped"] = dropped
    nets["analysed"] = dropped.isna()

    for suffix, column in [("", "ricci_coef"), ("_init", "ricci_coef_init")]:
        if column not in nets.columns:
            continue
        for variant in VARIANTS:
            nets[f"z_{variant}{suffix}"] = depth_adjusted(nets[column], nets["depth"], variant)
    nets["z_dropped"] = [
        depth_adjustment_problem(rho, depth) if analysed else None
        for rho, depth, analysed in zip(nets.ricci_coef, nets.depth, nets.analysed, strict=True)
    ]
    return nets.sort_values([*CELL, "seed", *key]).reset_index(drop=True)


def fraction_negative_table(networks: pd.DataFrame) -> pd.DataFrame:
    """Per data set and overall: how many networks reached the analysis and how many of
    those have ρ_k < 0 at the chosen k."""
    rows = []
    groups = [*networks.groupby("dataset", sort=True), (ALL, networks)]
    for dataset, group in groups:
        analysed = group[group["analysed"]]
        passed = group[group["well_trained"] & ~group["failed"]]
        n_negative = int((analysed["ricci_coef"] < 0).sum())
        rows.append(
            {
                "dataset": dataset,
                "n_networks": len(group),
                "n_failed": int(group["failed"].sum()),
                "n_well_trained": len(passed),
                "n_no_chosen_k": int(passed["chosen_k"].isna().sum()),
                "n_undefined": int(
                    (passed["chosen_k"].notna() & passed["ricci_coef"].isna()).sum()
                ),
                "n_analysed": len(analysed),
                "n_negative": n_negative,
                "frac_negative": n_negative / len(analysed) if len(analysed) else math.nan,
            }
        )
    return pd.DataFrame(rows)


def regression_table(networks: pd.DataFrame, depth_adjustment: str) -> pd.DataFrame:
    """The accuracy OLS on every coefficient variant; ``headline`` marks the selected one.

    Rows: trained ρ_k depth-adjusted both ways and unadjusted (a sensitivity check), and
    the same on the initial-weights ρ_k when the control was recorded.
    """
    analysed = networks[networks["analysed"]]
    targets = [("trained", "")]
    if has_values(networks, "ricci_coef_init"):
        targets.append(("initial", "_init"))
    rows = []
    for target, suffix in targets:
        for variant in (*VARIANTS, "none"):
            column = f"ricci_coef{suffix}" if variant == "none" else f"z_{variant}{suffix}"
            fit = ols_accuracy(analysed, column)
            n_missing = int(analysed[column].isna().sum())
            rows.append(
                {
                    "target": target,
                    "adjustment": variant,
                    "headline": target == "trained" and variant == depth_adjustment,
                    **fit,
                    "n_dropped": n_missing,
                }
            )
    return pd.DataFrame(rows)


def correlation_rows(
    networks: pd.DataFrame, depth_adjustment: str, *, bootstrap: int, seed: int
) -> pd.DataFrame:
    """Per data set: Pearson and Spearman of ρ_k (and of its depth-adjusted form) with test
    accuracy over the analysed networks, with bootstrap 95% intervals."""
    rows = []
    analysed = networks[networks["analysed"]]
    for dataset, group in analysed.groupby("dataset", sort=True):
        for column in ("ricci_coef", f"z_{depth_adjustment}"):
            pair = group[[column, "accuracy_test"]].dropna()
            stats = bootstrap_correlations(
                pair[column], pair["accuracy_test"], n_resamples=bootstrap, seed=seed
            )
            rows.append({"dataset": dataset, "variable": column, **stats})
    columns = ["dataset", "variable", "n", "pearson_r", "pearson_low", "pearson_high"]
    columns += ["pearson_p", "spearman_r", "spearman_low", "spearman_high", "spearman_p"]
    return pd.DataFrame(rows, columns=columns)


def control_table(networks: pd.DataFrame) -> pd.DataFrame | None:
    """Trained against initial ρ_k at the chosen k, per data set and overall (or None)."""
    if not has_values(networks, "ricci_coef_init"):
        return None
    analysed = networks[networks["analysed"]]
    rows = []
    for dataset, group in [*analysed.groupby("dataset", sort=True), (ALL, analysed)]:
        pair = group[group["ricci_coef_init"].notna()]
        summary = paired_control(pair["ricci_coef"], pair["ricci_coef_init"])
        rows.append({"dataset": dataset, "n_missing_init": len(group) - len(pair), **summary})
    return pd.DataFrame(rows)


def hehl_local_table(networks: pd.DataFrame) -> pd.DataFrame | None:
    """Hehl's local coefficients at the chosen k, per data set and overall (or None)."""
    if not has_values(networks, "local_coef_mean"):
        return None
    analysed = networks[networks["analysed"] & networks["local_coef_mean"].notna()]
    rows = []
    for dataset, group in [*analysed.groupby("dataset", sort=True), (ALL, analysed)]:
        fraction = group.get("local_coef_frac_negative", pd.Series(dtype=float))
        rows.append(
            {
                "dataset": dataset,
                "n": len(group),
                "mean_local_coef": group["local_coef_mean"].mean(),
                "median_local_coef": group["local_coef_mean"].median(),
                "mean_frac_negative": fraction.mean(),
                "frac_networks_negative_mean": (group["local_coef_mean"] < 0).mean(),
            }
        )
    return pd.DataFrame(rows)


def hehl_layer_table(
    results: pd.DataFrame, layers: pd.DataFrame, thresholds: Mapping[str, float] | None
) -> pd.DataFrame | None:
    """Mean, standard deviation and count of Hehl's per-layer coefficient over the
    well-trained networks, per (data set, depth, k, layer), at every k (or None)."""
    if not has_values(layers, "layer_coef"):
        return None
    key = network_key(results)
    passed = results[well_trained(results, thresholds)][[*key, "k"]]
    rows = layers[layers["layer_coef"].notna()].merge(passed, on=[*key, "k"])
    table = rows.groupby(["dataset", "depth", "k", "layer"], as_index=False)["layer_coef"].agg(
        ["mean", "std", "count"]
    )
    return table.rename(columns={"count": "n"})


def build_tables(
    results: pd.DataFrame,
    layers: pd.DataFrame,
    *,
    thresholds: Mapping[str, float] | None = None,
    depth_adjustment: str = "printed",
    bootstrap: int = 1000,
    seed: int = 0,
) -> ReportTables:
    """Compute every table of the report from the ``results`` and ``layers`` frames."""
    if depth_adjustment not in VARIANTS:
        raise ConfigError(
            f"depth_adjustment: allowed: 'printed' or 'fisher'; given: {depth_adjustment!r}"
        )
    if bootstrap < 0:
        raise ConfigError(f"bootstrap: allowed: an integer >= 0; given: {bootstrap!r}")
    pooled = pooled_coefficients(results, layers, thresholds=thresholds)
    chosen = chosen_k(pooled)
    pooled = pooled.merge(chosen[[*CELL, "k"]].assign(chosen=True), on=[*CELL, "k"], how="left")
    pooled["chosen"] = pooled["chosen"].astype("boolean").fillna(False).astype(bool)
    networks = network_table(results, chosen, thresholds=thresholds)

    key = network_key(results)
    picked = networks[networks["analysed"]][[*key, "chosen_k", "ricci_coef"]]
    layer_rows = layers.merge(
        picked, left_on=[*key, "k"], right_on=[*key, "chosen_k"], how="inner"
    )
    return ReportTables(
        results=results,
        layers=layers,
        thresholds=thresholds_for(sorted(results["dataset"].unique()), thresholds),
        depth_adjustment=depth_adjustment,
        pooled=pooled,
        chosen=chosen,
        networks=networks,
        fraction_negative=fraction_negative_table(networks),
        regression=regression_table(networks, depth_adjustment),
        correlations=correlation_rows(networks, depth_adjustment, bootstrap=bootstrap, seed=seed),
        layer_rows=layer_rows,
        control=control_table(networks),
        hehl_local=hehl_local_table(networks),
        hehl_layers=hehl_layer_table(results, layers, thresholds),
    )


def write_report(
    out_dir: str | Path,
    report_dir: str | Path | None = None,
    *,
    thresholds: Mapping[str, float] | None = None,
    sweeps: list[str] | None = None,
    depth_adjustment: str = "printed",
    bootstrap: int = 1000,
    seed: int = 0,
) -> Path:
    """Analyse the sweep output folder ``out_dir`` and write the report; return report.md.

    ``report_dir`` defaults to ``out_dir/report``. It receives ``report.md``, the tables
    (``pooled``, ``chosen_k``, ``networks``, ``fraction_negative``, ``regression``,
    ``correlations`` and, when recorded, ``control``, ``hehl_local``, ``hehl_layers``)
    as CSV and Parquet, ``summary.json`` (the headline numbers) and ``figures/*.png``.
    ``depth_adjustment`` picks the headline variant (``printed`` or ``fisher``);
    ``bootstrap`` resamples (0: no intervals) use ``seed``.
    """
    from ricci_ray.sinks.parquet import load_table

    out_dir = Path(out_dir)
    report_dir = out_dir / "report" if report_dir is None else Path(report_dir)
    results = load_table(out_dir, "results", sweeps)
    layers = load_table(out_dir, "layers", sweeps)
    tables = build_tables(
        results,
        layers,
        thresholds=thresholds,
        depth_adjustment=depth_adjustment,
        bootstrap=bootstrap,
        seed=seed,
    )

    report_dir.mkdir(parents=True, exist_ok=True)
    for name, table in [
        ("pooled", tables.pooled),
        ("chosen_k", tables.chosen),
        ("networks", tables.networks),
        ("fraction_negative", tables.fraction_negative),
        ("regression", tables.regression),
        ("correlations", tables.correlations),
        ("control", tables.control),
        ("hehl_local", tables.hehl_local),
        ("hehl_layers", tables.hehl_layers),
    ]:
        if table is not None:
            table.to_csv(report_dir / f"{name}.csv", index=False)
            table.to_parquet(report_dir / f"{name}.parquet", index=False)
    drawn = draw_figures(tables, report_dir / "figures")
    (report_dir / "summary.json").write_text(json.dumps(summary(tables), indent=2) + "\n")
    target = report_dir / "report.md"
    target.write_text(render_markdown(tables, drawn, out_dir=out_dir, sweeps=sweeps))
    logger.info("report written: %s", target)
    return target


def draw_figures(tables: ReportTables, folder: Path) -> dict[str, list[Path]]:
    """Draw every figure the data allow; returns section name -> PNG paths."""
    drawn: dict[str, list[Path]] = {
        name: [] for name in ("heatmap", "boxes", "scatter", "accuracy", "control", "hehl")
    }
    for dataset in sorted(tables.pooled["dataset"].unique()):
        slug = _slug(dataset)
        if tables.pooled.loc[tables.pooled.dataset == dataset, "pooled_rho"].notna().any():
            drawn["heatmap"].append(
                figures.pooled_heatmap(
                    tables.pooled, tables.chosen, dataset, folder / f"pooled_{slug}.png"
                )
            )
        rows = tables.layer_rows[tables.layer_rows["dataset"] == dataset]
        if len(rows):
            drawn["boxes"].append(
                figures.layer_boxes(rows, dataset, folder / f"layers_{slug}.png")
            )
            picks = _scatter_picks(tables.analysed[tables.analysed["dataset"] == dataset])
            drawn["scatter"].append(
                figures.network_scatter(rows, picks, folder / f"networks_{slug}.png")
            )
        if tables.hehl_layers is not None and (tables.hehl_layers["dataset"] == dataset).any():
            drawn["hehl"].append(
                figures.layer_coef_lines(
                    tables.hehl_layers, dataset, folder / f"layer_coef_{slug}.png"
                )
            )
    column = f"z_{tables.depth_adjustment}"
    analysed = tables.analysed[tables.analysed[column].notna()]
    if len(analysed):
        drawn["accuracy"].append(
            figures.accuracy_scatter(
                analysed, column, _variant_label(tables.depth_adjustment), folder / "accuracy.png"
            )
        )
    if tables.control is not None:
        pairs = tables.analysed[tables.analysed["ricci_coef_init"].notna()]
        if len(pairs):
            drawn["control"].append(figures.control_scatter(pairs, folder / "control.png"))
    return drawn


def _scatter_picks(analysed: pd.DataFrame) -> pd.DataFrame:
    """Up to four networks spanning the range of ρ_k: the lowest, two between, the highest."""
    ordered = analysed.sort_values(["ricci_coef", "trial_id"]).reset_index(drop=True)
    if len(ordered) <= _N_SCATTER:
        return ordered
    positions = np.unique(np.linspace(0, len(ordered) - 1, _N_SCATTER).round().astype(int))
    return ordered.iloc[positions]


def summary(tables: ReportTables) -> dict[str, object]:
    """The headline numbers as plain JSON values (also logged as MLflow metrics)."""
    overall = tables.overall
    headline = tables.headline
    out: dict[str, object] = {
        "n_networks": int(overall["n_networks"]),
        "n_well_trained": int(overall["n_well_trained"]),
        "n_analysed": int(overall["n_analysed"]),
        "frac_negative": _json_float(overall["frac_negative"]),
        "depth_adjustment": tables.depth_adjustment,
        "ols_coefficient": _json_float(headline["coefficient"]),
        "ols_t": _json_float(headline["t"]),
        "ols_p": _json_float(headline["p"]),
        "ols_n": int(headline["n"]),
    }
    if tables.control is not None:
        control = tables.control.set_index("dataset").loc[ALL]
        out["control_wilcoxon_p"] = _json_float(control["wilcoxon_p"])
        out["control_mean_initial"] = _json_float(control["mean_initial"])
    return out


def _json_float(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _variant_label(variant: str) -> str:
    return {
        "printed": "z_printed = artanh(ρ_k) / √(L − 4)",
        "fisher": "z_fisher = artanh(ρ_k) · √(L − 4)",
        "none": "ρ_k (unadjusted)",
    }[variant]


# ---------------------------------------------------------------------------------------
# report.md


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}" if abs(value) >= 1 else f"{value:.{digits}f}"
    return str(value)


def _p(value) -> str:
    value = float(value)
    if math.isnan(value):
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _p_is(value) -> str:
    text = _p(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def markdown_table(frame: pd.DataFrame, columns: Mapping[str, str]) -> str:
    """A GitHub-flavoured Markdown table of ``frame``'s ``columns`` (name -> header)."""
    lines = [
        "| " + " | ".join(columns.values()) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in frame[list(columns)].itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(value) for value in row) + " |")
    return "\n".join(lines)


def _figure_links(paths: list[Path], root: Path) -> str:
    return "\n\n".join(f"![{path.stem}]({path.relative_to(root).as_posix()})" for path in paths)


def render_markdown(
    tables: ReportTables,
    drawn: Mapping[str, list[Path]],
    *,
    out_dir: Path,
    sweeps: list[str] | None = None,
) -> str:
    """The text of report.md; figure links are relative to the report folder."""
    root = next((p[0].parent.parent for p in drawn.values() if p), out_dir / "report")
    sections = [
        _section_run(tables, out_dir, sweeps),
        _section_findings(tables),
        _section_chosen_k(tables, drawn, root),
        _section_regression(tables, drawn, root),
        _section_control(tables, drawn, root),
        _section_hehl(tables, drawn, root),
        _section_layers(tables, drawn, root),
        _section_caveats(tables),
        _section_files(tables),
    ]
    return "\n\n".join(sections) + "\n"


def _section_run(tables: ReportTables, out_dir: Path, sweeps: list[str] | None) -> str:
    from ricci_ray.data import DATASETS

    results = tables.results
    key = network_key(results)
    names = sorted(results["sweep"].unique()) if "sweep" in results.columns else ["(unnamed)"]
    ks = sorted(int(k) for k in results["k"].unique())
    lines = [
        "# Ricci flow and accuracy: report",
        "",
        f"Output folder `{out_dir}`, written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "## What was run",
        "",
        f"- Sweeps: {', '.join(names)}" + ("" if sweeps is None else " (selected)"),
        f"- Networks: {results.drop_duplicates(key).shape[0]} "
        f"({', '.join(sorted(results['width'].unique()))}; "
        f"depths {', '.join(str(d) for d in sorted(results['depth'].unique()))}; "
        f"{results['seed'].nunique()} seeds)",
        f"- k grid: {', '.join(str(k) for k in ks)}",
    ]
    if "convention" in results.columns:
        lines.append(f"- Graph convention: {', '.join(sorted(results['convention'].unique()))}")
    if "recipe_epochs" in results.columns:
        epochs = sorted(int(e) for e in results["recipe_epochs"].dropna().unique())
        lines.append(f"- Training epochs: {', '.join(str(e) for e in epochs)}")
    lines += ["", "| data set | test points | well-trained if test accuracy > | networks |"]
    lines.append("|---|---|---|---|")
    for dataset, threshold in tables.thresholds.items():
        n_test = DATASETS[dataset].n_test if dataset in DATASETS else "?"
        count = results.loc[results.dataset == dataset].drop_duplicates(key).shape[0]
        lines.append(f"| {dataset} | {n_test} | {_fmt(threshold)} | {count} |")
    return "\n".join(lines)


def _section_findings(tables: ReportTables) -> str:
    overall = tables.overall
    head = tables.headline
    lines = ["## What was found", ""]
    if head["reason"] is None:
        lines.append(
            f"- **Headline regression** (OLS, `{head['formula']}`): coefficient of "
            f"{_variant_label(tables.depth_adjustment)} = {_fmt(head['coefficient'])} "
            f"(SE {_fmt(head['std_error'])}), **t = {head['t']:.2f}, {_p_is(head['p'])}, "
            f"n = {head['n']}**. The paper reports t = −2.27, p = 0.023 (n = 1227); an "
            "independent reproduction found t = −0.86, p = 0.40."
        )
    else:
        lines.append(
            f"- **Headline regression** (OLS, `{head['formula']}`): not estimable "
            f"({head['reason']}; n = {head['n']})."
        )
    lines.append(
        f"- **Fraction negative**: {overall['n_negative']} of {overall['n_analysed']} analysed "
        f"networks ({_pct(overall['frac_negative'])}) have ρ_k < 0 at their cell's chosen k "
        "(paper: 93.2%, 1144 of 1227)."
    )
    lines.append(
        f"- **Networks**: {overall['n_networks']} trained, {overall['n_failed']} failed, "
        f"{overall['n_well_trained']} well-trained, {overall['n_undefined']} dropped because "
        f"ρ_k is undefined at the chosen k, {overall['n_no_chosen_k']} in cells without any "
        f"defined pooled coefficient; {overall['n_analysed']} analysed."
    )
    n_depth = int(tables.analysed["z_dropped"].notna().sum())
    if n_depth:
        reasons = tables.analysed["z_dropped"].value_counts()
        detail = "; ".join(f"{reason}: {count}" for reason, count in reasons.items())
        lines.append(
            f"- {n_depth} analysed networks have no depth-adjusted coefficient and are left "
            f"out of the regression ({detail})."
        )
    lines += [
        "",
        markdown_table(
            tables.fraction_negative,
            {
                "dataset": "data set",
                "n_networks": "networks",
                "n_well_trained": "well-trained",
                "n_undefined": "ρ_k undefined",
                "n_analysed": "analysed",
                "n_negative": "ρ_k < 0",
                "frac_negative": "fraction negative",
            },
        ),
    ]
    return "\n".join(lines)


def _pct(value) -> str:
    value = float(value)
    return "–" if math.isnan(value) else f"{100 * value:.1f}%"


def _section_chosen_k(tables: ReportTables, drawn, root: Path) -> str:
    lines = [
        "## Pooled coefficient and the chosen k",
        "",
        "Per cell (data set × width × depth) and k, one Pearson correlation of (Ric_l, η_l) "
        "over all (network, layer) pairs of the well-trained networks with a defined ρ_k; "
        "the chosen k is the one with the most negative pooled value.",
        "",
    ]
    if tables.chosen.empty:
        lines.append("No cell has a defined pooled coefficient: nothing to choose from.")
        return "\n".join(lines)
    chosen = tables.chosen.copy()
    chosen["paper_range"] = [
        "–" if (span := paper_k_fraction(d)) is None else f"{_pct(span[0])}–{_pct(span[1])}"
        for d in chosen["dataset"]
    ]
    chosen["in_range"] = [
        None if (span := paper_k_fraction(d)) is None else bool(span[0] <= f <= span[1])
        for d, f in zip(chosen["dataset"], chosen["k_fraction"], strict=True)
    ]
    chosen["k_percent"] = [_pct(f) for f in chosen["k_fraction"]]
    grid = tables.pooled.groupby(CELL)["k"].agg(["min", "max"]).reset_index()
    chosen = chosen.merge(grid, on=CELL, how="left")
    chosen["grid_edge"] = (chosen["k"] == chosen["min"]) | (chosen["k"] == chosen["max"])
    lines.append(
        markdown_table(
            chosen,
            {
                "dataset": "data set",
                "width": "width",
                "depth": "L",
                "k": "chosen k",
                "k_percent": "k / n_test",
                "paper_range": "paper's range",
                "in_range": "within",
                "grid_edge": "at grid edge",
                "pooled_rho": "pooled ρ",
                "n_networks": "networks",
                "n_pairs": "pairs",
            },
        )
    )
    n_positive = int((chosen["pooled_rho"] >= 0).sum())
    n_edge = int(chosen["grid_edge"].sum())
    lines.append("")
    if n_positive:
        lines.append(
            f"In {n_positive} of {len(chosen)} cells even the chosen k leaves the pooled "
            "coefficient non-negative: no k of the grid shows a pooled Ricci-flow-like relation."
        )
        lines.append("")
    if n_edge:
        lines.append(
            f"In {n_edge} of {len(chosen)} cells the chosen k is the smallest or largest of "
            "the grid: the most negative pooled value may lie outside it."
        )
    lines += ["", _figure_links(drawn["heatmap"], root)]
    return "\n".join(lines)


def _section_regression(tables: ReportTables, drawn, root: Path) -> str:
    regression = tables.regression.assign(
        p_text=[_p(p) for p in tables.regression["p"]],
        reason=tables.regression["reason"].fillna(""),
    )
    lines = [
        "## Regression and correlations",
        "",
        "OLS of test accuracy on the coefficient plus categorical data set, width and depth "
        "(a control with a single level is left out). Depth adjustment, Baptista et al. 2024: "
        "`printed` = artanh(ρ_k)/√(L−4) as printed in the paper, `fisher` = "
        "artanh(ρ_k)·√(L−4) (Fisher's statistic for L−1 layer pairs), `none` = ρ_k itself. "
        "Networks with L ≤ 4 or |ρ_k| = 1 have no adjusted value and are dropped, not "
        "clipped.",
        "",
        markdown_table(
            regression,
            {
                "target": "ρ_k of",
                "adjustment": "adjustment",
                "headline": "headline",
                "coefficient": "coefficient",
                "std_error": "SE",
                "t": "t",
                "p_text": "p",
                "n": "n",
                "r_squared": "R²",
                "reason": "note",
            },
        ),
        "",
        "Per data set, correlation with test accuracy over the analysed networks "
        "(95% percentile-bootstrap intervals over networks):",
        "",
    ]
    corr = tables.correlations.assign(
        pearson=[
            _interval(r, lo, hi)
            for r, lo, hi in zip(
                tables.correlations.pearson_r,
                tables.correlations.pearson_low,
                tables.correlations.pearson_high,
                strict=True,
            )
        ],
        spearman=[
            _interval(r, lo, hi)
            for r, lo, hi in zip(
                tables.correlations.spearman_r,
                tables.correlations.spearman_low,
                tables.correlations.spearman_high,
                strict=True,
            )
        ],
        pearson_p_text=[_p(p) for p in tables.correlations.pearson_p],
        spearman_p_text=[_p(p) for p in tables.correlations.spearman_p],
    )
    if corr.empty:
        lines.append("No data set has analysed networks.")
    else:
        lines.append(
            markdown_table(
                corr,
                {
                    "dataset": "data set",
                    "variable": "coefficient",
                    "n": "n",
                    "pearson": "Pearson r [95% CI]",
                    "pearson_p_text": "p",
                    "spearman": "Spearman ρ [95% CI]",
                    "spearman_p_text": "p",
                },
            )
        )
    lines += ["", _figure_links(drawn["accuracy"], root)]
    return "\n".join(lines)


def _interval(r, low, high) -> str:
    if math.isnan(float(r)):
        return "–"
    if math.isnan(float(low)):
        return f"{r:.3f}"
    return f"{r:.3f} [{low:.3f}, {high:.3f}]"


def _section_control(tables: ReportTables, drawn, root: Path) -> str:
    lines = ["## Untrained control", ""]
    if tables.control is None:
        lines.append(
            "Not available: the results have no `ricci_coef_init` column (ρ_k of the same "
            "network at initialisation). Without it, a negative ρ_k cannot be credited to "
            "training: untrained networks already show negative global coefficients "
            "(Baptista et al. 2024)."
        )
        return "\n".join(lines)
    overall = tables.control.set_index("dataset").loc[ALL]
    lines.append(
        f"At the chosen k, trained ρ_k has mean {_fmt(overall['mean_trained'])} "
        f"({_pct(overall['frac_negative_trained'])} negative) against "
        f"{_fmt(overall['mean_initial'])} ({_pct(overall['frac_negative_initial'])} negative) "
        f"for the same networks at initialisation; paired Wilcoxon "
        f"{_p_is(overall['wilcoxon_p'])} (n = {int(overall['n'])}). The regression table above "
        "repeats the OLS on the initial coefficients (rows `initial`): a relation that "
        "the untrained networks show as well is not evidence of learning."
    )
    lines += [
        "",
        markdown_table(
            tables.control,
            {
                "dataset": "data set",
                "n": "n",
                "mean_trained": "mean ρ_k trained",
                "mean_initial": "mean ρ_k initial",
                "frac_negative_trained": "negative, trained",
                "frac_negative_initial": "negative, initial",
                "wilcoxon_p": "Wilcoxon p",
            },
        ),
        "",
        _figure_links(drawn["control"], root),
    ]
    return "\n".join(lines)


def _section_hehl(tables: ReportTables, drawn, root: Path) -> str:
    lines = ["## Local and per-layer coefficients (Hehl et al.)", ""]
    if tables.hehl_local is None and tables.hehl_layers is None:
        lines.append(
            "Not available: the results have no `local_coef_mean` / `local_coef_frac_negative` "
            "columns and the layers no `layer_coef`."
        )
        return "\n".join(lines)
    if tables.hehl_local is not None:
        lines += [
            "Per analysed network at its chosen k: the mean of its points' local "
            "coefficients and the fraction of them that is negative.",
            "",
            markdown_table(
                tables.hehl_local,
                {
                    "dataset": "data set",
                    "n": "networks",
                    "mean_local_coef": "mean local coefficient",
                    "median_local_coef": "median",
                    "mean_frac_negative": "mean fraction negative",
                    "frac_networks_negative_mean": "networks with negative mean",
                },
            ),
            "",
        ]
    if tables.hehl_layers is not None:
        lines += [
            "Per-layer coefficients (Pearson over points of S_l(x), η_l(x)) by depth and k, "
            "averaged over the well-trained networks (table `hehl_layers.csv`):",
            "",
            _figure_links(drawn["hehl"], root),
        ]
    return "\n".join(lines)


def _section_layers(tables: ReportTables, drawn, root: Path) -> str:
    lines = ["## Per-layer geometry", ""]
    if not drawn["boxes"]:
        lines.append("No analysed networks: nothing to draw.")
        return "\n".join(lines)
    lines += [
        "Total curvature Ric_l and geodesic change η_l by layer for the analysed networks of "
        "each architecture at its chosen k, then (Ric_l, η_l) of a few single networks "
        "spanning the range of ρ_k (points labelled by layer).",
        "",
        _figure_links(drawn["boxes"], root),
        "",
        _figure_links(drawn["scatter"], root),
    ]
    return "\n".join(lines)


def _section_caveats(tables: ReportTables) -> str:
    overall = tables.overall
    head = tables.headline
    lines = [
        "## Caveats",
        "",
        "- The chosen k is picked per cell to make the pooled coefficient most negative, so a "
        "high fraction of negative ρ_k is partly by construction; it is not an independent "
        "finding.",
        "- The paper's t = −2.27 (p = 0.023, n = 1227) was not confirmed by an independent "
        "reproduction (t = −0.86, p = 0.40); a regression significant at 0.05 with one "
        "chosen k per cell and a depth adjustment choice is a fragile result.",
    ]
    if tables.control is None:
        lines.append(
            "- No untrained control was recorded: untrained networks already show negative "
            "global ρ_k (means around −0.3 on Hehl's synthetic sets), so the fraction negative "
            "above does not show that training produces the flow."
        )
    else:
        lines.append(
            "- Compare the trained and initial rows above: where the initial networks are "
            "about as negative, the coefficient reflects the architecture and data more than "
            "training."
        )
    if int(overall["n_analysed"]) < 100:
        lines.append(
            f"- Thin data: {overall['n_analysed']} analysed networks (the paper used 1227), "
            f"with {tables.networks['seed'].nunique()} seeds per cell at most; the intervals "
            "are wide and a p value is little evidence either way."
        )
    if head["reason"] is not None:
        lines.append(f"- The headline regression could not be fitted: {head['reason']}.")
    thresholds = ", ".join(f"{name} > {_fmt(value)}" for name, value in tables.thresholds.items())
    lines.append(f"- Well-trained thresholds used: {thresholds}.")
    return "\n".join(lines)


def _section_files(tables: ReportTables) -> str:
    names = ["pooled", "chosen_k", "networks", "fraction_negative", "regression", "correlations"]
    names += [
        name
        for name, table in (
            ("control", tables.control),
            ("hehl_local", tables.hehl_local),
            ("hehl_layers", tables.hehl_layers),
        )
        if table is not None
    ]
    listing = ", ".join(f"`{name}.csv`" for name in names)
    return (
        "## Files\n\n"
        f"Tables (each also as `.parquet`): {listing}; headline numbers in `summary.json`; "
        "figures in `figures/`. `networks.csv` gives every network's chosen k, ρ_k, "
        "depth-adjusted values and, when dropped, the reason."
    )
