"""Tiny text checkpoints (model + tokenizer) saved by Transformers, for the NLP pipeline and guide tests."""

from __future__ import annotations

from pathlib import Path

from tokenizer_helpers import WRITERS

NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
NLI_LABELS = ["contradiction", "neutral", "entailment"]
SENTIMENT = ["negative", "positive", "neutral"]

_CONFIGS = {"bert": ("BertConfig", "BertTokenizer"), "roberta": ("RobertaConfig", "RobertaTokenizer"),
            "distilbert": ("DistilBertConfig", "DistilBertTokenizer")}
_WRITER = {"bert": "bert", "roberta": "roberta", "distilbert": "bert"}


def text_folder(path, family: str = "bert", head: str = "ForSequenceClassification", labels=None, seed: int = 0,
                max_positions: int = 128, **overrides) -> Path:
    """A folder with a tiny random ``<Family><head>`` and its tokenizer, as Transformers writes them."""
    import torch
    import transformers

    path = Path(path)
    WRITERS[_WRITER[family]](path)
    config_name, tokenizer_name = _CONFIGS[family]
    tokenizer = getattr(transformers, tokenizer_name).from_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    sizes = dict(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=37, max_position_embeddings=max_positions, pad_token_id=tokenizer.pad_token_id)
    if family == "distilbert":
        sizes.update(dim=32, n_layers=2, n_heads=2, hidden_dim=37)
    if labels is not None:
        sizes.update(id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)})
    config = getattr(transformers, config_name)(**{**sizes, **overrides})
    torch.manual_seed(seed)
    model_name = {"bert": "Bert", "roberta": "Roberta", "distilbert": "DistilBert"}[family] + head
    model = getattr(transformers, model_name)(config)
    if head == "ForQuestionAnswering":  # sharper logits, so spans differ clearly
        with torch.no_grad():
            model.qa_outputs.weight.mul_(20.0)
    model.save_pretrained(str(path))
    return path
