"""Whisper, T5, ByT5 and BART tokenizers against Transformers on tiny files built at test time."""

from __future__ import annotations

import io

import pytest
import transformers
from tokenizer_helpers import CORPUS, SENTENCES, write_roberta_files
from whisper_helpers import write_whisper_tokenizer

from polymodal import AutoTokenizer
from polymodal.core.errors import InvalidInputError
from polymodal.models.bart.tokenization import BartTokenizer
from polymodal.models.t5.tokenization import ByT5Tokenizer, T5Tokenizer
from polymodal.models.whisper.processing import WhisperProcessor
from polymodal.models.whisper.tokenization import WhisperTokenizer

TIMESTAMPED = ("<|startoftranscript|><|en|><|transcribe|><|0.00|> Hello world<|1.20|><|1.20|> more text<|2.50|>"
               "<|0.00|> next window<|1.00|><|endoftext|>")


@pytest.fixture(scope="module")
def whisper_dir(tmp_path_factory):
    return write_whisper_tokenizer(tmp_path_factory.mktemp("whisper_tok"))


@pytest.fixture(scope="module")
def t5_dir(tmp_path_factory):
    import sentencepiece as spm

    folder = tmp_path_factory.mktemp("t5_tok")
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([s for s in CORPUS if s.strip()]), model_writer=model, vocab_size=300,
        model_type="unigram", hard_vocab_limit=False, character_coverage=1.0, minloglevel=2,
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1)
    (folder / "spiece.model").write_bytes(model.getvalue())
    return folder


def _same_ids(ours, theirs, texts, **kwargs):
    for text in texts:
        assert ours(text, **kwargs).input_ids == theirs(text, **kwargs).input_ids, text


def test_whisper_ids_prefix_tokens_and_decoding(whisper_dir):
    theirs = transformers.WhisperTokenizer.from_pretrained(whisper_dir)
    ours = AutoTokenizer.from_pretrained(whisper_dir)
    assert isinstance(ours, WhisperTokenizer)
    _same_ids(ours, theirs, SENTENCES)
    for language, task in (("fr", "translate"), ("German", "transcribe"), (None, None)):
        theirs.set_prefix_tokens(language=language, task=task)
        ours.set_prefix_tokens(language=language, task=task)
        _same_ids(ours, theirs, ["hello world"], text_target=None)
    assert ours.get_decoder_prompt_ids(language="de", task="transcribe", no_timestamps=False) == \
        theirs.get_decoder_prompt_ids(language="de", task="transcribe", no_timestamps=False)
    ids = theirs(TIMESTAMPED, add_special_tokens=False).input_ids
    assert ours(TIMESTAMPED, add_special_tokens=False).input_ids == ids
    for kwargs in ({}, {"skip_special_tokens": True}, {"output_offsets": True}, {"decode_with_timestamps": True},
                   {"decode_with_timestamps": True, "skip_special_tokens": True}):
        assert ours.decode(ids, **kwargs) == theirs.decode(ids, **kwargs), kwargs
    assert ours.batch_decode([ids, ids[:6]], skip_special_tokens=True) == \
        theirs.batch_decode([ids, ids[:6]], skip_special_tokens=True)
    prompt = ours.get_prompt_ids("a prompt")
    assert list(prompt) == list(theirs.get_prompt_ids("a prompt"))
    assert ours.decode([*prompt.tolist(), *ids], skip_special_tokens=True) == \
        theirs.decode([*prompt.tolist(), *ids], skip_special_tokens=True)


def test_whisper_bad_language_and_task(whisper_dir):
    ours = WhisperTokenizer.from_pretrained(whisper_dir)
    with pytest.raises(InvalidInputError, match="Unsupported language 'klingon'"):
        ours.set_prefix_tokens(language="klingon")
    with pytest.raises(InvalidInputError, match="Unsupported task"):
        ours.set_prefix_tokens(language="en", task="summarize")


def test_whisper_processor_and_round_trip(whisper_dir, tmp_path):
    import numpy as np

    from polymodal.models.whisper.feature_extraction import WhisperFeatureExtractor

    processor = WhisperProcessor(WhisperFeatureExtractor(feature_size=8), WhisperTokenizer.from_pretrained(whisper_dir))
    batch = processor(audio=np.zeros(1600, dtype=np.float32), sampling_rate=16000, text="hello")
    assert batch["input_features"].shape[1] == 8 and batch["labels"][0] == processor.tokenizer("hello").input_ids[0]
    processor.save_pretrained(tmp_path)
    reloaded = WhisperProcessor.from_pretrained(tmp_path)
    assert reloaded.tokenizer("hello world").input_ids == processor.tokenizer("hello world").input_ids
    theirs = transformers.WhisperTokenizer.from_pretrained(tmp_path)
    assert theirs("hello world").input_ids == processor.tokenizer("hello world").input_ids


def test_t5_sentencepiece_ids_sentinels_and_text_target(t5_dir, tmp_path):
    theirs = transformers.T5Tokenizer.from_pretrained(t5_dir)
    ours = T5Tokenizer.from_pretrained(t5_dir)
    assert len(ours) == len(theirs)
    assert ours.convert_tokens_to_ids(["<extra_id_0>", "<extra_id_99>"]) == \
        theirs.convert_tokens_to_ids(["<extra_id_0>", "<extra_id_99>"])
    texts = [*SENTENCES, "summarize: the <extra_id_0> fox </s>", "translate English to German: hello"]
    _same_ids(ours, theirs, texts)
    pair_a = ours(texts[:3], text_target=texts[3:6], padding=True, truncation=True, max_length=12)
    pair_b = theirs(texts[:3], text_target=texts[3:6], padding=True, truncation=True, max_length=12)
    assert pair_a["input_ids"] == pair_b["input_ids"] and pair_a["labels"] == pair_b["labels"]
    for text in texts:
        ids = theirs(text).input_ids
        assert ours.decode(ids, skip_special_tokens=True) == theirs.decode(ids, skip_special_tokens=True)
    theirs.save_pretrained(tmp_path)
    _same_ids(T5Tokenizer.from_pretrained(tmp_path), theirs, texts)


def test_byt5_bytes():
    theirs, ours = transformers.ByT5Tokenizer(), ByT5Tokenizer()
    assert len(ours) == len(theirs)
    texts = [s for s in SENTENCES if not s.rstrip().endswith("</s>")] + ["hello </s> world <extra_id_3>"]
    _same_ids(ours, theirs, texts)
    _same_ids(ours, theirs, [texts[:3]], padding=True)
    for text in texts:
        ids = theirs(text).input_ids
        assert ours.decode(ids) == theirs.decode(ids)
    assert ours.convert_ids_to_tokens([72, 1, 300]) == theirs.convert_ids_to_tokens([72, 1, 300])


def test_bart_is_roberta_bpe(tmp_path):
    folder = write_roberta_files(tmp_path)
    theirs = transformers.BartTokenizer.from_pretrained(folder)
    ours = BartTokenizer.from_pretrained(folder)
    _same_ids(ours, theirs, SENTENCES)
    a = ours(SENTENCES[:2], text_target=SENTENCES[2:4], padding=True)
    b = theirs(SENTENCES[:2], text_target=SENTENCES[2:4], padding=True)
    assert a["labels"] == b["labels"] and a["input_ids"] == b["input_ids"]
