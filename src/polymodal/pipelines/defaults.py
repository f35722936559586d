"""The checkpoint ``pipeline(task)`` uses when no model is given: Transformers' default for the task.

It is a hub id, so it loads only when the hub is reachable (or the files are in the local hub
cache); offline, the error names the id and how to use a local folder instead.
"""

from __future__ import annotations

import logging

from ..core.errors import HubUnavailableError

logger = logging.getLogger("polymodal")

# task -> (hub id, revision Transformers pins), from Transformers 5.x SUPPORTED_TASKS. Tasks it
# dropped (summarization, translation, …) have no default here: pass model=.
DEFAULT_MODELS: dict[str, tuple[str, str]] = {
    "audio-classification": ("superb/wav2vec2-base-superb-ks", "372e048"),
    "automatic-speech-recognition": ("facebook/wav2vec2-base-960h", "22aad52"),
    "zero-shot-image-classification": ("openai/clip-vit-base-patch32", "3d74acf"),
    "zero-shot-audio-classification": ("laion/clap-htsat-fused", "cca9e28"),
    "image-classification": ("google/vit-base-patch16-224", "3f49326"),
    "image-feature-extraction": ("google/vit-base-patch16-224", "3f49326"),
    "feature-extraction": ("distilbert/distilbert-base-cased", "6ea8117"),
    "text-classification": ("distilbert/distilbert-base-uncased-finetuned-sst-2-english", "714eb0f"),
    "token-classification": ("dbmdz/bert-large-cased-finetuned-conll03-english", "4c53496"),
    "fill-mask": ("distilbert/distilroberta-base", "fb53ab8"),
    "zero-shot-classification": ("facebook/bart-large-mnli", "d7645e1"),
    "object-detection": ("facebook/detr-resnet-50", "1d5f47b"),
    "zero-shot-object-detection": ("google/owlvit-base-patch32", "cbc355f"),
    "image-segmentation": ("facebook/detr-resnet-50-panoptic", "d53b52a"),
    "depth-estimation": ("Intel/dpt-large", "bc15f29"),
    "video-classification": ("MCG-NJU/videomae-base-finetuned-kinetics", "488eb9a"),
    "text-generation": ("HuggingFaceTB/SmolLM3-3B", "a07cc9a"),
}


def default_model(task: str) -> str:
    """The default hub id for ``task`` (logged, as Transformers does)."""
    if task not in DEFAULT_MODELS:
        raise HubUnavailableError(
            f"pipeline({task!r}) was given no model and polymodal knows no default for this task; "
            "pass model='path/to/checkpoint-folder'."
        )
    model_id, revision = DEFAULT_MODELS[task]
    logger.warning("No model was supplied to pipeline(%r); using Transformers' default %s (revision %s). "
                   "Pass model=… to choose one.", task, model_id, revision)
    return model_id


def offline_default_error(task: str, model_id: str, error: HubUnavailableError) -> HubUnavailableError:
    """Say that the id came from the task default, and how to run offline."""
    name = model_id.split("/")[-1]
    return HubUnavailableError(
        f"pipeline({task!r}) was given no model, so it uses Transformers' default for the task, '{model_id}', "
        f"which needs the hub; that failed: {str(error).splitlines()[0]}\n"
        f"Offline, download it once elsewhere (huggingface-cli download {model_id} --local-dir ./{name}) and pass "
        f"pipeline({task!r}, model='./{name}'), or pass any local checkpoint folder for the task."
    )
