"""Tokenizer base classes: ``PreTrainedTokenizerBase`` and (in ``fast.py``) the fast base.

The base is assembled from one module per concern, each small enough to read alone:

- ``encoding.py``        ``BatchEncoding`` and the text-input check
- ``padding.py``         padding/truncation argument rules and ``pad``
- ``special_tokens.py``  ``bos_token``/``pad_token_id`` … properties and ``AddedToken`` helpers
- ``files.py``           ``from_pretrained`` / ``save_pretrained`` and the config files
- ``fast.py``            ``PreTrainedTokenizerFast``: the work done by the Rust ``tokenizers`` library

Concrete tokenizers live with their model family (``models/<family>/tokenization.py``);
``text/tokenizers.py`` re-exports the text-tower ones under their old import path.
Like Transformers 5, a subclass builds its own normalizer / pre-tokenizer / decoder /
post-processor and takes only the vocabulary (and merges) from ``tokenizer.json`` or from
its legacy vocabulary files: that is what makes both libraries agree on any checkpoint.
"""

from __future__ import annotations

from ..core.errors import ConfigError, InvalidInputError
from .encoding import BatchEncoding, _check_text, _to_numpy, _to_py, _to_torch  # noqa: F401 (old import path)
from .files import (  # noqa: F401 (old import path)
    _NON_INIT_KEYS,
    ADDED_TOKENS_FILE,
    SPECIAL_TOKENS_MAP_FILE,
    TOKENIZER_CONFIG_FILE,
    TOKENIZER_FILE,
    TokenizerFilesMixin,
    _jsonable,
    _read_tokenizer_json,
)
from .padding import (  # noqa: F401 (old import path)
    LARGE_INTEGER,
    VERY_LARGE_INTEGER,
    PaddingMixin,
    _padding_strategy,
    _truncation_strategy,
)
from .special_tokens import (  # noqa: F401
    SpecialTokensMixin,
    _as_added_token,
    _is_added_token,
    _token_content,
)


class PreTrainedTokenizerBase(SpecialTokensMixin, PaddingMixin, TokenizerFilesMixin):
    """Argument handling, ``__call__``/``encode``, id conversion and decoding for every tokenizer."""

    vocab_files_names: dict[str, str] = {}
    model_input_names: list[str] = ["input_ids", "attention_mask"]
    padding_side: str = "right"
    truncation_side: str = "right"

    def __init__(self, **kwargs):
        self.init_kwargs = {k: v for k, v in kwargs.items() if k not in _NON_INIT_KEYS}
        if "additional_special_tokens" in self.init_kwargs and "extra_special_tokens" not in self.init_kwargs:
            self.init_kwargs["extra_special_tokens"] = self.init_kwargs["additional_special_tokens"]
        self.init_kwargs.pop("additional_special_tokens", None)
        self.name_or_path = str(kwargs.pop("name_or_path", ""))
        self._processor_class = kwargs.pop("processor_class", None)
        self._init_special_tokens(kwargs)
        max_len = kwargs.pop("model_max_length", kwargs.pop("max_len", None))
        self.model_max_length = int(max_len) if max_len is not None else VERY_LARGE_INTEGER
        self.padding_side = kwargs.pop("padding_side", type(self).padding_side)
        self.truncation_side = kwargs.pop("truncation_side", type(self).truncation_side)
        for name in ("padding_side", "truncation_side"):
            if getattr(self, name) not in ("right", "left"):
                raise ConfigError(f"{name} must be 'right' or 'left', got {getattr(self, name)!r}.")
        self.model_input_names = list(kwargs.pop("model_input_names", type(self).model_input_names))
        self.clean_up_tokenization_spaces = bool(kwargs.pop("clean_up_tokenization_spaces", False))
        self.split_special_tokens = bool(kwargs.pop("split_special_tokens", False))
        self.verbose = kwargs.pop("verbose", False)
        self._pad_token_type_id = 0
        self._in_target_context_manager = False

    def _set_processor_class(self, processor_class: str):
        self._processor_class = processor_class

    # ------------------------------------------------------------------ vocabulary (subclass)
    def __len__(self) -> int:
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def get_vocab(self) -> dict[str, int]:
        raise NotImplementedError

    def _convert_token_to_id(self, token: str) -> int | None:
        raise NotImplementedError

    def _convert_id_to_token(self, index: int) -> str | None:
        raise NotImplementedError

    def convert_tokens_to_ids(self, tokens):
        """A token (or list of tokens) → id(s); unknown tokens map to ``unk_token_id``."""
        if tokens is None:
            return None
        if isinstance(tokens, str):
            index = self._convert_token_to_id(tokens)
            return self._special_token_id("unk_token") if index is None else index
        return [self.convert_tokens_to_ids(t) for t in tokens]

    def get_special_tokens_mask(self, token_ids_0, token_ids_1=None, already_has_special_tokens: bool = False):
        """1 for special tokens, 0 for the others, of ids that already hold their special tokens."""
        if not already_has_special_tokens:
            with_specials = self.build_inputs_with_special_tokens(token_ids_0, token_ids_1)
            return self.get_special_tokens_mask(with_specials, already_has_special_tokens=True)
        if token_ids_1 is not None:
            raise InvalidInputError("Pass one formatted sequence when already_has_special_tokens=True.")
        special = set(self.all_special_ids)
        return [1 if int(i) in special else 0 for i in _to_py(token_ids_0)]

    def build_inputs_with_special_tokens(self, token_ids_0, token_ids_1=None) -> list[int]:
        """Add the model's special tokens around one sequence of ids (or a pair), as ``__call__`` does."""
        raise NotImplementedError(f"{type(self).__name__} cannot add special tokens to ids.")

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        ids = _to_py(ids)
        if isinstance(ids, int):
            return self._convert_id_to_token(ids)
        skip = set(self.all_special_ids) if skip_special_tokens else ()
        return [self._convert_id_to_token(int(i)) for i in ids if int(i) not in skip]


    # ------------------------------------------------------------------ encoding
    def __call__(self, text=None, text_pair=None, text_target=None, text_pair_target=None,
                 add_special_tokens: bool = True, padding=False, truncation=None, max_length=None,
                 stride: int = 0, is_split_into_words: bool = False, pad_to_multiple_of=None,
                 padding_side=None, return_tensors=None, return_token_type_ids=None,
                 return_attention_mask=None, return_overflowing_tokens: bool = False,
                 return_special_tokens_mask: bool = False, return_offsets_mapping: bool = False,
                 return_length: bool = False, verbose: bool = True, **kwargs) -> BatchEncoding:
        """Tokenize one text, a batch, or pairs; pad / truncate / tensorise as asked."""
        if text is None and text_target is None:
            raise InvalidInputError("Pass `text` (or `text_target`) to the tokenizer.")
        if padding_side is not None and padding_side not in ("left", "right"):
            raise InvalidInputError(f"padding_side must be 'left' or 'right', got {padding_side!r}.")
        padding, truncation, max_length = self._resolve_strategies(padding, truncation, max_length, pad_to_multiple_of)
        options = dict(add_special_tokens=add_special_tokens, padding_strategy=padding,
                       truncation_strategy=truncation, stride=stride, is_split_into_words=is_split_into_words,
                       pad_to_multiple_of=pad_to_multiple_of, padding_side=padding_side,
                       return_tensors=return_tensors, return_token_type_ids=return_token_type_ids,
                       return_attention_mask=return_attention_mask,
                       return_overflowing_tokens=return_overflowing_tokens,
                       return_special_tokens_mask=return_special_tokens_mask,
                       return_offsets_mapping=return_offsets_mapping, return_length=return_length,
                       split_special_tokens=kwargs.pop("split_special_tokens", self.split_special_tokens))
        encodings = targets = None
        if text is not None:
            encodings = self._encode_plus(text, text_pair, max_length=max_length, **options)
        if text_target is not None:
            target_length = kwargs.pop("max_target_length", None) or max_length
            targets = self._encode_plus(text_target, text_pair_target, max_length=target_length, **options)
        if targets is None:
            return encodings
        if encodings is None:
            return targets
        encodings["labels"] = targets["input_ids"]
        return encodings

    def _encode_plus(self, text, text_pair=None, **options) -> BatchEncoding:
        raise NotImplementedError

    def encode(self, text, text_pair=None, add_special_tokens: bool = True, padding=False, truncation=None,
               max_length=None, stride: int = 0, padding_side=None, return_tensors=None, **kwargs) -> list[int]:
        """Text → ids (``input_ids`` of ``__call__``)."""
        return self(text, text_pair=text_pair, add_special_tokens=add_special_tokens, padding=padding,
                    truncation=truncation, max_length=max_length, stride=stride, padding_side=padding_side,
                    return_tensors=return_tensors, **kwargs)["input_ids"]

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs) -> list[str]:
        raise NotImplementedError

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        raise NotImplementedError

    @property
    def max_len_single_sentence(self) -> int:
        return self.model_max_length - self.num_special_tokens_to_add(pair=False)

    @property
    def max_len_sentences_pair(self) -> int:
        return self.model_max_length - self.num_special_tokens_to_add(pair=True)

    # ------------------------------------------------------------------ decoding
    def decode(self, token_ids, skip_special_tokens: bool = False, **kwargs):
        """Ids → text; a batch (list of lists / 2-D tensor) gives a list of texts."""
        token_ids = _to_py(token_ids)
        if isinstance(token_ids, (list, tuple)) and token_ids and isinstance(token_ids[0], (list, tuple)):
            return [self._decode(seq, skip_special_tokens=skip_special_tokens, **kwargs) for seq in token_ids]
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        return self._decode(token_ids, skip_special_tokens=skip_special_tokens, **kwargs)

    def batch_decode(self, sequences, skip_special_tokens: bool = False, clean_up_tokenization_spaces=None,
                     **kwargs) -> list[str]:
        result = self.decode(sequences, skip_special_tokens=skip_special_tokens,
                             clean_up_tokenization_spaces=clean_up_tokenization_spaces, **kwargs)
        return [result] if isinstance(result, str) else result

    def _decode(self, token_ids, skip_special_tokens=False, clean_up_tokenization_spaces=None, **kwargs) -> str:
        raise NotImplementedError

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return " ".join(tokens)

    @staticmethod
    def clean_up_tokenization(text: str) -> str:
        for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
                              (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
            text = text.replace(before, after)
        return text

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name_or_path='{self.name_or_path}', vocab_size={self.vocab_size}, "
                f"model_max_length={self.model_max_length}, padding_side='{self.padding_side}', "
                f"truncation_side='{self.truncation_side}', special_tokens={self.special_tokens_map})")



def __getattr__(name):
    # The fast base lives in fast.py (it imports this module); keep the old import path working.
    if name == "PreTrainedTokenizerFast":
        from .fast import PreTrainedTokenizerFast

        return PreTrainedTokenizerFast
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
