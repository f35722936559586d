"""int8 dynamic quantisation and ONNX export (polymodal.export)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from wav2vec2_helpers import NO_DROPOUT, TINY, padded_batch

from polymodal import Wav2Vec2Config, Wav2Vec2ForCTC, Wav2Vec2ForSequenceClassification
from polymodal.core.errors import InvalidInputError
from polymodal.export import export_onnx, quantize_dynamic
from polymodal.nn.linear import linear


def tiny(cls, seed=0, **overrides):
    torch.manual_seed(seed)
    return cls(Wav2Vec2Config(**{**TINY, **NO_DROPOUT, **overrides})).eval()


def is_quantized(module) -> bool:
    return type(module).__module__.startswith("torch.ao.nn.quantized")


# --- quantisation ---------------------------------------------------------------------------

def test_quantized_classifier_close_to_float():
    model = tiny(Wav2Vec2ForSequenceClassification, feat_extract_norm="layer")  # masks are exact with layer norm
    quantized = quantize_dynamic(model)
    x, mask = padded_batch((4000, 2500, 3200))
    with torch.no_grad():
        ref = model(x, mask).logits
        got = quantized(x, mask).logits
    assert torch.equal(got.argmax(-1), ref.argmax(-1))
    torch.testing.assert_close(got, ref, atol=0.05, rtol=0.05)
    # Every Linear is replaced in the copy; the original keeps its float layers.
    assert not any(type(m) is nn.Linear for m in quantized.modules())
    assert all(not is_quantized(m) for m in model.modules())
    assert is_quantized(quantized.classifier) and is_quantized(quantized.wav2vec2.encoder.layers[0].attention.q_proj)


def test_quantized_ctc_runs():
    model = tiny(Wav2Vec2ForCTC)
    x, _ = padded_batch((3000, 3000))
    with torch.no_grad():
        ref = model(x).logits
        got = quantize_dynamic(model)(x).logits
    assert got.shape == ref.shape
    assert (got.argmax(-1) == ref.argmax(-1)).float().mean() > 0.9


def test_fused_linear_helper_accepts_quantized_layer():
    layer = nn.Linear(16, 8)
    q = quantize_dynamic(nn.Sequential(layer))[0]
    x = torch.randn(3, 5, 16)
    with torch.no_grad():
        torch.testing.assert_close(linear(q, x, gelu=True), nn.functional.gelu(layer(x)), atol=0.05, rtol=0.05)


def test_quantize_after_loading(tmp_path):
    """int8 weights have no safetensors form: save float, load, then quantise."""
    model = tiny(Wav2Vec2ForSequenceClassification)
    model.save_pretrained(tmp_path)
    loaded = Wav2Vec2ForSequenceClassification.from_pretrained(tmp_path)
    x, _ = padded_batch()
    with torch.no_grad():
        torch.testing.assert_close(quantize_dynamic(loaded)(x).logits, quantize_dynamic(model)(x).logits)


def test_quantize_bad_input():
    with pytest.raises(InvalidInputError, match="nn.Module"):
        quantize_dynamic("model")
    with pytest.raises(InvalidInputError, match="qint8"):
        quantize_dynamic(nn.Linear(2, 2), dtype=torch.int8)
    with pytest.raises(InvalidInputError, match="float32"):
        quantize_dynamic(nn.Linear(2, 2).to(torch.bfloat16))


# --- ONNX -------------------------------------------------------------------------------------

def run_onnx(path, feeds: dict) -> list[np.ndarray]:
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {name: value.numpy() for name, value in feeds.items()}), session


@pytest.mark.parametrize("cls", [Wav2Vec2ForSequenceClassification, Wav2Vec2ForCTC])
def test_onnx_matches_torch_with_other_shapes(tmp_path, cls):
    pytest.importorskip("onnx")
    model = tiny(cls)
    path = export_onnx(model, tmp_path / "model.onnx")  # traced on (1, 16000)
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]  # the temporary file is gone
    x, _ = padded_batch((5000, 7000, 6000), seed=4)  # another batch size and length
    (logits,), session = run_onnx(path, {"input_values": x})
    assert [o.name for o in session.get_outputs()] == ["logits"]
    with torch.no_grad():
        ref = model(x).logits
    np.testing.assert_allclose(logits, ref.numpy(), atol=1e-4, rtol=1e-4)


def test_onnx_with_attention_mask(tmp_path):
    pytest.importorskip("onnx")
    model = tiny(Wav2Vec2ForSequenceClassification, feat_extract_norm="layer", do_stable_layer_norm=True)
    x, mask = padded_batch()
    path = export_onnx(model, tmp_path / "m.onnx", example_inputs={"input_values": x, "attention_mask": mask})
    x, mask = padded_batch((3000, 5000, 2000), seed=3)
    (logits,), _ = run_onnx(path, {"input_values": x, "attention_mask": mask})
    with torch.no_grad():
        ref = model(x, mask).logits
    np.testing.assert_allclose(logits, ref.numpy(), atol=1e-4, rtol=1e-4)
    assert model.training is False


def test_onnx_checker_passes(tmp_path):
    onnx = pytest.importorskip("onnx")
    path = export_onnx(tiny(Wav2Vec2ForSequenceClassification), tmp_path / "m.onnx", opset=17)
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph)
    assert graph.opset_import[0].version == 17
    assert [i.name for i in graph.graph.input] == ["input_values"]


def test_onnx_bad_input(tmp_path):
    pytest.importorskip("onnx")
    model = tiny(Wav2Vec2ForSequenceClassification)
    with pytest.raises(InvalidInputError, match="directory"):
        export_onnx(model, tmp_path)
    with pytest.raises(InvalidInputError, match="nn.Module"):
        export_onnx("not a model", tmp_path / "m.onnx")
    with pytest.raises(InvalidInputError, match="example_inputs"):
        export_onnx(nn.Linear(3, 2), tmp_path / "m.onnx")  # no config: cannot guess inputs
    with pytest.raises(InvalidInputError, match="example_inputs"):
        export_onnx(model, tmp_path / "m.onnx", example_inputs=[torch.randn(1, 16000)])
    with pytest.raises(InvalidInputError, match="quantise"):
        export_onnx(quantize_dynamic(model), tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []  # nothing half-written
