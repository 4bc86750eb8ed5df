"""Compaction: fold the per-trial files of each (table, sweep) into one ``part-<uuid>``.

A sweep leaves one small file per trial and table; thousands of them make every read
slow (and cost a request each on an object store). :func:`compact` rewrites the rows
readers see into one file per (table, sweep), without changing them: the same rows,
the same schema, ``schema_version`` included.

What is folded, per (table, sweep): every earlier ``part-*`` file and the own files of
finished trials (results landed, status not ``failed``). The own files of failed or
unfinished trials stay as they are, so a resumed sweep rewrites them as before; their
file keeps shadowing any compacted rows of the same trial.

The steps, each safe to be interrupted after (see "Compaction and duplicates" in
:mod:`ricci_ray.sinks.parquet` for the reading rule that makes this so):

1. :func:`plan`: list the files, read the rows readers see, keep those not shadowed by
   a file that stays.
2. :func:`write_merged`: land them as a new ``part-<uuid>.parquet`` (a dot-name then a
   rename on a filesystem; one PUT on an object store). Until the old files go, a trial
   is in two places, but readers take a trial's own file over any part, and of several
   parts holding it (identical copies, see 3) just one.
3. :func:`remove_inputs`: delete the old parts first, then the folded trial files.
   Deleting parts first keeps the invariant that parts holding the same trial hold the
   same rows: a part can only disagree with a newer one about a trial whose own file
   still exists, and that file wins until it is deleted, after the parts.

A file that changed since it was listed (a trial rewritten meanwhile) is not deleted,
so its new rows stay visible. Compaction is still meant for a sweep that is not
running: on an object store whose timestamps have one-second resolution, a same-size
rewrite within that second could go unnoticed.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs

from ricci_ray.sinks.parquet import PART_PREFIX, ParquetStore, StoredFile
from ricci_ray.trial import STATUS_FAILED

# Results last: the set of finished trials is read from results, and a trial's results
# file is what marks it finished.
_ORDER = ("curves", "layers", "results")


@dataclass
class CompactionPlan:
    """What one (table, sweep) compaction reads, writes and deletes."""

    table: str
    sweep: str
    merged: pa.Table  # the rows of the new part, in the table's schema
    inputs: list[StoredFile]  # deleted once the part has landed: parts first
    kept: list[StoredFile] = field(default_factory=list)  # failed or unfinished trials

    @property
    def worthwhile(self) -> bool:
        """False when there is nothing to fold (at most one part and nothing else)."""
        return bool(self.inputs) and not (
            len(self.inputs) == 1 and self.inputs[0].trial_id is None
        )


def plan(
    store: ParquetStore,
    table: str,
    sweep: str,
    finished: set[str],
    *,
    files: list[StoredFile] | None = None,
    visible: pa.Table | None = None,
) -> CompactionPlan:
    """Decide what to fold for one (table, sweep); ``finished`` from the results table.

    ``files`` and ``visible`` (the listing and what :meth:`ParquetStore.read` gave for
    it) spare reading the table again when the caller has them."""
    if files is None or visible is None:
        files = store.files(table, [sweep])
        visible = store.read(table, [sweep], files=files)
    kept = [f for f in files if f.trial_id is not None and f.trial_id not in finished]
    inputs = [f for f in files if f.trial_id is None]
    inputs += [f for f in files if f.trial_id is not None and f.trial_id in finished]
    visible = visible.drop_columns(["sweep"])
    if kept:
        shadowed = sorted(f.trial_id for f in kept)
        visible = visible.filter(~pc.field("trial_id").isin(shadowed))
    order = [name for name in ("trial_id", "k", "epoch", "layer") if name in visible.column_names]
    merged = visible.sort_by([(name, "ascending") for name in order])
    return CompactionPlan(table, sweep, merged, inputs, kept)


def write_merged(store: ParquetStore, job: CompactionPlan) -> str | None:
    """Land the merged rows as a new part file; return its path (None if no rows)."""
    if job.merged.num_rows == 0:
        return None
    name = f"{PART_PREFIX}{uuid.uuid4()}.parquet"
    path = store._path(job.table, f"sweep={job.sweep}", name)
    store.land(path, job.merged)
    return path


def remove_inputs(store: ParquetStore, job: CompactionPlan) -> int:
    """Delete the folded files, parts first; skip any that changed since listed."""
    filesystem = store.filesystem
    removed = 0
    for file in job.inputs:
        now = filesystem.get_file_info(file.path)
        if now.type != pafs.FileType.File or (now.size, now.mtime) != (file.size, file.mtime):
            continue
        filesystem.delete_file(file.path)
        removed += 1
    return removed


def compact(root: str | Path, sweeps: Iterable[str] | None = None) -> dict:
    """Compact the sweeps of the data set at ``root`` (all, or those named).

    Returns ``{sweep: {table: {"files_before": n, "files_after": m, "rows": r}}}``,
    counting visible data files; ``rows`` is the number of rows folded into the part.
    """
    store = ParquetStore(root)
    report: dict[str, dict[str, dict[str, int]]] = {}
    for sweep in store.sweeps() if sweeps is None else list(sweeps):
        # One read of results gives both the finished trials and the rows to fold.
        files = store.files("results", [sweep])
        results = store.read("results", [sweep], files=files)
        failed = results.filter(pc.field("status") == STATUS_FAILED)["trial_id"]
        finished = set(results["trial_id"].to_pylist()) - set(failed.to_pylist())
        report[sweep] = {}
        for table in _ORDER:
            if table == "results":
                job = plan(store, table, sweep, finished, files=files, visible=results)
            else:
                job = plan(store, table, sweep, finished)
            before = len(job.inputs) + len(job.kept)
            if not before:
                continue
            rows = 0
            if job.worthwhile:
                write_merged(store, job)
                remove_inputs(store, job)
                rows = job.merged.num_rows
            after = len(store.files(table, [sweep]))
            report[sweep][table] = {"files_before": before, "files_after": after, "rows": rows}
    return report


def add_compact_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``ricci-ray compact DIR [--sweep NAME]`` to the CLI's subcommands."""
    command = subparsers.add_parser(
        "compact",
        help="merge a sweep folder's per-trial Parquet files into one file per table",
        description=(
            "Fold the per-trial Parquet files of each table and sweep into one "
            "part-<uuid>.parquet, without changing the rows. Failed trials keep their own "
            "files. Safe to interrupt and to run again; run it when no sweep is writing."
        ),
    )
    command.add_argument(
        "out_dir", metavar="DIR", help="a sweep's output folder or URI (s3://bucket/prefix)"
    )
    command.add_argument("--sweep", action="append", default=None, help="only this sweep")
    command.set_defaults(handler=_cmd_compact)
    return command


def _cmd_compact(args: argparse.Namespace) -> int:
    from ricci_ray.errors import ConfigError

    if not ParquetStore(args.out_dir).sweeps():
        raise ConfigError(
            f"DIR: allowed: a sweep output folder; given: {args.out_dir} (no results)"
        )
    for sweep, tables in compact(args.out_dir, args.sweep).items():
        for table, counts in tables.items():
            print(
                f"sweep '{sweep}' {table}: {counts['files_before']} files -> "
                f"{counts['files_after']} ({counts['rows']} rows compacted)"
            )
    return 0
