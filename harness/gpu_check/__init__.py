"""The GPU check (`scripts/gpu_check.py`): the harness's GPU path proven in one prepared command.

It runs on a bare GPU machine from the repository root, with nothing installed beyond torch and
the project's other plain dependencies: no Ray, no pycocotools, no xtcocotools, no `pip install`.
Every module here, and every harness module it uses, imports none of the three at module level
(`tests/test_gpu_check.py` runs the check with them made unimportable).

The parts, one task each in `tasks` (run under a wall-clock budget, `budget`):
- `settings`: what runs at which size (a GPU's, the CPU dry run's) and the matrix rows it uses;
- `step`: training-step throughput (bf16 autocast, channels_last; eager and `torch.compile`),
  the batch size picked by trying several, TFLOP/s from `harness.cost.count_gmacs`;
- `hotspots`: the top operators and kernels of one profiled full-LOFR step;
- `feeding`: the trial's own loader on the real COCO samples and on a synthetic twin, with
  several worker counts: loader img/s and the training loop's data-wait fraction;
- `short_run`: two short training runs of full LOFR through the trial's own loop, location-free
  (image-level labels only) and supervised (regime full), each with the ladder's read-outs
  computed once (box PCK@0.1, no pycocotools);
- `environment`: the machine's facts; `summary`: the one-screen text.
"""
