"""``python -m polymodal.demo`` (what ``make demo`` runs): features from the bundled speech clip.

Decodes ``datasets/data/sample_speech.wav`` (8 kHz espeak-ng speech, made by
scripts/make_speech_clips.py), resamples it to 16 kHz (the guides' 8 kHz -> 16 kHz case) and runs
the Wav2Vec2 and Whisper feature extractors on it, printing shapes, durations and timings.
Nothing is downloaded; no model weights are involved.
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

TARGET_RATE = 16000  # both Wav2Vec2 and Whisper were trained on 16 kHz audio


def sample_speech_path() -> Path:
    """Path of the bundled clip (inside the installed package)."""
    return Path(str(resources.files("polymodal.datasets") / "data" / "sample_speech.wav"))


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, (time.perf_counter() - start) * 1000


def _timed_twice(fn, *args, **kwargs):
    """Time a first call (pays lazy imports, e.g. torch) and a second, warm one."""
    result, first_ms = _timed(fn, *args, **kwargs)
    _, warm_ms = _timed(fn, *args, **kwargs)
    return result, f"{warm_ms:.1f} ms (first call {first_ms:.1f} ms, with imports)"


def _shapes(features) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in features.items()}


def load_clip():
    from .audio.io import audio_info, load_audio_with_rate, resample

    path = sample_speech_path()
    info = audio_info(path)
    (audio, rate), ms = _timed(load_audio_with_rate, path)
    print(f"clip      {path.name}: {info.format}/{info.subtype}, {info.channels} channel(s), "
          f"{rate} Hz, {info.duration:.2f} s ({info.frames} samples), decoded in {ms:.1f} ms")
    if rate != TARGET_RATE:
        audio, ms = _timed(resample, audio, rate, TARGET_RATE)
        print(f"resample  {rate} Hz -> {TARGET_RATE} Hz: {audio.shape[0]} samples in {ms:.1f} ms")
    return audio


def run_wav2vec2(audio) -> dict[str, tuple[int, ...]]:
    from .models.wav2vec2.feature_extraction import Wav2Vec2FeatureExtractor

    extractor = Wav2Vec2FeatureExtractor(sampling_rate=TARGET_RATE, return_attention_mask=True)
    batch = [audio, audio[: len(audio) // 2]]  # two lengths, so padding and the mask show
    features, took = _timed_twice(
        extractor, batch, sampling_rate=TARGET_RATE, padding=True, return_tensors="np"
    )
    values = features["input_values"]
    mask = features["attention_mask"]
    print(f"wav2vec2  {len(batch)} clips ({len(batch[0]) / TARGET_RATE:.2f} s, {len(batch[1]) / TARGET_RATE:.2f} s) "
          f"-> input_values {tuple(values.shape)}, attention_mask {tuple(mask.shape)} "
          f"(real samples per row {mask.sum(axis=1).tolist()}) in {took}")
    row = values[0][mask[0].astype(bool)]
    print(f"          normalised row 0: mean {row.mean():+.4f}, std {row.std():.4f}")
    return _shapes(features)


def run_whisper(audio) -> dict[str, tuple[int, ...]]:
    from .models.whisper.feature_extraction import WhisperFeatureExtractor

    extractor = WhisperFeatureExtractor()
    features, took = _timed_twice(extractor, audio, sampling_rate=TARGET_RATE, return_tensors="np")
    mel = features["input_features"]
    print(f"whisper   1 clip padded to {extractor.chunk_length} s -> input_features {tuple(mel.shape)} "
          f"({extractor.feature_size} mel bins x {mel.shape[-1]} frames) in {took}; "
          f"log-mel range [{mel.min():.2f}, {mel.max():.2f}]")
    return _shapes(features)


def main() -> dict[str, dict[str, tuple[int, ...]]]:
    """Run the demo; returns the output shapes per extractor (used by the tests)."""
    print("polymodal demo: feature extraction on the bundled speech clip\n")
    audio = load_clip()
    shapes = {"wav2vec2": run_wav2vec2(audio), "whisper": run_whisper(audio)}
    print("\ndone: these arrays are what Wav2Vec2 / Whisper models take as input.")
    return shapes


if __name__ == "__main__":
    main()
