"""BiT (weight-standardised convs, group norm, SAME padding) against Transformers, both directions."""

from __future__ import annotations

import pytest
import torch
from vision_helpers import assert_grads_close, assert_outputs_close, build_hf, load_ours, load_theirs, pixels

import polymodal

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()

VARIANTS = [
    {"embedding_size": 8, "hidden_sizes": [16, 32], "depths": [1, 2], "num_groups": 4},
    {"embedding_size": 8, "hidden_sizes": [16, 32, 32], "depths": [1, 1, 1], "num_groups": 2,
     "layer_type": "bottleneck", "global_padding": "SAME", "embedding_dynamic_padding": True, "output_stride": 8},
]


def _perturb(model):
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.GroupNorm):
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.normal_(0, 0.1, generator=generator)
    return model


@pytest.mark.parametrize("variant", VARIANTS)
def test_classifier_matches_transformers(tmp_path, variant):
    hf = _perturb(build_hf("BitForImageClassification", "BitConfig", num_labels=3, **variant))
    ours = load_ours(hf, tmp_path)
    x = pixels(3, size=37, height=30)
    with torch.no_grad():
        assert_outputs_close(ours(x, output_hidden_states=True), hf(x, output_hidden_states=True),
                             ("logits", "hidden_states"))
    assert assert_grads_close(ours, hf, {"pixel_values": x, "labels": torch.tensor([0, 2, 1])}) > 10
    ours.eval()
    theirs = load_theirs(ours, tmp_path / "back")
    with torch.no_grad():
        assert_outputs_close(ours(x), theirs(x))
    assert type(polymodal.AutoModel.from_pretrained(tmp_path)) is polymodal.BitModel
