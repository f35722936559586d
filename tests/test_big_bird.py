"""BigBird against Transformers: block-sparse and full attention, every head, train mode, saving.

The tiny config really runs block-sparse: block_size=4 and 2 random blocks need more than
(5 + 2*2) * 4 = 36 tokens; the inputs have 61 (padded to 64, 16 blocks) with padded rows.
"""

from __future__ import annotations

import logging

import pytest
import torch

transformers = pytest.importorskip("transformers")

import polymodal  # noqa: E402
from polymodal.core.errors import ConfigError, InvalidInputError  # noqa: E402

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
            max_position_embeddings=128, num_labels=3, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
            block_size=4, num_random_blocks=2, sep_token_id=66)
HEADS = ["Model", "ForMaskedLM", "ForPreTraining", "ForSequenceClassification", "ForTokenClassification",
         "ForQuestionAnswering", "ForMultipleChoice"]
LENGTH = 61
ATOL = dict(atol=1e-5, rtol=1e-4)


def _inputs(head, labels, length=LENGTH, seed=0):
    gen = torch.Generator().manual_seed(seed)
    shape = (3, 2, length) if head == "ForMultipleChoice" else (3, length)
    ids = torch.randint(5, 60, shape, generator=gen)
    ids[..., 0], ids[..., 7] = 65, 66  # [CLS] question [SEP] context: QA finds the question by [SEP]
    mask = torch.ones(shape, dtype=torch.long)
    mask[..., 1, length - 13:] = 0
    mask[-1, ..., length // 2:] = 0
    inputs = {"input_ids": ids.masked_fill(mask == 0, 0), "attention_mask": mask}
    if head != "ForQuestionAnswering":
        inputs["token_type_ids"] = (torch.arange(length) >= 8).long().expand(shape)
    if labels:
        if head in ("ForMaskedLM", "ForPreTraining"):
            inputs["labels"] = torch.where(torch.rand(shape, generator=gen) < 0.3, ids, torch.full_like(ids, -100))
            if head == "ForPreTraining":
                inputs["next_sentence_label"] = torch.tensor([0, 1, 1])
        elif head == "ForSequenceClassification":
            inputs["labels"] = torch.tensor([0, 2, 1])
        elif head == "ForTokenClassification":
            inputs["labels"] = torch.randint(0, 3, shape, generator=gen).masked_fill(mask == 0, -100)
        elif head == "ForQuestionAnswering":
            inputs["start_positions"], inputs["end_positions"] = torch.tensor([9, 20, 90]), torch.tensor([12, 25, 90])
        elif head == "ForMultipleChoice":
            inputs["labels"] = torch.tensor([1, 0, 1])
    return inputs


def _outputs(out, head):
    keys = {"Model": ["last_hidden_state", "pooler_output"], "ForQuestionAnswering": ["start_logits", "end_logits"],
            "ForPreTraining": ["prediction_logits", "seq_relationship_logits"]}.get(head, ["logits"])
    return [out[k] for k in keys] + ([out["loss"]] if out.get("loss") is not None else [])


def _close(ours, theirs, head):
    for a, b in zip(_outputs(ours, head), _outputs(theirs, head), strict=True):
        torch.testing.assert_close(a, b, **ATOL)


def _pair(head, tmp_path, **extra):
    config = transformers.BigBirdConfig(**{**TINY, **extra})
    torch.manual_seed(0)
    oracle = getattr(transformers, "BigBird" + head)(config).eval()
    with torch.no_grad():  # move biases off their zero init
        for param in oracle.parameters():
            param.add_(torch.randn_like(param) * 0.05)
    oracle.save_pretrained(tmp_path / "hf")
    return oracle, getattr(polymodal, "BigBird" + head).from_pretrained(tmp_path / "hf").eval()


@pytest.mark.parametrize("attention_type", ["block_sparse", "original_full"])
@pytest.mark.parametrize("head", HEADS)
def test_parity(head, attention_type, tmp_path):
    oracle, ours = _pair(head, tmp_path, attention_type=attention_type)
    for labels in ((False,) if head == "Model" else (False, True)):
        inputs = _inputs(head, labels)
        with torch.no_grad():
            _close(ours(**inputs), oracle(**inputs), head)
    # attention weights (the dense matrix in block-sparse mode) and hidden states, padded as Transformers'
    inputs = _inputs(head, False)
    with torch.no_grad():
        a = ours(**inputs, output_attentions=True, output_hidden_states=True)
        b = oracle(**inputs, output_attentions=True, output_hidden_states=True)
    _close(a, b, head)
    for x, y in zip(a.attentions + a.hidden_states, b.attentions + b.hidden_states, strict=True):
        torch.testing.assert_close(x, y, **ATOL)
    base = ours if head == "Model" else ours.bert
    assert base.attention_type == attention_type  # 61 tokens: no fall-back
    if head == "Model":
        return
    # train mode (random blocks drawn as Transformers draws them): losses and gradients
    ours.train()
    oracle.train()
    inputs = _inputs(head, True, seed=1)
    loss_a, loss_b = ours(**inputs).loss, oracle(**inputs).loss
    torch.testing.assert_close(loss_a, loss_b, **ATOL)
    loss_a.backward()
    loss_b.backward()
    grads = {k: p.grad for k, p in ours.named_parameters()}
    for name, param in oracle.named_parameters():
        if param.grad is not None:
            torch.testing.assert_close(grads[name], param.grad, atol=1e-5, rtol=1e-4, msg=name)
    # polymodal saves, Transformers loads
    ours.eval().save_pretrained(tmp_path / "ours")
    back = getattr(transformers, "BigBird" + head).from_pretrained(tmp_path / "ours").eval()
    with torch.no_grad():
        _close(ours(**inputs), back(**inputs), head)


def test_short_input_falls_back_to_full_attention_for_good(tmp_path, caplog):
    oracle, ours = _pair("ForMaskedLM", tmp_path)
    short, long = _inputs("ForMaskedLM", True, length=30), _inputs("ForMaskedLM", True, length=LENGTH)
    with torch.no_grad():
        _close(ours(**long), oracle(**long), "ForMaskedLM")  # block-sparse
        with caplog.at_level(logging.WARNING, logger="polymodal"):
            _close(ours(**short), oracle(**short), "ForMaskedLM")
        assert ours.bert.attention_type == "original_full"
        assert any("original_full" in r.message for r in caplog.records)
        _close(ours(**long), oracle(**long), "ForMaskedLM")  # Transformers stays on full attention too
    ours.bert.set_attention_type("block_sparse")
    oracle.bert.set_attention_type("block_sparse")
    with torch.no_grad():
        _close(ours(**long), oracle(**long), "ForMaskedLM")


def test_inputs_embeds_position_ids_and_question_lengths(tmp_path):
    oracle, ours = _pair("Model", tmp_path)
    gen = torch.Generator().manual_seed(3)
    embeds = torch.randn(2, LENGTH, 32, generator=gen)
    positions = torch.arange(LENGTH).flip(0).expand(2, -1)
    with torch.no_grad():
        for kwargs in ({"inputs_embeds": embeds}, {"inputs_embeds": embeds, "position_ids": positions}):
            a, b = ours(**kwargs, output_hidden_states=True), oracle(**kwargs, output_hidden_states=True)
            _close(a, b, "Model")
            for x, y in zip(a.hidden_states, b.hidden_states, strict=True):  # padded with embedded pad ids
                torch.testing.assert_close(x, y, **ATOL)
    oracle, ours = _pair("ForQuestionAnswering", tmp_path)
    inputs = _inputs("ForQuestionAnswering", True)
    with torch.no_grad():
        for lengths in (torch.tensor([[4], [9], [1]]), torch.tensor([4, 9, 1])):
            a = ours(**inputs, question_lengths=lengths)
            b = oracle(**inputs, question_lengths=lengths.reshape(3, 1))
            _close(a, b, "ForQuestionAnswering")
        b = oracle(**inputs, token_type_ids=torch.zeros(3, LENGTH, dtype=torch.long))
        _close(ours(**inputs, token_type_ids=torch.zeros(3, LENGTH, dtype=torch.long)), b, "ForQuestionAnswering")
    assert ours.config.num_labels == 2


def test_paper_plan_in_training(tmp_path):
    """1024 tokens take the paper's fixed random plan (drawn over max_position_embeddings)."""
    oracle, ours = _pair("ForMaskedLM", tmp_path, max_position_embeddings=1024, block_size=16, num_hidden_layers=1,
                         num_attention_heads=2)
    ours.train()
    oracle.train()
    inputs = _inputs("ForMaskedLM", True, length=1024)
    inputs = {k: v[:1] for k, v in inputs.items()}
    torch.testing.assert_close(ours(**inputs).loss, oracle(**inputs).loss, **ATOL)


def test_gradient_checkpointing_matches(tmp_path):
    _, ours = _pair("ForTokenClassification", tmp_path)
    inputs = _inputs("ForTokenClassification", True)
    ours.train()
    plain = ours(**inputs).loss
    ours.gradient_checkpointing_enable()
    torch.testing.assert_close(ours(**inputs).loss, plain)


def test_auto_classes(tmp_path):
    config = transformers.BigBirdConfig(**TINY)
    for head, auto in [("ForSequenceClassification", "AutoModelForSequenceClassification"),
                       ("ForMaskedLM", "AutoModelForMaskedLM"), ("ForQuestionAnswering", "AutoModelForQuestionAnswering"),
                       ("Model", "AutoModel")]:
        getattr(transformers, "BigBird" + head)(config).save_pretrained(tmp_path / head)
        assert type(getattr(polymodal, auto).from_pretrained(tmp_path / head)).__name__ == "BigBird" + head
    assert type(polymodal.AutoConfig.from_pretrained(tmp_path / "Model")).__name__ == "BigBirdConfig"


def test_bad_config_and_input(tmp_path):
    with pytest.raises(ConfigError, match="attention_type"):
        polymodal.BigBirdConfig(attention_type="sparse")
    with pytest.raises(ConfigError, match="num_attention_heads"):
        polymodal.BigBirdConfig(hidden_size=30, num_attention_heads=4)
    _, ours = _pair("ForQuestionAnswering", tmp_path, max_position_embeddings=62)
    with pytest.raises(InvalidInputError, match="max_position_embeddings=62"):  # 61 tokens pad to 64
        ours(input_ids=torch.ones(1, 61, dtype=torch.long))
    with pytest.raises(InvalidInputError, match="question_lengths"):
        ours(input_ids=torch.ones(2, 40, dtype=torch.long), question_lengths=torch.ones(3, dtype=torch.long))
    with pytest.raises(InvalidInputError, match="attention_type"):
        ours.bert.set_attention_type("dense")


# --------------------------------------------------------------------------- tokenizer
@pytest.fixture(scope="module")
def tokenizer_folders(tmp_path_factory):
    """A sentencepiece unigram model in BigBird's layout (<pad> </s> <s> <unk>, then [CLS] [SEP] [MASK])."""
    import io

    spm = pytest.importorskip("sentencepiece")
    from tokenizer_helpers import CORPUS

    legacy = tmp_path_factory.mktemp("bigbird-legacy")
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([s for s in CORPUS if s.strip()]), model_writer=model, vocab_size=300,
        model_type="unigram", hard_vocab_limit=False, character_coverage=1.0, minloglevel=2, pad_id=0, eos_id=1,
        bos_id=2, unk_id=3, control_symbols=["[CLS]", "[SEP]", "[MASK]"])
    (legacy / "spiece.model").write_bytes(model.getvalue())
    as_json = tmp_path_factory.mktemp("bigbird-json")
    transformers.BigBirdTokenizer.from_pretrained(str(legacy)).save_pretrained(str(as_json))
    return {"legacy": legacy, "json": as_json}


@pytest.mark.parametrize("source", ["legacy", "json"])
def test_tokenizer(tokenizer_folders, source):
    from tokenizer_helpers import LONG_TEXT, SENTENCES

    folder = str(tokenizer_folders[source])
    ours, oracle = polymodal.BigBirdTokenizer.from_pretrained(folder), transformers.BigBirdTokenizer.from_pretrained(
        folder)
    assert ours.get_vocab() == oracle.get_vocab()
    assert ours.all_special_tokens == oracle.all_special_tokens
    texts = [*SENTENCES, LONG_TEXT, "two  spaces   and a [MASK] here"]
    options = dict(return_offsets_mapping=True, return_special_tokens_mask=True)
    a, b = ours(texts, **options), oracle(texts, **options)
    for key in b.keys():
        assert a[key] == b[key], key
    pairs = dict(truncation="longest_first", max_length=24, padding="max_length", return_tensors="pt")
    a, b = ours(SENTENCES[:4], SENTENCES[4:8], **pairs), oracle(SENTENCES[:4], SENTENCES[4:8], **pairs)
    for key in b.keys():
        assert torch.equal(a[key], b[key]), key
    ids = oracle(texts)["input_ids"]
    assert ours.batch_decode(ids, skip_special_tokens=True) == oracle.batch_decode(ids, skip_special_tokens=True)
    if source == "json":  # tokenizer_config.json names the class
        assert type(polymodal.AutoTokenizer.from_pretrained(folder)).__name__ == "BigBirdTokenizer"


# --------------------------------------------------------------------------- pipelines
def _pipeline_folder(tokenizer_folders, tmp_path, head):
    """A tiny BigBird with the test tokenizer; blocks of 2 so a 15-token text already runs block-sparse."""
    folder = tmp_path / head
    tokenizer = transformers.BigBirdTokenizer.from_pretrained(str(tokenizer_folders["json"]))
    tokenizer.save_pretrained(folder)
    config = transformers.BigBirdConfig(**{**TINY, "vocab_size": len(tokenizer), "block_size": 2,
                                           "num_random_blocks": 1, "pad_token_id": tokenizer.pad_token_id,
                                           "sep_token_id": tokenizer.sep_token_id})
    torch.manual_seed(0)
    getattr(transformers, "BigBird" + head)(config).save_pretrained(folder)
    return str(folder)


def test_fill_mask_pipeline_matches(tokenizer_folders, tmp_path):
    folder = _pipeline_folder(tokenizer_folders, tmp_path, "ForMaskedLM")
    ours, oracle = polymodal.pipeline("fill-mask", model=folder), transformers.pipeline("fill-mask", model=folder)
    long = "the quick brown fox jumps over the lazy dog and the [MASK] is sleeping on a couch in the street"
    for text in (long, [long, long.replace("fox", "cat")], "a photo of a [MASK]", long):  # the short one falls back
        a, b = ours(text, top_k=3), oracle(text, top_k=3)
        for x, y in zip(a if isinstance(text, list) else [a], b if isinstance(text, list) else [b], strict=True):
            assert [r["token"] for r in x] == [r["token"] for r in y]
            assert [r["sequence"] for r in x] == [r["sequence"] for r in y]
            np_a, np_b = torch.tensor([r["score"] for r in x]), torch.tensor([r["score"] for r in y])
            torch.testing.assert_close(np_a, np_b, atol=1e-5, rtol=1e-4)
    assert ours.model.bert.attention_type == oracle.model.bert.attention_type == "original_full"


def test_question_answering_pipeline_runs(tokenizer_folders, tmp_path):
    folder = _pipeline_folder(tokenizer_folders, tmp_path, "ForQuestionAnswering")
    qa = polymodal.pipeline("question-answering", model=folder)
    context = "the quick brown fox jumps over the lazy dog. two cats sleeping on a couch in the street."
    answer = qa(question="where are the cats sleeping?", context=context)
    assert context[answer["start"]:answer["end"]] == answer["answer"] and answer["end"] > answer["start"]


# --------------------------------------------------------------------------- causal LM
@pytest.mark.parametrize("attention_type", ["original_full", "block_sparse"])
def test_causal_lm_matches_transformers(attention_type, tmp_path):
    """block_sparse: a short prompt switches to full attention first, as in Transformers."""
    oracle, ours = _pair("ForCausalLM", tmp_path, is_decoder=True, attention_type=attention_type)
    ids = torch.randint(5, 60, (3, 12), generator=torch.Generator().manual_seed(4))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    labels = ids.masked_fill(mask == 0, -100)
    with torch.no_grad():
        a, b = ours(ids, attention_mask=mask, labels=labels), oracle(ids, attention_mask=mask, labels=labels)
        torch.testing.assert_close(a.logits[mask.bool()], b.logits[mask.bool()], **ATOL)
        torch.testing.assert_close(a.loss, b.loss, **ATOL)
        for kwargs in ({"max_new_tokens": 6}, {"max_new_tokens": 5, "num_beams": 2}):
            assert torch.equal(ours.generate(ids[:1, :8], **kwargs), oracle.generate(ids[:1, :8], **kwargs))
    ours.save_pretrained(tmp_path / "ours")
    back = transformers.BigBirdForCausalLM.from_pretrained(tmp_path / "ours").eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(ids).logits, back(ids).logits, **ATOL)
    assert type(polymodal.AutoModelForCausalLM.from_pretrained(tmp_path / "hf")).__name__ == "BigBirdForCausalLM"
    long = torch.randint(5, 60, (1, 40))
    if attention_type == "block_sparse":  # now on full attention for good; a fresh one refuses long inputs
        fresh = polymodal.BigBirdForCausalLM.from_pretrained(tmp_path / "hf")
        with pytest.raises(InvalidInputError, match="original_full"):
            fresh(long)
