"""Datasets: load your own audio (folder per class or a CSV/JSONL manifest) and the bundled
spoken-intent set, as small ``datasets``-like objects the Trainer and pipelines accept."""

from .dataset import Audio, AudioDataset, AudioDatasetDict, ClassLabel, Value
from .folder import (
    AUDIO_EXTENSIONS,
    DatasetNotFoundError,
    load_audio_folder,
    load_spoken_intents,
    read_manifest,
    spoken_intents_path,
)

# Hugging Face datasets interop (issue 10)
from .hf import from_hf, to_hf

# images (issue 15)
from .image_folder import (
    IMAGE_EXTENSIONS,
    Image,
    ImageDataset,
    ImageDatasetDict,
    load_image_folder,
    load_shapes,
    shapes_path,
)

# bundled text sets for the NLP guides (issue 14)
from .text import TEXT_SETS, load_text_data, text_data_path

__all__ = [
    "AUDIO_EXTENSIONS", "Audio", "AudioDataset", "AudioDatasetDict", "ClassLabel", "DatasetNotFoundError", "Value",
    "load_audio_folder", "load_spoken_intents", "read_manifest", "spoken_intents_path", "from_hf", "to_hf",
    "IMAGE_EXTENSIONS", "Image", "ImageDataset", "ImageDatasetDict", "load_image_folder", "load_shapes", "shapes_path",
    "TEXT_SETS", "load_text_data", "text_data_path",
]
