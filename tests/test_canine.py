"""CANINE against Transformers: every head, local blocks, downsampling remainders, gradients, saving.

Variants: lengths that do and do not divide into blocks and molecules, more hash functions, another
upsampling kernel; the outputs include every hidden state and attention map.
"""

from __future__ import annotations

import pytest
import torch
from encoder_parity_helpers import HEADS, check_head_parity, head_inputs, pair

transformers = pytest.importorskip("transformers")

import polymodal  # noqa: E402
from polymodal.core.errors import ConfigError, InvalidInputError  # noqa: E402

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37, num_labels=3,
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_hash_functions=4, num_hash_buckets=64,
            max_position_embeddings=64, local_transformer_stride=4, downsampling_rate=4, upsampling_kernel_size=4,
            type_vocab_size=2)
VARIANTS = {
    "base": ("Canine", dict()),
    "odd-sizes": ("Canine", dict(num_hash_functions=8, local_transformer_stride=5, downsampling_rate=3,
                                 upsampling_kernel_size=3)),
}
HEADS = [head for head in HEADS if head != "ForMaskedLM"]  # CANINE has no masked-LM head
# Code points as ids; rows long enough to span several blocks and molecules.
INPUTS = dict(length=14, ids=(32, 0x3000), short_choice_at=9)
MODEL_KEYS = ("last_hidden_state", "pooler_output")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("head", HEADS)
def test_parity(variant, head, tmp_path):
    family, extra = VARIANTS[variant]
    check_head_parity(family, head, {**TINY, **extra}, tmp_path, model_keys=MODEL_KEYS, **INPUTS)


def test_auto_classes(tmp_path):
    config = transformers.CanineConfig(**TINY)
    for head, auto in [("ForSequenceClassification", "AutoModelForSequenceClassification"),
                       ("ForTokenClassification", "AutoModelForTokenClassification"), ("Model", "AutoModel")]:
        getattr(transformers, "Canine" + head)(config).save_pretrained(tmp_path / head)
        assert type(getattr(polymodal, auto).from_pretrained(tmp_path / head)).__name__ == "Canine" + head


def test_hidden_states_cover_every_stage(tmp_path):
    oracle, ours = pair("Canine", "Model", TINY, tmp_path)
    inputs = head_inputs("Model", oracle.config, False, **INPUTS)
    with torch.no_grad():
        a, b = ours(**inputs, output_hidden_states=True), oracle(**inputs, output_hidden_states=True)
    assert len(a.hidden_states) == len(b.hidden_states) == 2 + 3 + 2  # initial, deep (2 layers), final
    for x, y in zip(a.hidden_states, b.hidden_states, strict=True):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-4)


def test_bad_config_and_input(tmp_path):
    with pytest.raises(ConfigError, match="num_hash_functions"):
        polymodal.CanineConfig(hidden_size=30, num_attention_heads=2, num_hash_functions=4)
    _, ours = pair("Canine", "ForTokenClassification", TINY, tmp_path)
    with pytest.raises(InvalidInputError, match="64"):
        ours(input_ids=torch.ones(1, 65, dtype=torch.long))
    with pytest.raises(InvalidInputError, match="downsampling_rate"):
        ours(input_ids=torch.ones(1, 2, dtype=torch.long))


# --------------------------------------------------------------------------- tokenizer: code points
TEXTS = ["hello wörld 🍕!", "東京は日本の首都です。", "", "a \ue003 b", "  spaces\tand\nlines  ", "Ångström " * 12]
PAIRS = ["q?", "文", "z", "pair text here", "", "y" * 30]


def test_tokenizer_code_points_match_transformers(tmp_path):
    oracle, ours = transformers.CanineTokenizer(), polymodal.CanineTokenizer()
    for options in (dict(), dict(padding=True, return_tensors="pt"), dict(padding="max_length", max_length=24,
                                                                           truncation=True),
                    dict(truncation="only_second", max_length=160)):
        a, b = ours(TEXTS, PAIRS, **options), oracle(TEXTS, PAIRS, **options)
        assert sorted(a.keys()) == sorted(b.keys())
        for key in b.keys():
            assert (a[key] == b[key]).all() if options.get("return_tensors") else a[key] == b[key], key
    for text in TEXTS:
        assert ours.tokenize(text) == oracle.tokenize(text)
    ids = oracle(TEXTS, padding=True)["input_ids"]
    for skip in (False, True):
        assert ours.batch_decode(ids, skip_special_tokens=skip) == oracle.batch_decode(ids, skip_special_tokens=skip)
    ours.save_pretrained(tmp_path)
    back = polymodal.AutoTokenizer.from_pretrained(tmp_path)
    assert back(TEXTS)["input_ids"] == oracle(TEXTS)["input_ids"]


def test_tokenizer_windows_and_offsets():
    ours = polymodal.CanineTokenizer()
    question, context = "Où?", "Le café est dans la rue. " * 4
    enc = ours(question, context, truncation="only_second", max_length=32, stride=8, return_overflowing_tokens=True,
               return_offsets_mapping=True)
    assert len(enc["input_ids"]) > 1
    for row in range(len(enc["input_ids"])):
        for token_id, (start, end), seq in zip(enc["input_ids"][row], enc["offset_mapping"][row],
                                               enc.sequence_ids(row), strict=True):
            if seq is not None:
                assert token_id == ord((question, context)[seq][start])
