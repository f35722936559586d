"""Text collators against Transformers' (same inputs, same seed → same batches)."""

from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")

from tokenizer_helpers import SENTENCES, WRITERS  # noqa: E402

import polymodal  # noqa: E402
from polymodal.core.errors import ConfigError, InvalidInputError  # noqa: E402

TEXTS = [s for s in SENTENCES if s.strip()][:8]


@pytest.fixture(scope="module", params=["bert", "roberta"])
def tokenizers(request, tmp_path_factory):
    folder = WRITERS[request.param](tmp_path_factory.mktemp(request.param))
    name = {"bert": "BertTokenizer", "roberta": "RobertaTokenizer"}[request.param]
    return getattr(polymodal, name).from_pretrained(str(folder)), getattr(transformers, name).from_pretrained(str(folder))


def same(a, b):
    assert sorted(a) == sorted(b)
    for key in b:
        assert torch.equal(torch.as_tensor(a[key]), torch.as_tensor(b[key])), key


def test_with_padding(tokenizers):
    ours, oracle = tokenizers
    features = [dict(ours(t), label=i % 2) for i, t in enumerate(TEXTS)]
    for options in ({}, {"padding": "max_length", "max_length": 40}, {"pad_to_multiple_of": 8}):
        same(polymodal.DataCollatorWithPadding(ours, **options)([dict(f) for f in features]),
             transformers.DataCollatorWithPadding(oracle, **options)([dict(f) for f in features]))


def test_token_classification(tokenizers):
    ours, oracle = tokenizers
    features = []
    for text in TEXTS:
        encoded = ours(text)
        features.append({**encoded, "labels": [i % 3 for i in range(len(encoded["input_ids"]))]})
    for options in ({}, {"pad_to_multiple_of": 8}, {"label_pad_token_id": -1}):
        same(polymodal.DataCollatorForTokenClassification(ours, **options)([dict(f) for f in features]),
             transformers.DataCollatorForTokenClassification(oracle, **options)([dict(f) for f in features]))
    ours.padding_side = oracle.padding_side = "left"
    try:
        same(polymodal.DataCollatorForTokenClassification(ours)([dict(f) for f in features]),
             transformers.DataCollatorForTokenClassification(oracle)([dict(f) for f in features]))
    finally:
        ours.padding_side = oracle.padding_side = "right"


def test_multiple_choice(tokenizers):
    ours, oracle = tokenizers
    examples = []
    for i in range(3):
        encoded = ours([TEXTS[i]] * 4, TEXTS[3:7])
        examples.append({**{k: list(v) for k, v in encoded.items()}, "label": i})
    same(polymodal.DataCollatorForMultipleChoice(ours)([dict(e) for e in examples]),
         transformers.DataCollatorForMultipleChoice(oracle)([dict(e) for e in examples]))
    bad = [dict(examples[0]), {k: v[:3] if k != "label" else v for k, v in examples[1].items()}]
    with pytest.raises(InvalidInputError, match="same number of choices"):
        polymodal.DataCollatorForMultipleChoice(ours)(bad)


@pytest.mark.parametrize("options", [{}, {"mlm_probability": 0.5}, {"mask_replace_prob": 0.5,
                                                                     "random_replace_prob": 0.3}])
def test_masked_lm_same_masks_under_the_same_seed(tokenizers, options):
    ours, oracle = tokenizers
    features = [ours(t, return_special_tokens_mask=True) for t in TEXTS]
    a = polymodal.DataCollatorForLanguageModeling(ours, seed=7, **options)
    b = transformers.DataCollatorForLanguageModeling(oracle, seed=7, **options)
    for _ in range(2):  # the generator advances the same way batch after batch
        same(a([dict(f) for f in features]), b([dict(f) for f in features]))
    ids = [f["input_ids"] for f in features]  # plain id lists; the global RNG when no seed is given
    torch.manual_seed(3)
    first = polymodal.DataCollatorForLanguageModeling(ours, **options)(ids)
    torch.manual_seed(3)
    second = transformers.DataCollatorForLanguageModeling(oracle, **options)(ids)
    same(first, second)
    assert (first["labels"] != -100).any()


def test_whole_word_mask_and_causal(tokenizers):
    ours, oracle = tokenizers
    features = [ours(t, return_special_tokens_mask=True, return_offsets_mapping=True, padding="max_length",
                     max_length=48, truncation=True) for t in TEXTS]  # Transformers cannot pad offsets
    with pytest.warns(UserWarning):
        a = polymodal.DataCollatorForLanguageModeling(ours, whole_word_mask=True, mlm_probability=0.4, seed=1)
    with pytest.warns(UserWarning):
        b = transformers.DataCollatorForLanguageModeling(oracle, whole_word_mask=True, mlm_probability=0.4, seed=1)
    same(a([dict(f) for f in features]), b([dict(f) for f in features]))
    ragged = [ours(t, return_special_tokens_mask=True, return_offsets_mapping=True) for t in TEXTS]
    padded = a([dict(f) for f in ragged])  # polymodal pads the offsets with (0, 0)
    assert padded["input_ids"].shape == padded["labels"].shape
    plain = [ours(t) for t in TEXTS]
    same(polymodal.DataCollatorForLanguageModeling(ours, mlm=False)([dict(f) for f in plain]),
         transformers.DataCollatorForLanguageModeling(oracle, mlm=False)([dict(f) for f in plain]))
    with pytest.raises(ConfigError, match="mlm_probability"):
        polymodal.DataCollatorForLanguageModeling(ours, mlm_probability=1.5)
    with pytest.raises(InvalidInputError, match="offset_mapping"):
        polymodal.DataCollatorForLanguageModeling(ours, whole_word_mask=True, mask_replace_prob=1.0,
                                                  random_replace_prob=0.0)(
            [ours(t) for t in TEXTS])


def test_default_collator(tokenizers):
    ours, oracle = tokenizers
    features = [dict(ours(t, padding="max_length", max_length=48, truncation=True), label=i) for i, t in
                enumerate(TEXTS)]
    same(polymodal.DefaultDataCollator()([dict(f) for f in features]),
         transformers.DefaultDataCollator()([dict(f) for f in features]))
    same(polymodal.default_data_collator([dict(f) for f in features]),
         transformers.default_data_collator([dict(f) for f in features]))
