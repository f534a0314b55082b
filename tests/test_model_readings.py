"""Each declared reading of the paper's ambiguous passages computes what its reading says, on tiny
tensors (harness/paper/readings.py lists them): Eq. 2's weights, the part pooling, SPE's fusion,
the transformer's parameter group."""
from __future__ import annotations

import math

import pytest
import torch

from models.build import build_criterion, build_model, param_groups
from models.config import LOFRConfig
from models.cam import CAMHead, eq2_weights, keypoint_vectors
from models.decoder_head import decoder_outputs, part_features_and_logits, score_map_outputs
from models.spe import SpatialPositionEncoding

SMALL = dict(backbone="resnet18", input_size=(64, 48), d_model=32, nhead=4, dim_feedforward=64,
             enc_layers=1, dec_layers=2)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- Eq. 2: which map weights X^c -----------------------------------------------------------------

def test_cam_weighted_keypoint_vectors_equal_the_feature_at_a_one_hot_cams_peak():
    x_c = torch.randn(2, 5, 3, 4, generator=gen(1))  # B x d x h x w
    x_prime = torch.randn(2, 3, 3, 4, generator=gen(2))
    scores = torch.full((2, 3, 3, 4), -1.0)  # every class negative but at one cell: a one-hot CAM
    peaks = [(0, 1), (2, 3), (1, 0)]
    for c, (i, j) in enumerate(peaks):
        scores[:, c, i, j] = 2.5
    fc = keypoint_vectors(eq2_weights("cam_normalised", x_prime, scores), x_c)
    for c, (i, j) in enumerate(peaks):
        assert torch.allclose(fc[:, c], x_c[:, :, i, j], atol=1e-6)
    # "cam": the same vector times the CAM's value there (ReLU(S) = 2.5)
    assert torch.allclose(keypoint_vectors(eq2_weights("cam", x_prime, scores), x_c), 2.5 * fc, atol=1e-5)
    # "cam_softmax": a spatial softmax, close to one-hot when the peak stands far above the rest
    sharp = keypoint_vectors(eq2_weights("cam_softmax", x_prime, 20 * scores), x_c)
    assert torch.allclose(sharp, fc, atol=1e-4)
    # "x_prime" (literal): X' weights the sum, whatever the class maps say
    assert torch.equal(eq2_weights("x_prime", x_prime, scores), x_prime)


def test_a_class_that_fires_nowhere_gets_the_zero_vector():
    x_c = torch.randn(1, 4, 2, 2, generator=gen(3))
    scores = -torch.rand(1, 2, 2, 2, generator=gen(4)) - 0.1
    fc = keypoint_vectors(eq2_weights("cam_normalised", scores, scores), x_c)
    assert torch.equal(fc, torch.zeros_like(fc))


def test_cam_head_passes_its_class_maps_to_eq2():
    torch.manual_seed(0)
    head = CAMHead(6, 3, embed_dim=4, vector_weights="cam_softmax")
    x = torch.randn(2, 6, 3, 4, generator=gen(5))
    out = head(x)
    weights = out["class_maps"].flatten(2).softmax(2).view_as(out["class_maps"])
    assert torch.allclose(out["keypoint_vectors"], torch.einsum("bchw,bdhw->bcd", weights, head.embed(x)), atol=1e-5)
    with pytest.raises(ValueError, match="vector_weights"):
        CAMHead(6, 3, vector_weights="x")


# -- RGP-De's pooling -----------------------------------------------------------------------------

def test_lse_pooling_tends_to_the_best_attended_score_as_r_grows():
    response = torch.softmax(torch.randn(2, 3, 7, generator=gen(6)), dim=-1)
    memory = torch.randn(2, 7, 5, generator=gen(7))
    weight, bias = torch.randn(3, 5, generator=gen(8)), torch.zeros(3)
    scores = torch.einsum("kd,bld->bkl", weight, memory)
    errors = []
    for r in (1.0, 10.0, 100.0, 1000.0):
        _, logits = part_features_and_logits(response, memory, weight, bias, lse_r=r)
        errors.append((logits - scores.amax(dim=-1)).abs().max().item())
    # (1/r) log sum_p R(p) exp(r s(p)) = max s + (1/r) log R(argmax) + o(1): the gap closes like 1/r
    assert errors == sorted(errors, reverse=True) and errors[-1] < 1e-2
    _, mean_logits = part_features_and_logits(response, memory, weight, bias, lse_r=0.0)
    assert torch.allclose(mean_logits, torch.einsum("bkl,bld,kd->bk", response, memory, weight), atol=1e-5)


def test_score_map_logit_is_the_pooled_map_that_is_read_out():
    scores = torch.randn(2, 3, 6, generator=gen(9)) * 3
    memory = torch.randn(2, 6, 4, generator=gen(10))
    bias = torch.tensor([0.5, -1.0, 0.0])
    response, part, logits = score_map_outputs(scores, memory, bias, r=1.0)
    assert torch.allclose(response, scores.softmax(-1)) and torch.allclose(part, response @ memory, atol=1e-6)
    # r = 1: the log of the attention's partition function over L positions
    assert torch.allclose(logits - bias, torch.log(scores.exp().mean(-1)), atol=1e-5)
    # large r: the logit is the map's maximum, at the position the read-out decodes
    _, _, sharp = score_map_outputs(scores, memory, bias, r=200.0)
    assert torch.allclose(sharp - bias, scores.amax(-1), atol=0.02)
    assert torch.equal(response.argmax(-1), scores.argmax(-1))
    same = decoder_outputs("score_map", scores, memory, None, bias, 1.0)
    assert all(torch.equal(a, b) for a, b in zip(same, (response, part, logits)))


def test_score_map_model_reads_out_the_attention_its_logit_pools():
    torch.manual_seed(0)
    net = build_model(LOFRConfig(**SMALL, part_pooling="score_map")).eval()
    assert net.decoder_head_weight is None and net.decoder_lse_r == 1.0
    x = torch.randn(2, 3, 64, 48, generator=gen(11))
    with torch.no_grad():
        out = net(x)
        feats = net.backbone(x)
        cam = net.cam(feats[net.cam_stride])
        memory, pos, _ = net.encode(feats, cam["class_maps"])
        scores = net.decoder(net.reppg(cam["keypoint_vectors"]), memory, pos)
    assert torch.allclose(out["attention"], scores.softmax(-1), atol=1e-6)
    expect = torch.logsumexp(scores, -1) - math.log(scores.shape[-1]) + net.decoder_head_bias
    assert torch.allclose(out["logits"]["decoder"], expect, atol=1e-5)
    assert net.token_scores(out["memory"], out["grids"], (16, 12)) is None
    for bad in (dict(part_pooling="lse"), dict(decoder_lse_r=2.0), dict(part_pooling="max")):
        with pytest.raises(ValueError):
            LOFRConfig(**SMALL, **bad)


def test_token_scores_are_the_decoder_heads_score_of_each_memory_token():
    torch.manual_seed(0)
    net = build_model(LOFRConfig(**SMALL, spe=False, multi_scale=False, reppg=False, pdc=False)).eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, 64, 48, generator=gen(12)))
        maps = net.token_scores(out["memory"], out["grids"], (16, 12))  # the stride-4 grid
    expect = torch.einsum("kd,bld->bkl", net.decoder_head_weight, out["memory"]).reshape(1, 17, 8, 6)
    # stride-4 point (2i, 2j) sits on stride-8 token (i, j) (crop pixel (8j, 8i))
    assert out["grids"] == [(8, 8, 6)] and torch.allclose(maps[..., ::2, ::2], expect, atol=1e-5)


# -- SPE's "cross-product" ------------------------------------------------------------------------

def test_spe_outer_product_is_one_linear_map_per_keypoint_weighted_by_its_gaussian():
    torch.manual_seed(0)
    spe = SpatialPositionEncoding(3, 4, "outer")
    assert spe.w_key is None
    feature = torch.randn(2, 4, 5, 6, generator=gen(13))
    key = torch.rand(2, 3, 5, 6, generator=gen(14))
    w = spe.w_outer.weight.view(4, 4, 3)  # out x (d, K): channel d * K + k of the outer product
    phi = torch.einsum("oik,bihw,bkhw->bohw", w, feature, key) + spe.w_outer.bias.view(1, 4, 1, 1)
    assert torch.allclose(spe(feature, key), spe.psi(phi + feature), atol=1e-5)
    # one keypoint's Gaussian moved: the code changes only through that keypoint's own map
    moved = key.clone()
    moved[:, 1] = moved[:, 1].flip(-1)
    assert not torch.allclose(spe(feature, key), spe(feature, moved))


# -- which parameters are "the transformer" -------------------------------------------------------

def test_transformer_scope_layers_puts_only_encoder_and_decoder_layers_at_the_lower_rate():
    torch.manual_seed(0)
    net = build_model(LOFRConfig(**SMALL))
    groups = {g["name"]: g for g in param_groups(net, 4e-3, 0.1, "layers")}
    slow = {id(p) for p in groups["transformer"]["params"]}
    layers = {id(p) for m in (net.encoders, net.decoder) for p in m.parameters()}
    assert slow == layers and groups["transformer"]["lr"] == pytest.approx(4e-4)
    fast = {id(p) for p in groups["cnn"]["params"]}
    for module in (net.backbone, net.cam, net.reppg, net.spe, net.input_proj, net.encoder_head):
        assert {id(p) for p in module.parameters()} <= fast
    assert id(net.decoder_head_weight) in fast and not (fast & slow)
    assert len(fast | slow) == sum(1 for _ in net.parameters())
    literal = {g["name"]: g for g in param_groups(net, 4e-3, 0.1)}
    assert id(net.decoder_head_weight) in {id(p) for p in literal["transformer"]["params"]}


# -- beyond the paper: the CAM prior on the response maps ----------------------------------------

def test_cam_prior_gates_the_attention_by_the_class_maps_softmax():
    from models.attention import MultiHeadAttention
    from models.response_prior import CamPrior

    torch.manual_seed(0)
    class_maps = torch.randn(2, 3, 4, 3, generator=gen(20))  # stride 16 at 64 x 48
    prior = CamPrior(16)(class_maps, [(16, 4, 3)])
    assert torch.allclose(prior.exp().sum(-1), torch.ones(2, 3))
    assert torch.allclose(prior, class_maps.flatten(2).log_softmax(-1), atol=1e-6)  # its own grid: S itself
    attn = MultiHeadAttention(8, 2, values=False)
    q, k = torch.randn(2, 3, 8, generator=gen(21)), torch.randn(2, 12, 8, generator=gen(22))
    plain, gated = attn.weights(q, k), attn.weights(q, k, prior)
    # softmax(a + log p) = softmax(a) * p / normaliser, head by head
    expect = plain * prior.exp().unsqueeze(1)
    assert torch.allclose(gated, expect / expect.sum(-1, keepdim=True), atol=1e-6)
    net = build_model(LOFRConfig(**SMALL, response_prior="cam"))
    plain_net = build_model(LOFRConfig(**SMALL))
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in plain_net.parameters())
    assert plain_net.response_prior is None
    # detached: the prior carries no gradient back into the CNN branch
    maps = torch.randn(1, 3, 4, 3, requires_grad=True)
    assert not CamPrior(16)(maps, [(16, 4, 3), (8, 8, 6)]).requires_grad


# -- beyond the paper: the CAM branch's grid -------------------------------------------------------

def test_cam_stride_4_reads_the_backbones_stride_4_map_and_the_prior_keeps_it_on_that_grid():
    """cam_stride 4 (readings round 4): the CAM head reads the stride-4 map, its class maps lie on
    the responses' own grid, and the CAM prior's slice for the stride-4 memory is those maps as
    they are (log softmax over every memory position: S minus one constant per map)."""
    torch.manual_seed(0)
    net = build_model(LOFRConfig(**SMALL, cam_stride=4, response_prior="cam")).eval()
    x = torch.randn(2, 3, 64, 48, generator=gen(30))
    with torch.no_grad():
        out = net(x)
        feats = net.backbone(x)
        cam = net.cam(feats[4])
        prior = net.response_prior(out["class_maps"], out["grids"])
    assert feats[4].shape[-2:] == (16, 12) and out["class_maps"].shape == out["responses"].shape == (2, 17, 16, 12)
    assert torch.allclose(out["class_maps"], cam["class_maps"], atol=1e-6)
    assert out["grids"][0] == (4, 16, 12)  # MS: the stride-4 memory comes first
    own = prior[..., : 16 * 12] - out["class_maps"].flatten(2)
    assert torch.allclose(own, own[..., :1].expand_as(own), atol=1e-4)
    with pytest.raises(ValueError, match="cam_stride"):
        LOFRConfig(**SMALL, cam_stride=2)


# -- beyond the paper: RePPG's gradient into the CNN branch ---------------------------------------

@pytest.mark.parametrize("weights", ["x_prime", "cam"])
def test_stopped_vector_gradient_keeps_the_prototypes_loss_out_of_the_cnn_branch(weights):
    """keypoint_vector_gradient "stopped" (readings round 7): Eq. 2's values are unchanged, and a
    loss on the prototypes reaches X^c's conv and RePPG but not the backbone, X' or the FC, which
    it reaches when the gradient goes "through" (the paper)."""
    x = torch.randn(2, 3, 64, 48, generator=gen(40))
    grads, vectors = {}, {}
    for mode in ("through", "stopped"):
        torch.manual_seed(0)  # the same weights for both
        net = build_model(LOFRConfig(**SMALL, keypoint_vector_weights=weights, keypoint_vector_gradient=mode))
        cam = net.cam(net.backbone(x)[net.cam_stride])
        vectors[mode] = cam["keypoint_vectors"].detach()
        net.reppg(cam["keypoint_vectors"]).square().sum().backward()
        grads[mode] = {n for n, p in net.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert torch.equal(vectors["through"], vectors["stopped"])
    fc = {"cam.fc.weight"} if weights == "cam" else set()  # the FC enters Eq. 2 only through the CAM
    cnn = {"cam.reduce.weight"} | fc | {n for n in grads["through"] if n.startswith("backbone.")}
    assert "cam.embed.weight" in grads["stopped"] and any(n.startswith("reppg.") for n in grads["stopped"])
    assert cnn <= grads["through"] and any(n.startswith("backbone.") for n in cnn)
    assert not cnn & grads["stopped"]
    with pytest.raises(ValueError, match="keypoint_vector_gradient"):
        LOFRConfig(**SMALL, keypoint_vector_gradient="x")


# -- beyond the paper: the transformer's gradient into the backbone -------------------------------

def test_stopped_memory_gradient_leaves_the_backbone_to_the_cnn_branchs_own_loss():
    """memory_gradient "stopped" (readings round 12): the outputs are unchanged; the transformer's
    losses (encoder and decoder BCE, the PDC) no longer reach the backbone, which they reach when
    the gradient goes "through" (the paper); with RePPG's gradient stopped too, the backbone's
    gradient of the whole weighted loss is that of alpha * cls_cnn alone."""
    x = torch.randn(2, 3, 64, 48, generator=gen(41))
    labels = (torch.rand(2, 17, generator=gen(42)) > 0.3).float()
    outs, transformer_grads = {}, {}
    for mode in ("through", "stopped"):
        torch.manual_seed(0)  # the same weights for both
        cfg = LOFRConfig(**SMALL, memory_gradient=mode, keypoint_vector_gradient=mode)
        net, crit = build_model(cfg), build_criterion(cfg)
        out = net(x)
        outs[mode] = out["responses"].detach()
        terms = crit(out, {"labels": labels})
        backbone = [p for n, p in net.named_parameters() if n.startswith("backbone.")]
        transformer_loss = terms["cls_encoder"] + terms["cls_decoder"] + terms["div"]
        grads = torch.autograd.grad(transformer_loss, backbone, retain_graph=True, allow_unused=True)
        transformer_grads[mode] = sum(0.0 if g is None else g.abs().sum().item() for g in grads)
        if mode == "stopped":
            whole = torch.autograd.grad(crit.total(terms), backbone, retain_graph=True)
            own = torch.autograd.grad(crit.weight_dict["cls_cnn"] * terms["cls_cnn"], backbone)
            for a, b in zip(whole, own):
                assert torch.allclose(a, b, atol=1e-7, rtol=1e-5)
    assert torch.equal(outs["through"], outs["stopped"])
    assert transformer_grads["through"] > 0 and transformer_grads["stopped"] == 0
    with pytest.raises(ValueError, match="memory_gradient"):
        LOFRConfig(**SMALL, memory_gradient="x")


# -- Eq. 11: what the part diversity constraint compares ------------------------------------------

def test_pdc_on_response_maps_is_the_mean_cosine_of_the_attention_maps():
    """pdc_on "response_maps": Eq. 11 over the response maps R_i (B x K x L), by hand: disjoint
    maps give 0, identical maps 1; "part_features" (the literal) keeps comparing the part features."""
    k, length = 3, 5
    disjoint = torch.zeros(1, k, length)
    for i in range(k):
        disjoint[0, i, i] = 1.0
    same = torch.full((1, k, length), 0.2)
    # two maps overlapping at one of two cells each: cos = 0.5 for that pair, 0 for the others
    half = torch.tensor([[[1.0, 1.0, 0, 0, 0], [0, 1.0, 1.0, 0, 0], [0, 0, 0, 0, 1.0]]])
    feats = torch.randn(3, 1, k, 4, generator=gen(43))
    expected = {"part_features": None, "response_maps": [0.0, 1.0, 2 * 0.5 / (k * (k - 1))]}
    for pdc_on in ("part_features", "response_maps"):
        crit = build_criterion(LOFRConfig(**SMALL, pdc_on=pdc_on))
        values = []
        for maps, f in zip((disjoint, same, half), feats):
            out = {"logits": {n: torch.zeros(1, k) for n in ("cnn", "encoder", "decoder")},
                   "attention": maps, "part_features": f}
            values.append(crit(out, {"labels": torch.ones(1, k)})["div"].item())
        if pdc_on == "response_maps":
            assert values == pytest.approx(expected["response_maps"], abs=1e-6)
        else:
            f = torch.nn.functional.normalize(feats[:, 0], dim=-1)
            by_hand = [(fi @ fi.T).sum().item() - k for fi in f]
            assert values == pytest.approx([v / (k * (k - 1)) for v in by_hand], abs=1e-5)
    with pytest.raises(ValueError, match="pdc_on"):
        LOFRConfig(**SMALL, pdc_on="x")


def test_pdc_on_response_maps_trains_the_cross_attention_of_the_model():
    """Under "response_maps" the div term of a real forward is the cosine of its `attention` and
    its gradient reaches the response layer's queries."""
    cfg = LOFRConfig(**SMALL, pdc_on="response_maps")
    torch.manual_seed(0)
    net, crit = build_model(cfg), build_criterion(cfg)
    out = net(torch.randn(2, 3, 64, 48, generator=gen(44)))
    div = crit(out, {"labels": torch.ones(2, 17)})["div"]
    a = torch.nn.functional.normalize(out["attention"], dim=-1)
    cos = a @ a.transpose(1, 2)
    by_hand = ((cos.sum(dim=(1, 2)) - cos.diagonal(dim1=1, dim2=2).sum(dim=1)) / (17 * 16)).mean()
    assert div.item() == pytest.approx(by_hand.item(), abs=1e-6) and 0 < div.item() <= 1
    div.backward()
    assert net.decoder.response_layer.cross_attn.q_proj.weight.grad.abs().sum() > 0


# -- mirror_div (beyond the paper): a left/right pair's class maps kept apart ------------------------

def test_mirror_term_is_the_cosine_of_each_labelled_pairs_softmax_maps():
    """mirror_div "cams": by hand on 1 x 4 x 1 x 3 class maps with pairs (0, 1), (2, 3): the cosine of
    softmax(r S) of each pair, mean over the (image, pair) cases both labelled; identical maps give
    1, far-apart peaks at a large r nearly 0, a pair with a hidden joint is left out, and a batch
    with no pair labelled gives 0 with a gradient that still flows."""
    from models.criterion import mirror_overlap

    pairs = ((0, 1), (2, 3))
    s = torch.tensor([[[[5.0, 0.0, 0.0]], [[5.0, 0.0, 0.0]], [[4.0, 0.0, 0.0]], [[0.0, 0.0, 4.0]]]])
    both = torch.ones(1, 4)
    r = 3.0
    p = torch.softmax(r * s.flatten(2), dim=2)[0]
    cos23 = (p[2] @ p[3]) / (p[2].norm() * p[3].norm())
    assert mirror_overlap(s, both, pairs, r).item() == pytest.approx((1.0 + cos23.item()) / 2, abs=1e-6)
    assert mirror_overlap(s, both, pairs, 50.0).item() == pytest.approx(0.5, abs=1e-6)  # (1 + ~0) / 2
    hidden = torch.tensor([[1.0, 1.0, 1.0, 0.0]])  # joint 3 hidden: only the identical pair counts
    assert mirror_overlap(s, hidden, pairs, r).item() == pytest.approx(1.0, abs=1e-6)
    leaf = s.clone().requires_grad_(True)
    none = mirror_overlap(leaf, torch.zeros(1, 4), pairs, r)
    none.backward()
    assert none.item() == 0.0 and leaf.grad is not None


def test_mirror_term_is_built_from_the_datasets_pairs_and_trains_the_class_maps():
    """build_criterion adds `mirror` (weight mirror_weight) only under "cams" and only with the
    dataset's pairs; the config refuses "cams" without the LSE pooling; on a real forward the term
    equals mirror_overlap of its class maps and its gradient reaches the CAM head."""
    from harness.data.specs import SPECS
    from models.criterion import mirror_overlap

    pairs = SPECS["coco"].flip_pairs
    assert "mirror" not in build_criterion(LOFRConfig(**SMALL), flip_pairs=pairs).weight_dict
    cfg = LOFRConfig(**SMALL, cam_pooling="lse", cam_lse_r=20.0, mirror_div="cams", mirror_weight=0.3)
    with pytest.raises(ValueError, match="flip pairs"):
        build_criterion(cfg)
    with pytest.raises(ValueError, match="cam_pooling"):
        LOFRConfig(**SMALL, mirror_div="cams")
    crit = build_criterion(cfg, flip_pairs=pairs)
    assert crit.weight_dict["mirror"] == 0.3 and crit.mirror_pairs == tuple(pairs)
    torch.manual_seed(0)
    net = build_model(cfg)
    out = net(torch.randn(2, 3, 64, 48, generator=gen(45)))
    labels = torch.ones(2, 17)
    term = crit(out, {"labels": labels})["mirror"]
    assert term.item() == pytest.approx(mirror_overlap(out["class_maps"], labels, pairs, 20.0).item(), abs=1e-6)
    assert 0 < term.item() <= 1
    term.backward()
    assert net.cam.reduce.weight.grad.abs().sum() > 0
