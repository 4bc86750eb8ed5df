"""The Parquet store: compaction, its crash safety, and the reading rules behind it."""

from __future__ import annotations

import argparse
import dataclasses
import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ricci_ray import load_results
from ricci_ray.sinks import compact as compaction
from ricci_ray.sinks.parquet import SCHEMAS, ParquetStore
from ricci_ray.spec import TrialConfig
from ricci_ray.trial import TrialResult
from tests.helpers import make_result

TABLES = ("results", "layers", "curves")


def with_curve(result: TrialResult) -> TrialResult:
    point = {"epoch": 3.0, "ricci_coef/k10": -0.25, "accuracy/test": 0.9, "loss/test": 0.3}
    return dataclasses.replace(result, curve=[point, {**point, "epoch": 6.0}])


def failed(seed: int) -> TrialResult:
    config = TrialConfig.from_dict(make_result(seed).config)
    return TrialResult.failed(config, "RuntimeError: boom")


def snapshot(root, table: str) -> pd.DataFrame:
    """A table's rows in a canonical order, to compare before and after."""
    frame = load_results(root, table)
    keys = [name for name in ("sweep", "trial_id", "k", "epoch", "layer") if name in frame]
    return frame.sort_values(keys).reset_index(drop=True)


def names(root, table: str, sweep: str = "s") -> list[str]:
    folder = root / table / f"sweep={sweep}"
    return sorted(os.listdir(folder)) if folder.is_dir() else []


def visible(root, table: str, sweep: str = "s") -> list[str]:
    return [name for name in names(root, table, sweep) if not name.startswith(".")]


@pytest.fixture
def sweep_dir(tmp_path):
    """Two sweeps: six finished trials (two with curves) and one failed trial in 's'."""
    store = ParquetStore(tmp_path)
    for seed in range(6):
        result = make_result(seed, coef=None if seed == 3 else -0.1 * seed)
        store.write("s", with_curve(result) if seed < 2 else result)
    store.write("s", failed(6))
    store.write("other", make_result(0))
    return tmp_path


def test_compaction_keeps_every_row_and_leaves_one_file_per_table(sweep_dir):
    before = {table: snapshot(sweep_dir, table) for table in TABLES}
    finished = ParquetStore(sweep_dir).finished_trial_ids("s")
    failed_id = failed(6).trial_id

    report = compaction.compact(sweep_dir)

    for table in TABLES:
        after = snapshot(sweep_dir, table)
        pd.testing.assert_frame_equal(after, before[table])
        path = sweep_dir / table / "sweep=s"
        for name in visible(sweep_dir, table):  # the files keep the declared schema
            assert pq.read_schema(path / name).remove_metadata() == SCHEMAS[table]
    assert report["s"]["results"] == {"files_before": 7, "files_after": 2, "rows": 12}
    assert report["s"]["curves"] == {"files_before": 2, "files_after": 1, "rows": 4}
    # The failed trial keeps its own files, so a resumed sweep rewrites them as before.
    for table in ("results", "layers"):
        files = visible(sweep_dir, table)
        assert len(files) == 2 and f"{failed_id}.parquet" in files
        assert [name for name in files if name.startswith("part-")]
    assert visible(sweep_dir, "curves")[0].startswith("part-")
    assert len(visible(sweep_dir, "results", "other")) == 1
    assert ParquetStore(sweep_dir).finished_trial_ids("s") == finished
    assert not [name for table in TABLES for name in names(sweep_dir, table) if name[0] == "."]

    # Nothing left to fold: a second run changes nothing.
    again = compaction.compact(sweep_dir, ["s"])
    assert again["s"]["results"]["rows"] == 0
    pd.testing.assert_frame_equal(snapshot(sweep_dir, "results"), before["results"])


def test_a_failed_trial_rerun_after_compaction_is_not_duplicated(sweep_dir):
    compaction.compact(sweep_dir)
    store = ParquetStore(sweep_dir)
    rerun = make_result(6, coef=-0.6)
    store.write("s", rerun)  # the resumed sweep replaces the failed trial's own files

    results = load_results(sweep_dir)
    mine = results[(results.sweep == "s") & (results.trial_id == rerun.trial_id)]
    assert len(mine) == 2 and set(mine.status) != {"failed"}
    assert rerun.trial_id in store.finished_trial_ids("s")
    assert len(store.finished_trial_ids("s")) == 7
    assert not results.duplicated(["sweep", "trial_id", "k"]).any()
    by_trial = {rows.results[0]["trial_id"]: rows for rows in store.trial_rows("s")}
    assert len(by_trial) == 7 and len(by_trial[rerun.trial_id].layers) == 2 * 5

    compaction.compact(sweep_dir)
    assert len(visible(sweep_dir, "results")) == 1
    assert len(load_results(sweep_dir, sweeps=["s"])) == 7 * 2


def test_a_trial_written_again_after_compaction_replaces_its_compacted_rows(sweep_dir):
    compaction.compact(sweep_dir)
    store = ParquetStore(sweep_dir)
    store.write("s", make_result(1, coef=-0.9))  # newer rows, no curve this time
    trial = make_result(1).trial_id

    def rows_of(table):
        frame = load_results(sweep_dir, table, ["s"])
        return frame[frame.trial_id == trial]

    assert rows_of("results").set_index("k").ricci_coef[10] == pytest.approx(-0.9)
    assert len(rows_of("results")) == 2 and len(rows_of("layers")) == 10
    assert len(rows_of("curves")) == 2  # no new curves file: the compacted rows stand
    before = {table: snapshot(sweep_dir, table) for table in TABLES}
    compaction.compact(sweep_dir)
    for table in TABLES:
        pd.testing.assert_frame_equal(snapshot(sweep_dir, table), before[table])


@pytest.mark.parametrize("deleted", [0, 1, 2, 3])
def test_an_interrupted_compaction_neither_loses_nor_duplicates_rows(sweep_dir, deleted):
    """Crash after the merged part landed, with only ``deleted`` old files removed."""
    store = ParquetStore(sweep_dir)
    compaction.compact(sweep_dir)  # an earlier part exists: parts and own files to fold
    store.write("s", make_result(1, coef=-0.9))  # its own file now disagrees with the part
    store.write("s", make_result(7))
    before = {table: snapshot(sweep_dir, table) for table in TABLES}
    finished = store.finished_trial_ids("s")
    n_trials = len(list(store.trial_rows("s")))

    for table in ("results", "layers"):
        job = compaction.plan(store, table, "s", finished)
        assert job.inputs[0].trial_id is None  # old parts go first
        assert compaction.write_merged(store, job)
        doomed = dataclasses.replace(job, inputs=job.inputs[:deleted])
        assert compaction.remove_inputs(store, doomed) == min(deleted, len(job.inputs))

    # Readers see exactly the rows of before: no duplicates, nothing lost.
    for table in TABLES:
        pd.testing.assert_frame_equal(snapshot(sweep_dir, table), before[table])
    assert store.finished_trial_ids("s") == finished
    assert len(list(store.trial_rows("s"))) == n_trials

    # The next run finishes the job.
    compaction.compact(sweep_dir)
    for table in TABLES:
        pd.testing.assert_frame_equal(snapshot(sweep_dir, table), before[table])
    assert len(visible(sweep_dir, "results")) == 2  # one part and the failed trial


def test_a_crash_before_the_rename_leaves_only_an_invisible_file(sweep_dir):
    before = snapshot(sweep_dir, "results")
    store = ParquetStore(sweep_dir)
    job = compaction.plan(store, "results", "s", store.finished_trial_ids("s"))
    pq.write_table(job.merged, sweep_dir / "results" / "sweep=s" / ".part-crash.parquet.tmp")
    pd.testing.assert_frame_equal(snapshot(sweep_dir, "results"), before)


def test_a_file_rewritten_during_compaction_is_not_deleted(sweep_dir):
    store = ParquetStore(sweep_dir)
    job = compaction.plan(store, "results", "s", store.finished_trial_ids("s"))
    compaction.write_merged(store, job)
    store.write("s", make_result(2, coef=-0.8))  # lands between the read and the delete
    removed = compaction.remove_inputs(store, job)
    assert removed == len(job.inputs) - 1
    results = load_results(sweep_dir, sweeps=["s"])
    mine = results[results.trial_id == make_result(2).trial_id].set_index("k")
    assert mine.ricci_coef[10] == pytest.approx(-0.8) and len(mine) == 2


def test_load_table_gives_each_column_one_dtype_and_the_sweep_as_a_string(tmp_path):
    store = ParquetStore(tmp_path)
    store.write("2024", make_result(0))
    # A file written before a column existed: the column comes back null, same dtype.
    old = pa.Table.from_pylist(
        [dict(row, seed=9, trial_id="old") for row in store.trial_rows("2024").__next__().results],
        schema=SCHEMAS["results"],
    ).drop_columns(["recipe_epochs", "diverged"])
    pq.write_table(old, tmp_path / "results" / "sweep=2024" / "old.parquet")

    frame = load_results(tmp_path)
    assert frame.sweep.tolist() == ["2024"] * 4 and pd.api.types.is_string_dtype(frame.sweep)
    assert str(frame.recipe_epochs.dtype) == "Int64" and frame.recipe_epochs.isna().sum() == 2
    assert str(frame.diverged.dtype) == "boolean"
    assert frame.depth.dtype == "int64" and frame.k.dtype == "int64"
    assert frame.schema_version.dtype == "int32" and set(frame.schema_version) == {1}
    assert frame.ricci_coef.dtype == "float64"
    assert str(frame.finished_at.dtype) == "datetime64[us, UTC]"
    # The same columns and dtypes from a data set without nulls.
    clean = load_results(tmp_path, sweeps=["2024"])
    clean = clean[clean.trial_id != "old"]
    assert clean.recipe_epochs.notna().all() and str(clean.recipe_epochs.dtype) == "Int64"


def test_a_file_uri_is_a_local_folder(tmp_path):
    store = ParquetStore(tmp_path.as_uri())
    store.check_writable()
    store.write("s", make_result(0))
    assert ParquetStore(tmp_path).finished_trial_ids("s") == {make_result(0).trial_id}
    assert len(load_results(tmp_path.as_uri())) == 2
    assert store.sweeps() == ["s"]


def test_compact_command_prints_files_before_and_after(sweep_dir, capsys):
    parser = argparse.ArgumentParser()
    compaction.add_compact_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["compact", str(sweep_dir), "--sweep", "s"])
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    assert "sweep 's' results: 7 files -> 2 (12 rows compacted)" in out
    assert "sweep 's' layers: 7 files -> 2" in out and "other" not in out
