"""ASTModel / ASTForAudioClassification against Transformers (the oracle), on tiny random models.

The tiny model uses different frequency and time strides so that a transposed spectrogram or a
time-major patch order could not pass unnoticed.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import transformers
from torch.testing import assert_close

import polymodal
from polymodal.core.errors import ConfigError, InvalidInputError
from polymodal.models.audio_spectrogram_transformer import modeling as ast_modeling
from polymodal.models.audio_spectrogram_transformer.configuration import ASTConfig
from polymodal.models.audio_spectrogram_transformer.modeling import ASTForAudioClassification, ASTModel
from polymodal.models.auto import AutoConfig, AutoModel, AutoModelForAudioClassification
from polymodal.models.vit import modeling as vit_modeling

ATOL = 1e-5
TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, max_length=48,
            num_mel_bins=32, patch_size=16, frequency_stride=8, time_stride=10)
LABELS = ["dog", "rain", "siren", "speech"]


@pytest.fixture(autouse=True)
def _quiet_transformers():
    transformers.logging.set_verbosity_error()


def hf_config(**overrides):
    id2label = dict(enumerate(LABELS))
    config = transformers.ASTConfig(**{**TINY, "id2label": id2label,
                                       "label2id": {v: k for k, v in id2label.items()}, **overrides})
    config._attn_implementation = "eager"  # Transformers' SDPA path returns no attention weights
    return config


def hf_model(kind="ASTForAudioClassification", seed=0, **overrides):
    """A Transformers model with every weight random (its own init zeroes the tokens and positions)."""
    torch.manual_seed(seed)
    model = getattr(transformers, kind)(hf_config(**overrides))
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.normal_(1.0 if name.endswith("layernorm.weight") else 0.0, 0.2)
    return model.eval()


def pair(tmp_path, kind="ASTForAudioClassification", **overrides):
    theirs = hf_model(kind, **overrides)
    theirs.save_pretrained(tmp_path)
    ours = getattr(ast_modeling, kind).from_pretrained(tmp_path)
    return theirs, ours


@pytest.fixture(scope="module")
def clf_dir(tmp_path_factory):
    """One saved Transformers classifier for the tests that only read it."""
    path = tmp_path_factory.mktemp("ast_clf")
    hf_model().save_pretrained(path)
    return path


def spectrograms(batch=3, seed=1):
    return torch.randn(batch, TINY["max_length"], TINY["num_mel_bins"], generator=torch.Generator().manual_seed(seed))


# Transformers 5 module names -> the checkpoint names polymodal's modules carry.
_RENAMES = [(r"\blayers\.", "encoder.layer."), (r"attention\.q_proj", "attention.attention.query"),
            (r"attention\.k_proj", "attention.attention.key"), (r"attention\.v_proj", "attention.attention.value"),
            (r"attention\.o_proj", "attention.output.dense"), (r"mlp\.fc1", "intermediate.dense"),
            (r"mlp\.fc2", "output.dense")]


def checkpoint_name(name: str) -> str:
    for pattern, new in _RENAMES:
        name = re.sub(pattern, new, name)
    return name


# --------------------------------------------------------------------------- config
def test_config_defaults_and_round_trip(tmp_path):
    ours, theirs = ASTConfig(), transformers.ASTConfig()
    for key in ("hidden_size", "num_hidden_layers", "patch_size", "qkv_bias", "frequency_stride", "time_stride",
                "max_length", "num_mel_bins", "layer_norm_eps", "hidden_dropout_prob", "hidden_act"):
        assert getattr(ours, key) == getattr(theirs, key), key
    assert ours.num_tokens == 1214  # 12 × 101 patches + cls + distillation, as in the paper
    hf_config().save_pretrained(tmp_path / "hf")
    loaded = ASTConfig.from_pretrained(tmp_path / "hf")
    assert loaded.frequency_stride == 8 and loaded.id2label[2] == "siren"
    loaded.save_pretrained(tmp_path / "ours")
    back = transformers.ASTConfig.from_pretrained(tmp_path / "ours")
    assert back.time_stride == 10 and back.id2label[2] == "siren" and back.num_mel_bins == 32


@pytest.mark.parametrize("bad, field", [
    (dict(hidden_size=30, num_attention_heads=4), "hidden_size"),
    (dict(num_mel_bins=8, patch_size=16), "num_mel_bins"),
    (dict(time_stride=0), "time_stride"),
    (dict(hidden_dropout_prob=1.5), "hidden_dropout_prob"),
])
def test_config_errors_name_the_field(bad, field):
    with pytest.raises(ConfigError, match=field):
        ASTConfig(**bad)


# --------------------------------------------------------------------------- forward parity
def test_classifier_outputs_match(tmp_path):
    theirs, ours = pair(tmp_path)
    x = spectrograms()
    with torch.no_grad():
        ref = theirs(x, output_hidden_states=True, output_attentions=True)
        out = ours(x, output_hidden_states=True, output_attentions=True)
    assert_close(out.logits, ref.logits, atol=ATOL, rtol=0)
    assert len(out.hidden_states) == len(ref.hidden_states) == 3
    for a, b in zip(out.hidden_states, ref.hidden_states):
        assert_close(a, b, atol=ATOL, rtol=0)
    assert len(out.attentions) == 2
    for a, b in zip(out.attentions, ref.attentions):
        assert a.shape == (3, 4, 14, 14)
        assert_close(a, b, atol=ATOL, rtol=0)


def test_base_model_matches_and_pools_two_tokens(tmp_path):
    theirs, ours = pair(tmp_path, "ASTModel")
    x = spectrograms()
    with torch.no_grad():
        ref, out = theirs(x), ours(x)
    assert out.last_hidden_state.shape == (3, 14, 32)
    assert_close(out.last_hidden_state, ref.last_hidden_state, atol=ATOL, rtol=0)
    assert_close(out.pooler_output, ref.pooler_output, atol=ATOL, rtol=0)
    assert_close(out.pooler_output, out.last_hidden_state[:, :2].mean(1), atol=1e-6, rtol=0)
    assert isinstance(ours(x, return_dict=False), tuple)


def test_sdpa_path_matches_plain(tmp_path, monkeypatch):
    theirs, ours = pair(tmp_path)
    x = spectrograms()
    with torch.no_grad():
        ref = theirs(x).logits
        monkeypatch.setattr(vit_modeling, "prefer_eager", lambda *args: False)
        assert_close(ours(x).logits, ref, atol=ATOL, rtol=0)


def test_token_attention_mask_matches(tmp_path):
    theirs, ours = pair(tmp_path)
    x = spectrograms(2)
    mask = torch.ones(2, 14, dtype=torch.long)
    mask[1, 9:] = 0
    with torch.no_grad():
        assert_close(ours(x, attention_mask=mask).logits, theirs(x, attention_mask=mask).logits, atol=ATOL, rtol=0)


# --------------------------------------------------------------------------- loss and gradients
@pytest.mark.parametrize("problem", ["single", "multi", "regression"])
def test_loss_and_gradients_match(tmp_path, problem):
    overrides = {"num_labels": 1, "id2label": {0: "score"}, "label2id": {"score": 0}} if problem == "regression" else {}
    theirs, ours = pair(tmp_path, **overrides)
    labels = {"single": torch.tensor([3, 0, 1]),
              "multi": torch.tensor([[1.0, 0, 1, 0], [0, 0, 0, 1], [1, 1, 0, 0]]),
              "regression": torch.tensor([0.5, -1.0, 2.0])}[problem]
    x = spectrograms()
    theirs.train(), ours.train()
    ref, out = theirs(x, labels=labels), ours(x, labels=labels)
    assert_close(out.loss, ref.loss, atol=ATOL, rtol=0)
    assert ours.config.problem_type == theirs.config.problem_type
    ref.loss.backward(), out.loss.backward()
    grads = dict(ours.named_parameters())
    for name, param in theirs.named_parameters():
        assert_close(grads[checkpoint_name(name)].grad, param.grad, atol=ATOL, rtol=1e-4, msg=name)


def test_gradient_checkpointing_same_gradients(clf_dir):
    ours = ASTForAudioClassification.from_pretrained(clf_dir)
    x, labels = spectrograms(2), torch.tensor([1, 2])
    ours.train()
    ours(x, labels=labels).loss.backward()
    plain = {n: p.grad.clone() for n, p in ours.named_parameters()}
    ours.zero_grad()
    ours.gradient_checkpointing_enable()
    assert ours.audio_spectrogram_transformer.encoder.gradient_checkpointing
    ours(x, labels=labels).loss.backward()
    for name, param in ours.named_parameters():
        assert_close(param.grad, plain[name], atol=1e-6, rtol=0, msg=name)


# --------------------------------------------------------------------------- save / load
def test_transformers_checkpoint_loads_strictly(clf_dir):
    _, report = ASTForAudioClassification.from_pretrained(clf_dir, output_loading_info=True)
    assert report["missing_keys"] == [] and report["unexpected_keys"] == [] and report["mismatched_keys"] == []


def test_polymodal_saves_transformers_loads(tmp_path):
    theirs, ours = pair(tmp_path / "a")
    ours.save_pretrained(tmp_path / "b")
    back = transformers.ASTForAudioClassification.from_pretrained(tmp_path / "b").eval()
    x = spectrograms()
    with torch.no_grad():
        assert_close(back(x).logits, theirs(x).logits, atol=ATOL, rtol=0)
    again = ASTForAudioClassification.from_pretrained(tmp_path / "b")
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), ours.state_dict().values()))


def test_fresh_models_save_and_load_both_ways(tmp_path):
    torch.manual_seed(0)
    fresh = ASTForAudioClassification(ASTConfig(**TINY, num_labels=3))
    assert fresh.audio_spectrogram_transformer.embeddings.position_embeddings.abs().sum() == 0  # Transformers' init
    std = fresh.classifier.dense.weight.std().item()
    assert 0.01 < std < 0.04
    fresh.save_pretrained(tmp_path)
    theirs = transformers.ASTForAudioClassification.from_pretrained(tmp_path).eval()
    x = spectrograms()
    with torch.no_grad():
        assert_close(fresh.eval()(x).logits, theirs(x).logits, atol=ATOL, rtol=0)


def test_base_checkpoint_into_classifier_and_back(tmp_path):
    theirs = hf_model("ASTModel")
    theirs.save_pretrained(tmp_path / "base")
    clf, report = ASTForAudioClassification.from_pretrained(tmp_path / "base", num_labels=5, output_loading_info=True)
    assert sorted(report["head_keys"]) == ["classifier.dense.bias", "classifier.dense.weight",
                                           "classifier.layernorm.bias", "classifier.layernorm.weight"]
    x = spectrograms(2)
    with torch.no_grad():
        assert_close(clf.audio_spectrogram_transformer(x).pooler_output, theirs(x).pooler_output, atol=ATOL, rtol=0)
        assert clf(x).logits.shape == (2, 5)
    clf.save_pretrained(tmp_path / "clf")
    base = ASTModel.from_pretrained(tmp_path / "clf")
    with torch.no_grad():
        assert_close(base(x).pooler_output, theirs(x).pooler_output, atol=ATOL, rtol=0)


def test_bf16_load(tmp_path):
    theirs, _ = pair(tmp_path)
    ours = ASTForAudioClassification.from_pretrained(tmp_path, torch_dtype=torch.bfloat16)
    assert ours.dtype == torch.bfloat16 and all(p.dtype == torch.bfloat16 for p in ours.parameters())
    x = spectrograms()
    with torch.no_grad():
        low = ours(x).logits  # float32 features are cast to the model's dtype
        ref = theirs(x).logits
    assert low.dtype == torch.bfloat16
    assert_close(low.float(), ref, atol=0.15, rtol=0.1)


def test_autocast_bf16_close_to_fp32(clf_dir):
    ours = ASTForAudioClassification.from_pretrained(clf_dir)
    x = spectrograms()
    with torch.no_grad():
        ref = ours(x).logits
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = ours(x).logits  # the fused fp32 kernel must step aside for autocast
    assert low.dtype == torch.bfloat16
    assert_close(low.float(), ref, atol=0.15, rtol=0.1)


def test_auto_classes_dispatch(clf_dir):
    assert type(AutoConfig.from_pretrained(clf_dir)) is ASTConfig
    assert type(AutoModelForAudioClassification.from_pretrained(clf_dir)) is ASTForAudioClassification
    assert type(AutoModel.from_pretrained(clf_dir)) is ASTModel
    assert polymodal.ASTForAudioClassification is ASTForAudioClassification


# --------------------------------------------------------------------------- pipeline
def test_pipeline_matches_transformers(tmp_path):
    hf_model().save_pretrained(tmp_path)
    transformers.ASTFeatureExtractor(max_length=48, num_mel_bins=32).save_pretrained(tmp_path)
    ours = polymodal.pipeline("audio-classification", model=str(tmp_path))
    theirs = transformers.pipeline("audio-classification", model=str(tmp_path), device="cpu")
    rng = np.random.default_rng(0)
    for n in (3000, 16000):
        audio = (rng.standard_normal(n) * 0.1).astype(np.float32)
        a, b = ours(audio, top_k=4), theirs(audio.copy(), top_k=4)
        assert [r["label"] for r in a] == [r["label"] for r in b]
        np.testing.assert_allclose([r["score"] for r in a], [r["score"] for r in b], atol=1e-5)
    batch = ours([audio, audio[:5000]], top_k=2)
    assert len(batch) == 2 and batch[0] == ours(audio, top_k=2)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad, words", [
    (torch.randn(2, 40, 32), "(batch, max_length=48, num_mel_bins=32)"),
    (torch.randn(2, 32, 48), "transpose(1, 2)"),
    (torch.randn(48, 32), "input_values[None]"),
    (torch.randn(2, 16000), "raw audio"),
    (torch.zeros(2, 48, 32, dtype=torch.long), "floating-point"),
    (np.zeros((2, 48, 32), dtype=np.float32), "torch.Tensor"),
    (torch.randn(0, 48, 32), "got (0, 48, 32)"),
])
def test_bad_input_values(clf_dir, bad, words):
    ours = ASTForAudioClassification.from_pretrained(clf_dir)
    with pytest.raises(InvalidInputError) as info:
        ours(bad)
    assert words in str(info.value)


def test_bad_mask_and_labels(clf_dir):
    ours = ASTForAudioClassification.from_pretrained(clf_dir)
    x = spectrograms(2)
    with pytest.raises(InvalidInputError, match="attention_mask"):
        ours(x, attention_mask=torch.ones(2, 48))
    with pytest.raises(InvalidInputError, match="num_labels=4"):
        ours(x, labels=torch.tensor([1, 7]))
    ours.config.problem_type = "multi_label_classification"
    with pytest.raises(InvalidInputError, match="logits' shape"):
        ours(x, labels=torch.tensor([1.0, 0.0]))
