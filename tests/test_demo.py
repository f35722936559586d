"""`python -m polymodal.demo` (what `make demo` runs) works from the installed package."""

from __future__ import annotations

import math

from polymodal import demo
from polymodal.audio.io import audio_info


def test_bundled_clip_is_packaged():
    info = audio_info(demo.sample_speech_path())
    assert info.channels == 1 and 1.0 < info.duration < 3.0


def test_demo_runs_and_prints_shapes(capsys):
    shapes = demo.main()
    out = capsys.readouterr().out

    frames = audio_info(demo.sample_speech_path()).frames
    samples = math.ceil(frames * demo.TARGET_RATE / audio_info(demo.sample_speech_path()).sampling_rate)
    assert shapes["wav2vec2"]["input_values"] == (2, samples)
    assert shapes["wav2vec2"]["attention_mask"] == (2, samples)
    assert shapes["whisper"]["input_features"] == (1, 80, 3000)

    assert "-> 16000 Hz" in out  # the 8 kHz clip is resampled
    assert f"input_values (2, {samples})" in out
    assert "input_features (1, 80, 3000)" in out
