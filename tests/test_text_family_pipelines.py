"""Every text-encoder family through the NLP pipelines, against Transformers' pipelines.

tests/test_text_pipelines.py checks each pipeline's options in depth on BERT/RoBERTa/DistilBERT;
this file checks that the other families (their own tokenizers, embeddings and attention) give
the same answers through ``text-classification``, ``token-classification`` and ``fill-mask``,
alone and in padded batches.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

from pipeline_helpers import assert_batch_invariant, assert_same_result  # noqa: E402
from text_helpers import NER_LABELS, SENTIMENT  # noqa: E402
from tokenizer_helpers import WRITERS  # noqa: E402

import polymodal  # noqa: E402

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
            max_position_embeddings=128)
# family → (Transformers model prefix, config extras, tokenizer class, vocabulary writer)
FAMILIES = {
    "albert": ("Albert", dict(embedding_size=16), "AlbertTokenizer", "albert"),
    "convbert": ("ConvBert", dict(embedding_size=16, num_attention_heads=4, conv_kernel_size=3), "ConvBertTokenizer",
                 "bert"),
    "deberta": ("Deberta", dict(relative_attention=True, pos_att_type="c2p|p2c", max_relative_positions=8),
                "DebertaTokenizer", "roberta"),
    "deberta-v2": ("DebertaV2", dict(relative_attention=True, pos_att_type=["p2c", "c2p"], position_buckets=4,
                                     max_relative_positions=12, norm_rel_ebd="layer_norm", share_att_key=True,
                                     position_biased_input=False), "DebertaV2Tokenizer", "deberta-v2"),
    "data2vec-text": ("Data2VecText", dict(), "RobertaTokenizer", "roberta"),
    "xlm-roberta": ("XLMRoberta", dict(), "XLMRobertaTokenizer", "xlm-roberta"),
    "camembert": ("Camembert", dict(), "CamembertTokenizer", "xlm-roberta"),
    # BORT: BERT's architecture with RoBERTa's tokenizer (its model page), nothing else.
    "bort": ("Bert", dict(), "RobertaTokenizer", "roberta"),
    "canine": ("Canine", dict(num_hash_functions=4, num_hash_buckets=64, local_transformer_stride=4,
                              downsampling_rate=4, upsampling_kernel_size=4, max_position_embeddings=256),
               "CanineTokenizer", None),
}
HEADS = {"text-classification": ("ForSequenceClassification", SENTIMENT),
         "token-classification": ("ForTokenClassification", NER_LABELS),
         "fill-mask": ("ForMaskedLM", None)}
TEXTS = ["a photo of a cat", "Hello, world! How are you doing today?", "Café déjà vu, naïve résumé",
         "two cats sleeping on a couch in the street with a dog", "the weather is nice"]


def family_folder(path: Path, family: str, head: str, labels) -> Path:
    prefix, extra, tokenizer_name, writer = FAMILIES[family]
    path.mkdir(parents=True, exist_ok=True)
    if writer is None:
        tokenizer = getattr(transformers, tokenizer_name)()
    else:
        WRITERS[writer](path)
        tokenizer = getattr(transformers, tokenizer_name).from_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    sizes = {**TINY, "pad_token_id": tokenizer.pad_token_id, **extra}
    if family != "canine":
        sizes["vocab_size"] = len(tokenizer)
    if labels is not None:
        sizes.update(id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)})
    config = getattr(transformers, prefix + "Config")(**sizes)
    torch.manual_seed(4)
    getattr(transformers, prefix + head)(config).save_pretrained(str(path))
    return path


CASES = [(family, task) for family in FAMILIES for task in HEADS
         if not (family == "canine" and task == "fill-mask")]  # CANINE has no masked-LM head


@pytest.mark.parametrize(("family", "task"), CASES, ids=[f"{f}-{t}" for f, t in CASES])
def test_family_through_pipeline(tmp_path, family, task):
    head, labels = HEADS[task]
    folder = family_folder(tmp_path / family, family, head, labels)
    ours = polymodal.pipeline(task, model=str(folder))
    oracle = transformers.pipeline(task, model=str(folder))
    if task == "fill-mask":
        mask = ours.tokenizer.mask_token
        inputs = [f"a photo of a {mask}", f"the {mask} is nice today", f"two cats {mask} on a couch"]
        kwargs = {"top_k": 3}
    elif task == "token-classification":
        inputs, kwargs = TEXTS, {"aggregation_strategy": "simple"}
    else:
        inputs, kwargs = TEXTS, {"top_k": None}
    got, expected = ours(inputs, **kwargs), oracle(inputs, **kwargs)
    if task == "token-classification":  # the raw per-token output too
        got, expected = [*got, ours(TEXTS[1])], [*expected, oracle(TEXTS[1])]
        if family == "canine":
            # Transformers' CANINE tokenizer has no offsets (start/end None); one token per code point
            # makes them exact here, so polymodal fills them in.
            texts = [*inputs, TEXTS[1]]
            for text, entities, theirs in zip(texts, got, expected):
                for entity, their in zip(entities, theirs):
                    word = entity.get("word")
                    assert text[entity.pop("start"):entity.pop("end")] == word
                    assert their.pop("start") is None and their.pop("end") is None
    assert_same_result(got, expected, atol=1e-4, where=f"{family} {task}")
    assert_batch_invariant(ours, inputs + inputs[:1], batch_size=2, **kwargs)
