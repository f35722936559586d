"""Head-by-head parity of a BERT-like encoder family with Transformers (ConvBERT, DeBERTa, CANINE).

``check_head_parity`` is a family's whole parity test for one head: outputs with and without
labels, the eager path (attention maps asked for), gradients in train mode, and polymodal
saving what Transformers loads. Inputs are a padded batch (one row short, one choice short).
A family passes its tiny config and how its inputs look::

    @pytest.mark.parametrize("head", HEADS)
    def test_parity(head, tmp_path):
        check_head_parity("ConvBert", head, {**TINY, "conv_kernel_size": 3}, tmp_path)
"""

from __future__ import annotations

import pytest
import torch

import polymodal

HEADS = ["Model", "ForMaskedLM", "ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering",
         "ForMultipleChoice"]


def head_inputs(head: str, config, labels: bool, length: int = 9, ids=(5, 99), short_choice_at: int = 6) -> dict:
    """A padded batch of 3 (x 2 choices): ids drawn from ``ids``, token types where the config has them."""
    gen = torch.Generator().manual_seed(0)
    shape = (3, 2, length) if head == "ForMultipleChoice" else (3, length)
    input_ids = torch.randint(*ids, shape, generator=gen)
    mask = torch.ones(shape, dtype=torch.long)
    mask[..., 1, short_choice_at:] = 0
    mask[-1, ..., 4:] = 0
    inputs = {"input_ids": input_ids.masked_fill(mask == 0, 0), "attention_mask": mask}
    if config.type_vocab_size > 0:
        inputs["token_type_ids"] = torch.zeros_like(input_ids).index_fill(-1, torch.tensor([5, 6, 7]), 1)
    if labels:
        inputs.update(_labels(head, shape, input_ids, mask, gen))
    return inputs


def _labels(head, shape, input_ids, mask, gen) -> dict:
    if head == "ForMaskedLM":
        return {"labels": torch.where(torch.rand(shape, generator=gen) < 0.3, input_ids,
                                      torch.full_like(input_ids, -100))}
    if head == "ForSequenceClassification":
        return {"labels": torch.tensor([0, 2, 1])}
    if head == "ForTokenClassification":
        return {"labels": torch.randint(0, 3, shape, generator=gen).masked_fill(mask == 0, -100)}
    if head == "ForQuestionAnswering":  # 20: outside the sequence, ignored by the loss
        return {"start_positions": torch.tensor([1, 3, 20]), "end_positions": torch.tensor([2, 5, 20])}
    if head == "ForMultipleChoice":
        return {"labels": torch.tensor([1, 0, 1])}
    return {}


def head_outputs(out, head: str, model_keys=("last_hidden_state",)) -> list:
    """The tensors to compare for ``head`` (its logits, or the bare model's ``model_keys``), loss last."""
    keys = {"Model": list(model_keys), "ForQuestionAnswering": ["start_logits", "end_logits"]}.get(head, ["logits"])
    return [out[k] for k in keys] + ([out["loss"]] if out.get("loss") is not None else [])


def pair(family: str, head: str, config_kwargs: dict, tmp_path):
    """Transformers' seeded ``family + head`` (every parameter nudged off its init) and polymodal's load of it."""
    import transformers

    if head == "ForQuestionAnswering":
        config_kwargs = {**config_kwargs, "num_labels": 2}
    config = getattr(transformers, family + "Config")(**config_kwargs)
    torch.manual_seed(0)
    oracle = getattr(transformers, family + head)(config).eval()
    with torch.no_grad():  # move biases and q/v biases off their zero init
        for param in oracle.parameters():
            param.add_(torch.randn_like(param) * 0.05)
    oracle.save_pretrained(tmp_path / "hf")
    return oracle, getattr(polymodal, family + head).from_pretrained(tmp_path / "hf").eval()


def _assert_same(ours, theirs, head, model_keys):
    for a, b in zip(head_outputs(ours, head, model_keys), head_outputs(theirs, head, model_keys), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def check_head_parity(family: str, head: str, config_kwargs: dict, tmp_path, model_keys=("last_hidden_state",),
                      **input_options) -> None:
    """The whole parity test of one head; ``input_options`` go to :func:`head_inputs`."""
    import transformers

    if not hasattr(transformers, family + head):
        pytest.skip(f"Transformers has no {family}{head}")
    oracle, ours = pair(family, head, config_kwargs, tmp_path)

    def inputs(labels):
        return head_inputs(head, oracle.config, labels, **input_options)

    for labels in ((False,) if head == "Model" else (False, True)):
        with torch.no_grad():
            _assert_same(ours(**inputs(labels)), oracle(**inputs(labels)), head, model_keys)
    # the eager path (attention weights asked for) gives the same outputs and weights
    with torch.no_grad():
        a, b = ours(**inputs(False), output_attentions=True), oracle(**inputs(False), output_attentions=True)
    torch.testing.assert_close(head_outputs(a, head, model_keys)[0], head_outputs(b, head, model_keys)[0],
                               atol=1e-5, rtol=1e-4)
    for x, y in zip(a.attentions, b.attentions, strict=True):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-4)
    if head == "Model":
        return
    # gradients in train mode
    ours.train()
    oracle.train()
    ours(**inputs(True)).loss.backward()
    oracle(**inputs(True)).loss.backward()
    grads = {k: p.grad for k, p in ours.named_parameters()}
    for name, param in oracle.named_parameters():
        if param.grad is not None:
            torch.testing.assert_close(grads[name], param.grad, atol=1e-5, rtol=1e-4, msg=name)
    # polymodal saves, Transformers loads
    ours.eval().save_pretrained(tmp_path / "ours")
    back = getattr(transformers, family + head).from_pretrained(tmp_path / "ours").eval()
    with torch.no_grad():
        _assert_same(ours(**inputs(True)), back(**inputs(True)), head, model_keys)
