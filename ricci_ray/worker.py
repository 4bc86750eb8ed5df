"""What a Ray worker needs to run ricci-ray trials, loaded before the worker takes work.

Ray imports this module in every worker process it starts when asked to preload it
(``preload_python_modules``: ricci-ray sets it for the local Ray it starts; on a cluster,
set ``RAY_preload_python_modules=ricci_ray.worker`` where ``ray start`` runs). Ray starts
one idle worker per CPU ahead of demand, so torch, Ray Tune, the trial code and the
compiled geometry kernels are in memory, and torch has trained once, before the first trial
arrives, instead of costing each trial slot 3-4 s when a sweep starts. Importing it has
that one effect and no other.
"""

import numpy as np
import ray.tune  # noqa: F401  (the function-trainable wrapper every trial runs in)

import ricci_ray.sweep  # noqa: F401  (the trainable's module)
from ricci_ray.geometry import local_coefficients, network_geometry
from ricci_ray.nets import PaperRecipe, build_mlp, hidden_activations, train_paper


def _load_kernels() -> None:
    """Load the numba-compiled geometry kernels (from numba's on-disk cache once built)."""
    rng = np.random.default_rng(0)
    layers = [rng.random((12, 3)) for _ in range(5)]
    for convention in ("paper", "undirected"):
        network_geometry(layers, [3], convention=convention, curvature="forman")
    local_coefficients(layers, 3, curvature="forman")


def _warm_torch() -> None:
    """Train a tiny network for two epochs: torch's first training in a process costs about
    a second more than later ones (lazy imports and set-up behind the optimiser and
    autograd), which the first trial of each worker would otherwise pay."""
    rng = np.random.default_rng(0)
    x = rng.random((64, 3))
    y = (x[:, 0] > 0.5).astype(np.float64)
    model = build_mlp(3, [8, 8], seed=0)
    train_paper(model, x, y, PaperRecipe(epochs=2), seed=0)
    hidden_activations(model, x)


_load_kernels()
_warm_torch()
