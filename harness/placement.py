"""Where a trial ran: its Ray node and its host, recorded in metrics.json (`node`, `host`).

On a multi-node cluster this says which machine trained a trial (a slow or failing node shows up
in the results); outside Ray (`harness trial`) the node is None.
"""
from __future__ import annotations

import socket


def where_this_runs() -> dict[str, str | None]:
    """{"node": the Ray node id of this process (None outside Ray), "host": its host name}."""
    node = None
    try:
        import ray

        if ray.is_initialized():
            node = ray.get_runtime_context().get_node_id()
    except Exception:  # noqa: BLE001 -- a trial must not fail for want of its node id
        node = None
    return {"node": node, "host": socket.gethostname()}
