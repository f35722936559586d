"""ONNX Runtime as a pipeline backend: ``pipeline(task, model=DIR, backend="onnxruntime")``.

The torch model is exported with :func:`polymodal.export.export_onnx` the first time the pipeline
calls it with a given set of inputs (``input_values`` + ``attention_mask``, ``input_ids`` +
``token_type_ids`` + ``attention_mask`` …), and the graph is cached beside the checkpoint in
``DIR/onnx/`` (or, when that folder is read-only, under ``~/.cache/polymodal/onnx``). A cached
graph is reused while the checkpoint's weight files, polymodal and torch are unchanged; otherwise
it is exported again.

:class:`OnnxRuntimeModel` stands in for the model inside the pipeline: calling it runs the ONNX
Runtime session and returns the same output fields as torch tensors, and every other attribute
(``config``, ``padding_is_masked``, ``_get_feat_extract_output_lengths`` …) is the torch model's,
so pre- and post-processing are unchanged. Outputs match torch within about 1e-5 in float32.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import torch

from ..core.errors import ConfigError

# Tasks whose pipeline only calls model(**inputs): those a graph of the forward pass can serve.
SUPPORTED_TASKS = ("audio-classification", "automatic-speech-recognition", "image-classification",
                   "text-classification", "token-classification", "fill-mask", "feature-extraction",
                   "question-answering", "zero-shot-classification")
_TASK_OF = {"AudioClassificationPipeline": "audio-classification",
            "AutomaticSpeechRecognitionPipeline": "automatic-speech-recognition",
            "ImageClassificationPipeline": "image-classification", "TextClassificationPipeline": "text-classification",
            "TokenClassificationPipeline": "token-classification", "FillMaskPipeline": "fill-mask",
            "FeatureExtractionPipeline": "feature-extraction", "QuestionAnsweringPipeline": "question-answering",
            "ZeroShotClassificationPipeline": "zero-shot-classification"}
# Besides the batch, the dimensions that vary between calls for each input name.
_LENGTH_AXES = {"input_values": {1: "length"}, "attention_mask": {1: "length"}, "input_ids": {1: "length"},
                "token_type_ids": {1: "length"}, "position_ids": {1: "length"}}


def _check_onnxruntime():
    try:
        import onnx  # noqa: F401
        import onnxruntime
    except ImportError:
        raise ConfigError("backend='onnxruntime' needs the onnx and onnxruntime packages: "
                          "pip install 'polymodal[onnxruntime]'.") from None
    return onnxruntime


def _fingerprint(model_dir: Path) -> dict:
    """What a cached graph depends on: weight files (name, size, mtime), polymodal and torch versions."""
    from .. import __version__

    files = sorted(p for p in model_dir.iterdir() if p.suffix in (".safetensors", ".bin") or p.name == "config.json")
    return {"polymodal": __version__, "torch": torch.__version__,
            "files": [[p.name, p.stat().st_size, int(p.stat().st_mtime_ns)] for p in files]}


def cache_dir(model_dir) -> Path:
    """``model_dir/onnx`` when writable, else a per-checkpoint folder under ``~/.cache/polymodal/onnx``."""
    model_dir = Path(model_dir)
    beside = model_dir / "onnx"
    try:
        if beside.is_dir() or os.access(model_dir, os.W_OK):
            beside.mkdir(exist_ok=True)
            if os.access(beside, os.W_OK):
                return beside
    except OSError:
        pass
    digest = hashlib.sha1(str(model_dir.resolve()).encode()).hexdigest()[:16]
    fallback = Path(os.environ.get("POLYMODAL_CACHE", Path.home() / ".cache" / "polymodal")) / "onnx" / digest
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def _example(inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Tracing inputs shaped like ``inputs`` but with two rows, the second one partly padded.

    Tracing bakes Python branches in: a one-row batch without padding could record a path that
    skips the mask. Two rows with real padding record the general path.
    """
    example = {}
    for name, value in inputs.items():
        row = value[:1]
        example[name] = torch.cat([row, row], dim=0).clone()
    mask = example.get("attention_mask")
    if mask is not None and mask.dim() == 2 and mask.shape[1] >= 2:
        mask[1, mask.shape[1] - max(1, mask.shape[1] // 3):] = 0
    return example


class OrtOutput(dict):
    """The graph's outputs by name: ``out.logits``, ``out["logits"]`` and ``out[0]`` like a ModelOutput."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key):
        if isinstance(key, (int, slice)):
            return tuple(self.values())[key]
        return super().__getitem__(key)

    def to_tuple(self) -> tuple:
        return tuple(self.values())


class OnnxRuntimeModel:
    """A torch model's forward pass on ONNX Runtime (CPU); other attributes are the torch model's."""

    def __init__(self, model: torch.nn.Module, model_dir, session_options=None):
        self._ort = _check_onnxruntime()
        if getattr(model, "config", None) is None or not isinstance(model, torch.nn.Module):
            raise ConfigError(f"backend='onnxruntime' needs a polymodal model, got {type(model).__name__}.")
        if model_dir is None or not Path(model_dir, "config.json").is_file():
            raise ConfigError("backend='onnxruntime' exports the model beside its checkpoint: load the pipeline "
                              "from a checkpoint folder (pipeline(task, model='path/to/folder', backend=...)).")
        self.torch_model = model.float().eval()
        self.model_dir = Path(model_dir)
        self.session_options = session_options
        self._sessions: dict[tuple[str, ...], tuple] = {}
        self._lock = threading.Lock()

    # The pipeline moves and switches its model; the graph runs on CPU in float32 whatever it asks.
    def to(self, *args, **kwargs):
        device = args[0] if args and not isinstance(args[0], torch.dtype) else kwargs.get("device")
        if device is not None and torch.device(device).type != "cpu":
            raise ConfigError(f"backend='onnxruntime' runs on CPU here; got device={device!r}.")
        return self

    def eval(self):
        return self

    @property
    def dtype(self):
        return torch.float32

    @property
    def device(self):
        return torch.device("cpu")

    def __getattr__(self, name):
        return getattr(self.__dict__["torch_model"], name)

    def graph_path(self, input_names: tuple[str, ...]) -> Path:
        return cache_dir(self.model_dir) / f"model.{'.'.join(input_names)}.onnx"

    def _session(self, inputs: dict[str, torch.Tensor]):
        names = tuple(inputs)
        with self._lock:
            if names not in self._sessions:
                path, outputs = self._export(inputs)
                session = self._ort.InferenceSession(str(path), self.session_options,
                                                     providers=["CPUExecutionProvider"])
                self._sessions[names] = (session, outputs)
            return self._sessions[names]

    def _export(self, inputs: dict[str, torch.Tensor]) -> tuple[Path, list[str]]:
        """The cached graph for these input names, exported first when missing or stale."""
        from .onnx import export_onnx

        path = self.graph_path(tuple(inputs))
        meta_path = path.with_suffix(".json")
        fingerprint = _fingerprint(self.model_dir)
        if path.is_file() and meta_path.is_file():
            meta = json.loads(meta_path.read_text())
            if meta.get("fingerprint") == fingerprint:
                return path, meta["outputs"]
        example = _example(inputs)
        export_onnx(self.torch_model, path, example_inputs=example)
        self._widen_axes(path, example)
        import onnx

        outputs = [o.name for o in onnx.load(str(path), load_external_data=False).graph.output]
        meta_path.write_text(json.dumps({"fingerprint": fingerprint, "outputs": outputs}))
        return path, outputs

    @staticmethod
    def _widen_axes(path: Path, example: dict[str, torch.Tensor]) -> None:
        """Mark every input's batch and length dimensions symbolic (export_onnx names only some)."""
        import onnx

        graph = onnx.load(str(path))
        changed = False
        for graph_input in graph.graph.input:
            dims = graph_input.type.tensor_type.shape.dim
            axes = {0: "batch", **_LENGTH_AXES.get(graph_input.name, {})}
            for axis, symbol in axes.items():
                if axis < len(dims) and dims[axis].HasField("dim_value"):
                    dims[axis].dim_param = symbol
                    changed = True
        if changed:
            onnx.save(graph, str(path))

    def __call__(self, return_dict: bool = True, **kwargs) -> OrtOutput:
        inputs = {k: v for k, v in kwargs.items() if isinstance(v, torch.Tensor)}
        session, outputs = self._session(inputs)
        feed = {name: value.detach().cpu().numpy() for name, value in inputs.items()}
        if any(v.dtype.kind == "f" for v in feed.values()):
            feed = {k: (v.astype("float32") if v.dtype.kind == "f" else v) for k, v in feed.items()}
        results = session.run(outputs, feed)
        return OrtOutput({name: torch.from_numpy(value) for name, value in zip(outputs, results)})

    forward = __call__


def onnxruntime_pipeline(backend: str, model, build):
    """``build()``'s pipeline with its model swapped for the ONNX Runtime stand-in (exported on first call)."""
    if backend != "onnxruntime":
        raise ConfigError(f"backend={backend!r}; choose 'torch' or 'onnxruntime'.")
    _check_onnxruntime()
    pipe = build()
    task = _TASK_OF.get(type(pipe).__name__, "")
    if task not in SUPPORTED_TASKS or getattr(pipe.model.config, "is_encoder_decoder", False):
        raise ConfigError(f"backend='onnxruntime' does not support the {task or type(pipe).__name__} pipeline (it "
                          f"calls more than one forward pass); supported: {list(SUPPORTED_TASKS)}. Use "
                          "backend='torch'.")
    if pipe.device.type != "cpu":
        raise ConfigError(f"backend='onnxruntime' runs on CPU here; got device={str(pipe.device)!r}.")
    folder = model if isinstance(model, (str, os.PathLike)) else getattr(pipe.model.config, "name_or_path", None)
    pipe.model = OnnxRuntimeModel(pipe.model, folder)
    return pipe
