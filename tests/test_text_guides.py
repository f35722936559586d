"""The NLP task guides (seed pages ``tasks/question_answering.md``, ``tasks/multiple_choice.md`` and
the masked-LM guide), run as written with ``polymodal`` in place of ``transformers``.

Hub ids become tiny local checkpoints built here; the hub datasets become the bundled
generated sets (``polymodal.datasets.text_data_path``), loaded with ``datasets`` exactly as the
guides load theirs. ``notebook_login()`` / ``push_to_hub`` (network) are skipped; the trained
model is saved with ``trainer.save_model()`` instead. Transformers is the oracle for the
preprocessing and for inference on the trained folder.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")
datasets = pytest.importorskip("datasets")

import polymodal  # noqa: E402
from polymodal.datasets import text_data_path  # noqa: E402

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37)


def _corpus() -> list[str]:
    import json

    texts = []
    for name in ("squad", "swag", "eli5"):
        for line in open(text_data_path(name), encoding="utf-8"):
            row = json.loads(line)
            texts += [v for v in row.values() if isinstance(v, str)]
            texts += [t for v in row.values() if isinstance(v, dict) for t in v.get("text", [])]
    return texts + ["How many programming languages does BLOOM support?",
                    "France has a bread law, Le Décret Pain, with strict rules on what is allowed in a baguette."]


def _wordpiece_folder(path):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    path.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(_corpus(), trainers.WordPieceTrainer(
        vocab_size=400, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], show_progress=False))
    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    (path / "vocab.txt").write_text("\n".join(t for t, _ in vocab) + "\n", encoding="utf-8")
    return path


def _bpe_folder(path):
    import json

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    path.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(_corpus(), trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    model = json.loads(tok.to_str())["model"]
    vocab = [t for t, _ in sorted(model["vocab"].items(), key=lambda kv: kv[1])] + ["<mask>"]
    (path / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    (path / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def distilbert_dir(tmp_path_factory):
    """Stands in for "distilbert/distilbert-base-uncased"."""
    path = _wordpiece_folder(tmp_path_factory.mktemp("distilbert-base-uncased"))
    tokenizer = polymodal.DistilBertTokenizer.from_pretrained(str(path))
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(path)
    torch.manual_seed(0)
    config = polymodal.DistilBertConfig(vocab_size=len(tokenizer), dim=32, n_layers=2, n_heads=2, hidden_dim=37)
    polymodal.DistilBertForMaskedLM(config).save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    """Stands in for "google-bert/bert-base-uncased"."""
    path = _wordpiece_folder(tmp_path_factory.mktemp("bert-base-uncased"))
    tokenizer = polymodal.BertTokenizer.from_pretrained(str(path))
    tokenizer.save_pretrained(path)
    torch.manual_seed(0)
    polymodal.BertForMaskedLM(polymodal.BertConfig(vocab_size=len(tokenizer), **TINY)).save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def distilroberta_dir(tmp_path_factory):
    """Stands in for "distilbert/distilroberta-base"."""
    path = _bpe_folder(tmp_path_factory.mktemp("distilroberta-base"))
    tokenizer = polymodal.RobertaTokenizer.from_pretrained(str(path))
    tokenizer.save_pretrained(path)
    torch.manual_seed(0)
    config = polymodal.RobertaConfig(vocab_size=len(tokenizer), max_position_embeddings=160, **TINY)
    polymodal.RobertaForMaskedLM(config).save_pretrained(path)
    return str(path)


def _args(tmp_path, name, **overrides):
    # The guides' arguments, minus push_to_hub (network); a few steps' worth of epochs.
    return {**dict(output_dir=str(tmp_path / name), eval_strategy="epoch", learning_rate=2e-5,
                   per_device_train_batch_size=16, per_device_eval_batch_size=16, num_train_epochs=1,
                   weight_decay=0.01, report_to="none"), **overrides}


# --------------------------------------------------------------------------- question answering
def test_question_answering_guide(distilbert_dir, tmp_path):
    from datasets import load_dataset

    from polymodal import AutoTokenizer, DefaultDataCollator

    # >>> squad = load_dataset("squad", split="train[:5000]")
    squad = load_dataset("json", data_files=text_data_path("squad"), split="train[:40]")
    squad = squad.train_test_split(test_size=0.2, seed=0)
    example = squad["train"][0]
    assert set(example) >= {"answers", "context", "question", "id", "title"}

    tokenizer = AutoTokenizer.from_pretrained(distilbert_dir)

    def preprocess_function(examples, tokenizer=tokenizer):
        questions = [q.strip() for q in examples["question"]]
        inputs = tokenizer(
            questions,
            examples["context"],
            max_length=384,
            truncation="only_second",
            return_offsets_mapping=True,
            padding="max_length",
        )
        offset_mapping = inputs.pop("offset_mapping")
        answers = examples["answers"]
        start_positions = []
        end_positions = []
        for i, offset in enumerate(offset_mapping):
            answer = answers[i]
            start_char = answer["answer_start"][0]
            end_char = answer["answer_start"][0] + len(answer["text"][0])
            sequence_ids = inputs.sequence_ids(i)
            # Find the start and end of the context
            idx = 0
            while sequence_ids[idx] != 1:
                idx += 1
            context_start = idx
            while sequence_ids[idx] == 1:
                idx += 1
            context_end = idx - 1
            # If the answer is not fully inside the context, label it (0, 0)
            if offset[context_start][0] > end_char or offset[context_end][1] < start_char:
                start_positions.append(0)
                end_positions.append(0)
            else:
                # Otherwise it's the start and end token positions
                idx = context_start
                while idx <= context_end and offset[idx][0] <= start_char:
                    idx += 1
                start_positions.append(idx - 1)
                idx = context_end
                while idx >= context_start and offset[idx][1] >= end_char:
                    idx -= 1
                end_positions.append(idx + 1)
        inputs["start_positions"] = start_positions
        inputs["end_positions"] = end_positions
        return inputs

    tokenized_squad = squad.map(preprocess_function, batched=True, remove_columns=squad["train"].column_names)
    # Oracle: Transformers' tokenizer gives the same ids and answer positions.
    oracle_tok = transformers.AutoTokenizer.from_pretrained(distilbert_dir)
    expected = preprocess_function(squad["train"][:8], oracle_tok)
    for key in ("input_ids", "attention_mask", "start_positions", "end_positions"):
        assert tokenized_squad["train"][:8][key] == list(expected[key]), key
    spans = [tokenizer.decode(row["input_ids"][row["start_positions"]:row["end_positions"] + 1])
             for row in tokenized_squad["train"].select(range(8))]
    assert spans == [a["text"][0].lower() for a in squad["train"][:8]["answers"]]

    data_collator = DefaultDataCollator()
    from polymodal import AutoModelForQuestionAnswering, Trainer, TrainingArguments

    model = AutoModelForQuestionAnswering.from_pretrained(distilbert_dir)
    training_args = TrainingArguments(**_args(tmp_path, "my_awesome_qa_model"))
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=tokenized_squad["train"],
        eval_dataset=tokenized_squad["test"],
        tokenizer=tokenizer,
        data_collator=data_collator,
    )
    trainer.train()
    assert any("eval_loss" in entry for entry in trainer.state.log_history)
    trainer.save_model()  # in place of trainer.push_to_hub()
    folder = training_args.output_dir

    question = "How many programming languages does BLOOM support?"
    context = ("BLOOM has 176 billion parameters and can generate text in 46 languages natural languages and 13 "
               "programming languages.")
    from polymodal import pipeline

    question_answerer = pipeline("question-answering", model=folder)
    answer = question_answerer(question=question, context=context)
    assert set(answer) == {"score", "start", "end", "answer"} and answer["answer"] == context[answer["start"]:
                                                                                            answer["end"]]

    tokenizer = AutoTokenizer.from_pretrained(folder)
    inputs = tokenizer(question, context, return_tensors="pt")
    model = AutoModelForQuestionAnswering.from_pretrained(folder)
    with torch.no_grad():
        outputs = model(**inputs)
    answer_start_index = outputs.start_logits.argmax()
    answer_end_index = outputs.end_logits.argmax()
    predict_answer_tokens = inputs.input_ids[0, answer_start_index: answer_end_index + 1]
    decoded = tokenizer.decode(predict_answer_tokens)
    # Oracle: Transformers loads the trained folder and gives the same logits.
    oracle = transformers.AutoModelForQuestionAnswering.from_pretrained(folder).eval()
    with torch.no_grad():
        reference = oracle(**inputs)
    torch.testing.assert_close(outputs.start_logits, reference.start_logits, atol=1e-5, rtol=1e-4)
    assert decoded == oracle_tok.decode(predict_answer_tokens)


# --------------------------------------------------------------------------- multiple choice
def test_multiple_choice_guide(bert_dir, tmp_path):
    from datasets import load_dataset

    from polymodal import AutoTokenizer

    # >>> swag = load_dataset("swag", "regular")
    rows = load_dataset("json", data_files=text_data_path("swag"), split="train[:60]")
    swag = datasets.DatasetDict(train=rows.filter(lambda r: r["split"] == "train"),
                                validation=rows.filter(lambda r: r["split"] == "validation"))
    tokenizer = AutoTokenizer.from_pretrained(bert_dir)
    ending_names = ["ending0", "ending1", "ending2", "ending3"]

    def preprocess_function(examples, tokenizer=tokenizer):
        first_sentences = [[context] * 4 for context in examples["sent1"]]
        question_headers = examples["sent2"]
        second_sentences = [
            [f"{header} {examples[end][i]}" for end in ending_names] for i, header in enumerate(question_headers)
        ]
        first_sentences = sum(first_sentences, [])
        second_sentences = sum(second_sentences, [])
        tokenized_examples = tokenizer(first_sentences, second_sentences, truncation=True)
        return {k: [v[i: i + 4] for i in range(0, len(v), 4)] for k, v in tokenized_examples.items()}

    tokenized_swag = swag.map(preprocess_function, batched=True)
    oracle_tok = transformers.AutoTokenizer.from_pretrained(bert_dir)
    assert tokenized_swag["train"][:4]["input_ids"] == preprocess_function(swag["train"][:4], oracle_tok)["input_ids"]

    from polymodal import DataCollatorForMultipleChoice  # the guide defines this class; polymodal ships it

    accuracy_values = []

    def compute_metrics(eval_pred):
        predictions, labels = eval_pred
        predictions = np.argmax(predictions, axis=1)
        accuracy = float((predictions == labels).mean())  # evaluate.load("accuracy") needs the network
        accuracy_values.append(accuracy)
        return {"accuracy": accuracy}

    from polymodal import AutoModelForMultipleChoice, Trainer, TrainingArguments

    model = AutoModelForMultipleChoice.from_pretrained(bert_dir)
    training_args = TrainingArguments(**_args(tmp_path, "my_awesome_swag_model", save_strategy="epoch",
                                              load_best_model_at_end=True, learning_rate=5e-5))
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=tokenized_swag["train"],
        eval_dataset=tokenized_swag["validation"],
        tokenizer=tokenizer,
        data_collator=DataCollatorForMultipleChoice(tokenizer=tokenizer),
        compute_metrics=compute_metrics,
    )
    trainer.train()
    assert accuracy_values and 0.0 <= accuracy_values[-1] <= 1.0
    trainer.save_model()
    folder = training_args.output_dir

    prompt = "France has a bread law, Le Décret Pain, with strict rules on what is allowed in a traditional baguette."
    candidate1 = "The law does not apply to croissants and brioche."
    candidate2 = "The law applies to baguettes."
    tokenizer = AutoTokenizer.from_pretrained(folder)
    inputs = tokenizer([[prompt, candidate1], [prompt, candidate2]], return_tensors="pt", padding=True)
    labels = torch.tensor(0).unsqueeze(0)
    model = AutoModelForMultipleChoice.from_pretrained(folder)
    outputs = model(**{k: v.unsqueeze(0) for k, v in inputs.items()}, labels=labels)
    logits = outputs.logits
    predicted_class = logits.argmax().item()
    assert predicted_class in (0, 1)
    expected_inputs = oracle_tok([[prompt, candidate1], [prompt, candidate2]], return_tensors="pt", padding=True)
    assert torch.equal(inputs["input_ids"], expected_inputs["input_ids"])
    oracle = transformers.AutoModelForMultipleChoice.from_pretrained(folder).eval()
    with torch.no_grad():
        reference = oracle(**{k: v.unsqueeze(0) for k, v in inputs.items()}, labels=labels)
    torch.testing.assert_close(outputs.logits.detach(), reference.logits, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(outputs.loss.detach(), reference.loss, atol=1e-5, rtol=1e-4)


# --------------------------------------------------------------------------- masked language modelling
def test_masked_language_modeling_guide(distilroberta_dir, tmp_path):
    from datasets import load_dataset

    from polymodal import AutoTokenizer

    # >>> eli5 = load_dataset("eli5", split="train_asks[:5000]")
    eli5 = load_dataset("json", data_files=text_data_path("eli5"), split="train[:80]")
    eli5 = eli5.train_test_split(test_size=0.2, seed=0)
    tokenizer = AutoTokenizer.from_pretrained(distilroberta_dir)
    eli5 = eli5.flatten()
    assert "answers.text" in eli5["train"].column_names

    def preprocess_function(examples):
        return tokenizer([" ".join(x) for x in examples["answers.text"]])

    tokenized_eli5 = eli5.map(preprocess_function, batched=True, remove_columns=eli5["train"].column_names)
    block_size = 128

    def group_texts(examples):
        concatenated_examples = {k: sum(examples[k], []) for k in examples.keys()}
        total_length = len(concatenated_examples[list(examples.keys())[0]])
        if total_length >= block_size:
            total_length = (total_length // block_size) * block_size
        result = {
            k: [t[i: i + block_size] for i in range(0, total_length, block_size)]
            for k, t in concatenated_examples.items()
        }
        return result

    lm_dataset = tokenized_eli5.map(group_texts, batched=True)
    from polymodal import DataCollatorForLanguageModeling

    tokenizer.pad_token = tokenizer.eos_token
    data_collator = DataCollatorForLanguageModeling(tokenizer=tokenizer, mlm_probability=0.15)
    batch = data_collator([lm_dataset["train"][i] for i in range(4)])
    assert batch["input_ids"].shape == batch["labels"].shape == (4, block_size)
    assert (batch["input_ids"] == tokenizer.mask_token_id).any()

    from polymodal import AutoModelForMaskedLM, Trainer, TrainingArguments

    model = AutoModelForMaskedLM.from_pretrained(distilroberta_dir)
    training_args = TrainingArguments(**_args(tmp_path, "my_awesome_eli5_mlm_model", num_train_epochs=3,
                                              learning_rate=1e-3))
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=lm_dataset["train"],
        eval_dataset=lm_dataset["test"],
        data_collator=data_collator,
    )
    trainer.train()
    eval_results = trainer.evaluate()
    perplexity = math.exp(eval_results["eval_loss"])
    assert perplexity < len(tokenizer)  # learnt something: better than uniform over the vocabulary
    trainer.save_model()
    folder = training_args.output_dir
    tokenizer.save_pretrained(folder)

    text = "The Milky Way is a <mask> galaxy."
    from polymodal import pipeline

    mask_filler = pipeline("fill-mask", folder)
    results = mask_filler(text, top_k=3)
    oracle_filler = transformers.pipeline("fill-mask", folder)
    expected = oracle_filler(text, top_k=3)
    assert [r["token"] for r in results] == [r["token"] for r in expected]
    np.testing.assert_allclose([r["score"] for r in results], [r["score"] for r in expected], atol=1e-5)

    inputs = tokenizer(text, return_tensors="pt")
    mask_token_index = torch.where(inputs["input_ids"] == tokenizer.mask_token_id)[1]
    model = AutoModelForMaskedLM.from_pretrained(folder)
    logits = model(**inputs).logits
    mask_token_logits = logits[0, mask_token_index, :]
    top_3_tokens = torch.topk(mask_token_logits, 3, dim=1).indices[0].tolist()
    assert top_3_tokens == [r["token"] for r in expected]
    for token in top_3_tokens:
        assert text.replace(tokenizer.mask_token, tokenizer.decode([token])).startswith("The Milky Way is a")
