import gzip
from pathlib import Path

import numpy as np
import pytest

from ricci_ray.data import DATASETS, Dataset, DatasetInfo, load_dataset, read_image_csv
from ricci_ray.errors import ConfigError, DataError


def _write_csv(path: Path, rows: list[list[int]], header: list[str] | None = None) -> Path:
    lines = [] if header is None else [",".join(header)]
    lines += [",".join(map(str, row)) for row in rows]
    text = "\n".join(lines) + "\n"
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def test_exports():
    import ricci_ray.data

    assert sorted(ricci_ray.data.__all__) == sorted(
        ["DATASETS", "Dataset", "DatasetInfo", "load_dataset", "read_image_csv"]
    )


@pytest.mark.parametrize("name", list(DATASETS))
def test_registry_entries_are_consistent(name):
    info = DATASETS[name]
    assert isinstance(info, DatasetInfo)
    assert info.name == name
    assert len(info.classes) == 2
    assert 0.5 < info.accuracy_threshold < 1
    assert info.needs_data_dir == info.source.startswith("files:")
    assert "\n" not in info.description and "\n" not in info.source


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        DATASETS["new"] = DATASETS["baptista-a"]  # type: ignore[index]


# --- baptista-a ---------------------------------------------------------------------------


def test_baptista_a_shapes_dtypes_and_balance():
    data = load_dataset("baptista-a", data_seed=3)
    info = DATASETS["baptista-a"]
    assert isinstance(data, Dataset)
    assert data.x_train.shape == (info.n_train, info.dim) == (1000, 3)
    assert data.x_test.shape == (info.n_test, info.dim) == (1000, 3)
    for array in (data.x_train, data.y_train, data.x_test, data.y_test):
        assert array.dtype == np.float32
        assert np.isfinite(array).all()
    for labels in (data.y_train, data.y_test):
        assert set(np.unique(labels)) == {0.0, 1.0}
        assert labels.sum() == 500
    # Rows are shuffled, so a Keras-style last-20% validation split holds both classes.
    assert 50 < data.y_train[-200:].sum() < 150


def test_baptista_a_is_a_pure_function_of_the_seed():
    first, again = load_dataset("baptista-a", data_seed=7), load_dataset("baptista-a", data_seed=7)
    other = load_dataset("baptista-a", data_seed=8)
    np.testing.assert_array_equal(first.x_train, again.x_train)
    np.testing.assert_array_equal(first.y_test, again.y_test)
    assert not np.array_equal(first.x_train, other.x_train)


def test_baptista_a_train_and_test_are_independent_draws():
    data = load_dataset("baptista-a", data_seed=0)
    assert not np.array_equal(data.x_train, data.x_test)
    assert not np.array_equal(data.y_train, data.y_test)
    # No test point coincides with a training point.
    gaps = np.abs(data.x_test[:, None, :] - data.x_train[None, :, :]).sum(-1)
    assert gaps.min() > 0


def test_baptista_a_needs_a_nonlinear_boundary():
    # A least-squares linear classifier stays far from the 0.99 bar.
    data = load_dataset("baptista-a", data_seed=0)
    design = np.column_stack([data.x_train, np.ones(len(data.x_train))])
    weights, *_ = np.linalg.lstsq(design, data.y_train * 2 - 1, rcond=None)
    design_test = np.column_stack([data.x_test, np.ones(len(data.x_test))])
    accuracy = ((design_test @ weights > 0) == (data.y_test == 1)).mean()
    assert accuracy < 0.8


def test_baptista_a_ignores_data_dir():
    load_dataset("baptista-a", data_dir="/nonexistent")


# --- read_image_csv -------------------------------------------------------------------------


def test_read_image_csv_header_layout(tmp_path):
    header = ["label"] + [f"pixel{i}" for i in range(1, 785)]
    rows = [[3] + [i % 256] * 784 for i in range(4)]
    images, labels = read_image_csv(_write_csv(tmp_path / "h.csv", rows, header))
    assert images.shape == (4, 784) and images.dtype == np.float32
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, [3, 3, 3, 3])
    np.testing.assert_array_equal(images[:, 0], [0, 1, 2, 3])


def test_read_image_csv_header_layout_finds_label_by_name(tmp_path):
    # The label column need not be first when a header names it.
    header = [f"pixel{i}" for i in range(1, 785)] + ["label"]
    rows = [list(range(784)) + [9]]
    images, labels = read_image_csv(_write_csv(tmp_path / "h.csv", rows, header))
    np.testing.assert_array_equal(labels, [9])
    assert images[0, 0] == 0 and images[0, -1] == 783


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_read_image_csv_headerless_layout_label_last(tmp_path, suffix):
    rows = [[255] * 784 + [7], [0] * 784 + [1]]
    images, labels = read_image_csv(_write_csv(tmp_path / f"n{suffix}", rows))
    np.testing.assert_array_equal(labels, [7, 1])
    np.testing.assert_array_equal(images.max(axis=1), [255, 0])


def test_read_image_csv_returns_copies_of_the_cache(tmp_path):
    path = _write_csv(tmp_path / "n.csv", [[1] * 784 + [2]])
    images, _ = read_image_csv(path)
    images[:] = -1
    assert read_image_csv(path)[0].min() == 1


def test_read_image_csv_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"absent\.csv: file not found; expected a CSV of 785"):
        read_image_csv(tmp_path / "absent.csv")


@pytest.mark.parametrize("header", [False, True])
def test_read_image_csv_wrong_column_count(tmp_path, header):
    names = ["label"] + [f"pixel{i}" for i in range(1, 11)] if header else None
    path = _write_csv(tmp_path / "short.csv", [list(range(11))], names)
    with pytest.raises(DataError, match=r"short\.csv: found 11 columns; expected a CSV of 785"):
        read_image_csv(path)


def test_read_image_csv_header_without_label(tmp_path):
    header = [f"pixel{i}" for i in range(785)]
    path = _write_csv(tmp_path / "nolabel.csv", [[0] * 785], header)
    with pytest.raises(DataError, match="header has no 'label' column"):
        read_image_csv(path)


def test_read_image_csv_real_files(data_dir):
    images, labels = read_image_csv(data_dir / "fmnist" / "test5.csv")
    assert images.shape == (1000, 784)
    assert set(labels) == {5}
    assert 0 <= images.min() and images.max() <= 255

    images, labels = read_image_csv(data_dir / "mnist" / "mnist_5k.csv.gz")
    assert images.shape == (5000, 784)
    np.testing.assert_array_equal(np.bincount(labels), [500] * 10)


# --- image data sets -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "n_per_split", "label_files"),
    [
        ("fmnist-5v9", 1000, [("fmnist/test5.csv", 5), ("fmnist/test9.csv", 9)]),
        ("mnist-1v7", 500, [("mnist/mnist_5k.csv.gz", 1), ("mnist/mnist_5k.csv.gz", 7)]),
        ("mnist-6v8", 500, [("mnist/mnist_5k.csv.gz", 6), ("mnist/mnist_5k.csv.gz", 8)]),
    ],
)
def test_image_datasets_sizes_classes_and_split(data_dir, name, n_per_split, label_files):
    data = load_dataset(name, data_dir=data_dir)
    info = DATASETS[name]
    assert (info.n_train, info.n_test, info.dim) == (n_per_split, n_per_split, 784)
    assert data.x_train.shape == (n_per_split, 784) and data.x_test.shape == (n_per_split, 784)
    assert data.x_train.dtype == data.y_train.dtype == np.float32
    assert data.x_train.max() == 255  # raw pixels, not rescaled

    # Rows alternate class 0, class 1; class c takes the first half of its images to train.
    np.testing.assert_array_equal(data.y_train, np.tile([0.0, 1.0], n_per_split // 2))
    np.testing.assert_array_equal(data.y_test, np.tile([0.0, 1.0], n_per_split // 2))
    half = n_per_split // 2
    for c, (file, label) in enumerate(label_files):
        images, labels = read_image_csv(data_dir / file)
        of_class = images[labels == label]
        np.testing.assert_array_equal(data.x_train[c::2], of_class[:half])
        np.testing.assert_array_equal(data.x_test[c::2], of_class[half : 2 * half])


def test_image_datasets_ignore_data_seed(data_dir):
    first = load_dataset("mnist-1v7", data_dir=data_dir, data_seed=0)
    other = load_dataset("mnist-1v7", data_dir=str(data_dir), data_seed=5)
    np.testing.assert_array_equal(first.x_test, other.x_test)


def test_image_dataset_without_data_dir():
    with pytest.raises(DataError, match=r"fmnist-5v9: needs a data directory.*test5\.csv"):
        load_dataset("fmnist-5v9")


def test_image_dataset_missing_directory(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("mnist-1v7", data_dir=tmp_path / "nowhere")


def test_image_dataset_missing_file(tmp_path):
    (tmp_path / "fmnist").mkdir()
    with pytest.raises(DataError, match=r"test5\.csv: file not found"):
        load_dataset("fmnist-5v9", data_dir=tmp_path)


def test_image_dataset_too_few_images(tmp_path):
    (tmp_path / "mnist").mkdir()
    rows = [[0] * 784 + [d] for d in range(10)]
    _write_csv(tmp_path / "mnist" / "mnist_5k.csv.gz", rows)
    with pytest.raises(DataError, match="found 1 images with label 1; expected at least 500"):
        load_dataset("mnist-1v7", data_dir=tmp_path)


# --- bad arguments --------------------------------------------------------------------------


def test_unknown_name_lists_known_names():
    with pytest.raises(ConfigError, match=r"dataset: must be one of baptista-a, .*'cifar'"):
        load_dataset("cifar")


@pytest.mark.parametrize("seed", [-1, 1.5, "0"])
def test_bad_data_seed(seed):
    with pytest.raises(ConfigError, match="data_seed: must be an integer >= 0"):
        load_dataset("baptista-a", data_seed=seed)
