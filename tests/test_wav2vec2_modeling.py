"""Wav2Vec2 models against Transformers on tiny random checkpoints built here."""

from __future__ import annotations

import json
import logging
import warnings

import numpy as np
import pytest
import torch
from wav2vec2_helpers import NO_DROPOUT, TINY, VARIANT_IDS, VARIANTS, assert_close, hf_config, hf_model, padded_batch

from polymodal.core.errors import CheckpointError, ConfigError, InvalidInputError
from polymodal.models.auto import AutoModel, AutoModelForAudioClassification, AutoModelForCTC
from polymodal.models.wav2vec2.configuration import Wav2Vec2Config
from polymodal.models.wav2vec2.modeling import (
    Wav2Vec2ForCTC,
    Wav2Vec2ForSequenceClassification,
    Wav2Vec2Model,
)
from polymodal.models.wav2vec2.specaugment import _compute_mask_indices

transformers = pytest.importorskip("transformers")

OURS = {"Wav2Vec2Model": Wav2Vec2Model, "Wav2Vec2ForCTC": Wav2Vec2ForCTC,
        "Wav2Vec2ForSequenceClassification": Wav2Vec2ForSequenceClassification}


def pair(tmp_path, class_name, stable=False, norm="group", eager=False, **overrides):
    """(transformers model, polymodal model loaded from the transformers checkpoint)."""
    theirs = hf_model(class_name, stable, norm, eager=eager, **overrides)
    theirs.save_pretrained(tmp_path / "hf")
    ours = OURS[class_name].from_pretrained(tmp_path / "hf")
    return theirs, ours


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# --------------------------------------------------------------------------- config
def test_config_defaults_match_transformers():
    theirs = transformers.Wav2Vec2Config().to_dict()
    ours = Wav2Vec2Config().to_dict()
    for key, value in ours.items():
        if key in theirs and key not in ("dtype", "architectures", "transformers_version", "output_attentions",
                                         "output_hidden_states", "return_dict", "id2label"):
            expected = list(theirs[key]) if isinstance(theirs[key], tuple) else theirs[key]
            assert value == expected, key
    assert Wav2Vec2Config().inputs_to_logits_ratio == 320
    assert Wav2Vec2Config().num_feat_extract_layers == 7


def test_config_validation_names_the_field():
    with pytest.raises(ConfigError, match="conv_kernel"):
        Wav2Vec2Config(conv_dim=(4, 4), conv_stride=(2, 2), conv_kernel=(3,))
    with pytest.raises(ConfigError, match="feat_extract_norm"):
        Wav2Vec2Config(feat_extract_norm="batch")
    with pytest.raises(ConfigError, match="ctc_loss_reduction"):
        Wav2Vec2Config(ctc_loss_reduction="avg")
    with pytest.raises(ConfigError, match="mask_time_prob"):
        Wav2Vec2Config(mask_time_prob=1.5)


def test_config_round_trip_with_transformers(tmp_path):
    hf_config(True, "layer", mask_time_prob=0.3, custom_key=5).save_pretrained(tmp_path)
    ours = Wav2Vec2Config.from_pretrained(tmp_path, ctc_loss_reduction="mean")
    assert ours.do_stable_layer_norm and ours.mask_time_prob == 0.3 and ours.custom_key == 5
    assert ours.ctc_loss_reduction == "mean" and ours.conv_dim == [16, 16, 16]
    ours.save_pretrained(tmp_path / "back")
    again = transformers.Wav2Vec2Config.from_pretrained(tmp_path / "back")
    assert again.ctc_loss_reduction == "mean" and list(again.conv_kernel) == [10, 3, 3]


# --------------------------------------------------------------------------- forward parity
@pytest.mark.parametrize("stable,norm", VARIANTS, ids=VARIANT_IDS)
def test_base_model_parity_padded(tmp_path, stable, norm):
    theirs, ours = pair(tmp_path, "Wav2Vec2Model", stable, norm, eager=True)
    x, mask = padded_batch()
    with torch.no_grad():
        a = theirs(x, attention_mask=mask, output_hidden_states=True, output_attentions=True)
        b = quiet(ours, x, attention_mask=mask, output_hidden_states=True, output_attentions=True)
    assert_close(b.last_hidden_state, a.last_hidden_state, msg="last_hidden_state")
    assert_close(b.extract_features, a.extract_features, msg="extract_features")
    assert len(b.hidden_states) == len(a.hidden_states) == TINY["num_hidden_layers"] + 1
    for i, (p, q) in enumerate(zip(b.hidden_states, a.hidden_states)):
        assert_close(p, q, msg=f"hidden_states[{i}]")
    assert len(b.attentions) == len(a.attentions)
    for i, (p, q) in enumerate(zip(b.attentions, a.attentions)):
        assert_close(p, q, msg=f"attentions[{i}]")


@pytest.mark.parametrize("stable,norm", VARIANTS + [(True, "group")], ids=VARIANT_IDS + ["stable-group"])
def test_heads_parity(tmp_path, stable, norm):
    x, mask = padded_batch()
    for name in ("Wav2Vec2ForCTC", "Wav2Vec2ForSequenceClassification"):
        theirs, ours = pair(tmp_path / name, name, stable, norm)
        with torch.no_grad():
            for kwargs in ({}, {"attention_mask": mask}):
                assert_close(quiet(ours, x, **kwargs).logits, theirs(x, **kwargs).logits, msg=f"{name} {kwargs}")


def test_weighted_layer_sum_parity(tmp_path):
    for stable, norm in [(False, "group"), (True, "layer")]:
        theirs, ours = pair(tmp_path / str(stable), "Wav2Vec2ForSequenceClassification", stable, norm,
                            use_weighted_layer_sum=True)
        with torch.no_grad():
            theirs.layer_weights.copy_(torch.tensor([0.3, -1.0, 2.0]))
            ours.layer_weights.copy_(torch.tensor([0.3, -1.0, 2.0]))
            x, mask = padded_batch()
            a, b = theirs(x, attention_mask=mask), quiet(ours, x, attention_mask=mask)
        assert_close(b.logits, a.logits)
        assert b.hidden_states is None  # forced internally, not returned unless asked


def test_return_dict_false_gives_tuple(tmp_path):
    theirs, ours = pair(tmp_path, "Wav2Vec2ForCTC", True, "layer")
    x, mask = padded_batch()
    labels = torch.tensor([[1, 2, 3], [4, 5, -100]])
    with torch.no_grad():
        a = theirs(x, attention_mask=mask, labels=labels, return_dict=False)
        b = ours(x, attention_mask=mask, labels=labels, return_dict=False)
    assert isinstance(b, tuple) and len(b) == len(a) == 2
    assert_close(b[0], a[0])
    assert_close(b[1], a[1])
    out = ours(x, attention_mask=mask)
    assert out["logits"] is out.logits and out[0] is out.logits


@pytest.mark.parametrize("stable", [False, True], ids=["post", "stable"])
def test_padded_example_equals_example_alone_for_layer_norm(tmp_path, stable):
    _, ours = pair(tmp_path, "Wav2Vec2Model", stable, "layer")
    x, mask = padded_batch((1600, 1100))
    with torch.no_grad():
        batched = ours(x, attention_mask=mask).last_hidden_state
        alone = ours(x[1:, :1100]).last_hidden_state
    frames = alone.shape[1]
    assert_close(batched[1, :frames], alone[0], msg="padded example vs alone")


def test_group_norm_padding_warns_once(tmp_path):
    _, ours = pair(tmp_path, "Wav2Vec2Model", False, "group")
    x, mask = padded_batch()
    with pytest.warns(UserWarning, match="feat_extract_norm='group'"):
        ours(x, attention_mask=mask)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours(x, attention_mask=mask)  # second time: silent
        ours(x, attention_mask=torch.ones_like(mask))  # no padding: nothing to warn about


# --------------------------------------------------------------------------- training: loss and gradients
def _grads(model, prefix=""):
    return {name: p.grad for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("stable,norm", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_ctc_loss_and_gradients(tmp_path, stable, norm, reduction):
    theirs, ours = pair(tmp_path, "Wav2Vec2ForCTC", stable, norm, ctc_loss_reduction=reduction,
                        mask_time_prob=0.2, **NO_DROPOUT)
    theirs.train(), ours.train()
    x, mask = padded_batch()
    labels = torch.tensor([[1, 2, 3, 4], [5, 6, -100, -100]])
    frames = ours._get_feat_extract_output_lengths(torch.tensor(x.shape[1]))
    time_mask = torch.zeros(2, int(frames), dtype=torch.bool)
    time_mask[0, 3:6] = True
    time_mask[1, 10:12] = True
    a = theirs(x, attention_mask=mask, labels=labels, mask_time_indices=time_mask)
    b = quiet(ours, x, attention_mask=mask, labels=labels, mask_time_indices=time_mask)
    assert_close(b.loss, a.loss, msg="loss")
    a.loss.backward()
    b.loss.backward()
    theirs_grads, ours_grads = _grads(theirs), _grads(ours)
    assert set(ours_grads) == set(theirs_grads)
    for name, grad in theirs_grads.items():
        assert_close(ours_grads[name], grad, atol=1e-4, rtol=1e-3, msg=name)


def test_classification_loss_gradients_and_frozen_encoder(tmp_path):
    theirs, ours = pair(tmp_path, "Wav2Vec2ForSequenceClassification", True, "layer", **NO_DROPOUT,
                        mask_time_prob=0.0)
    theirs.train(), ours.train()
    theirs.freeze_feature_encoder(), ours.freeze_feature_encoder()
    x, mask = padded_batch()
    labels = torch.tensor([2, 0])
    a = theirs(x, attention_mask=mask, labels=labels)
    b = ours(x, attention_mask=mask, labels=labels)
    assert_close(b.loss, a.loss)
    a.loss.backward()
    b.loss.backward()
    theirs_grads, ours_grads = _grads(theirs), _grads(ours)
    assert set(ours_grads) == set(theirs_grads)
    assert not any("feature_extractor" in name for name in ours_grads)
    for name, grad in theirs_grads.items():
        assert_close(ours_grads[name], grad, atol=1e-4, rtol=1e-3, msg=name)


def test_gradient_checkpointing_gives_same_gradients(tmp_path):
    _, ours = pair(tmp_path, "Wav2Vec2ForCTC", True, "layer", **NO_DROPOUT, mask_time_prob=0.0)
    ours.train()
    x, mask = padded_batch()
    labels = torch.tensor([[1, 2, 3], [4, 5, -100]])
    ours(x, attention_mask=mask, labels=labels).loss.backward()
    plain = {k: v.clone() for k, v in _grads(ours).items()}
    ours.zero_grad()
    ours.gradient_checkpointing_enable()
    assert ours.wav2vec2.encoder.gradient_checkpointing and ours.wav2vec2.feature_extractor.gradient_checkpointing
    ours(x, attention_mask=mask, labels=labels).loss.backward()
    for name, grad in _grads(ours).items():
        assert_close(grad, plain[name], msg=name)


def test_ctc_zero_infinity_and_blank_labels(tmp_path):
    theirs, ours = pair(tmp_path, "Wav2Vec2ForCTC", True, "layer", ctc_zero_infinity=True, **NO_DROPOUT)
    x = torch.randn(1, 40)  # 1 frame cannot align 5 labels -> infinite loss, zeroed
    labels = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.no_grad():
        assert ours(x, labels=labels).loss.item() == 0.0
        assert_close(ours(x, labels=labels).loss, theirs(x, labels=labels).loss)
        # the blank (pad_token_id) in labels counts as padding, like -100
        x2 = torch.randn(1, 1600)
        assert_close(ours(x2, labels=torch.tensor([[1, 2, 0, 0]])).loss, ours(x2, labels=torch.tensor([[1, 2]])).loss)


def test_ctc_loss_is_float32_under_autocast(tmp_path):
    _, ours = pair(tmp_path, "Wav2Vec2ForCTC", True, "layer")
    x, mask = padded_batch()
    labels = torch.tensor([[1, 2, 3], [4, 5, -100]])
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = ours(x, attention_mask=mask, labels=labels)
    assert out.loss.dtype == torch.float32
    with torch.no_grad():
        reference = ours(x, attention_mask=mask, labels=labels).loss
    assert abs(out.loss.item() - reference.item()) / reference.item() < 0.05


def test_spec_augment_in_training_mode(tmp_path):
    _, ours = pair(tmp_path, "Wav2Vec2Model", True, "layer", mask_time_prob=0.5, mask_time_length=2,
                   mask_feature_prob=0.5, mask_feature_length=4, **NO_DROPOUT)
    x = torch.randn(2, 1600)
    with torch.no_grad():
        clean = ours(x).last_hidden_state
        ours.train()
        np.random.seed(0)
        first = ours(x).last_hidden_state
        np.random.seed(0)
        again = ours(x).last_hidden_state
    assert not torch.allclose(first, clean)
    assert torch.equal(first, again)  # numpy's RNG drives the masks, as in Transformers
    ours.eval()
    with torch.no_grad():
        assert torch.equal(ours(x).last_hidden_state, clean)  # no masking in eval mode


def test_spec_augment_mask_distribution_matches_transformers():
    import numpy as np
    from transformers.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices as theirs

    np.random.seed(0)
    torch.manual_seed(0)
    attention = torch.ones(3, 50, dtype=torch.long)
    attention[1, 30:] = 0
    attention[2, 12:] = 0
    ours_masks = torch.stack([_compute_mask_indices((3, 50), 0.3, 4, attention, min_masks=2) for _ in range(3000)])
    theirs_masks = torch.from_numpy(np.stack([theirs((3, 50), 0.3, 4, attention, min_masks=2) for _ in range(3000)]))
    # Same per-frame masking probability (within sampling noise) and nothing masked in padding
    # except the dummy last frame that Transformers also uses.
    assert (ours_masks.float().mean(0) - theirs_masks.float().mean(0)).abs().max() < 0.05
    assert not ours_masks[:, 1, 31:49].any() and not ours_masks[:, 2, 13:49].any()
    assert ours_masks.sum(-1).float().mean().sub(theirs_masks.sum(-1).float().mean()).abs() < 0.2


@pytest.mark.parametrize("prob,span,min_masks", [(0.3, 4, 2), (0.05, 10, 2), (0.0, 3, 0), (0.5, 7, 0)])
def test_spec_augment_masks_equal_transformers_for_the_same_numpy_state(prob, span, min_masks):
    # Same draws on numpy's RNG as Transformers: equal masks, and torch's RNG (dropout's) untouched.
    import numpy as np
    from transformers.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices as theirs

    attention = torch.ones(4, 60, dtype=torch.long)
    attention[1, 31:] = 0
    attention[2, 9:] = 0  # barely room for a span
    for seed in range(20):
        for mask in (None, attention):
            np.random.seed(seed)
            expected = theirs((4, 60), prob, span, mask, min_masks=min_masks)
            after = np.random.rand()
            torch_state = torch.get_rng_state()
            np.random.seed(seed)
            ours = _compute_mask_indices((4, 60), prob, span, mask, min_masks=min_masks)
            assert np.array_equal(ours.numpy(), expected) and np.random.rand() == after
            assert torch.equal(torch.get_rng_state(), torch_state)


# --------------------------------------------------------------------------- precision
def test_bf16_load(tmp_path):
    theirs = hf_model("Wav2Vec2ForSequenceClassification", True, "layer")
    theirs.save_pretrained(tmp_path)
    ours = Wav2Vec2ForSequenceClassification.from_pretrained(tmp_path, torch_dtype=torch.bfloat16)
    assert ours.dtype == torch.bfloat16
    assert all(p.dtype == torch.bfloat16 for p in ours.parameters())
    x = torch.randn(2, 1600)
    with torch.no_grad():
        low = ours(x.to(torch.bfloat16)).logits
        ref = theirs(x).logits
    assert low.dtype == torch.bfloat16
    assert_close(low.float(), ref, atol=0.1, rtol=0.1)
    ctc = Wav2Vec2ForCTC.from_pretrained(tmp_path, torch_dtype="bfloat16", vocab_size=12)
    with torch.no_grad():
        loss = ctc(x.to(torch.bfloat16), labels=torch.tensor([[1, 2], [3, 4]])).loss
    assert loss.dtype == torch.float32 and torch.isfinite(loss)


# --------------------------------------------------------------------------- save / load
def test_polymodal_saves_transformers_loads(tmp_path):
    theirs, ours = pair(tmp_path, "Wav2Vec2ForCTC", False, "group")
    ours.save_pretrained(tmp_path / "ours")
    assert (tmp_path / "ours" / "model.safetensors").exists()
    loaded, info = transformers.Wav2Vec2ForCTC.from_pretrained(tmp_path / "ours", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    x = torch.randn(2, 1600)
    with torch.no_grad():
        assert_close(loaded(x).logits, ours(x).logits)
        assert_close(loaded(x).logits, theirs(x).logits)


def test_transformers_saves_polymodal_loads_no_missing_keys(tmp_path):
    theirs = hf_model("Wav2Vec2ForSequenceClassification", True, "layer")
    theirs.save_pretrained(tmp_path)
    ours, info = Wav2Vec2ForSequenceClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    assert not ours.training


def test_legacy_weight_norm_keys_load(tmp_path):
    from safetensors.torch import load_file, save_file

    theirs = hf_model("Wav2Vec2ForCTC", True, "layer")
    theirs.save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    renamed = {k.replace("parametrizations.weight.original0", "weight_g")
                .replace("parametrizations.weight.original1", "weight_v"): v for k, v in state.items()}
    assert any(k.endswith("weight_g") for k in renamed)
    save_file(renamed, tmp_path / "model.safetensors", metadata={"format": "pt"})
    ours, info = Wav2Vec2ForCTC.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    x = torch.randn(1, 1600)
    with torch.no_grad():
        assert_close(ours(x).logits, theirs(x).logits)


def test_sharded_save_loads_in_both_libraries(tmp_path):
    _, ours = pair(tmp_path, "Wav2Vec2Model", True, "layer")
    ours.save_pretrained(tmp_path / "sharded", max_shard_size="20KB")
    index = json.loads((tmp_path / "sharded" / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1
    assert not (tmp_path / "sharded" / "model.safetensors").exists()
    again = Wav2Vec2Model.from_pretrained(tmp_path / "sharded")
    theirs = transformers.Wav2Vec2Model.from_pretrained(tmp_path / "sharded")
    x = torch.randn(1, 1600)
    with torch.no_grad():
        assert_close(again(x).last_hidden_state, ours(x).last_hidden_state)
        assert_close(theirs(x).last_hidden_state, ours(x).last_hidden_state)


def test_pickle_only_with_opt_in(tmp_path):
    theirs = hf_model("Wav2Vec2ForCTC", True, "layer")
    theirs.config.save_pretrained(tmp_path)
    torch.save(theirs.state_dict(), tmp_path / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="allow_pickle=True"):
        Wav2Vec2ForCTC.from_pretrained(tmp_path)
    ours = Wav2Vec2ForCTC.from_pretrained(tmp_path, allow_pickle=True)
    x = torch.randn(1, 1600)
    with torch.no_grad():
        assert_close(ours(x).logits, theirs(x).logits)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_safetensors_is_checkpoint_error(tmp_path, damage):
    hf_model("Wav2Vec2Model", True, "layer").save_pretrained(tmp_path)
    path = tmp_path / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        Wav2Vec2Model.from_pretrained(tmp_path)


def test_auto_classes_and_unknown_model_type(tmp_path):
    hf_model("Wav2Vec2ForCTC", True, "layer").save_pretrained(tmp_path / "ctc")
    assert type(AutoModelForCTC.from_pretrained(tmp_path / "ctc")) is Wav2Vec2ForCTC
    assert type(AutoModel.from_pretrained(tmp_path / "ctc")) is Wav2Vec2Model
    head = quiet(AutoModelForAudioClassification.from_pretrained, tmp_path / "ctc")
    assert type(head) is Wav2Vec2ForSequenceClassification
    config = json.loads((tmp_path / "ctc" / "config.json").read_text())
    config["model_type"] = "wav2vec9"
    (tmp_path / "ctc" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="Unknown model_type 'wav2vec9'"):
        AutoModel.from_pretrained(tmp_path / "ctc")


def test_load_report_fresh_head_info_and_missing_encoder_warning(tmp_path, caplog):
    from safetensors.torch import load_file, save_file

    hf_model("Wav2Vec2Model", True, "layer").save_pretrained(tmp_path)
    with caplog.at_level(logging.INFO, logger="polymodal"), warnings.catch_warnings():
        warnings.simplefilter("error")  # a fresh head must not warn
        Wav2Vec2ForSequenceClassification.from_pretrained(tmp_path)
    assert any("newly initialised head" in r.message and "classifier.weight" in r.message for r in caplog.records)

    state = load_file(tmp_path / "model.safetensors")
    del state["encoder.layers.1.attention.q_proj.weight"]
    save_file(state, tmp_path / "model.safetensors", metadata={"format": "pt"})
    with pytest.warns(UserWarning, match=r"MISSING 1 encoder weight.*wav2vec2.encoder.layers.1.attention.q_proj.weight"):
        Wav2Vec2ForCTC.from_pretrained(tmp_path)


def test_shape_mismatch_needs_ignore_mismatched_sizes(tmp_path):
    hf_model("Wav2Vec2ForSequenceClassification", True, "layer").save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="(?s)classifier.weight.*ignore_mismatched_sizes"):
        Wav2Vec2ForSequenceClassification.from_pretrained(tmp_path, num_labels=5)
    model = Wav2Vec2ForSequenceClassification.from_pretrained(tmp_path, num_labels=5, ignore_mismatched_sizes=True)
    assert model.classifier.weight.shape == (5, 8)
    assert model(torch.randn(1, 1600)).logits.shape == (1, 5)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad,match", [
    (torch.randn(2, 1, 1600), r"shape \(batch, samples\)"),
    (torch.randint(-100, 100, (2, 1600)), "floating point"),
    (torch.zeros(1, 0), "empty"),
    (torch.zeros(0, 1600), "empty"),
    (torch.randn(1, 30), "at least 40 samples"),
    ([0.0] * 1600, "torch.Tensor"),
])
def test_bad_inputs_are_clear_errors(tmp_path, bad, match):
    _, ours = pair(tmp_path, "Wav2Vec2ForCTC", True, "layer")
    with pytest.raises(InvalidInputError, match=match):
        ours(bad)


def test_bad_mask_and_labels(tmp_path):
    _, ours = pair(tmp_path, "Wav2Vec2ForCTC", True, "layer")
    x = torch.randn(2, 1600)
    with pytest.raises(InvalidInputError, match="attention_mask"):
        ours(x, attention_mask=torch.ones(2, 1500))
    mask = torch.ones(2, 1600, dtype=torch.long)
    mask[1, 30:] = 0
    with pytest.raises(InvalidInputError, match=r"Examples \[1\]"):
        ours(x, attention_mask=mask)
    with pytest.raises(InvalidInputError, match="vocab_size"):
        ours(x, labels=torch.tensor([[1, 12], [1, 2]]))


def test_conv_bias_and_adapters_parity(tmp_path):
    # large-lv60 style conv bias, a post-encoder conv adapter (add_adapter) and MMS attention adapters
    theirs, ours = pair(tmp_path, "Wav2Vec2ForCTC", True, "layer", conv_bias=True, add_adapter=True,
                        output_hidden_size=16, num_adapter_layers=2, adapter_attn_dim=8)
    x, mask = padded_batch()
    with torch.no_grad():
        expected = theirs(x, attention_mask=mask).logits
        assert_close(ours(x, attention_mask=mask).logits, expected)  # inference fast path
    grad_path = ours(x.clone().requires_grad_(), attention_mask=mask).logits  # autograd path
    assert_close(grad_path.detach(), expected)


def test_first_conv_group_norm_folded_into_one_gemm(monkeypatch):
    """Inference path: the first conv's GroupNorm statistics come from the raw windows' mean and
    covariance and the norm is folded into the conv's weights; same numbers as conv + GroupNorm."""
    from polymodal.models.wav2vec2 import modeling

    torch.manual_seed(0)
    config = Wav2Vec2Config(**{**TINY, "conv_bias": True})
    layer = modeling.Wav2Vec2ConvLayer(config, 0, "group").eval()
    with torch.no_grad():
        layer.layer_norm.weight.normal_(1.0, 0.3)
        layer.layer_norm.bias.normal_(0.0, 0.5)
    x = torch.randn(3, 2005) + 0.2  # an offset: the mean matters
    x[:, 1000:] *= 0.01  # a quiet half
    x[2] = 0.0  # digital silence: variance 0, the eps alone
    folded, fold = [], modeling._conv_group_norm_frames
    monkeypatch.setattr(modeling, "_conv_group_norm_frames", lambda *args: folded.append(1) or fold(*args))
    with torch.no_grad():
        expected = layer(x[:, None]).transpose(1, 2)  # torch's conv + GroupNorm
        got = layer.forward_frames(x[:, :, None])
    assert folded
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
