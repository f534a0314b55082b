"""Whether the CAM prior or the decoder's own attention decides where a response peaks
(`response_prior: cam`, beyond the paper): a probe on a finished trial's checkpoint.

    OMP_NUM_THREADS=1 python experiments/readings/prior_share.py results/run_matrix/screen9/0b45581185be \
        [more trial folders] [--twin-cache results/.twins]

With the prior, R_k = softmax_p(a_k(p) + log softmax_p S_k(p)) (per head, then the head mean):
the decoder's attention logits a_k and the CNN's class map S_k compete. For each trial, over its
validation crops (no flip) and the joints the crop shows, it prints

- `span attention` / `span prior`: the median over joints of max_p - median_p of each term, in
  nats (log of the head-mean attention without the prior; the log-prior): the larger span decides;
- `peak agreement`: the share of joints whose response peak (with the prior, the trial's output)
  lies within one CAM cell of the CAM's peak, of the attention alone's peak, and how often the
  attention alone peaks within a cell of the CAM's peak.

Read-only: the trial folder and the twin are only read.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from harness.data.collate import collate_eval
from harness.evaluation.diagnostics import peak_agreement, peak_positions
from harness.errors import UserError
from harness.trial.checkpoint import open_finished
from models.response_merge import RESPONSE_STRIDE, merge_scales


def spans(log_maps: np.ndarray, visible: np.ndarray) -> float:
    """N x K x L log-maps -> the median over visible joints of max - median over L (nats)."""
    span = log_maps.max(axis=-1) - np.median(log_maps, axis=-1)
    return float(np.median(span[visible]))


def probe(folder: Path, twin_cache: Path) -> dict[str, float]:
    with open_finished(folder, twin_cache) as trial:
        cfg, net = trial.cfg, trial.net
        if net.response_prior is None:
            raise SystemExit(f"{folder}: the trial has no CAM prior (response_prior: none)")
        size = (cfg.model.input_size[0] // RESPONSE_STRIDE, cfg.model.input_size[1] // RESPONSE_STRIDE)
        own, prior_logs, with_prior, alone, cams, visible = [], [], [], [], [], []
        with torch.no_grad():
            for batch in torch.utils.data.DataLoader(trial.val_set, batch_size=64, collate_fn=collate_eval):
                x = batch["image"]
                out = net(x)
                feats = net.backbone(x)
                cam = net.cam(feats[net.cam_stride])
                # forward() does not return the memory's position encoding: encode again for it
                memory, memory_pos, grids = net.encode(feats, cam["class_maps"])
                attention = net.decoder(out["prototypes"], memory, memory_pos, None)  # B x K x L, no prior
                own.append(torch.log(attention.clamp_min(1e-30)).numpy())
                prior_logs.append(net.response_prior(cam["class_maps"], grids).numpy())
                with_prior.append(out["responses"].numpy())
                alone.append(merge_scales(attention, grids, size, net.response_merge).numpy())
                cams.append(out["cams"].numpy())
                visible.append(batch["meta"]["joints"][..., 2].numpy() > 0)
    vis = np.concatenate(visible)
    cam_peaks = peak_positions(np.concatenate(cams), cfg.model.cam_stride)
    resp_peaks = peak_positions(np.concatenate(with_prior), RESPONSE_STRIDE)
    alone_peaks = peak_positions(np.concatenate(alone), RESPONSE_STRIDE)
    def share(a: np.ndarray, b: np.ndarray) -> float:  # within one CAM cell, over the visible joints
        return float(peak_agreement(a, b, vis, cfg.model.cam_stride)[0].sum() / vis.sum())

    return {"span attention": spans(np.concatenate(own), vis), "span prior": spans(np.concatenate(prior_logs), vis),
            "responses at the CAM peak": share(resp_peaks, cam_peaks),
            "responses at the attention-alone peak": share(resp_peaks, alone_peaks),
            "attention alone at the CAM peak": share(alone_peaks, cam_peaks)}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trials", nargs="+", type=Path)
    ap.add_argument("--twin-cache", type=Path, default=Path("results/.twins"))
    a = ap.parse_args(argv)
    for folder in a.trials:
        try:
            figures = probe(folder, a.twin_cache)
        except UserError as err:  # a folder without a checkpoint or config: one line, and stop
            print(err, file=sys.stderr)
            return 2
        print(folder.name + "  " + "  ".join(f"{k} {v:.2f}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
