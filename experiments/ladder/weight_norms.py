"""The size of a trained network's weights, module by module (a ladder diagnostic).

    python experiments/ladder/weight_norms.py results/run_matrix/synthetic/<trial id> [more trial folders]

Reads each trial's last `checkpoint.pt` and prints, per module (a parameter's name without its
last part, layer numbers as `*`: `decoder.layers.*.cross_attn.q_proj` gathers the query
projections of every decoder layer), the Frobenius norm of all its weights together and its
largest single value; `--match` keeps the modules whose name holds a given text. A module whose
weights have shrunk to ~0 (e.g. under the paper's Adam with an L2 weight decay, which moves a parameter that gets
almost no loss gradient towards zero by ~lr per step whatever its size) computes nothing: its
attention is uniform and its outputs constant. `maps.npz` shows the same from the outside.
"""
from __future__ import annotations

import argparse
import math
from collections import defaultdict
from pathlib import Path

import torch


def module_norms(state: dict[str, torch.Tensor]) -> dict[str, tuple[float, float]]:
    """{module: (Frobenius norm of its floating-point weights, largest |value|)}."""
    squares: dict[str, float] = defaultdict(float)
    largest: dict[str, float] = defaultdict(float)
    for name, value in state.items():
        if not value.dtype.is_floating_point or not value.numel():
            continue
        module = ".".join("*" if part.isdigit() else part for part in name.split(".")[:-1]) or name
        squares[module] += float(value.double().pow(2).sum())
        largest[module] = max(largest[module], float(value.abs().max()))
    return {m: (math.sqrt(squares[m]), largest[m]) for m in sorted(squares)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trials", nargs="+", help="trial folders holding checkpoint.pt")
    ap.add_argument("--match", default="", help="only modules whose name contains this text")
    args = ap.parse_args()
    for folder in args.trials:
        state = torch.load(Path(folder) / "checkpoint.pt", map_location="cpu", weights_only=True)["model"]
        print(folder)
        for module, (norm, biggest) in module_norms(state).items():
            if args.match not in module:
                continue
            print(f"  {module:40s} norm {norm:10.3g}   max |w| {biggest:10.3g}")


if __name__ == "__main__":
    main()
