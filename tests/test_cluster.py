"""A real two-node Ray cluster on this machine (tests/ray_cluster.py, 1 CPU a node, token
authentication as Ray 2.60 clusters run): `harness run --address` with the cluster's token runs a
small matrix's two trials on both nodes, into one results folder, and metrics.json records each
trial's node and host; a driver without the token gets one clear line and exit code 2.

Why both nodes, every time: each trial takes 1 CPU and each node has 1, and Ray Tune asks for
both trials' resources at once, so the two trials can only run side by side on different nodes.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY_MODEL = {"backbone": "resnet18", "input_size": [64, 48], "d_model": 32, "nhead": 4,
              "dim_feedforward": 64, "enc_layers": 1, "dec_layers": 1}


@pytest.fixture(scope="module")
def cluster():
    # A short private folder: Ray's socket paths must fit in 107 bytes, and RAY_TMPDIR keeps this
    # cluster's address file away from any other Ray on the machine (a plain ray.init() elsewhere
    # would otherwise join it).
    tmp = Path(tempfile.mkdtemp(prefix="lofr-rc-", dir="/tmp"))
    token = tmp / "auth_token"
    token.write_text(uuid.uuid4().hex)
    env = {**os.environ, "RAY_TMPDIR": str(tmp), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token),
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    log = open(tmp / "cluster.log", "w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "ray_cluster.py")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=log, env=env, text=True, start_new_session=True)
    try:
        line = proc.stdout.readline()  # the helper prints once both nodes are up (or exits)
        assert line, f"the cluster did not start: {(tmp / 'cluster.log').read_text()[-2000:]}"
        yield {**json.loads(line), "env": env, "tmp": tmp}
    finally:
        proc.stdin.close()  # the helper shuts the cluster down
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _matrix(tmp_path: Path) -> Path:
    data = {
        "name": "c",
        "datasets": {"coco": {"kind": "coco"}},
        "backbones": {"resnet18": {"pretrained": None}},
        "defaults": {"dataset": "coco", "model": TINY_MODEL, "device": "cpu",
                     "schedule": {"epochs": 1, "batch_size": 8, "lr": 0.001, "lr_steps": [],
                                  "max_train_instances": 16, "max_val_instances": 8}},
        "resources": {"gpus_per_trial": 0, "cpus_per_trial": 1, "max_failures": 0},
        "scales": {"smoke": {"datasets": "synthetic", "twin_images": {"default": 16},
                             "twin_val_images": {"default": 8}}},
        "studies": {"table5": {"table": "table5", "rows": [{"model": {"spe": False}}, {"model": {"spe": True}}]}},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.timeout(900)
def test_a_matrix_runs_on_both_nodes_of_a_cluster_into_one_results_folder(cluster, tmp_path):
    results = tmp_path / "results"
    cmd = [sys.executable, "-m", "harness.cli", "run", str(_matrix(tmp_path)), "--scale", "smoke",
           "--results", str(results), "--address", cluster["address"]]
    run = subprocess.run(cmd, cwd=tmp_path, env=cluster["env"], capture_output=True, text=True, timeout=800)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    folder = results / "c" / "smoke"
    index = json.loads((folder / "index.json").read_text())
    metrics = [json.loads((folder / tid / "metrics.json").read_text()) for tid in index["trials"]]
    assert len(metrics) == 2 and all(m["status"] == "completed" for m in metrics)
    assert {m["node"] for m in metrics} == set(cluster["nodes"])  # one trial on each node
    assert {m["host"] for m in metrics} == {socket.gethostname()}  # both nodes live on this machine


@pytest.mark.timeout(900)
def test_a_driver_without_the_clusters_token_gets_one_clear_line(cluster, tmp_path):
    env = {k: v for k, v in cluster["env"].items() if k not in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH")}
    cmd = [sys.executable, "-m", "harness.cli", "run", str(_matrix(tmp_path)), "--scale", "smoke",
           "--results", str(tmp_path / "results"), "--address", cluster["address"]]
    run = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    last = run.stderr.strip().splitlines()[-1]  # Ray's own retry warnings come before it
    assert run.returncode == 2, run.stderr[-2000:]
    assert last.startswith("harness run: error: --address") and "RAY_AUTH_MODE=token" in last
    assert "Traceback" not in run.stderr
