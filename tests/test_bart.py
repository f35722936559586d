"""BART-family encoder-decoders (BART, Blenderbot) against Transformers on tiny random checkpoints."""

from __future__ import annotations

import pytest
import torch
import transformers
from seq2seq_helpers import assert_outputs_close, incremental_logits, padded_batch

from polymodal.models.bart.modeling import BartForConditionalGeneration, BartModel
from polymodal.models.blenderbot.modeling import BlenderbotForConditionalGeneration, BlenderbotModel

TINY = {"vocab_size": 99, "d_model": 32, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 4,
        "decoder_attention_heads": 4, "encoder_ffn_dim": 37, "decoder_ffn_dim": 37, "max_position_embeddings": 40}
FAMILIES = {
    "bart": (transformers.BartConfig, transformers.BartForConditionalGeneration, transformers.BartModel,
             BartForConditionalGeneration, BartModel, {}),
    "blenderbot": (transformers.BlenderbotConfig, transformers.BlenderbotForConditionalGeneration,
                   transformers.BlenderbotModel, BlenderbotForConditionalGeneration, BlenderbotModel,
                   {"scale_embedding": True}),
}


def _family_dir(tmp_path_factory, name):
    hf_config, hf_lm, _, _, _, extra = FAMILIES[name]
    path = tmp_path_factory.mktemp(name)
    torch.manual_seed(0)
    hf_lm(hf_config(**TINY, **extra)).save_pretrained(path)
    return path


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request, tmp_path_factory):
    return request.param, _family_dir(tmp_path_factory, request.param)


def test_forward_matches_transformers(family):
    name, path = family
    _, hf_lm, hf_base, ours_lm, ours_base, _ = FAMILIES[name]
    for hf_cls, ours_cls in ((hf_lm, ours_lm), (hf_base, ours_base)):
        theirs = hf_cls.from_pretrained(path, attn_implementation="eager").eval()
        ours = ours_cls.from_pretrained(path)
        ids, mask, labels = padded_batch(theirs.config.pad_token_id)
        kwargs = {"output_hidden_states": True, "output_attentions": True, "attention_mask": mask}
        kwargs.update({"labels": labels} if ours_cls is ours_lm else {"decoder_input_ids": labels})
        with torch.no_grad():
            assert_outputs_close(ours(ids, **kwargs), theirs(ids, **kwargs))
            if ours_cls is ours_base and name == "bart":  # BART only: decoder inputs default to the shifted ids
                assert_outputs_close(ours(ids, attention_mask=mask), theirs(ids, attention_mask=mask))


def test_cache_and_padding(family):
    name, path = family
    ours = FAMILIES[name][3].from_pretrained(path)
    ids, mask, labels = padded_batch(ours.config.pad_token_id)
    with torch.no_grad():
        full = ours(ids, attention_mask=mask, decoder_input_ids=labels, use_cache=False).logits
        encoded = ours.get_encoder()(ids, mask)
        stepped = incremental_logits(ours, encoded, labels, split=2, attention_mask=mask)
        alone = ours(ids[2:, :3], decoder_input_ids=labels[2:]).logits
    torch.testing.assert_close(stepped, full, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(full[2:], alone, atol=1e-5, rtol=1e-4)


def test_training_gradients_match(family):
    name, path = family
    # Dropout masks cannot match between implementations: compare with dropout off.
    theirs = FAMILIES[name][1].from_pretrained(path, dropout=0.0).train()
    ours = FAMILIES[name][3].from_pretrained(path, dropout=0.0).train()
    ids, mask, labels = padded_batch(ours.config.pad_token_id)
    labels[0, 4:] = -100
    a = theirs(ids, attention_mask=mask, labels=labels)
    b = ours(ids, attention_mask=mask, labels=labels)
    a.loss.backward()
    b.loss.backward()
    torch.testing.assert_close(b.loss, a.loss, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.model.shared.weight.grad, theirs.model.shared.weight.grad, atol=1e-5, rtol=1e-4)


def test_polymodal_save_loads_in_transformers(family, tmp_path):
    name, path = family
    ours = FAMILIES[name][3].from_pretrained(path)
    assert ours.lm_head.weight is ours.model.shared.weight is ours.model.encoder.embed_tokens.weight
    ours.save_pretrained(tmp_path)
    theirs = FAMILIES[name][1].from_pretrained(tmp_path).eval()
    ids, mask, labels = padded_batch(ours.config.pad_token_id)
    with torch.no_grad():
        torch.testing.assert_close(ours(ids, attention_mask=mask, decoder_input_ids=labels).logits,
                                   theirs(ids, attention_mask=mask, decoder_input_ids=labels).logits,
                                   atol=1e-5, rtol=1e-4)


def test_too_long_input_is_a_clear_error(family):
    name, path = family
    ours = FAMILIES[name][3].from_pretrained(path)
    with pytest.raises(ValueError, match="max_position_embeddings=40"):
        ours(torch.ones(1, 41, dtype=torch.long), decoder_input_ids=torch.ones(1, 2, dtype=torch.long))


@pytest.mark.parametrize("kwargs", [{"min_new_tokens": 8, "max_new_tokens": 10},
                                    {"num_beams": 3, "num_return_sequences": 2, "max_new_tokens": 8},
                                    {"num_beams": 2, "no_repeat_ngram_size": 2, "forced_bos_token_id": 0,
                                     "min_new_tokens": 5, "max_new_tokens": 8}])
def test_generate_token_exact(family, kwargs):
    name, path = family
    theirs = FAMILIES[name][1].from_pretrained(path).eval()
    ours = FAMILIES[name][3].from_pretrained(path)
    ids, mask, _ = padded_batch(ours.config.pad_token_id)
    assert torch.equal(ours.generate(ids, attention_mask=mask, **kwargs),
                       theirs.generate(ids, attention_mask=mask, **kwargs))


def test_auto_classes_pick_blenderbot(tmp_path):
    import polymodal

    config = transformers.BlenderbotConfig(vocab_size=99, d_model=16, encoder_layers=1, decoder_layers=1,
                                           encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=32,
                                           decoder_ffn_dim=32, max_position_embeddings=64)
    torch.manual_seed(0)
    theirs = transformers.BlenderbotForConditionalGeneration(config).eval()
    theirs.save_pretrained(tmp_path)
    ours = polymodal.AutoModelForSeq2SeqLM.from_pretrained(tmp_path).eval()
    assert isinstance(ours, BlenderbotForConditionalGeneration)
    assert isinstance(polymodal.AutoModel.from_pretrained(tmp_path), BlenderbotModel)
    ids = torch.randint(3, 99, (2, 7))
    with torch.no_grad():
        expected = theirs(input_ids=ids, decoder_input_ids=ids[:, :5]).logits
        assert torch.allclose(ours(input_ids=ids, decoder_input_ids=ids[:, :5]).logits, expected, atol=1e-5)
