"""The Parquet data set: the system of record of every sweep.

Stable interface (schema version 1)
-----------------------------------
Three tables under one root, hive-partitioned by sweep. ``sweep`` is not stored in the
files: it is the partition folder's value, read back as a string column.

    <root>/results/sweep=<name>/*.parquet   one row per (trial, k)
    <root>/layers/sweep=<name>/*.parquet    one row per (trial, k, layer)
    <root>/curves/sweep=<name>/*.parquet    one row per (trial, epoch, k); only for
                                            trials that measure geometry while training

Every table starts with the trial columns ``schema_version`` (int32, the
:data:`SCHEMA_VERSION` that wrote the row), ``trial_id`` (string), ``dataset``,
``width`` (string), ``depth``, ``seed`` (int64) and ``k`` (int64).

``results`` adds: ``convention`` (string), ``curvature`` (string), ``data_seed`` (int64),
``accuracy_test``, ``loss_test``, ``accuracy_train``, ``loss_train``, ``accuracy_val``,
``loss_val`` (float64, null when not measured), ``diverged`` (bool), ``ricci_coef``
(float64, null when undefined), ``status`` (string: ``ok``, ``undefined``, ``failed``),
``reason`` (string), ``n_components`` (list<int64>, per layer, input first),
``ricci_coef_init`` (float64), ``reason_init`` (string), ``recipe_name`` (string),
``recipe_epochs``, ``recipe_batch_size`` (int64), ``recipe_learning_rate``,
``recipe_rho``, ``recipe_eps``, ``recipe_validation_split`` (float64),
``recipe_shuffle_split`` (bool), ``recipe_target_accuracy`` (float64),
``recipe_max_epochs`` (int64), ``node_id`` (string), ``seconds_train``,
``seconds_geometry`` (float64), ``finished_at`` (timestamp[us, UTC], when the record
landed), ``code_version`` (string), ``started_at`` (timestamp[us, UTC], when the trial
began on its worker), ``seconds_total`` (float64, the trial's whole time on its worker:
data, network, training, geometry, record; null for both on a failed trial) and
``epochs_trained`` (int64, the epochs training ran: optimizer steps for the Hehl recipe,
which stops at its target accuracy or its cap; null on a failed trial).

``layers`` adds: ``layer`` (int64, 0 = input), ``ric`` (float64), ``g`` (float64),
``n_components`` (int64) and ``eta`` (float64, null outside hidden layers 1 .. L-1).

``curves`` adds: ``epoch`` (int64), then ``k``, ``ricci_coef``, ``accuracy_test``,
``loss_test``.

Columns are only ever added (readers fill a column missing from older files with
nulls); a change of meaning or type bumps :data:`SCHEMA_VERSION`. :func:`load_table`
returns one pandas dtype per column whatever the data: the integer columns every row
has (``schema_version`` int32; ``depth``, ``seed``, ``k``, ``data_seed``, ``layer``,
``epoch``, layers' ``n_components`` int64) as numpy integers (nullable ones only if a
file not written by ricci-ray lacks them), the other integers (the
``recipe_*`` settings only some recipes have) as nullable ``Int64``, bool as nullable
``boolean``, float64 as ``float64`` (NaN for null), strings as pandas' ``str``, the
timestamp as ``datetime64[us, UTC]``, lists as objects.

Where the data set lives
------------------------
``root`` is a local folder or a pyarrow filesystem URI: ``file:///…``, ``s3://bucket/
prefix``, ``gs://bucket/prefix``. S3 credentials come from the usual AWS sources
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ~/.aws); an
S3-compatible server is named by ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``, which
pyarrow honours itself, or by ``?endpoint_override=host:port&scheme=http`` in the URI.

Writing
-------
A trial's files are keyed by its id (``<trial_id>.parquet``) and land atomically,
curves and layers first, results last: a trial is finished exactly when its results
file exists, and writing it again replaces it. On a local or shared filesystem a file is
written under a temporary dot-name (readers skip names starting with ``.`` or ``_``)
and renamed into place. On an object store there is no rename: the object is encoded
in memory and sent as one PUT of its final key (a multipart upload above the client's
part size), and an object becomes visible only once its upload completes, so readers
never see a partial file there either.

Compaction and duplicates
-------------------------
:func:`ricci_ray.sinks.compact.compact` folds the per-trial files of a (table, sweep)
into one ``part-<uuid>.parquet``. A plain filesystem cannot swap many files for one in
a single step, so readers resolve duplicates themselves, by file: for each (sweep,
trial) the rows come from the trial's own file ``<trial_id>.parquet`` if there is one
(even an empty one), otherwise from a single ``part-*`` file (the first by name that
holds the trial). Every reader of this module (:meth:`ParquetStore.read`,
:func:`load_table`, :meth:`ParquetStore.finished_trial_ids`,
:meth:`ParquetStore.trial_rows`) applies that rule, so a trial rewritten after
compaction replaces its compacted rows, and a compaction interrupted at any step
shows neither lost nor duplicated rows. A plain ``pandas.read_parquet`` of a table
folder does not apply the rule: it shows a trial twice only after a compaction was
interrupted, or when a trial already compacted is written again (a sweep never rewrites
a finished trial), until the next compaction.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
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
        ("curvature", pa.string()),
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
        ("local_coef_mean", pa.float64()),
        ("local_coef_frac_negative", pa.float64()),
    ]
    + _RECIPE_FIELDS
    + [
        ("node_id", pa.string()),
        ("seconds_train", pa.float64()),
        ("seconds_geometry", pa.float64()),
        ("finished_at", pa.timestamp("us", tz="UTC")),
        ("code_version", pa.string()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("seconds_total", pa.float64()),
        ("epochs_trained", pa.int64()),
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
        ("layer_coef", pa.float64()),
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

PARTITION_SCHEMA = pa.schema([("sweep", pa.string())])
PARTITIONING = ds.partitioning(PARTITION_SCHEMA, flavor="hive")
PART_PREFIX = "part-"  # compacted files; a trial's own file is named by its id


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
    started_at = None if result.started_at is None else datetime.fromisoformat(result.started_at)
    rows = []
    for scale in result.scales:
        control = init.get(scale.k)
        row = {
            **_trial_columns(result),
            "k": scale.k,
            "convention": config["convention"],
            "curvature": config.get("curvature", "forman"),
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
            "local_coef_mean": scale.local_coef_mean,
            "local_coef_frac_negative": scale.local_coef_frac_negative,
            **recipe,
            "node_id": result.node_id,
            "seconds_train": result.seconds_train,
            "seconds_geometry": result.seconds_geometry,
            "finished_at": finished_at,
            "code_version": __version__,
            "started_at": started_at,
            "seconds_total": result.seconds_total,
            "epochs_trained": result.epochs_trained,
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
            layer_coef = None
            if scale.layer_coef is not None and layer < len(scale.layer_coef):
                layer_coef = scale.layer_coef[layer]
            rows.append(
                {
                    **_trial_columns(result),
                    "k": scale.k,
                    "layer": layer,
                    "ric": ric,
                    "g": g,
                    "n_components": n_comp,
                    "eta": eta,
                    "layer_coef": layer_coef,
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


def is_uri(root: str | Path) -> bool:
    """Whether ``root`` names a filesystem by URI (``s3://…``) rather than a local path."""
    return isinstance(root, str) and "://" in root


def _filesystem_for(root: str | Path) -> tuple[pafs.FileSystem, str]:
    """(filesystem, base path within it) for a local folder or a pyarrow URI."""
    if not is_uri(root):
        return pafs.LocalFileSystem(), Path(root).expanduser().absolute().as_posix()
    uri = str(root)
    if uri.startswith("s3://") and "allow_delayed_open" not in uri:
        # Delayed open: a small object goes up as one PutObject when the stream closes,
        # instead of a multipart upload started when it opens.
        uri += ("&" if "?" in uri else "?") + "allow_delayed_open=true"
    filesystem, path = pafs.FileSystem.from_uri(uri)
    return filesystem, path.rstrip("/")


@dataclass(frozen=True)
class StoredFile:
    """One visible data file of a table: where it is, and whose rows it holds."""

    path: str
    sweep: str  # the raw partition folder value
    trial_id: str | None  # None for a compacted part-* file
    size: int | None
    mtime: datetime | None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class ParquetStore:
    """Writes trial results under ``root`` (a folder or a filesystem URI) and reads them back."""

    def __init__(self, root: str | Path) -> None:
        self.uri = str(root) if is_uri(root) else None
        self.root: str | Path = self.uri if self.uri else Path(root)
        self._fs: tuple[pafs.FileSystem, str] | None = None

    def __repr__(self) -> str:
        return f"ParquetStore({str(self.root)!r})"

    def _resolved(self) -> tuple[pafs.FileSystem, str]:
        if self._fs is None:  # on first use: an object store may be contacted
            self._fs = _filesystem_for(self.root)
        return self._fs

    @property
    def filesystem(self) -> pafs.FileSystem:
        """The pyarrow filesystem the root lives on."""
        return self._resolved()[0]

    @property
    def base(self) -> str:
        """The root as a path within :attr:`filesystem`."""
        return self._resolved()[1]

    @property
    def is_local(self) -> bool:
        """Whether files land by rename (a local or mounted filesystem)."""
        return isinstance(self.filesystem, pafs.LocalFileSystem)

    def partition(self, table: str, sweep: str) -> Path | str:
        """The folder of one (table, sweep): a Path for a local root, else a URI."""
        if self.uri is None:
            return self.root / table / f"sweep={sweep}"
        return f"{self.uri.split('?', 1)[0].rstrip('/')}/{table}/sweep={sweep}"

    def _path(self, *parts: str) -> str:
        return "/".join([self.base, *parts])

    def check_writable(self) -> None:
        """Fail now, before any trial starts, when the root cannot take files."""
        from ricci_ray.errors import ConfigError

        what = "output folder" if self.uri is None else "output location"
        try:
            filesystem = self.filesystem
            if self.is_local:
                filesystem.create_dir(self.base, recursive=True)
            probe = self._path(f".write-probe-{uuid.uuid4().hex}")
            with filesystem.open_output_stream(probe) as out:
                out.write(b"")
            filesystem.delete_file(probe)
        except (OSError, ValueError, pa.ArrowException) as error:
            reason = getattr(error, "strerror", None) or str(error).strip().splitlines()[0]
            allowed = "a writable folder" if self.uri is None else "a reachable, writable bucket"
            hint = ""
            if self.uri is not None and self.uri.startswith("s3://"):
                hint = (
                    "; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws, "
                    "endpoint from AWS_ENDPOINT_URL_S3/AWS_ENDPOINT_URL"
                )
            raise ConfigError(
                f"{what} {self.root}: must be {allowed}; given one that is not ({reason}){hint}"
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
        self.land(self._path(table, f"sweep={sweep}", f"{trial_id}.parquet"), data)

    def land(self, path: str, table: pa.Table) -> None:
        """Write ``table`` to ``path`` (within :attr:`filesystem`) so that readers see the
        old file or the whole new one, never a part: rename on a filesystem, one PUT on
        an object store."""
        filesystem = self.filesystem
        folder, name = path.rsplit("/", 1)
        if not self.is_local:
            # Encode first: a failure while encoding then never reaches the store.
            buffer = pa.BufferOutputStream()
            pq.write_table(table, buffer)
            with filesystem.open_output_stream(path) as out:
                out.write(buffer.getvalue())
            return
        filesystem.create_dir(folder, recursive=True)
        temporary = f"{folder}/.{name}.{uuid.uuid4().hex}.tmp"
        try:
            pq.write_table(table, temporary, filesystem=filesystem)
            filesystem.move(temporary, path)
        finally:
            if filesystem.get_file_info(temporary).type != pafs.FileType.NotFound:
                filesystem.delete_file(temporary)

    def files(self, table: str, sweeps: Iterable[str] | None = None) -> list[StoredFile]:
        """The visible data files of ``table`` (all sweeps, or those named), by path."""
        wanted = None if sweeps is None else set(sweeps)
        top = self._path(table)
        selector = pafs.FileSelector(top, recursive=True, allow_not_found=True)
        found = []
        for info in self.filesystem.get_file_info(selector):
            if info.type != pafs.FileType.File or not info.path.endswith(".parquet"):
                continue
            folder, name = info.path[len(top) + 1 :].rpartition("/")[::2]
            if "/" in folder or not folder.startswith("sweep=") or name[0] in "._":
                continue
            sweep = folder.removeprefix("sweep=")
            if wanted is not None and sweep not in wanted:
                continue
            trial_id = None if name.startswith(PART_PREFIX) else name.removesuffix(".parquet")
            found.append(StoredFile(info.path, sweep, trial_id, info.size, info.mtime))
        return sorted(found, key=lambda file: file.path)

    def read(
        self,
        table: str = "results",
        sweeps: Iterable[str] | None = None,
        columns: Sequence[str] | None = None,
        *,
        files: Sequence[StoredFile] | None = None,
    ) -> pa.Table:
        """The rows of ``table`` as Arrow, one copy per trial (see the module notes).

        Columns: those of :data:`SCHEMAS` ``[table]`` that the files hold (a column
        added after old files were written comes back null for their rows), with the
        types given there whatever a file holds; then any other column a file holds
        (written by hand or by a newer version); then ``sweep`` (string). ``columns``
        selects columns instead (of the table's schema; absent ones come back null).
        ``files`` reads that listing instead of listing the store again.
        """
        if files is None:
            files = self.files(table, sweeps)
        if columns is None:
            schema = self._schema(table, files)
            names = schema.names
        else:
            schema = SCHEMAS[table].append(pa.field("sweep", pa.string()))
            names = list(columns)
        scan = names if "trial_id" in names else [*names, "trial_id"]
        own = [file for file in files if file.trial_id is not None]
        parts = [file for file in files if file.trial_id is None]
        pieces = [self._scan(own, schema, scan)]
        shadowed: dict[str, set[str]] = {}
        for file in own:
            shadowed.setdefault(file.sweep, set()).add(file.trial_id)
        for file in parts:  # sorted by path: the first part holding a trial wins
            data = self._scan([file], schema, scan)
            seen = shadowed.setdefault(file.sweep, set())
            if seen:
                data = data.filter(~pc.field("trial_id").isin(sorted(seen)))
            seen.update(pc.unique(data["trial_id"]).to_pylist())
            pieces.append(data)
        return pa.concat_tables(pieces).select(names)

    def _schema(self, table: str, files: Sequence[StoredFile]) -> pa.Schema:
        """The declared schema narrowed to the columns the files hold, plus their extras.

        Reads every file's footer (about a fifth of the cost of reading the rows)."""
        declared = SCHEMAS[table]
        sweep = pa.field("sweep", pa.string())
        if not files:
            return declared.append(sweep)
        factory = ds.FileSystemDatasetFactory(
            self.filesystem, [file.path for file in files], ds.ParquetFileFormat()
        )
        try:
            found = factory.inspect(promote_options="permissive", fragments=None)
        except pa.ArrowInvalid:  # irreconcilable types: the declared ones decide
            return declared.append(sweep)
        fields = [field for field in declared if field.name in found.names]
        fields += [field for field in found if field.name not in declared.names]
        return pa.schema([field for field in fields if field.name != "sweep"] + [sweep])

    def _scan(self, files: Sequence[StoredFile], schema: pa.Schema, columns: list[str]):
        if not files:
            return schema.empty_table().select(columns)
        dataset = ds.FileSystemDataset.from_paths(
            [file.path for file in files],
            schema=schema,
            format=ds.ParquetFileFormat(),
            filesystem=self.filesystem,
            partitions=[PARTITIONING.parse(f"sweep={file.sweep}/x") for file in files],
        )
        return dataset.to_table(columns=columns)

    def finished_trial_ids(self, sweep: str) -> set[str]:
        """Trials of ``sweep`` whose results have landed and did not fail."""
        table = self.read("results", [sweep], ["trial_id", "status"])
        failed = table.filter(pc.field("status") == STATUS_FAILED)["trial_id"].to_pylist()
        return set(table["trial_id"].to_pylist()) - set(failed)

    def sweeps(self) -> list[str]:
        """The sweeps with results under this root."""
        selector = pafs.FileSelector(self._path("results"), allow_not_found=True)
        return sorted(
            info.base_name.removeprefix("sweep=")
            for info in self.filesystem.get_file_info(selector)
            if info.type == pafs.FileType.Directory and info.base_name.startswith("sweep=")
        )

    def trial_rows(self, sweep: str, *, exclude: set[str] = frozenset()) -> Iterator[TrialRows]:
        """The rows of every trial of ``sweep`` not in ``exclude``."""
        results = self._read_rows("results", sweep, exclude)
        layers = self._read_rows("layers", sweep, exclude)
        curves = self._read_rows("curves", sweep, exclude)
        for trial_id, rows in results.items():
            yield TrialRows(rows, layers.get(trial_id, []), curves.get(trial_id, []))

    def _read_rows(self, table: str, sweep: str, exclude: set[str]) -> dict[str, list[dict]]:
        data = self.read(table, [sweep])
        data = data.drop_columns(["sweep"])
        if exclude:
            data = data.filter(~pc.field("trial_id").isin(sorted(exclude)))
        grouped: dict[str, list[dict]] = {}
        for row in data.to_pylist():
            grouped.setdefault(row["trial_id"], []).append(row)
        return grouped


# Integer columns every row has: numpy int64/int32 in pandas (what statistics code
# expects). The other integer columns (recipe settings that only some recipes have) are
# pandas' nullable Int64.
REQUIRED_INTEGERS = frozenset(
    ["schema_version", "depth", "seed", "k", "data_seed", "layer", "epoch", "n_components"]
)


def _pandas_type(arrow_type: pa.DataType):
    """One pandas dtype per Arrow type, whether or not a column holds nulls."""
    import pandas as pd

    if pa.types.is_int64(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_int32(arrow_type):
        return pd.Int32Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    return None  # pyarrow's default: float64, str, datetime64[us, UTC], object for lists


def to_pandas(data: pa.Table):
    """``data`` as pandas with the fixed dtypes of the module notes."""
    frame = data.to_pandas(types_mapper=_pandas_type)
    for name in data.column_names:
        arrow_type = data.schema.field(name).type
        if name in REQUIRED_INTEGERS and pa.types.is_integer(arrow_type):
            if data[name].null_count == 0:  # else a foreign file lacks it: stays nullable
                frame[name] = frame[name].astype(arrow_type.to_pandas_dtype())
    return frame


def load_table(root: str | Path, table: str = "results", sweeps: Iterable[str] | None = None):
    """Read one table (``results``, ``layers`` or ``curves``) of the data set at ``root``.

    ``root`` is a folder or a filesystem URI (``s3://bucket/prefix``). Each trial's rows
    appear once, also around a compaction; the ``sweep`` partition column is a string
    column, and every column has one dtype (see the module notes).
    """
    if table not in SCHEMAS:
        from ricci_ray.errors import ConfigError

        allowed = ", ".join(repr(name) for name in SCHEMAS)
        raise ConfigError(f"table: allowed: {allowed}; given: {table!r}")
    store = ParquetStore(root)
    if store.filesystem.get_file_info(store._path(table)).type != pafs.FileType.Directory:
        from ricci_ray.errors import DataError

        where = store.root / table if store.uri is None else f"{store.uri}/{table}"
        raise DataError(f"{where}: no ricci-ray {table} table here (expected a folder)")
    data = store.read(table, None if sweeps is None else list(sweeps))
    return to_pandas(data)
