"""BigBird-Pegasus against Transformers: block-sparse / full encoder, LM head, training, generation, saving.

The tiny config runs the encoder block-sparse: block_size=4 and 2 random blocks need more than
36 tokens; the batch has 61 (padded to 64 inside the encoder) with padded rows.
"""

from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")

from seq2seq_helpers import assert_outputs_close, incremental_logits  # noqa: E402

import polymodal  # noqa: E402
from polymodal.core.errors import ConfigError, InvalidInputError  # noqa: E402

TINY = {"vocab_size": 99, "d_model": 32, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 4,
        "decoder_attention_heads": 4, "encoder_ffn_dim": 37, "decoder_ffn_dim": 37, "max_position_embeddings": 128,
        "block_size": 4, "num_random_blocks": 2}
VARIANTS = {"block_sparse": {}, "original_full": {"attention_type": "original_full"},
            "sparse-with-bias": {"use_bias": True, "scale_embedding": False}}
LENGTH = 61


def _folder(tmp_path, **extra):
    torch.manual_seed(0)
    oracle = transformers.BigBirdPegasusForConditionalGeneration(transformers.BigBirdPegasusConfig(**TINY, **extra))
    with torch.no_grad():  # move norms and biases off their init
        for param in oracle.parameters():
            param.add_(torch.randn_like(param) * 0.05)
    oracle.save_pretrained(tmp_path / "hf")
    return tmp_path / "hf"


def _batch(length=LENGTH):
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(3, 99, (3, length), generator=gen)
    mask = torch.ones_like(ids)
    mask[1, length - 13:] = 0
    mask[2, length // 2:] = 0
    labels = torch.randint(3, 99, (3, 7), generator=gen)
    return ids.masked_fill(mask == 0, 0), mask, labels


@pytest.mark.parametrize("variant", VARIANTS)
def test_forward_matches_transformers(variant, tmp_path):
    folder = _folder(tmp_path, **VARIANTS[variant])
    for name in ("BigBirdPegasusForConditionalGeneration", "BigBirdPegasusModel"):
        theirs = getattr(transformers, name).from_pretrained(folder, attn_implementation="eager").eval()
        ours = getattr(polymodal, name).from_pretrained(folder).eval()
        ids, mask, labels = _batch()
        kwargs = {"output_hidden_states": True, "output_attentions": True, "attention_mask": mask}
        kwargs.update({"labels": labels} if name.endswith("Generation") else {"decoder_input_ids": labels})
        with torch.no_grad():
            a, b = ours(ids, **kwargs), theirs(ids, **kwargs)
            assert_outputs_close(a, b)
            padded = 61 if variant == "original_full" else 64  # block-sparse attends over the padded length
            assert len(a.encoder_attentions) == 2 and a.encoder_attentions[0].shape[-1] == padded
            assert_outputs_close(ours(ids, attention_mask=mask), theirs(ids, attention_mask=mask))  # shifted ids
    assert ours.encoder.attention_type == VARIANTS[variant].get("attention_type", "block_sparse")


def test_training_loss_and_gradients(tmp_path):
    folder = _folder(tmp_path)
    theirs = transformers.BigBirdPegasusForConditionalGeneration.from_pretrained(folder, dropout=0.0).train()
    ours = polymodal.BigBirdPegasusForConditionalGeneration.from_pretrained(folder, dropout=0.0).train()
    ids, mask, labels = _batch()
    labels[0, 4:] = -100
    a, b = theirs(ids, attention_mask=mask, labels=labels), ours(ids, attention_mask=mask, labels=labels)
    torch.testing.assert_close(b.loss, a.loss, atol=1e-5, rtol=1e-5)
    a.loss.backward()
    b.loss.backward()
    grads = dict(ours.named_parameters())
    for name, param in theirs.named_parameters():
        if param.grad is not None and name in grads:
            torch.testing.assert_close(grads[name].grad, param.grad, atol=1e-5, rtol=1e-4, msg=name)
    torch.testing.assert_close(ours.model.shared.weight.grad, theirs.model.shared.weight.grad, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("kwargs", [{"max_new_tokens": 8, "min_new_tokens": 6},
                                    {"num_beams": 3, "num_return_sequences": 2, "max_new_tokens": 8},
                                    {"num_beams": 2, "no_repeat_ngram_size": 2, "length_penalty": 0.6,
                                     "max_new_tokens": 6}])
def test_generate_token_exact(kwargs, tmp_path):
    folder = _folder(tmp_path)
    theirs = transformers.BigBirdPegasusForConditionalGeneration.from_pretrained(folder).eval()
    ours = polymodal.BigBirdPegasusForConditionalGeneration.from_pretrained(folder)
    ids, mask, _ = _batch()
    assert torch.equal(ours.generate(ids, attention_mask=mask, **kwargs),
                       theirs.generate(ids, attention_mask=mask, **kwargs))


def test_cache_save_and_fallback(tmp_path, caplog):
    folder = _folder(tmp_path)
    ours = polymodal.BigBirdPegasusForConditionalGeneration.from_pretrained(folder)
    ids, mask, labels = _batch()
    with torch.no_grad():
        full = ours(ids, attention_mask=mask, decoder_input_ids=labels, use_cache=False).logits
        stepped = incremental_logits(ours, ours.get_encoder()(ids, mask), labels, split=2, attention_mask=mask)
    torch.testing.assert_close(stepped, full, atol=1e-5, rtol=1e-4)
    # polymodal saves, Transformers loads
    assert ours.lm_head.weight is ours.model.shared.weight is ours.model.encoder.embed_tokens.weight
    ours.save_pretrained(tmp_path / "ours")
    theirs = transformers.BigBirdPegasusForConditionalGeneration.from_pretrained(tmp_path / "ours").eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(ids, attention_mask=mask, decoder_input_ids=labels).logits,
                                   theirs(ids, attention_mask=mask, decoder_input_ids=labels).logits,
                                   atol=1e-5, rtol=1e-4)
        # a 20-token input is too short for block-sparse: both switch their encoder to full attention for good
        short, short_mask, _ = _batch(20)
        torch.testing.assert_close(ours(short, attention_mask=short_mask, decoder_input_ids=labels).logits,
                                   theirs(short, attention_mask=short_mask, decoder_input_ids=labels).logits,
                                   atol=1e-5, rtol=1e-4)
        assert ours.model.encoder.attention_type == "original_full"
        torch.testing.assert_close(ours(ids, attention_mask=mask, decoder_input_ids=labels).logits,
                                   theirs(ids, attention_mask=mask, decoder_input_ids=labels).logits,
                                   atol=1e-5, rtol=1e-4)


def test_auto_classes_and_bad_input(tmp_path):
    folder = _folder(tmp_path)
    assert type(polymodal.AutoModelForSeq2SeqLM.from_pretrained(folder)).__name__ == \
        "BigBirdPegasusForConditionalGeneration"
    ours = polymodal.AutoModel.from_pretrained(folder)
    assert type(ours).__name__ == "BigBirdPegasusModel"
    with pytest.raises(InvalidInputError, match="max_position_embeddings=128"):
        ours(torch.ones(1, 129, dtype=torch.long), decoder_input_ids=torch.ones(1, 2, dtype=torch.long))
    with pytest.raises(ConfigError, match="attention_type"):
        polymodal.BigBirdPegasusConfig(attention_type="dense")


def _eos_batch():
    """The batch with exactly one </s> per row, on its last real token (the classifier reads it there)."""
    ids, mask, _ = _batch()
    ids = ids.masked_fill(ids == 1, 5)
    ids[torch.arange(3), mask.sum(1) - 1] = 1
    return ids, mask


@pytest.mark.parametrize("head", ["ForSequenceClassification", "ForQuestionAnswering"])
def test_classification_and_qa_heads(head, tmp_path):
    config = transformers.BigBirdPegasusConfig(**TINY, num_labels=3, dropout=0.0)
    torch.manual_seed(0)
    oracle = getattr(transformers, "BigBirdPegasus" + head)(config).eval()
    with torch.no_grad():
        for param in oracle.parameters():
            param.add_(torch.randn_like(param) * 0.05)
    oracle.save_pretrained(tmp_path / "hf")
    ours = getattr(polymodal, "BigBirdPegasus" + head).from_pretrained(tmp_path / "hf").eval()
    ids, mask = _eos_batch()
    if head == "ForSequenceClassification":
        labels, keys = {"labels": torch.tensor([0, 2, 1])}, ["logits"]
    else:
        labels, keys = {"start_positions": torch.tensor([3, 9, 70]), "end_positions": torch.tensor([5, 9, 70])}, [
            "start_logits", "end_logits"]
    with torch.no_grad():
        for extra in ({}, labels):
            a, b = ours(ids, attention_mask=mask, **extra), oracle(ids, attention_mask=mask, **extra)
            for key in keys + (["loss"] if extra else []):
                torch.testing.assert_close(a[key], b[key], atol=1e-5, rtol=1e-4, msg=key)
    ours.train()
    oracle.train()
    a, b = ours(ids, attention_mask=mask, **labels).loss, oracle(ids, attention_mask=mask, **labels).loss
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    a.backward()
    b.backward()
    torch.testing.assert_close(ours.model.shared.weight.grad, oracle.model.shared.weight.grad, atol=1e-5, rtol=1e-4)
    ours.eval().save_pretrained(tmp_path / "ours")
    back = getattr(transformers, "BigBirdPegasus" + head).from_pretrained(tmp_path / "ours").eval()
    with torch.no_grad():
        a, b = ours(ids, attention_mask=mask), back(ids, attention_mask=mask)
        for key in keys:
            torch.testing.assert_close(a[key], b[key], atol=1e-5, rtol=1e-4, msg=key)
    if head == "ForSequenceClassification":
        ids[0, 3] = 1  # a second </s> in one row only
        with pytest.raises(InvalidInputError, match="same number"):
            ours(ids, attention_mask=mask)


def test_causal_lm_matches_transformers(tmp_path):
    config = transformers.BigBirdPegasusConfig(**TINY, dropout=0.0)
    torch.manual_seed(0)
    oracle = transformers.BigBirdPegasusForCausalLM(config).eval()
    with torch.no_grad():
        for param in oracle.parameters():
            param.add_(torch.randn_like(param) * 0.05)
    oracle.save_pretrained(tmp_path / "hf")
    ours = polymodal.BigBirdPegasusForCausalLM.from_pretrained(tmp_path / "hf").eval()
    ids, mask, _ = _batch(12)
    labels = ids.masked_fill(mask == 0, -100)
    with torch.no_grad():
        a, b = ours(ids, attention_mask=mask, labels=labels), oracle(ids, attention_mask=mask, labels=labels)
        keep = mask.bool()
        torch.testing.assert_close(a.logits[keep], b.logits[keep], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(a.loss, b.loss, atol=1e-5, rtol=1e-4)
        for kwargs in ({"max_new_tokens": 6}, {"max_new_tokens": 5, "num_beams": 2}):
            assert torch.equal(ours.generate(ids[:1, :8], **kwargs), oracle.generate(ids[:1, :8], **kwargs))
    ours.save_pretrained(tmp_path / "ours")
    back = transformers.BigBirdPegasusForCausalLM.from_pretrained(tmp_path / "ours").eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(ids).logits, back(ids).logits, atol=1e-5, rtol=1e-4)
    assert type(polymodal.AutoModelForCausalLM.from_pretrained(tmp_path / "hf")).__name__ == "BigBirdPegasusForCausalLM"


# --------------------------------------------------------------------------- Pegasus's tokenizer
@pytest.fixture(scope="module")
def tokenizer_folders(tmp_path_factory):
    """A sentencepiece unigram model in Pegasus's layout (<pad> </s> <unk>), saved again by Transformers."""
    import io

    spm = pytest.importorskip("sentencepiece")
    from tokenizer_helpers import CORPUS

    legacy = tmp_path_factory.mktemp("pegasus-legacy")
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([s for s in CORPUS if s.strip()]), model_writer=model, vocab_size=300,
        model_type="unigram", hard_vocab_limit=False, character_coverage=1.0, minloglevel=2, pad_id=0, eos_id=1,
        unk_id=2, bos_id=-1)
    (legacy / "spiece.model").write_bytes(model.getvalue())
    as_json = tmp_path_factory.mktemp("pegasus-json")
    transformers.PegasusTokenizer.from_pretrained(str(legacy)).save_pretrained(str(as_json))
    return {"legacy": legacy, "json": as_json}


@pytest.mark.parametrize("source", ["legacy", "json"])
def test_pegasus_tokenizer(tokenizer_folders, source):
    from tokenizer_helpers import LONG_TEXT, SENTENCES

    folder = str(tokenizer_folders[source])
    ours, oracle = polymodal.PegasusTokenizer.from_pretrained(folder), transformers.PegasusTokenizer.from_pretrained(
        folder)
    assert ours.get_vocab() == oracle.get_vocab()
    assert ours.all_special_tokens == oracle.all_special_tokens
    assert (ours.unk_token_id, ours.mask_token_id, ours.eos_token_id) == (
        oracle.unk_token_id, oracle.mask_token_id, oracle.eos_token_id)
    texts = [*SENTENCES, LONG_TEXT, "two  spaces,\nnew line <mask_1> and <mask_2>"]
    options = dict(return_offsets_mapping=True, return_special_tokens_mask=True)
    a, b = ours(texts, **options), oracle(texts, **options)
    for key in b.keys():
        assert a[key] == b[key], key
    pairs = dict(truncation=True, max_length=20, padding="max_length", return_tensors="pt")
    a, b = ours(SENTENCES[:4], SENTENCES[4:8], **pairs), oracle(SENTENCES[:4], SENTENCES[4:8], **pairs)
    for key in b.keys():
        assert torch.equal(a[key], b[key]), key
    ids = oracle(texts)["input_ids"]
    assert ours.batch_decode(ids, skip_special_tokens=True) == oracle.batch_decode(ids, skip_special_tokens=True)
    if source == "json":
        assert type(polymodal.AutoTokenizer.from_pretrained(folder)).__name__ == "PegasusTokenizer"


def test_summarization_pipeline_matches_transformers_generate(tokenizer_folders, tmp_path):
    """Transformers 5 has no summarization pipeline: the oracle is its tokenizer → generate → decode."""
    folder = tmp_path / "summarizer"
    tokenizer = transformers.PegasusTokenizer.from_pretrained(str(tokenizer_folders["json"]))
    tokenizer.save_pretrained(folder)
    config = transformers.BigBirdPegasusConfig(**{**TINY, "vocab_size": len(tokenizer), "block_size": 2,
                                                  "num_random_blocks": 1, "decoder_start_token_id": 0})
    torch.manual_seed(0)
    transformers.BigBirdPegasusForConditionalGeneration(config).save_pretrained(folder)
    text = "the quick brown fox jumps over the lazy dog. two cats sleeping on a couch in the street, said the dog."
    oracle = transformers.BigBirdPegasusForConditionalGeneration.from_pretrained(folder).eval()
    with torch.no_grad():
        ids = oracle.generate(**tokenizer(text, return_tensors="pt"), max_new_tokens=8, num_beams=2)
    summarizer = polymodal.pipeline("summarization", model=str(folder))
    assert summarizer(text, max_new_tokens=8, num_beams=2) == [
        {"summary_text": tokenizer.decode(ids[0], skip_special_tokens=True)}]
