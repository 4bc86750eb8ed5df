"""The report's figures, drawn with matplotlib's Agg backend into PNG files.

Every function takes tidy frames built by :mod:`ricci_ray.analysis.report`, writes one PNG
to ``path`` and returns it. The backend is selected inside each call, so importing the
package never touches a caller's matplotlib setup until a figure is drawn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

_DPI = 120


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI)
    _pyplot().close(fig)
    return path


def architecture_label(width: str, depth: int) -> str:
    return f"{width}, L={depth}"


def pooled_heatmap(pooled: pd.DataFrame, chosen: pd.DataFrame, dataset: str, path: Path) -> Path:
    """Pooled ρ of one data set over k (columns) × architecture (rows); chosen cells boxed."""
    plt = _pyplot()
    from matplotlib.patches import Rectangle

    frame = pooled[pooled["dataset"] == dataset].sort_values(["depth", "width", "k"])
    labels = [architecture_label(w, d) for w, d in zip(frame.width, frame.depth, strict=True)]
    frame = frame.assign(arch=labels)
    arches = list(dict.fromkeys(frame["arch"]))
    ks = sorted(frame["k"].unique())
    grid = frame.pivot(index="arch", columns="k", values="pooled_rho").reindex(arches)[ks]
    values = grid.to_numpy(dtype=float)

    fig, ax = plt.subplots(
        figsize=(3.6 + 0.75 * len(ks), 1.6 + 0.45 * len(arches)), layout="constrained"
    )
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="0.85")
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=-1, vmax=1, aspect="auto")
    for row, col in np.ndindex(values.shape):
        text = "–" if np.isnan(values[row, col]) else f"{values[row, col]:.2f}"
        ax.text(col, row, text, ha="center", va="center", fontsize=8)
    picked = chosen[chosen["dataset"] == dataset]
    for width, depth, k in zip(picked.width, picked.depth, picked.k, strict=True):
        row, col = arches.index(architecture_label(width, depth)), ks.index(k)
        ax.add_patch(
            Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=2.5)
        )
    ax.set_xticks(range(len(ks)), [str(k) for k in ks])
    ax.set_yticks(range(len(arches)), arches)
    ax.set_xlabel("k (neighbours)")
    ax.set_title(f"{dataset}: pooled ρ (boxed: chosen k)", fontsize=10)
    fig.colorbar(image, ax=ax, label="pooled ρ")
    return _save(fig, path)


def layer_boxes(layer_rows: pd.DataFrame, dataset: str, path: Path) -> Path:
    """Box plots of Ric_l and η_l by layer, one row of panels per architecture.

    ``layer_rows``: the ``layers`` rows of the analysed networks at their chosen k.
    """
    plt = _pyplot()
    frame = layer_rows[layer_rows["dataset"] == dataset]
    cells = frame[["width", "depth", "k"]].drop_duplicates().sort_values(["depth", "width"])
    fig, axes = plt.subplots(
        len(cells), 2, figsize=(10, 2.6 * len(cells)), layout="constrained", squeeze=False
    )
    for (width, depth, k), row in zip(cells.itertuples(index=False), axes, strict=True):
        cell = frame[(frame.width == width) & (frame.depth == depth) & (frame.k == k)]
        for ax, column, name in zip(
            row, ("ric", "eta"), ("total curvature Ric_l", "geodesic change η_l"), strict=True
        ):
            values = cell[cell[column].notna()]
            positions = sorted(values["layer"].unique())
            data = [values.loc[values.layer == layer, column].to_numpy() for layer in positions]
            if data:
                ax.boxplot(data, positions=positions, widths=0.6)
            ax.set_xticks(positions, [str(p) for p in positions])
            ax.set_xlabel("layer (0 = input)")
            n_networks = cell["trial_id"].nunique()
            ax.set_title(
                f"{architecture_label(width, depth)}, k={k}: {name} ({n_networks} networks)",
                fontsize=9,
            )
    fig.suptitle(f"{dataset}: per-layer geometry at the chosen k", fontsize=11)
    return _save(fig, path)


def network_scatter(layer_rows: pd.DataFrame, picks: pd.DataFrame, path: Path) -> Path:
    """Ric_l against η_l (l = 1 … L−1) of a few single networks, one panel each.

    ``picks``: one row per network to draw (``trial_id``, ``width``, ``depth``, ``seed``,
    ``chosen_k``, ``ricci_coef``).
    """
    plt = _pyplot()
    fig, axes = plt.subplots(
        1, len(picks), figsize=(3.6 * len(picks), 3.4), layout="constrained", squeeze=False
    )
    for ax, pick in zip(axes[0], picks.itertuples(index=False), strict=True):
        rows = layer_rows[(layer_rows.trial_id == pick.trial_id) & layer_rows.eta.notna()]
        rows = rows.sort_values("layer")
        ax.plot(rows["ric"], rows["eta"], "-o", color="tab:blue", markersize=4, linewidth=0.8)
        for layer, ric, eta in zip(rows.layer, rows.ric, rows.eta, strict=True):
            ax.annotate(
                str(layer), (ric, eta), fontsize=7, xytext=(3, 3), textcoords="offset points"
            )
        ax.set_xlabel("Ric_l")
        ax.set_ylabel("η_l")
        ax.ticklabel_format(style="sci", scilimits=(-3, 4))
        ax.set_title(
            f"{architecture_label(pick.width, pick.depth)} seed {pick.seed}, k={pick.chosen_k}\n"
            f"ρ_k = {pick.ricci_coef:.2f}",
            fontsize=9,
        )
    return _save(fig, path)


def accuracy_scatter(networks: pd.DataFrame, column: str, label: str, path: Path) -> Path:
    """Test accuracy against a coefficient, one colour per data set."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    for dataset, group in networks.groupby("dataset", sort=True):
        ax.scatter(group[column], group["accuracy_test"], s=14, alpha=0.75, label=dataset)
    ax.set_xlabel(label)
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=8)
    return _save(fig, path)


def control_scatter(networks: pd.DataFrame, path: Path) -> Path:
    """ρ_k of the trained network against ρ_k of the same network at initialisation."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.6, 4.4), layout="constrained")
    for dataset, group in networks.groupby("dataset", sort=True):
        ax.scatter(group["ricci_coef_init"], group["ricci_coef"], s=14, alpha=0.75, label=dataset)
    ax.plot([-1, 1], [-1, 1], color="0.5", linewidth=0.8, linestyle="--")
    ax.axhline(0, color="0.8", linewidth=0.6)
    ax.axvline(0, color="0.8", linewidth=0.6)
    ax.set(xlim=(-1.05, 1.05), ylim=(-1.05, 1.05))
    ax.set_xlabel("ρ_k at initialisation")
    ax.set_ylabel("ρ_k trained")
    ax.legend(fontsize=8)
    return _save(fig, path)


def layer_coef_lines(hehl_layers: pd.DataFrame, dataset: str, path: Path) -> Path:
    """Mean Hehl layer coefficient by layer, one panel per depth, one line per k."""
    plt = _pyplot()
    frame = hehl_layers[hehl_layers["dataset"] == dataset]
    depths = sorted(frame["depth"].unique())
    fig, axes = plt.subplots(
        1, len(depths), figsize=(4.5 * len(depths), 3.4), layout="constrained", squeeze=False
    )
    for ax, depth in zip(axes[0], depths, strict=True):
        for k, group in frame[frame.depth == depth].groupby("k", sort=True):
            group = group.sort_values("layer")
            ax.plot(group["layer"], group["mean"], "-o", markersize=3, label=f"k={k}")
        ax.axhline(0, color="0.7", linewidth=0.6)
        ax.set_xlabel("layer (0 = input)")
        ax.set_ylabel("mean layer coefficient")
        ax.set_title(f"{dataset}, L={depth}", fontsize=9)
        ax.legend(fontsize=7)
    return _save(fig, path)
