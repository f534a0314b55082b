"""The GPU check: the harness's GPU path (bf16 autocast, channels_last, pinned memory, loader
workers feeding a fast model, torch.compile) proven in one prepared command on a bare GPU machine.

From the repository root, with nothing installed beyond torch and the project's plain
dependencies (no Ray, pycocotools or xtcocotools, no `pip install -e .`):

    python3 scripts/gpu_check.py --out gpu_check_out

writes gpu_check_out/gpu_check.json and prints a one-screen summary, within `--max-seconds`
(450 s on a GPU, where an H200 ran the ResNet-50 tasks in 318 s: tasks that would not fit are
skipped and say so, a watchdog cuts a task that overruns). `--cpu-dry` runs the same code on CPU at tiny sizes (the tests run it). What it
measures and how: harness/gpu_check/ (the package docstring, then one module per task).

Exit codes: 0 every task that ran passed; 1 a task failed (its error is in the JSON and the
summary); 2 no CUDA device without --cpu-dry, or bad arguments; 3 the ceiling cut the run.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

STARTED = time.monotonic()  # the ceiling counts torch's import too (seconds on a cold machine)
# Why: the script runs from a plain checkout (no install); the project's packages come from it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from harness.gpu_check.budget import Watchdog  # noqa: E402
from harness.gpu_check.settings import settings_for  # noqa: E402
from harness.gpu_check.tasks import Check  # noqa: E402


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="gpu_check.py", description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, type=Path, help="folder for gpu_check.json (and the twin it makes)")
    p.add_argument("--cpu-dry", action="store_true", help="the same code on CPU at tiny sizes (no GPU needed)")
    p.add_argument("--peak-tflops", type=float, default=None,
                   help="the device's dense bf16 peak, for the share of it reached (default 790)")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="wall-clock ceiling of the whole check (default 450 on a GPU, 150 dry)")
    p.add_argument("--compile-backend", default=None,
                   help="torch.compile backend (default inductor on a GPU, aot_eager dry)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if not args.cpu_dry and not torch.cuda.is_available():
        print("gpu_check: needs a CUDA device (torch.cuda.is_available() is False); "
              "--cpu-dry runs the same code on CPU at tiny sizes", file=sys.stderr)
        return 2
    s = settings_for(args.cpu_dry, peak_tflops=args.peak_tflops, max_seconds=args.max_seconds,
                     compile_backend=args.compile_backend)
    device = torch.device("cpu") if args.cpu_dry else torch.device("cuda", 0)
    check = Check(s, device, args.out, started=STARTED)
    watchdog = Watchdog(check.budget.left(), lambda: print(check.cut(), flush=True))
    watchdog.start()
    try:
        check.run()
    finally:
        watchdog.cancel()
    print(check.write(), flush=True)
    return 1 if check.failed() else 0


if __name__ == "__main__":
    sys.exit(main())
