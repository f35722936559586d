"""Generic ``PreTrainedModel`` behaviour on a toy model (no Transformers needed)."""

from __future__ import annotations

import json
import logging
import pickle

import pytest
import torch
from torch import nn

from polymodal.core.config import PretrainedConfig
from polymodal.core.errors import CheckpointError, ConfigError
from polymodal.core.modeling import PreTrainedModel


class ToyConfig(PretrainedConfig):
    model_type = "toy"
    width: int = 4
    initializer_range: float = 0.02


class ToyPreTrained(PreTrainedModel):
    config_class = ToyConfig
    base_model_prefix = "toy"

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=self.config.initializer_range)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


class ToyModel(ToyPreTrained):
    def __init__(self, config):
        super().__init__(config)
        self.dense = nn.Linear(config.width, config.width)
        self.LayerNorm = nn.LayerNorm(config.width)
        self.gradient_checkpointing = False
        self.post_init()

    def forward(self, x):
        return self.LayerNorm(self.dense(x))


class ToyForClassification(ToyPreTrained):
    def __init__(self, config):
        super().__init__(config)
        self.toy = ToyModel(config)
        self.classifier = nn.Linear(config.width, config.num_labels)
        self.post_init()

    def forward(self, x):
        return self.classifier(self.toy(x))


def trained_toy(**config):
    torch.manual_seed(0)
    model = ToyForClassification(ToyConfig(**config))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    return model


def test_num_parameters_and_freeze():
    model = trained_toy(num_labels=3)
    assert model.num_parameters() == (16 + 4) + (4 + 4) + (12 + 3)
    for p in model.toy.parameters():
        p.requires_grad = False
    assert model.num_parameters(only_trainable=True) == 15


def test_save_load_round_trip_and_eval(tmp_path):
    model = trained_toy(num_labels=3)
    model.train()
    model.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]  # no temp files left
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == ["ToyForClassification"] and config["model_type"] == "toy"
    loaded = ToyForClassification.from_pretrained(tmp_path)
    assert not loaded.training
    x = torch.randn(2, 4)
    torch.testing.assert_close(loaded(x), model(x))


def test_config_overrides_in_from_pretrained(tmp_path):
    trained_toy(num_labels=3).save_pretrained(tmp_path)
    model = ToyForClassification.from_pretrained(tmp_path, num_labels=5, ignore_mismatched_sizes=True, width=4)
    assert model.config.num_labels == 5 and model.classifier.out_features == 5


def test_base_checkpoint_into_head_and_back(tmp_path, caplog):
    head = trained_toy(num_labels=2)
    head.toy.save_pretrained(tmp_path / "base")
    with caplog.at_level(logging.INFO, logger="polymodal"):
        again, info = ToyForClassification.from_pretrained(tmp_path / "base", output_loading_info=True)
    assert sorted(info["missing_keys"]) == ["classifier.bias", "classifier.weight"]
    assert info["head_keys"] == info["missing_keys"]
    assert any("newly initialised head" in r.message for r in caplog.records)
    torch.testing.assert_close(again.toy.dense.weight, head.toy.dense.weight)
    assert again.classifier.weight.abs().max() < 0.2  # freshly initialised with std 0.02

    head.save_pretrained(tmp_path / "head")
    base, info = ToyModel.from_pretrained(tmp_path / "head", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]  # prefix stripped, head dropped
    torch.testing.assert_close(base.dense.weight, head.toy.dense.weight)


def test_legacy_layernorm_gamma_beta(tmp_path):
    from safetensors.torch import save_file

    model = trained_toy(num_labels=2)
    state = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
             for k, v in model.state_dict().items()}
    model.config.save_pretrained(tmp_path)
    save_file(state, tmp_path / "model.safetensors")
    loaded, info = ToyForClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    torch.testing.assert_close(loaded.toy.LayerNorm.weight, model.toy.LayerNorm.weight)


def test_missing_bias_keeps_loaded_weight(tmp_path):
    from safetensors.torch import save_file

    model = trained_toy(num_labels=2)
    state = dict(model.state_dict())
    del state["toy.dense.bias"]
    model.config.save_pretrained(tmp_path)
    save_file(state, tmp_path / "model.safetensors")
    with pytest.warns(UserWarning, match="MISSING 1 encoder weight"):
        loaded = ToyForClassification.from_pretrained(tmp_path)
    torch.testing.assert_close(loaded.toy.dense.weight, model.toy.dense.weight)
    assert torch.equal(loaded.toy.dense.bias, torch.zeros(4))


def test_dtype_options(tmp_path):
    trained_toy().to(torch.bfloat16).save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["dtype"] == "bfloat16"
    assert ToyForClassification.from_pretrained(tmp_path, torch_dtype="auto").dtype == torch.bfloat16
    assert ToyForClassification.from_pretrained(tmp_path, torch_dtype=torch.float32).dtype == torch.float32
    with pytest.raises(ConfigError, match="torch_dtype"):
        ToyForClassification.from_pretrained(tmp_path, torch_dtype="float99")


def test_sharding_and_stale_files(tmp_path):
    model = trained_toy(num_labels=2)
    model.save_pretrained(tmp_path, max_shard_size=100)
    assert (tmp_path / "model.safetensors.index.json").exists()
    x = torch.randn(1, 4)
    torch.testing.assert_close(ToyForClassification.from_pretrained(tmp_path)(x), model(x))
    model.save_pretrained(tmp_path)  # single file again: the old index must not win
    assert not (tmp_path / "model.safetensors.index.json").exists()
    with pytest.raises(ConfigError, match="max_shard_size"):
        model.save_pretrained(tmp_path, max_shard_size="big")


def test_missing_weights_and_bad_folders(tmp_path):
    ToyConfig().save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="has no model weights"):
        ToyForClassification.from_pretrained(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="needs a folder"):
        trained_toy().save_pretrained(tmp_path / "file")


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_pickle_is_weights_only(tmp_path):
    ToyConfig().save_pretrained(tmp_path)
    with open(tmp_path / "pytorch_model.bin", "wb") as f:
        pickle.dump({"toy.dense.weight": _Evil()}, f)
    with pytest.raises(CheckpointError, match="allow_pickle=True"):
        ToyForClassification.from_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="weights_only"):
        ToyForClassification.from_pretrained(tmp_path, allow_pickle=True)


def test_gradient_checkpointing_switches():
    model = trained_toy()
    assert not model.is_gradient_checkpointing
    model.gradient_checkpointing_enable()
    assert model.toy.gradient_checkpointing and model.is_gradient_checkpointing
    model.gradient_checkpointing_disable()
    assert not model.is_gradient_checkpointing


def test_wrong_config_type_is_clear():
    with pytest.raises(ConfigError, match="from_pretrained"):
        ToyModel({"width": 4})
