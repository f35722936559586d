"""Tiny tokenizer files for the tests, trained on the spot (no hub).

Each builder writes the legacy files a real checkpoint of that family has, laid out like
the real thing (CLIP: byte alphabet, then ``</w>`` forms, merges, specials last; RoBERTa:
``<s> <pad> </s> <unk>`` first, ``<mask>`` last; BERT: ``[PAD] [UNK] [CLS] [SEP] [MASK]``
first; XLM-R: a sentencepiece unigram ``sentencepiece.bpe.model``).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

SENTENCES = [
    "A photo of a cat.",
    "a photo of a dog sitting on the grass",
    "Hello, world! How are you doing today?",
    "Café déjà vu, naïve résumé — Ångström über straße.",
    "我爱北京天安门，天安门上太阳升。",
    "안녕하세요 세계, 반갑습니다!",
    "I ❤️ 🍕 pizza and 🐱 cats!!! 🎉",
    "",
    "   leading and trailing spaces   ",
    "multiple   spaces\tand\nnew lines\r\n here",
    "UPPER CASE Words And MiXeD cAsE",
    "numbers 12345 and 3.14159, dates 2024-01-31",
    "don't stop—it's fine; we'll see (maybe) [yes] {no} <tag>",
    "Привет мир, Γειά σου κόσμε, مرحبا بالعالم",
    "日本語のテキストも少し。",
    "hello <|endoftext|> world <|startoftext|>",
    "a [MASK] token and [SEP] inside, plus <mask> and <s> and </s>",
]

LONG_TEXT = " ".join(["the quick brown fox jumps over the lazy dog"] * 40)

CORPUS = SENTENCES + [LONG_TEXT] + [
    "a photo of a bird", "a photo of a car on the street", "two cats sleeping on a couch",
    "the weather is nice today", "photograph of a beautiful landscape with mountains",
    "machine learning models process images and text", "zero-shot image classification",
] * 3


def _bytelevel_alphabet() -> list[str]:
    from tokenizers import pre_tokenizers

    return sorted(pre_tokenizers.ByteLevel.alphabet())


def _trained_bpe(pre_tokenizer, normalizer=None, suffix: str = "", vocab_size: int = 600, specials=()):
    from tokenizers import Tokenizer, models, trainers

    extra = {"end_of_word_suffix": suffix} if suffix else {}
    tok = Tokenizer(models.BPE(continuing_subword_prefix="", **extra))
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(specials),
                                  initial_alphabet=_bytelevel_alphabet(), show_progress=False, **extra)
    tok.train_from_iterator(CORPUS, trainer)
    model = json.loads(tok.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    vocab = sorted(model["vocab"].items(), key=lambda kv: kv[1])
    return [t for t, _ in vocab], merges


def _write_bpe(folder: Path, vocab: list[str], merges) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False))
    lines = ["#version: 0.2"] + [f"{a} {b}" for a, b in merges]
    (folder / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_clip_files(folder) -> Path:
    """vocab.json + merges.txt of a CLIP-style BPE (``</w>`` ends, specials last)."""
    from tokenizers import Regex, normalizers, pre_tokenizers

    folder = Path(folder)
    pattern = (r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]"""
               r"""|[^\s\p{L}\p{N}]+""")
    pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(pattern), behavior="removed", invert=True),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False)])
    norm = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "),
                                 normalizers.Lowercase()])
    trained, merges = _trained_bpe(pre, norm, suffix="</w>")
    alphabet = _bytelevel_alphabet()
    vocab = alphabet + [a + "</w>" for a in alphabet]
    seen = set(vocab)
    vocab += [t for t in trained if t not in seen]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    _write_bpe(folder, vocab, merges)
    return folder


def write_roberta_files(folder) -> Path:
    """vocab.json + merges.txt of a byte-level BPE laid out like RoBERTa's."""
    from tokenizers import pre_tokenizers

    folder = Path(folder)
    trained, merges = _trained_bpe(pre_tokenizers.ByteLevel(add_prefix_space=False),
                                   specials=["<s>", "<pad>", "</s>", "<unk>"])
    _write_bpe(folder, trained + ["<mask>"], merges)
    return folder


def write_bert_files(folder, lowercase: bool = True) -> Path:
    """vocab.txt of a small WordPiece model (``[PAD] [UNK] [CLS] [SEP] [MASK]`` first)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=500, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
                                        show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    (folder / "vocab.txt").write_text("\n".join(t for t, _ in vocab) + "\n", encoding="utf-8")
    return folder


def write_xlm_roberta_files(folder) -> Path:
    """sentencepiece.bpe.model: a unigram model trained with the sentencepiece library."""
    import sentencepiece as spm

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([s for s in CORPUS if s.strip()]), model_writer=model, vocab_size=300,
        model_type="unigram", hard_vocab_limit=False, character_coverage=1.0, minloglevel=2,
        user_defined_symbols=["<special_piece>"],
    )
    (folder / "sentencepiece.bpe.model").write_bytes(model.getvalue())
    return folder


def _write_unigram(path: Path, **layout) -> Path:
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([s for s in CORPUS if s.strip()]), model_writer=model, vocab_size=300,
        model_type="unigram", hard_vocab_limit=False, character_coverage=1.0, minloglevel=2, **layout)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.getvalue())
    return path.parent


def write_albert_files(folder) -> Path:
    """spiece.model laid out like ALBERT's: ``<pad> <unk> [CLS] [SEP] [MASK]`` first."""
    return _write_unigram(Path(folder) / "spiece.model", pad_id=0, unk_id=1, bos_id=-1, eos_id=-1,
                          control_symbols=["[CLS]", "[SEP]", "[MASK]"])


def write_deberta_v2_files(folder) -> Path:
    """spm.model laid out like DeBERTa-v3's: ``[PAD] [CLS] [SEP] [UNK]``; ``[MASK]`` is an added token."""
    return _write_unigram(Path(folder) / "spm.model", pad_id=0, pad_piece="[PAD]", bos_id=1, bos_piece="[CLS]",
                          eos_id=2, eos_piece="[SEP]", unk_id=3, unk_piece="[UNK]")


WRITERS = {
    "clip": write_clip_files,
    "roberta": write_roberta_files,
    "bert": write_bert_files,
    "xlm-roberta": write_xlm_roberta_files,
    "albert": write_albert_files,
    "deberta-v2": write_deberta_v2_files,
}
