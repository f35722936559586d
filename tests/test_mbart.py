"""mBART (the architecture of BARThez and BARTpho) against Transformers on a tiny random checkpoint."""

from __future__ import annotations

import pytest
import torch
import transformers
from seq2seq_helpers import assert_outputs_close, incremental_logits, padded_batch

import polymodal
from polymodal.models.mbart.modeling import MBartForConditionalGeneration, MBartModel, shift_tokens_right

TINY = {"vocab_size": 99, "d_model": 32, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 4,
        "decoder_attention_heads": 4, "encoder_ffn_dim": 37, "decoder_ffn_dim": 37, "max_position_embeddings": 40,
        "decoder_start_token_id": 2}


@pytest.fixture(scope="module")
def mbart_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("mbart")
    torch.manual_seed(0)
    transformers.MBartForConditionalGeneration(transformers.MBartConfig(**TINY)).save_pretrained(path)
    return path


def _batch(pad_id=1):
    ids, mask, labels = padded_batch(pad_id)
    labels[1, 4:] = pad_id  # a padded target: its language id is the last non-pad token
    return ids, mask, labels


def test_forward_matches_transformers(mbart_dir):
    pairs = ((transformers.MBartForConditionalGeneration, MBartForConditionalGeneration),
             (transformers.MBartModel, MBartModel))
    for hf_cls, ours_cls in pairs:
        theirs = hf_cls.from_pretrained(mbart_dir, attn_implementation="eager").eval()
        ours = ours_cls.from_pretrained(mbart_dir)
        ids, mask, labels = _batch()
        kwargs = {"output_hidden_states": True, "output_attentions": True, "attention_mask": mask}
        kwargs.update({"labels": labels} if ours_cls is MBartForConditionalGeneration else {"decoder_input_ids": labels})
        with torch.no_grad():
            assert_outputs_close(ours(ids, **kwargs), theirs(ids, **kwargs))
            # decoder inputs default to the shifted ids, language id first (mBART's own shift)
            assert_outputs_close(ours(ids, attention_mask=mask), theirs(ids, attention_mask=mask))


def test_shift_tokens_right_matches_transformers():
    from transformers.models.mbart.modeling_mbart import shift_tokens_right as theirs

    _, _, labels = _batch()
    labels[0, 3] = -100
    assert torch.equal(shift_tokens_right(labels, 1), theirs(labels, 1))
    with pytest.raises(ValueError, match="pad_token_id"):
        shift_tokens_right(labels, None)


def test_cache_and_gradients(mbart_dir):
    ours = MBartForConditionalGeneration.from_pretrained(mbart_dir)
    ids, mask, labels = _batch()
    with torch.no_grad():
        full = ours(ids, attention_mask=mask, decoder_input_ids=labels, use_cache=False).logits
        stepped = incremental_logits(ours, ours.get_encoder()(ids, mask), labels, split=2, attention_mask=mask)
    torch.testing.assert_close(stepped, full, atol=1e-5, rtol=1e-4)
    theirs = transformers.MBartForConditionalGeneration.from_pretrained(mbart_dir, dropout=0.0).train()
    ours = MBartForConditionalGeneration.from_pretrained(mbart_dir, dropout=0.0).train()
    labels[0, 4:] = -100
    a, b = theirs(ids, attention_mask=mask, labels=labels), ours(ids, attention_mask=mask, labels=labels)
    a.loss.backward()
    b.loss.backward()
    torch.testing.assert_close(b.loss, a.loss, atol=1e-5, rtol=1e-5)
    for name in ("model.shared.weight", "model.encoder.layer_norm.weight", "model.decoder.layers.0.fc1.weight"):
        torch.testing.assert_close(ours.get_parameter(name).grad, theirs.get_parameter(name).grad,
                                   atol=1e-5, rtol=1e-4, msg=name)


def test_save_loads_in_transformers_and_auto(mbart_dir, tmp_path):
    ours = polymodal.AutoModelForSeq2SeqLM.from_pretrained(mbart_dir)
    assert isinstance(ours, MBartForConditionalGeneration)
    assert isinstance(polymodal.AutoModel.from_pretrained(mbart_dir), MBartModel)
    ours.save_pretrained(tmp_path)
    theirs = transformers.MBartForConditionalGeneration.from_pretrained(tmp_path).eval()
    ids, mask, labels = _batch()
    with torch.no_grad():
        torch.testing.assert_close(ours(ids, attention_mask=mask, decoder_input_ids=labels).logits,
                                   theirs(ids, attention_mask=mask, decoder_input_ids=labels).logits,
                                   atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("kwargs", [{"max_new_tokens": 6}, {"num_beams": 3, "max_new_tokens": 6}])
def test_generate_token_exact(mbart_dir, kwargs):
    theirs = transformers.MBartForConditionalGeneration.from_pretrained(mbart_dir).eval()
    ours = MBartForConditionalGeneration.from_pretrained(mbart_dir)
    ids, mask, _ = _batch()
    assert torch.equal(ours.generate(ids, attention_mask=mask, **kwargs),
                       theirs.generate(ids, attention_mask=mask, **kwargs))


def test_barthez_checkpoint_end_to_end(tmp_path):
    """A BARThez-style folder (mBART weights + BarthezTokenizer files): polymodal's summarization
    pipeline writes what Transformers' generate + decode write."""
    from extra_tokenizer_files import write_barthez_files
    from tokenizers import processors

    write_barthez_files(tmp_path)
    tokenizer = transformers.BarthezTokenizer.from_pretrained(tmp_path)
    bos, eos = tokenizer.convert_tokens_to_ids("<s>"), tokenizer.convert_tokens_to_ids("</s>")
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", bos), ("</s>", eos)])
    tokenizer.save_pretrained(tmp_path)
    torch.manual_seed(0)
    config = transformers.MBartConfig(**{**TINY, "vocab_size": len(tokenizer), "decoder_start_token_id": eos},
                                      pad_token_id=tokenizer.pad_token_id, bos_token_id=bos, eos_token_id=eos)
    theirs = transformers.MBartForConditionalGeneration(config).eval()
    theirs.save_pretrained(tmp_path)
    texts = ["Le chat dort sur le canapé.", "Bonjour tout le monde, comment ça va ?"]
    summaries = polymodal.pipeline("summarization", model=str(tmp_path), max_new_tokens=6)(texts)
    batch = tokenizer(texts, return_tensors="pt", padding=True)
    with torch.no_grad():
        expected = tokenizer.batch_decode(theirs.generate(**batch, max_new_tokens=6), skip_special_tokens=True)
    assert [s["summary_text"] for s in summaries] == expected
