"""One trial: train a configuration in its supervision regime, evaluate it, write its artifacts.

The trial folder is the source of truth. A trial started again (by whatever process) returns at
once if its metrics.json says `completed`, and otherwise resumes from `checkpoint.pt` at the next
epoch. Every epoch is seeded from (seed, epoch), so an interrupted-then-resumed trial ends with the
same numbers as an uninterrupted one on CPU.

Files written (see docs/architecture.md): metrics.json, predictions.json, per_image.npz,
prototypes.npz, maps.npz, checkpoint.pt. Exceptions are recorded as `status: failed` and re-raised,
so that the runner can retry.
"""
from __future__ import annotations

import json
import random
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import yaml

from harness.atomic import atomic_write, write_json
from harness.config import ConfigError, DatasetConfig, TrialConfig
from harness.cost import autocast_for, count_gmacs, count_params, peak_memory_mb
from harness.errors import UserError
from harness.placement import where_this_runs

NUM_MAP_SAMPLES = 8  # fixed validation samples whose CAMs / responses are kept for the report


def load_trial_config(path: Path) -> TrialConfig:
    """A trial config file: a TrialConfig mapping, or a metrics.json (its `config` is used)."""
    if not path.is_file():
        raise UserError(f"{path}: trial config not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML/JSON ({str(exc).splitlines()[0]})") from None
    if isinstance(data, dict) and "config" in data and "status" in data:
        data = data["config"]
    try:
        return TrialConfig.from_dict(data)
    except ConfigError as exc:
        raise UserError(f"{path}: {exc}") from None


def regime_labels(cfg: TrialConfig) -> tuple[float, bool]:
    """(fraction of instances with location labels, keep only those) for the regime."""
    sup = cfg.supervision
    if sup.regime == "location_free":
        return 0.0, False
    if sup.regime == "full":
        return 1.0, False
    if sup.regime == "semi":
        return float(sup.fraction), False
    return (1.0 if sup.fraction is None else float(sup.fraction)), True  # sup_only


def resolve_dataset(ds: DatasetConfig, twin_cache: Path) -> DatasetConfig:
    """A synthetic twin's paths, generated once and cached by its parameters."""
    if not ds.synthetic:
        return ds
    from harness.data.synth import TwinParams, ensure_twin

    paths = ensure_twin(TwinParams.of(ds), twin_cache)
    return replace(ds, **paths)


def pick_device(requested: str) -> torch.device:
    """The GPU that Ray assigned to this trial (CUDA_VISIBLE_DEVICES is set by Ray), else CPU."""
    if requested == "cpu":
        return torch.device("cpu")
    try:
        import ray

        assigned = ray.get_gpu_ids() if ray.is_initialized() else None
    except Exception:  # noqa: BLE001 -- outside Ray (harness trial) there is no assignment
        assigned = None
    if assigned is not None and len(assigned) == 0:
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda", 0)
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch * 7919) % 2**31


def _to(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}


class Trial:
    """Everything one trial holds while it trains: model, criterion, optimiser, data, curve."""

    def __init__(self, cfg: TrialConfig, out_dir: Path, twin_cache: Path, device: torch.device,
                 progress: Callable[[str], None] | None = None, world: tuple[int, int] = (0, 1)):
        from harness.data import build_dataset
        from models import build_criterion, build_model, param_groups

        self.cfg, self.out, self.device = cfg, out_dir, device
        self.rank, self.world_size = world
        self.progress = progress or (lambda msg: None)
        s = cfg.schedule
        self.dataset_cfg = resolve_dataset(cfg.dataset, twin_cache)
        fraction, labelled_only = regime_labels(cfg)
        seed_everything(cfg.seed)
        self.train_set = build_dataset(
            self.dataset_cfg, "train", cfg.model.input_size, augment=True, location_fraction=fraction,
            labelled_only=labelled_only, seed=cfg.seed, max_instances=s.max_train_instances,
            heatmap_sigma=cfg.model.heatmap_sigma)
        self.val_set = build_dataset(
            self.dataset_cfg, "val", cfg.model.input_size, augment=False, seed=0,
            max_instances=s.max_val_instances, heatmap_sigma=cfg.model.heatmap_sigma)
        self.spec = self.val_set.spec
        torch.manual_seed(cfg.seed)
        self.net = build_model(cfg.model).to(device)  # the bare network (evaluation, artifacts)
        if device.type == "cuda":
            self.net = self.net.to(memory_format=torch.channels_last)
        self.model = self.net  # what trains: the network, or its DDP wrapper
        if self.world_size > 1:
            from harness.distributed import wrap_data_parallel

            self.model = wrap_data_parallel(self.net, device)  # Ray Train set up the process group
        self.criterion = build_criterion(cfg.model)
        self.optimizer = torch.optim.Adam(param_groups(self.net, s.lr, s.transformer_lr_mult),
                                          lr=s.lr, weight_decay=s.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(self.optimizer, list(s.lr_steps), s.lr_gamma)
        self.epoch = 0
        self.curve: list[dict[str, Any]] = []
        self.train_s = 0.0
        self.train_images = 0

    # -- checkpoints -------------------------------------------------------------------------
    @property
    def ckpt_path(self) -> Path:
        return self.out / "checkpoint.pt"

    def save_checkpoint(self) -> None:
        state = {
            "epoch": self.epoch, "model": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "curve": json.dumps(self.curve),
            "train_s": self.train_s, "train_images": self.train_images,
            "config_id": self.cfg.trial_id(),
        }
        atomic_write(self.ckpt_path, lambda fh: torch.save(state, fh), mode="wb")

    def load_checkpoint(self) -> bool:
        if not self.ckpt_path.is_file():
            return False
        state = torch.load(self.ckpt_path, map_location=self.device, weights_only=True)
        if state.get("config_id") != self.cfg.trial_id():
            raise RuntimeError(f"{self.ckpt_path}: checkpoint belongs to another config")
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = int(state["epoch"])
        self.curve = json.loads(state["curve"])
        self.train_s = float(state["train_s"])
        self.train_images = int(state["train_images"])
        return True

    # -- training ----------------------------------------------------------------------------
    def train_epoch(self) -> dict[str, Any]:
        from harness.data import collate_train

        cfg, s = self.cfg, self.cfg.schedule
        epoch = self.epoch + 1
        seed_everything(_epoch_seed(cfg.seed, epoch))
        gen = torch.Generator().manual_seed(_epoch_seed(cfg.seed, epoch))
        sampler = None
        if self.world_size > 1:
            sampler = torch.utils.data.DistributedSampler(
                self.train_set, num_replicas=self.world_size, rank=self.rank, shuffle=True, seed=cfg.seed)
            sampler.set_epoch(epoch)
        loader = torch.utils.data.DataLoader(
            self.train_set, batch_size=s.batch_size, shuffle=sampler is None, sampler=sampler,
            drop_last=len(self.train_set) > s.batch_size * self.world_size,
            collate_fn=collate_train, num_workers=s.num_workers, generator=gen,
            worker_init_fn=_worker_init if s.num_workers else None,
            persistent_workers=False, pin_memory=self.device.type == "cuda")
        location_free = cfg.supervision.regime == "location_free"
        self.model.train()
        sums: dict[str, float] = {}
        n_batches, t0 = 0, time.perf_counter()
        weights = self.criterion.weight_dict
        for batch in loader:
            if location_free and ({"heatmaps", "target_weight", "joints", "meta"} & batch.keys()):
                # the data layer must never hand coordinates to a location-free trial
                raise RuntimeError("a location-free batch carries location labels")
            batch = _to(batch, self.device)
            images = batch["image"]
            if self.device.type == "cuda":
                images = images.contiguous(memory_format=torch.channels_last)
            if cfg.fail == "always":
                raise RuntimeError("forced failure (config.fail = 'always')")
            with autocast_for(self.device):
                outputs = self.model(images)
            losses = self.criterion(outputs, {k: v for k, v in batch.items() if k != "image"})
            total = sum(weights[k] * v for k, v in losses.items())
            if cfg.fail and cfg.fail.startswith("nan@") and epoch >= int(cfg.fail[4:]):
                total = total * float("nan")
            if not torch.isfinite(total):
                raise FloatingPointError(
                    f"non-finite loss at epoch {epoch}: " + ", ".join(f"{k}={v.item():.4g}" for k, v in losses.items()))
            self.optimizer.zero_grad(set_to_none=True)
            total.backward()
            if s.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), s.grad_clip)
            self.optimizer.step()
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            sums["__total"] = sums.get("__total", 0.0) + float(total.detach())
            n_batches += 1
            self.train_images += images.shape[0]
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.train_s += time.perf_counter() - t0
        self.scheduler.step()
        self.epoch = epoch
        n = max(n_batches, 1)
        row = {
            "epoch": epoch,
            "losses": {k: v / n for k, v in sums.items() if k != "__total"},
            "weighted": {k: weights[k] * v / n for k, v in sums.items() if k != "__total"},
            "total": sums.get("__total", 0.0) / n,
            "lr": self.optimizer.param_groups[0]["lr"],
        }
        return row

    # -- evaluation --------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, keep_maps: bool = False) -> dict[str, Any]:
        """Run the validation set (with flip test); return instances, response values, maps."""
        from harness.data import collate_eval
        from harness.data.transforms import crop_to_image
        from harness.evaluation.response import joint_responses
        from models.decode import decode_responses

        cfg = self.cfg
        net = self.net
        net.eval()
        loader = torch.utils.data.DataLoader(self.val_set, batch_size=cfg.schedule.batch_size, shuffle=False,
                                             collate_fn=collate_eval, num_workers=cfg.schedule.num_workers)
        perm = self.spec.flip_permutation()
        instances, responses_at_joints = [], []
        maps: dict[str, list] = {"cams": [], "responses": [], "pred": [], "gt": [], "images": [], "sample_index": []}
        n_seen, t0 = 0, time.perf_counter()
        for batch in loader:
            images = batch["image"].to(self.device)
            with autocast_for(self.device):
                out = net(images)
                responses = out["responses"].float()
                if cfg.schedule.flip_test:
                    flipped = net(torch.flip(images, dims=[3]))
                    responses = 0.5 * (responses + torch.flip(flipped["responses"].float(), dims=[3])[:, perm])
            probs = torch.sigmoid(out["logits"]["decoder"].float())
            kpts = decode_responses(responses, cfg.model.input_size, probs).cpu().numpy()
            meta = batch["meta"]
            for i in range(kpts.shape[0]):
                center, scale = meta["center"][i].numpy(), meta["scale"][i].numpy()
                xy = crop_to_image(kpts[i, :, :2], center, scale, cfg.model.input_size)
                instances.append({
                    "image_id": int(meta["image_id"][i]), "index": int(meta["index"][i]),
                    "keypoints": np.concatenate([xy, kpts[i, :, 2:3]], axis=1),
                    "box_score": float(meta["score"][i]), "area": float(meta["area"][i]),
                    "center": center, "scale": scale,
                })
            joints = meta["joints"].numpy()
            responses_at_joints.append(joint_responses(responses.cpu().numpy(), joints, cfg.model.input_size))
            if keep_maps and n_seen < NUM_MAP_SAMPLES:
                take = min(NUM_MAP_SAMPLES - n_seen, images.shape[0])
                maps["cams"].append(out["cams"][:take].float().cpu().numpy())
                maps["responses"].append(responses[:take].cpu().numpy())
                maps["pred"].append(kpts[:take])
                maps["gt"].append(joints[:take])
                maps["images"].append(_denormalise(images[:take].cpu()))
                maps["sample_index"].append(meta["index"][:take].numpy())
            n_seen += images.shape[0]
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        elapsed = time.perf_counter() - t0
        passes = 2 if cfg.schedule.flip_test else 1
        return {
            "instances": instances,
            "responses_at_joints": np.concatenate(responses_at_joints) if responses_at_joints else np.zeros((0, self.spec.num_joints)),
            "maps": {k: np.concatenate(v) for k, v in maps.items() if v} if keep_maps else None,
            "infer_img_per_s": n_seen * passes / max(elapsed, 1e-9),
            "eval_s": elapsed,
        }

    def evaluate(self, keep_artifacts: bool) -> dict[str, Any]:
        from harness.evaluation import evaluate
        from harness.evaluation.per_image import save_per_image
        from harness.evaluation.response import group_means
        from harness.evaluation.results import build_results
        from harness.reference import evaluated_image_ids

        t0 = time.perf_counter()
        pred = self.predict(keep_maps=keep_artifacts)
        results = build_results(self.spec.name, pred["instances"], self.spec)
        pred_path = self.out / ("predictions.json" if keep_artifacts else "predictions.interim.json")
        write_json(pred_path, results)
        head_boxes = getattr(self.val_set, "head_boxes", None)
        ev = evaluate(self.spec.name, self.val_set.ann_path, results, head_boxes=head_boxes,
                      image_ids=evaluated_image_ids(self.val_set))
        out = {"metrics": ev.metrics, "evaluation": ev.details, "infer_img_per_s": pred["infer_img_per_s"],
               "eval_s": time.perf_counter() - t0}
        if keep_artifacts:
            save_per_image(self.out / "per_image.npz", ev.per_image)
            out["response_stats"] = group_means(pred["responses_at_joints"], self.spec)
            maps = pred["maps"]
            _save_npz(self.out / "maps.npz", maps)
            images = torch.as_tensor(maps["images"]).permute(0, 3, 1, 2).float() / 255.0
            mats = self.net.prototype_matrices(_normalise(images).to(self.device))
            _save_npz(self.out / "prototypes.npz", {k: np.asarray(v, dtype=np.float32) for k, v in mats.items()})
        else:
            pred_path.unlink(missing_ok=True)
        return out


_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def _denormalise(images: torch.Tensor) -> np.ndarray:
    """ImageNet-normalised Bx3xHxW -> uint8 BxHxWx3 (for the report's overlays)."""
    x = (images.float() * _STD + _MEAN).clamp(0, 1) * 255.0
    return x.round().byte().permute(0, 2, 3, 1).numpy()


def _normalise(images: torch.Tensor) -> torch.Tensor:
    return (images - _MEAN) / _STD


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays), mode="wb")


def _worker_init(worker_id: int) -> None:
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def run_trial(cfg: TrialConfig, out_dir: Path, *, twin_cache: Path,
              progress: Callable[[str], None] | None = None,
              report: Callable[[dict[str, Any]], None] | None = None,
              stop_after_epoch: int | None = None, world: tuple[int, int] = (0, 1)) -> dict[str, Any]:
    """Train and evaluate `cfg` into `out_dir`; return the metrics.json content.

    `report(row)` is called after every epoch (the runner passes Ray Tune's `tune.report`).
    `stop_after_epoch` ends the process-equivalent of a kill after that epoch's checkpoint
    (used by tests of resume); the trial is then left `running`. `world` = (rank, size) of a
    data-parallel trial: every rank trains, rank 0 alone checkpoints, evaluates and writes.
    """
    rank, world_size = world
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mpath = out_dir / "metrics.json"
    if mpath.is_file():
        try:
            done = json.loads(mpath.read_text())
            if done.get("status") == "completed":
                return done
        except ValueError:
            pass  # a broken metrics.json is rewritten by this run
    wall0, started_at = time.perf_counter(), time.time()
    attempts = _previous_attempts(mpath) + 1
    say = progress or (lambda msg: None)
    try:
        device = pick_device(cfg.device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        else:
            torch.use_deterministic_algorithms(True, warn_only=True)
        trial = Trial(cfg, out_dir, twin_cache, device, say, world)
        if trial.load_checkpoint():
            say(f"resuming at epoch {trial.epoch + 1}")
        val: dict[str, Any] = {}
        while trial.epoch < cfg.schedule.epochs:
            row = trial.train_epoch()
            k = cfg.schedule.eval_every
            if k and rank == 0 and trial.epoch % k == 0 and trial.epoch < cfg.schedule.epochs:
                val = trial.evaluate(keep_artifacts=False)
                row["val"] = {trial.spec.primary_metric: val["metrics"].get(trial.spec.primary_metric)}
            trial.curve.append(row)
            if rank == 0:
                trial.save_checkpoint()
            if world_size > 1:
                torch.distributed.barrier()
            say(f"epoch {trial.epoch}/{cfg.schedule.epochs} loss {row['total']:.4f}")
            if report is not None:
                report({"epoch": trial.epoch, "loss": row["total"], **row.get("val", {})})
            if stop_after_epoch is not None and trial.epoch >= stop_after_epoch:
                return {"status": "running", "epoch": trial.epoch}
        if rank != 0:
            return {"status": "worker", "rank": rank}
        final = trial.evaluate(keep_artifacts=True)
        if trial.curve:
            trial.curve[-1].setdefault("val", {})[trial.spec.primary_metric] = final["metrics"].get(trial.spec.primary_metric)
        train_img_per_s = trial.train_images / trial.train_s if trial.train_s > 0 else None
        result = {
            "status": "completed",
            "config": cfg.to_dict(),
            "metrics": final["metrics"],
            "evaluation": final["evaluation"],
            "curve": trial.curve,
            "timings": {"train_s": trial.train_s, "eval_s": final["eval_s"], "wall_s": time.perf_counter() - wall0,
                        "started_at": started_at, "finished_at": time.time()},
            "attempts": attempts,
            "world_size": world_size,
            **where_this_runs(),  # node (Ray node id), host
            "cost": {
                "params": count_params(trial.net),
                "gmacs": count_gmacs(cfg.model, model=trial.net),
                "train_img_per_s": train_img_per_s,
                "infer_img_per_s": final["infer_img_per_s"],
                "peak_mem_mb": peak_memory_mb(device),
                "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
            },
            "response_stats": final["response_stats"],
            "data": {"train_instances": len(trial.train_set), "val_instances": len(trial.val_set),
                     "skipped": {"train": int(getattr(trial.train_set, "skipped", 0)),
                                 "val": int(getattr(trial.val_set, "skipped", 0))}},
        }
        write_json(mpath, result)
        return result
    except BaseException as exc:  # noqa: BLE001 -- recorded, then re-raised for the runner to retry
        if not isinstance(exc, KeyboardInterrupt) and rank == 0:
            write_json(mpath, {
                "status": "failed", "error": f"{type(exc).__name__}: {exc}".splitlines()[0],
                "traceback": traceback.format_exc(limit=8), "config": cfg.to_dict(), "attempts": attempts,
            })
        raise


def _previous_attempts(mpath: Path) -> int:
    """How many earlier attempts of this trial failed (kept in its failed metrics.json)."""
    try:
        prev = json.loads(mpath.read_text())
        return int(prev.get("attempts", 0)) if prev.get("status") == "failed" else 0
    except (OSError, ValueError, AttributeError, TypeError):
        return 0


def is_completed(out_dir: Path) -> bool:
    try:
        return json.loads((out_dir / "metrics.json").read_text()).get("status") == "completed"
    except (OSError, ValueError, AttributeError):
        return False

