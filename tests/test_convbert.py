"""ConvBERT against Transformers: every head, mixed attention variants, gradients, saving.

Variants: factorised embeddings, grouped feed-forward, a head ratio leaving one head of each kind.
"""

from __future__ import annotations

import pytest
import torch
from encoder_parity_helpers import HEADS, check_head_parity, pair

transformers = pytest.importorskip("transformers")

import polymodal  # noqa: E402
from polymodal.core.errors import ConfigError, InvalidInputError  # noqa: E402

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
            max_position_embeddings=40, num_labels=3, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
VARIANTS = {
    "base": ("ConvBert", dict(embedding_size=32, num_attention_heads=4, conv_kernel_size=3)),
    "factorised-grouped": ("ConvBert", dict(embedding_size=16, num_attention_heads=4, num_groups=2,
                                            intermediate_size=38, conv_kernel_size=5, hidden_act="gelu_new")),
    "one-head": ("ConvBert", dict(embedding_size=32, num_attention_heads=2, head_ratio=4, conv_kernel_size=3)),
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("head", HEADS)
def test_parity(variant, head, tmp_path):
    family, extra = VARIANTS[variant]
    check_head_parity(family, head, {**TINY, **extra}, tmp_path)


def test_auto_classes(tmp_path):
    config = transformers.ConvBertConfig(**{**TINY, "embedding_size": 16, "num_attention_heads": 4, "conv_kernel_size": 3})
    for head, auto in [("ForSequenceClassification", "AutoModelForSequenceClassification"),
                       ("ForMaskedLM", "AutoModelForMaskedLM"), ("ForMultipleChoice", "AutoModelForMultipleChoice"),
                       ("Model", "AutoModel")]:
        getattr(transformers, "ConvBert" + head)(config).save_pretrained(tmp_path / head)
        assert type(getattr(polymodal, auto).from_pretrained(tmp_path / head)).__name__ == "ConvBert" + head


def test_bad_config_and_input(tmp_path):
    with pytest.raises(ConfigError, match="conv_kernel_size"):
        polymodal.ConvBertConfig(conv_kernel_size=4)
    with pytest.raises(ConfigError, match="num_groups"):
        polymodal.ConvBertConfig(num_groups=5)
    _, ours = pair("ConvBert", "ForTokenClassification", {**TINY, **VARIANTS["base"][1]}, tmp_path)
    with pytest.raises(InvalidInputError, match="max_position_embeddings"):
        ours(input_ids=torch.ones(1, 41, dtype=torch.long))
    with pytest.raises(InvalidInputError, match="outside"):
        ours(input_ids=torch.ones(1, 5, dtype=torch.long), labels=torch.full((1, 5), 9))
