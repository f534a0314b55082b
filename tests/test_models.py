"""The assembled LOFR network: what each switch builds, the Table 5 / 6 configurations, gradients,
backbones at the paper's input size, parameter groups, Fig. 6 matrices, determinism."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from models.build import build_criterion, build_model, param_groups
from models.config import LOFRConfig
from models.prototype_matrices import prototype_matrices
from models.decode import decode_responses
from models.decoder import DecoderLayer
from models.encoder import EncoderLayer
from models.spe import cam_peaks, gaussian_maps

SMALL = dict(backbone="resnet18", input_size=(64, 48), d_model=32, nhead=4, dim_feedforward=64,
             enc_layers=1, dec_layers=2)
BASELINE = dict(spe=False, multi_scale=False, reppg=False, pdc=False)
TABLE5 = {
    "baseline": {},
    "+SPE": dict(spe=True),
    "+MS": dict(multi_scale=True),
    "+RePPG": dict(reppg=True),
    "+PDC": dict(pdc=True),
    "+SPE+MS": dict(spe=True, multi_scale=True),
    "+RePPG+PDC": dict(reppg=True, pdc=True),
    "all": dict(spe=True, multi_scale=True, reppg=True, pdc=True),
}
TABLE6 = [(2, 2), (3, 3), (4, 4), (4, 6), (6, 4), (6, 6)]


def small_cfg(**kw) -> LOFRConfig:
    return LOFRConfig(**{**SMALL, **kw})


def build(cfg: LOFRConfig, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(cfg)


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def images(b: int = 2, size=(64, 48), seed: int = 1) -> torch.Tensor:
    return torch.randn(b, 3, *size, generator=torch.Generator().manual_seed(seed))


def labels(b: int = 2, k: int = 17, seed: int = 2) -> torch.Tensor:
    return (torch.rand(b, k, generator=torch.Generator().manual_seed(seed)) > 0.3).float()


def check_outputs(out: dict, b: int, k: int, d: int, size=(64, 48), cam_stride: int = 16) -> None:
    h, w = size
    assert set(out["logits"]) == {"cnn", "encoder", "decoder"}
    for logits in out["logits"].values():
        assert logits.shape == (b, k) and logits.dtype == torch.float32 and torch.isfinite(logits).all()
    assert out["cams"].shape == (b, k, h // cam_stride, w // cam_stride) and (out["cams"] >= 0).all()
    assert out["responses"].shape == (b, k, h // 4, w // 4) and (out["responses"] >= 0).all()
    assert out["part_features"].shape == (b, k, d) and out["prototypes"].shape == (b, k, d)
    assert "keypoints" not in out  # decoding is the evaluator's, not the training forward's
    kp = decode_responses(out["responses"], size, torch.sigmoid(out["logits"]["decoder"]))
    assert kp.shape == (b, k, 3)
    assert (kp[..., 0] >= 0).all() and (kp[..., 0] <= w).all() and (kp[..., 1] >= 0).all() and (kp[..., 1] <= h).all()
    assert (kp[..., 2] >= 0).all() and (kp[..., 2] <= 1).all()


# -- switches -------------------------------------------------------------------------------------

def test_each_switch_changes_what_is_built():
    base = build(small_cfg(**BASELINE))
    assert base.spe is None and base.position is not None
    assert base.reppg is None and base.query_embed is not None and base.cam.embed is None
    assert base.strides == (8,) and set(base.input_proj) == {"8"}

    spe = build(small_cfg(**{**BASELINE, "spe": True}))
    assert spe.position is None and set(spe.spe) == {"8"}
    assert n_params(spe) != n_params(base)

    ms = build(small_cfg(**{**BASELINE, "multi_scale": True}))
    assert ms.strides == (4, 8, 16) and set(ms.input_proj) == set(ms.position) == {"4", "8", "16"}
    assert len(ms.encoders) == 1  # shared by the three scales
    assert n_params(ms) > n_params(base)
    separate = build(small_cfg(**{**BASELINE, "multi_scale": True, "shared_encoder": False}))
    assert len(separate.encoders) == 3
    assert n_params(separate) == n_params(ms) + 2 * n_params(ms.encoders[0])

    rep = build(small_cfg(**{**BASELINE, "reppg": True}))
    assert rep.reppg is not None and rep.query_embed is None and rep.cam.embed is not None
    assert len(rep.reppg.convs) == small_cfg().gcn_layers
    assert n_params(rep) != n_params(base)

    # PDC is a loss, not a module: same network, one more term
    pdc_cfg = small_cfg(**{**BASELINE, "pdc": True})
    assert n_params(build(pdc_cfg)) == n_params(base)
    assert "div" in build_criterion(pdc_cfg).weight_dict
    assert "div" not in build_criterion(small_cfg(**BASELINE)).weight_dict


def test_spe_beside_the_position_embedding_keeps_both_and_adds_the_embedding_in_the_encoder():
    """`spe_position: beside` (beyond the paper, readings round 21): SPE's output is the encoder's
    input and the learned embedding its position code, as the baseline's; the memory equals the
    encoder run by hand on those two, and `replace` (the paper) passes no position code."""
    replace = build(small_cfg(**{**BASELINE, "spe": True, "spe_fusion": "outer"})).eval()
    beside = build(small_cfg(**{**BASELINE, "spe": True, "spe_fusion": "outer", "spe_position": "beside"})).eval()
    assert replace.position is None and set(beside.spe) == set(beside.position) == {"8"}
    embedding = beside.position["8"]
    assert n_params(beside) == n_params(replace) + n_params(embedding)
    torch.manual_seed(1)
    images = torch.randn(2, 3, 64, 48)
    with torch.no_grad():
        feats = beside.backbone(images)
        class_maps = beside.cam(feats[beside.cam_stride])["class_maps"]
        memory, memory_pos, grids = beside.encode(feats, class_maps)
        f = beside.input_proj["8"](feats[8])
        h, w = f.shape[-2:]
        f = beside.spe["8"](f, gaussian_maps(cam_peaks(class_maps, beside.cam_stride), h, w, 8, beside.spe_sigma_px))
        pos = embedding(f)
        by_hand = beside.encoders[0](f.flatten(2).transpose(1, 2), pos)
        without = beside.encoders[0](f.flatten(2).transpose(1, 2), None)
        assert replace.encode(feats, class_maps)[1] is None
    assert grids == [(8, h, w)] and torch.equal(memory_pos, pos)
    assert torch.allclose(memory, by_hand, atol=1e-6)
    assert not torch.allclose(memory, without, atol=1e-3)  # the embedding does reach the memory
    with pytest.raises(ValueError, match="spe_position"):
        small_cfg(spe_position="inside")


def test_spe_position_encoder_keeps_the_embedding_out_of_the_decoders_keys():
    """`spe_position: encoder` (beyond the paper, readings round 27): the same parameters as
    `beside`, the same memory, but the decoder's keys carry no embedding, so its responses are
    `beside`'s decoder run on that memory without a position code; the baseline (no SPE) keeps
    the embedding in its keys whatever the (inert) choice says."""
    lofr = {**BASELINE, "spe": True, "spe_fusion": "embed", "reppg": True}
    torch.manual_seed(0)
    beside = build(small_cfg(**{**lofr, "spe_position": "beside"})).eval()
    encoder = build(small_cfg(**{**lofr, "spe_position": "encoder"})).eval()
    encoder.load_state_dict(beside.state_dict())  # the same parameters, names and shapes alike
    torch.manual_seed(1)
    images = torch.randn(2, 3, 64, 48)
    with torch.no_grad():
        feats = beside.backbone(images)
        cam = beside.cam(feats[beside.cam_stride])
        memory_b, pos_b, grids = beside.encode(feats, cam["class_maps"])
        memory_e, pos_e, _ = encoder.encode(feats, cam["class_maps"])
        prototypes = beside.reppg(cam["keypoint_vectors"])
        prior = beside.response_prior(cam["class_maps"], grids) if beside.response_prior is not None else None
        keys_bare = beside.decoder(prototypes, memory_b, None, prior)
        keys_pos = beside.decoder(prototypes, memory_b, pos_b, prior)
        out_e, out_b = encoder(images), beside(images)
    assert pos_e is None and pos_b is not None and torch.equal(memory_e, memory_b)
    assert not torch.allclose(keys_bare, keys_pos, atol=1e-4)  # the embedding does move the attention
    assert torch.allclose(out_e["attention"], keys_bare, atol=1e-6)
    assert torch.allclose(out_b["attention"], keys_pos, atol=1e-6)
    baseline = build(small_cfg(**{**BASELINE, "spe_position": "encoder"})).eval()
    with torch.no_grad():
        feats = baseline.backbone(images)
        assert baseline.encode(feats, baseline.cam(feats[baseline.cam_stride])["class_maps"])[1] is not None


def test_depths_are_built_as_configured():
    for enc, dec in [(0, 1), (3, 5)]:
        m = build(small_cfg(enc_layers=enc, dec_layers=dec))
        assert sum(isinstance(x, EncoderLayer) for x in m.modules()) == enc
        # dec - 1 full layers, then the response layer
        assert sum(isinstance(x, DecoderLayer) for x in m.modules()) == dec - 1
        assert m.decoder.response_layer is not None


@pytest.mark.parametrize("name", list(TABLE5))
def test_table5_configurations_run(name):
    cfg = small_cfg(enc_layers=4, dec_layers=6, **{**BASELINE, **TABLE5[name]})
    model = build(cfg)
    x = images()
    out = model(x)
    check_outputs(out, 2, 17, 32)
    terms = build_criterion(cfg)(out, {"labels": labels()})
    assert set(terms) == {"cls_cnn", "cls_encoder", "cls_decoder"} | ({"div"} if cfg.pdc else set())
    assert all(torch.isfinite(v) for v in terms.values())
    mats = prototype_matrices(model, x)
    assert set(mats) == ({"a", "c", "d"} if cfg.reppg else {"a", "b"})
    assert all(m.shape == (17, 17) for m in mats.values())


@pytest.mark.parametrize("depth", TABLE6)
def test_table6_configurations_run(depth):
    enc, dec = depth
    cfg = small_cfg(enc_layers=enc, dec_layers=dec)  # all modules on (the defaults)
    model = build(cfg)
    assert len(model.encoders[0].layers) == enc and len(model.decoder.layers) == dec - 1
    out = model(images())
    check_outputs(out, 2, 17, 32)
    total = build_criterion(cfg).total(build_criterion(cfg)(out, {"labels": labels()}))
    assert torch.isfinite(total)


# -- gradients ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [BASELINE, {}, dict(backbone="hrnet_w32", enc_layers=1, dec_layers=1),
                                dict(cam_stride=4, response_prior="cam"), dict(keypoint_vector_gradient="stopped"),
                                dict(memory_gradient="stopped", keypoint_vector_gradient="stopped")],
                         ids=["baseline", "all", "hrnet_w32", "all_cam_stride_4", "all_vector_gradient_stopped",
                              "all_memory_gradient_stopped"])
def test_location_free_gradients_reach_every_parameter(kw):
    """Image-level labels only: the backbone learns, and no parameter is left without a gradient
    (DistributedDataParallel would refuse one)."""
    cfg = small_cfg(**kw)
    model = build(cfg)
    crit = build_criterion(cfg)
    out = model(images())
    terms = crit(out, {"labels": labels()})
    assert "mse" not in terms
    crit.total(terms).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert missing == []
    first_conv = next(p for n, p in model.named_parameters() if n.startswith("backbone."))
    assert first_conv.grad.abs().sum() > 0


def test_decoder_logits_train_the_response_maps():
    """cls_decoder alone moves the cross-attention that makes the response maps."""
    cfg = small_cfg(**BASELINE)
    model = build(cfg)
    out = model(images())
    build_criterion(cfg)(out, {"labels": labels()})["cls_decoder"].backward()
    q = model.decoder.response_layer.cross_attn.q_proj.weight
    assert q.grad is not None and q.grad.abs().sum() > 0


# -- backbones at the paper's input size ----------------------------------------------------------

@pytest.mark.parametrize("backbone,channels", [
    ("resnet18", {4: 64, 8: 128, 16: 256}),
    ("resnet50", {4: 256, 8: 512, 16: 1024}),
    ("hrnet_w32", {4: 32, 8: 64, 16: 128}),
])
def test_backbones_run_at_256x192(backbone, channels):
    # the paper's transformer for resnet50, a narrow one for the others (this test is about backbones)
    kw = {} if backbone == "resnet50" else dict(d_model=32, nhead=4, dim_feedforward=64, enc_layers=1, dec_layers=1)
    cfg = LOFRConfig(backbone=backbone, **kw)
    model = build(cfg).eval()
    assert model.backbone.num_channels == channels
    with torch.no_grad():
        out = model(images(1, (256, 192)))
    check_outputs(out, 1, 17, cfg.d_model, size=(256, 192))


# -- optimiser groups, Fig. 6, determinism, mixed precision ---------------------------------------

def test_param_groups_split_cnn_and_transformer():
    model = build(small_cfg())
    groups = param_groups(model, lr=4e-3, transformer_lr_mult=0.1)
    by_name = {g["name"]: g for g in groups}
    assert by_name["cnn"]["lr"] == 4e-3 and by_name["transformer"]["lr"] == pytest.approx(4e-4)
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) and set(ids) == {id(p) for p in model.parameters()}
    cnn = {id(p) for p in by_name["cnn"]["params"]}
    assert {id(p) for p in model.backbone.parameters()} | {id(p) for p in model.cam.parameters()} == cnn
    for module in (model.encoders, model.decoder, model.reppg, model.spe, model.input_proj):
        assert not ({id(p) for p in module.parameters()} & cnn)
    torch.optim.Adam(groups, lr=4e-3)  # valid optimiser groups


def test_param_groups_can_set_the_cnn_branch_apart_under_either_scope():
    """`cnn_branch_apart` (the early CNN lr drop): "cnn" is the backbone and CAM head alone, the
    other parameters keep their lr; without it the groups are exactly those the paper's schedule had."""
    model = build(small_cfg(spe=True, multi_scale=True, reppg=True, pdc=True))
    ids = lambda params: [id(p) for p in params]
    branch = set(ids(model.backbone.parameters())) | set(ids(model.cam.parameters()))
    layers = set(ids(model.encoders.parameters())) | set(ids(model.decoder.parameters()))
    for scope in ("all_but_cnn", "layers"):
        plain = {g["name"]: g for g in param_groups(model, 4e-3, 0.1, scope)}
        apart = {g["name"]: g for g in param_groups(model, 4e-3, 0.1, scope, cnn_branch_apart=True)}
        assert set(ids(apart["cnn"]["params"])) == branch, scope
        assert ids(apart["transformer"]["params"]) == ids(plain["transformer"]["params"]), scope
        if scope == "layers":
            assert set(ids(apart["transformer"]["params"])) == layers
            assert apart["other"]["lr"] == 4e-3 and set(ids(apart["other"]["params"])) == \
                set(ids(plain["cnn"]["params"])) - branch
        else:
            assert "other" not in apart and ids(apart["cnn"]["params"]) == ids(plain["cnn"]["params"])


def test_prototype_matrices():
    base = build(small_cfg(**BASELINE))
    x = images()
    mats = prototype_matrices(base, x)
    initial = base.query_embed.detach().clone()
    assert torch.allclose(torch.as_tensor(mats["a"]), initial @ initial.T)
    # (b) is the queries after self-attention: not the raw queries' Gram matrix
    assert not torch.allclose(torch.as_tensor(mats["b"]), torch.as_tensor(mats["a"]))
    # training moves the queries, never the stored initial copy
    opt = torch.optim.SGD(base.parameters(), lr=1.0)
    build_criterion(small_cfg(**BASELINE)).total(build_criterion(small_cfg(**BASELINE))(base(x), {"labels": labels()})).backward()
    opt.step()
    assert not torch.equal(base.query_embed.detach(), initial)
    assert torch.allclose(torch.as_tensor(prototype_matrices(base, x)["a"]), initial @ initial.T)

    rep = build(small_cfg())
    rep.eval()
    mats = prototype_matrices(rep, x)
    with torch.no_grad():
        fc = rep.cam(rep.backbone(x)[rep.cam_stride])["keypoint_vectors"]
        d = rep.reppg(fc)
    expect_c = sum(fc[i] @ fc[i].T for i in range(2)) / 2
    expect_d = sum(d[i] @ d[i].T for i in range(2)) / 2
    assert torch.allclose(torch.as_tensor(mats["c"]), expect_c, rtol=1e-4, atol=1e-3)
    assert torch.allclose(torch.as_tensor(mats["d"]), expect_d, rtol=1e-4, atol=1e-4)
    assert rep.training is False


def test_same_seed_same_outputs_different_seed_different():
    cfg = small_cfg()
    outs = []
    for seed in (0, 0, 1):
        model = build(cfg, seed)  # train mode: dropout draws from the seeded generator
        torch.manual_seed(123)
        outs.append(model(images()))
    for key in ("responses", "part_features", "cams"):
        assert torch.equal(outs[0][key], outs[1][key])
        assert not torch.equal(outs[0][key], outs[2][key])
    assert torch.equal(outs[0]["logits"]["decoder"], outs[1]["logits"]["decoder"])


def test_bfloat16_autocast_and_channels_last():
    cfg = small_cfg()
    model = build(cfg).to(memory_format=torch.channels_last)
    x = images().contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    assert out["responses"].dtype == torch.float32 and out["part_features"].dtype == torch.float32
    check_outputs(out, 2, 17, 32)
    heat = torch.zeros(2, 17, 16, 12)
    heat[:, :, 8, 6] = 1.0
    targets = {"labels": labels(), "heatmaps": heat, "target_weight": torch.ones(2, 17),
               "location_mask": torch.tensor([True, False])}
    crit = build_criterion(cfg)
    total = crit.total(crit(out, targets))
    total.backward()
    assert torch.isfinite(total)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_decoder_lse_probe_changes_only_the_decoder_logit():
    cfg = small_cfg()
    paper, probe = build(cfg), build(dataclasses.replace(cfg, part_pooling="lse", decoder_lse_r=4.0))
    assert n_params(paper) == n_params(probe)
    torch.manual_seed(5)
    a = paper.eval()(images())
    b = probe.eval()(images())
    assert torch.equal(a["logits"]["cnn"], b["logits"]["cnn"]) and torch.equal(a["responses"], b["responses"])
    assert not torch.allclose(a["logits"]["decoder"], b["logits"]["decoder"])
    # small r: the log-sum-exp pooling tends to the paper's linear head on the part features
    # (error ~ r/2 * variance of the scores, until float32 rounding takes over below r ~ 1e-3)
    errors = []
    for r in (1e-1, 1e-2, 1e-3):
        near = build(dataclasses.replace(cfg, part_pooling="lse", decoder_lse_r=r)).eval()(images())
        errors.append((near["logits"]["decoder"] - a["logits"]["decoder"]).abs().max().item())
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-3


def test_models_build_without_the_harness():
    """models/ is self-contained: with the `harness` package made unimportable, a fresh
    interpreter imports `models`, builds the full network and runs it."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys; sys.modules['harness'] = None\n"
        "import torch\n"
        "from models.build import build_model\n"
        "from models.config import LOFRConfig\n"
        "cfg = LOFRConfig(backbone='resnet18', input_size=(64, 48), d_model=32, nhead=4,\n"
        "                 dim_feedforward=64, enc_layers=1, dec_layers=2)\n"
        "net = build_model(cfg)\n"
        "out = net(torch.zeros(1, 3, 64, 48))\n"
        "assert out['responses'].shape == (1, 17, 16, 12), out['responses'].shape\n"
        "assert sys.modules['harness'] is None\n"
        "assert not [m for m in sys.modules if m.startswith('harness.')]\n"
        "print('ok')\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def test_coco_defaults_match_the_coco_spec():
    """LOFRConfig's literal defaults are COCO's joints and skeleton (so trial ids do not move)."""
    from harness.data.specs import COCO

    cfg = LOFRConfig()
    assert cfg.num_keypoints == COCO.num_joints and cfg.skeleton == COCO.skeleton
