"""The registry of binary data sets and the one entry point that loads them."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ricci_ray.data.images import read_image_csv
from ricci_ray.data.synthetic import baptista_a
from ricci_ray.errors import ConfigError, DataError


@dataclass(frozen=True, eq=False)
class Dataset:
    """A binary task: the test points are the vertices of the graphs built later.

    Shapes: ``x_train`` ``(n_train, dim)`` and ``x_test`` ``(n_test, dim)``, float32;
    ``y_train`` ``(n_train,)`` and ``y_test`` ``(n_test,)``, float32 in {0., 1.}.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class DatasetInfo:
    """What a registered data set is, where it comes from and when a network counts as trained.

    ``accuracy_threshold`` is the SPEC §6 "well-trained" bar: test accuracy must be strictly
    greater than it.
    """

    name: str
    n_train: int
    n_test: int
    dim: int
    classes: tuple[str, str]
    source: str
    accuracy_threshold: float
    needs_data_dir: bool
    description: str


def _load_baptista_a(data_seed: int, data_dir: Path | None) -> Dataset:
    # Train and test come from independent child seeds of data_seed.
    seed_train, seed_test = np.random.SeedSequence(data_seed).spawn(2)
    x_train, y_train = baptista_a(1000, seed_train)
    x_test, y_test = baptista_a(1000, seed_test)
    return Dataset("baptista-a", x_train, y_train, x_test, y_test)


def _interleave(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Rows alternating first[0], second[0], first[1], ...; both have the same length."""
    out = np.empty((2 * len(first), *first.shape[1:]), dtype=first.dtype)
    out[0::2], out[1::2] = first, second
    return out


def _two_class_split(name: str, images: list[np.ndarray], n_train_per_class: int) -> Dataset:
    """Split class-0 and class-1 images (file order) into interleaved train and test sets."""
    train = [im[:n_train_per_class] for im in images]
    test = [im[n_train_per_class:] for im in images]
    labels_train = [np.full(len(im), c, dtype=np.float32) for c, im in enumerate(train)]
    labels_test = [np.full(len(im), c, dtype=np.float32) for c, im in enumerate(test)]
    return Dataset(
        name,
        _interleave(*train),
        _interleave(*labels_train),
        _interleave(*test),
        _interleave(*labels_test),
    )


def _rows_of_label(path: Path, label: int, n_rows: int) -> np.ndarray:
    """The first ``n_rows`` images labelled ``label`` in the file at ``path``."""
    images, labels = read_image_csv(path)
    selected = images[labels == label]
    if len(selected) < n_rows:
        raise DataError(
            f"{path}: found {len(selected)} images with label {label}; expected at least "
            f"{n_rows} (label values found: {sorted(set(labels.tolist()))[:10]})"
        )
    return selected[:n_rows]


def _load_fmnist_5v9(data_seed: int, data_dir: Path | None) -> Dataset:
    fmnist = _require_dir(data_dir, "fmnist-5v9") / "fmnist"
    sandals = _rows_of_label(fmnist / "test5.csv", 5, 1000)
    boots = _rows_of_label(fmnist / "test9.csv", 9, 1000)
    return _two_class_split("fmnist-5v9", [sandals, boots], 500)


def _mnist_loader(digit_0: int, digit_1: int) -> Callable[[int, Path | None], Dataset]:
    name = f"mnist-{digit_0}v{digit_1}"

    def load(data_seed: int, data_dir: Path | None) -> Dataset:
        path = _require_dir(data_dir, name) / "mnist" / "mnist_5k.csv.gz"
        digits = [_rows_of_label(path, d, 500) for d in (digit_0, digit_1)]
        return _two_class_split(name, digits, 250)

    return load


def _require_dir(data_dir: Path | None, name: str) -> Path:
    if data_dir is None:
        raise DataError(
            f"{name}: needs a data directory (--data-dir) holding "
            f"{DATASETS[name].source.removeprefix('files: ')}; given none"
        )
    if not data_dir.is_dir():
        raise DataError(f"{name}: data directory {data_dir} does not exist")
    return data_dir


_SPLIT_NOTE = "rows interleave the two classes (0, 1, 0, 1, ...); independent of data_seed"

DATASETS: Mapping[str, DatasetInfo] = MappingProxyType(
    {
        "baptista-a": DatasetInfo(
            name="baptista-a",
            n_train=1000,
            n_test=1000,
            dim=3,
            classes=("spiral arm 0", "spiral arm 1"),
            source="synthetic (seeded generator)",
            accuracy_threshold=0.99,
            needs_data_dir=False,
            description=(
                "Baptista synthetic A (reconstruction): two thick interleaved spiral bands "
                "extruded along z; 1000 train and 1000 test points drawn independently from "
                "two child seeds of data_seed, balanced classes"
            ),
        ),
        "fmnist-5v9": DatasetInfo(
            name="fmnist-5v9",
            n_train=1000,
            n_test=1000,
            dim=784,
            classes=("sandal", "ankle boot"),
            source="files: fmnist/test5.csv, fmnist/test9.csv under --data-dir",
            accuracy_threshold=0.98,
            needs_data_dir=True,
            description=(
                "fashion-MNIST test images 5 (sandal) vs 9 (ankle boot), raw 0-255 pixels; "
                "first 500 rows of each file train, last 500 test; " + _SPLIT_NOTE
            ),
        ),
        "mnist-1v7": DatasetInfo(
            name="mnist-1v7",
            n_train=500,
            n_test=500,
            dim=784,
            classes=("1", "7"),
            source="files: mnist/mnist_5k.csv.gz under --data-dir",
            accuracy_threshold=0.99,
            needs_data_dir=True,
            description=(
                "MNIST digits 1 vs 7, raw 0-255 pixels; first 250 images of each digit "
                "train, the next 250 test; " + _SPLIT_NOTE
            ),
        ),
        "mnist-6v8": DatasetInfo(
            name="mnist-6v8",
            n_train=500,
            n_test=500,
            dim=784,
            classes=("6", "8"),
            source="files: mnist/mnist_5k.csv.gz under --data-dir",
            accuracy_threshold=0.99,
            needs_data_dir=True,
            description=(
                "MNIST digits 6 vs 8, raw 0-255 pixels; first 250 images of each digit "
                "train, the next 250 test; " + _SPLIT_NOTE
            ),
        ),
    }
)

_LOADERS: dict[str, Callable[[int, Path | None], Dataset]] = {
    "baptista-a": _load_baptista_a,
    "fmnist-5v9": _load_fmnist_5v9,
    "mnist-1v7": _mnist_loader(1, 7),
    "mnist-6v8": _mnist_loader(6, 8),
}


def load_dataset(name: str, *, data_seed: int = 0, data_dir: str | Path | None = None) -> Dataset:
    """Load a registered data set.

    Args:
        name: a key of :data:`DATASETS`.
        data_seed: seeds synthetic generators; ignored by file-backed sets, whose split is
            fixed (see ``DATASETS[name].description``).
        data_dir: the directory holding ``fmnist/`` and ``mnist/``; required when
            ``DATASETS[name].needs_data_dir``.

    Raises:
        ConfigError: unknown name.
        DataError: a needed directory or file is missing or malformed.
    """
    if name not in DATASETS:
        raise ConfigError(f"dataset: must be one of {', '.join(DATASETS)}; given {name!r}")
    if isinstance(data_seed, bool) or not isinstance(data_seed, int | np.integer) or data_seed < 0:
        raise ConfigError(f"data_seed: must be an integer >= 0; given {data_seed!r}")
    directory = None if data_dir is None else Path(data_dir).expanduser()
    return _LOADERS[name](int(data_seed), directory)
