"""Task heads of the BERT-like families against Transformers (the oracle).

For every family × head: a tiny random Transformers model is saved, loaded by polymodal and
compared on a padded batch (logits and loss, eval mode), then in train mode (dropout off)
on the gradients; finally polymodal saves and Transformers loads.
"""

from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")

import polymodal  # noqa: E402
from polymodal.core.errors import InvalidInputError  # noqa: E402

FAMILIES = {  # polymodal/Transformers class prefix -> config class name
    "Bert": "BertConfig",
    "Roberta": "RobertaConfig",
    "XLMRoberta": "XLMRobertaConfig",
    "Camembert": "CamembertConfig",
    "Data2VecText": "Data2VecTextConfig",
    "DistilBert": "DistilBertConfig",
    "Albert": "AlbertConfig",
}
HEADS = ["ForMaskedLM", "ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering",
         "ForMultipleChoice"]
AUTO = {"ForMaskedLM": "AutoModelForMaskedLM", "ForSequenceClassification": "AutoModelForSequenceClassification",
        "ForTokenClassification": "AutoModelForTokenClassification",
        "ForQuestionAnswering": "AutoModelForQuestionAnswering", "ForMultipleChoice": "AutoModelForMultipleChoice"}
TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
            max_position_embeddings=40, type_vocab_size=2, num_labels=3, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0)


def _inputs(head: str, family: str, labels: bool):
    gen = torch.Generator().manual_seed(0)
    batch, length, choices = 3, 9, 2
    shape = (batch, choices, length) if head == "ForMultipleChoice" else (batch, length)
    ids = torch.randint(5, 99, shape, generator=gen)
    mask = torch.ones(shape, dtype=torch.long)
    mask[..., 1, 6:] = 0 if head != "ForMultipleChoice" else 0
    mask[-1, ..., 4:] = 0
    pad = 0 if family == "Bert" else 1
    ids = ids.masked_fill(mask == 0, pad)
    inputs = {"input_ids": ids, "attention_mask": mask}
    if family in ("Bert", "Albert"):
        inputs["token_type_ids"] = torch.zeros_like(ids).index_fill(-1, torch.tensor([5, 6, 7]), 1)
    if not labels:
        return inputs
    if head == "ForMaskedLM":
        inputs["labels"] = torch.where(torch.rand(shape, generator=gen) < 0.3, ids, torch.full_like(ids, -100))
    elif head == "ForSequenceClassification":
        inputs["labels"] = torch.tensor([0, 2, 1])
    elif head == "ForTokenClassification":
        inputs["labels"] = torch.randint(0, 3, shape, generator=gen).masked_fill(mask == 0, -100)
    elif head == "ForQuestionAnswering":
        inputs["start_positions"] = torch.tensor([1, 3, 20])  # 20: outside, ignored
        inputs["end_positions"] = torch.tensor([2, 5, 20])
    else:
        inputs["labels"] = torch.tensor([1, 0, 1])
    return inputs


DISTIL = {"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 37, "dropout": 0.0, "attention_dropout": 0.0,
          "seq_classif_dropout": 0.0, "qa_dropout": 0.0}


def _pair(family: str, head: str, tmp_path, **overrides):
    if family == "DistilBert":
        overrides = {**DISTIL, **overrides}
    if family == "Albert":  # 3 layers sharing 1 group, embeddings narrower than the hidden size
        overrides = {"embedding_size": 16, "num_hidden_layers": 3, "classifier_dropout_prob": 0.0, **overrides}
    if head == "ForQuestionAnswering":
        overrides.setdefault("num_labels", 2)
    config = getattr(transformers, FAMILIES[family])(**{**TINY, **overrides})
    torch.manual_seed(0)
    oracle = getattr(transformers, family + head)(config).eval()
    oracle.save_pretrained(tmp_path / "hf")
    ours = getattr(polymodal, family + head).from_pretrained(tmp_path / "hf")
    return oracle, ours


def _outputs(out, head):
    keys = ["start_logits", "end_logits"] if head == "ForQuestionAnswering" else ["logits"]
    return [out[k] for k in keys] + ([out["loss"]] if out.get("loss") is not None else [])


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("head", HEADS)
def test_head_parity(family, head, tmp_path):
    oracle, ours = _pair(family, head, tmp_path)
    with torch.no_grad():
        for labels in (False, True):
            inputs = _inputs(head, family, labels)
            for a, b in zip(_outputs(ours(**inputs), head), _outputs(oracle(**inputs), head), strict=True):
                torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    # train mode: gradients of the loss agree
    ours.train()
    oracle.train()
    inputs = _inputs(head, family, True)
    ours(**inputs).loss.backward()
    oracle(**inputs).loss.backward()
    ours_grads = {k: p.grad for k, p in ours.named_parameters()}
    for name, param in oracle.named_parameters():
        if name in ours_grads and param.grad is not None:
            torch.testing.assert_close(ours_grads[name], param.grad, atol=1e-5, rtol=1e-4, msg=name)
    # polymodal saves, Transformers loads, same outputs
    ours.eval().save_pretrained(tmp_path / "ours")
    back = getattr(transformers, family + head).from_pretrained(tmp_path / "ours").eval()
    inputs = _inputs(head, family, True)
    with torch.no_grad():
        for a, b in zip(_outputs(ours(**inputs), head), _outputs(back(**inputs), head), strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("family", ["Bert", "Roberta", "DistilBert"])
@pytest.mark.parametrize("head", HEADS)
def test_auto_classes(family, head, tmp_path):
    _, ours = _pair(family, head, tmp_path)
    auto = getattr(polymodal, AUTO[head]).from_pretrained(tmp_path / "hf")
    assert type(auto) is type(ours)


def test_masked_lm_ties_decoder_to_embeddings(tmp_path):
    _, ours = _pair("Bert", "ForMaskedLM", tmp_path)
    assert ours.cls.predictions.decoder.weight is ours.bert.embeddings.word_embeddings.weight
    assert ours.cls.predictions.decoder.bias is ours.cls.predictions.bias
    _, roberta = _pair("Roberta", "ForMaskedLM", tmp_path / "r")
    assert roberta.lm_head.decoder.weight is roberta.roberta.embeddings.word_embeddings.weight


@pytest.mark.parametrize("problem_type,labels", [
    ("regression", torch.tensor([[0.5], [1.0], [-0.2]])),
    ("multi_label_classification", torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]])),
])
def test_sequence_classification_problem_types(problem_type, labels, tmp_path):
    num_labels = labels.shape[1]
    oracle, ours = _pair("Bert", "ForSequenceClassification", tmp_path, num_labels=num_labels,
                         problem_type=problem_type)
    inputs = {**_inputs("ForSequenceClassification", "Bert", False), "labels": labels.squeeze(-1)
              if num_labels == 1 else labels}
    with torch.no_grad():
        torch.testing.assert_close(ours(**inputs).loss, oracle(**inputs).loss, atol=1e-5, rtol=1e-4)


def test_base_checkpoint_into_head_and_back(tmp_path):
    config = transformers.BertConfig(**TINY)
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(tmp_path / "base")
    model, info = polymodal.BertForSequenceClassification.from_pretrained(tmp_path / "base",
                                                                          output_loading_info=True)
    assert set(info["missing_keys"]) == {"classifier.weight", "classifier.bias"}
    model.save_pretrained(tmp_path / "head")
    base = polymodal.BertModel.from_pretrained(tmp_path / "head")
    torch.testing.assert_close(base.embeddings.word_embeddings.weight, model.bert.embeddings.word_embeddings.weight)


def test_return_dict_false_gives_tuple(tmp_path):
    _, ours = _pair("Bert", "ForQuestionAnswering", tmp_path)
    out = ours(**_inputs("ForQuestionAnswering", "Bert", False), return_dict=False)
    assert isinstance(out, tuple) and len(out) == 2


# --------------------------------------------------------------------------- bad input
def test_labels_outside_num_labels(tmp_path):
    _, ours = _pair("Bert", "ForTokenClassification", tmp_path)
    inputs = _inputs("ForTokenClassification", "Bert", True)
    inputs["labels"][0, 0] = 7
    with pytest.raises(InvalidInputError, match="num_labels|outside"):
        ours(**inputs)
    _, seq = _pair("Bert", "ForSequenceClassification", tmp_path / "s")
    with pytest.raises(InvalidInputError, match="num_labels=3"):
        seq(**_inputs("ForSequenceClassification", "Bert", False), labels=torch.tensor([0, 1, 5]))


def test_multiple_choice_needs_choice_axis(tmp_path):
    _, ours = _pair("Roberta", "ForMultipleChoice", tmp_path)
    with pytest.raises(InvalidInputError, match="num_choices"):
        ours(input_ids=torch.ones(2, 7, dtype=torch.long))


def test_too_long_input_is_a_clear_error(tmp_path):
    _, ours = _pair("Bert", "ForSequenceClassification", tmp_path)
    with pytest.raises(InvalidInputError, match="max_position_embeddings"):
        ours(input_ids=torch.ones(1, 50, dtype=torch.long))


def test_albert_shared_groups(tmp_path):
    """4 layers over 2 groups of 2 inner layers: the group schedule and the sharing match."""
    oracle, ours = _pair("Albert", "ForMaskedLM", tmp_path, num_hidden_layers=4, num_hidden_groups=2,
                         inner_group_num=2)
    inputs = _inputs("ForMaskedLM", "Albert", True)
    with torch.no_grad():
        torch.testing.assert_close(ours(**inputs).logits, oracle(**inputs).logits, atol=1e-5, rtol=1e-4)
