"""The papers' binary data sets: a registry, one loader, and the image file readers."""

from ricci_ray.data.images import read_idx, read_image_csv
from ricci_ray.data.registry import (
    DATASETS,
    Dataset,
    DatasetInfo,
    describe_datasets,
    load_dataset,
    resolve_dataset,
)

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetInfo",
    "describe_datasets",
    "load_dataset",
    "read_idx",
    "read_image_csv",
    "resolve_dataset",
]
