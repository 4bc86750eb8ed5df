import gzip
from pathlib import Path

import numpy as np
import pytest

from ricci_ray.data import (
    DATASETS,
    Dataset,
    DatasetInfo,
    describe_datasets,
    load_dataset,
    read_idx,
    read_image_csv,
    resolve_dataset,
    synthetic,
)
from ricci_ray.errors import ConfigError, DataError

SYNTHETIC = [name for name, info in DATASETS.items() if not info.needs_data_dir]


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
        [
            "DATASETS",
            "Dataset",
            "DatasetInfo",
            "describe_datasets",
            "load_dataset",
            "read_idx",
            "read_image_csv",
            "resolve_dataset",
        ]
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


# --- synthetic sets: common properties ------------------------------------------------------


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_shapes_dtypes_and_purity(name):
    info = DATASETS[name]
    data = load_dataset(name, data_seed=4)
    assert data.x_train.shape == (info.n_train, info.dim)
    assert data.x_test.shape == (info.n_test, info.dim)
    for array in (data.x_train, data.y_train, data.x_test, data.y_test):
        assert array.dtype == np.float32 and np.isfinite(array).all()
    assert set(np.unique(data.y_train)) == set(np.unique(data.y_test)) == {0.0, 1.0}

    again, other = load_dataset(name, data_seed=4), load_dataset(name, data_seed=5)
    np.testing.assert_array_equal(data.x_test, again.x_test)
    np.testing.assert_array_equal(data.y_train, again.y_train)
    assert not np.array_equal(data.x_train, other.x_train)
    # Train and test are independent draws: no test point repeats a training point.
    gaps = np.abs(data.x_test[:, None, :] - data.x_train[None, :, :]).sum(-1)
    assert gaps.min() > 0


@pytest.mark.parametrize("name", [n for n in SYNTHETIC if n != "hehl-2"])
def test_synthetic_classes_are_balanced_and_shuffled(name):
    data = load_dataset(name, data_seed=0)
    assert data.y_train.sum() == data.y_test.sum() == 500
    assert 50 < data.y_train[-200:].sum() < 150


@pytest.mark.parametrize(
    "generator",
    [getattr(synthetic, f) for f in ("baptista_b", "baptista_c", "hehl_1", "hehl_2", "hehl_3")],
)
@pytest.mark.parametrize("n_points", [1, 0, True])
def test_synthetic_rejects_bad_sizes(generator, n_points):
    with pytest.raises(ConfigError, match="n_points: must be an integer >= 2"):
        generator(n_points, 0)


def test_synthetic_sets_scale_is_ignored():
    raw, unit = (
        load_dataset("hehl-1", data_seed=2),
        load_dataset("hehl-1", data_seed=2, scale="unit"),
    )
    np.testing.assert_array_equal(raw.x_train, unit.x_train)


# --- synthetic sets: geometry -----------------------------------------------------------------


def test_baptista_b_balls_inside_a_cube():
    x, y = synthetic.baptista_b(4000, 0)
    assert np.abs(x).max() <= 1
    # Distance to the nearer of the balls' centres (0, 0, +-0.4).
    nearest = np.linalg.norm(x[:, None, :] - synthetic.BALL_CENTRES[None], axis=2).min(axis=1)
    assert nearest[y == 1].max() < 0.4
    assert nearest[y == 0].min() >= 0.55
    # Both balls are filled, one above the other.
    assert (x[y == 1, 2] > 0).mean() == pytest.approx(0.5, abs=0.05)


def test_baptista_c_sheet_crosses_slab_with_bayes_accuracy_near_0_935():
    x, y = synthetic.baptista_c(20000, 0)
    sheet = 0.5 * np.sin(np.pi * x[:, 0])
    assert np.abs(x[y == 1, 2]).max() < 0.1
    assert np.abs(x[y == 0, 2] - sheet[y == 0]).max() < 0.1
    # Inside the crossings the classes have equal density: the share of sheet points inside
    # the slab is the Bayes error doubled, 0.13 by the integral in the docstring.
    assert (np.abs(x[y == 0, 2]) < 0.1).mean() == pytest.approx(0.13, abs=0.01)


def test_hehl_1_two_noisy_circles():
    x, y = synthetic.hehl_1(4000, 0)
    assert x.shape == (4000, 2)
    radius = np.linalg.norm(x, axis=1)
    assert radius[y == 0].mean() == pytest.approx(1.0, abs=0.01)
    assert radius[y == 1].mean() == pytest.approx(0.8, abs=0.01)
    # Radial spread of a circle with noise 0.03 per coordinate is 0.03.
    assert radius[y == 0].std() == pytest.approx(0.03, abs=0.005)
    assert radius[y == 0].min() > radius[y == 1].max() - 0.05


def test_hehl_2_disk_with_four_circles():
    x, y = synthetic.hehl_2(20000, 0)
    assert np.linalg.norm(x, axis=1).max() <= 1
    centres = np.array([[0, 0.5], [0, -0.5], [0.5, 0], [-0.5, 0]])
    nearest = np.linalg.norm(x[:, None, :] - centres[None], axis=2).min(axis=1)
    np.testing.assert_array_equal(y == 1, nearest < 0.2)
    # The four circles cover 4 * 0.2^2 = 16% of the unit disk.
    assert y.mean() == pytest.approx(0.16, abs=0.01)


def test_hehl_3_two_cylinders():
    x, y = synthetic.hehl_3(4000, 0)
    radius = np.linalg.norm(x[:, :2], axis=1)
    assert 0.9 <= radius[y == 0].min() and radius[y == 0].max() <= 1.1
    assert 0.7 <= radius[y == 1].min() and radius[y == 1].max() <= 0.9
    assert 0 <= x[:, 2].min() and x[:, 2].max() <= 1


def test_hehl_4_linked_tori_touch_without_overlap():
    x, y = synthetic.hehl_4(4000, 0)

    def to_core(points, plane_axes, centre):
        # Distance to a circle of radius 2 about centre in the plane of the two given axes.
        shifted = points - centre
        in_plane = np.linalg.norm(shifted[:, plane_axes], axis=1)
        normal = np.delete(shifted, plane_axes, axis=1)[:, 0]
        return np.hypot(in_plane - 2, normal)

    first = to_core(x, [0, 1], np.zeros(3))
    second = to_core(x, [0, 2], np.array([2.0, 0.0, 0.0]))
    assert first[y == 0].max() <= 1 and second[y == 1].max() <= 1
    assert first[y == 1].min() >= 1 - 1e-5 and second[y == 0].min() >= 1 - 1e-5


# --- IDX files --------------------------------------------------------------------------------


def _write_idx(path: Path, values: np.ndarray, *, gz: bool = False) -> Path:
    """An IDX file of unsigned bytes: magic 0x000008DD (DD = ndim), big-endian dims, data."""
    header = bytes([0, 0, 8, values.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in values.shape
    )
    raw = header + values.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        raw = gzip.compress(raw)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    return path


def _images_and_labels(labels: list[int], offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Tiny 28x28 images whose first pixel is ``offset + row`` (so rows can be traced)."""
    images = np.zeros((len(labels), 28, 28), dtype=np.uint8)
    images[:, 0, 0] = offset + np.arange(len(labels))
    images[:, 27, 27] = 255
    return images, np.array(labels, dtype=np.uint8)


TRAIN_LABELS = [1, 7, 3, 7, 1, 1, 8, 6, 6, 8]
TEST_LABELS = [7, 1, 6, 8, 3]


def _write_idx_set(folder: Path, *, gz: bool = False) -> None:
    """Train and t10k IDX files in ``folder``; first pixels 0.. (train) and 100.. (test)."""
    for prefix, labels, offset in (("train", TRAIN_LABELS, 0), ("t10k", TEST_LABELS, 100)):
        images, labels_array = _images_and_labels(labels, offset)
        _write_idx(folder / f"{prefix}-images-idx3-ubyte", images, gz=gz)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels_array, gz=gz)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, gz):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = _write_idx(tmp_path / "x-idx3-ubyte", images, gz=gz)
    read = read_idx(path)
    assert read.dtype == np.uint8
    np.testing.assert_array_equal(read, images)
    read[:] = 0  # a copy: the cache is untouched
    np.testing.assert_array_equal(read_idx(path), images)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"absent-idx1-ubyte: file not found; expected an IDX"):
        read_idx(tmp_path / "absent-idx1-ubyte")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x00\x00", r"truncated: 2 bytes; expected at least a 4-byte magic"),
        (b"\x00\x00\x0d\x03" + bytes(12), r"bad magic number 0x00000D03; expected 0x00000803"),
        (b"PK\x03\x04" + bytes(12), r"bad magic number 0x504B0304"),
        (b"\x00\x00\x08\x03" + bytes(5), r"truncated header: 9 bytes; expected 16 for 3 dim"),
        (
            b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + bytes(3),
            r"truncated: 3 bytes of data; expected 5 for shape 5",
        ),
        (
            b"\x00\x00\x08\x02" + (1).to_bytes(4, "big") + (2).to_bytes(4, "big") + bytes(3),
            r"too long: 3 bytes of data; expected 2 for shape 1 x 2",
        ),
        (b"\x1f\x8b\x08\x00garbage", r"not a valid gzip file"),
    ],
)
def test_read_idx_rejects_corrupt_files(tmp_path, raw, message):
    path = tmp_path / "bad-idx-ubyte"
    path.write_bytes(raw)
    with pytest.raises(DataError, match=r"bad-idx-ubyte: " + message):
        read_idx(path)


@pytest.mark.parametrize(
    ("folder", "gz"),
    [("mnist", False), ("MNIST/raw", True), ("MNIST", False)],
)
def test_mnist_idx_task_filters_classes_in_file_order(tmp_path, folder, gz):
    _write_idx_set(tmp_path / folder, gz=gz)
    data = load_dataset("mnist-idx-1v7", data_dir=tmp_path)
    # Train rows 0, 1, 3, 4, 5 hold 1 or 7; test rows 0 and 1.
    np.testing.assert_array_equal(data.y_train, [0, 1, 1, 0, 0])
    np.testing.assert_array_equal(data.x_train[:, 0], [0, 1, 3, 4, 5])
    np.testing.assert_array_equal(data.y_test, [1, 0])
    np.testing.assert_array_equal(data.x_test[:, 0], [100, 101])
    assert data.x_train.shape == (5, 784) and data.x_train.dtype == np.float32
    assert data.x_train.max() == 255 and data.x_train[0, 783] == 255
    assert data.y_train.dtype == np.float32


def test_fmnist_idx_torchvision_layout_and_any_pair(tmp_path):
    _write_idx_set(tmp_path / "FashionMNIST" / "raw", gz=True)
    data = load_dataset("fmnist-idx-8v6", data_dir=tmp_path)
    # Class 0 is the first-named label (8), class 1 the second (6).
    np.testing.assert_array_equal(data.y_train, [0, 1, 1, 0])
    np.testing.assert_array_equal(data.x_test[:, 0], [102, 103])
    np.testing.assert_array_equal(data.y_test, [1, 0])
    # MNIST files are not fashion-MNIST ones.
    with pytest.raises(DataError, match=r"mnist-idx-6v8: no mnist IDX files under .*MNIST/raw/"):
        load_dataset("mnist-idx-6v8", data_dir=tmp_path)


def test_idx_scale_unit_divides_pixels_by_255(tmp_path):
    _write_idx_set(tmp_path / "mnist")
    raw = load_dataset("mnist-idx-1v7", data_dir=tmp_path)
    unit = load_dataset("mnist-idx-1v7", data_dir=tmp_path, scale="unit")
    assert unit.x_train.dtype == np.float32 and unit.x_train.max() == 1
    np.testing.assert_allclose(unit.x_test, raw.x_test / 255)
    np.testing.assert_array_equal(unit.y_train, raw.y_train)


def test_csv_scale_unit(data_dir):
    data = load_dataset("mnist-6v8", data_dir=data_dir, scale="unit")
    assert data.x_train.max() == 1 and data.x_train.min() == 0


@pytest.mark.parametrize("scale", ["Unit", 255, "standard"])
def test_bad_scale(scale):
    with pytest.raises(ConfigError, match=r"scale: must be one of None, 'unit'; given"):
        load_dataset("baptista-a", scale=scale)


def test_idx_missing_labels_file(tmp_path):
    _write_idx_set(tmp_path / "mnist")
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte: file not found .*labels"):
        load_dataset("mnist-idx-1v7", data_dir=tmp_path)


def test_idx_files_swapped(tmp_path):
    folder = tmp_path / "mnist"
    _write_idx_set(folder)
    labels = folder / "train-labels-idx1-ubyte"
    images = folder / "train-images-idx3-ubyte"
    raw_labels = labels.read_bytes()
    labels.write_bytes(images.read_bytes())
    images.write_bytes(raw_labels)
    with pytest.raises(DataError, match=r"images-idx3-ubyte: bad magic number 0x00000801; exp"):
        load_dataset("mnist-idx-1v7", data_dir=tmp_path)


def test_idx_count_mismatch_and_image_size(tmp_path):
    folder = tmp_path / "mnist"
    _write_idx_set(folder)
    _write_idx(folder / "t10k-labels-idx1-ubyte", np.array([1, 7], dtype=np.uint8))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte: 2 labels; expected one per"):
        load_dataset("mnist-idx-1v7", data_dir=tmp_path)
    _write_idx(folder / "t10k-images-idx3-ubyte", np.zeros((2, 8, 8), dtype=np.uint8))
    with pytest.raises(DataError, match=r"images of 8 x 8 pixels; expected 28 x 28"):
        load_dataset("mnist-idx-1v7", data_dir=tmp_path)


def test_idx_class_absent(tmp_path):
    _write_idx_set(tmp_path / "mnist")
    with pytest.raises(
        DataError, match=r"mnist: train files hold no images with label 2; expected both classes"
    ):
        load_dataset("mnist-idx-2v6", data_dir=tmp_path)


def test_idx_task_without_data_dir():
    with pytest.raises(DataError, match=r"fmnist-idx-4v6: needs a data directory .*idx3-ubyte"):
        load_dataset("fmnist-idx-4v6")


# --- names, resolve_dataset and describe_datasets ---------------------------------------------


def test_fixed_idx_tasks_are_registered():
    for name in ("mnist-idx-1v7", "mnist-idx-6v8", "fmnist-idx-5v9", "fmnist-idx-4v6"):
        assert name in DATASETS
    assert DATASETS["fmnist-idx-4v6"].classes == ("coat", "shirt")
    assert DATASETS["fmnist-idx-4v6"].accuracy_threshold == 0.90
    assert DATASETS["fmnist-idx-5v9"].accuracy_threshold == 0.98
    assert (DATASETS["mnist-idx-1v7"].n_train, DATASETS["mnist-idx-1v7"].n_test) == (13007, 2163)


def test_resolve_dataset_accepts_any_idx_pair():
    info = resolve_dataset("fmnist-idx-3v8")
    assert info.name == "fmnist-idx-3v8" and "fmnist-idx-3v8" not in DATASETS
    assert info.classes == ("dress", "bag")
    assert (info.n_train, info.n_test, info.dim) == (12000, 2000, 784)
    assert info.needs_data_dir and info.source.startswith("files:")
    assert resolve_dataset("mnist-idx-0v9").classes == ("0", "9")
    assert (
        resolve_dataset("fmnist-idx-9v5").accuracy_threshold == 0.98
    )  # the papers' pair, swapped
    assert resolve_dataset("baptista-b") is DATASETS["baptista-b"]


@pytest.mark.parametrize("name", ["mnist-idx-3v3", "mnist-idx-10v2", "fmnist-idx-01v2"])
def test_resolve_dataset_rejects_bad_pairs(name):
    with pytest.raises(ConfigError, match=rf"dataset: must be mnist-idx-AvB .*given '{name}'"):
        resolve_dataset(name)
    with pytest.raises(ConfigError, match="distinct digits 0-9"):
        load_dataset(name)


@pytest.mark.parametrize("name", ["cifar", "mnist-idx-1v", "kmnist-idx-1v7", "MNIST-idx-1v7"])
def test_resolve_dataset_unknown_names(name):
    with pytest.raises(ConfigError, match=r"dataset: must be one of baptista-a, .*or mnist-idx"):
        resolve_dataset(name)


def test_describe_datasets_rows(tmp_path):
    rows = describe_datasets()
    assert [row["name"] for row in rows] == list(DATASETS)
    assert set(rows[0]) == {
        "name",
        "n_train",
        "n_test",
        "dim",
        "classes",
        "source",
        "threshold",
        "available",
    }
    by_name = {row["name"]: row for row in rows}
    assert by_name["baptista-c"]["threshold"] == 0.91
    assert by_name["hehl-1"]["threshold"] == 0.99 and by_name["hehl-4"]["threshold"] == 0.97
    assert by_name["hehl-1"]["dim"] == 2 and by_name["hehl-1"]["available"]
    assert by_name["fmnist-5v9"]["classes"] == "sandal vs ankle boot"
    assert not any(row["available"] for row in rows if row["source"].startswith("files:"))

    _write_idx_set(tmp_path / "MNIST" / "raw", gz=True)
    available = {row["name"] for row in describe_datasets(tmp_path) if row["available"]}
    assert available == {*SYNTHETIC, "mnist-idx-1v7", "mnist-idx-6v8"}


def test_describe_datasets_real_data(data_dir):
    available = {row["name"] for row in describe_datasets(data_dir) if row["available"]}
    assert {"fmnist-5v9", "mnist-1v7", "mnist-6v8"} <= available
