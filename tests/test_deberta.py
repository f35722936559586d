"""DeBERTa and DeBERTa-v2 against Transformers: every head, the attention variants, gradients, saving.

Variants cover what the configs switch: c2p/p2c terms, talking heads, no absolute positions,
log buckets, shared position keys, a LayerNorm over the relative table, the convolution beside
the first layer, factorised embeddings, token types and the non-legacy masked-LM head.
"""

from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")

import polymodal  # noqa: E402
from polymodal.core.errors import ConfigError, InvalidInputError  # noqa: E402

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
            max_position_embeddings=40, num_labels=3, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
VARIANTS = {
    "v1-c2p-p2c": ("Deberta", dict(relative_attention=True, pos_att_type="c2p|p2c", type_vocab_size=2,
                                   max_relative_positions=8)),
    "v1-talking-heads": ("Deberta", dict(relative_attention=True, pos_att_type=["c2p", "p2c"], talking_head=True,
                                         position_biased_input=False, legacy=False)),
    "v1-absolute": ("Deberta", dict()),
    "v2-buckets-conv": ("DebertaV2", dict(relative_attention=True, pos_att_type="p2c|c2p", position_buckets=4,
                                          max_relative_positions=12, norm_rel_ebd="layer_norm", share_att_key=True,
                                          conv_kernel_size=3, position_biased_input=False)),
    "v2-factorised": ("DebertaV2", dict(relative_attention=True, pos_att_type=["c2p", "p2c"], type_vocab_size=2,
                                        embedding_size=16)),
    "v2-c2p-nonlegacy": ("DebertaV2", dict(relative_attention=True, pos_att_type=["c2p"], legacy=False)),
}
HEADS = ["Model", "ForMaskedLM", "ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering",
         "ForMultipleChoice"]


def _inputs(head, config, labels):
    gen = torch.Generator().manual_seed(0)
    shape = (3, 2, 9) if head == "ForMultipleChoice" else (3, 9)
    ids = torch.randint(5, 99, shape, generator=gen)
    mask = torch.ones(shape, dtype=torch.long)
    mask[..., 1, 6:] = 0
    mask[-1, ..., 4:] = 0
    inputs = {"input_ids": ids.masked_fill(mask == 0, 0), "attention_mask": mask}
    if config.type_vocab_size > 0:
        inputs["token_type_ids"] = torch.zeros_like(ids).index_fill(-1, torch.tensor([5, 6, 7]), 1)
    if labels:
        if head == "ForMaskedLM":
            inputs["labels"] = torch.where(torch.rand(shape, generator=gen) < 0.3, ids, torch.full_like(ids, -100))
        elif head == "ForSequenceClassification":
            inputs["labels"] = torch.tensor([0, 2, 1])
        elif head == "ForTokenClassification":
            inputs["labels"] = torch.randint(0, 3, shape, generator=gen).masked_fill(mask == 0, -100)
        elif head == "ForQuestionAnswering":
            inputs["start_positions"], inputs["end_positions"] = torch.tensor([1, 3, 20]), torch.tensor([2, 5, 20])
        elif head == "ForMultipleChoice":
            inputs["labels"] = torch.tensor([1, 0, 1])
    return inputs


def _outputs(out, head):
    keys = {"Model": ["last_hidden_state"], "ForQuestionAnswering": ["start_logits", "end_logits"]}.get(head, ["logits"])
    return [out[k] for k in keys] + ([out["loss"]] if out.get("loss") is not None else [])


def _pair(family, head, extra, tmp_path):
    config = getattr(transformers, family + "Config")(**{**TINY, **extra,
                                                         **({"num_labels": 2} if head == "ForQuestionAnswering" else {})})
    torch.manual_seed(0)
    oracle = getattr(transformers, family + head)(config).eval()
    with torch.no_grad():  # move biases and q/v biases off their zero init
        for param in oracle.parameters():
            param.add_(torch.randn_like(param) * 0.05)
    oracle.save_pretrained(tmp_path / "hf")
    return oracle, getattr(polymodal, family + head).from_pretrained(tmp_path / "hf").eval()


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("head", HEADS)
def test_parity(variant, head, tmp_path):
    family, extra = VARIANTS[variant]
    if not hasattr(transformers, family + head):
        pytest.skip(f"Transformers has no {family}{head}")
    oracle, ours = _pair(family, head, extra, tmp_path)
    for labels in ((False,) if head == "Model" else (False, True)):
        inputs = _inputs(head, oracle.config, labels)
        with torch.no_grad():
            for a, b in zip(_outputs(ours(**inputs), head), _outputs(oracle(**inputs), head), strict=True):
                torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    # the eager path (attention weights asked for) gives the same outputs and weights
    inputs = _inputs(head, oracle.config, False)
    with torch.no_grad():
        a, b = ours(**inputs, output_attentions=True), oracle(**inputs, output_attentions=True)
    torch.testing.assert_close(_outputs(a, head)[0], _outputs(b, head)[0], atol=1e-5, rtol=1e-4)
    for x, y in zip(a.attentions, b.attentions, strict=True):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-4)
    if head == "Model":
        return
    # gradients in train mode
    ours.train()
    oracle.train()
    inputs = _inputs(head, oracle.config, True)
    ours(**inputs).loss.backward()
    oracle(**inputs).loss.backward()
    grads = {k: p.grad for k, p in ours.named_parameters()}
    for name, param in oracle.named_parameters():
        if param.grad is not None:
            torch.testing.assert_close(grads[name], param.grad, atol=1e-5, rtol=1e-4, msg=name)
    # polymodal saves, Transformers loads
    ours.eval().save_pretrained(tmp_path / "ours")
    back = getattr(transformers, family + head).from_pretrained(tmp_path / "ours").eval()
    with torch.no_grad():
        for a, b in zip(_outputs(ours(**inputs), head), _outputs(back(**inputs), head), strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("family", ["Deberta", "DebertaV2"])
def test_auto_classes(family, tmp_path):
    config = getattr(transformers, family + "Config")(**TINY, relative_attention=True, pos_att_type="c2p|p2c")
    for head, auto in [("ForSequenceClassification", "AutoModelForSequenceClassification"),
                       ("ForMaskedLM", "AutoModelForMaskedLM"), ("ForTokenClassification", "AutoModelForTokenClassification"),
                       ("Model", "AutoModel")]:
        getattr(transformers, family + head)(config).save_pretrained(tmp_path / head)
        assert type(getattr(polymodal, auto).from_pretrained(tmp_path / head)).__name__ == family + head


def test_deberta_v2_bf16_close_to_fp32(tmp_path):
    _, ours = _pair("DebertaV2", "ForSequenceClassification", VARIANTS["v2-buckets-conv"][1], tmp_path)
    inputs = _inputs("ForSequenceClassification", ours.config, False)
    with torch.no_grad():
        full = ours(**inputs).logits
        half = ours.to(torch.bfloat16)(**inputs).logits.float()
    torch.testing.assert_close(half, full, atol=0.05, rtol=0.05)


def test_bad_input(tmp_path):
    _, ours = _pair("DebertaV2", "ForSequenceClassification", VARIANTS["v2-factorised"][1], tmp_path)
    with pytest.raises(InvalidInputError, match="max_position_embeddings"):
        ours(input_ids=torch.ones(1, 41, dtype=torch.long))
    with pytest.raises(InvalidInputError, match="num_labels=3"):
        ours(input_ids=torch.ones(2, 5, dtype=torch.long), labels=torch.tensor([0, 7]))
    with pytest.raises(InvalidInputError, match="attention_mask"):
        ours(input_ids=torch.ones(2, 5, dtype=torch.long), attention_mask=torch.ones(2, 4, dtype=torch.long))
    with pytest.raises(ConfigError, match="pos_att_type"):
        polymodal.DebertaV2Config(pos_att_type="c2p|x2y")
