"""Tiny legacy tokenizer files for BERTweet, CPM, BARThez and BARTpho, trained on the spot (no hub).

Each writer lays its files out as the real checkpoints do: BERTweet's fastBPE ``vocab.txt``
(``token count``, ids from 4) and ``bpe.codes`` (``left right count``); CPM's XLNet-style
``spiece.model`` (``<unk> <s> </s>`` then ``<cls> <sep> <pad> <mask> <eod> <eop>``); BARThez's
fairseq-ordered ``sentencepiece.bpe.model`` (``<s> <pad> </s> <unk>``); BARTpho's multilingual
``sentencepiece.bpe.model`` plus a reduced ``dict.txt``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from tokenizer_helpers import LONG_TEXT, SENTENCES

TWEETS = [
    "@remy: This is waaaaayyyy too much for you!!!!!! 😂😂 https://t.co/abc123 #blessed",
    "SC has first two presumptive cases of coronavirus, DHEC confirms https://postandcourier.com/health/covid19/"
    "sc-cases/article_bddfe4ae-5fd3.html?utm_medium=social&utm_source=twitter… via @postandcourier",
    "I can't believe it's 5 p.m. already… we'll see ❤️ :-) <3 &amp; &#233;t&eacute; &#x263A; &bogus; &#150;",
    "Call me at +1 (555) 123-4567 or mail foo.bar@example.com — www.example.org/path?x=1 or bit.ly/xyz",
    "Café naïve résumé ÅNGSTRÖM   über    straße",
    "日本語のツイート🎌 です！ @ユーザー #ハッシュタグ",
    "नमस्ते दुनिया 🙏 मैं ठीक हूँ",
    "it's ain't cannot won't they're I'm you'd we've he'll",
    "--> <-- <tag> :D :P ;) 8-) </3 ....... . . .",
    "line one\nline two\n\nline three",
    "RT @user_1: 3.14, 1/2 and -5,000+ 😀😀😀 #tag_one #x",
    "",
]
VIETNAMESE = ["Chúng tôi là những nghiên cứu viên.", "Xin chào thế giới! Tiếng Việt có dấu: ả ã ạ ấ ầ ẩ ẫ ậ",
              "Hà Nội, Việt Nam 2024", "Tôi đang học tiếng Việt <mask> mỗi ngày."]
CHINESE = ["我爱北京天安门，天安门上太阳升。", "今天天气很好，我们去公园散步吧！", "中华人民共和国成立于1949年10月1日。",
           "价格是1,000,000元, 折扣 2,500, 数字12,3", "你好 世界\n第二行"]
# The multilingual set every tokenizer is compared on (texts with special tokens are tested apart).
TEXTS = [s for s in SENTENCES if "<" not in s] + TWEETS + VIETNAMESE[:3] + CHINESE + [LONG_TEXT]
BERTWEET_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]


def _spm_train(sentences, **options) -> bytes:
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter([s for s in sentences if s.strip()]), model_writer=model,
                                   model_type="unigram", hard_vocab_limit=False, character_coverage=1.0,
                                   minloglevel=2, **options)
    return model.getvalue()


def write_bertweet_files(folder) -> Path:
    """vocab.txt + bpe.codes of a fastBPE model trained on normalised tweets."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    from polymodal.models.bertweet.tweet_normalization import normalize_tweet

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    corpus = [normalize_tweet(t) for t in TWEETS] + TWEETS + [s for s in SENTENCES if "<" not in s]
    tok = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.train_from_iterator(corpus * 3, trainers.BpeTrainer(vocab_size=700, end_of_word_suffix="</w>",
                                                            show_progress=False))
    model = json.loads(tok.to_str())["model"]
    merges = [m.split(" ") if isinstance(m, str) else m for m in model["merges"]]
    vocab = [t for t, _ in sorted(model["vocab"].items(), key=lambda kv: kv[1])]
    # fastBPE spelling: word-final pieces bare, word-internal pieces with a trailing "@@"
    respelled = [t[:-4] if t.endswith("</w>") else t + "@@" for t in vocab]
    lines = [f"{t} {100 + i}" for i, t in enumerate(respelled) if t not in BERTWEET_SPECIALS]
    (folder / "vocab.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "bpe.codes").write_text("".join(f"{a} {b} {7}\n" for a, b in merges), encoding="utf-8")
    return folder


def write_cpm_files(folder) -> Path:
    """spiece.model laid out like XLNet's / CPM's."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # CPM's training text marks spaces and newlines as ▂ and ▃ between jieba words
    segmented = ["你好 ▂ 世界 ▃ 第二行", "今天 ▂ 天气 ▃ 很 好"] * 5
    data = _spm_train(CHINESE * 5 + segmented + TEXTS, vocab_size=400, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
                      control_symbols=["<cls>", "<sep>", "<pad>", "<mask>", "<eod>", "<eop>"])
    (folder / "spiece.model").write_bytes(data)
    return folder


def write_barthez_files(folder) -> Path:
    """sentencepiece.bpe.model with fairseq's order (``<s> <pad> </s> <unk>``), as BARThez's."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = _spm_train(TEXTS * 2, vocab_size=350, bos_id=0, pad_id=1, eos_id=2, unk_id=3)
    (folder / "sentencepiece.bpe.model").write_bytes(data)
    return folder


def write_bartpho_files(folder) -> Path:
    """A multilingual sentencepiece.bpe.model and dict.txt keeping a third of its pieces."""
    import sentencepiece as spm

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = _spm_train(VIETNAMESE * 5 + TEXTS, vocab_size=400)
    (folder / "sentencepiece.bpe.model").write_bytes(data)
    processor = spm.SentencePieceProcessor(model_proto=data)
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    kept = [p for i, p in enumerate(pieces[3:]) if i % 3 != 1]  # drop some, so <unk> appears
    (folder / "dict.txt").write_text("".join(f"{p} {1000 - i}\n" for i, p in enumerate(kept)), encoding="utf-8")
    return folder
