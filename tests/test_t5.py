"""T5 (original and v1.1 gated) against Transformers on tiny random checkpoints."""

from __future__ import annotations

import pytest
import torch
import transformers
from seq2seq_helpers import assert_outputs_close, incremental_logits

from polymodal.core.errors import ConfigError
from polymodal.models.t5.configuration import T5Config
from polymodal.models.t5.modeling import T5EncoderModel, T5ForConditionalGeneration, T5Model
from polymodal.nn.relative_position import relative_position_bucket

TINY = {"vocab_size": 99, "d_model": 32, "d_kv": 8, "d_ff": 37, "num_layers": 2, "num_decoder_layers": 3,
        "num_heads": 4, "relative_attention_num_buckets": 8, "relative_attention_max_distance": 20,
        "decoder_start_token_id": 0}
VARIANTS = {"t5": {}, "t5-v1.1": {"feed_forward_proj": "gated-gelu", "tie_word_embeddings": False}}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def t5_dir(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(request.param)
    torch.manual_seed(0)
    transformers.T5ForConditionalGeneration(transformers.T5Config(**TINY, **VARIANTS[request.param])).save_pretrained(path)
    return path


def _batch():
    torch.manual_seed(1)
    ids = torch.randint(2, 99, (3, 30))  # longer than max_distance: exercises the log buckets
    mask = torch.ones_like(ids)
    mask[1, 20:] = 0
    mask[2, 5:] = 0
    labels = torch.randint(2, 99, (3, 25))
    return ids.masked_fill(mask == 0, 0), mask, labels


@pytest.mark.parametrize("ours_cls,hf_name", [(T5ForConditionalGeneration, "T5ForConditionalGeneration"),
                                              (T5Model, "T5Model"), (T5EncoderModel, "T5EncoderModel")])
def test_forward_matches_transformers(t5_dir, ours_cls, hf_name):
    theirs = getattr(transformers, hf_name).from_pretrained(t5_dir, attn_implementation="eager").eval()
    ours = ours_cls.from_pretrained(t5_dir)
    ids, mask, labels = _batch()
    kwargs = {"attention_mask": mask, "output_hidden_states": True, "output_attentions": True}
    if ours_cls is T5ForConditionalGeneration:
        kwargs["labels"] = labels
    elif ours_cls is T5Model:
        kwargs["decoder_input_ids"] = labels
    with torch.no_grad():
        assert_outputs_close(ours(ids, **kwargs), theirs(ids, **kwargs))


def test_cache_padding_and_batch_independence(t5_dir):
    ours = T5ForConditionalGeneration.from_pretrained(t5_dir)
    ids, mask, labels = _batch()
    with torch.no_grad():
        full = ours(ids, attention_mask=mask, decoder_input_ids=labels, use_cache=False).logits
        stepped = incremental_logits(ours, ours.get_encoder()(ids, mask), labels, split=4, attention_mask=mask)
        alone = ours(ids[2:, :5], decoder_input_ids=labels[2:]).logits
    torch.testing.assert_close(stepped, full, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(full[2:], alone, atol=1e-5, rtol=1e-4)


def test_training_and_save_round_trip(t5_dir, tmp_path):
    theirs = transformers.T5ForConditionalGeneration.from_pretrained(t5_dir, dropout_rate=0.0).train()
    ours = T5ForConditionalGeneration.from_pretrained(t5_dir, dropout_rate=0.0).train()
    ids, mask, labels = _batch()
    labels[0, 10:] = -100
    a, b = theirs(ids, attention_mask=mask, labels=labels), ours(ids, attention_mask=mask, labels=labels)
    a.loss.backward()
    b.loss.backward()
    torch.testing.assert_close(b.loss, a.loss, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.shared.weight.grad, theirs.shared.weight.grad, atol=1e-5, rtol=1e-4)
    ours.eval().save_pretrained(tmp_path)
    reloaded = transformers.T5ForConditionalGeneration.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(ids, attention_mask=mask, labels=labels).logits,
                                   ours(ids, attention_mask=mask, labels=labels).logits, atol=1e-5, rtol=1e-4)


def test_relative_buckets_match_transformers():
    from transformers.models.t5.modeling_t5 import T5Attention

    distances = torch.arange(-300, 300)[None]
    for bidirectional in (True, False):
        theirs = T5Attention._relative_position_bucket(distances, bidirectional, 32, 128)
        torch.testing.assert_close(relative_position_bucket(distances, bidirectional, 32, 128), theirs)


def test_config_errors():
    with pytest.raises(ConfigError, match="feed_forward_proj"):
        T5Config(feed_forward_proj="fancy-gelu")
    assert T5Config(feed_forward_proj="gated-gelu").dense_act_fn == "gelu_new"
    assert T5Config().decoder_start_token_id == 0


@pytest.mark.parametrize("kwargs", [{"max_new_tokens": 10}, {"num_beams": 3, "max_new_tokens": 8, "length_penalty": 0.6}])
def test_generate_token_exact(tmp_path, kwargs):
    # Transformers' cache cannot generate with num_decoder_layers != num_layers: equal stacks here.
    torch.manual_seed(0)
    config = transformers.T5Config(**{**TINY, "num_decoder_layers": 2}, feed_forward_proj="gated-gelu")
    theirs = transformers.T5ForConditionalGeneration(config).eval()
    theirs.save_pretrained(tmp_path)
    ours = T5ForConditionalGeneration.from_pretrained(tmp_path)
    ids, mask, _ = _batch()
    assert torch.equal(ours.generate(ids, attention_mask=mask, **kwargs),
                       theirs.generate(ids, attention_mask=mask, **kwargs))
