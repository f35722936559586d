"""Whisper encoder-decoder against Transformers on tiny random checkpoints."""

from __future__ import annotations

import pytest
import torch
import transformers
from seq2seq_helpers import assert_outputs_close, incremental_logits

from polymodal.core.errors import ConfigError
from polymodal.models.whisper.configuration import WhisperConfig
from polymodal.models.whisper.modeling import (
    WhisperForConditionalGeneration,
    WhisperModel,
    sinusoids,
)

TINY = dict(  # noqa: C408 - keyword form reads like a config
    vocab_size=120, num_mel_bins=8, encoder_layers=2, decoder_layers=2, d_model=32,
    encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=48, decoder_ffn_dim=48,
    max_source_positions=30, max_target_positions=40, pad_token_id=0, bos_token_id=1, eos_token_id=2,
    decoder_start_token_id=3)


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("whisper")
    torch.manual_seed(0)
    transformers.WhisperForConditionalGeneration(transformers.WhisperConfig(**TINY)).save_pretrained(path)
    return path


def _inputs():
    torch.manual_seed(1)
    features = torch.randn(3, 8, 60)
    labels = torch.randint(4, 120, (3, 7))
    return features, labels


@pytest.mark.parametrize("ours_cls,hf_cls", [
    (WhisperForConditionalGeneration, transformers.WhisperForConditionalGeneration),
    (WhisperModel, transformers.WhisperModel),
])
def test_forward_matches_transformers(hf_dir, ours_cls, hf_cls):
    theirs = hf_cls.from_pretrained(hf_dir, attn_implementation="eager").eval()
    ours = ours_cls.from_pretrained(hf_dir)
    features, labels = _inputs()
    kwargs = {"output_hidden_states": True, "output_attentions": True}
    if ours_cls is WhisperForConditionalGeneration:
        kwargs["labels"] = labels
    else:
        kwargs["decoder_input_ids"] = labels
    with torch.no_grad():
        assert_outputs_close(ours(input_features=features, **kwargs), theirs(input_features=features, **kwargs))


def test_padded_decoder_batch(hf_dir):
    theirs = transformers.WhisperForConditionalGeneration.from_pretrained(hf_dir).eval()
    ours = WhisperForConditionalGeneration.from_pretrained(hf_dir)
    features, ids = _inputs()
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    with torch.no_grad():
        a = theirs(input_features=features, decoder_input_ids=ids, decoder_attention_mask=mask)
        b = ours(input_features=features, decoder_input_ids=ids, decoder_attention_mask=mask)
        alone = ours(input_features=features[1:2], decoder_input_ids=ids[1:2, :5])
    keep = mask.bool()
    torch.testing.assert_close(b.logits[keep], a.logits[keep], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(b.logits[1, :5], alone.logits[0], atol=1e-5, rtol=1e-4)


def test_cache_steps_equal_full_forward(hf_dir):
    ours = WhisperForConditionalGeneration.from_pretrained(hf_dir)
    features, ids = _inputs()
    with torch.no_grad():
        full = ours(input_features=features, decoder_input_ids=ids, use_cache=False).logits
        stepped = incremental_logits(ours, ours.get_encoder()(features), ids, split=3)
    torch.testing.assert_close(stepped, full, atol=1e-5, rtol=1e-4)


def test_training_loss_and_gradients_match(hf_dir):
    theirs = transformers.WhisperForConditionalGeneration.from_pretrained(hf_dir).train()
    ours = WhisperForConditionalGeneration.from_pretrained(hf_dir).train()
    features, labels = _inputs()
    labels[0, 5:] = -100
    a = theirs(input_features=features, labels=labels)
    b = ours(input_features=features, labels=labels)
    a.loss.backward()
    b.loss.backward()
    torch.testing.assert_close(b.loss, a.loss, atol=1e-5, rtol=1e-5)
    for name in ("model.encoder.conv1.weight", "model.decoder.embed_tokens.weight",
                 "model.decoder.layers.1.encoder_attn.k_proj.weight"):
        torch.testing.assert_close(ours.get_parameter(name).grad, theirs.get_parameter(name).grad,
                                   atol=1e-5, rtol=1e-4)


def test_polymodal_save_loads_in_transformers(tmp_path, hf_dir):
    ours = WhisperForConditionalGeneration.from_pretrained(hf_dir)
    ours.save_pretrained(tmp_path / "ours")
    theirs = transformers.WhisperForConditionalGeneration.from_pretrained(tmp_path / "ours").eval()
    assert theirs.proj_out.weight.data_ptr() == theirs.model.decoder.embed_tokens.weight.data_ptr()
    features, ids = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(ours(input_features=features, decoder_input_ids=ids).logits,
                                   theirs(input_features=features, decoder_input_ids=ids).logits, atol=1e-5, rtol=1e-4)


def test_tied_output_projection_and_fresh_init():
    model = WhisperForConditionalGeneration(WhisperConfig(**TINY))
    assert model.proj_out.weight is model.model.decoder.embed_tokens.weight
    torch.testing.assert_close(model.model.encoder.embed_positions.weight, sinusoids(30, 32))
    loaded_tuple = model.eval()(input_features=torch.zeros(1, 8, 60), decoder_input_ids=torch.tensor([[3]]),
                                return_dict=False)
    assert isinstance(loaded_tuple, tuple)


def test_bad_input_errors(hf_dir):
    ours = WhisperForConditionalGeneration.from_pretrained(hf_dir)
    ids = torch.tensor([[3]])
    with pytest.raises(ValueError, match="60 mel frames"):
        ours(input_features=torch.zeros(1, 8, 50), decoder_input_ids=ids)
    with pytest.raises(ValueError, match="num_mel_bins=8"):
        ours(input_features=torch.zeros(1, 80, 60), decoder_input_ids=ids)
    with pytest.raises(ValueError, match="max_target_positions=40"):
        ours(input_features=torch.zeros(1, 8, 60), decoder_input_ids=torch.ones(1, 41, dtype=torch.long))
    with pytest.raises(ConfigError, match="decoder_attention_heads"):
        WhisperConfig(d_model=30, decoder_attention_heads=4, encoder_attention_heads=3)
