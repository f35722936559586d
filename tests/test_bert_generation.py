"""BertGeneration and EncoderDecoderModel against Transformers on tiny random checkpoints (issue 16)."""

from __future__ import annotations

import pytest
import torch
import transformers
from bert_generation_helpers import write_tiny_bert
from seq2seq_helpers import assert_outputs_close

from polymodal.core.errors import ConfigError, InvalidInputError
from polymodal.models.bert_generation.modeling import BertGenerationDecoder, BertGenerationEncoder
from polymodal.models.encoder_decoder.modeling import EncoderDecoderModel

TINY = {"vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 37, "max_position_embeddings": 64, "pad_token_id": 0, "bos_token_id": 2,
        "eos_token_id": 1}
DECODER = {"is_decoder": True, "add_cross_attention": True}


def _hf_bertgen_pair(**extra):
    torch.manual_seed(0)
    encoder = transformers.BertGenerationEncoder(transformers.BertGenerationConfig(**TINY, **extra))
    decoder = transformers.BertGenerationDecoder(transformers.BertGenerationConfig(**TINY, **DECODER, **extra))
    model = transformers.EncoderDecoderModel(encoder=encoder, decoder=decoder)
    model.config.decoder_start_token_id, model.config.pad_token_id = 2, 0
    return model


@pytest.fixture(scope="module")
def bert2bert(tmp_path_factory):
    """A BertGeneration encoder-decoder saved by Transformers."""
    path = tmp_path_factory.mktemp("bertgen2bertgen")
    _hf_bertgen_pair().save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def bert_encoder_pair(tmp_path_factory):
    """BERT encoder (wider, so enc_to_dec_proj exists) + BertGeneration decoder, saved by Transformers."""
    path = tmp_path_factory.mktemp("bert2bertgen")
    torch.manual_seed(0)
    encoder = transformers.BertModel(transformers.BertConfig(vocab_size=99, hidden_size=48, num_hidden_layers=2,
                                                             num_attention_heads=4, intermediate_size=37,
                                                             max_position_embeddings=64))
    decoder = transformers.BertGenerationDecoder(transformers.BertGenerationConfig(**TINY, **DECODER))
    model = transformers.EncoderDecoderModel(encoder=encoder, decoder=decoder)
    model.config.decoder_start_token_id, model.config.pad_token_id = 2, 0
    model.save_pretrained(path)
    return path


def _batch():
    torch.manual_seed(1)
    ids = torch.randint(3, 99, (3, 9))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    mask[2, 3:] = 0
    labels = torch.randint(3, 99, (3, 6))
    labels[1, 4:] = -100
    return ids.masked_fill(mask == 0, 0), mask, labels


# ----------------------------------------------------------------------------- BertGeneration alone
def test_encoder_matches_transformers(tmp_path):
    torch.manual_seed(0)
    hf = transformers.BertGenerationEncoder(transformers.BertGenerationConfig(**TINY)).eval()
    hf.save_pretrained(tmp_path)
    ours = BertGenerationEncoder.from_pretrained(tmp_path)
    ids, mask, _ = _batch()
    with torch.no_grad():
        for kwargs in ({"attention_mask": mask}, {}):
            assert_outputs_close(ours(ids, output_hidden_states=True, output_attentions=True, **kwargs),
                                 hf(ids, output_hidden_states=True, output_attentions=True, **kwargs))


def test_bert_checkpoint_warm_starts_bertgeneration(tmp_path):
    """The model doc's Bert2Bert recipe: a BERT checkpoint read by BertGenerationEncoder/Decoder."""
    torch.manual_seed(0)
    bert = transformers.BertModel(transformers.BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2,
                                                          num_attention_heads=4, intermediate_size=37))
    bert.save_pretrained(tmp_path)
    theirs = transformers.BertGenerationDecoder.from_pretrained(tmp_path, **DECODER).eval()
    ours, report = BertGenerationDecoder.from_pretrained(tmp_path, **DECODER, output_loading_info=True)
    assert not report["unexpected_keys"], report["unexpected_keys"]
    torch.testing.assert_close(ours.bert.encoder.layer[1].output.dense.weight,
                               bert.encoder.layer[1].output.dense.weight)
    assert ours.config.is_decoder and ours.config.add_cross_attention
    theirs.load_state_dict(ours.state_dict())  # cross-attention starts random in both: use one draw
    ids, _, _ = _batch()
    states = torch.randn(3, 5, 32)
    with torch.no_grad():
        assert_outputs_close(ours(ids, encoder_hidden_states=states), theirs(ids, encoder_hidden_states=states))


def test_decoder_alone_logits_loss_cache_and_generate(tmp_path):
    torch.manual_seed(0)
    hf = transformers.BertGenerationDecoder(transformers.BertGenerationConfig(**TINY, is_decoder=True)).eval()
    hf.save_pretrained(tmp_path)
    ours = BertGenerationDecoder.from_pretrained(tmp_path)
    assert ours.lm_head.decoder.weight is ours.bert.embeddings.word_embeddings.weight
    ids, _, _ = _batch()
    labels = ids.clone()
    labels[0, :2] = -100
    with torch.no_grad():
        got = ours(ids, labels=labels, output_hidden_states=True, output_attentions=True)
        want = hf(ids, labels=labels, output_hidden_states=True, output_attentions=True)
        assert_outputs_close(got, want)
        prefix = ours(ids[:, :5], use_cache=True)
        step = ours(ids[:, 5:], past_key_values=prefix.past_key_values, use_cache=True)
    torch.testing.assert_close(step.logits, got.logits[:, 5:], atol=1e-5, rtol=1e-4)
    prompt = ids[:1, :4]
    assert torch.equal(ours.generate(prompt, max_new_tokens=6, do_sample=False),
                       hf.generate(prompt, max_new_tokens=6, do_sample=False))
    ours.save_pretrained(tmp_path / "saved")  # and back: Transformers reads what polymodal writes
    reread = transformers.BertGenerationDecoder.from_pretrained(tmp_path / "saved").eval()
    with torch.no_grad():
        torch.testing.assert_close(reread(ids).logits, got.logits, atol=1e-5, rtol=1e-4)
    left = ids[:2, :6].clone()
    left_mask = torch.ones_like(left)
    left[1, :2], left_mask[1, :2] = 0, 0  # a left-padded batch of prompts
    for beams in (1, 2):
        assert torch.equal(ours.generate(left, attention_mask=left_mask, max_new_tokens=5, num_beams=beams),
                           hf.generate(left, attention_mask=left_mask, max_new_tokens=5, num_beams=beams))


def test_decoder_without_cross_attention_refuses_encoder_states(tmp_path):
    ours = BertGenerationDecoder(transformers_free_config(is_decoder=True))
    with pytest.raises(InvalidInputError, match="add_cross_attention=True"):
        ours(torch.ones(1, 3, dtype=torch.long), encoder_hidden_states=torch.zeros(1, 2, 32))


def transformers_free_config(**extra):
    from polymodal.models.bert_generation.configuration import BertGenerationConfig

    return BertGenerationConfig(**TINY, **extra)


# ----------------------------------------------------------------------------- EncoderDecoderModel
def test_encoder_decoder_forward_and_loss_match(bert2bert):
    theirs = transformers.EncoderDecoderModel.from_pretrained(bert2bert).eval()
    ours = EncoderDecoderModel.from_pretrained(bert2bert)
    ids, mask, labels = _batch()
    kwargs = {"attention_mask": mask, "output_hidden_states": True, "output_attentions": True}
    with torch.no_grad():
        assert_outputs_close(ours(ids, labels=labels, **kwargs), theirs(ids, labels=labels, **kwargs))
        decoder_ids = labels.clamp(min=0)
        assert_outputs_close(ours(ids, decoder_input_ids=decoder_ids, **kwargs),
                             theirs(ids, decoder_input_ids=decoder_ids, **kwargs))
        assert_outputs_close(ours(ids, decoder_input_ids=decoder_ids), theirs(ids, decoder_input_ids=decoder_ids))


def test_encoder_decoder_training_gradients_match(tmp_path):
    # Dropout masks cannot match between implementations: compare in train mode with dropout off.
    _hf_bertgen_pair(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0).save_pretrained(tmp_path)
    theirs = transformers.EncoderDecoderModel.from_pretrained(tmp_path).train()
    ours = EncoderDecoderModel.from_pretrained(tmp_path).train()
    ids, mask, labels = _batch()
    a, b = theirs(ids, attention_mask=mask, labels=labels), ours(ids, attention_mask=mask, labels=labels)
    a.loss.backward()
    b.loss.backward()
    torch.testing.assert_close(b.loss, a.loss, atol=1e-5, rtol=1e-5)
    for name in ("decoder.bert.encoder.layer.0.crossattention.self.key.weight",
                 "encoder.embeddings.word_embeddings.weight", "decoder.lm_head.bias"):
        torch.testing.assert_close(ours.get_parameter(name).grad, theirs.get_parameter(name).grad,
                                   atol=1e-5, rtol=1e-4, msg=name)


@pytest.mark.parametrize("kwargs", [{"max_new_tokens": 8, "min_new_tokens": 8},
                                    {"num_beams": 3, "num_return_sequences": 2, "max_new_tokens": 7},
                                    {"num_beams": 2, "no_repeat_ngram_size": 2, "max_new_tokens": 6}])
def test_encoder_decoder_generate_token_exact(bert2bert, kwargs):
    theirs = transformers.EncoderDecoderModel.from_pretrained(bert2bert).eval()
    ours = EncoderDecoderModel.from_pretrained(bert2bert)
    ids, mask, _ = _batch()
    assert torch.equal(ours.generate(ids, attention_mask=mask, **kwargs),
                       theirs.generate(ids, attention_mask=mask, **kwargs))


def test_bert_encoder_with_bertgeneration_decoder(bert_encoder_pair):
    theirs = transformers.EncoderDecoderModel.from_pretrained(bert_encoder_pair).eval()
    ours = EncoderDecoderModel.from_pretrained(bert_encoder_pair)
    assert hasattr(ours, "enc_to_dec_proj")
    ids, mask, labels = _batch()
    with torch.no_grad():
        assert_outputs_close(ours(ids, attention_mask=mask, labels=labels),
                             theirs(ids, attention_mask=mask, labels=labels))
    assert torch.equal(ours.generate(ids, attention_mask=mask, num_beams=2, max_new_tokens=6),
                       theirs.generate(ids, attention_mask=mask, num_beams=2, max_new_tokens=6))


def test_polymodal_save_loads_in_transformers(bert_encoder_pair, tmp_path):
    ours = EncoderDecoderModel.from_pretrained(bert_encoder_pair)
    ours.save_pretrained(tmp_path)
    theirs = transformers.EncoderDecoderModel.from_pretrained(tmp_path).eval()
    again = EncoderDecoderModel.from_pretrained(tmp_path)
    ids, mask, labels = _batch()
    with torch.no_grad():
        expected = theirs(ids, attention_mask=mask, labels=labels)
        torch.testing.assert_close(ours(ids, attention_mask=mask, labels=labels).logits, expected.logits,
                                   atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(again(ids, attention_mask=mask, labels=labels).loss, expected.loss,
                                   atol=1e-5, rtol=1e-4)


def test_from_encoder_decoder_pretrained_and_parts(tmp_path):
    hf = _hf_bertgen_pair()
    hf.encoder.save_pretrained(tmp_path / "enc")
    hf.decoder.save_pretrained(tmp_path / "dec")
    theirs = transformers.EncoderDecoderModel.from_encoder_decoder_pretrained(tmp_path / "enc", tmp_path / "dec")
    theirs.config.decoder_start_token_id, theirs.config.pad_token_id = 2, 0
    theirs.eval()
    ours = EncoderDecoderModel.from_encoder_decoder_pretrained(tmp_path / "enc", tmp_path / "dec",
                                                               decoder_start_token_id=2, pad_token_id=0)
    assert isinstance(ours.encoder, BertGenerationEncoder) and isinstance(ours.decoder, BertGenerationDecoder)
    assert ours.config.decoder.is_decoder and ours.config.decoder.add_cross_attention
    ids, mask, labels = _batch()
    with torch.no_grad():
        assert_outputs_close(ours(ids, attention_mask=mask, labels=labels),
                             theirs(ids, attention_mask=mask, labels=labels))
    with pytest.raises(ConfigError, match="decoder_model="):  # BERT has no causal LM class here
        EncoderDecoderModel.from_encoder_decoder_pretrained(tmp_path / "enc", write_tiny_bert(tmp_path / "bert"))
    bert_decoder = BertGenerationDecoder.from_pretrained(tmp_path / "bert", **DECODER)
    paired = EncoderDecoderModel.from_encoder_decoder_pretrained(tmp_path / "enc", decoder_model=bert_decoder)
    assert paired.decoder is bert_decoder
    # Built from two parts in code, as the model doc does.
    joined = EncoderDecoderModel(encoder=ours.encoder, decoder=ours.decoder)
    assert joined.config.decoder.add_cross_attention


def test_auto_and_errors(bert2bert):
    import polymodal

    assert isinstance(polymodal.AutoModelForSeq2SeqLM.from_pretrained(bert2bert), EncoderDecoderModel)
    assert isinstance(polymodal.AutoModelForCausalLM.from_config(transformers_free_config(**DECODER)),
                      BertGenerationDecoder)
    with pytest.raises(ConfigError, match="encoder and a decoder"):
        EncoderDecoderModel()
    ours = EncoderDecoderModel.from_pretrained(bert2bert)
    with pytest.raises(ConfigError, match="LM head"):
        EncoderDecoderModel(encoder=ours.decoder, decoder=ours.decoder)
    from polymodal import BertConfig, BertModel

    bert = BertModel(BertConfig(**{k: v for k, v in TINY.items() if "token_id" not in k}))
    with pytest.raises(ConfigError, match="encoder hidden states"):
        EncoderDecoderModel(encoder=ours.encoder, decoder=bert)
    ours.config.decoder_start_token_id = None
    with pytest.raises(ValueError, match="decoder_start_token_id"):
        ours(torch.ones(1, 3, dtype=torch.long), labels=torch.ones(1, 3, dtype=torch.long))


def test_encoder_decoder_config_errors():
    from polymodal.models.encoder_decoder.configuration import EncoderDecoderConfig

    with pytest.raises(ConfigError, match="model_type"):
        EncoderDecoderConfig(encoder={"hidden_size": 32}, decoder={"model_type": "bert-generation"})
    with pytest.raises(ConfigError, match="Unknown model_type"):
        EncoderDecoderConfig(encoder={"model_type": "no-such-model"}, decoder={"model_type": "bert-generation"})
    with pytest.raises(InvalidInputError, match="encoder_pretrained_model_name_or_path"):
        EncoderDecoderModel.from_encoder_decoder_pretrained(None, None)
    with pytest.raises(ConfigError, match="is_decoder=True"):
        transformers_free_config(add_cross_attention=True)
    roberta = {"model_type": "roberta", **TINY}
    with pytest.raises(ConfigError, match="BertGenerationDecoder"):  # roberta2roberta: no RoBERTa decoder here
        EncoderDecoderConfig(encoder=roberta, decoder={**roberta, **DECODER})
    with pytest.raises(ConfigError, match="BertGenerationDecoder"):
        EncoderDecoderModel(EncoderDecoderConfig(encoder=roberta, decoder=roberta))


def test_encoder_outputs_and_embeds_inputs(bert2bert):
    theirs = transformers.EncoderDecoderModel.from_pretrained(bert2bert).eval()
    ours = EncoderDecoderModel.from_pretrained(bert2bert)
    ids, mask, labels = _batch()
    decoder_ids = labels.clamp(min=0)
    with torch.no_grad():
        encoded = ours.get_encoder()(ids, attention_mask=mask)
        from_tuple = ours(encoder_outputs=(encoded.last_hidden_state,), attention_mask=mask,
                          decoder_input_ids=decoder_ids)
        embeds = theirs.get_input_embeddings()(ids)
        assert_outputs_close(from_tuple, theirs(ids, attention_mask=mask, decoder_input_ids=decoder_ids))
        assert_outputs_close(ours(inputs_embeds=embeds, attention_mask=mask, decoder_input_ids=decoder_ids),
                             theirs(inputs_embeds=embeds, attention_mask=mask, decoder_input_ids=decoder_ids))


def test_gradient_checkpointing_gives_the_same_gradients(bert2bert):
    ids, mask, labels = _batch()
    grads = []
    for checkpointing in (False, True):
        model = EncoderDecoderModel.from_pretrained(bert2bert)
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
        for part in (model.config.encoder, model.config.decoder):
            part.attention_probs_dropout_prob = 0.0
        if checkpointing:
            model.gradient_checkpointing_enable()
        model.train()
        for module in model.modules():
            if hasattr(module, "dropout_p"):
                module.dropout_p = 0.0
        model(ids, attention_mask=mask, labels=labels).loss.backward()
        grads.append(model.decoder.bert.encoder.layer[0].crossattention.self.query.weight.grad)
    torch.testing.assert_close(grads[1], grads[0])
