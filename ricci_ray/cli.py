"""The ``ricci-ray`` command.

Errors of the caller's making (a bad sweep file, a missing data file, an unwritable
output folder) print as one line followed by the command's usage, exit status 1; pass
``--debug`` for the traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ricci_ray import __version__
from ricci_ray.errors import ConfigError, RicciRayError

logger = logging.getLogger("ricci_ray")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ricci-ray",
        description="Ray Tune sweeps that measure the discrete Ricci flow of ReLU networks.",
    )
    parser.add_argument("--version", action="version", version=f"ricci-ray {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sweep = commands.add_parser(
        "sweep",
        help="run a sweep file on Ray Tune",
        description="Run every trial of a sweep file that has not landed in --out yet.",
    )
    sweep.add_argument("sweep_file", metavar="SWEEP.yaml", type=Path)
    sweep.add_argument(
        "--out", type=Path, default=None, help="output folder (default: runs/<sweep name>)"
    )
    sweep.add_argument(
        "--data-dir", type=Path, default=None, help="folder with the image data files"
    )
    sweep.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI (default: a SQLite file in the output folder)",
    )
    sweep.add_argument(
        "--address", default=None, help="address of a running Ray cluster (default: local Ray)"
    )
    sweep.add_argument(
        "--num-cpus", type=int, default=None, help="CPUs for a local Ray (default: all)"
    )
    sweep.set_defaults(handler=_cmd_sweep)

    analyze = commands.add_parser(
        "analyze",
        help="correlate the Ricci coefficient with accuracy",
        description=(
            "Per data set and k: networks, well-trained networks, fraction with a negative "
            "Ricci coefficient, Pearson and Spearman correlation with test accuracy."
        ),
    )
    analyze.add_argument("out_dir", metavar="DIR", type=Path, help="a sweep's output folder")
    analyze.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="DATASET=ACC",
        help="override a data set's well-trained accuracy threshold (repeatable)",
    )
    analyze.add_argument(
        "--all-networks",
        action="store_true",
        help="correlate over every network, not only the well-trained ones",
    )
    analyze.add_argument("--sweep", action="append", default=None, help="only this sweep")
    analyze.set_defaults(handler=_cmd_analyze)
    return parser


def _cmd_sweep(args: argparse.Namespace) -> int:
    from ricci_ray.spec import load_sweep
    from ricci_ray.sweep import run_sweep

    spec = load_sweep(args.sweep_file)
    out_dir = args.out or Path("runs") / spec.name
    summary = run_sweep(
        spec,
        out_dir,
        data_dir=args.data_dir,
        tracking_uri=args.tracking_uri,
        address=args.address,
        num_cpus=args.num_cpus,
    )
    print(
        f"sweep '{summary.sweep}': {summary.n_finished} trials finished, "
        f"{summary.n_failed} failed, {summary.n_skipped} already done "
        f"({summary.n_trials} in the grid) in {summary.seconds:.0f} s"
    )
    if summary.n_unlogged:
        print(f"{summary.n_unlogged} trials could not be logged to MLflow; rerun to log them")
    print(f"results: {summary.out_dir / 'results'}   (pandas.read_parquet)")
    print(f"analysis: ricci-ray analyze {summary.out_dir}")
    return 1 if summary.n_failed else 0


def _parse_thresholds(items: Sequence[str]) -> dict[str, float]:
    thresholds = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            thresholds[name] = float(value)
        except ValueError:
            raise ConfigError(
                f"--threshold: allowed: DATASET=ACCURACY, e.g. fmnist-5v9=0.98; given: {item!r}"
            ) from None
    return thresholds


def _cmd_analyze(args: argparse.Namespace) -> int:
    import pandas as pd

    from ricci_ray.analysis import analyze

    table, target = analyze(
        args.out_dir,
        thresholds=_parse_thresholds(args.threshold),
        well_trained_only=not args.all_networks,
        sweeps=args.sweep,
    )
    scope = "all networks" if args.all_networks else "well-trained networks"
    print(f"Ricci coefficient vs test accuracy ({scope} with a defined coefficient)")
    with pd.option_context("display.width", 160, "display.max_columns", None):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"written: {target}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    # Only our own messages at INFO; the libraries' at WARNING.
    logging.getLogger().setLevel(logging.WARNING)
    logger.setLevel(logging.DEBUG if args.debug else logging.INFO)
    # Tune looks for its own result files, which ricci-ray replaces with Parquet and MLflow.
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    try:
        return args.handler(args)
    except RicciRayError as error:
        if args.debug:
            raise
        subparser_usage = parser.format_usage().strip()
        print(f"ricci-ray {args.command}: error: {error}", file=sys.stderr)
        print(subparser_usage, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
