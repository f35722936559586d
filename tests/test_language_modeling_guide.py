"""The causal language-modeling guide (seed page ``tasks/language_modeling.md``) run as written with
``polymodal`` in place of ``transformers``, on the bundled generated ELI5-shaped set.

"distilbert/distilgpt2" becomes a tiny GPT-2 folder with a byte-level BPE tokenizer trained on
the bundled corpus; ``notebook_login``/``push_to_hub`` (network) are skipped and the model is
saved with ``trainer.save_model()``. Transformers is the oracle for preprocessing, the collator's
batches and generation from the fine-tuned folder.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

transformers = pytest.importorskip("transformers")
datasets = pytest.importorskip("datasets")

from polymodal.datasets import text_data_path  # noqa: E402


def _texts() -> list[str]:
    rows = [json.loads(line) for line in open(text_data_path("eli5"), encoding="utf-8")]
    return [t for row in rows for t in row["answers"]["text"]] + [row["title"] for row in rows]


@pytest.fixture(scope="module")
def distilgpt2_dir(tmp_path_factory):
    """Stands in for "distilbert/distilgpt2": GPT-2 architecture, byte-level BPE, no pad token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    path = tmp_path_factory.mktemp("distilgpt2")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(_texts() + ["Somatic hypermutation allows the immune system to"], trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    hf_tok = transformers.GPT2TokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>",
                                            eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    hf_tok.save_pretrained(path)
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=len(hf_tok), n_positions=256, n_embd=32, n_layer=2, n_head=2,
                                     bos_token_id=0, eos_token_id=0)
    transformers.GPT2LMHeadModel(config).save_pretrained(path)
    return str(path)


def test_causal_language_modeling_guide(distilgpt2_dir, tmp_path):
    from datasets import load_dataset

    from polymodal import AutoTokenizer

    # >>> eli5 = load_dataset("eli5", split="train_asks[:5000]")
    eli5 = load_dataset("json", data_files=text_data_path("eli5"), split="train[:120]")
    eli5 = eli5.train_test_split(test_size=0.2, seed=0)
    tokenizer = AutoTokenizer.from_pretrained(distilgpt2_dir)
    eli5 = eli5.flatten()
    assert "answers.text" in eli5["train"].column_names

    def preprocess_function(examples):
        return tokenizer([" ".join(x) for x in examples["answers.text"]])

    tokenized_eli5 = eli5.map(preprocess_function, batched=True, remove_columns=eli5["train"].column_names)
    oracle_tok = transformers.AutoTokenizer.from_pretrained(distilgpt2_dir)
    first = " ".join(eli5["train"][0]["answers.text"])
    assert tokenized_eli5["train"][0]["input_ids"] == oracle_tok(first)["input_ids"]
    block_size = 128

    def group_texts(examples):
        # Concatenate all texts.
        concatenated_examples = {k: sum(examples[k], []) for k in examples.keys()}
        total_length = len(concatenated_examples[list(examples.keys())[0]])
        # We drop the small remainder.
        if total_length >= block_size:
            total_length = (total_length // block_size) * block_size
        # Split by chunks of block_size.
        result = {
            k: [t[i: i + block_size] for i in range(0, total_length, block_size)]
            for k, t in concatenated_examples.items()
        }
        result["labels"] = result["input_ids"].copy()
        return result

    lm_dataset = tokenized_eli5.map(group_texts, batched=True)
    assert len(lm_dataset["train"]) >= 8 and len(lm_dataset["train"][0]["input_ids"]) == block_size

    from polymodal import DataCollatorForLanguageModeling

    tokenizer.pad_token = tokenizer.eos_token
    data_collator = DataCollatorForLanguageModeling(tokenizer=tokenizer, mlm=False)
    oracle_tok.pad_token = oracle_tok.eos_token
    oracle_collator = transformers.DataCollatorForLanguageModeling(tokenizer=oracle_tok, mlm=False)
    features = [lm_dataset["train"][i] for i in range(3)]
    batch, expected = data_collator(features), oracle_collator(features)
    for key in expected:
        assert torch.equal(batch[key], expected[key]), key

    from polymodal import AutoModelForCausalLM, Trainer, TrainingArguments

    model = AutoModelForCausalLM.from_pretrained(distilgpt2_dir)
    training_args = TrainingArguments(
        output_dir=str(tmp_path / "my_awesome_eli5_clm-model"),
        eval_strategy="epoch",
        learning_rate=1e-2,  # the guide's 2e-5 fine-tunes a pretrained model; ours starts random
        weight_decay=0.01,
        num_train_epochs=6,
        per_device_train_batch_size=8,
        report_to="none",
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=lm_dataset["train"],
        eval_dataset=lm_dataset["test"],
        data_collator=data_collator,
    )
    before = math.exp(trainer.evaluate()["eval_loss"])
    trainer.train()
    eval_results = trainer.evaluate()
    perplexity = math.exp(eval_results["eval_loss"])
    print(f"Perplexity: {perplexity:.2f}")
    assert perplexity < before and perplexity < len(tokenizer) / 4  # it learnt the corpus
    trainer.save_model()
    folder = training_args.output_dir
    tokenizer.save_pretrained(folder)

    # Inference, as the guide does it; Transformers on the same folder is the oracle.
    prompt = "Somatic hypermutation allows the immune system to"
    from polymodal import pipeline

    generator = pipeline("text-generation", model=folder)
    torch.manual_seed(0)
    result = generator(prompt, max_new_tokens=20)
    torch.manual_seed(0)
    reference = transformers.pipeline("text-generation", model=folder)(prompt, max_new_tokens=20)
    assert result[0]["generated_text"].startswith(prompt)
    assert result == reference

    tokenizer = AutoTokenizer.from_pretrained(folder)
    inputs = tokenizer(prompt, return_tensors="pt").input_ids
    model = AutoModelForCausalLM.from_pretrained(folder)
    torch.manual_seed(1)
    outputs = model.generate(inputs, max_new_tokens=40, do_sample=True, top_k=50, top_p=0.95)
    torch.manual_seed(1)
    oracle = transformers.AutoModelForCausalLM.from_pretrained(folder).eval()
    expected = oracle.generate(inputs, max_new_tokens=40, do_sample=True, top_k=50, top_p=0.95)
    assert torch.equal(outputs, expected)
    text = tokenizer.batch_decode(outputs, skip_special_tokens=True)
    assert text == oracle_tok.batch_decode(expected, skip_special_tokens=True) and text[0].startswith(prompt)
