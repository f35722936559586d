"""Llama's SentencePiece BPE tokenizer (``tokenizer.json`` or ``tokenizer.model``) and Code Llama's,
which adds the infilling tokens (``▁<PRE>``, ``▁<SUF>``, ``▁<MID>``, ``▁<EOT>``) and splits a
prompt at ``<FILL_ME>`` into prefix and suffix.

Byte fallback: characters outside the vocabulary become ``<0xNN>`` byte pieces instead of
``<unk>``. A ``tokenizer.model`` is read without sentencepiece; its BPE merges are rebuilt from
the piece scores (each piece that splits into two known pieces is a merge, ranked by score).
"""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import BPE

from ...core.errors import InvalidInputError
from ...text.chat_template import ChatTemplateMixin
from ...text.fast import PreTrainedTokenizerFast
from ...text.vocab_files import read_sentencepiece_model
from ..gpt2.tokenization import bos_eos_template, checkpoint_post_processor


def sentencepiece_bpe(path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """(vocab, merges) of a sentencepiece BPE ``.model``: merges ordered by the merged piece's score."""
    pieces, _ = read_sentencepiece_model(path)
    vocab = {piece: index for index, (piece, _, _) in enumerate(pieces)}
    scores = {piece: score for piece, score, _ in pieces}
    merges = []
    for merged, score in scores.items():
        local = [(merged[:i], merged[i:], score) for i in range(1, len(merged))
                 if merged[:i] in vocab and merged[i:] in vocab]
        merges.extend(sorted(local, key=lambda m: (vocab[m[0]], vocab[m[1]])))
    merges.sort(key=lambda m: (m[2], len(m[0]), len(m[1])), reverse=True)
    return vocab, [(left, right) for left, right, _ in merges]


class LlamaTokenizer(ChatTemplateMixin, PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "tokenizer.model", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]
    padding_side = "left"

    def __init__(self, vocab=None, merges=None, clean_up_tokenization_spaces=False, unk_token="<unk>",
                 bos_token="<s>", eos_token="</s>", use_default_system_prompt=False, legacy=False,
                 add_prefix_space=None, add_bos_token=None, add_eos_token=None, **kwargs):
        post = checkpoint_post_processor(kwargs.get("tokenizer_file"))
        # As in Transformers 5: the checkpoint's post-processor wins unless add_bos/eos_token is given.
        explicit = add_bos_token is not None or add_eos_token is not None or post is None
        add_bos_token, add_eos_token = bool(add_bos_token), bool(add_eos_token)
        vocab, merges, _ = self._pop_vocab(vocab, merges, kwargs)
        if vocab is None:
            vocab = {str(unk_token): 0, str(bos_token): 1, str(eos_token): 2}
        self.add_prefix_space = True if add_prefix_space is None else add_prefix_space
        self.legacy, self.use_default_system_prompt = legacy, use_default_system_prompt
        backend = Tokenizer(BPE(vocab=vocab, merges=merges or [], fuse_unk=True, byte_fallback=True, dropout=None,
                                unk_token=str(unk_token)))
        scheme = ("first" if not legacy else "always") if self.add_prefix_space else "never"
        backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=scheme, split=False)
        steps = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
        if self.add_prefix_space:
            steps.append(decoders.Strip(content=" ", left=1))
        backend.decoder = decoders.Sequence(steps)
        super().__init__(backend, clean_up_tokenization_spaces=clean_up_tokenization_spaces, unk_token=unk_token,
                         bos_token=bos_token, eos_token=eos_token, legacy=legacy,
                         use_default_system_prompt=use_default_system_prompt, add_prefix_space=add_prefix_space,
                         add_bos_token=add_bos_token, add_eos_token=add_eos_token, **kwargs)
        self.add_bos_token, self.add_eos_token = add_bos_token, add_eos_token
        if explicit:
            post = bos_eos_template(self.bos_token, self.bos_token_id, self.eos_token, self.eos_token_id,
                                    add_bos_token, add_eos_token)
        backend.post_processor = post

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        vocab, merges = sentencepiece_bpe(vocab_file)
        return vocab, merges, {}


LlamaTokenizerFast = LlamaTokenizer


class CodeLlamaTokenizer(LlamaTokenizer):
    """Llama's tokenizer plus fill-in-the-middle: ``"def f(<FILL_ME>)\\n"`` or ``suffix=...``."""

    def __init__(self, *args, prefix_token="▁<PRE>", middle_token="▁<MID>", suffix_token="▁<SUF>",
                 eot_token="▁<EOT>", fill_token="<FILL_ME>", additional_special_tokens=None, **kwargs):
        extra = list(additional_special_tokens or kwargs.pop("extra_special_tokens", None) or [])
        for token in (prefix_token, middle_token, suffix_token, eot_token, fill_token):
            if token is not None and token not in extra:
                extra.append(token)
        kwargs.setdefault("add_prefix_space", True)
        kwargs.setdefault("add_bos_token", True)
        super().__init__(*args, additional_special_tokens=extra, prefix_token=prefix_token,
                         middle_token=middle_token, suffix_token=suffix_token, eot_token=eot_token,
                         fill_token=fill_token, **kwargs)
        self.prefix_token, self.middle_token, self.suffix_token = prefix_token, middle_token, suffix_token
        self.eot_token, self.fill_token = eot_token, fill_token
        self._plain_post_processor = self._tokenizer.post_processor

    prefix_id = property(lambda self: self._id_or_none(self.prefix_token))
    middle_id = property(lambda self: self._id_or_none(self.middle_token))
    suffix_id = property(lambda self: self._id_or_none(self.suffix_token))
    eot_id = property(lambda self: self._id_or_none(self.eot_token))

    def _id_or_none(self, token):
        return None if token is None else self.convert_tokens_to_ids(token)

    def _infilling(self, suffix_first: bool, add_special_tokens: bool) -> None:
        """Encode ``(prefix, suffix)`` pairs as ``<s> ▁<PRE> prefix ▁<SUF> suffix ▁<MID>`` (PSM order)."""
        if None in (self.prefix_id, self.middle_id, self.suffix_id):
            raise InvalidInputError("This tokenizer has no prefix/middle/suffix tokens, so it cannot do infilling.")
        # Spaces become "▁" before pre-tokenization, so the prefix keeps its leading space marker.
        self._tokenizer.normalizer = normalizers.Replace(pattern=" ", content="▁")
        bos = [self.bos_token] if self.add_bos_token and add_special_tokens else []
        body = ([self.prefix_token, self.suffix_token, "$B", self.middle_token, "$A"] if suffix_first
                else [self.prefix_token, "$A", self.suffix_token, "$B", self.middle_token])
        eos = [self.eos_token] if self.add_eos_token and add_special_tokens else []
        specials = {t: self.convert_tokens_to_ids(t) for t in bos + body + eos if not t.startswith("$")}
        self._tokenizer.post_processor = processors.TemplateProcessing(
            single="$A", pair=bos + body + eos, special_tokens=list(specials.items()))

    def _plain(self) -> None:
        # Transformers leaves this normaliser in place after infilling; it encodes plain text the same way.
        self._tokenizer.normalizer = normalizers.Sequence(
            [normalizers.Prepend(prepend="▁"), normalizers.Replace(pattern=" ", content="▁")])
        self._tokenizer.post_processor = self._plain_post_processor

    def _encode_plus(self, text, text_pair=None, suffix=None, suffix_first=False, add_special_tokens=True, **kwargs):
        if suffix is not None:
            text_pair = suffix
        elif isinstance(text, str) and self.fill_token and self.fill_token in text and text_pair is None:
            text, text_pair = text.split(self.fill_token)
        else:
            return super()._encode_plus(text, text_pair=text_pair, add_special_tokens=add_special_tokens, **kwargs)
        if not text_pair:
            return super()._encode_plus(text, add_special_tokens=add_special_tokens, **kwargs)
        self._infilling(suffix_first, add_special_tokens)
        try:
            text = " " + text if isinstance(text, str) else [" " + t for t in text]
            return super()._encode_plus(text, text_pair=text_pair, add_special_tokens=True, **kwargs)
        finally:
            self._plain()

    def __call__(self, text=None, text_pair=None, *args, suffix=None, suffix_first=False, **kwargs):
        if suffix is not None or (isinstance(text, str) and self.fill_token and self.fill_token in text):
            add_special_tokens = kwargs.pop("add_special_tokens", True)
            return self._encode_plus(text, text_pair, suffix=suffix, suffix_first=suffix_first,
                                     add_special_tokens=add_special_tokens, **_encode_options(self, kwargs))
        return super().__call__(text, text_pair, *args, **kwargs)


def _encode_options(tokenizer, kwargs: dict) -> dict:
    return_tensors = kwargs.pop("return_tensors", None)
    return {"return_tensors": return_tensors, **{k: v for k, v in kwargs.items() if k.startswith("return_")}}


CodeLlamaTokenizerFast = CodeLlamaTokenizer

__all__ = ["LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast"]
