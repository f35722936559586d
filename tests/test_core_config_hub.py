"""Core: PretrainedConfig behaviour and hub-id resolution offline."""

from __future__ import annotations

import json

import pytest

import polymodal
from polymodal.core.config import PretrainedConfig
from polymodal.core.errors import CheckpointError, ConfigError, HubUnavailableError
from polymodal.core.hub import resolve_file


class ToyConfig(PretrainedConfig):
    model_type = "toy"
    hidden_size: int = 8
    conv_dim: list = [1, 2]


def test_defaults_unknown_keys_and_round_trip(tmp_path):
    config = ToyConfig(hidden_size=4, brand_new_key={"a": 1})
    assert config.conv_dim == [1, 2] and ToyConfig().conv_dim is not config.conv_dim  # no shared mutable default
    config.save_pretrained(tmp_path)
    data = json.loads((tmp_path / "config.json").read_text())
    assert data["model_type"] == "toy" and data["brand_new_key"] == {"a": 1}
    again = ToyConfig.from_pretrained(tmp_path)
    assert again == config and again.brand_new_key == {"a": 1}


def test_labels_and_overrides(tmp_path):
    config = ToyConfig(id2label={"0": "no", "1": "yes"})
    assert config.id2label == {0: "no", 1: "yes"} and config.label2id == {"no": 0, "yes": 1}
    assert config.num_labels == 2 and ToyConfig().num_labels == 2
    config.save_pretrained(tmp_path)
    assert ToyConfig.from_pretrained(tmp_path, num_labels=5).id2label[4] == "LABEL_4"
    labels = {0: "a", 1: "b", 2: "c"}
    loaded = ToyConfig.from_pretrained(tmp_path, id2label=labels, label2id={v: k for k, v in labels.items()})
    assert loaded.num_labels == 3 and loaded.label2id["c"] == 2
    with pytest.raises(ConfigError, match="num_labels=3 does not match"):
        ToyConfig(id2label={0: "x"}, num_labels=3)


def test_torch_dtype_spellings():
    import torch

    config = ToyConfig(torch_dtype="bfloat16")
    assert config.dtype == "bfloat16" and config.torch_dtype is torch.bfloat16
    assert ToyConfig(dtype=torch.float16).dtype == "float16"


def test_broken_and_missing_config_files(tmp_path):
    (tmp_path / "config.json").write_text("{ not json")
    with pytest.raises(ConfigError, match="not valid JSON.*line 1"):
        ToyConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="JSON object"):
        ToyConfig.from_pretrained(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointError, match="has no 'config.json'"):
        ToyConfig.from_pretrained(empty)
    with pytest.raises(CheckpointError, match="No such folder"):
        ToyConfig.from_pretrained(str(tmp_path / "nope" / "deeper" / "dir"))


def test_unknown_model_type_is_clear(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt-zero"}))
    with pytest.raises(ConfigError, match="Unknown model_type 'gpt-zero'.*supports"):
        polymodal.AutoConfig.from_pretrained(tmp_path)
    with pytest.raises(ConfigError, match="gpt-zero"):
        polymodal.AutoModel.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 3}))
    with pytest.raises(ConfigError, match="no 'model_type'"):
        polymodal.AutoConfig.from_pretrained(tmp_path)


def test_hub_id_offline_names_the_id_and_the_fix(monkeypatch):
    """HF_HUB_OFFLINE=1; the unset case is the same message when the host cannot be resolved."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubUnavailableError) as info:
        resolve_file("facebook/wav2vec2-base", "config.json")
    message = str(info.value)
    assert "facebook/wav2vec2-base" in message and "local" in message and "from_pretrained('./wav2vec2-base')" in message
    with pytest.raises(OSError, match="facebook/wav2vec2-base"):
        polymodal.AutoFeatureExtractor.from_pretrained("facebook/wav2vec2-base")
    with pytest.raises(OSError, match="facebook/wav2vec2-base"):
        polymodal.AutoModelForAudioClassification.from_pretrained("facebook/wav2vec2-base")


def test_pass_a_file_not_a_folder(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"x")
    with pytest.raises(CheckpointError, match="is a file"):
        resolve_file(path, "config.json")


def test_hub_id_without_network_fails_fast(monkeypatch):
    """No DNS: the error comes from the up-front check, not after huggingface_hub's retry loop."""
    import socket

    def no_dns(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(HubUnavailableError, match="openai/whisper-tiny"):
        polymodal.AutoFeatureExtractor.from_pretrained("openai/whisper-tiny")
