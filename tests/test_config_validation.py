"""Config checks at construction: typos warn (in code only), absurd sizes are errors naming the
field, and the CLI reports such a config in one line."""

from __future__ import annotations

import json
import warnings

import pytest

from polymodal.core.errors import ConfigError
from polymodal.models.wav2vec2.configuration import Wav2Vec2Config


def test_typo_in_code_warns_with_a_suggestion():
    with pytest.warns(UserWarning, match=r"'hiden_size' \(did you mean 'hidden_size'\?\)"):
        config = Wav2Vec2Config(hiden_size=32)
    assert config.hiden_size == 32 and config.hidden_size == 768  # kept, not applied


def test_known_transformers_keys_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Wav2Vec2Config(use_cache=False, num_labels=3, torch_dtype="float32", tokenizer_class="Wav2Vec2CTCTokenizer")


def test_unknown_json_keys_round_trip_silently(tmp_path):
    data = {**Wav2Vec2Config().to_dict(), "my_custom_key": [1, 2], "another": "x"}
    (tmp_path / "config.json").write_text(json.dumps(data))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config = Wav2Vec2Config.from_pretrained(tmp_path)
    assert config.my_custom_key == [1, 2]
    config.save_pretrained(tmp_path / "again")
    assert json.loads((tmp_path / "again" / "config.json").read_text())["another"] == "x"


def test_unknown_override_in_from_pretrained_warns(tmp_path):
    Wav2Vec2Config().save_pretrained(tmp_path)
    with pytest.warns(UserWarning, match="hiden_size"):
        Wav2Vec2Config.from_pretrained(tmp_path, hiden_size=3)


@pytest.mark.parametrize("field, value, words", [
    ("hidden_size", 10 ** 9, "hidden_size=1000000000 is absurdly large"),
    ("hidden_size", -8, "hidden_size=-8 must be positive"),
    ("num_attention_heads", 0, "num_attention_heads=0 must be positive"),
    ("intermediate_size", "3072", "intermediate_size='3072' must be an int"),
    ("conv_kernel", [0, 3, 3, 3, 3, 2, 2], r"conv_kernel=\[0, 3, 3, 3, 3, 2, 2\] must be positive in every entry"),
    ("conv_stride", [5, 2, 2, 2, 2, 2, -2], "conv_stride"),
    ("vocab_size", 1.5, "vocab_size=1.5 must be an int"),
])
def test_absurd_sizes_are_errors_naming_the_field(field, value, words):
    with pytest.raises(ConfigError, match=words):
        Wav2Vec2Config(**{field: value})


def test_absurd_size_in_a_file_is_an_error_too(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({**Wav2Vec2Config().to_dict(), "hidden_size": -1}))
    with pytest.raises(ConfigError, match="hidden_size=-1"):
        Wav2Vec2Config.from_pretrained(tmp_path)


def test_float_sizes_written_as_whole_numbers_are_fine():
    assert Wav2Vec2Config(hidden_size=768.0, num_attention_heads=12).hidden_size == 768.0


def test_every_transformers_default_config_loads_cleanly():
    transformers = pytest.importorskip("transformers")
    from polymodal.models.auto import MODEL_TYPES, AutoConfig

    transformers.logging.set_verbosity_error()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        for model_type in MODEL_TYPES:
            if model_type == "encoder-decoder":
                # Transformers' default pairs two BERTs, the decoder with cross-attention, which
                # polymodal builds as BertGenerationDecoder only: a clear ConfigError, tested in
                # test_bert_generation.py::test_encoder_decoder_config_errors.
                continue
            try:
                theirs = transformers.AutoConfig.for_model(model_type)
            except ValueError:
                continue  # polymodal's own family
            type(AutoConfig.for_model(model_type)).from_dict(theirs.to_dict())


def test_cli_prints_one_line_for_an_absurd_config(tmp_path, capsys):
    import numpy as np
    import soundfile as sf

    from polymodal.cli import main

    sf.write(tmp_path / "x.wav", np.zeros(1600, np.float32), 16000)
    data = {**Wav2Vec2Config(num_labels=2).to_dict(), "hidden_size": 10 ** 9,
            "architectures": ["Wav2Vec2ForSequenceClassification"]}
    (tmp_path / "config.json").write_text(json.dumps(data))
    code = main(["classify", str(tmp_path), str(tmp_path / "x.wav")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "hidden_size=1000000000" in err and "Traceback" not in err
