"""A two-node Ray cluster on this machine, for tests/test_cluster.py (run as a separate process).

`python tests/ray_cluster.py` starts a head node and one worker node (`ray.cluster_utils.Cluster`,
1 CPU each, no dashboard), prints one JSON line {"address", "nodes"} and keeps the cluster up
until its stdin closes. Its environment decides the rest: RAY_TMPDIR keeps the cluster's files
(and its address file) away from other Ray users of the machine; RAY_AUTH_MODE=token with
RAY_AUTH_TOKEN_PATH starts it with token authentication, as Ray 2.60's clusters run.
"""
from __future__ import annotations

import json
import sys

from ray.cluster_utils import Cluster


def main() -> None:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    worker = cluster.add_node(num_cpus=1)
    nodes = [cluster.head_node.node_id, worker.node_id]
    print(json.dumps({"address": cluster.address, "nodes": nodes}), flush=True)
    try:
        sys.stdin.read()  # until the test closes our stdin (or dies)
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
