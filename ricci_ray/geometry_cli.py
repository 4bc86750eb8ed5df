"""``ricci-ray geometry``: the global Ricci coefficient of saved activations.

Reads one ``.npz`` archive whose arrays are the layers of one network on the same n
points, the input first, then the hidden layers (the sigmoid output is not a geometry
layer). Layer order is the order of the array names sorted naturally, digit runs compared
as numbers: ``np.savez(path, *layers)`` stores ``arr_0, arr_1, ..., arr_10`` and they come
back in that order (not ``arr_0, arr_1, arr_10, arr_2``); with named arrays use names that
sort the same way, e.g. ``layer_0`` (input), ``layer_1``, ..., ``layer_11``.

Prints one table per k (layer, Ric_l, g_l, components, eta_l) with rho_k or the reason it is
undefined; ``--json FILE`` writes the same numbers (:func:`measure_activations`).
"""

from __future__ import annotations

import argparse
import json
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ricci_ray.errors import ConfigError
from ricci_ray.geometry.coefficient import NetworkGeometry, network_geometry
from ricci_ray.geometry.curvature import CURVATURES
from ricci_ray.geometry.knn import CONVENTIONS

_INTEGER_CURVATURES = ("forman", "augmented_forman")


def add_geometry_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``geometry ACTS.npz --k K [K ...]`` on a parser's subcommands.

    The handler is stored as ``args.handler``; it returns the exit status and raises
    :class:`~ricci_ray.errors.ConfigError` for a bad archive or argument.
    """
    parser = subparsers.add_parser(
        "geometry",
        help="Ricci coefficient of saved layer activations",
        description=(
            "Curvature, geodesic sums and the Ricci coefficient rho_k of one network's layer "
            "activations, saved as an .npz archive: input first, then the hidden layers, "
            "in the natural order of the array names (np.savez(path, *layers) keeps it)."
        ),
    )
    parser.add_argument("activations", metavar="ACTS.npz", type=Path)
    parser.add_argument(
        "--k", dest="ks", metavar="K", type=int, nargs="+", required=True, help="scales k"
    )
    parser.add_argument(
        "--layers",
        nargs="+",
        default=None,
        metavar="NAME",
        help="array names in layer order, input first (needed for named arrays)",
    )
    parser.add_argument("--convention", choices=CONVENTIONS, default="paper")
    parser.add_argument("--curvature", choices=CURVATURES, default="forman")
    parser.add_argument(
        "--force-ollivier",
        action="store_true",
        help="run exact Ollivier curvature above 2000 points (slow)",
    )
    parser.add_argument(
        "--json", dest="json_path", metavar="FILE", type=Path, help="also write the results"
    )
    parser.set_defaults(handler=_cmd_geometry)
    return parser


def load_activations(path: Path | str, order: list[str] | None = None) -> list[np.ndarray]:
    """The layers stored in an ``.npz`` archive, input layer first.

    The order is ``order`` (array names) when given; otherwise the archive must hold the
    unnamed arrays of ``np.savez(x, h1, h2, ...)`` (``arr_0, arr_1, ...``), taken in
    numeric order. Other names need ``order``: sorting names like ``input, h1, h2`` would
    silently put the input last and change every coefficient.

    Returns:
        [X_0, X_1, ..., X_L], each (n, d_l) as stored.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"activations: allowed an existing .npz file; given '{path}'")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ConfigError(
            f"activations: allowed an .npz archive (np.savez); given '{path}' ({error})"
        ) from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ConfigError(
            f"activations: allowed an .npz archive (np.savez); given '{path}', a single array"
        )
    with archive:
        names = _layer_order(archive.files, order, path)
        layers = [archive[name] for name in names]

    if len(layers) < 2:
        raise ConfigError(
            "activations: allowed at least 2 arrays (input and one hidden layer); "
            f"given {len(layers)} in '{path}'"
        )
    shapes = {name: layer.shape for name, layer in zip(names, layers, strict=True)}
    if any(len(shape) != 2 for shape in shapes.values()):
        given = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ConfigError(f"activations: allowed 2-D arrays (n_points, n_features); given {given}")
    if len({shape[0] for shape in shapes.values()}) > 1:
        given = ", ".join(f"{name}: {shape[0]}" for name, shape in shapes.items())
        raise ConfigError(
            f"activations: allowed arrays with the same number of rows (points); given {given}"
        )
    return layers


def measure_activations(
    layers: Sequence[np.ndarray],
    ks: Sequence[int],
    *,
    convention: str = "paper",
    curvature: str = "forman",
    force: bool = False,
) -> dict[str, object]:
    """Geometry of one network at every k, as a JSON-ready dict.

    Args:
        layers: [X_0, X_1, ..., X_L], input first, each (n, d_l).
        ks: the scales k, 1 <= k < n.
        convention, curvature, force: as in :func:`~ricci_ray.geometry.network_geometry`.

    Returns:
        ``{"convention", "curvature", "n_points", "n_layers", "ks": {str(k): entry}}`` with
        entry = ``{"ric": [L + 1], "g": [L + 1], "n_components": [L + 1], "eta": [L - 1] or
        None, "rho": float or None, "status", "reason"}``; lists run input layer first,
        ``eta`` over the hidden layers l = 1..L-1.
    """
    results = network_geometry(layers, ks, convention=convention, curvature=curvature, force=force)
    return {
        "convention": convention,
        "curvature": curvature,
        "n_points": int(np.asarray(layers[0]).shape[0]),
        "n_layers": len(layers),
        "ks": {str(k): _entry(result) for k, result in results.items()},
    }


def format_tables(measured: dict[str, object]) -> str:
    """One plain-text table per k of :func:`measure_activations`'s result."""
    blocks = []
    for k, entry in measured["ks"].items():
        if entry["rho"] is None:
            verdict = f"rho undefined: {entry['reason']}"
        else:
            verdict = f"rho = {entry['rho']:+.4f}"
        lines = [
            f"k = {k} ({measured['convention']} convention, {measured['curvature']} "
            f"curvature): {verdict}",
            f"{'layer':>5}  {'ric':>14}  {'g':>14}  {'components':>10}  {'eta':>14}",
        ]
        eta = entry["eta"] or []
        for layer, (ric, g, n_comp) in enumerate(
            zip(entry["ric"], entry["g"], entry["n_components"], strict=True)
        ):
            change = f"{eta[layer - 1]:14}" if 1 <= layer <= len(eta) else ""
            row = f"{layer:>5}  {_number(ric):>14}  {g:>14}  {n_comp:>10}  {change}"
            lines.append(row.rstrip())
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _cmd_geometry(args: argparse.Namespace) -> int:
    layers = load_activations(args.activations, args.layers)
    measured = measure_activations(
        layers,
        args.ks,
        convention=args.convention,
        curvature=args.curvature,
        force=args.force_ollivier,
    )
    print(format_tables(measured))
    if args.json_path is not None:
        try:
            args.json_path.write_text(json.dumps(measured, indent=2) + "\n")
        except OSError as error:
            raise ConfigError(
                f"json: allowed a writable file path; given '{args.json_path}' ({error})"
            ) from error
    return 0


def _entry(result: NetworkGeometry) -> dict[str, object]:
    as_int = result.curvature in _INTEGER_CURVATURES
    return {
        "ric": [int(v) if as_int else float(v) for v in result.ric],
        "g": [int(v) for v in result.g],
        "n_components": result.n_components.tolist(),
        "eta": None if result.eta is None else [int(v) for v in result.eta],
        "rho": result.ricci_coef,
        "status": result.status,
        "reason": result.reason,
    }


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.4f}"


def _layer_order(files: list[str], order: list[str] | None, path: Path) -> list[str]:
    if order is not None:
        missing = [name for name in order if name not in files]
        if missing:
            raise ConfigError(
                f"--layers: allowed: names of arrays in '{path}' ({', '.join(files)}); "
                f"given: {', '.join(missing)}"
            )
        return list(order)
    if not all(re.fullmatch(r"arr_\d+", name) for name in files):
        raise ConfigError(
            f"activations: allowed: unnamed arrays (np.savez(x, h1, h2, ...)), or --layers "
            f"naming the input and hidden layers in order; given named arrays "
            f"{', '.join(files)} in '{path}'"
        )
    return sorted(files, key=_natural_key)


def _natural_key(name: str) -> list[object]:
    """Sort key comparing digit runs as numbers: arr_2 < arr_10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
