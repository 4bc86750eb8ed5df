"""Image data: the common CSV layout (a label column and 784 pixel columns) and IDX files."""

import functools
import gzip
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from ricci_ray.errors import DataError

N_PIXELS = 784
LAYOUT = (
    f"a CSV of {N_PIXELS + 1} columns: either a header row with a 'label' column and "
    f"{N_PIXELS} pixel columns, or no header with the {N_PIXELS} pixels first and the label "
    "last (.gz read transparently)"
)


def read_image_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read images and labels from a CSV file, gzipped or not.

    Two layouts are recognised: a header row naming a ``label`` column (anywhere) beside the
    784 pixel columns, or no header, with 784 pixels followed by the label. Files are parsed
    once per process and cached by resolved path.

    Returns:
        ``(images, labels)``: raw 0-255 pixels of shape ``(n, 784)``, float32, and integer
        labels of shape ``(n,)``, int64, in file order.

    Raises:
        DataError: the file is missing or does not have either layout.
    """
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise DataError(f"{path}: file not found; expected {LAYOUT}")
    images, labels = _read_cached(path)
    return images.copy(), labels.copy()


@functools.lru_cache(maxsize=16)
def _read_cached(path: Path) -> tuple[np.ndarray, np.ndarray]:
    has_header = _has_header(path)
    try:
        frame = pd.read_csv(path, header=0 if has_header else None, compression="infer")
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: could not be parsed ({exc}); expected {LAYOUT}") from exc

    if frame.shape[1] != N_PIXELS + 1:
        raise DataError(f"{path}: found {frame.shape[1]} columns; expected {LAYOUT}")
    if has_header:
        if "label" not in frame.columns:
            raise DataError(
                f"{path}: header has no 'label' column (first columns: "
                f"{', '.join(map(str, frame.columns[:3]))}); expected {LAYOUT}"
            )
        labels = frame.pop("label")
    else:
        labels = frame.pop(frame.columns[-1])

    try:
        images = frame.to_numpy(dtype=np.float32)
        labels = labels.to_numpy(dtype=np.int64)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: non-numeric values ({exc}); expected {LAYOUT}") from exc
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def _has_header(path: Path) -> bool:
    """Whether the first row of the file holds anything other than numbers."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as handle:
            first = handle.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: could not be read ({exc}); expected {LAYOUT}") from exc
    for cell in first.strip().split(","):
        try:
            float(cell)
        except ValueError:
            return True
    return False


# --- IDX files ------------------------------------------------------------------------------

IDX_UBYTE = 0x08
IDX_MAGIC = {"images": 0x00000803, "labels": 0x00000801}
IDX_SPLITS = {"train": "train", "test": "t10k"}
IMAGE_SIDE = 28

# Where each family's IDX files may lie under a data directory, in search order: our own
# folder names, torchvision's ``<root>/<Class>/raw/`` and the bare class folder.
IDX_FOLDERS = {
    "mnist": ("mnist", "MNIST/raw", "MNIST"),
    "fmnist": ("fmnist", "FashionMNIST/raw", "FashionMNIST", "fashion-mnist", "fashion"),
}


def idx_file_name(split: str, kind: str) -> str:
    """The standard file name, e.g. ``t10k-labels-idx1-ubyte`` for ``("test", "labels")``."""
    n_dims = 3 if kind == "images" else 1
    return f"{IDX_SPLITS[split]}-{kind}-idx{n_dims}-ubyte"


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file of unsigned bytes, gzipped or not (detected from the content).

    The layout: a big-endian 4-byte magic number ``0x000008DD`` (``08`` = unsigned bytes,
    ``DD`` = number of dimensions: ``0x00000803`` for an image file, ``0x00000801`` for a
    label file), one big-endian uint32 per dimension, then the values in C order. Files are
    parsed once per process and cached by resolved path, size and modification time.

    Returns:
        a uint8 array of the file's shape, e.g. ``(n, 28, 28)`` or ``(n,)``.

    Raises:
        DataError: the file is missing, not valid gzip, has a bad magic number, or is
            truncated or longer than its header says.
    """
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise DataError(f"{path}: file not found; expected an IDX file of unsigned bytes")
    stat = path.stat()
    return _read_idx_cached(path, stat.st_size, stat.st_mtime_ns).copy()


@functools.lru_cache(maxsize=8)
def _read_idx_cached(path: Path, size: int, mtime_ns: int) -> np.ndarray:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"{path}: not a valid gzip file ({exc}); expected an IDX file"
            ) from exc

    if len(raw) < 4:
        raise DataError(f"{path}: truncated: {len(raw)} bytes; expected at least a 4-byte magic")
    magic = int.from_bytes(raw[:4], "big")
    n_dims = raw[3]
    if raw[:2] != b"\x00\x00" or raw[2] != IDX_UBYTE or n_dims == 0:
        raise DataError(
            f"{path}: bad magic number 0x{magic:08X}; expected 0x00000803 (images) or "
            "0x00000801 (labels), an IDX file of unsigned bytes"
        )
    header_size = 4 + 4 * n_dims
    if len(raw) < header_size:
        raise DataError(
            f"{path}: truncated header: {len(raw)} bytes; expected {header_size} for "
            f"{n_dims} dimensions"
        )
    shape = tuple(int.from_bytes(raw[i : i + 4], "big") for i in range(4, header_size, 4))
    n_expected = int(np.prod(shape))
    n_found = len(raw) - header_size
    if n_found != n_expected:
        problem = "truncated" if n_found < n_expected else "too long"
        raise DataError(
            f"{path}: {problem}: {n_found} bytes of data; expected {n_expected} for shape "
            f"{' x '.join(map(str, shape))}"
        )
    values = np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)
    values.setflags(write=False)
    return values


def find_idx_folder(data_dir: str | Path, family: str) -> Path | None:
    """The first folder under ``data_dir`` that holds the family's training images, if any.

    ``family`` is ``"mnist"`` or ``"fmnist"``; the folders searched, in order, are
    :data:`IDX_FOLDERS` (for MNIST: ``mnist/``, torchvision's ``MNIST/raw/``, ``MNIST/``).
    """
    for folder in IDX_FOLDERS[family]:
        candidate = Path(data_dir) / folder
        if _idx_path(candidate, "train", "images") is not None:
            return candidate
    return None


def _idx_path(folder: Path, split: str, kind: str) -> Path | None:
    """The file for (split, kind) in ``folder``: plain first, else ``.gz``; None if neither."""
    name = idx_file_name(split, kind)
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def missing_idx_files(folder: Path) -> list[str]:
    """Names of the four standard IDX files absent (plain and gzipped) from ``folder``."""
    return [
        idx_file_name(split, kind)
        for split in IDX_SPLITS
        for kind in IDX_MAGIC
        if _idx_path(folder, split, kind) is None
    ]


def read_idx_split(folder: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one split (``"train"`` or ``"test"``, i.e. ``t10k``) in ``folder``.

    Returns:
        ``(images, labels)``: raw 0-255 pixels of shape ``(n, 784)``, float32 (rows are the
        28 x 28 images in row-major order), and labels of shape ``(n,)``, int64, in file order.

    Raises:
        DataError: a file is missing or malformed, is of the wrong kind, the images are not
            28 x 28, or the two files disagree on the number of images.
    """
    folder = Path(folder)
    arrays = {}
    for kind in IDX_MAGIC:
        path = _idx_path(folder, split, kind)
        name = idx_file_name(split, kind)
        if path is None:
            raise DataError(f"{folder / name}: file not found (nor {name}.gz); expected {kind}")
        arrays[kind] = read_idx(path)
        n_dims = IDX_MAGIC[kind] & 0xFF
        if arrays[kind].ndim != n_dims:
            raise DataError(
                f"{path}: bad magic number 0x{0x800 + arrays[kind].ndim:08X}; expected "
                f"0x{IDX_MAGIC[kind]:08X} ({kind}, {n_dims} dimensions)"
            )
    images, labels = arrays["images"], arrays["labels"]
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(
            f"{_idx_path(folder, split, 'images')}: images of {images.shape[1]} x "
            f"{images.shape[2]} pixels; expected {IMAGE_SIDE} x {IMAGE_SIDE}"
        )
    if len(images) != len(labels):
        raise DataError(
            f"{_idx_path(folder, split, 'labels')}: {len(labels)} labels; expected one per "
            f"image, {len(images)}"
        )
    return images.reshape(len(images), N_PIXELS).astype(np.float32), labels.astype(np.int64)
