"""Binary data sets of SPEC §5: a registry, one loader, and the image CSV reader."""

from ricci_ray.data.images import read_image_csv
from ricci_ray.data.registry import DATASETS, Dataset, DatasetInfo, load_dataset

__all__ = ["DATASETS", "Dataset", "DatasetInfo", "load_dataset", "read_image_csv"]
