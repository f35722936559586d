"""What a reader of README.md / docs/*.md would have on disk, made tiny and offline.

Doc pages call these from hidden ``<!-- test-setup … -->`` comments (see test_docs_code.py);
each builder writes a folder or file at the path the page's code names and returns the path.
Checkpoints are saved by Transformers, as a reader's downloaded folders would be.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"


def speech_file(path: str = "clip.wav", source: str = "speech_16k.wav") -> Path:
    """A short spoken clip (espeak-ng); the extension picks the bundled file of that format."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = target.suffix.lower()
    source = {".ogg": "speech_16k.ogg", ".flac": "speech_16k.flac", ".mp3": "speech_16k.mp3"}.get(suffix, source)
    shutil.copyfile(DATA / source, target)
    return target


def image_file(path: str = "cat.jpg", size=(64, 48), seed: int = 0) -> Path:
    from PIL import Image

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(target)
    return target


def audio_folder(path: str = "my_audio", labels=("freeze", "balance"), per_label: int = 3) -> Path:
    """Folder-per-class audio (the layout of ``load_audio_folder``)."""
    import soundfile

    audio, rate = soundfile.read(DATA / "speech_16k.wav", dtype="float32")
    rng = np.random.default_rng(0)
    for label in labels:
        folder = Path(path) / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_label):
            clip = audio[: rate // 2] * float(rng.uniform(0.5, 1.0))
            soundfile.write(folder / f"{label}_{i}.wav", clip, rate)
    return Path(path)


def wav2vec2_classifier(path: str = "path/to/model", norm: str = "layer") -> Path:
    """A tiny Wav2Vec2ForSequenceClassification folder with its feature extractor."""
    from pipeline_helpers import classifier_folder

    return classifier_folder(Path(path), stable=norm == "layer", norm=norm)


def wav2vec2_ctc(path: str = "path/to/wav2vec2-ctc") -> Path:
    """A tiny Wav2Vec2ForCTC folder with its processor (feature extractor + CTC tokenizer)."""
    from pipeline_helpers import ctc_folder

    return ctc_folder(Path(path))


def clip_model(path: str = "path/to/clip") -> Path:
    """A tiny CLIPModel folder with its tokenizer and image processor."""
    import torch
    import transformers
    from clip_helpers import TEXT, VISION
    from tokenizer_helpers import write_clip_files

    folder = Path(path)
    tokenizer = transformers.CLIPTokenizer.from_pretrained(str(write_clip_files(folder)))
    text = {**TEXT, "vocab_size": len(tokenizer), "max_position_embeddings": 40,
            "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id}
    torch.manual_seed(0)
    model = transformers.CLIPModel(transformers.CLIPConfig(text_config=text, vision_config=VISION, projection_dim=16))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    transformers.CLIPImageProcessor(size={"shortest_edge": 30},
                                    crop_size={"height": 30, "width": 30}).save_pretrained(folder)
    return folder


def altclip_model(path: str = "path/to/AltCLIP") -> Path:
    """A tiny AltCLIPModel folder with its processor (XLM-R SentencePiece tokenizer + CLIP images)."""
    import torch
    import transformers
    from clip_helpers import VISION
    from tokenizer_helpers import write_xlm_roberta_files

    folder = Path(path)
    tokenizer = transformers.XLMRobertaTokenizer.from_pretrained(str(write_xlm_roberta_files(folder / "spm")))
    text = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                num_attention_heads=4, max_position_embeddings=60, project_dim=24)
    torch.manual_seed(0)
    model = transformers.AltCLIPModel(transformers.AltCLIPConfig(text_config=text, vision_config=VISION,
                                                                 projection_dim=16))
    image_processor = transformers.CLIPImageProcessor(size={"shortest_edge": 30},
                                                      crop_size={"height": 30, "width": 30})
    transformers.AltCLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    model.save_pretrained(folder)
    shutil.rmtree(folder / "spm")
    return folder


def wav2vec2_base(path: str = "path/to/wav2vec2-base") -> Path:
    """A tiny pretrained-style Wav2Vec2Model (no head, group norm like wav2vec2-base) + extractor."""
    import transformers
    from wav2vec2_helpers import NO_DROPOUT, hf_model

    folder = Path(path)
    hf_model("Wav2Vec2Model", stable=False, norm="group", **NO_DROPOUT).save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(return_attention_mask=False).save_pretrained(folder)
    return folder
