"""HuBERT and Data2Vec-Audio: parity with Transformers on tiny random checkpoints, both ways."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch
from wav2vec2_helpers import NO_DROPOUT, TINY, assert_close, padded_batch

from polymodal.core.errors import ConfigError, InvalidInputError
from polymodal.models.auto import AutoConfig, AutoModel, AutoModelForAudioClassification, AutoModelForCTC
from polymodal.models.data2vec_audio.configuration import Data2VecAudioConfig
from polymodal.models.data2vec_audio.modeling import (
    Data2VecAudioForCTC,
    Data2VecAudioForSequenceClassification,
    Data2VecAudioModel,
)
from polymodal.models.hubert.configuration import HubertConfig
from polymodal.models.hubert.modeling import HubertForCTC, HubertForSequenceClassification, HubertModel

transformers = pytest.importorskip("transformers")

OURS = {cls.__name__: cls for cls in (HubertModel, HubertForCTC, HubertForSequenceClassification, Data2VecAudioModel,
                                     Data2VecAudioForCTC, Data2VecAudioForSequenceClassification)}
# HuBERT variants: base (post-norm, group-norm conv), large (stable layer norm, layer-norm conv, no
# projection layer norm), and the batch-norm positional conv.
HUBERT_VARIANTS = {
    "base": dict(feat_extract_norm="group"),
    "large": dict(feat_extract_norm="layer", do_stable_layer_norm=True, feat_proj_layer_norm=False),
    "conv-bn": dict(feat_extract_norm="layer", conv_pos_batch_norm=True),
}
# An even kernel exercises the trimmed frame; two layers the stack.
DATA2VEC = dict(num_conv_pos_embeddings=2, conv_pos_kernel_size=4)


def hf_model(class_name: str, seed=0, **overrides):
    """A seeded Transformers model in eval mode with random norms, biases and running stats."""
    family = transformers.HubertConfig if class_name.startswith("Hubert") else transformers.Data2VecAudioConfig
    extra = {} if class_name.startswith("Hubert") else DATA2VEC
    torch.manual_seed(seed)
    model = getattr(transformers, class_name)(family(**{**TINY, **NO_DROPOUT, **extra, **overrides})).eval()
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point() and ("norm" in name or name.endswith("bias") or "masked_spec" in name):
                noise = torch.randn_like(tensor) * 0.5
                tensor.copy_(noise.abs() + 0.5 if name.endswith(("weight", "running_var")) else noise)
    return model


def pair(tmp_path, class_name, **overrides):
    theirs = hf_model(class_name, **overrides)
    theirs.save_pretrained(tmp_path / "hf")
    ours, info = OURS[class_name].from_pretrained(tmp_path / "hf", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    return theirs, ours


def compare(theirs, ours, key, **inputs):
    with torch.no_grad():
        a = theirs(**inputs, output_hidden_states=True)
        b = ours(**inputs, output_hidden_states=True)
    assert_close(b[key], a[key], msg=key)
    assert len(a.hidden_states) == len(b.hidden_states)
    for i, (x, y) in enumerate(zip(a.hidden_states, b.hidden_states)):
        assert_close(y, x, msg=f"hidden_states[{i}]")
    return a, b


# --------------------------------------------------------------------------- configs
@pytest.mark.parametrize("ours, theirs", [(HubertConfig, "HubertConfig"), (Data2VecAudioConfig, "Data2VecAudioConfig")])
def test_config_defaults_and_round_trip(tmp_path, ours, theirs):
    reference = getattr(transformers, theirs)().to_dict()
    mine = ours().to_dict()
    for key, value in mine.items():
        if key in reference and key not in ("id2label", "tie_word_embeddings"):
            expected = list(reference[key]) if isinstance(reference[key], tuple) else reference[key]
            assert value == expected, key
    getattr(transformers, theirs)(**TINY, mask_time_prob=0.3, custom_key=5).save_pretrained(tmp_path)
    loaded = ours.from_pretrained(tmp_path)
    assert loaded.mask_time_prob == 0.3 and loaded.custom_key == 5 and loaded.conv_dim == [16, 16, 16]
    loaded.save_pretrained(tmp_path / "back")
    again = getattr(transformers, theirs).from_pretrained(tmp_path / "back")
    assert again.to_dict()["conv_dim"] == [16, 16, 16] and again.num_feat_extract_layers == 3


def test_config_fields_differ_from_wav2vec2_as_transformers():
    hubert, d2v = HubertConfig().to_dict(), Data2VecAudioConfig().to_dict()
    assert "feat_proj_layer_norm" in hubert and "codevector_dim" not in hubert and "add_adapter" not in hubert
    assert "feat_extract_norm" not in d2v and "do_stable_layer_norm" not in d2v and "conv_pos_kernel_size" in d2v


def test_config_validation_names_the_field():
    with pytest.raises(ConfigError, match="conv_stride"):
        HubertConfig(conv_dim=(8, 8), conv_stride=(5,), conv_kernel=(10, 3))
    with pytest.raises(ConfigError, match="conv_pos_kernel_size"):
        Data2VecAudioConfig(conv_pos_kernel_size=0)


# --------------------------------------------------------------------------- parity
@pytest.mark.parametrize("variant", list(HUBERT_VARIANTS))
def test_hubert_base_model_parity_padded(tmp_path, variant):
    theirs, ours = pair(tmp_path, "HubertModel", **HUBERT_VARIANTS[variant])
    x, mask = padded_batch()
    with pytest.warns(UserWarning) if variant == "base" else contextlib.nullcontext():
        a, b = compare(theirs, ours, "last_hidden_state", input_values=x, attention_mask=mask)
    assert set(b.keys()) == set(a.keys())  # no extract_features on HuBERT


def test_data2vec_base_model_parity_padded(tmp_path):
    theirs, ours = pair(tmp_path, "Data2VecAudioModel")
    x, mask = padded_batch()
    a, b = compare(theirs, ours, "last_hidden_state", input_values=x, attention_mask=mask)
    assert_close(b.extract_features, a.extract_features, msg="extract_features")


@pytest.mark.parametrize("class_name, extra", [
    ("HubertForCTC", HUBERT_VARIANTS["large"]), ("HubertForSequenceClassification", HUBERT_VARIANTS["conv-bn"]),
    ("Data2VecAudioForCTC", {}), ("Data2VecAudioForSequenceClassification", {}),
])
def test_heads_logits_hidden_states_and_loss(tmp_path, class_name, extra):
    theirs, ours = pair(tmp_path, class_name, **extra)
    x, mask = padded_batch()
    if class_name.endswith("CTC"):
        labels = torch.tensor([[5, 6, 7, 6], [3, 4, -100, -100]])
    else:
        labels = torch.tensor([2, 0])
    with torch.no_grad():
        a = theirs(x, attention_mask=mask, labels=labels, output_hidden_states=True)
        b = ours(x, attention_mask=mask, labels=labels, output_hidden_states=True)
    assert_close(b.logits, a.logits, msg="logits")
    assert_close(b.loss, a.loss, msg="loss")
    for i, (p, q) in enumerate(zip(a.hidden_states, b.hidden_states)):
        assert_close(q, p, msg=f"hidden_states[{i}]")


@pytest.mark.parametrize("class_name", ["HubertForSequenceClassification", "Data2VecAudioForSequenceClassification"])
def test_weighted_layer_sum_and_gradients(tmp_path, class_name):
    theirs, ours = pair(tmp_path, class_name, use_weighted_layer_sum=True)
    x, mask = padded_batch((1600, 1600))
    labels = torch.tensor([1, 2])
    loss_a = theirs(x, attention_mask=mask, labels=labels).loss
    loss_b = ours(x, attention_mask=mask, labels=labels).loss
    assert_close(loss_b, loss_a, msg="loss")
    loss_a.backward()
    loss_b.backward()
    grads_a = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():  # same parameter names in both libraries
        assert_close(param.grad, grads_a[name].grad, atol=1e-4, msg=f"grad {name}")


def test_return_dict_false_gives_tuple(tmp_path):
    theirs, ours = pair(tmp_path, "Data2VecAudioForCTC")
    x, _ = padded_batch((1600, 1600))
    with torch.no_grad():
        assert_close(ours(x, return_dict=False)[0], theirs(x, return_dict=False)[0])


# --------------------------------------------------------------------------- files, both directions
@pytest.mark.parametrize("class_name, extra", [
    ("HubertForCTC", HUBERT_VARIANTS["conv-bn"]), ("Data2VecAudioForSequenceClassification", {}),
])
def test_polymodal_saves_transformers_loads(tmp_path, class_name, extra):
    _, ours = pair(tmp_path, class_name, **extra)
    ours.save_pretrained(tmp_path / "ours")
    theirs, info = getattr(transformers, class_name).from_pretrained(tmp_path / "ours", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    x, mask = padded_batch()
    with torch.no_grad():
        assert_close(ours(x, attention_mask=mask).logits, theirs.eval()(x, attention_mask=mask).logits)


def test_base_checkpoint_into_head_and_back(tmp_path):
    theirs = hf_model("HubertModel", **HUBERT_VARIANTS["large"])
    theirs.save_pretrained(tmp_path)
    head, info = HubertForCTC.from_pretrained(tmp_path, output_loading_info=True)
    assert set(info["missing_keys"]) == {"lm_head.weight", "lm_head.bias"}
    x, _ = padded_batch((1600, 1600))
    with torch.no_grad():
        assert_close(head.hubert(x).last_hidden_state, theirs(x).last_hidden_state)
    head.save_pretrained(tmp_path / "head")
    base = HubertModel.from_pretrained(tmp_path / "head")
    with torch.no_grad():
        assert_close(base(x).last_hidden_state, theirs(x).last_hidden_state)


def test_fresh_models_build_and_run():
    for cls, cfg in [(HubertForCTC, HubertConfig(**TINY, conv_pos_batch_norm=True)),
                     (Data2VecAudioForSequenceClassification, Data2VecAudioConfig(**{**TINY, **DATA2VEC}))]:
        model = cls(cfg).eval()
        with torch.no_grad():
            out = model(torch.randn(1, 1600))
        assert torch.isfinite(out.logits).all()
    model = Data2VecAudioForCTC(Data2VecAudioConfig(**TINY, add_adapter=True, num_adapter_layers=1,
                                                    output_hidden_size=24))
    assert model.lm_head.in_features == 24


# --------------------------------------------------------------------------- auto, pipeline, errors
def test_auto_dispatch(tmp_path):
    for prefix, extra in [("Hubert", HUBERT_VARIANTS["large"]), ("Data2VecAudio", {})]:
        folder = tmp_path / prefix
        hf_model(f"{prefix}ForCTC", **extra).save_pretrained(folder)
        assert type(AutoConfig.from_pretrained(folder)).__name__ == f"{prefix}Config"
        assert type(AutoModel.from_pretrained(folder)).__name__ == f"{prefix}Model"
        assert type(AutoModelForCTC.from_pretrained(folder)).__name__ == f"{prefix}ForCTC"
        head = AutoModelForAudioClassification.from_pretrained(folder)
        assert type(head).__name__ == f"{prefix}ForSequenceClassification"


def test_audio_classification_pipeline(tmp_path):
    from polymodal import pipeline

    labels = ["yes", "no", "stop"]
    id2label = dict(enumerate(labels))
    theirs = hf_model("Data2VecAudioForSequenceClassification", id2label=id2label,
                      label2id={v: k for k, v in id2label.items()})
    theirs.save_pretrained(tmp_path)
    transformers.Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(tmp_path)
    audio = np.random.default_rng(0).standard_normal(4000).astype(np.float32) * 0.1
    ours = pipeline("audio-classification", model=str(tmp_path))
    reference = transformers.pipeline("audio-classification", model=str(tmp_path))
    got, expected = ours(audio, top_k=3), reference(audio, top_k=3)
    assert [g["label"] for g in got] == [e["label"] for e in expected]
    np.testing.assert_allclose([g["score"] for g in got], [e["score"] for e in expected], atol=1e-5)


def test_bad_input_is_clear(tmp_path):
    _, ours = pair(tmp_path, "HubertForSequenceClassification", **HUBERT_VARIANTS["large"])
    with pytest.raises(InvalidInputError, match="input_values"):
        ours(torch.randn(1, 2, 1600))
    with pytest.raises(InvalidInputError, match="samples"):
        ours(torch.randn(1, 10))
    with pytest.raises(ConfigError, match="vocab_size"):
        HubertForCTC(HubertConfig(**{**TINY, "vocab_size": None}))
    with pytest.raises(ConfigError, match="add_adapter"):
        Data2VecAudioForSequenceClassification(Data2VecAudioConfig(**TINY, add_adapter=True))



def test_data2vec_padding_reaches_mostly_the_last_frames(tmp_path):
    # The conv stack has layer norm, so padding changes nothing there; but only the input of the
    # first positional conv is masked, so later ones read a few padded frames (as in Transformers),
    # and attention then spreads a trace of that to the other frames.
    _, ours = pair(tmp_path, "Data2VecAudioForCTC")
    x, mask = padded_batch((1600, 1100))
    with torch.no_grad():
        batched = ours(x, attention_mask=mask).logits
        alone = ours(x[1:, :1100]).logits
    kernel, layers = DATA2VEC["conv_pos_kernel_size"], DATA2VEC["num_conv_pos_embeddings"]
    reach = (layers - 1) * (kernel - 1 - kernel // 2)  # frames right of the clip each conv reads, summed
    diff = (batched[1, :alone.shape[1]] - alone[0]).abs().amax(-1)  # (T,)
    assert diff[:-reach].max() < 1e-4 < diff[-reach:].max()


def test_speech_recognition_pipeline_with_hubert(tmp_path):
    import json

    from polymodal import pipeline

    chars = ["<pad>", "<s>", "</s>", "<unk>", "|", "a", "b", "c", "d", "e", "h", "l"]
    (tmp_path / "vocab.json").write_text(json.dumps({c: i for i, c in enumerate(chars)}))
    tokenizer = transformers.Wav2Vec2CTCTokenizer(str(tmp_path / "vocab.json"))
    extractor = transformers.Wav2Vec2FeatureExtractor(return_attention_mask=True)
    transformers.Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(tmp_path)
    model = hf_model("HubertForCTC", **HUBERT_VARIANTS["large"])
    with torch.no_grad():
        model.lm_head.weight.mul_(8.0)  # a random model that emits varied, non-blank text
    model.save_pretrained(tmp_path)
    audio = np.random.default_rng(1).standard_normal(6000).astype(np.float32) * 0.1
    got = pipeline("automatic-speech-recognition", model=str(tmp_path))(audio)
    expected = transformers.pipeline("automatic-speech-recognition", model=str(tmp_path))(audio)
    assert got["text"] == expected["text"] and got["text"]
