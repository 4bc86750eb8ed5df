"""One trial: a config in, a result record out. Runs with or without Ray.

The stages read in order: load the data set, build and train the network, capture the
activations of its hidden layers on the test points, measure their geometry at every k,
and return a :class:`TrialResult`. Data conditions (a diverged network, a disconnected
graph, a constant series) become recorded outcomes with a reason, never exceptions.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ricci_ray.spec import TrialConfig

logger = logging.getLogger(__name__)

STATUS_OK = "ok"
STATUS_UNDEFINED = "undefined"
STATUS_FAILED = "failed"


@dataclass(frozen=True)
class ScaleResult:
    """The geometry of one network at one k.

    ``ric``, ``g`` and ``n_components`` have one entry per layer, the input layer first
    (L + 1 entries); ``eta`` has one entry per hidden layer l = 1 .. L-1 (η_l = g_{l+1} - g_l)
    or is None when undefined.
    """

    k: int
    ricci_coef: float | None
    status: str
    reason: str | None
    ric: list[float] = field(default_factory=list)
    g: list[float] = field(default_factory=list)
    n_components: list[int] = field(default_factory=list)
    eta: list[float] | None = None


@dataclass(frozen=True)
class TrialResult:
    """What a trial reports: training outcome and one :class:`ScaleResult` per k."""

    trial_id: str
    config: dict[str, Any]
    accuracy_test: float | None
    loss_test: float | None
    accuracy_train: float | None
    loss_train: float | None
    accuracy_val: float | None
    loss_val: float | None
    diverged: bool
    scales: list[ScaleResult]
    seconds_train: float
    seconds_geometry: float
    node_id: str | None = None
    error: str | None = None

    @property
    def status(self) -> str:
        return STATUS_FAILED if self.error else STATUS_OK

    def metrics(self) -> dict[str, float]:
        """Scalar metrics under the one key scheme shared by Tune, MLflow and Parquet.

        Undefined values are NaN here (Tune and MLflow need numbers); Parquet keeps nulls.
        """
        out = {
            "accuracy/test": _nan(self.accuracy_test),
            "loss/test": _nan(self.loss_test),
            "accuracy/train": _nan(self.accuracy_train),
            "loss/train": _nan(self.loss_train),
            "accuracy/val": _nan(self.accuracy_val),
            "loss/val": _nan(self.loss_val),
        }
        for scale in self.scales:
            out[f"ricci_coef/k{scale.k}"] = _nan(scale.ricci_coef)
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialResult:
        values = dict(data)
        values["scales"] = [ScaleResult(**scale) for scale in values["scales"]]
        return cls(**values)

    @classmethod
    def failed(cls, config: TrialConfig, error: str) -> TrialResult:
        """The record of a trial that raised on every attempt."""
        scales = [
            ScaleResult(k=k, ricci_coef=None, status=STATUS_FAILED, reason=error)
            for k in config.ks
        ]
        return cls(
            trial_id=config.trial_id,
            config=config.to_dict(),
            accuracy_test=None,
            loss_test=None,
            accuracy_train=None,
            loss_train=None,
            accuracy_val=None,
            loss_val=None,
            diverged=False,
            scales=scales,
            seconds_train=0.0,
            seconds_geometry=0.0,
            error=error,
        )


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def run_trial(config: TrialConfig, *, node_id: str | None = None) -> TrialResult:
    """Train one network and measure its layer geometry at every k of ``config.ks``."""
    import torch

    from ricci_ray.data import load_dataset
    from ricci_ray.geometry import network_geometry
    from ricci_ray.nets import (
        HehlRecipe,
        PaperRecipe,
        build_mlp,
        evaluate,
        hidden_activations,
        hidden_widths,
        train,
    )

    data = load_dataset(config.dataset, data_seed=config.data_seed, data_dir=config.data_dir)
    recipe_class = {"paper": PaperRecipe, "hehl": HehlRecipe}[config.recipe["name"]]
    recipe = recipe_class(**{k: v for k, v in config.recipe.items() if k != "name"})

    started = time.perf_counter()
    model = build_mlp(
        data.x_train.shape[1], hidden_widths(config.width, config.depth), seed=config.seed
    )
    trained = train(model, data.x_train, data.y_train, recipe, seed=config.seed)
    loss_test, accuracy_test = evaluate(model, data.x_test, data.y_test)
    with torch.no_grad():
        activations = [data.x_test, *hidden_activations(model, data.x_test)]
    seconds_train = time.perf_counter() - started

    started = time.perf_counter()
    if trained.diverged or not all(np.isfinite(layer).all() for layer in activations):
        reason = "training diverged: non-finite loss or activations"
        scales = [
            ScaleResult(k=k, ricci_coef=None, status=STATUS_UNDEFINED, reason=reason)
            for k in config.ks
        ]
    else:
        geometry = network_geometry(activations, config.ks, convention=config.convention)
        scales = [_scale_result(geometry[k]) for k in config.ks]
    seconds_geometry = time.perf_counter() - started

    return TrialResult(
        trial_id=config.trial_id,
        config=config.to_dict(),
        accuracy_test=_finite_or_none(accuracy_test),
        loss_test=_finite_or_none(loss_test),
        accuracy_train=_finite_or_none(trained.accuracy_train),
        loss_train=_finite_or_none(trained.loss_train),
        accuracy_val=_finite_or_none(trained.accuracy_val),
        loss_val=_finite_or_none(trained.loss_val),
        diverged=trained.diverged,
        scales=scales,
        seconds_train=seconds_train,
        seconds_geometry=seconds_geometry,
        node_id=node_id,
    )


def _scale_result(geometry: Any) -> ScaleResult:
    return ScaleResult(
        k=geometry.n_neighbors,
        ricci_coef=geometry.ricci_coef,
        status=geometry.status,
        reason=geometry.reason,
        ric=[float(v) for v in geometry.ric],
        g=[float(v) for v in geometry.g],
        n_components=[int(v) for v in geometry.n_components],
        eta=None if geometry.eta is None else [float(v) for v in geometry.eta],
    )


def _finite_or_none(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)
