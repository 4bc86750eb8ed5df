"""A real two-node Ray cluster on this machine: trials land on both nodes.

The cluster runs inside a private network namespace whose only interface is loopback
(``unshare -n``), so two raylets can join each other on 127.0.0.1 without Ray ever
listening on a routable address. Needs root (or user namespaces), as CI has.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = """
set -eu
ip link set lo up
# Inside this namespace only loopback exists, so multi-node mode is safe here.
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1 RAY_AUTH_MODE=token RAY_USAGE_STATS_ENABLED=0
export MLFLOW_DISABLE_TELEMETRY=true
# Warm trial workers, as the README tells cluster operators to set on every node.
export RAY_preload_python_modules=ricci_ray.worker RAY_idle_worker_killing_time_threshold_ms=300000
BIN={bin}
# A token of this cluster's own: nothing read from or written to ~/.ray.
export RAY_AUTH_TOKEN=$($BIN/python -c 'import secrets; print(secrets.token_hex(32))')
$BIN/ray start --head --node-ip-address=127.0.0.1 --port=6390 --num-cpus=1 \\
    --resources='{{"node_head": 1}}' --include-dashboard=false --disable-usage-stats \\
    --temp-dir={tmp}/ray > {tmp}/head.log 2>&1
$BIN/ray start --address=127.0.0.1:6390 --node-ip-address=127.0.0.1 --num-cpus=1 \\
    --resources='{{"node_worker": 1}}' --disable-usage-stats > {tmp}/worker.log 2>&1
$BIN/python - <<'PY' > {tmp}/nodes.json
import json, ray
ray.init(address="127.0.0.1:6390", log_to_driver=False)
print(json.dumps([node["NodeID"] for node in ray.nodes() if node["Alive"]]))
PY
status=0
$BIN/ricci-ray sweep {sweep} --out {out} --address 127.0.0.1:6390 > {tmp}/sweep.log 2>&1 \\
    || status=$?
$BIN/ray stop --force > /dev/null 2>&1
exit $status
"""

# Trials last seconds, as real ones do: the second node's first worker takes seconds to
# start (it imports torch and the trial code), and Tune hands trials to an actor it already
# has when that is quicker, so sub-second trials could all run on the first node.
SWEEP = """
name: two-nodes
datasets: [baptista-a]
widths: [narrow]
depths: [5]
seeds: [0, 1, 2, 3, 4, 5]
k: [10, 30]
recipe: {epochs: 400}
max_concurrent_trials: 2
"""


@pytest.fixture(scope="module")
def cluster_sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    (tmp / "sweep.yaml").write_text(SWEEP)
    script = SCRIPT.format(
        bin=Path(sys.executable).parent, tmp=tmp, sweep=tmp / "sweep.yaml", out=tmp / "out"
    )
    # -p -f --mount-proc: a private process tree too, so 'ray stop' sees only this cluster.
    command = ["unshare", "-n", "-p", "-f", "--mount-proc", "bash", "-c", script]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    logs = {name: (tmp / name).read_text() for name in ("sweep.log",) if (tmp / name).exists()}
    assert done.returncode == 0, textwrap.shorten(str(logs) + done.stderr, 4000)
    return tmp


def test_trials_run_on_both_nodes_and_record_their_node(cluster_sweep):
    nodes = json.loads((cluster_sweep / "nodes.json").read_text())
    assert len(nodes) == 2
    results = pd.read_parquet(cluster_sweep / "out" / "results")
    assert results.trial_id.nunique() == 6 and len(results) == 12
    per_trial = results.groupby("trial_id").node_id.first()
    assert set(per_trial) == set(nodes)


def test_cluster_sweep_lands_in_mlflow_once_per_trial(cluster_sweep):
    from ricci_ray.sinks.mlflow_sink import TAG_TRIAL_ID, default_tracking_uri
    from tests.helpers import search_runs

    runs = search_runs(default_tracking_uri(cluster_sweep / "out"), "two-nodes")
    assert len(runs) == 6 and runs["tags." + TAG_TRIAL_ID].nunique() == 6
    assert set(runs["params.node_id"]) == set(
        json.loads((cluster_sweep / "nodes.json").read_text())
    )
