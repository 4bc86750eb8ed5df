"""Image data in the common CSV layout: one label column and 784 pixel columns."""

import functools
import gzip
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
