"""``BertGenerationTokenizer``: a sentencepiece unigram model (``spiece.model``), no special tokens added.

Transformers runs the sentencepiece library itself; we run the same unigram lattice in the
``tokenizers`` library with sentencepiece's normaliser (the precompiled table the model file
carries) and its ``▁`` word marking, as for T5 — so offsets, pairs and padding work as for
every other tokenizer. Sequences get no ``<s>``/``</s>``: the paper's summarisation and fusion
models were trained on bare text.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers
from tokenizers.models import Unigram

from ...core.errors import CheckpointError
from ...core.io import atomic_path
from ...text.fast import PreTrainedTokenizerFast
from ...text.sentencepiece_split import load_unigram_model
from ...text.vocab_files import precompiled_charsmap

_UNKNOWN_PIECE = 2  # sentencepiece's ModelProto.SentencePiece.Type.UNKNOWN


class BertGenerationTokenizer(PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "spiece.model", "tokenizer_file": "tokenizer.json"}  # noqa: RUF012
    model_input_names = ["input_ids", "attention_mask"]  # noqa: RUF012

    def __init__(self, vocab=None, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
                 sep_token="<::::>", **kwargs):
        self._spiece_file = kwargs.get("vocab_file")
        kwargs.pop("sp_model_kwargs", None)  # sampling options of the sentencepiece library: not used
        vocab, _, extras = self._pop_vocab(vocab, None, kwargs)
        unk_id = 0
        if "pieces" in extras:
            vocab = [(piece, score) for piece, score, _ in extras["pieces"]]
            unk_id = next((i for i, (_, _, kind) in enumerate(extras["pieces"]) if kind == _UNKNOWN_PIECE), 0)
        elif vocab is not None:
            unk_id = next((i for i, (piece, _) in enumerate(vocab) if piece == str(unk_token)), 0)
        if vocab is None:
            raise CheckpointError("BertGenerationTokenizer needs spiece.model (or a tokenizer.json).")
        backend = Tokenizer(Unigram(vocab, unk_id=unk_id, byte_fallback=False))
        charsmap = extras.get("charsmap")
        if charsmap is not None:
            backend.normalizer = normalizers.Precompiled(charsmap)
        backend.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)])
        backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
        super().__init__(backend, bos_token=bos_token, eos_token=eos_token, unk_token=unk_token,
                         pad_token=pad_token, sep_token=sep_token, **kwargs)

    @classmethod
    def _vocab_from_tokenizer_json(cls, path):
        vocab, merges, data = super()._vocab_from_tokenizer_json(path)
        if not (isinstance(vocab, list) and vocab and isinstance(vocab[0], tuple)):
            raise CheckpointError(f"'{path}' does not hold a unigram (sentencepiece) vocabulary.")
        return vocab, merges, {"charsmap": precompiled_charsmap(data)}

    @classmethod
    def _read_legacy_vocab(cls, vocab_file, merges_file, kwargs):
        pieces, charsmap, _ = load_unigram_model(vocab_file)  # a BPE-kind .model is refused, by name
        return None, None, {"pieces": pieces, "charsmap": charsmap}

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        """``tokenizer.json``, plus the original ``spiece.model`` when loaded from one (Transformers reads that)."""
        saved = super().save_vocabulary(save_directory, filename_prefix)
        if self._spiece_file and Path(self._spiece_file).is_file():
            target = Path(save_directory) / f"{filename_prefix + '-' if filename_prefix else ''}spiece.model"
            if Path(self._spiece_file).resolve() != target.resolve():
                with atomic_path(target) as tmp:
                    Path(tmp).write_bytes(Path(self._spiece_file).read_bytes())
            saved = (*saved, str(target))
        return saved


BertGenerationTokenizerFast = BertGenerationTokenizer

__all__ = ["BertGenerationTokenizer"]
