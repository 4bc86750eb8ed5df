"""Trial workers: a local Ray starts them ahead of time, and Tune's trial actors take them.

A module of its own: it needs a Ray whose idle workers no earlier test has used up (a
trial actor's process ends with the actor).
"""

from __future__ import annotations


def test_trials_run_in_the_workers_ray_started_ahead_of_time(ray_local, tmp_path):
    """A local Ray starts warm workers; Tune's trial actors must take them, not new ones."""
    import time

    from ray import tune

    from ricci_ray.sweep import _trial_actors_without_runtime_env

    def born(config):
        """When this process started, to 10 ms (psutil's create_time is to 1 s)."""
        import os
        import time
        from pathlib import Path

        started = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return {"born": time.time() - (uptime - started / os.sysconf("SC_CLK_TCK"))}

    def fit(name):
        began = time.time()
        tuner = tune.Tuner(
            born,
            param_space={"x": tune.grid_search([0, 1])},
            run_config=tune.RunConfig(storage_path=str(tmp_path), name=name, verbose=0),
        )
        return began, [result.metrics["born"] for result in tuner.fit()]

    with _trial_actors_without_runtime_env():
        began, born_at = fit("warm")
    # Every trial ran in a process that existed before the Tune run began. (Without the
    # context manager, Tune's default runtime environment for its actors makes Ray start
    # fresh processes for them, seconds each.)
    assert all(t < began for t in born_at), (began, born_at)
