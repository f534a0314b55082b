"""The model's parts checked against hand computations: Eqs. 1, 2, 11, 12, 14, the loss total,
decoding, the grid convention, SPE's location maps, RePPG's graph, checkpoint loading."""
from __future__ import annotations

import math

import pytest
import torch

from models.backbone import CheckpointError
from models.build import build_criterion
from models.config import LOFRConfig
from models.backbone import build_backbone
from models.cam import CAMHead, keypoint_vectors
from models.criterion import part_diversity
from models.decode import decode_responses
from models.grid import resample
from models.reppg import RePPG, SemGraphConv, skeleton_adjacency
from models.spe import SpatialPositionEncoding, cam_peaks, gaussian_maps


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- CAM branch -----------------------------------------------------------------------------------

def test_cam_head_equations_1_and_2():
    torch.manual_seed(0)
    head = CAMHead(in_channels=6, num_classes=4, embed_dim=5)
    x = torch.randn(2, 6, 3, 4, generator=gen(1))
    out = head(x)
    x_prime = head.reduce(x)
    x_c = head.embed(x)
    # Eq. 2 written as an explicit einsum, and as the plain double sum over the grid
    expect = torch.einsum("bchw,bdhw->bcd", x_prime, x_c)
    assert torch.allclose(out["keypoint_vectors"], expect, atol=1e-5)
    loop = torch.zeros(2, 4, 5)
    for i in range(3):
        for j in range(4):
            loop += x_prime[:, :, i, j, None] * x_c[:, None, :, i, j]
    assert torch.allclose(keypoint_vectors(x_prime, x_c), loop, atol=1e-5)
    # Eq. 1: M_c = ReLU(sum_k w^c_k x'_k); the logits are FC(GAP(X')) (GAP and FC commute)
    w = head.fc.weight
    assert torch.allclose(out["cams"], torch.relu(torch.einsum("ck,bkhw->bchw", w, x_prime)), atol=1e-5)
    assert torch.allclose(out["logits"], head.fc(x_prime.mean(dim=(2, 3))), atol=1e-5)


def test_cam_lse_pooling_between_mean_and_max():
    torch.manual_seed(0)
    gap, lse = CAMHead(6, 4, pooling="gap"), CAMHead(6, 4, pooling="lse", lse_r=50.0)
    lse.load_state_dict(gap.state_dict())
    x = torch.randn(2, 6, 4, 3, generator=gen(3))
    scores = torch.einsum("ck,bkhw->bchw", gap.fc.weight, gap.reduce(x)).flatten(2)
    pooled_lse = lse(x)["logits"] - lse.fc.bias
    assert (pooled_lse >= scores.mean(2) - 1e-5).all() and (pooled_lse <= scores.amax(2) + 1e-5).all()
    assert torch.allclose(pooled_lse, scores.amax(2), atol=0.1)  # large r: close to the max


# -- losses ---------------------------------------------------------------------------------------

def test_part_diversity_equation_11_by_hand():
    # image 1: f1=(1,0), f2=(0,1), f3=(1,1): cos12=0, cos13=cos23=1/sqrt2
    # sum over i != j = 2 * (0 + 2/sqrt2) = 2 sqrt2; / (K (K-1) = 6) -> sqrt2 / 3
    # image 2: three parallel vectors of different length -> 1
    feats = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
                          [[1.0, 2.0], [2.0, 4.0], [0.5, 1.0]]])
    assert part_diversity(feats).item() == pytest.approx((math.sqrt(2) / 3 + 1.0) / 2, abs=1e-6)
    assert part_diversity(feats[:1]).item() == pytest.approx(math.sqrt(2) / 3, abs=1e-6)


def fake_outputs(b=3, k=4, h=8, w=6, d=5, seed=0):
    g = gen(seed)
    return {
        "logits": {n: torch.randn(b, k, generator=g) for n in ("cnn", "encoder", "decoder")},
        "responses": torch.rand(b, k, h, w, generator=g) + 0.01,
        "part_features": torch.randn(b, k, d, generator=g),
    }


def criterion(**kw):
    return build_criterion(LOFRConfig(**{"num_keypoints": 4, "skeleton": ((0, 1),), **kw}))


def test_classification_terms_by_hand_and_total_is_the_weighted_sum():
    crit = criterion(alpha=0.2, alpha1=0.3, alpha2=0.5, beta=0.1, mse_weight=2.0)
    out = fake_outputs()
    y = (torch.rand(3, 4, generator=gen(9)) > 0.5).float()
    heat = torch.rand(3, 4, 8, 6, generator=gen(4))
    terms = crit(out, {"labels": y, "heatmaps": heat, "target_weight": torch.ones(3, 4),
                       "location_mask": torch.tensor([True, True, False])})
    assert set(terms) == {"cls_cnn", "cls_encoder", "cls_decoder", "div", "mse"}
    for name in ("cnn", "encoder", "decoder"):
        p = torch.sigmoid(out["logits"][name])
        bce = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()  # Eq. 12, by hand
        assert terms[f"cls_{name}"].item() == pytest.approx(bce.item(), rel=1e-5)
    expected = (0.2 * terms["cls_cnn"] + 0.3 * terms["cls_encoder"] + 0.5 * terms["cls_decoder"]
                + 0.1 * terms["div"] + 2.0 * terms["mse"])
    assert crit.total(terms).item() == pytest.approx(expected.item(), rel=1e-6)
    assert crit.weight_dict == {"cls_cnn": 0.2, "cls_encoder": 0.3, "cls_decoder": 0.5, "div": 0.1, "mse": 2.0}


def test_terms_absent_with_their_switch_or_labels():
    out, y = fake_outputs(), torch.ones(3, 4)
    assert "div" not in criterion(pdc=False)(out, {"labels": y})
    assert "div" not in criterion(pdc=False).weight_dict
    # no heatmaps at all (location-free), or heatmaps but no labelled instance: no mse
    assert "mse" not in criterion()(out, {"labels": y})
    none_labelled = {"labels": y, "heatmaps": torch.rand(3, 4, 8, 6), "target_weight": torch.ones(3, 4),
                     "location_mask": torch.zeros(3, dtype=torch.bool)}
    assert "mse" not in criterion()(out, none_labelled)
    # Sup-only: mse alone
    sup = criterion(cls_losses=False, pdc=False)
    none_labelled["location_mask"][0] = True
    assert set(sup(out, none_labelled)) == {"mse"}
    assert set(sup.weight_dict) == {"mse"}


def test_mse_uses_max_normalised_maps_on_labelled_instances_only():
    b, k, h, w = 3, 4, 8, 6
    heat = torch.rand(b, k, h, w, generator=gen(5))
    heat = heat / heat.flatten(2).amax(2)[..., None, None]  # peak 1, as the data layer makes them
    out = fake_outputs(b, k, h, w)
    out["responses"] = heat * 0.03  # attention-sized values, same shape as the targets
    mask = torch.tensor([True, False, True])
    tw = torch.ones(b, k)
    crit = criterion()
    assert crit(out, {"labels": torch.ones(b, k), "heatmaps": heat, "target_weight": tw,
                      "location_mask": mask})["mse"].item() == pytest.approx(0.0, abs=1e-10)
    # the unlabelled instance's map does not count, a labelled one's does
    out["responses"][1] = torch.rand(k, h, w)
    assert crit(out, {"labels": torch.ones(b, k), "heatmaps": heat, "target_weight": tw,
                      "location_mask": mask})["mse"].item() == pytest.approx(0.0, abs=1e-10)
    out["responses"][0, 2] = torch.rand(h, w, generator=gen(6))
    r = out["responses"][0, 2]
    by_hand = ((r / r.max() - heat[0, 2]) ** 2).sum() / (2 * k)  # one bad map among 2 x K, summed over cells
    got = crit(out, {"labels": torch.ones(b, k), "heatmaps": heat, "target_weight": tw, "location_mask": mask})
    assert got["mse"].item() == pytest.approx(by_hand.item(), rel=1e-5)
    tw[0, 2] = 0.0  # a joint without a location does not count either
    got = crit(out, {"labels": torch.ones(b, k), "heatmaps": heat, "target_weight": tw, "location_mask": mask})
    assert got["mse"].item() == pytest.approx(0.0, abs=1e-10)


# -- decoding and the grid ------------------------------------------------------------------------

def test_decode_single_peak_with_quarter_shift_by_hand():
    # 64x48 input, 16x12 grid: stride 4. Peak at row 5, col 3; right neighbour higher than the left,
    # the two vertical neighbours equal -> x = (3 + 0.25) * 4 = 13, y = 5 * 4 = 20.
    maps = torch.zeros(1, 3, 16, 12)
    maps[0, 0, 5, 3], maps[0, 0, 5, 4] = 1.0, 0.5
    # joint 1: peak at row 10, col 7, upper neighbour higher, left higher -> x = 6.75 * 4, y = 9.75 * 4
    maps[0, 1, 10, 7], maps[0, 1, 9, 7], maps[0, 1, 10, 6] = 2.0, 1.0, 0.2
    # joint 2: peak on the left border, right neighbour higher: no shift at the border -> x = 0
    maps[0, 2, 4, 0], maps[0, 2, 4, 1], maps[0, 2, 5, 0] = 1.0, 0.9, 0.3
    probs = torch.tensor([[0.8, 0.5, 1.0]])
    kp = decode_responses(maps, (64, 48), probs)[0]
    assert kp[0, :2].tolist() == [13.0, 20.0]
    assert kp[1, :2].tolist() == [27.0, 39.0]
    assert kp[2, :2].tolist() == [0.0, 4.0 * (4 + 0.25)]
    # score = prob * (1 - mean / peak)
    n = 16 * 12
    assert kp[0, 2].item() == pytest.approx(0.8 * (1 - (1.5 / n) / 1.0), rel=1e-6)
    assert kp[1, 2].item() == pytest.approx(0.5 * (1 - (3.2 / n) / 2.0), rel=1e-6)
    flat = decode_responses(torch.ones(1, 1, 16, 12), (64, 48))
    assert flat[0, 0, 2].item() == pytest.approx(0.0, abs=1e-7)


def test_resample_follows_the_grid_convention():
    src = torch.rand(2, 3, 4, 3, generator=gen(7))  # stride 8, a 32x24 crop
    up = resample(src, 8, 4, (8, 6))
    assert torch.allclose(up[..., ::2, ::2], src, atol=1e-6)  # grid point 2j at pixel 8j
    assert torch.allclose(up[..., 1, 0], (src[..., 0, 0] + src[..., 1, 0]) / 2, atol=1e-6)
    assert torch.allclose(up[..., 7, :][..., ::2], src[..., 3, :], atol=1e-6)  # past the last row: border
    coarse = torch.rand(1, 1, 2, 2, generator=gen(8))  # stride 16
    up4 = resample(coarse, 16, 4, (8, 8))
    assert torch.allclose(up4[0, 0, 0, 1], coarse[0, 0, 0, 0] * 0.75 + coarse[0, 0, 0, 1] * 0.25, atol=1e-6)
    assert torch.equal(resample(src, 4, 4, (4, 3)), src)


# -- SPE, RePPG -----------------------------------------------------------------------------------

def test_spe_location_maps_follow_the_cam_argmax():
    cams = torch.zeros(1, 2, 4, 3)
    cams[0, 0, 2, 1] = 3.0  # stride 16: pixel (16, 32)
    cams[0, 1, 0, 2] = 1.0  # pixel (32, 0)
    peaks = cam_peaks(cams, 16)
    assert peaks[0].tolist() == [[16.0, 32.0], [32.0, 0.0]]
    maps = gaussian_maps(peaks, 8, 6, 8, sigma_px=16.0)  # stride 8 grid
    assert maps.shape == (1, 2, 8, 6)
    assert maps[0, 0, 4, 2].item() == 1.0 and maps[0, 1, 0, 4].item() == 1.0
    assert maps[0, 0].argmax().item() == 4 * 6 + 2
    assert maps[0, 0, 4, 3].item() == pytest.approx(math.exp(-(8.0 ** 2) / (2 * 16.0 ** 2)))


def test_spe_peaks_are_taken_before_the_relu():
    """An all-negative class map has an all-zero CAM; its peak is still where S is highest, not
    the first cell (the crop's top-left corner), which is what an argmax after the ReLU gives."""
    s = torch.full((1, 2, 4, 3), -5.0)
    s[0, 0, 3, 2] = -0.5  # all negative: peak at pixel (32, 48)
    s[0, 1, 1, 0] = 2.0  # a positive peak: pixel (0, 16)
    assert cam_peaks(s, 16)[0].tolist() == [[32.0, 48.0], [0.0, 16.0]]
    assert cam_peaks(s.relu(), 16)[0, 0].tolist() == [0.0, 0.0]  # what the ReLU'd map would give
    head = CAMHead(8, 2)
    out = head(torch.randn(1, 8, 4, 3, generator=gen(3)))
    assert torch.equal(out["cams"], out["class_maps"].relu())


def test_spe_fusions():
    torch.manual_seed(0)
    feature = torch.randn(2, 32, 8, 6, generator=gen(1))
    key = torch.rand(2, 17, 8, 6, generator=gen(2))
    product = SpatialPositionEncoding(17, 32, "product")
    embed = SpatialPositionEncoding(17, 32, "embed")
    embed.load_state_dict(product.state_dict())
    w_key = product.w_key(key)
    assert torch.allclose(product(feature, key), product.psi(feature * w_key + feature), atol=1e-5)
    assert torch.allclose(embed(feature, key), product.psi(w_key + feature), atol=1e-5)
    # the location prior matters: other maps, other output
    assert not torch.allclose(product(feature, key), product(feature, key.flip(-1)))


def test_reppg_graph_is_the_skeleton():
    edges = ((0, 1), (1, 2), (2, 3))
    a = skeleton_adjacency(5, edges)
    assert torch.equal(a, a.T) and torch.equal(a.diagonal(), torch.ones(5))
    assert a.sum().item() == 5 + 2 * 3
    conv = SemGraphConv(4, 4, a)
    rel = conv.normalised_relation()
    assert torch.allclose(rel.sum(1), torch.ones(5))
    assert torch.equal(rel > 0, a > 0)  # weights only on edges and self-loops
    assert torch.allclose(rel[1], torch.tensor([1 / 3, 1 / 3, 1 / 3, 0, 0]))  # M_r = 1: mean of neighbours
    assert torch.allclose(rel[4], torch.tensor([0, 0, 0, 0, 1.0]))  # isolated node keeps itself
    x = torch.randn(2, 5, 4, generator=gen(3))
    assert torch.allclose(conv(x), rel @ conv.linear(x), atol=1e-6)
    # a node's output depends on its neighbours and on nothing else
    y = x.clone()
    y[:, 3] += 1.0
    moved = (conv(y) - conv(x)).abs().sum(dim=(0, 2)) > 1e-6
    assert moved.tolist() == [False, False, True, True, False]
    reppg = RePPG(4, a, num_layers=2)
    assert reppg(x).shape == (2, 5, 4)


# -- checkpoints ----------------------------------------------------------------------------------

def test_pretrained_checkpoint_is_loaded_and_checked(tmp_path):
    import torchvision

    torch.manual_seed(0)
    source = torchvision.models.resnet18(weights=None)
    path = tmp_path / "r18.pt"
    torch.save({"state_dict": source.state_dict()}, path)  # a wrapped state dict, fc and layer4 included
    loaded = build_backbone("resnet18", (4, 8, 16), str(path))
    assert torch.equal(loaded.stem[0].weight, source.conv1.weight)
    assert torch.equal(loaded.layers[2][1].conv2.weight, source.layer3[1].conv2.weight)
    torch.manual_seed(1)
    assert not torch.equal(build_backbone("resnet18", (4, 8, 16)).stem[0].weight, source.conv1.weight)
    with pytest.raises(CheckpointError, match="not found"):
        build_backbone("resnet18", (8,), str(tmp_path / "missing.pt"))
    with pytest.raises(CheckpointError, match="not a checkpoint of this backbone"):
        build_backbone("resnet50", (8,), str(path))
    garbage = tmp_path / "garbage.pt"  # before: torch's UnpicklingError, a traceback, not one line
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="garbage.pt: not a readable torch checkpoint"):
        build_backbone("resnet18", (8,), str(garbage))


def test_hrnet_pads_inputs_that_are_not_multiples_of_32():
    backbone = build_backbone("hrnet_w32", (4, 8, 16))
    feats = backbone(torch.randn(1, 3, 64, 48))
    assert {s: tuple(f.shape[-2:]) for s, f in feats.items()} == {4: (16, 12), 8: (8, 6), 16: (4, 3)}
    assert [f.shape[1] for f in feats.values()] == [32, 64, 128]
