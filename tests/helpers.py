"""Hand-made records shared by the sink and analysis tests."""

from __future__ import annotations

import pandas as pd

from ricci_ray.spec import TrialConfig
from ricci_ray.trial import ScaleResult, TrialResult


def search_runs(uri: str, experiment: str) -> pd.DataFrame:
    import mlflow

    mlflow.set_tracking_uri(uri)
    return mlflow.search_runs(experiment_names=[experiment])


def make_result(seed: int = 0, *, coef: float | None = -0.5, depth: int = 4) -> TrialResult:
    config = TrialConfig(
        sweep="s", dataset="baptista-a", width="narrow", depth=depth, seed=seed, ks=(10, 30)
    )
    n_layers = depth + 1
    scales = [
        ScaleResult(
            k=10,
            ricci_coef=coef,
            status="ok" if coef is not None else "undefined",
            reason=None if coef is not None else "constant curvature series",
            ric=[float(-100 - i) for i in range(n_layers)],
            g=[float(5000 + 10 * i) for i in range(n_layers)],
            n_components=[1] * n_layers,
            eta=[10.0] * (depth - 1),
        ),
        ScaleResult(
            k=30,
            ricci_coef=None,
            status="undefined",
            reason="connected components change across layers (counts 1, 2, 1, 1, 1)",
            ric=[float(-900 - i) for i in range(n_layers)],
            g=[float(4000 + i) for i in range(n_layers)],
            n_components=[1, 2, 1, 1, 1][:n_layers],
            eta=None,
        ),
    ]
    return TrialResult(
        trial_id=config.trial_id,
        config=config.to_dict(),
        accuracy_test=0.995,
        loss_test=0.02,
        accuracy_train=0.999,
        loss_train=0.01,
        accuracy_val=None,
        loss_val=None,
        diverged=False,
        scales=scales,
        seconds_train=1.5,
        seconds_geometry=0.25,
        node_id="node-a",
    )
