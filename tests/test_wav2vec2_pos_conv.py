"""wav2vec2's positional convolution on channels-last memory (CPU float32) gives nn.Conv1d's
numbers, forward and backward, in training and inference."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from polymodal import Wav2Vec2Config
from polymodal.models.wav2vec2.modeling import Wav2Vec2PositionalConvEmbedding
from polymodal.nn.fastpath import cpu_fast_paths


def _embedding(kernel: int, groups: int) -> Wav2Vec2PositionalConvEmbedding:
    torch.manual_seed(0)
    config = Wav2Vec2Config(hidden_size=32, num_attention_heads=4, num_conv_pos_embeddings=kernel,
                            num_conv_pos_embedding_groups=groups)
    module = Wav2Vec2PositionalConvEmbedding(config)
    with torch.no_grad():  # a non-trivial weight norm and bias
        module.conv.parametrizations.weight.original0.uniform_(0.5, 1.5)
        module.conv.bias.normal_()
    return module


@pytest.mark.parametrize("kernel,groups", [(16, 4), (7, 2), (128, 16)])
@pytest.mark.parametrize("train", [True, False])
def test_channels_last_equals_conv1d_forward_and_backward(kernel, groups, train):
    module = _embedding(kernel, groups).train(train)
    x = torch.randn(3, 21, 32)
    grad = torch.randn(3, 21, 32)
    results = []
    for fast in (True, False):
        xs = x.clone().requires_grad_()
        with cpu_fast_paths(fast):
            out = module(xs)
        out.backward(grad)
        params = [module.conv.parametrizations.weight.original0, module.conv.parametrizations.weight.original1,
                  module.conv.bias]
        results.append((out.detach(), xs.grad, *[p.grad.clone() for p in params]))
        module.zero_grad(set_to_none=True)
    for ours, theirs in zip(*results):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    # the reference path is the plain conv: check it against F.conv1d itself once
    with torch.no_grad():
        ref = F.gelu(F.conv1d(x.transpose(1, 2), module.conv.weight, module.conv.bias, padding=kernel // 2,
                              groups=groups))
        ref = ref[:, :, : x.shape[1]].transpose(1, 2)
        torch.testing.assert_close(module(x), ref, atol=1e-5, rtol=1e-5)


def test_channels_last_path_is_taken_and_output_is_frames_first():
    module = _embedding(16, 4)
    calls = []
    original = F.conv2d

    def spy(*args, **kwargs):
        calls.append(args[0].is_contiguous(memory_format=torch.channels_last))
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(F, "conv2d", spy)
        out = module(torch.randn(2, 9, 32))
    assert calls == [True] and out.shape == (2, 9, 32) and out.is_contiguous()


def test_non_float32_and_non_conv_keep_the_plain_path():
    module = _embedding(16, 4).to(torch.bfloat16)
    out = module(torch.randn(2, 9, 32, dtype=torch.bfloat16))
    assert out.shape == (2, 9, 32) and out.dtype == torch.bfloat16
