"""ResNet and MobileNetV2 against Transformers (eval and train-mode BatchNorm), both directions."""

from __future__ import annotations

import pytest
import torch
from vision_helpers import assert_grads_close, assert_outputs_close, build_hf, load_ours, load_theirs, pixels

import polymodal
from polymodal.core.errors import InvalidInputError

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()

RESNETS = [
    {"embedding_size": 8, "hidden_sizes": [8, 16], "depths": [1, 2], "layer_type": "basic"},
    {"embedding_size": 8, "hidden_sizes": [16, 32], "depths": [2, 1], "layer_type": "bottleneck",
     "downsample_in_bottleneck": True, "downsample_in_first_stage": True},
]
MOBILENETS = [
    {"depth_multiplier": 0.25, "image_size": 32},
    {"depth_multiplier": 0.35, "tf_padding": False, "first_layer_is_expansion": False, "output_stride": 16,
     "finegrained_output": False},
]


def _randomise_batchnorm(model):
    """Non-trivial running statistics, so eval-mode BatchNorm is really tested."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1, generator=generator)
                module.running_var.uniform_(0.5, 1.5, generator=generator)
                module.weight.uniform_(0.5, 1.5, generator=generator)
    return model


CASES = [("ResNet", "ResNetConfig", c) for c in RESNETS] + \
        [("MobileNetV2", "MobileNetV2Config", {**c, "classifier_dropout_prob": 0.0}) for c in MOBILENETS]


@pytest.mark.parametrize("family,config_name,config", CASES)
def test_classifier_matches_transformers(tmp_path, family, config_name, config):
    hf = _randomise_batchnorm(build_hf(f"{family}ForImageClassification", config_name, num_labels=3, **config))
    ours = load_ours(hf, tmp_path)
    x = pixels(3, size=40, height=36)
    with torch.no_grad():
        assert_outputs_close(ours(x, output_hidden_states=True), hf(x, output_hidden_states=True),
                             ("logits", "hidden_states"))
        torch.testing.assert_close(ours(x[1:2]).logits, ours(x).logits[1:2], atol=1e-5, rtol=1e-4)
    assert assert_grads_close(ours, hf, {"pixel_values": x, "labels": torch.tensor([0, 2, 1])}) > 10
    for a, b in zip(ours.buffers(), hf.buffers()):  # train-mode BatchNorm updated the same statistics
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    ours.eval()
    theirs = load_theirs(ours, tmp_path / "back")
    with torch.no_grad():
        assert_outputs_close(ours(x), theirs(x))


@pytest.mark.parametrize("family,config_name,config", CASES[::2])
def test_base_model_and_auto(tmp_path, family, config_name, config):
    hf = _randomise_batchnorm(build_hf(f"{family}Model", config_name, **config))
    ours = load_ours(hf, tmp_path)
    x = pixels(2, size=33)
    with torch.no_grad():
        assert_outputs_close(ours(x), hf(x), ("last_hidden_state", "pooler_output"))
        out = ours(x, return_dict=False)
    assert isinstance(out, tuple) and len(out) == 2
    assert type(polymodal.AutoModel.from_pretrained(tmp_path)).__name__ == f"{family}Model"
    with pytest.raises(InvalidInputError, match="channels-last"):
        ours(torch.zeros(1, 33, 33, 3))


def test_config_errors():
    with pytest.raises(polymodal.core.errors.ConfigError, match="layer_type"):
        polymodal.ResNetConfig(layer_type="wide")
    with pytest.raises(polymodal.core.errors.ConfigError, match="depth_multiplier"):
        polymodal.MobileNetV2Config(depth_multiplier=0)
