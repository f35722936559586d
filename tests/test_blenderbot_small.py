"""Blenderbot-Small against Transformers on tiny random checkpoints (issue 16).

Its decoder embeds differently from BART's (layer norm before the positions, no embedding
scale), so every test runs with ``scale_embedding`` on and off.
"""

from __future__ import annotations

import pytest
import torch
import transformers
from seq2seq_helpers import assert_outputs_close, incremental_logits, padded_batch

from polymodal.models.blenderbot_small.modeling import (
    BlenderbotSmallForConditionalGeneration,
    BlenderbotSmallModel,
)

TINY = {"vocab_size": 99, "d_model": 32, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 4,
        "decoder_attention_heads": 4, "encoder_ffn_dim": 37, "decoder_ffn_dim": 37, "max_position_embeddings": 40}


@pytest.fixture(scope="module", params=[True, False], ids=["scaled", "unscaled"])
def checkpoint(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("blenderbot_small")
    torch.manual_seed(0)
    config = transformers.BlenderbotSmallConfig(**TINY, scale_embedding=request.param)
    model = transformers.BlenderbotSmallForConditionalGeneration(config)
    with torch.no_grad():  # non-trivial norms and logits bias, so a misplaced one shows
        for name, param in model.named_parameters():
            if "layernorm" in name or "layer_norm" in name:
                param.add_(torch.randn_like(param) * 0.3)
        model.final_logits_bias.normal_(0, 0.5)
    model.save_pretrained(path)
    return path


def test_forward_matches_transformers(checkpoint):
    pairs = ((transformers.BlenderbotSmallForConditionalGeneration, BlenderbotSmallForConditionalGeneration),
             (transformers.BlenderbotSmallModel, BlenderbotSmallModel))
    for hf_cls, ours_cls in pairs:
        theirs = hf_cls.from_pretrained(checkpoint, attn_implementation="eager").eval()
        ours = ours_cls.from_pretrained(checkpoint)
        ids, mask, labels = padded_batch(theirs.config.pad_token_id)
        kwargs = {"output_hidden_states": True, "output_attentions": True, "attention_mask": mask}
        kwargs.update({"labels": labels} if ours_cls is BlenderbotSmallForConditionalGeneration
                      else {"decoder_input_ids": labels})
        with torch.no_grad():
            assert_outputs_close(ours(ids, **kwargs), theirs(ids, **kwargs))


def test_without_attention_mask_and_with_embeds(checkpoint):
    theirs = transformers.BlenderbotSmallForConditionalGeneration.from_pretrained(checkpoint).eval()
    ours = BlenderbotSmallForConditionalGeneration.from_pretrained(checkpoint)
    ids, _, labels = padded_batch(0)
    embeds = torch.randn(3, 9, 32)
    with torch.no_grad():
        assert_outputs_close(ours(ids, decoder_input_ids=labels), theirs(ids, decoder_input_ids=labels))
        assert_outputs_close(ours(inputs_embeds=embeds, decoder_inputs_embeds=embeds[:, :4]),
                             theirs(inputs_embeds=embeds, decoder_inputs_embeds=embeds[:, :4]))


def test_cache_and_padding(checkpoint):
    ours = BlenderbotSmallForConditionalGeneration.from_pretrained(checkpoint)
    ids, mask, labels = padded_batch(ours.config.pad_token_id)
    with torch.no_grad():
        full = ours(ids, attention_mask=mask, decoder_input_ids=labels, use_cache=False).logits
        encoded = ours.get_encoder()(ids, mask)
        stepped = incremental_logits(ours, encoded, labels, split=2, attention_mask=mask)
        alone = ours(ids[2:, :3], decoder_input_ids=labels[2:]).logits
    torch.testing.assert_close(stepped, full, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(full[2:], alone, atol=1e-5, rtol=1e-4)


def test_training_loss_and_gradients_match(checkpoint):
    theirs = transformers.BlenderbotSmallForConditionalGeneration.from_pretrained(checkpoint, dropout=0.0).train()
    ours = BlenderbotSmallForConditionalGeneration.from_pretrained(checkpoint, dropout=0.0).train()
    ids, mask, labels = padded_batch(ours.config.pad_token_id)
    labels[0, 4:] = -100
    a = theirs(ids, attention_mask=mask, labels=labels)
    b = ours(ids, attention_mask=mask, labels=labels)
    a.loss.backward()
    b.loss.backward()
    torch.testing.assert_close(b.loss, a.loss, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.model.shared.weight.grad, theirs.model.shared.weight.grad, atol=1e-5, rtol=1e-4)
    ours_ln = ours.model.decoder.layernorm_embedding.weight.grad
    torch.testing.assert_close(ours_ln, theirs.model.decoder.layernorm_embedding.weight.grad, atol=1e-5, rtol=1e-4)


def test_polymodal_save_loads_in_transformers(checkpoint, tmp_path):
    ours = BlenderbotSmallForConditionalGeneration.from_pretrained(checkpoint)
    assert ours.lm_head.weight is ours.model.shared.weight is ours.model.decoder.embed_tokens.weight
    ours.save_pretrained(tmp_path)
    theirs = transformers.BlenderbotSmallForConditionalGeneration.from_pretrained(tmp_path).eval()
    ids, mask, labels = padded_batch(ours.config.pad_token_id)
    with torch.no_grad():
        torch.testing.assert_close(ours(ids, attention_mask=mask, decoder_input_ids=labels).logits,
                                   theirs(ids, attention_mask=mask, decoder_input_ids=labels).logits,
                                   atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("kwargs", [{"min_new_tokens": 8, "max_new_tokens": 10},
                                    {"num_beams": 3, "num_return_sequences": 2, "max_new_tokens": 8},
                                    {"num_beams": 2, "no_repeat_ngram_size": 2, "min_new_tokens": 5,
                                     "max_new_tokens": 8}])
def test_generate_token_exact(checkpoint, kwargs):
    theirs = transformers.BlenderbotSmallForConditionalGeneration.from_pretrained(checkpoint).eval()
    ours = BlenderbotSmallForConditionalGeneration.from_pretrained(checkpoint)
    ids, mask, _ = padded_batch(ours.config.pad_token_id)
    assert torch.equal(ours.generate(ids, attention_mask=mask, **kwargs),
                       theirs.generate(ids, attention_mask=mask, **kwargs))


def test_clear_errors(checkpoint):
    ours = BlenderbotSmallModel.from_pretrained(checkpoint)
    with pytest.raises(ValueError, match="decoder_input_ids"):
        ours(torch.ones(1, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="max_position_embeddings=40"):
        ours(torch.ones(1, 41, dtype=torch.long), decoder_input_ids=torch.ones(1, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="max_position_embeddings=40"):
        ours(torch.ones(1, 4, dtype=torch.long), decoder_input_ids=torch.ones(1, 41, dtype=torch.long))


def test_blenderbot_model_needs_decoder_inputs():
    from polymodal.models.blenderbot.configuration import BlenderbotConfig
    from polymodal.models.blenderbot.modeling import BlenderbotModel

    config = BlenderbotConfig(vocab_size=99, d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=4,
                              decoder_attention_heads=4, encoder_ffn_dim=32, decoder_ffn_dim=32,
                              max_position_embeddings=64)
    with pytest.raises(ValueError, match="decoder_start_token_id=1"):  # Transformers fails here too
        BlenderbotModel(config)(torch.ones(1, 4, dtype=torch.long))


def test_auto_classes(checkpoint):
    import polymodal
    from polymodal.models.blenderbot_small.modeling import BlenderbotSmallForCausalLM

    assert isinstance(polymodal.AutoModelForCausalLM.from_pretrained(checkpoint), BlenderbotSmallForCausalLM)
    assert isinstance(polymodal.AutoModelForSeq2SeqLM.from_pretrained(checkpoint),
                      BlenderbotSmallForConditionalGeneration)
    assert isinstance(polymodal.AutoModel.from_pretrained(checkpoint), BlenderbotSmallModel)
    assert type(polymodal.AutoConfig.from_pretrained(checkpoint)).__name__ == "BlenderbotSmallConfig"


def test_causal_lm_matches_transformers(checkpoint, tmp_path):
    from polymodal.models.blenderbot_small.modeling import BlenderbotSmallForCausalLM

    torch.manual_seed(0)
    hf = transformers.BlenderbotSmallForCausalLM(transformers.BlenderbotSmallConfig(**TINY)).eval()
    hf.save_pretrained(tmp_path)
    ours = BlenderbotSmallForCausalLM.from_pretrained(tmp_path)
    assert ours.lm_head.weight is ours.model.decoder.embed_tokens.weight
    ids, mask, _ = padded_batch(0)
    labels = ids.masked_fill(mask == 0, -100)
    states = torch.randn(3, 5, 32)
    with torch.no_grad():
        for kwargs in ({"attention_mask": mask, "labels": labels}, {"encoder_hidden_states": states}):
            assert_outputs_close(ours(ids, output_hidden_states=True, **kwargs),
                                 hf(ids, output_hidden_states=True, **kwargs))
        prefix = ours(ids[:, :5], use_cache=True)
        step = ours(ids[:, 5:], past_key_values=prefix.past_key_values)
        torch.testing.assert_close(step.logits, ours(ids).logits[:, 5:], atol=1e-5, rtol=1e-4)
    prompt = ids[:1, :4]
    assert torch.equal(ours.generate(prompt, max_new_tokens=6), hf.generate(prompt, max_new_tokens=6))
    # The decoder of a full seq2seq checkpoint loads as well.
    from_seq2seq = BlenderbotSmallForCausalLM.from_pretrained(checkpoint)
    seq2seq = BlenderbotSmallForConditionalGeneration.from_pretrained(checkpoint)
    torch.testing.assert_close(from_seq2seq.model.decoder.layers[0].fc1.weight, seq2seq.model.decoder.layers[0].fc1.weight)


def test_text2text_pipeline_equals_generate(tmp_path):
    from bert_generation_helpers import write_tiny_blenderbot_small

    from polymodal import AutoTokenizer, pipeline

    folder = write_tiny_blenderbot_small(tmp_path / "bb_small")
    texts = ["My friends are cool but they eat too many carbs.", "hello there!"]
    generator = pipeline("text2text-generation", model=str(folder))
    options = {"max_new_tokens": 6, "num_beams": 2, "bad_words_ids": [[0], [1], [3]]}  # no specials: real words
    got = generator(texts, **options)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    theirs = transformers.BlenderbotSmallForConditionalGeneration.from_pretrained(folder).eval()
    expected = [tokenizer.decode(theirs.generate(**tokenizer(t, return_tensors="pt"), **options)[0],
                                 skip_special_tokens=True) for t in texts]
    assert all(expected), expected
    assert [g[0]["generated_text"] if isinstance(g, list) else g["generated_text"] for g in got] == expected
