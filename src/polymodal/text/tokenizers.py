"""The text tokenizers of the vision-language models: CLIP, BERT, XLM-RoBERTa and RoBERTa.

Each class builds the same ``tokenizers`` pipeline Transformers 5 builds for it (model,
normalizer, pre-tokenizer, decoder, post-processor) from a vocabulary read out of
``tokenizer.json`` or, when a checkpoint has only those, from its legacy files
(``vocab.json`` + ``merges.txt``, ``vocab.txt``, ``sentencepiece.bpe.model``).
``…Fast`` names are aliases: there is one implementation per tokenizer.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import BPE, Unigram, WordPiece

from ..core.errors import CheckpointError
from .base import PreTrainedTokenizerFast


def _read_json_vocab(path) -> dict[str, int]:
    try:
        vocab = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"Vocabulary file not found: '{path}'.") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"'{path}' is not valid JSON ({exc.msg} at line {exc.lineno}).") from None
    if not isinstance(vocab, dict):
        raise CheckpointError(f"'{path}' must map tokens to ids (a JSON object), found {type(vocab).__name__}.")
    return vocab


def _read_merges(path) -> list[tuple[str, str]]:
    """merges.txt: an optional ``#version`` header, then one ``left right`` pair a line."""
    if path is None:
        raise CheckpointError("A BPE tokenizer needs merges.txt next to vocab.json (or a tokenizer.json).")
    try:
        lines = Path(path).read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        raise CheckpointError(f"Merges file not found: '{path}'.") from None
    merges = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or (number == 1 and line.startswith("#version")):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise CheckpointError(f"'{path}' line {number}: expected two tokens separated by a space, got {line!r}.")
        merges.append((parts[0], parts[1]))
    return merges


def _precompiled_charsmap(tokenizer_json: dict) -> bytes | None:
    """The sentencepiece normalisation table a tokenizer.json stores (base64), if any."""
    normalizer = tokenizer_json.get("normalizer") or {}
    parts = normalizer.get("normalizers", [normalizer]) if normalizer.get("type") == "Sequence" else [normalizer]
    for part in parts:
        if part.get("type") == "Precompiled" and part.get("precompiled_charsmap"):
            return base64.b64decode(part["precompiled_charsmap"])
    return None


# --------------------------------------------------------------------------- CLIP
class CLIPTokenizer(PreTrainedTokenizerFast):
    """CLIP's BPE: NFC + whitespace squeeze + lower-case, ``</w>`` word ends, byte-level alphabet."""

    vocab_files_names = {"vocab_file": "vocab.json", "merges_file": "merges.txt", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab=None, merges=None, unk_token="<|endoftext|>", bos_token="<|startoftext|>",
                 eos_token="<|endoftext|>", pad_token="<|endoftext|>", **kwargs):
        vocab, merges, _ = self._pop_vocab(vocab, merges, kwargs)
        if vocab is None:
            vocab = {str(bos_token): 0, str(eos_token): 1, str(pad_token): 2}
        backend = Tokenizer(BPE(vocab=vocab, merges=merges or [], dropout=None, continuing_subword_prefix="",
                                end_of_word_suffix="</w>", fuse_unk=False, unk_token=str(unk_token)))
        backend.normalizer = normalizers.Sequence(
            [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
        # OpenAI's word pattern; what it does not match (whitespace) is dropped.
        pattern = (r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]"""
                   r"""|[^\s\p{L}\p{N}]+""")
        backend.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(pattern), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ])
        backend.decoder = decoders.ByteLevel()
        super().__init__(backend, unk_token=unk_token, bos_token=bos_token, eos_token=eos_token,
                         pad_token=pad_token, **kwargs)
        backend.post_processor = processors.RobertaProcessing(
            (str(eos_token), self.eos_token_id), (str(bos_token), self.bos_token_id), False, False)

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        return _read_json_vocab(vocab_file), _read_merges(merges_file), {}

    def _backend_decode(self, token_ids, skip_special_tokens: bool) -> str:
        # The byte-level decoder keeps the "</w>" word ends; they mean a space.
        text = self._tokenizer.decode(token_ids, skip_special_tokens=skip_special_tokens)
        return text.replace("</w>", " ").strip()


# --------------------------------------------------------------------------- BERT
class BertTokenizer(PreTrainedTokenizerFast):
    """BERT's WordPiece: clean text, split CJK characters, optional lower-case / accent strip."""

    vocab_files_names = {"vocab_file": "vocab.txt", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "token_type_ids", "attention_mask"]

    def __init__(self, vocab=None, do_lower_case=True, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
                 cls_token="[CLS]", mask_token="[MASK]", tokenize_chinese_chars=True, strip_accents=None,
                 **kwargs):
        vocab, _, _ = self._pop_vocab(vocab, None, kwargs)
        self.do_lower_case = do_lower_case
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.strip_accents = strip_accents
        if vocab is None:
            vocab = {str(t): i for i, t in enumerate((pad_token, unk_token, cls_token, sep_token, mask_token))}
        backend = Tokenizer(WordPiece(vocab, unk_token=str(unk_token)))
        backend.normalizer = normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=tokenize_chinese_chars, strip_accents=strip_accents,
            lowercase=do_lower_case)
        backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        backend.decoder = decoders.WordPiece(prefix="##")
        super().__init__(backend, do_lower_case=do_lower_case, unk_token=unk_token, sep_token=sep_token,
                         pad_token=pad_token, cls_token=cls_token, mask_token=mask_token,
                         tokenize_chinese_chars=tokenize_chinese_chars, strip_accents=strip_accents, **kwargs)
        cls_id = self.cls_token_id if self.cls_token_id is not None else 2
        sep_id = self.sep_token_id if self.sep_token_id is not None else 3
        cls, sep = str(self.cls_token), str(self.sep_token)
        backend.post_processor = processors.TemplateProcessing(
            single=f"{cls}:0 $A:0 {sep}:0", pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
            special_tokens=[(cls, cls_id), (sep, sep_id)])

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        try:
            lines = Path(vocab_file).read_text(encoding="utf-8").split("\n")
        except FileNotFoundError:
            raise CheckpointError(f"Vocabulary file not found: '{vocab_file}'.") from None
        if lines and lines[-1] == "":  # the file's final newline is not a token
            lines.pop()
        vocab: dict[str, int] = {}
        for index, token in enumerate(lines):
            vocab[token.rstrip("\r")] = index  # a repeated token keeps its last id, as Transformers
        return vocab, None, {}


# --------------------------------------------------------------------------- XLM-RoBERTa
def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _proto_fields(data: bytes):
    """Yield (field number, value) of a protobuf message; enough wire format for sentencepiece."""
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _read_varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield field, value


def read_sentencepiece_model(path) -> tuple[list[tuple[str, float, int]], bytes | None]:
    """(piece, score, type) of every piece and the precompiled normaliser of a ``.model`` file.

    Parsed directly from the protobuf wire format, so neither ``sentencepiece`` nor
    ``protobuf`` is needed at run time.
    """
    try:
        data = Path(path).read_bytes()
        pieces, charsmap = [], None
        for field, value in _proto_fields(data):
            if field == 1:  # ModelProto.pieces
                piece, score, kind = "", 0.0, 1
                for sub, sub_value in _proto_fields(value):
                    if sub == 1:
                        piece = sub_value.decode("utf-8")
                    elif sub == 2:
                        score = struct.unpack("<f", sub_value)[0]
                    elif sub == 3:
                        kind = sub_value
                pieces.append((piece, score, kind))
            elif field == 3:  # ModelProto.normalizer_spec
                for sub, sub_value in _proto_fields(value):
                    if sub == 2 and sub_value:
                        charsmap = bytes(sub_value)
    except FileNotFoundError:
        raise CheckpointError(f"Sentencepiece model not found: '{path}'.") from None
    except (ValueError, IndexError, UnicodeDecodeError, struct.error):
        raise CheckpointError(f"'{path}' is not a valid sentencepiece model file.") from None
    if not pieces:
        raise CheckpointError(f"'{path}' holds no sentencepiece pieces; it is not a sentencepiece model.")
    return pieces, charsmap


class XLMRobertaTokenizer(PreTrainedTokenizerFast):
    """XLM-R's sentencepiece unigram model, ``<s> … </s>`` (pairs ``<s> A </s></s> B </s>``)."""

    vocab_files_names = {"vocab_file": "sentencepiece.bpe.model", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab=None, add_prefix_space=True, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                 cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", **kwargs):
        charsmap = kwargs.pop("_spm_precompiled_charsmap", None)
        vocab, _, extras = self._pop_vocab(vocab, None, kwargs)
        if "pieces" in extras:  # built from sentencepiece.bpe.model: apply the fairseq id layout
            vocab = [(str(bos_token), 0.0), (str(pad_token), 0.0), (str(eos_token), 0.0), (str(unk_token), 0.0),
                     *[(p, s) for p, s, _ in extras["pieces"][3:]], (str(mask_token), 0.0)]
            if "extra_special_tokens" not in kwargs and "additional_special_tokens" not in kwargs:
                kwargs["extra_special_tokens"] = extras["added"]
        charsmap = charsmap or extras.get("charsmap")
        if vocab is None:
            vocab = [(str(t), 0.0) for t in (bos_token, pad_token, eos_token, unk_token, mask_token)]
        self.add_prefix_space = add_prefix_space
        # Transformers fixes unk_id at 3, fairseq's place for <unk>.
        backend = Tokenizer(Unigram(vocab=vocab, unk_id=3, byte_fallback=False))
        if charsmap is not None:
            backend.normalizer = normalizers.Precompiled(charsmap)
        scheme = "always" if add_prefix_space else "never"
        backend.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=scheme)])
        backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme=scheme)
        super().__init__(backend, bos_token=bos_token, eos_token=eos_token, sep_token=sep_token,
                         cls_token=cls_token, unk_token=unk_token, pad_token=pad_token, mask_token=mask_token,
                         add_prefix_space=add_prefix_space, **kwargs)
        bos, eos = str(bos_token), str(eos_token)
        backend.post_processor = processors.TemplateProcessing(
            single=[bos, "$A", eos], pair=[bos, "$A", eos, eos, "$B", eos],
            special_tokens=[(bos, self.bos_token_id), (eos, self.eos_token_id)])

    @classmethod
    def _vocab_from_tokenizer_json(cls, path):
        vocab, merges, data = super()._vocab_from_tokenizer_json(path)
        if not (isinstance(vocab, list) and vocab and isinstance(vocab[0], tuple)):
            raise CheckpointError(f"'{path}' does not hold a unigram (sentencepiece) vocabulary.")
        return vocab, merges, {"charsmap": _precompiled_charsmap(data)}

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        from tokenizers import AddedToken

        pieces, charsmap = read_sentencepiece_model(vocab_file)
        # control (3) and user-defined (4) pieces become extra special tokens, as in Transformers
        added = [AddedToken(p, normalized=False, special=kind == 3) for p, _, kind in pieces if kind in (3, 4)]
        return None, None, {"pieces": pieces, "charsmap": charsmap, "added": added}


# --------------------------------------------------------------------------- RoBERTa
class RobertaTokenizer(PreTrainedTokenizerFast):
    """RoBERTa / GPT-2 byte-level BPE (``vocab.json`` + ``merges.txt``), ``<s> … </s>``."""

    vocab_files_names = {"vocab_file": "vocab.json", "merges_file": "merges.txt", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab=None, merges=None, errors="replace", bos_token="<s>", eos_token="</s>",
                 sep_token="</s>", cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                 add_prefix_space=False, trim_offsets=True, **kwargs):
        vocab, merges, _ = self._pop_vocab(vocab, merges, kwargs)
        self.add_prefix_space = add_prefix_space
        self.trim_offsets = trim_offsets
        if vocab is None:
            vocab = {str(t): i for i, t in enumerate((pad_token, unk_token, cls_token, sep_token, mask_token))}
        backend = Tokenizer(BPE(vocab=vocab, merges=merges or [], dropout=None, continuing_subword_prefix="",
                                end_of_word_suffix="", fuse_unk=False))
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
        backend.decoder = decoders.ByteLevel()
        super().__init__(backend, errors=errors, bos_token=bos_token, eos_token=eos_token, sep_token=sep_token,
                         cls_token=cls_token, unk_token=unk_token, pad_token=pad_token, mask_token=mask_token,
                         add_prefix_space=add_prefix_space, trim_offsets=trim_offsets, **kwargs)
        backend.post_processor = processors.RobertaProcessing(
            (str(sep_token), self.sep_token_id), (str(cls_token), self.cls_token_id), trim_offsets, add_prefix_space)

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        return _read_json_vocab(vocab_file), _read_merges(merges_file), {}


CLIPTokenizerFast = CLIPTokenizer
BertTokenizerFast = BertTokenizer
XLMRobertaTokenizerFast = XLMRobertaTokenizer
RobertaTokenizerFast = RobertaTokenizer

__all__ = ["CLIPTokenizer", "CLIPTokenizerFast", "BertTokenizer", "BertTokenizerFast", "XLMRobertaTokenizer",
           "XLMRobertaTokenizerFast", "RobertaTokenizer", "RobertaTokenizerFast", "read_sentencepiece_model"]
