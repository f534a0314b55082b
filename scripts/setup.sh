#!/usr/bin/env bash
# Create .venv and install the harness with its test tools. Idempotent.
# torch 2.14.1 / torchvision 0.29.1 satisfy the pins (and install from local files on our
# machines); xtcocotools is built from source because its published wheel breaks under numpy 2.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip setuptools wheel
.venv/bin/python -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
.venv/bin/python -m pip install -q numpy cython
.venv/bin/python -c "import xtcocotools.cocoeval" 2>/dev/null || \
  .venv/bin/python -m pip install -q --force-reinstall --no-deps --no-build-isolation --no-binary xtcocotools xtcocotools
.venv/bin/python -m pip install -q -e ".[dev]"
.venv/bin/python -c "import xtcocotools.cocoeval, pycocotools.cocoeval, torch, ray" 
echo "setup: ok (.venv)"
