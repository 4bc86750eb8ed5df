"""The ``ricci-ray`` command.

Errors of the caller's making (a bad sweep file, a missing data file, an unwritable
output folder) print as one line followed by the command's usage, exit status 1; pass
``--debug`` for the traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ricci_ray import __version__
from ricci_ray.errors import ConfigError, RicciRayError

logger = logging.getLogger("ricci_ray")


def _default_data_dir() -> Path | None:
    value = os.environ.get("RICCI_RAY_DATA_DIR")
    return Path(value) if value else None


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
        "--out",
        default=None,
        help="output folder, or an object-store URI such as s3://bucket/prefix "
        "(default: runs/<sweep name>)",
    )
    sweep.add_argument(
        "--tune-dir",
        default=None,
        help="where Tune keeps its own state (default: DIR/tune, or ./ray_results for a URI)",
    )
    sweep.add_argument(
        "--data-dir",
        type=Path,
        default=_default_data_dir(),
        help="folder with the image data files (default: $RICCI_RAY_DATA_DIR)",
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
    sweep.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted sweep (the default behaviour on an existing --out; "
        "with this flag, an --out without the sweep is an error)",
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
    analyze.add_argument(
        "--report",
        nargs="?",
        const="",
        default=None,
        metavar="OUT",
        help="also write the full report (tables, figures, report.md) to OUT "
        "(default: DIR/report)",
    )
    analyze.add_argument(
        "--depth-adjustment",
        choices=["printed", "fisher"],
        default="printed",
        help="headline coefficient: artanh(rho)/sqrt(L-4) as printed in the paper (default), "
        "or Fisher's artanh(rho)*sqrt(L-4)",
    )
    analyze.add_argument(
        "--bootstrap", type=int, default=1000, help="bootstrap resamples for the intervals"
    )
    analyze.add_argument(
        "--log-mlflow",
        action="store_true",
        help="write the report and log it as the 'summary' run of each sweep's experiment",
    )
    analyze.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI for --log-mlflow (default: the SQLite file in DIR)",
    )
    analyze.set_defaults(handler=_cmd_analyze)

    from ricci_ray.geometry_cli import add_geometry_command
    from ricci_ray.sinks.compact import add_compact_command
    from ricci_ray.submit import add_submit_command

    add_submit_command(commands)
    add_geometry_command(commands)
    add_compact_command(commands)

    datasets = commands.add_parser(
        "datasets",
        help="list the data sets and tasks",
        description="Every data set with its size, dimension, classes and data source.",
    )
    datasets.add_argument(
        "--data-dir",
        type=Path,
        default=_default_data_dir(),
        help="say which file-based sets are present (default: $RICCI_RAY_DATA_DIR)",
    )
    datasets.set_defaults(handler=_cmd_datasets)

    sync = commands.add_parser(
        "mlflow-sync",
        help="log to MLflow every trial of DIR's Parquet data set that it lacks",
        description=(
            "Rebuild or complete MLflow from the Parquet data set. Runs are keyed by trial id, "
            "so running it again logs nothing twice."
        ),
    )
    sync.add_argument("out_dir", metavar="DIR", type=Path, help="a sweep's output folder")
    sync.add_argument(
        "--tracking-uri", default=None, help="MLflow tracking URI (default: DIR/mlflow.db)"
    )
    sync.add_argument("--sweep", action="append", default=None, help="only this sweep")
    sync.set_defaults(handler=_cmd_mlflow_sync)

    ui = commands.add_parser(
        "ui",
        help="open the MLflow UI for a sweep folder on 127.0.0.1",
        description="Serve the MLflow UI of DIR's local store (mlflow.db) on 127.0.0.1.",
    )
    ui.add_argument("out_dir", metavar="DIR", type=Path, help="a sweep's output folder")
    ui.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default 5000)")
    ui.set_defaults(handler=_cmd_ui)
    return parser


def _cmd_sweep(args: argparse.Namespace) -> int:
    from ricci_ray.sinks.parquet import ParquetStore
    from ricci_ray.spec import load_sweep
    from ricci_ray.sweep import run_sweep

    spec = load_sweep(args.sweep_file)
    # Flags win over the sweep file's own settings, which win over the defaults.
    out_dir = args.out or spec.out or Path("runs") / spec.name
    if args.resume and spec.name not in ParquetStore(out_dir).sweeps():
        raise ConfigError(
            f"--resume: allowed: an output folder holding sweep '{spec.name}'; "
            f"given: {out_dir} (nothing of it there)"
        )
    summary = run_sweep(
        spec,
        out_dir,
        data_dir=args.data_dir,
        tracking_uri=args.tracking_uri or spec.tracking_uri,
        address=args.address or spec.ray_address,
        num_cpus=args.num_cpus,
        tune_dir=args.tune_dir,
    )
    print(
        f"sweep '{summary.sweep}': {summary.n_finished} trials finished, "
        f"{summary.n_failed} failed, {summary.n_skipped} already done "
        f"({summary.n_trials} in the grid) in {summary.seconds:.0f} s"
    )
    remaining = summary.n_trials - summary.n_skipped - summary.n_finished - summary.n_failed
    if remaining > 0:
        print(
            f"interrupted: {remaining} trials did not run; run the same command again "
            "(or add --resume) to continue - finished trials are not run again"
        )
    if summary.n_unlogged:
        print(f"{summary.n_unlogged} trials could not be logged to MLflow; rerun to log them")
    print(f"results: {summary.out_dir}/results   (ricci_ray.load_results, pandas)")
    print(f"analysis: ricci-ray analyze {summary.out_dir}")
    return 1 if summary.n_failed or remaining > 0 else 0


def _parse_thresholds(items: Sequence[str]) -> dict[str, float]:
    thresholds = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            thresholds[name] = float(value)
            if not 0.0 <= thresholds[name] < 1.0:  # accuracy must beat it: 1 admits nothing
                raise ValueError
        except ValueError:
            raise ConfigError(
                f"--threshold: allowed: DATASET=ACCURACY with 0 <= ACCURACY < 1, e.g. "
                f"fmnist-5v9=0.98; given: {item!r}"
            ) from None
    return thresholds


def _check_names(out_dir: Path, thresholds: dict[str, float], sweeps: list[str] | None) -> None:
    """--threshold and --sweep must name data sets and sweeps the folder holds."""
    from ricci_ray import load_results

    results = load_results(out_dir, "results")
    for option, given, present in (
        ("--sweep", sweeps or [], set(results["sweep"])),
        ("--threshold", list(thresholds), set(results["dataset"])),
    ):
        unknown = [name for name in given if name not in present]
        if unknown:
            raise ConfigError(
                f"{option}: allowed: {', '.join(sorted(present))} (in {out_dir}); "
                f"given: {', '.join(unknown)}"
            )


def _cmd_analyze(args: argparse.Namespace) -> int:
    import pandas as pd

    from ricci_ray.analysis import analyze

    thresholds = _parse_thresholds(args.threshold)
    if args.bootstrap < 0:  # checked before anything is computed or written
        raise ConfigError(f"--bootstrap: allowed: an integer >= 0; given: {args.bootstrap}")
    _check_names(args.out_dir, thresholds, args.sweep)
    table, target = analyze(
        args.out_dir,
        thresholds=thresholds,
        well_trained_only=not args.all_networks,
        sweeps=args.sweep,
    )
    scope = "all networks" if args.all_networks else "well-trained networks"
    print(f"Ricci coefficient vs test accuracy ({scope} with a defined coefficient)")
    with pd.option_context("display.width", 160, "display.max_columns", None):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"written: {target}")
    if args.report is not None or args.log_mlflow:
        _write_analysis_report(args, thresholds)
    return 0


def _write_analysis_report(args: argparse.Namespace, thresholds: dict[str, float]) -> None:
    from ricci_ray import load_results
    from ricci_ray.analysis import log_report_to_mlflow, write_report
    from ricci_ray.sinks.mlflow_sink import default_tracking_uri

    results = load_results(args.out_dir, "results", args.sweep)
    if args.all_networks:
        thresholds = {name: float("-inf") for name in results["dataset"].unique()}
    report = write_report(
        args.out_dir,
        Path(args.report) if args.report else None,
        thresholds=thresholds,
        sweeps=args.sweep,
        depth_adjustment=args.depth_adjustment,
        bootstrap=args.bootstrap,
    )
    print(f"report: {report}")
    if args.log_mlflow:
        uri = args.tracking_uri or default_tracking_uri(args.out_dir)
        for sweep in sorted(results["sweep"].unique()):
            run_id = log_report_to_mlflow(report.parent, uri, sweep)
            print(f"logged to MLflow: experiment '{sweep}', run 'summary' ({run_id})")


def _cmd_datasets(args: argparse.Namespace) -> int:
    import pandas as pd

    from ricci_ray.data import describe_datasets

    table = pd.DataFrame(describe_datasets(args.data_dir))
    if args.data_dir is None:
        table = table.drop(columns=["available"])
    with pd.option_context("display.width", 200, "display.max_colwidth", 80):
        print(table.to_string(index=False))
    print("Also: mnist-idx-AvB and fmnist-idx-AvB for any two digits A, B (IDX files).")
    return 0


def _cmd_mlflow_sync(args: argparse.Namespace) -> int:
    from ricci_ray.sinks.mlflow_sink import (
        bound_http_retries,
        default_tracking_uri,
        sync_from_parquet,
    )
    from ricci_ray.sinks.parquet import ParquetStore

    if not ParquetStore(args.out_dir).sweeps():
        raise ConfigError(
            f"DIR: allowed: a sweep output folder; given: {args.out_dir} (no results)"
        )
    uri = args.tracking_uri or default_tracking_uri(args.out_dir)
    bound_http_retries()
    try:
        synced = sync_from_parquet(args.out_dir, uri, args.sweep)
    except Exception as error:  # any client or server failure, reported in one line
        first_line = (str(error).strip().splitlines() or [""])[0][:300]
        raise RicciRayError(f"MLflow at {uri}: {type(error).__name__}: {first_line}") from None
    for sweep, count in synced.items():
        print(f"sweep '{sweep}': {count} runs logged to {uri} (the others were there already)")
    return 0


def _cmd_ui(args: argparse.Namespace) -> int:
    database = args.out_dir / "mlflow.db"
    if not database.is_file():
        raise ConfigError(f"DIR: allowed: a sweep folder with mlflow.db; given: {args.out_dir}")
    mlflow = Path(sys.executable).with_name("mlflow")
    command = [
        str(mlflow),
        "ui",
        "--backend-store-uri",
        f"sqlite:///{database.resolve()}",
        "--host",
        "127.0.0.1",
        "--port",
        str(args.port),
    ]
    print(f"MLflow UI on http://127.0.0.1:{args.port} (Ctrl-C to stop)", flush=True)
    # Become the server (no child left behind when this process is stopped).
    os.execv(command[0], command)
    return 0  # not reached


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
