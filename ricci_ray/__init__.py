"""ricci-ray: distributed sweeps that measure the discrete Ricci flow of neural networks.

The geometry core (:mod:`ricci_ray.geometry`) imports without Ray, MLflow or torch.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ricci-ray")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "load_results"]


def load_results(path, table: str = "results", sweeps=None):
    """Read a sweep output folder's ``results`` (or ``layers``) table into pandas.

    ``path`` is the folder given to ``ricci-ray sweep --out``.
    """
    from ricci_ray.sinks.parquet import load_table

    return load_table(path, table, sweeps)
