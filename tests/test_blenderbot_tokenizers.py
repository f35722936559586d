"""BlenderbotTokenizer, BlenderbotSmallTokenizer and BertGenerationTokenizer against Transformers (issue 16)."""

from __future__ import annotations

import io

import pytest
import transformers
from bert_generation_helpers import write_blenderbot_small_files
from tokenizer_helpers import CORPUS, SENTENCES, write_roberta_files

from polymodal.models.bert_generation.tokenization import BertGenerationTokenizer
from polymodal.models.blenderbot.tokenization import BlenderbotTokenizer
from polymodal.models.blenderbot_small.tokenization import BlenderbotSmallTokenizer

# Newlines after words, apostrophes, the split-off punctuation, special tokens written in the text.
EXTRA = [
    "Hello.\nWorld!\n\nNew para", "it's\nfine", "rock'n'roll isn't dead'\nreally", "(a) b!? c,d... e.f",
    "__start__ hi there __end__", "x\r\ny", "trailing newline\n", "ÉCOLE Straße ΣΟΦΊΑ", "a ' b '' c",
    "tab\tseparated\u00a0nbsp", "1,000.50 (approx.)",
]
TEXTS = [*SENTENCES, *EXTRA]


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory):
    return write_blenderbot_small_files(tmp_path_factory.mktemp("bb_small_tok"))


def test_blenderbot_small_ids_and_decode_match(small_dir):
    theirs = transformers.BlenderbotSmallTokenizer.from_pretrained(small_dir)
    ours = BlenderbotSmallTokenizer.from_pretrained(small_dir)
    assert len(ours) == len(theirs) and ours.get_vocab() == theirs.get_vocab()
    for text in TEXTS:
        expected = theirs(text)
        got = ours(text)
        assert got["input_ids"] == expected["input_ids"], text
        assert got["attention_mask"] == expected["attention_mask"], text
        if all(piece in theirs.get_vocab() for piece in theirs.tokenize(text)):  # unknown pieces read __unk__ here
            assert ours.tokenize(text) == theirs.tokenize(text), text
        for skip in (False, True):
            assert ours.decode(got["input_ids"], skip_special_tokens=skip) == theirs.decode(
                expected["input_ids"], skip_special_tokens=skip), text


def test_blenderbot_small_batch_and_round_trip(small_dir, tmp_path):
    theirs = transformers.BlenderbotSmallTokenizer.from_pretrained(small_dir)
    ours = BlenderbotSmallTokenizer.from_pretrained(small_dir)
    batch = TEXTS[:6]
    assert ours(batch, padding=True)["input_ids"] == theirs(batch, padding=True)["input_ids"]
    for options in ({}, {"truncation": True, "max_length": 5}, {"return_token_type_ids": True}):
        assert dict(ours("hello there, friend.", "second one!", **options)) == dict(
            theirs("hello there, friend.", "second one!", **options)), options
    assert ours.pad_token_id == 0 and ours.eos_token_id == 2 and ours.unk_token_id == 3
    ours.save_pretrained(tmp_path)
    reloaded = transformers.BlenderbotSmallTokenizer.from_pretrained(tmp_path)
    assert [reloaded(t)["input_ids"] for t in TEXTS] == [theirs(t)["input_ids"] for t in TEXTS]
    assert BlenderbotSmallTokenizer.from_pretrained(tmp_path)(TEXTS)["input_ids"] == ours(TEXTS)["input_ids"]


def test_blenderbot_small_missing_merges_is_a_clear_error(small_dir, tmp_path):
    (tmp_path / "vocab.json").write_bytes((small_dir / "vocab.json").read_bytes())
    with pytest.raises(Exception, match="merges.txt"):
        BlenderbotSmallTokenizer.from_pretrained(tmp_path)


# ----------------------------------------------------------------------------- Blenderbot (byte-level BPE)
@pytest.fixture(scope="module")
def blenderbot_dirs(tmp_path_factory):
    legacy = write_roberta_files(tmp_path_factory.mktemp("bb_tok_legacy"))
    # The released checkpoints' tokenizer.json appends </s> (no <s>): build one like it.
    from tokenizers import processors

    released = tmp_path_factory.mktemp("bb_tok_json")
    tok = transformers.BlenderbotTokenizer.from_pretrained(legacy)
    backend = tok.backend_tokenizer
    backend.post_processor = processors.TemplateProcessing(
        single="$A:0 </s>:0", pair="$A:0 $B:1 </s>:1", special_tokens=[("</s>", tok.convert_tokens_to_ids("</s>"))])
    backend.save(str(released / "tokenizer.json"))
    return legacy, released


def test_blenderbot_ids_offsets_and_decode_match(blenderbot_dirs):
    for folder in blenderbot_dirs:
        theirs = transformers.BlenderbotTokenizer.from_pretrained(folder)
        ours = BlenderbotTokenizer.from_pretrained(folder)
        for text in TEXTS:
            expected = theirs(text, return_offsets_mapping=True)
            got = ours(text, return_offsets_mapping=True)
            for key in ("input_ids", "attention_mask", "offset_mapping"):
                assert got[key] == expected[key], (folder.name, key, text)
            assert ours.decode(got["input_ids"], skip_special_tokens=True) == theirs.decode(
                expected["input_ids"], skip_special_tokens=True)
        assert ours("a <mask> b")["input_ids"] == theirs("a <mask> b")["input_ids"]
        pair = ours("first one", "second"), theirs("first one", "second")
        assert pair[0]["input_ids"] == pair[1]["input_ids"]


def test_blenderbot_released_layout_appends_eos_only(blenderbot_dirs):
    ours = BlenderbotTokenizer.from_pretrained(blenderbot_dirs[1])
    ids = ours("Hello world")["input_ids"]
    assert ids[-1] == ours.eos_token_id and ours.bos_token_id not in ids


def test_blenderbot_save_round_trip(blenderbot_dirs, tmp_path):
    ours = BlenderbotTokenizer.from_pretrained(blenderbot_dirs[1])
    ours.save_pretrained(tmp_path)
    theirs = transformers.BlenderbotTokenizer.from_pretrained(tmp_path)
    assert [theirs(t)["input_ids"] for t in TEXTS] == [ours(t)["input_ids"] for t in TEXTS]


# ----------------------------------------------------------------------------- BertGeneration (sentencepiece)
@pytest.fixture(scope="module")
def spiece_dir(tmp_path_factory):
    import sentencepiece as spm

    folder = tmp_path_factory.mktemp("bertgen_tok")
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([s for s in CORPUS if s.strip()]), model_writer=model, vocab_size=300,
        model_type="unigram", hard_vocab_limit=False, character_coverage=1.0, minloglevel=2,
        pad_id=0, eos_id=1, bos_id=2, unk_id=3)
    (folder / "spiece.model").write_bytes(model.getvalue())
    return folder


def test_bert_generation_tokenizer_matches(spiece_dir, tmp_path):
    theirs = transformers.BertGenerationTokenizer(vocab_file=str(spiece_dir / "spiece.model"))
    theirs.save_pretrained(tmp_path)
    ours = BertGenerationTokenizer.from_pretrained(tmp_path)
    assert len(ours) == len(theirs)
    for text in TEXTS:
        expected, got = theirs(text), ours(text)
        assert got["input_ids"] == expected["input_ids"], text
        assert ours.decode(got["input_ids"]) == theirs.decode(expected["input_ids"]), text
    assert ours(TEXTS, padding=True)["input_ids"] == theirs(TEXTS, padding=True)["input_ids"]
    saved = tmp_path / "again"
    ours.save_pretrained(saved)
    assert transformers.BertGenerationTokenizer.from_pretrained(saved)(TEXTS)["input_ids"] == ours(TEXTS)["input_ids"]


def test_auto_tokenizer_picks_each_class(small_dir, blenderbot_dirs, spiece_dir, tmp_path):
    from polymodal import AutoTokenizer

    transformers.BlenderbotSmallTokenizer.from_pretrained(small_dir).save_pretrained(tmp_path / "small")
    transformers.BlenderbotTokenizer.from_pretrained(blenderbot_dirs[1]).save_pretrained(tmp_path / "bb")
    transformers.BertGenerationTokenizer(vocab_file=str(spiece_dir / "spiece.model")).save_pretrained(tmp_path / "bg")
    assert isinstance(AutoTokenizer.from_pretrained(tmp_path / "small"), BlenderbotSmallTokenizer)
    assert isinstance(AutoTokenizer.from_pretrained(tmp_path / "bb"), BlenderbotTokenizer)
    assert isinstance(AutoTokenizer.from_pretrained(tmp_path / "bg"), BertGenerationTokenizer)


def test_missing_vocabulary_files_are_clear_errors(tmp_path):
    with pytest.raises(Exception, match="spiece.model"):
        BertGenerationTokenizer.from_pretrained(tmp_path)
    with pytest.raises(Exception, match="vocab.json"):
        BlenderbotSmallTokenizer.from_pretrained(tmp_path)
    (tmp_path / "spiece.model").write_bytes(b"not a model")
    with pytest.raises(Exception, match="not a valid sentencepiece model"):
        BertGenerationTokenizer.from_pretrained(tmp_path)


def test_bert_generation_refuses_a_bpe_sentencepiece_model(tmp_path):
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter([s for s in CORPUS if s.strip()]), model_writer=model,
                                   vocab_size=200, model_type="bpe", hard_vocab_limit=False, minloglevel=2)
    (tmp_path / "spiece.model").write_bytes(model.getvalue())
    with pytest.raises(Exception, match="sentencepiece bpe model"):
        BertGenerationTokenizer.from_pretrained(tmp_path)
