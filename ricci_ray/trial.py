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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
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
    # Hehl et al.'s coefficients (undirected graphs), when the sweep asks for them:
    local_coef_mean: float | None = None
    local_coef_frac_negative: float | None = None
    layer_coef: list[float | None] | None = None  # layers 0 .. L-1


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
    init_scales: list[ScaleResult] | None = None
    curve: list[dict[str, float]] = field(default_factory=list)
    # When the trial began on its worker (ISO 8601, UTC) and the seconds it took there in
    # all (data, network, training, geometry, record); None for a trial that never ran.
    started_at: str | None = None
    seconds_total: float | None = None
    # Epochs training ran (optimizer steps for the Hehl recipe, which stops at its target
    # accuracy or its cap); None for a trial that never trained.
    epochs_trained: int | None = None

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
        for scale in self.init_scales or []:
            out[f"ricci_coef_init/k{scale.k}"] = _nan(scale.ricci_coef)
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialResult:
        values = dict(data)
        values["scales"] = [ScaleResult(**scale) for scale in values["scales"]]
        if values.get("init_scales") is not None:
            values["init_scales"] = [ScaleResult(**scale) for scale in values["init_scales"]]
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


def run_trial(
    config: TrialConfig,
    *,
    node_id: str | None = None,
    report: Callable[[dict[str, float]], None] | None = None,
) -> TrialResult:
    """Train one network and measure its layer geometry at every k of ``config.ks``.

    With ``config.control`` the same network is also measured at initialisation (the
    untrained control). With ``config.geometry_every = N`` the geometry is measured every
    N epochs during training; each point goes to ``report`` (Tune's intermediate results)
    and into the record's ``curve``.
    """
    started_at, started_total = datetime.now(UTC), time.perf_counter()
    from ricci_ray.data import load_dataset
    from ricci_ray.nets import build_mlp, evaluate, hidden_widths, train

    data = load_dataset(config.dataset, data_seed=config.data_seed, data_dir=config.data_dir)
    recipe = _recipe(config.recipe)
    model = build_mlp(
        data.x_train.shape[1], hidden_widths(config.width, config.depth), seed=config.seed
    )
    seconds_geometry = 0.0  # every geometry measurement, kept apart from training time

    init_scales = None
    if config.control:
        started = time.perf_counter()
        init_scales = _measure(model, data.x_test, config)
        seconds_geometry += time.perf_counter() - started

    curve: list[dict[str, float]] = []

    def on_epoch_end(epoch: int) -> None:
        nonlocal seconds_geometry
        if not config.geometry_every or epoch % config.geometry_every:
            return
        started = time.perf_counter()
        point = _curve_point(model, data, config, epoch)
        seconds_geometry += time.perf_counter() - started
        curve.append(point)
        if report is not None:
            report(point)

    started, measured_before = time.perf_counter(), seconds_geometry
    trained = train(
        model, data.x_train, data.y_train, recipe, seed=config.seed, on_epoch_end=on_epoch_end
    )
    loss_test, accuracy_test = evaluate(model, data.x_test, data.y_test)
    seconds_train = time.perf_counter() - started - (seconds_geometry - measured_before)

    started = time.perf_counter()
    if trained.diverged:
        scales = _undefined(config.ks, "training diverged: non-finite loss")
    else:
        scales = _measure(model, data.x_test, config)
    seconds_geometry += time.perf_counter() - started

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
        init_scales=init_scales,
        curve=curve,
        started_at=started_at.isoformat(),
        seconds_total=time.perf_counter() - started_total,
        epochs_trained=trained.epochs,
    )


def _recipe(recipe: Mapping[str, Any]):
    from ricci_ray.nets import HehlRecipe, PaperRecipe

    recipe_class = {"paper": PaperRecipe, "hehl": HehlRecipe}[recipe["name"]]
    return recipe_class(**{key: value for key, value in recipe.items() if key != "name"})


def _undefined(ks: Sequence[int], reason: str) -> list[ScaleResult]:
    return [ScaleResult(k=k, ricci_coef=None, status=STATUS_UNDEFINED, reason=reason) for k in ks]


def _measure(model: Any, x_test: np.ndarray, config: TrialConfig) -> list[ScaleResult]:
    """The geometry of ``model``'s layers on the test points, at every k."""
    from ricci_ray.geometry import network_geometry
    from ricci_ray.nets import hidden_activations

    activations = [x_test, *hidden_activations(model, x_test)]
    if not all(np.isfinite(layer).all() for layer in activations):
        return _undefined(config.ks, "non-finite activations")
    geometry = network_geometry(
        activations, config.ks, convention=config.convention, curvature=config.curvature
    )
    scales = [_scale_result(geometry[k]) for k in config.ks]
    if config.local_coefficients:
        scales = [_with_local(scale, activations, config) for scale in scales]
    return scales


def _with_local(scale: ScaleResult, activations: list, config: TrialConfig) -> ScaleResult:
    """``scale`` plus the local and per-layer coefficients of Hehl et al. at its k."""
    from ricci_ray.geometry import local_coefficients

    local = local_coefficients(activations, scale.k, curvature=config.curvature)
    return replace(
        scale,
        local_coef_mean=local.local_coef_mean,
        local_coef_frac_negative=local.local_coef_frac_negative,
        layer_coef=[None if math.isnan(value) else float(value) for value in local.layer_coef],
    )


def _curve_point(model: Any, data: Any, config: TrialConfig, epoch: int) -> dict[str, float]:
    """One point of the training curve: epoch, test accuracy and ρ_k at every k."""
    from ricci_ray.nets import evaluate

    loss_test, accuracy_test = evaluate(model, data.x_test, data.y_test)
    point = {"epoch": float(epoch), "accuracy/test": accuracy_test, "loss/test": loss_test}
    for scale in _measure(model, data.x_test, config):
        point[f"ricci_coef/k{scale.k}"] = _nan(scale.ricci_coef)
    return point


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
