"""Readers for legacy vocabulary files shared by the tokenizers of every family.

``vocab.json``, ``merges.txt``, ``vocab.txt`` and sentencepiece ``.model`` files (parsed
from the protobuf wire format, so neither ``sentencepiece`` nor ``protobuf`` is needed at
run time), plus the precompiled normaliser stored in a ``tokenizer.json``.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

from ..core.errors import CheckpointError


def read_json_vocab(path) -> dict[str, int]:
    try:
        vocab = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"Vocabulary file not found: '{path}'.") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"'{path}' is not valid JSON ({exc.msg} at line {exc.lineno}).") from None
    if not isinstance(vocab, dict):
        raise CheckpointError(f"'{path}' must map tokens to ids (a JSON object), found {type(vocab).__name__}.")
    return vocab


def read_merges(path) -> list[tuple[str, str]]:
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


def precompiled_charsmap(tokenizer_json: dict) -> bytes | None:
    """The sentencepiece normalisation table a tokenizer.json stores (base64), if any."""
    normalizer = tokenizer_json.get("normalizer") or {}
    parts = normalizer.get("normalizers", [normalizer]) if normalizer.get("type") == "Sequence" else [normalizer]
    for part in parts:
        if part.get("type") == "Precompiled" and part.get("precompiled_charsmap"):
            return base64.b64decode(part["precompiled_charsmap"])
    return None


def read_wordpiece_vocab(vocab_file) -> dict[str, int]:
    """vocab.txt: one token a line; the line number is the id."""
    try:
        lines = Path(vocab_file).read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        raise CheckpointError(f"Vocabulary file not found: '{vocab_file}'.") from None
    if lines and lines[-1] == "":  # the file's final newline is not a token
        lines.pop()
    vocab: dict[str, int] = {}
    for index, token in enumerate(lines):
        vocab[token.rstrip("\r")] = index  # a repeated token keeps its last id, as Transformers
    return vocab


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
