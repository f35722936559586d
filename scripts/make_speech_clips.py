"""Generate the tiny real-speech clips in tests/data/ (and the demo's bundled clip).

Needs Debian's ``espeak-ng`` (``apt-get install -y espeak-ng``); everything else is done with
soundfile (libsndfile writes FLAC, OGG Vorbis/Opus and MP3) and soxr, so no sox/ffmpeg needed.

    .venv/bin/python scripts/make_speech_clips.py

The outputs are committed; re-running rewrites them (encoders may change bytes slightly).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from polymodal.core.io import atomic_path, atomic_write_text  # noqa: E402

DATA = ROOT / "tests" / "data"
PACKAGE_CLIP = ROOT / "src" / "polymodal" / "datasets" / "data" / "sample_speech.wav"

# (file stem, espeak voice, words-per-minute, rate, text)
CLIPS = [
    ("speech_16k", "en-us", 170, 16000, "Hello, this is a short test of polymodal."),
    ("speech_8k", "en-gb+f3", 175, 8000, "The quick brown fox jumps."),
]
STEREO = ("speech_stereo_8k", ["en-us", "en-gb+f3"], 170, 8000, "Left and right channels.")


def synthesize(voice: str, wpm: int, text: str) -> tuple[np.ndarray, int]:
    """espeak-ng → float32 mono at its native 22050 Hz, leading/trailing silence trimmed."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "tts.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(wav), text], check=True)
        audio, rate = sf.read(wav, dtype="float32")
    loud = np.flatnonzero(np.abs(audio) > 0.01)
    margin = rate // 20  # keep 50 ms around the speech
    return audio[max(loud[0] - margin, 0) : loud[-1] + margin], rate


def speak(voice: str, wpm: int, rate: int, text: str) -> np.ndarray:
    audio, native = synthesize(voice, wpm, text)
    return soxr.resample(audio, native, rate, quality="soxr_hq").clip(-1, 1)


def write(path: Path, audio: np.ndarray, rate: int, fmt: str, subtype: str) -> None:
    with atomic_path(path) as tmp:
        sf.write(tmp, audio, rate, format=fmt, subtype=subtype)
    print(f"  {path.relative_to(ROOT)}: {path.stat().st_size / 1024:.1f} KB")


def main() -> None:
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng not found; install it with `apt-get install -y espeak-ng`.")
    DATA.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for stem, voice, wpm, rate, text in CLIPS:
        audio = speak(voice, wpm, rate, text)
        write(DATA / f"{stem}.wav", audio, rate, "WAV", "PCM_16")
        manifest[f"{stem}.wav"] = {"text": text, "voice": voice, "sampling_rate": rate}

    stem, voices, wpm, rate, text = STEREO
    left, right = (speak(v, wpm, rate, text) for v in voices)
    stereo = np.zeros((max(len(left), len(right)), 2), dtype=np.float32)  # (samples, channels)
    stereo[: len(left), 0], stereo[: len(right), 1] = left, right
    write(DATA / f"{stem}.wav", stereo, rate, "WAV", "PCM_16")
    manifest[f"{stem}.wav"] = {"text": text, "voice": voices, "sampling_rate": rate}

    # Other containers/codecs of the 16 kHz clip, decoded from its PCM_16 wav so lossless copies match it.
    source, rate = sf.read(DATA / "speech_16k.wav", dtype="float32")
    for name, fmt, subtype in [
        ("speech_16k.flac", "FLAC", "PCM_16"),
        ("speech_16k.ogg", "OGG", "VORBIS"),
        ("speech_16k.opus.ogg", "OGG", "OPUS"),
        ("speech_16k.mp3", "MP3", "MPEG_LAYER_III"),
    ]:
        write(DATA / name, source, rate, fmt, subtype)
        manifest[name] = {"copy_of": "speech_16k.wav", "codec": subtype}

    # A RIFF/WAVE header cut short and followed by junk: libsndfile must refuse it.
    corrupt = (DATA / "speech_16k.wav").read_bytes()[:20] + bytes(range(7, 250, 9))
    with atomic_path(DATA / "corrupt.wav") as tmp:
        Path(tmp).write_bytes(corrupt)
    manifest["corrupt.wav"] = {"note": "truncated WAV header plus junk bytes"}
    atomic_write_text(DATA / "speech_clips.json", json.dumps(manifest, indent=2) + "\n")

    PACKAGE_CLIP.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(PACKAGE_CLIP) as tmp:
        shutil.copyfile(DATA / "speech_8k.wav", tmp)
    print(f"  {PACKAGE_CLIP.relative_to(ROOT)} (copy of speech_8k.wav: the demo shows the 8 kHz -> 16 kHz step)")
    total = sum(p.stat().st_size for p in DATA.iterdir() if p.is_file())
    print(f"tests/data total: {total / 1024:.1f} KB")


if __name__ == "__main__":
    main()
