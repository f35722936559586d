"""int8 quantisation (polymodal.export.quantize): kernels, whole models, safetensors round trip."""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from clip_helpers import VISION
from safetensors import safe_open
from torch import nn
from wav2vec2_helpers import NO_DROPOUT, TINY, padded_batch

from polymodal import (
    ASTConfig,
    ASTForAudioClassification,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
    Wav2Vec2Config,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2ForSequenceClassification,
    pipeline,
)
from polymodal.cli import main
from polymodal.core.errors import ConfigError, InvalidInputError
from polymodal.export import Int8Conv1d, Int8Conv2d, Int8Linear, quantize
from polymodal.export import int8 as int8_module
from polymodal.export import quantizer as quantizer_module
from polymodal.export.int8_frames import Int8FrameConv1d
from polymodal.export.quantizer import FORMAT_VERSION, default_modules_to_not_convert
from polymodal.nn.linear import linears


def rel_error(got, ref) -> float:
    return ((got - ref).norm() / ref.norm()).item()


def both_kernels(layer, x):
    """The oneDNN kernel and the dequantised-float fallback on the same input."""
    with torch.no_grad():
        fast = layer(x)
        int8_module._ONEDNN, saved = False, int8_module._ONEDNN
        try:
            slow = layer(x)
        finally:
            int8_module._ONEDNN = saved
    return fast, slow


# --- layers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("static", [False, True])
def test_int8_linear_close_to_float(static):
    torch.manual_seed(0)
    layer, x = nn.Linear(64, 48), torch.randn(3, 5, 64)
    q = Int8Linear.from_float(layer, static=static)
    if static:
        q.set_input_range(x.min().item(), x.max().item())
    fast, slow = both_kernels(q, x)
    assert fast.shape == (3, 5, 48) and fast.dtype == torch.float32
    torch.testing.assert_close(fast, slow, atol=1e-4, rtol=1e-4)  # same integer maths
    assert rel_error(fast, layer(x).detach()) < 0.02
    with torch.no_grad():  # GELU fused in the kernel
        torch.testing.assert_close(q(x, gelu=True), nn.functional.gelu(q(x)), atol=1e-4, rtol=1e-4)


def test_int8_conv1d_channels_last_and_contiguous():
    torch.manual_seed(0)
    conv = nn.Conv1d(32, 40, 3, stride=2)
    q = Int8Conv1d.from_float(conv)
    frames_first = torch.randn(2, 50, 32)  # wav2vec2's layout: (B, T, C) memory seen as (B, C, T)
    for x in (frames_first.transpose(1, 2), frames_first.transpose(1, 2).contiguous()):
        fast, slow = both_kernels(q, x)
        torch.testing.assert_close(fast, slow, atol=1e-4, rtol=1e-4)
        assert rel_error(fast, conv(x).detach()) < 0.02


@pytest.mark.parametrize("kernel,stride", [(3, 2), (2, 2)])  # wav2vec2's conv layers 2-5 and 6-7
def test_int8_frame_conv1d_per_frame_scales(kernel, stride, monkeypatch):
    """One scale per output frame: frames 100x quieter keep their relative precision."""
    monkeypatch.setattr("polymodal.export.int8_frames._CHUNK_ROWS", 7)  # several chunks per clip, a short last one
    torch.manual_seed(0)
    conv = nn.Conv1d(48, 40, kernel, stride=stride, bias=True)
    q = Int8FrameConv1d.from_float(conv)
    x = torch.randn(2, 61, 48)  # frames-first
    x[:, 30:] *= 0.01  # the second half quiet
    with torch.no_grad():
        ref = conv(x.transpose(1, 2)).transpose(1, 2)
        fast, slow = both_kernels(q.forward_frames, x)
        torch.testing.assert_close(fast, slow, atol=1e-4, rtol=1e-4)  # oneDNN == the float fallback
        quiet = slice(30 // stride + 1, None)  # output frames that read quiet frames only
        assert rel_error(fast[:, quiet], ref[:, quiet]) < 0.02
        assert rel_error(fast, ref) < 0.02
        # channels-first call (torch's conv path) computes the same numbers
        torch.testing.assert_close(q(x.transpose(1, 2)), fast.transpose(1, 2), atol=1e-5, rtol=1e-5)
        # one scale per tensor (Int8Conv1d) crushes the quiet frames
        per_tensor = Int8Conv1d.from_float(conv)(x.transpose(1, 2)).transpose(1, 2)
        assert rel_error(per_tensor[:, quiet], ref[:, quiet]) > 5 * rel_error(fast[:, quiet], ref[:, quiet])
        assert not fast.isnan().any()
        zeros = q.forward_frames(torch.zeros(1, 9, 48))  # digital silence: the bias, no NaN
        torch.testing.assert_close(zeros, conv.bias.expand_as(zeros))


@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
def test_int8_frame_conv1d_outlier_channels(static):
    torch.manual_seed(0)
    conv = nn.Conv1d(64, 32, 3, stride=2, bias=False)
    x = torch.randn(2, 41, 64).abs()
    x[..., OUTLIERS] *= 40
    q = Int8FrameConv1d.from_float(conv, static=static)
    if static:
        q.set_input_range(*int8_module.channel_ranges(x, -1))
        assert q.input_outliers.nonzero().flatten().tolist() == OUTLIERS
    with torch.no_grad():
        ref = conv(x.transpose(1, 2)).transpose(1, 2)
        before = x.clone()
        fast, slow = both_kernels(q.forward_frames, x)
        torch.testing.assert_close(x, before, atol=0, rtol=0)  # outlier columns zeroed in place, then restored
        torch.testing.assert_close(fast, slow, atol=1e-4, rtol=1e-4)
        # What the small channels contribute survives (each row's peak is theirs, not the outliers'):
        # its error 4% (the outliers' weight rounding included) against 17% without the split.
        small = [c for c in range(64) if c not in OUTLIERS]
        ref_small = nn.functional.conv1d(x[..., small].transpose(1, 2), conv.weight[:, small], None, 2).transpose(1, 2)
        assert rel_error(fast, ref) < 0.01
        assert rel_error(fast - (ref - ref_small), ref_small) < 0.06
        if not static:
            with per_tensor_only():  # no outlier split
                unsplit = q.forward_frames(x)
            assert rel_error(unsplit - (ref - ref_small), ref_small) > 0.12


def test_int8_frame_conv1d_bad_input():
    q = Int8FrameConv1d.from_float(nn.Conv1d(16, 8, 3, stride=2))
    with pytest.raises(InvalidInputError, match=r"frames-first input \(batch, frames, 16\)"):
        q.forward_frames(torch.randn(2, 10, 12))
    with pytest.raises(InvalidInputError, match="fewer than this convolution's kernel"):
        q.forward_frames(torch.randn(2, 2, 16))
    with pytest.raises(InvalidInputError, match="kernel <= 2 x stride"):
        Int8FrameConv1d.from_float(nn.Conv1d(16, 8, 5, stride=2))


@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
def test_int8_grouped_weight_normed_conv1d(static):
    torch.manual_seed(0)
    conv = nn.utils.parametrizations.weight_norm(nn.Conv1d(32, 32, 16, padding=8, groups=4), name="weight", dim=2)
    q = Int8Conv1d.from_float(conv, static=static)
    x = torch.randn(2, 40, 32).transpose(1, 2)  # (B, C, T) over frames-first memory, as wav2vec2 calls it
    x[:, 5] *= 40  # an outlier channel: grouped layers keep one range (no float split)
    if static:
        q.set_input_range(x.amin(dim=(0, 2)), x.amax(dim=(0, 2)))
        assert not hasattr(q, "input_outliers")
    fast, slow = both_kernels(q, x)
    torch.testing.assert_close(fast, slow, atol=1e-3, rtol=1e-4)
    assert rel_error(fast, conv(x).detach()) < 0.05


def test_int8_conv2d_close_to_float():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 16, 8, stride=8)
    q = Int8Conv2d.from_float(conv, static=True)
    x = torch.randn(2, 3, 32, 32)
    q.set_input_range(x.min().item(), x.max().item())
    fast, slow = both_kernels(q, x)
    torch.testing.assert_close(fast, slow, atol=1e-4, rtol=1e-4)
    assert rel_error(fast, conv(x).detach()) < 0.02


# --- whole models ---------------------------------------------------------------------------

def tiny_wav2vec2(**overrides):
    torch.manual_seed(0)
    config = Wav2Vec2Config(**{**TINY, **NO_DROPOUT, "feat_extract_norm": "layer", "conv_dim": (32, 32, 32),
                               **overrides})
    return Wav2Vec2ForSequenceClassification(config).eval()


def tiny_ast():
    torch.manual_seed(0)
    config = ASTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                       max_length=48, num_mel_bins=32, num_labels=3)
    return ASTForAudioClassification(config).eval()


def tiny_clip_vision():
    torch.manual_seed(0)
    return CLIPVisionModelWithProjection(CLIPVisionConfig(**VISION)).eval()


MODELS = {
    "wav2vec2": (tiny_wav2vec2, lambda: padded_batch((4000, 2500, 3200))[0], "logits"),
    "ast": (tiny_ast, lambda: torch.randn(3, 48, 32), "logits"),
    "clip-vision": (tiny_clip_vision, lambda: torch.randn(3, 3, 30, 30), "image_embeds"),
}


@pytest.mark.parametrize("family", list(MODELS))
@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
def test_round_trip_through_safetensors(tmp_path, family, static):
    build, inputs, field = MODELS[family]
    model, x = build(), inputs()
    quantized = quantize(model, calibration_data=[x] if static else None)
    names = quantized.config.quantization_config["modules"]
    int8_classes = (Int8Linear, Int8Conv1d, Int8Conv2d, Int8FrameConv1d)
    assert names and all(isinstance(quantized.get_submodule(n), int8_classes) for n in names)
    assert not any(isinstance(m, Int8Linear) for m in model.modules())  # the original is untouched
    with torch.no_grad():
        ref, got = model(x)[field], quantized(x)[field]
    assert nn.functional.cosine_similarity(got, ref, dim=-1).min() > 0.98

    quantized.save_pretrained(tmp_path)
    assert [p.name for p in tmp_path.glob("*.bin")] == []  # no pickle
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as f:
        assert f.get_tensor(names[0] + ".weight").dtype == torch.int8
        assert f.get_tensor(names[0] + ".weight_scale").dtype == torch.float32
    saved = json.loads((tmp_path / "config.json").read_text())["quantization_config"]
    assert saved["activation_scheme"] == ("static" if static else "dynamic")

    def no_requantising(*args, **kwargs):
        raise AssertionError("from_pretrained quantised the weights again")

    original = int8_module.weight_to_int8
    int8_module.weight_to_int8 = no_requantising
    try:
        loaded = type(model).from_pretrained(tmp_path)
    finally:
        int8_module.weight_to_int8 = original
    assert [type(loaded.get_submodule(n)) for n in names] == [type(quantized.get_submodule(n)) for n in names]
    with torch.no_grad():
        torch.testing.assert_close(loaded(x)[field], quantized(x)[field], atol=0, rtol=0)


@contextlib.contextmanager
def conv_stack_per_tensor():
    """Format 1-2's int8 conv stack: the per-tensor Int8Conv1d, no per-frame scales."""
    saved, quantizer_module.frame_scaled_layers = quantizer_module.frame_scaled_layers, lambda model, names: []
    try:
        yield
    finally:
        quantizer_module.frame_scaled_layers = saved


def test_wav2vec2_conv_stack_int8_per_frame_by_default():
    """Quiet (padded, silent) frames come out of the conv stack ~100x smaller than speech and the
    feature projection's layer norm scales each frame back up: the stack's convs get one
    activation scale per output frame (the first, 10 raw samples per output, stays float)."""
    model = tiny_wav2vec2()
    assert default_modules_to_not_convert(model) == []
    quantized = quantize(model)
    convs = [layer.conv for layer in quantized.wav2vec2.feature_extractor.conv_layers]
    assert type(convs[0]) is nn.Conv1d and all(isinstance(c, Int8FrameConv1d) for c in convs[1:])
    assert isinstance(quantized.wav2vec2.feature_projection.projection, Int8Linear)
    config = quantized.config.quantization_config
    assert config["frame_scaled_modules"] == [f"wav2vec2.feature_extractor.conv_layers.{i}.conv" for i in (1, 2)]
    assert config["modules_to_not_convert"] == []
    assert default_modules_to_not_convert(tiny_ast()) == []
    # A conv stack the per-frame layer cannot run (kernel > 2 x stride) stays float as a whole.
    odd = tiny_wav2vec2(conv_kernel=(10, 5, 3))
    assert default_modules_to_not_convert(odd) == ["wav2vec2.feature_extractor"]
    assert quantize(odd).config.quantization_config["frame_scaled_modules"] == []


def test_quiet_frames_survive_per_frame_scales():
    """A clip padded with silence to twice its length, no attention mask (wav2vec2-base style)."""
    model = tiny_wav2vec2(feat_extract_norm="group")
    torch.manual_seed(1)
    x = torch.cat([torch.randn(2, 3000), torch.zeros(2, 3000)], dim=1)
    x[:, 3000:] = 1e-3 * torch.randn(2, 3000)  # quiet, not digital silence
    with torch.no_grad():
        ref = model(x).logits
        features = model.wav2vec2.feature_extractor(x)
        for calibration in (None, [x]):  # quiet frames' std is ~1% of speech frames' here
            quantized = quantize(model, calibration)
            quiet = slice(features.shape[-1] // 2 + 2, None)  # output frames that read only the quiet half
            got = quantized.wav2vec2.feature_extractor(x)
            assert rel_error(got[..., quiet], features[..., quiet]) < 0.05  # relative to their own size
            assert rel_error(quantized(x).logits, ref) < 0.05
            # Conv stack float (format 2's default): as close.
            assert rel_error(quantize(model, calibration, ["wav2vec2.feature_extractor"])(x).logits, ref) < 0.05
            # One scale per tensor rounds the quiet frames to zero: logits ~50% off.
            with conv_stack_per_tensor():
                assert rel_error(quantize(model, calibration, modules_to_not_convert=[])(x).logits, ref) > 0.3


def test_first_wav2vec2_conv_stays_float_and_skip_list():
    model = tiny_wav2vec2()
    quantized = quantize(model, modules_to_not_convert=["classifier"])  # replaces the default list
    convs = quantized.wav2vec2.feature_extractor.conv_layers
    assert type(convs[0].conv) is nn.Conv1d  # reads 10 raw samples: kept float
    assert isinstance(convs[1].conv, Int8FrameConv1d)
    assert type(quantized.classifier) is nn.Linear
    pos_conv = quantized.wav2vec2.encoder.pos_conv_embed.conv  # grouped and weight-normed: its computed weight
    assert isinstance(pos_conv, Int8Conv1d) and pos_conv.groups == model.config.num_conv_pos_embedding_groups


def test_quantize_bad_input(tmp_path):
    model = tiny_wav2vec2()
    with pytest.raises(InvalidInputError, match="nn.Module"):
        quantize("model")
    with pytest.raises(InvalidInputError, match="float32"):
        quantize(tiny_wav2vec2().to(torch.bfloat16))
    with pytest.raises(InvalidInputError, match="calibration_data"):
        quantize(model, calibration_data=["not a tensor"])
    with pytest.raises(InvalidInputError, match="empty"):
        quantize(model, calibration_data=[])
    with pytest.raises(InvalidInputError, match="already quantised"):
        quantize(quantize(model))
    with pytest.raises(InvalidInputError, match="no linear"):
        quantize(nn.Sequential(nn.ReLU()))
    quantized = quantize(model)
    quantized.config.quantization_config["quant_method"] = "bitsandbytes"
    quantized.save_pretrained(tmp_path)
    with pytest.raises(ConfigError, match="polymodal-int8"):
        Wav2Vec2ForSequenceClassification.from_pretrained(tmp_path)


# --- command line ---------------------------------------------------------------------------

INTENTS = Path(__file__).resolve().parents[1] / "src/polymodal/datasets/data/spoken_intents"


@pytest.mark.parametrize("calibrate", [False, True], ids=["dynamic", "static"])
def test_cli_quantize(tmp_path, calibrate, capsys):
    model = tiny_wav2vec2()
    model.save_pretrained(tmp_path / "float")
    Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(tmp_path / "float")
    args = ["quantize", str(tmp_path / "float"), str(tmp_path / "int8")]
    if calibrate:
        args += ["--calibration", *map(str, sorted(INTENTS.rglob("*.ogg"))[:3])]
    assert main(args) == 0
    assert "int8 (" + ("static" if calibrate else "dynamic") in capsys.readouterr().out
    assert (tmp_path / "int8/preprocessor_config.json").is_file()  # the processor travels along
    classifier = pipeline("audio-classification", model=str(tmp_path / "int8"))
    assert isinstance(classifier.model.wav2vec2.encoder.layers[0].attention.q_proj, Int8Linear)
    assert len(classifier(np.zeros(4000, dtype=np.float32), top_k=2)) == 2


def test_cli_quantize_bad_input(tmp_path, capsys):
    assert main(["quantize", str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    assert "does not exist" in capsys.readouterr().err
    tiny_wav2vec2().save_pretrained(tmp_path / "float")
    assert main(["quantize", str(tmp_path / "float"), str(tmp_path / "float")]) == 2
    assert "must differ" in capsys.readouterr().err
    assert main(["quantize", str(tmp_path / "float"), str(tmp_path / "o"), "--calibration", "nope.wav"]) == 2
    assert "nope.wav" in capsys.readouterr().err


@pytest.mark.parametrize("static", [False, True])
def test_shared_input_projections_quantise_once(static):
    torch.manual_seed(0)
    x = torch.randn(2, 5, 32)
    layers = [Int8Linear.from_float(nn.Linear(32, 32), static=static) for _ in range(3)]
    if static:
        for layer in layers:
            layer.set_input_range(x.min().item(), x.max().item())
    with torch.no_grad():
        shared = linears(x, *layers)
        for got, layer in zip(shared, layers):
            torch.testing.assert_close(got, layer(x), atol=0, rtol=0)
        plain = [nn.Linear(32, 8) for _ in range(2)]
        for got, layer in zip(linears(x, *plain), plain):  # float layers: each on its own
            torch.testing.assert_close(got, layer(x), atol=1e-6, rtol=1e-6)


# --- outlier channels (a trained model's activations) --------------------------------------

@contextlib.contextmanager
def per_tensor_only():
    """The behaviour before outlier splitting: one uint8 range per tensor."""
    saved, int8_module.OUTLIER_RATIO = int8_module.OUTLIER_RATIO, math.inf
    try:
        yield
    finally:
        int8_module.OUTLIER_RATIO = saved


OUTLIERS = [3, 17, 40, 51]


def conv_then_layer_norm():
    """What broke int8 on a trained wav2vec2: a conv whose input has a few channels ×40 (they feed
    a few output channels of their own), then a layer norm over channels whose weights even the
    channels out again — so the small channels' int8 error comes back at full size."""
    torch.manual_seed(0)
    x = nn.functional.gelu(torch.randn(2, 64, 100))  # (B, C, T) as the conv stack has it
    x[:, OUTLIERS] *= 40
    conv = nn.Conv1d(64, 64, 2, stride=2)
    with torch.no_grad():
        mask = torch.zeros(64, 64, 1, dtype=torch.bool)
        mask[4:, OUTLIERS] = True  # outlier inputs reach output channels 0-3 only
        conv.weight.masked_fill_(mask, 0.0)
    norm = nn.LayerNorm(64)
    with torch.no_grad():
        norm.weight[:4] = 1 / 40
    return x, conv, norm


def layer_norm_error(quantized, conv, norm, x) -> float:
    with torch.no_grad():
        ref = norm(conv(x).transpose(1, 2))
        got = norm(quantized(x).transpose(1, 2))
    return rel_error(got, ref)


@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
def test_outlier_channels_survive_conv_then_layer_norm(static):
    x, conv, norm = conv_then_layer_norm()
    frames_first = x.transpose(1, 2).contiguous().transpose(1, 2)  # wav2vec2's fast-path memory

    def int8_conv():
        q = Int8Conv1d.from_float(conv, static=static)
        if static:  # calibrated per channel, as quantize() does
            q.set_input_range(x.amin(dim=(0, 2)), x.amax(dim=(0, 2)))
        return q

    q = int8_conv()
    if static:
        assert q.input_outliers.nonzero().flatten().tolist() == OUTLIERS
    for inputs in (x, frames_first):
        assert layer_norm_error(q, conv, norm, inputs) < 0.05
        fast, slow = both_kernels(q, inputs)
        torch.testing.assert_close(fast, slow, atol=1e-4, rtol=1e-4)  # same maths in the fallback
    with per_tensor_only():  # one range per tensor: the small channels are crushed
        assert layer_norm_error(int8_conv(), conv, norm, x) > 0.15


@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
def test_int8_linear_outliers_with_gelu_and_shared_input(static):
    torch.manual_seed(0)
    x = torch.randn(3, 7, 64)
    x[..., OUTLIERS] *= 40
    floats = [nn.Linear(64, 48) for _ in range(3)]
    layers = [Int8Linear.from_float(layer, static=static) for layer in floats]
    if static:
        for layer in layers:
            layer.set_input_range(x.flatten(0, 1).amin(0), x.flatten(0, 1).amax(0))
    with torch.no_grad():
        ref = floats[0](x)
        fast, slow = both_kernels(layers[0], x)
        torch.testing.assert_close(fast, slow, atol=1e-3, rtol=1e-4)
        error = rel_error(fast, ref)
        assert error < 0.01
        torch.testing.assert_close(layers[0](x, gelu=True), nn.functional.gelu(fast), atol=1e-4, rtol=1e-4)
        for got, layer in zip(linears(x, *layers), layers):  # quantised once, outliers found once
            torch.testing.assert_close(got, layer(x), atol=0, rtol=0)
        before = x.clone()
        with torch.inference_mode():
            layers[0](x)
        assert torch.equal(x, before)  # outlier channels zeroed in place for the int8 pass, then restored
        with per_tensor_only():
            assert rel_error(Int8Linear.from_float(floats[0])(x), ref) > 3 * error


def test_no_outliers_in_ordinary_activations():
    torch.manual_seed(0)
    low, high = int8_module.channel_ranges(torch.randn(500, 64), -1)
    assert int8_module.find_outliers(low, high) is None  # random / well-normalised: one range
    peak = torch.ones(64)
    peak[:20] = 100.0  # many "outliers": only the largest 1/16 of the channels go to float
    assert int8_module.find_outliers(-peak, peak).numel() == 4
    assert int8_module.find_outliers(-peak[:8], peak[:8]) is None  # too few channels to split


def wav2vec2_with_outliers():
    """A tiny wav2vec2 whose last conv reads two channels ×40 (a trained conv stack's shape)."""
    model = tiny_wav2vec2()
    with torch.no_grad():
        norm = model.wav2vec2.feature_extractor.conv_layers[1].layer_norm  # before the GELU
        norm.weight[:2], norm.bias[:2] = 40.0, 40.0
    return model


@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
def test_wav2vec2_with_outlier_channels(static):
    model, x = wav2vec2_with_outliers(), padded_batch((4000, 2500, 3200))[0]
    quantized = quantize(model, calibration_data=[x] if static else None, modules_to_not_convert=[])
    with torch.no_grad():
        ref = model(x).logits
        features = model.wav2vec2.feature_extractor(x)
        torch.testing.assert_close(quantized.wav2vec2.feature_extractor(x), features, atol=0.05 * features.abs().max(),
                                   rtol=0)
        assert nn.functional.cosine_similarity(quantized(x).logits, ref, dim=-1).min() > 0.99


def test_format_3_round_trip_keeps_outliers(tmp_path):
    model, x = wav2vec2_with_outliers(), padded_batch((4000, 2500, 3200))[0]
    quantized = quantize(model, calibration_data=[x], modules_to_not_convert=[])
    config = quantized.config.quantization_config
    assert config["format_version"] == FORMAT_VERSION == 3
    last_conv = "wav2vec2.feature_extractor.conv_layers.2.conv"
    assert last_conv in config["frame_scaled_modules"]
    assert quantized.get_submodule(last_conv).input_outliers.nonzero().flatten().tolist() == [0, 1]
    quantized.save_pretrained(tmp_path)
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as f:
        saved = f.get_tensor(last_conv + ".input_outliers")
    assert saved.dtype == torch.bool and saved.sum() == 2
    loaded = type(model).from_pretrained(tmp_path)
    assert isinstance(loaded.get_submodule(last_conv), Int8FrameConv1d)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x).logits, quantized(x).logits, atol=0, rtol=0)


def test_format_2_checkpoints_still_load(tmp_path):
    """Written before per-frame conv scales: the conv stack float, no frame_scaled_modules."""
    model, x = tiny_wav2vec2(feat_extract_norm="group"), padded_batch((4000, 2500, 3200))[0]
    quantized = quantize(model, calibration_data=[x], modules_to_not_convert=["wav2vec2.feature_extractor"])
    quantized.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["quantization_config"]["format_version"] = 2
    del config["quantization_config"]["frame_scaled_modules"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    loaded = type(model).from_pretrained(tmp_path)
    assert not any(isinstance(m, (Int8Conv1d, Int8FrameConv1d)) for m in loaded.wav2vec2.feature_extractor.modules())
    with torch.no_grad():
        torch.testing.assert_close(loaded(x).logits, quantized(x).logits, atol=0, rtol=0)


def test_format_1_checkpoints_still_load(tmp_path):
    """Written before outlier splitting: no format_version, no input_outliers tensors."""
    from safetensors.torch import load_file, save_file

    model, x = tiny_wav2vec2(), padded_batch((4000, 2500, 3200))[0]
    with per_tensor_only(), conv_stack_per_tensor():
        quantized = quantize(model, calibration_data=[x])
    quantized.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["quantization_config"]["format_version"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    tensors = load_file(str(tmp_path / "model.safetensors"))
    save_file({k: v for k, v in tensors.items() if not k.endswith("input_outliers")},
              str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    loaded = type(model).from_pretrained(tmp_path)
    assert not hasattr(loaded.wav2vec2.feature_projection.projection, "input_outliers")
    with torch.no_grad():
        torch.testing.assert_close(loaded(x).logits, quantized(x).logits, atol=0, rtol=0)

    config["quantization_config"]["format_version"] = FORMAT_VERSION + 1
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="format_version.*upgrade polymodal"):
        type(model).from_pretrained(tmp_path)


# --- AST / ViT int8 speed: fused residual, uint8 feed-forward chain, bf16 attention ----------

@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
def test_int8_linear_residual_in_the_kernel(static):
    torch.manual_seed(0)
    layer, x, residual = nn.Linear(64, 48), torch.randn(3, 5, 64), torch.randn(3, 5, 48)
    x[..., OUTLIERS] *= 40
    q = Int8Linear.from_float(layer, static=static)
    if static:
        q.set_input_range(*int8_module.channel_ranges(x, -1))
    before = residual.clone()
    with torch.no_grad():
        fused = q(x, residual=residual)
        torch.testing.assert_close(fused, q(x) + residual, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(residual, before, atol=0, rtol=0)  # a new tensor: the residual is kept
        fast, slow = both_kernels(lambda t: q(t, residual=residual), x)
        torch.testing.assert_close(fast, slow, atol=1e-4, rtol=1e-4)
        # a residual the kernel cannot take (another dtype): added after, same numbers
        torch.testing.assert_close(q(x, residual=residual.double()), fused.double(), atol=1e-5, rtol=1e-5)


def test_int8_gelu_chain_hands_uint8_to_the_second_layer():
    torch.manual_seed(0)
    fc1, fc2 = nn.Linear(32, 96), nn.Linear(96, 32)
    x, residual = torch.randn(2, 7, 32), torch.randn(2, 7, 32)
    hidden = nn.functional.gelu(fc1(x))
    q1, q2 = Int8Linear.from_float(fc1, static=True), Int8Linear.from_float(fc2, static=True)
    q1.set_input_range(*int8_module.channel_ranges(x, -1))
    q2.set_input_range(*int8_module.channel_ranges(hidden.detach(), -1))
    with torch.no_grad():
        chained = Int8Linear.forward_gelu_chain(q1, q2, x, residual)
        apart = q2(q1(x, gelu=True), residual=residual)
        step = float(q2.input_scale) * q2._dequantized_weight().abs().sum(1).max()  # one uint8 step, every input
        assert (chained - apart).abs().max() <= step  # the same uint8 up to rounding ties
        assert rel_error(chained - residual, fc2(hidden)) < 0.02
        # dynamic layers, or outlier channels on the hidden input: not chained (None: run apart)
        assert Int8Linear.forward_gelu_chain(Int8Linear.from_float(fc1), q2, x) is None
        q2.input_outliers[:2] = True
        assert Int8Linear.forward_gelu_chain(q1, q2, x) is None


def ast_projections(model):
    layer = model.audio_spectrogram_transformer.encoder.layer[0].attention.attention
    return [layer.query, layer.key, layer.value]


@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
def test_ast_bf16_attention_close_to_float(static):
    model = tiny_ast()
    x, mask = torch.randn(3, 48, 32), torch.ones(3, 2 + 8)  # cls + distillation + 2 x 4 patches
    mask[0, -3:] = 0
    runs = {dtype: quantize(model, [x] if static else None, attention_dtype=dtype)
            for dtype in ("float32", "bfloat16")}
    assert all(p.output_dtype is torch.bfloat16 for p in ast_projections(runs["bfloat16"]))
    assert all(p.output_dtype is None for p in ast_projections(runs["float32"]))
    assert runs["bfloat16"].config.quantization_config["attention_dtype"] == "bfloat16"
    with torch.no_grad():
        ref = model(x, attention_mask=mask, output_hidden_states=True)
        for quantized in runs.values():
            out = quantized(x, attention_mask=mask, output_hidden_states=True, output_attentions=True)
            assert out.logits.dtype == torch.float32 and out.attentions[0].dtype == torch.float32
            assert all(h.dtype == torch.float32 for h in out.hidden_states)
            assert rel_error(out.hidden_states[-1], ref.hidden_states[-1]) < 0.03
            assert nn.functional.cosine_similarity(out.logits, ref.logits, dim=-1).min() > 0.99
        bf16, fp32 = (runs[d](x, attention_mask=mask).logits for d in ("bfloat16", "float32"))
        assert rel_error(bf16, fp32) < 0.02  # bf16 attention adds little to int8's own error


def test_ast_attention_dtype_round_trip_and_older_checkpoints(tmp_path):
    model, x = tiny_ast(), torch.randn(3, 48, 32)
    quantized = quantize(model, [x], attention_dtype="bfloat16")
    quantized.save_pretrained(tmp_path)
    loaded = ASTForAudioClassification.from_pretrained(tmp_path)
    assert all(p.output_dtype is torch.bfloat16 for p in ast_projections(loaded))
    with torch.no_grad():
        torch.testing.assert_close(loaded(x).logits, quantized(x).logits, atol=0, rtol=0)
    # A checkpoint written before attention_dtype existed: float32 attention, as it ran then.
    config = json.loads((tmp_path / "config.json").read_text())
    del config["quantization_config"]["attention_dtype"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    older = ASTForAudioClassification.from_pretrained(tmp_path)
    assert all(p.output_dtype is None for p in ast_projections(older))
    with torch.no_grad():
        torch.testing.assert_close(older(x).logits, quantize(model, [x], attention_dtype="float32")(x).logits,
                                   atol=1e-5, rtol=1e-5)
    config["quantization_config"]["attention_dtype"] = "float16"
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="attention_dtype"):
        ASTForAudioClassification.from_pretrained(tmp_path)
    with pytest.raises(InvalidInputError, match="attention_dtype must be one of"):
        quantize(model, attention_dtype="fp16")


def test_bf16_attention_falls_back_to_float32_without_bf16_gemms(tmp_path, monkeypatch):
    model, x = tiny_ast(), torch.randn(3, 48, 32)
    quantize(model, [x], attention_dtype="bfloat16").save_pretrained(tmp_path)
    monkeypatch.setattr(quantizer_module, "native_bf16", lambda: False)
    loaded = ASTForAudioClassification.from_pretrained(tmp_path)  # a bf16 checkpoint on such a CPU
    assert all(p.output_dtype is None for p in ast_projections(loaded))
    # The default: bf16 only where it is faster (AMX), float32 elsewhere.
    for amx, expected in ((False, "float32"), (True, "bfloat16")):
        monkeypatch.setattr(quantizer_module, "bf16_attention_pays", lambda amx=amx: amx)
        assert quantize(model).config.quantization_config["attention_dtype"] == expected
    with torch.no_grad():
        ref = model(x).logits
        assert nn.functional.cosine_similarity(loaded(x).logits, ref, dim=-1).min() > 0.99


@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
def test_attention_projections_run_as_one_stacked_gemm(static):
    model, x = tiny_ast(), torch.randn(3, 48, 32)
    quantized = quantize(model, [x] if static else None)
    projections = ast_projections(quantized)
    assert all(p.stacked for p in projections)
    hidden = torch.randn(3, 10, 32)
    with torch.no_grad():
        stacked = linears(hidden, *projections)
        assert projections[0]._stacked is not None  # the one-GEMM path ran
        for got, layer in zip(stacked, projections):
            torch.testing.assert_close(got, layer(hidden), atol=1e-5, rtol=1e-5)  # = each layer on its own
        projections[1].weight.mul_(-1)  # a changed weight is packed again
        torch.testing.assert_close(linears(hidden, *projections)[1], projections[1](hidden), atol=1e-5, rtol=1e-5)
