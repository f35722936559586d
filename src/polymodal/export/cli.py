"""``polymodal quantize MODEL_DIR OUT_DIR``: an int8 copy of a checkpoint folder.

    polymodal quantize my_model my_model_int8                      # dynamic int8
    polymodal quantize my_model my_model_int8 --calibration a.wav b.wav c.wav   # static int8

Calibration files are decoded and preprocessed with MODEL_DIR's own feature extractor (audio)
or image processor (images). The output folder holds int8 safetensors, the config with its
``quantization_config``, and every other file of MODEL_DIR (preprocessor, tokenizer) unchanged,
so ``from_pretrained``, ``pipeline`` and the other commands take it as they take MODEL_DIR.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

# Files save_pretrained writes itself; everything else in MODEL_DIR is copied.
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".index.json")


def add_parser(sub, error_type: type[Exception]) -> None:
    p = sub.add_parser("quantize", help="write an int8 copy of a model (linear + conv layers, safetensors)",
                       description="Quantise the linear and convolution layers of MODEL_DIR to int8 (oneDNN "
                       "VNNI/AMX kernels) and save the result to OUT_DIR. Without --calibration the activation "
                       "ranges are measured on every call (dynamic); with it they are fixed once from those "
                       "files (static, faster).")
    p.add_argument("model_dir", metavar="MODEL_DIR")
    p.add_argument("out_dir", metavar="OUT_DIR")
    p.add_argument("--calibration", nargs="+", default=None, metavar="FILE",
                   help="a few typical audio or image files for static int8")
    p.add_argument("--skip", nargs="+", default=(), metavar="MODULE",
                   help="layers (or parents of layers) to keep in float besides the defaults (a wav2vec2-like "
                        "conv stack), e.g. classifier")
    p.set_defaults(func=lambda args: run(args, error_type))


def _load_model(model_dir: str, error_type):
    from ..core.config import read_json
    from ..models.auto import get_class

    config_path = os.path.join(model_dir, "config.json")
    if not os.path.isfile(config_path):
        raise error_type(f"model folder {model_dir!r} has no config.json; pass a folder written by save_pretrained")
    architectures = read_json(config_path).get("architectures") or []
    if not architectures:
        raise error_type(f"{config_path} names no architectures; load and quantise the model from Python instead")
    return get_class(architectures[0]).from_pretrained(model_dir)


def _calibration_inputs(model_dir: str, files: list[str], error_type) -> list[dict]:
    """Each file preprocessed by MODEL_DIR's processor into a batch of one."""
    from ..core.config import read_json

    for name in files:
        if not os.path.isfile(name):
            raise error_type(f"calibration file {name!r} does not exist")
    preprocessor = os.path.join(model_dir, "preprocessor_config.json")
    if not os.path.isfile(preprocessor):
        raise error_type(f"{model_dir!r} has no preprocessor_config.json, so calibration files cannot be "
                         "preprocessed; quantise dynamically (no --calibration) or calibrate from Python")
    if "image_processor_type" in read_json(preprocessor):
        from PIL import Image

        from ..models.auto import AutoImageProcessor

        processor = AutoImageProcessor.from_pretrained(model_dir)
        return [dict(processor(Image.open(name).convert("RGB"), return_tensors="pt")) for name in files]
    from ..audio.io import load_audio
    from ..models.auto import AutoFeatureExtractor

    extractor = AutoFeatureExtractor.from_pretrained(model_dir)
    rate = extractor.sampling_rate
    return [dict(extractor(load_audio(name, sampling_rate=rate), sampling_rate=rate, return_tensors="pt"))
            for name in files]


def _copy_other_files(model_dir: str, out_dir: Path) -> None:
    for entry in Path(model_dir).iterdir():
        if entry.is_file() and entry.name != "config.json" and not entry.name.endswith(_WEIGHT_SUFFIXES):
            shutil.copy2(entry, out_dir / entry.name)


def run(args: argparse.Namespace, error_type) -> int:
    from .quantizer import default_modules_to_not_convert, quantize

    if not os.path.isdir(args.model_dir):
        raise error_type(f"model folder {args.model_dir!r} does not exist")
    if os.path.abspath(args.model_dir) == os.path.abspath(args.out_dir):
        raise error_type("OUT_DIR must differ from MODEL_DIR (the float checkpoint is kept)")
    calibration = _calibration_inputs(args.model_dir, args.calibration, error_type) if args.calibration else None
    model = _load_model(args.model_dir, error_type)
    skip = default_modules_to_not_convert(model) + list(args.skip)  # --skip adds to the defaults
    quantized = quantize(model, calibration_data=calibration, modules_to_not_convert=skip)
    out_dir = Path(args.out_dir)
    quantized.save_pretrained(out_dir)
    _copy_other_files(args.model_dir, out_dir)
    scheme = quantized.config.quantization_config["activation_scheme"]
    count = len(quantized.config.quantization_config["modules"])
    # Static layers keep the outlier channels found at calibration; dynamic ones look on every call.
    split = sum(bool(m.input_outliers.any()) for m in quantized.modules() if hasattr(m, "input_outliers"))
    detail = f"; {split} with outlier input channels kept float" if split else ""
    print(f"{count} layers quantised to int8 ({scheme} activations{detail}) -> {out_dir}")
    return 0
