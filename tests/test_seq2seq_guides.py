"""The summarisation and translation guides (seed pages ``tasks/summarization.md`` and
``tasks/translation.md``), run as written with ``polymodal`` in place of ``transformers``.

"google-t5/t5-small" becomes a tiny random T5 (SentencePiece tokenizer trained on the bundled
pairs, T5's task_specific_params); BillSum and opus_books become the bundled generated sets
(``polymodal.datasets.text_data_path("billsum" | "opus_books")``) loaded with ``datasets``;
``evaluate.load`` becomes ``polymodal.metrics.load``. ``notebook_login``/``push_to_hub`` (network) and
``fp16=True`` (no GPU in CI) are left out; the model is saved with ``trainer.save_model()``.
Transformers is the oracle for the preprocessing and for inference on the trained folder.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from seq2seq_helpers import write_tiny_t5_lm

transformers = pytest.importorskip("transformers")
datasets = pytest.importorskip("datasets")
pytest.importorskip("rouge_score")
pytest.importorskip("sacrebleu")

import polymodal  # noqa: E402
from polymodal.datasets import text_data_path  # noqa: E402


def _corpus() -> list[str]:
    texts = []
    for line in open(text_data_path("billsum"), encoding="utf-8"):
        row = json.loads(line)
        texts += ["summarize: " + row["text"], row["summary"]]
    for line in open(text_data_path("opus_books"), encoding="utf-8"):
        pair = json.loads(line)["translation"]
        texts += ["translate English to French: " + pair["en"], pair["fr"]]
    return texts


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """Stands in for "google-t5/t5-small"."""
    return str(write_tiny_t5_lm(tmp_path_factory.mktemp("t5-small"), corpus=_corpus()))


def _args(tmp_path, name):
    # The guides' arguments minus push_to_hub and fp16; one epoch on the tiny sets.
    return dict(output_dir=str(tmp_path / name), eval_strategy="epoch", learning_rate=2e-3,
                per_device_train_batch_size=16, per_device_eval_batch_size=16, weight_decay=0.01,
                save_total_limit=3, num_train_epochs=1, predict_with_generate=True, generation_max_length=16,
                report_to="none")


def _by_hand(folder, text, **generate):
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(folder).eval()
    inputs = tokenizer(text, return_tensors="pt").input_ids
    with torch.no_grad():
        outputs = model.generate(inputs, **generate)
    return tokenizer.decode(outputs[0], skip_special_tokens=True)


def test_summarization_guide(checkpoint, tmp_path):
    from datasets import load_dataset

    from polymodal import (
        AutoModelForSeq2SeqLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        Seq2SeqTrainer,
        Seq2SeqTrainingArguments,
        pipeline,
    )

    # >>> billsum = load_dataset("billsum", split="ca_test")
    billsum = load_dataset("json", data_files=text_data_path("billsum"), split="train")
    billsum = billsum.train_test_split(test_size=0.2, seed=0)
    assert set(billsum["train"][0]) == {"text", "summary", "title"}
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    prefix = "summarize: "

    def preprocess_function(examples, tokenizer=tokenizer):
        inputs = [prefix + doc for doc in examples["text"]]
        model_inputs = tokenizer(inputs, max_length=1024, truncation=True)
        labels = tokenizer(text_target=examples["summary"], max_length=128, truncation=True)
        model_inputs["labels"] = labels["input_ids"]
        return model_inputs

    tokenized_billsum = billsum.map(preprocess_function, batched=True)
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(checkpoint)
    oracle = billsum["train"].select(range(4)).map(lambda e: preprocess_function(e, hf_tokenizer), batched=True)
    assert tokenized_billsum["train"][:4]["labels"] == oracle["labels"]
    assert tokenized_billsum["train"][:4]["input_ids"] == oracle["input_ids"]

    data_collator = DataCollatorForSeq2Seq(tokenizer=tokenizer, model=checkpoint)
    rouge = polymodal.metrics.load("rouge")

    def compute_metrics(eval_pred):
        predictions, labels = eval_pred
        decoded_preds = tokenizer.batch_decode(predictions, skip_special_tokens=True)
        labels = np.where(labels != -100, labels, tokenizer.pad_token_id)
        decoded_labels = tokenizer.batch_decode(labels, skip_special_tokens=True)
        result = rouge.compute(predictions=decoded_preds, references=decoded_labels, use_stemmer=True)
        prediction_lens = [np.count_nonzero(pred != tokenizer.pad_token_id) for pred in predictions]
        result["gen_len"] = np.mean(prediction_lens)
        return {k: round(v, 4) for k, v in result.items()}

    model = AutoModelForSeq2SeqLM.from_pretrained(checkpoint)
    training_args = Seq2SeqTrainingArguments(**_args(tmp_path, "my_awesome_billsum_model"))
    trainer = Seq2SeqTrainer(model=model, args=training_args, train_dataset=tokenized_billsum["train"],
                             eval_dataset=tokenized_billsum["test"], tokenizer=tokenizer,
                             data_collator=data_collator, compute_metrics=compute_metrics)
    trainer.train()
    metrics = next(log for log in trainer.state.log_history if "eval_loss" in log)  # the epoch's evaluation
    assert {"eval_rouge1", "eval_rouge2", "eval_rougeL", "eval_rougeLsum", "eval_gen_len"} <= set(metrics)
    folder = str(tmp_path / "my_awesome_billsum_model")
    trainer.save_model(folder)

    # Inference: the pipeline, then by hand — both equal Transformers on the trained folder
    text = ("summarize: The Energy Commission shall repair flood barriers in every county. The Energy Commission "
            "may spend up to $75,000 each year for this purpose.")
    summarizer = pipeline("summarization", model=folder)
    params = {k: v for k, v in summarizer.task_params().items() if k != "prefix"}
    expected = _by_hand(folder, "summarize: " + text, **params)  # T5's task prefix is added by the pipeline
    assert summarizer(text) == [{"summary_text": expected}]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    inputs = tokenizer(text, return_tensors="pt").input_ids
    model = AutoModelForSeq2SeqLM.from_pretrained(folder)
    outputs = model.generate(inputs, max_new_tokens=100, do_sample=False)
    assert tokenizer.decode(outputs[0], skip_special_tokens=True) == _by_hand(folder, text, max_new_tokens=100,
                                                                               do_sample=False)


def test_translation_guide(checkpoint, tmp_path):
    from datasets import load_dataset

    from polymodal import (
        AutoModelForSeq2SeqLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        Seq2SeqTrainer,
        Seq2SeqTrainingArguments,
        pipeline,
    )

    # >>> books = load_dataset("opus_books", "en-fr")
    books = load_dataset("json", data_files=text_data_path("opus_books"))
    books = books["train"].train_test_split(test_size=0.2, seed=0)
    assert set(books["train"][0]["translation"]) == {"en", "fr"}
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    source_lang, target_lang = "en", "fr"
    prefix = "translate English to French: "

    def preprocess_function(examples, tokenizer=tokenizer):
        inputs = [prefix + example[source_lang] for example in examples["translation"]]
        targets = [example[target_lang] for example in examples["translation"]]
        return tokenizer(inputs, text_target=targets, max_length=128, truncation=True)

    tokenized_books = books.map(preprocess_function, batched=True)
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(checkpoint)
    oracle = books["train"].select(range(4)).map(lambda e: preprocess_function(e, hf_tokenizer), batched=True)
    assert tokenized_books["train"][:4]["labels"] == oracle["labels"]

    data_collator = DataCollatorForSeq2Seq(tokenizer=tokenizer, model=checkpoint)
    metric = polymodal.metrics.load("sacrebleu")

    def postprocess_text(preds, labels):
        preds = [pred.strip() for pred in preds]
        labels = [[label.strip()] for label in labels]
        return preds, labels

    def compute_metrics(eval_preds):
        preds, labels = eval_preds
        if isinstance(preds, tuple):
            preds = preds[0]
        decoded_preds = tokenizer.batch_decode(preds, skip_special_tokens=True)
        labels = np.where(labels != -100, labels, tokenizer.pad_token_id)
        decoded_labels = tokenizer.batch_decode(labels, skip_special_tokens=True)
        decoded_preds, decoded_labels = postprocess_text(decoded_preds, decoded_labels)
        result = metric.compute(predictions=decoded_preds, references=decoded_labels)
        result = {"bleu": result["score"]}
        prediction_lens = [np.count_nonzero(pred != tokenizer.pad_token_id) for pred in preds]
        result["gen_len"] = np.mean(prediction_lens)
        return {k: round(v, 4) for k, v in result.items()}

    model = AutoModelForSeq2SeqLM.from_pretrained(checkpoint)
    training_args = Seq2SeqTrainingArguments(**_args(tmp_path, "my_awesome_opus_books_model"))
    trainer = Seq2SeqTrainer(model=model, args=training_args, train_dataset=tokenized_books["train"],
                             eval_dataset=tokenized_books["test"], tokenizer=tokenizer,
                             data_collator=data_collator, compute_metrics=compute_metrics)
    trainer.train()
    assert {"eval_bleu", "eval_gen_len"} <= set(next(log for log in trainer.state.log_history if "eval_loss" in log))
    folder = str(tmp_path / "my_awesome_opus_books_model")
    trainer.save_model(folder)

    text = "translate English to French: Legumes share resources with nitrogen-fixing bacteria."
    translator = pipeline("translation", model=folder, max_new_tokens=40)  # (the default is 256 new tokens)
    expected = _by_hand(folder, text, max_new_tokens=40)  # no task params for plain "translation"
    assert translator(text) == [{"translation_text": expected}]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    inputs = tokenizer(text, return_tensors="pt").input_ids
    model = AutoModelForSeq2SeqLM.from_pretrained(folder)
    torch.manual_seed(0)
    outputs = model.generate(inputs, max_new_tokens=40, do_sample=True, top_k=30, top_p=0.95)
    torch.manual_seed(0)
    assert tokenizer.decode(outputs[0], skip_special_tokens=True) == _by_hand(
        folder, text, max_new_tokens=40, do_sample=True, top_k=30, top_p=0.95)
