"""The Parquet data set: the system of record of every sweep.

Layout under the output folder (hive-partitioned by sweep, one file per trial)::

    results/sweep=<name>/<trial_id>.parquet   one row per (trial, k)
    layers/sweep=<name>/<trial_id>.parquet    one row per (trial, k, layer)

A trial's files are written under a temporary dot-name (which readers skip) and renamed
into place, layers first, results last: a trial is finished exactly when its results
file exists, and writing it again replaces it, so a retried, resumed or re-run trial is
never duplicated or half-written. The ``sweep`` column comes from the partition folder.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ricci_ray import __version__
from ricci_ray.trial import STATUS_FAILED, TrialResult

SCHEMA_VERSION = 1

_RECIPE_FIELDS = [
    ("recipe_name", pa.string()),
    ("recipe_epochs", pa.int64()),
    ("recipe_batch_size", pa.int64()),
    ("recipe_learning_rate", pa.float64()),
    ("recipe_rho", pa.float64()),
    ("recipe_eps", pa.float64()),
    ("recipe_validation_split", pa.float64()),
    ("recipe_shuffle_split", pa.bool_()),
    ("recipe_target_accuracy", pa.float64()),
    ("recipe_max_epochs", pa.int64()),
]

_TRIAL_FIELDS = [
    ("schema_version", pa.int32()),
    ("trial_id", pa.string()),
    ("dataset", pa.string()),
    ("width", pa.string()),
    ("depth", pa.int64()),
    ("seed", pa.int64()),
    ("k", pa.int64()),
]

RESULTS_SCHEMA = pa.schema(
    _TRIAL_FIELDS
    + [
        ("convention", pa.string()),
        ("data_seed", pa.int64()),
        ("accuracy_test", pa.float64()),
        ("loss_test", pa.float64()),
        ("accuracy_train", pa.float64()),
        ("loss_train", pa.float64()),
        ("accuracy_val", pa.float64()),
        ("loss_val", pa.float64()),
        ("diverged", pa.bool_()),
        ("ricci_coef", pa.float64()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("n_components", pa.list_(pa.int64())),
        ("ricci_coef_init", pa.float64()),
        ("reason_init", pa.string()),
    ]
    + _RECIPE_FIELDS
    + [
        ("node_id", pa.string()),
        ("seconds_train", pa.float64()),
        ("seconds_geometry", pa.float64()),
        ("finished_at", pa.timestamp("us", tz="UTC")),
        ("code_version", pa.string()),
    ]
)

LAYERS_SCHEMA = pa.schema(
    _TRIAL_FIELDS
    + [
        ("layer", pa.int64()),
        ("ric", pa.float64()),
        ("g", pa.float64()),
        ("n_components", pa.int64()),
        ("eta", pa.float64()),
    ]
)

CURVES_SCHEMA = pa.schema(
    _TRIAL_FIELDS[:-1]  # the curve's k comes after its epoch
    + [
        ("epoch", pa.int64()),
        ("k", pa.int64()),
        ("ricci_coef", pa.float64()),
        ("accuracy_test", pa.float64()),
        ("loss_test", pa.float64()),
    ]
)

SCHEMAS = {"results": RESULTS_SCHEMA, "layers": LAYERS_SCHEMA, "curves": CURVES_SCHEMA}
TABLES = tuple(SCHEMAS)

PARTITIONING = ds.partitioning(pa.schema([("sweep", pa.string())]), flavor="hive")


def _trial_columns(result: TrialResult) -> dict[str, Any]:
    """The columns every table starts with: which trial a row belongs to."""
    config = result.config
    return {
        "schema_version": SCHEMA_VERSION,
        "trial_id": result.trial_id,
        "dataset": config["dataset"],
        "width": config["width"],
        "depth": config["depth"],
        "seed": config["seed"],
    }


def results_rows(result: TrialResult) -> list[dict[str, Any]]:
    """One row per k, in the column order of :data:`RESULTS_SCHEMA`."""
    config = result.config
    recipe = {f"recipe_{key}": value for key, value in config["recipe"].items()}
    init = {scale.k: scale for scale in result.init_scales or []}
    finished_at = datetime.now(UTC)
    rows = []
    for scale in result.scales:
        control = init.get(scale.k)
        row = {
            **_trial_columns(result),
            "k": scale.k,
            "convention": config["convention"],
            "data_seed": config["data_seed"],
            "accuracy_test": result.accuracy_test,
            "loss_test": result.loss_test,
            "accuracy_train": result.accuracy_train,
            "loss_train": result.loss_train,
            "accuracy_val": result.accuracy_val,
            "loss_val": result.loss_val,
            "diverged": result.diverged,
            "ricci_coef": scale.ricci_coef,
            "status": scale.status,
            "reason": scale.reason,
            "n_components": scale.n_components,
            "ricci_coef_init": None if control is None else control.ricci_coef,
            "reason_init": None if control is None else control.reason,
            **recipe,
            "node_id": result.node_id,
            "seconds_train": result.seconds_train,
            "seconds_geometry": result.seconds_geometry,
            "finished_at": finished_at,
            "code_version": __version__,
        }
        rows.append(row)
    return rows


def layers_rows(result: TrialResult) -> list[dict[str, Any]]:
    """One row per (k, layer); layer 0 is the input. ``eta`` is null outside 1 .. L-1."""
    rows = []
    for scale in result.scales:
        for layer, (ric, g, n_comp) in enumerate(
            zip(scale.ric, scale.g, scale.n_components, strict=True)
        ):
            eta = None
            if scale.eta is not None and 1 <= layer <= len(scale.eta):
                eta = scale.eta[layer - 1]
            rows.append(
                {
                    **_trial_columns(result),
                    "k": scale.k,
                    "layer": layer,
                    "ric": ric,
                    "g": g,
                    "n_components": n_comp,
                    "eta": eta,
                }
            )
    return rows


def curves_rows(result: TrialResult) -> list[dict[str, Any]]:
    """One row per (epoch, k) of the geometry measured during training, if any."""
    rows = []
    for point in result.curve:
        for key, value in point.items():
            if not key.startswith("ricci_coef/k"):
                continue
            rows.append(
                {
                    **_trial_columns(result),
                    "epoch": int(point["epoch"]),
                    "k": int(key.removeprefix("ricci_coef/k")),
                    "ricci_coef": None if math.isnan(value) else value,
                    "accuracy_test": point["accuracy/test"],
                    "loss_test": point["loss/test"],
                }
            )
    return rows


@dataclass(frozen=True)
class TrialRows:
    """A trial's rows in each table, as written to Parquet and logged to MLflow."""

    results: list[dict[str, Any]]
    layers: list[dict[str, Any]]
    curves: list[dict[str, Any]]

    @classmethod
    def of(cls, result: TrialResult) -> TrialRows:
        return cls(results_rows(result), layers_rows(result), curves_rows(result))


class ParquetStore:
    """Writes trial results under ``root`` and reads them back."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def partition(self, table: str, sweep: str) -> Path:
        return self.root / table / f"sweep={sweep}"

    def check_writable(self) -> None:
        """Fail now, before any trial starts, when the output folder cannot take files."""
        probe = self.root / f".write-probe-{uuid.uuid4().hex}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            from ricci_ray.errors import ConfigError

            raise ConfigError(
                f"output folder {self.root}: must be a writable folder; "
                f"given one that is not ({error.strerror})"
            ) from None

    def write(self, sweep: str, result: TrialResult) -> TrialRows:
        """Land one trial atomically in every table (results last); return its rows."""
        rows = TrialRows.of(result)
        if rows.curves:
            self._write_table("curves", sweep, result.trial_id, rows.curves)
        self._write_table("layers", sweep, result.trial_id, rows.layers)
        self._write_table("results", sweep, result.trial_id, rows.results)
        return rows

    def _write_table(self, table: str, sweep: str, trial_id: str, rows: list[dict]) -> None:
        data = pa.Table.from_pylist(rows, schema=SCHEMAS[table])
        self._write_atomic(self.partition(table, sweep), trial_id, data)

    def _write_atomic(self, folder: Path, trial_id: str, table: pa.Table) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{trial_id}.parquet"
        temporary = folder / f".{trial_id}.{uuid.uuid4().hex}.tmp"
        try:
            pq.write_table(table, temporary)
            os.replace(temporary, final)
        finally:
            temporary.unlink(missing_ok=True)

    def finished_trial_ids(self, sweep: str) -> set[str]:
        """Trials of ``sweep`` whose results have landed and did not fail."""
        folder = self.partition("results", sweep)
        if not folder.is_dir():
            return set()
        table = ds.dataset(folder, format="parquet").to_table(columns=["trial_id", "status"])
        failed = set(
            table.filter(ds.field("status") == STATUS_FAILED).column("trial_id").to_pylist()
        )
        return set(table.column("trial_id").to_pylist()) - failed

    def sweeps(self) -> list[str]:
        """The sweeps with results under this root."""
        folder = self.root / "results"
        if not folder.is_dir():
            return []
        return sorted(
            path.name.removeprefix("sweep=")
            for path in folder.iterdir()
            if path.is_dir() and path.name.startswith("sweep=")
        )

    def trial_rows(self, sweep: str, *, exclude: set[str] = frozenset()) -> Iterator[TrialRows]:
        """The rows of every trial of ``sweep`` not in ``exclude``."""
        results = self._read_rows("results", sweep, exclude)
        layers = self._read_rows("layers", sweep, exclude)
        curves = self._read_rows("curves", sweep, exclude)
        for trial_id, rows in results.items():
            yield TrialRows(rows, layers.get(trial_id, []), curves.get(trial_id, []))

    def _read_rows(self, table: str, sweep: str, exclude: set[str]) -> dict[str, list[dict]]:
        folder = self.partition(table, sweep)
        if not folder.is_dir():
            return {}
        data = ds.dataset(folder, format="parquet").to_table()
        if exclude:
            data = data.filter(~ds.field("trial_id").isin(sorted(exclude)))
        grouped: dict[str, list[dict]] = {}
        for row in data.to_pylist():
            grouped.setdefault(row["trial_id"], []).append(row)
        return grouped


def load_table(root: str | Path, table: str = "results", sweeps: Iterable[str] | None = None):
    """Read one table (``results``, ``layers`` or ``curves``) of the data set at ``root``.

    The ``sweep`` partition column comes back as a plain string column.
    """
    if table not in SCHEMAS:
        from ricci_ray.errors import ConfigError

        allowed = ", ".join(repr(name) for name in SCHEMAS)
        raise ConfigError(f"table: allowed: {allowed}; given: {table!r}")
    path = Path(root) / table
    if not path.is_dir():
        from ricci_ray.errors import DataError

        raise DataError(f"{path}: no ricci-ray {table} table here (expected a folder)")
    dataset = ds.dataset(path, format="parquet", partitioning=PARTITIONING)
    selection = None
    if sweeps is not None:
        selection = ds.field("sweep").isin(list(sweeps))
    return dataset.to_table(filter=selection).to_pandas()
