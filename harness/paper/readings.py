"""The paper's ambiguous passages, declared once: each a quote, its config key and tagged choices.

Where the paper's words admit several implementations, the harness implements each reading as a
config value and declares the passage here: its name, where it is, the paper's own words, the
dotted config key, and its choices, each tagged

- `literal` -- the default, today's behaviour: the harness's first reading of the words;
- `reading` -- another defensible reading of the same words;
- `beyond the paper` -- a choice the words do not suggest (a probe, a coupling the paper lacks).

`harness readings` prints them; `harness plan` marks the rows whose choices differ from the
literal ones; each completed trial records its readings (`metrics.json["readings"]`) and the report
shows, beside each row, the choices that differ, with their tags. A choice's `params` name the
other config keys that choice reads (shown beside it, never declared as readings themselves).

To add a passage: implement its choices as the values of one config field (its default the
literal reading; a string field gets `choices=` in `bounded`, a model field is checked in
`LOFRConfig.__post_init__`), then add a `Passage` to `PASSAGES` below. `tests/test_readings.py`
checks that every passage's key exists, that its literal value is the field's default, and that
its choices are exactly the values the field accepts. A field added after 2026-11-30 leaves
trial ids unchanged at its default (`harness/config/identity.py`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from harness.paper.modules import unread_by

LITERAL, READING, BEYOND = "literal", "reading", "beyond the paper"
TAGS = (LITERAL, READING, BEYOND)
# A choice whose value is ANY stands for every value of a numeric field but the listed ones (e.g. a
# warm-up's length: the literal 0 and any other number of iterations).
ANY = "any other value"


@dataclass(frozen=True)
class Choice:
    value: Any  # the config value
    tag: str  # LITERAL | READING | BEYOND
    meaning: str  # what the harness computes with it
    params: tuple[str, ...] = ()  # other dotted keys this choice reads (e.g. its sharpness r)

    def __post_init__(self) -> None:
        if self.tag not in TAGS:
            raise ValueError(f"choice {self.value!r}: tag must be one of {TAGS}, got {self.tag!r}")


@dataclass(frozen=True)
class Passage:
    name: str  # short identifier (`harness readings`, metrics.json)
    where: str  # section / equation
    quote: str  # the paper's words
    key: str  # the dotted config key whose values are the choices
    choices: tuple[Choice, ...]  # the literal one first
    why: str  # why the words admit several readings, and what was measured

    def __post_init__(self) -> None:
        tags = [c.tag for c in self.choices]
        if tags.count(LITERAL) != 1 or tags[0] != LITERAL:
            raise ValueError(f"passage {self.name}: exactly one literal choice, listed first")

    @property
    def literal(self) -> Choice:
        return self.choices[0]

    def choice(self, value: Any) -> Choice | None:
        """The choice `value` reads as: the one listed with it, else the ANY choice where there is one."""
        listed = next((c for c in self.choices if c.value == value), None)
        return listed or next((c for c in self.choices if c.value == ANY), None)


PASSAGES: tuple[Passage, ...] = (
    Passage(
        name="eq2_weights", where="Sec. 3.2, Eq. 2",
        quote="we compute category-specific keypoint vectors F_c = [f_1, f_2, ..., f_c] ∈ R^{C×D'} as: "
              "f_c = x'^T X^c = Σ_i Σ_j x'_{i,j} x^c_{i,j}",
        key="model.keypoint_vector_weights",
        choices=(
            Choice("x_prime", LITERAL, "X^c weighted by x'_c, the c-th channel of the 1x1-reduced map X'"),
            Choice("cam", READING, "X^c weighted by class c's CAM m_c = ReLU(S_c) (Eq. 1)"),
            Choice("cam_normalised", READING, "X^c weighted by m_c / Σ m_c: the mean feature where class c fires"),
            Choice("cam_softmax", READING, "X^c weighted by a spatial softmax of S_c"),
        ),
        why="The FC of Eq. 1 mixes X' into the class maps (S_c = Σ_k w^c_k x'_k), so x'_c is not class "
            "c's map; at init the F_c are nearly parallel (pairwise |cos| 0.93) and the prototypes "
            "start interchangeable. Weighting by a CAM makes F_c the feature where joint c fires."),
    Passage(
        name="part_pooling", where="Sec. 3.1 and 3.4 (RGP-De)",
        quote="Part features can be obtained by pooling operation where the location maps are treated as "
              "different spatial keypoint locations. [...] We then obtain i-th part feature by pooling operation.",
        key="model.part_pooling",
        choices=(
            Choice("mean", LITERAL, "F^p_k = Σ_p R_k(p) F_m(p), logit w_k · F^p_k + b_k"),
            Choice("score_map", READING, "R_k = softmax_p of the prototype-memory score map (the response "
                   "layer's attention logits); F^p_k and the logit, (1/r) log mean_p exp(r s_k(p)), "
                   "pooled from that same map", ("model.decoder_lse_r",)),
            Choice("lse", BEYOND, "logit (1/r) log Σ_p R_k(p) exp(r w_k · F_m(p)) + b_k",
                   ("model.decoder_lse_r",)),
        ),
        why="With the weighted mean a uniform R_k meets the classification loss as well as a peaked one "
            "(the logit becomes w_k · mean(F_m) + b_k): nothing asks the attention to find the joint. "
            "At init the gradient on decoder layer 0's cross-attention is ~3e-8."),
    Passage(
        name="weight_decay", where="Sec. 4.2",
        quote="We adopt Adam [17] optimizer with a learning rate of 4×10^-3 and a weight decay of 10^-4.",
        key="schedule.decay",
        choices=(
            Choice("l2", LITERAL, "Adam with an L2 term in the gradient (torch.optim.Adam's weight_decay)",
                   ("schedule.weight_decay",)),
            Choice("decoupled", READING, "AdamW: the decay applied beside the Adam step, as DETR trains",
                   ("schedule.weight_decay",)),
            Choice("cnn_only", READING, "Adam + L2 on the CNN group, no decay on the transformer group",
                   ("schedule.weight_decay",)),
        ),
        why="Inside Adam's normalised step an L2 term shrinks any weight the loss barely trains by about "
            "the learning rate per step: at the synthetic scale every location-free decoder weight "
            "shrank to ~1e-7 and the cross-attention collapsed to uniform."),
    Passage(
        name="transformer_lr", where="Sec. 4.2",
        quote="The learning rate of transformer is decreased by a factor of 10.",
        key="schedule.transformer_scope",
        choices=(
            Choice("all_but_cnn", LITERAL, "everything but the backbone and the CAM branch (input "
                   "projections, SPE / position embeddings, encoder, RePPG, queries, decoder, heads)",
                   ("schedule.transformer_lr_mult",)),
            Choice("layers", READING, "the encoder and decoder layers only",
                   ("schedule.transformer_lr_mult",)),
        ),
        why="'The transformer' may be DETR's transformer (its encoder and decoder layers) or every "
            "module beside the CNN."),
    Passage(
        name="spe_fusion", where="Sec. 3.3, Eq. 3",
        quote="φ = F ⊗ F^key, [...] The ⊗, ⊕ depicts the cross-product and element-wise sum operation.",
        key="model.spe_fusion",
        choices=(
            Choice("product", LITERAL, "φ = F ∗ W_key(F^key): the features gated by an embedding of the location maps"),
            Choice("embed", READING, "φ = W_key(F^key): the location maps as an additive position code"),
            Choice("outer", READING, "φ = W(F ⊗ F^key): the outer product at each position (d × K) "
                   "projected to d, one linear map of the features per keypoint"),
        ),
        why="A 'cross-product' of a d-channel and a K-channel map is not defined; gating or adding a "
            "learned code tells a token that some joint is near, the outer product which one."),
    Passage(
        name="spe_position", where="Sec. 3.3",
        quote="Rather than adopt the random initialized position embedding, we take {F^key} as the implicit "
              "position prior to help the model know spatial part locations while capturing the context.",
        key="model.spe_position",
        choices=(
            Choice("replace", LITERAL, "SPE's F' in place of the learned position embedding: the tokens carry the "
                   "CAM peaks' Gaussians and no position code of their own"),
            Choice("beside", BEYOND, "SPE's F' as the encoder's input and the baseline's learned position embedding "
                   "added in every attention beside it"),
            Choice("encoder", BEYOND, "SPE's F' as the encoder's input and the learned position embedding added in "
                   "the encoder's attention alone: the decoder's keys are the memory, as with SPE in its place"),
        ),
        why="Not ambiguous (SPE replaces the embedding). Readings round 21 finds SPE alone costing the baseline "
            "0.061 PCK@0.1 (CAMs 0.046, the memory's token scores 0.088) while RePPG needs SPE (round 20); "
            "keeping the embedding beside SPE asks whether the lost position code is the cost. Round 24: beside "
            "it, LOFR's responses leave the CAMs; keeping it to the encoder asks whether the decoder's keys are why."),
    Passage(
        name="labels", where="Sec. 3.5 and 4.2",
        quote="The classification output denotes joint-wise one-hots O. [...] we apply random flip and "
              "random resize with scale ∈ [0.65, 1.35] (cutout not used).",
        key="supervision.labels",
        choices=(
            Choice("in_crop", LITERAL, "joint present = labelled (v > 0) and inside the augmented crop"),
            Choice("annotated", READING, "joint present = labelled (v > 0), whatever the crop"),
        ),
        why="The paper leaves cutout out 'to avoid information leakage', which hints that its labels "
            "come from the annotation and ignore what the augmented crop cuts off."),
    Passage(
        name="shared_encoder", where="Sec. 3.3",
        quote="Given F' as input, the multiple SA modules are employed to learn pixel-level human contextual "
              "dependencies of multi-scale features.",
        key="model.shared_encoder",
        choices=(
            Choice(True, LITERAL, "one encoder (its layers shared) for the three scales"),
            Choice(False, READING, "one encoder per scale"),
        ),
        why="'Multiple SA modules' may be an encoder's several layers or one encoder per scale."),
    Passage(
        name="response_merge", where="Sec. 3.3 and 3.4",
        quote="we concat the multi-level output {F'_i} [...] as the final context memory F_m. [...] we obtain "
              "the keypoint location map via finding the max value of their response map.",
        key="model.response_merge",
        choices=(
            Choice("density", LITERAL, "each scale's slice of R resampled to the stride-4 grid and divided "
                   "by its cell area: one distribution over the crop"),
            Choice("value", READING, "each scale's slice resampled as it is (favours the coarse scales)"),
        ),
        why="R spans every position of every scale; the paper does not say how it becomes one map."),
    Passage(
        name="response_prior", where="Sec. 3.4",
        quote="the attention weights of all hw positions form a part-aware response map R_i = [r_{i,1}, ..., "
              "r_{i,hw}], which has high response values at context features belonging to i-th part.",
        key="model.response_prior",
        choices=(
            Choice("none", LITERAL, "R_i is the cross-attention alone"),
            Choice("cam", BEYOND, "the attention logits plus log softmax_p of the CNN's class map S_i (detached): "
                   "R_i gated by where the CNN says part i is"),
        ),
        why="Not ambiguous; nothing in the paper ties R_i to the CAMs but the prototypes and SPE, and the "
            "diagnostics find responses that do not follow the CAMs. A coupling to try when the readings fail."),
    Passage(
        name="mirror_div", where="Sec. 1",
        quote="the adjacent or symmetric joints possess similar semantic context or appearances. It tends to result "
              "in the location confusions and incorrect responses",
        key="model.mirror_div",
        choices=(
            Choice("none", LITERAL, "no term of its own: RePPG and PDC are the paper's answer to the confusion"),
            Choice("cams", BEYOND, "a loss term `mirror`: the cosine of the LSE pooling's softmax maps of each "
                   "left/right pair (the dataset's flip pairs) where both are labelled, so the two class maps "
                   "are read at different places", ("model.mirror_weight",)),
        ),
        why="Not ambiguous (the paper names the confusion and adds no term for it). On the COCO twin the CAM "
            "peaks of a left/right pair land nearer the other side's joint 41-49 % of the time, the mean pose's "
            "41 % (experiments/readings/follows.py): the class maps tell the sides apart no better than a fixed "
            "pose, though the labels tell them apart wherever one side alone is shown (18 % of the pairs)."),
    Passage(
        name="cam_pooling", where="Sec. 3.2",
        quote="Then, followed by GAP, FC and a softmax layer for classification as in Fig. 2",
        key="model.cam_pooling",
        choices=(
            Choice("gap", LITERAL, "global average pooling"),
            Choice("lse", BEYOND, "log-sum-exp pooling (1/r) log mean exp(r S_c): one peak can decide a class",
                   ("model.cam_lse_r",)),
        ),
        why="Not ambiguous; with GAP on labels that say 'present' ~76 % of the time the class maps learn "
            "evidence of absence and peak away from the joint (the synthetic scale uses lse)."),
    Passage(
        name="cam_stride", where="Sec. 3.2",
        quote="the detected single person images are fed into the CNN-based network to acquire the feature "
              "map X ∈ R^{H×W×D}",
        key="model.cam_stride",
        choices=(
            Choice(16, LITERAL, "X = the stride-16 map, the deepest the backbone keeps"),
            Choice(8, BEYOND, "X = the stride-8 map (an 8 × 6 grid at 64 × 48 where stride 16 gives 4 × 3)"),
            Choice(4, BEYOND, "X = the stride-4 map (16 × 12 at 64 × 48): the finest the backbone returns"),
        ),
        why="At small inputs the stride-16 grid is too coarse to localise (the synthetic scale uses 8; the "
            "readings study's round 4 tries 4, since its CAMs fail first)."),
    Passage(
        name="reppg_gradient", where="Sec. 3.2 / 3.4, Eq. 2",
        quote="For acquiring the initial node embedding for the graph in RGP-De (in sec 3.4), we compute "
              "category-specific keypoint vectors F_c [...] We initialize the category-specific keypoint "
              "features F_c in Eq. 2 as the node feature of P_C.",
        key="model.keypoint_vector_gradient",
        choices=(
            Choice("through", LITERAL, "F_c as computed: the prototypes' losses reach X' (the FC too under the CAM-weighted "
                   "readings of Eq. 2) and the backbone"),
            Choice("stopped", BEYOND, "F_c from X' (or the CAM) and X detached: only X^c's 1x1 conv learns from "
                   "the prototypes; the class maps learn from the CNN's own loss"),
        ),
        why="Not ambiguous (end-to-end training lets the gradient through). The readings study finds full "
            "LOFR's CAMs below its baseline's under the same readings (rounds 2, 6), and RePPG is the one "
            "module that writes into the CAM head; stopping it asks whether that is why (round 7)."),
    Passage(
        name="pdc_on", where="Sec. 3.4, Eq. 11",
        quote="we design a part diversity constraint on {F_i^p} to let features attend to the corresponding local "
              "part. [Eq. 11: the mean pairwise cosine of f_i^p, f_j^p] if the i-th and j-th part feature give a high "
              "weight to the same location, the L_div will become large",
        key="model.pdc_on",
        choices=(
            Choice("part_features", LITERAL, "Eq. 11 on the part features F^p_i (the pooled memory features)"),
            Choice("response_maps", READING, "Eq. 11 on the response maps R_i (each prototype's attention weights over "
                   "the memory): large where two maps weigh the same locations, 0 where they do not overlap"),
        ),
        why="Eq. 11 compares features, the sentence after it weights on locations. Pooled memory features can "
            "be pulled apart (to a negative cosine) by attending anywhere distinct, joint or not; response maps, "
            "non-negative, are only asked not to overlap. Readings rounds 9 and 11 find full LOFR without MS "
            "at 0.054 PCK with the literal PDC and at 0.287 without PDC."),
    Passage(
        name="memory_gradient", where="Sec. 3.5",
        quote="the overall objective function L_weak includes three classification losses and a diversity loss. The "
              "classification loss L_cls refers to the BCE, followed by CNN output, the encoder output and the final "
              "prediction, respectively.",
        key="model.memory_gradient",
        choices=(
            Choice("through", LITERAL, "the transformer's classification losses reach the backbone through its "
                   "input projections"),
            Choice("stopped", BEYOND, "the transformer reads the backbone maps detached: the backbone learns from "
                   "the CNN branch's own loss (and RePPG's through Eq. 2 unless reppg_gradient is stopped)"),
        ),
        why="Not ambiguous (end to end). Full LOFR's CAMs stay below its baseline's under every reading tried "
            "(rounds 6-10) and only what its transformer sends back through the memory can make the difference; "
            "stopped with reppg_gradient, the backbone and the class maps learn from the CNN branch's loss alone in "
            "every row of Table 5, which then compares the transformer's modules on one set of CAMs."),
    Passage(
        name="augmentation", where="Sec. 4.2",
        quote="For data augmentation, we apply random flip and random resize with scale ∈ [0.65, 1.35] (cutout "
              "not used).",
        key="schedule.augment",
        choices=(
            Choice("paper", LITERAL, "random flip and random resize"),
            Choice("shift", BEYOND, "also the crop's centre moved by U(-s, s) x its box in x and y (s = "
                   "crop_shift; from the box alone, no keypoints), as mmpose's RandomBBoxTransform does: more "
                   "joints cross the crop's edge, where an in-crop label changes at the joint itself",
                   ("schedule.crop_shift",)),
        ),
        why="Not ambiguous. Under the in-crop labels a joint's label flips exactly where it crosses the crop's "
            "edge, the one place the image-level labels pin a joint's position; follows.py finds the class "
            "maps' peaks pulled into the body, beside the joints, and shifted crops make such crossings "
            "common for every joint, not only the extremities a zoom cuts off."),
    Passage(
        name="cnn_lr", where="Sec. 4.2",
        quote="We adopt Adam optimizer with a learning rate of 4×10^{-3} and a weight decay of 10^{-4}. The "
              "learning rate of transformer is decreased by a factor of 10.",
        key="schedule.cnn_lr_drop",
        choices=(
            Choice("with_all", LITERAL, "the CNN branch's lr drops with every group's, after each of lr_steps"),
            Choice("early", BEYOND, "the CNN branch's lr (backbone, CAM head) is also multiplied by lr_gamma after "
                   "each of cnn_lr_steps: its class maps settle while the transformer keeps its lr",
                   ("schedule.cnn_lr_steps",)),
        ),
        why="Not ambiguous (one schedule for the whole network; the paper gives no epochs for its drops). In "
            "every 10-epoch trial of the readings study the CAMs peak after epochs 3-5 and drift down while "
            "the classifier keeps learning, and the responses climb towards them; round 10 stops the CNN "
            "branch near the peak."),
    Passage(
        name="warmup", where="Sec. 4.2",
        quote="We adopt Adam optimizer with a learning rate of 4×10^{-3} and a weight decay of 10^{-4}.",
        key="schedule.warmup_iters",
        choices=(
            Choice(0, LITERAL, "every group starts at its scheduled lr"),
            Choice(ANY, BEYOND, "every group's lr ramps linearly from 1/N of its scheduled value to all of it "
                   "over the trial's first N iterations (harness/trial/training.py), as mmpose's top-down "
                   "schedules do (N = 500)"),
        ),
        why="Not ambiguous (no warm-up named). Readings round 17: confirmation 2's failing seed lags from its "
            "first epoch (CAMs 0.035 against 0.125-0.175), before PDC's term moves; with a 500-iteration "
            "warm-up the same seed reads 0.357 against 0.214 (its class maps find the face by epoch 2)."),
    Passage(
        name="pdc_onset", where="Sec. 3.5, Eq. 13",
        quote="L_weak = alpha L_cls_cnn + alpha_1 L_cls_en + alpha_2 L_cls_tran + beta L_div. (13)",
        key="schedule.pdc_onset",
        choices=(
            Choice("start", LITERAL, "PDC's term weighs beta from the first iteration, as Eq. 13's one sum"),
            Choice("late", BEYOND, "PDC's weight is 0 before epoch pdc_from_epoch and beta from it on; the term "
                   "is computed and logged throughout", ("schedule.pdc_from_epoch",)),
        ),
        why="Not ambiguous (one objective, constant weights). In confirmation 2 the seed whose PDC term fell "
            "earliest read worst (0.204 against 0.329 and 0.338); a late onset lets the class maps, and the "
            "attention that follows them, settle before the part features are pushed apart."),
)

BY_NAME: Mapping[str, Passage] = {p.name: p for p in PASSAGES}


def resolved(flat: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every passage as the flattened config `flat` reads it: {name: {key, value, tag, params}}
    (tag None: a value the declaration does not know, e.g. from an older harness)."""
    out = {}
    for p in PASSAGES:
        value = flat.get(p.key, p.literal.value)
        choice = p.choice(value)
        params = {k: flat.get(k) for k in (choice.params if choice else ()) if k in flat}
        out[p.name] = {"key": p.key, "value": value, "tag": choice.tag if choice else None, "params": params}
    return out


def departures(flat: Mapping[str, Any]) -> list[tuple[Passage, Choice | None, Any]]:
    """The passages whose choice in `flat` is not the literal one: [(passage, choice, value)]."""
    out = []
    for p in PASSAGES:
        value = flat.get(p.key, p.literal.value)
        if value != p.literal.value:
            out.append((p, p.choice(value), value))
    return out


def describe(flat: Mapping[str, Any], skip: frozenset[str] = frozenset()) -> str:
    """The departures in a few words: "part_pooling=score_map (reading), cam_stride=8 (beyond the
    paper)"; "" where every choice is literal. `skip`: describe(...) items to leave out (those that
    every row of a table shares, said once beside it)."""
    return ", ".join(item for item in describe_items(flat) if item not in skip)


def _param_text(value: Any) -> str:
    """A parameter as a reader writes it: 0.0001 not 1e-04's repr, epochs "4, 8" not "(4, 8)"."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_param_text(v) for v in value)
    return str(value)


def describe_items(flat: Mapping[str, Any]) -> list[str]:
    """`describe`'s items, one per departure that something in `flat` reads: a reading of a
    module switched off (SPE's fusion in a baseline row) is left out, as nothing runs it."""
    parts = []
    for p, choice, value in departures(flat):
        if unread_by(flat, p.key) is not None:
            continue
        params = ", ".join(f"{k.split('.')[-1]} {_param_text(flat[k])}"
                           for k in (choice.params if choice else ()) if k in flat)
        parts.append(f"{p.name}={value}" + (f" [{params}]" if params else "")
                     + f" ({choice.tag if choice else 'undeclared'})")
    return parts
