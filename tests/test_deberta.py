"""DeBERTa and DeBERTa-v2 against Transformers: every head, the attention variants, gradients, saving.

Variants cover what the configs switch: c2p/p2c terms, talking heads, no absolute positions,
log buckets, shared position keys, a LayerNorm over the relative table, the convolution beside
the first layer, factorised embeddings, token types and the non-legacy masked-LM head.
"""

from __future__ import annotations

import pytest
import torch
from encoder_parity_helpers import HEADS, check_head_parity, head_inputs, pair

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


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("head", HEADS)
def test_parity(variant, head, tmp_path):
    family, extra = VARIANTS[variant]
    check_head_parity(family, head, {**TINY, **extra}, tmp_path)


@pytest.mark.parametrize("family", ["Deberta", "DebertaV2"])
def test_auto_classes(family, tmp_path):
    config = getattr(transformers, family + "Config")(**TINY, relative_attention=True, pos_att_type="c2p|p2c")
    for head, auto in [("ForSequenceClassification", "AutoModelForSequenceClassification"),
                       ("ForMaskedLM", "AutoModelForMaskedLM"), ("ForTokenClassification", "AutoModelForTokenClassification"),
                       ("Model", "AutoModel")]:
        getattr(transformers, family + head)(config).save_pretrained(tmp_path / head)
        assert type(getattr(polymodal, auto).from_pretrained(tmp_path / head)).__name__ == family + head


def test_deberta_v2_bf16_close_to_fp32(tmp_path):
    _, ours = pair("DebertaV2", "ForSequenceClassification", {**TINY, **VARIANTS["v2-buckets-conv"][1]}, tmp_path)
    inputs = head_inputs("ForSequenceClassification", ours.config, False)
    with torch.no_grad():
        full = ours(**inputs).logits
        half = ours.to(torch.bfloat16)(**inputs).logits.float()
    torch.testing.assert_close(half, full, atol=0.05, rtol=0.05)


def test_bad_input(tmp_path):
    _, ours = pair("DebertaV2", "ForSequenceClassification", {**TINY, **VARIANTS["v2-factorised"][1]}, tmp_path)
    with pytest.raises(InvalidInputError, match="max_position_embeddings"):
        ours(input_ids=torch.ones(1, 41, dtype=torch.long))
    with pytest.raises(InvalidInputError, match="num_labels=3"):
        ours(input_ids=torch.ones(2, 5, dtype=torch.long), labels=torch.tensor([0, 7]))
    with pytest.raises(InvalidInputError, match="attention_mask"):
        ours(input_ids=torch.ones(2, 5, dtype=torch.long), attention_mask=torch.ones(2, 4, dtype=torch.long))
    with pytest.raises(ConfigError, match="pos_att_type"):
        polymodal.DebertaV2Config(pos_att_type="c2p|x2y")
