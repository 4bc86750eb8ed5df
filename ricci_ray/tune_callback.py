"""The sweep's two plug-ins to Ray Tune: a searcher that hands out the sweep's trials and a
callback that hands each trial's outcome to the driver-side sinks.

Kept apart from :mod:`ricci_ray.sweep` because it imports Ray at import time, and a local
Ray must see its loopback setting before Ray is first imported (see
``ricci_ray.sweep._ray_environment``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ray.tune import Callback
from ray.tune.search import Searcher

from ricci_ray.spec import TrialConfig
from ricci_ray.sweep import RECORD_KEY, SinkCallback
from ricci_ray.trial import TrialResult


class PendingTrials(Searcher):
    """Hands Tune the sweep's trials in order, one per request, as ``{"trial": config}``.

    A grid search over the list of trial configs would do the same, but Tune copies the
    whole search space for every trial it creates from a grid: time quadratic in the
    number of trials (about 4 s of driver time at 300 trials, minutes at a few thousand).
    Here each trial costs the same. Tune asks only when it can start more trials, so the
    driver holds few trials that have not run yet.
    """

    def __init__(self, configs: list[dict[str, Any]]) -> None:
        super().__init__()
        self._configs = configs
        self._next = 0

    def suggest(self, trial_id: str) -> dict[str, Any] | str:
        if self._next == len(self._configs):
            return Searcher.FINISHED
        config = self._configs[self._next]
        self._next += 1
        return {"trial": config}

    def on_trial_complete(self, trial_id: str, result=None, error: bool = False) -> None:
        """Nothing to learn from: every trial of a sweep is decided up front."""

    # Tune saves its searcher with the experiment state. Sweeps resume from the Parquet
    # data set, not from Tune's state, so only the position is kept.
    def save(self, checkpoint_path: str) -> None:
        Path(checkpoint_path).write_text(json.dumps({"next": self._next}))

    def restore(self, checkpoint_path: str) -> None:
        self._next = json.loads(Path(checkpoint_path).read_text())["next"]


class TuneCallback(Callback):
    """Hands each reported trial (or its final error) to the driver-side sinks."""

    def __init__(self, sink: SinkCallback) -> None:
        self.sink = sink

    # Tune pickles its callbacks into the experiment state; the sinks (open files, a
    # writer thread) stay with this driver process and are not part of that state.
    def __getstate__(self) -> dict[str, Any]:
        return {"sink": None}

    def on_trial_start(self, iteration, trials, trial, **info):
        if self.sink is not None:
            self.sink.trial_started(trial.trial_id)

    def on_trial_complete(self, iteration, trials, trial, **info):
        if self.sink is not None:
            self.sink.trial_ended(trial.trial_id)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        # Tune lets callbacks edit the result in place: dropping the record here keeps the
        # driver from holding every trial's full record for the rest of the sweep.
        record = result.pop(RECORD_KEY, None)
        if record and self.sink is not None:
            self.sink.trial_ended(trial.trial_id)  # the record is a trial's last report
            self.sink.handle_result(TrialResult.from_dict(json.loads(record)))

    def on_trial_error(self, iteration, trials, trial, **info):
        if self.sink is None:
            return
        self.sink.trial_ended(trial.trial_id)
        config = TrialConfig.from_dict(trial.config["trial"])
        self.sink.handle_result(TrialResult.failed(config, _error_summary(trial)))


def _error_summary(trial: Any) -> str:
    """The exception line of a failed trial's last error, e.g. ``ValueError: bad``.

    Tune writes the error text next to the trial on the driver (``error_file``) before it
    calls the callbacks; the copy in the experiment's storage may come later.
    """
    text = None
    if trial.error_file and Path(trial.error_file).is_file():
        text = Path(trial.error_file).read_text(errors="replace")
    else:
        text = trial.get_error()
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[\w.]+(Error|Exception|Exit|Interrupt)\b.*:", line):
            return line[:2000]
    return lines[-1][:2000] if lines else "unknown error (no error text from Ray)"
