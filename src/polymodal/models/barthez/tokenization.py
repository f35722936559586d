"""``BarthezTokenizer``: BARThez's sentencepiece unigram model (French BART, an mBART-style checkpoint).

The pipeline is Transformers 5's: whitespace runs, tabs and newlines become one space, NFC,
trailing spaces stripped, ``▁`` before each word; ``<unk>`` is id 3 (fairseq's place) and
``<mask>`` takes the space before it. Special tokens follow the checkpoint's ``tokenizer.json``
(BARThez's is ``<s> A </s>`` / ``<s> A </s></s> B </s>``). Built from ``sentencepiece.bpe.model``
alone, Transformers adds none unless ``add_bos_token`` / ``add_eos_token`` say so; we do the same.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from ...core.errors import CheckpointError
from ...text.fast import PreTrainedTokenizerFast
from ...text.sentencepiece_split import SPIECE_UNDERLINE, load_unigram_model


def _template(bos: str | None, eos: str | None, bos_id, eos_id):
    """``[bos] $A [eos]`` (pairs: the same again for ``$B``), as Transformers' add_bos/add_eos switches build it."""
    head, tail = ([f"{bos}:0"] if bos else []), ([f"{eos}:0"] if eos else [])
    single = [*head, "$A:0", *tail]
    pair = [*single, *([f"{bos}:1"] if bos else []), "$B:1", *([f"{eos}:1"] if eos else [])]
    specials = [(t, i) for t, i in ((bos, bos_id), (eos, eos_id)) if t]
    return processors.TemplateProcessing(single=" ".join(single), pair=" ".join(pair), special_tokens=specials)


class BarthezTokenizer(PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "sentencepiece.bpe.model", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab=None, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
                 unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", add_prefix_space=True, **kwargs):
        kwargs.pop("_spm_precompiled_charsmap", None)  # BARThez's pipeline has its own normaliser
        file_post_processor = self._file_post_processor(vocab, kwargs.get("tokenizer_file"))
        vocab, _, extras = self._pop_vocab(vocab, None, kwargs)
        if "pieces" in extras:
            vocab = [(piece, score) for piece, score, _ in extras["pieces"]]
            if "extra_special_tokens" not in kwargs and "additional_special_tokens" not in kwargs:
                kwargs["extra_special_tokens"] = extras["added"]
        if isinstance(mask_token, str):  # matched on normalised text, as Transformers' (normalized=True) one
            mask_token = AddedToken(mask_token, lstrip=True, rstrip=False, normalized=True, special=True)
        if vocab is None:
            vocab = [(str(t), 0.0) for t in (pad_token, unk_token, cls_token, sep_token, mask_token)]
        self.add_prefix_space = add_prefix_space
        backend = Tokenizer(Unigram(vocab, unk_id=3, byte_fallback=False))  # fairseq's <unk> place
        backend.normalizer = normalizers.Sequence([normalizers.Replace(Regex(r"\s{2,}|[\n\r\t]"), " "),
                                                   normalizers.NFC(), normalizers.Strip(left=False, right=True)])
        scheme = "always" if add_prefix_space else "never"
        backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme=scheme)
        backend.decoder = decoders.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme=scheme)
        switches = {k: bool(kwargs[k]) for k in ("add_bos_token", "add_eos_token") if k in kwargs}
        super().__init__(backend, bos_token=bos_token, eos_token=eos_token, sep_token=sep_token, cls_token=cls_token,
                         unk_token=unk_token, pad_token=pad_token, mask_token=mask_token,
                         add_prefix_space=add_prefix_space, **kwargs)
        if file_post_processor is not None and not switches:
            backend.post_processor = file_post_processor
        else:
            bos = str(self.bos_token) if switches.get("add_bos_token") and self.bos_token else None
            eos = str(self.eos_token) if switches.get("add_eos_token") and self.eos_token else None
            backend.post_processor = _template(bos, eos, self.bos_token_id, self.eos_token_id)

    @staticmethod
    def _file_post_processor(vocab, tokenizer_file):
        """The post-processor a checkpoint's tokenizer.json declares (Transformers keeps it), if any."""
        if vocab is not None or not tokenizer_file or not Path(tokenizer_file).is_file():
            return None
        return Tokenizer.from_file(str(tokenizer_file)).post_processor

    @classmethod
    def _vocab_from_tokenizer_json(cls, path):
        vocab, merges, data = super()._vocab_from_tokenizer_json(path)
        if not (isinstance(vocab, list) and vocab and isinstance(vocab[0], tuple)):
            raise CheckpointError(f"'{path}' does not hold a unigram (sentencepiece) vocabulary.")
        return vocab, merges, {}

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        pieces, _, _ = load_unigram_model(vocab_file)
        # control (3) and user-defined (4) pieces become extra special tokens, as in Transformers
        added = [AddedToken(p, normalized=False, special=kind == 3) for p, _, kind in pieces if kind in (3, 4)]
        return None, None, {"pieces": pieces, "added": added}


BarthezTokenizerFast = BarthezTokenizer

__all__ = ["BarthezTokenizer", "BarthezTokenizerFast"]
