"""A trial's identity: which of its config's values its id hashes, so that new fields leave old ids.

A trial id (`TrialConfig.trial_id`) is the hash of the config's identity, computed here:

- every field that existed when ids were last reset (`HASHED_ALWAYS`, the dotted keys of
  2026-11-30's configs still in use) is hashed at its value, as it always was;
- a field added since is hashed only when it differs from its declared default (the dataclass
  default), so adding a field -- a new reading of the paper, a new knob -- leaves every existing
  trial's id, and its results folder, as they were; setting it to another value makes a new trial;
- a field removed since (`RETIRED`) is hashed at the one value it always had, for the same reason;
- where a trial runs (`device`) and how many processes load its data (`schedule.num_workers`) are
  never hashed: they do not change its numbers.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

NOT_HASHED = frozenset({"device", "schedule.num_workers"})
HASHED_ALWAYS = frozenset("""
dataset.detections dataset.head_boxes dataset.kind dataset.name dataset.root dataset.synth_images
dataset.synth_seed dataset.synth_val_images dataset.synthetic dataset.train_ann dataset.train_images
dataset.val_ann dataset.val_images model.alpha model.alpha1 model.alpha2 model.backbone
model.beta model.cam_lse_r model.cam_pooling model.cam_stride model.cls_losses model.d_model
model.dec_layers model.decoder_lse_r model.dim_feedforward model.dropout model.enc_layers
model.gcn_layers model.heatmap_sigma model.input_size model.mse_weight model.multi_scale model.nhead
model.num_keypoints model.pdc model.pretrained model.reppg model.response_merge model.shared_encoder
model.skeleton model.spe model.spe_fusion model.spe_sigma scale schedule.batch_size schedule.epochs
schedule.eval_every schedule.flip_test schedule.grad_clip schedule.lr schedule.lr_gamma
schedule.lr_steps schedule.max_train_instances schedule.max_val_instances
schedule.transformer_lr_mult schedule.warmup_iters schedule.weight_decay seed supervision.fraction
supervision.regime
""".split())
# dotted key -> the value every config had while the field existed (`fail`: a test hook, gone 2026-12-02;
# tests now wrap the trial's parts instead)
RETIRED: dict[str, Any] = {"fail": None}


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists are values, not levels."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out.update(flatten(value, dotted))
        else:
            out[dotted] = value
    return out


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = out
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def stable(config: dict[str, Any], defaults: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`config` (a section of a `TrialConfig.to_dict()` at dotted `prefix`) without the fields added
    since 2026-11-30 that equal their defaults (`defaults`, the same section of the default config):
    what a hash over it keeps stable as fields are added (trial ids, reference names)."""
    flat, default = flatten(config, prefix), flatten(defaults, prefix)
    kept = {k: v for k, v in flat.items()
            if k not in NOT_HASHED and (k in HASHED_ALWAYS or k not in default or v != default[k])}
    tree = unflatten(kept)
    for part in prefix.split(".") if prefix else ():
        tree = tree.get(part, {})
    return tree


def identity(config: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The nested dict a trial id hashes: `config` (a `TrialConfig.to_dict()`) filtered by the rules
    of the module docstring; `defaults`: the `to_dict()` of the default config."""
    flat = flatten(stable(config, defaults))
    for key, value in RETIRED.items():
        flat.setdefault(key, value)
    return unflatten(flat)


def without_retired(config: dict[str, Any]) -> dict[str, Any]:
    """`config` (nested) without the retired fields that hold the value they always had."""
    flat = flatten(config)
    if not any(flat.get(k, object()) == v for k, v in RETIRED.items()):
        return config
    return unflatten({k: v for k, v in flat.items() if not (k in RETIRED and RETIRED[k] == v)})


def digest(identity_tree: dict[str, Any]) -> str:
    """12 hex digits of the SHA-256 of the identity's canonical JSON (independent of key order)."""
    blob = json.dumps(identity_tree, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:12]
