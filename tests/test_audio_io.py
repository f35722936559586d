"""Audio I/O: decoding every format, int PCM scaling, mono, sources, resampling, bad input."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch

from polymodal.audio.io import (
    AudioFileNotFoundError,
    audio_info,
    load_audio,
    load_audio_with_rate,
    pcm_to_float,
    resample,
)
from polymodal.core.errors import AudioDecodeError, InvalidInputError

DATA = Path(__file__).parent / "data"
WAV16 = DATA / "speech_16k.wav"


@pytest.fixture(scope="module")
def reference():
    audio, rate = sf.read(WAV16, dtype="float32")
    return audio, rate


def _wav_bytes(audio, rate, subtype="PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- formats


@pytest.mark.parametrize("name", ["speech_16k.wav", "speech_16k.flac"])
def test_lossless_formats_match_wav_exactly(name, reference):
    audio, rate = load_audio_with_rate(DATA / name)
    assert rate == 16000 and audio.dtype == np.float32
    np.testing.assert_array_equal(audio, reference[0])


@pytest.mark.parametrize("name", ["speech_16k.ogg", "speech_16k.opus.ogg", "speech_16k.mp3"])
def test_lossy_formats_match_wav_within_codec_tolerance(name, reference):
    audio, rate = load_audio_with_rate(DATA / name)
    ref = reference[0]
    assert rate == 16000 and audio.dtype == np.float32 and audio.shape == ref.shape
    error_rms = np.sqrt(np.mean((audio - ref) ** 2))
    signal_rms = np.sqrt(np.mean(ref**2))
    assert error_rms < 0.25 * signal_rms  # > 12 dB SNR at these tiny bitrates
    assert np.corrcoef(audio, ref)[0, 1] > 0.97  # aligned: no codec delay left in


def test_audio_info_reads_header(reference):
    info = audio_info(WAV16)
    assert (info.sampling_rate, info.channels, info.frames) == (16000, 1, len(reference[0]))
    seconds = info.duration  # audio length from the header
    assert seconds == pytest.approx(len(reference[0]) / 16000)
    assert (info.format, info.subtype) == ("WAV", "PCM_16")
    stereo = audio_info(DATA / "speech_stereo_8k.wav")
    assert (stereo.sampling_rate, stereo.channels) == (8000, 2)
    assert audio_info(WAV16.read_bytes()).frames == info.frames
    assert audio_info(DATA / "speech_16k.mp3").format == "MP3"


# ----------------------------------------------------------------------------- PCM and channels


@pytest.mark.parametrize(
    "subtype,scale", [("PCM_16", 2**15), ("PCM_24", 2**23), ("PCM_32", 2**31), ("PCM_U8", 2**7)]
)
def test_int_pcm_files_scale_to_unit_range(subtype, scale):
    # Full-scale negative, zero and a known positive value survive every int width.
    values = np.array([-1.0, 0.0, 0.5, -0.25], dtype=np.float64)
    audio = load_audio(_wav_bytes(values, 16000, subtype))
    np.testing.assert_allclose(audio, values, atol=1.0 / scale)
    assert audio.dtype == np.float32 and audio.min() >= -1.0 and audio.max() <= 1.0


def test_pcm_to_float_scaling():
    np.testing.assert_array_equal(pcm_to_float(np.array([-32768, 0, 16384], np.int16)), [-1.0, 0.0, 0.5])
    np.testing.assert_array_equal(pcm_to_float(np.array([-(2**31), 2**30], np.int32)), [-1.0, 0.5])
    np.testing.assert_array_equal(pcm_to_float(np.array([0, 128, 192], np.uint8)), [-1.0, 0.0, 0.5])
    assert pcm_to_float(np.ones(3, np.float64)).dtype == np.float32
    # an array passed to load_audio goes through the same scaling (as Transformers passes arrays through)
    np.testing.assert_array_equal(load_audio(np.array([16384], np.int16)), [0.5])


def test_mono_mix_down_is_channel_mean():
    path = DATA / "speech_stereo_8k.wav"
    channels = sf.read(path, dtype="float32", always_2d=True)[0].T  # (2, samples)
    both = load_audio(path, mono=False)
    assert both.shape == channels.shape
    np.testing.assert_array_equal(both, channels)
    np.testing.assert_allclose(load_audio(path), channels.mean(axis=0), atol=1e-7)
    assert load_audio(WAV16, mono=False).shape[0] == 1  # always (channels, samples) when mono=False


def test_stereo_resampled_keeps_channels():
    both = load_audio(DATA / "speech_stereo_8k.wav", sampling_rate=16000, mono=False)
    assert both.shape[0] == 2 and both.shape[1] == math.ceil(audio_info(DATA / "speech_stereo_8k.wav").frames * 2)


# ----------------------------------------------------------------------------- sources


def test_bytes_and_file_objects(reference):
    raw = WAV16.read_bytes()
    for source in (raw, bytearray(raw), memoryview(raw), io.BytesIO(raw), open(WAV16, "rb"), str(WAV16)):
        np.testing.assert_array_equal(load_audio(source), reference[0])
        if hasattr(source, "close"):
            source.close()


def test_non_seekable_stream_is_buffered(reference):
    class Pipe:  # a read-only stream that cannot seek, like a socket or stdin
        def __init__(self, data):
            self._data = io.BytesIO(data)

        def read(self, size=-1):
            return self._data.read(size)

        def seekable(self):
            return False

    np.testing.assert_array_equal(load_audio(Pipe(WAV16.read_bytes())), reference[0])


def test_sampling_rate_argument_resamples():
    audio, rate = load_audio_with_rate(DATA / "speech_8k.wav", sampling_rate=16000)
    frames = audio_info(DATA / "speech_8k.wav").frames
    assert rate == 16000 and audio.shape == (2 * frames,) and audio.dtype == np.float32
    audio, rate = load_audio_with_rate(WAV16, sampling_rate=16000)  # same rate: untouched
    np.testing.assert_array_equal(audio, sf.read(WAV16, dtype="float32")[0])


def test_matches_transformers_soundfile_backend():
    from transformers.audio_utils import load_audio as hf_load_audio

    for name in ("speech_8k.wav", "speech_stereo_8k.wav", "speech_16k.mp3"):
        ours = load_audio(DATA / name, sampling_rate=16000)
        theirs = hf_load_audio(str(DATA / name), sampling_rate=16000, backend="soundfile")
        np.testing.assert_array_equal(ours, theirs)


# ----------------------------------------------------------------------------- resampling


def test_resample_8k_to_16k_matches_soxr():
    audio = sf.read(DATA / "speech_8k.wav", dtype="float32")[0]
    out = resample(audio, 8000, 16000)
    assert out.shape == (2 * len(audio),) and out.dtype == np.float32
    direct = soxr.resample(audio, 8000, 16000, quality="soxr_hq")
    n = min(len(direct), len(out))
    np.testing.assert_array_equal(out[:n], direct[:n])


@pytest.mark.parametrize("orig,target", [(8000, 16000), (44100, 16000), (16000, 22050), (48000, 8000)])
def test_resample_keeps_sine_frequency(orig, target):
    freq, seconds = 440.0, 1.0
    t = np.arange(int(orig * seconds)) / orig
    out = resample(np.sin(2 * np.pi * freq * t).astype(np.float32), orig, target)
    assert len(out) == math.ceil(len(t) * target / orig)
    spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out))))
    peak_hz = np.argmax(spectrum) * target / len(out)
    assert abs(peak_hz - freq) < 2.0
    middle = out[len(out) // 4 : 3 * len(out) // 4]
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(1 / np.sqrt(2), rel=0.01)  # amplitude kept


def test_resample_batch_matches_rows():
    rng = np.random.default_rng(0)
    batch = rng.standard_normal((3, 4000)).astype(np.float32) * 0.1
    out = resample(batch, 8000, 16000)
    assert out.shape == (3, 8000)
    for row, expected in zip(out, batch):
        np.testing.assert_allclose(row, resample(expected, 8000, 16000), atol=1e-6)


def test_resample_torch_in_torch_out():
    rng = np.random.default_rng(1)
    batch = rng.standard_normal((2, 1600)).astype(np.float32) * 0.1
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        tensor = torch.from_numpy(batch).to(dtype)
        out = resample(tensor, 8000, 16000)
        assert isinstance(out, torch.Tensor) and out.dtype == dtype and out.shape == (2, 3200)
        expected = resample(tensor.float().numpy(), 8000, 16000)
        np.testing.assert_allclose(out.float().numpy(), expected, atol=1e-2 if dtype == torch.bfloat16 else 1e-6)
    ints = resample(torch.zeros(100, dtype=torch.int16), 8000, 16000)
    assert ints.dtype == torch.float32 and ints.shape == (200,)


def test_resample_same_rate_is_identity():
    x = np.linspace(-1, 1, 100, dtype=np.float32)
    np.testing.assert_array_equal(resample(x, 16000, 16000), x)


# ----------------------------------------------------------------------------- bad input


def test_missing_file_is_file_not_found(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(FileNotFoundError, match="nope.wav.*does not exist"):
        load_audio(path)
    with pytest.raises(AudioFileNotFoundError):
        audio_info(str(path))
    with pytest.raises(InvalidInputError):  # also a ValueError, like every input error
        load_audio(str(path))
    assert issubclass(AudioFileNotFoundError, OSError)


def test_corrupt_file():
    with pytest.raises(AudioDecodeError, match=r"corrupt.wav.*Malformed.*corrupt"):
        load_audio(DATA / "corrupt.wav")
    with pytest.raises(AudioDecodeError, match="corrupt.wav"):
        audio_info(DATA / "corrupt.wav")


def test_empty_file_and_bytes(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioDecodeError, match="empty.wav.*empty \\(0 bytes\\)"):
        load_audio(empty)
    with pytest.raises(AudioDecodeError, match="empty byte string"):
        load_audio(b"")
    with pytest.raises(AudioDecodeError, match="BytesIO object.*no bytes left"):
        load_audio(io.BytesIO(b""))


def test_zero_length_audio(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioDecodeError, match="silent.wav.*zero samples"):
        load_audio(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_audio(tmp_path, bad):
    path = tmp_path / "nan.wav"
    audio = np.zeros(160, np.float32)
    audio[10] = bad
    sf.write(path, audio, 16000, subtype="FLOAT")
    with pytest.raises(AudioDecodeError, match="nan.wav.*NaN or infinite"):
        load_audio(path)
    with pytest.raises(InvalidInputError, match="NaN or infinite"):
        resample(audio, 16000, 8000)


def test_unsupported_format(tmp_path):
    path = tmp_path / "notes.m4a"
    path.write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(200))
    with pytest.raises(AudioDecodeError, match=r"notes.m4a.*Format not recognised.*ffmpeg"):
        load_audio(path)
    with pytest.raises(AudioDecodeError, match=r"<25 bytes of audio>"):
        load_audio(b"this is not an audio file")


def test_bad_source_types(tmp_path):
    with pytest.raises(InvalidInputError, match="file path, bytes or a binary file object, got int"):
        load_audio(12)
    with pytest.raises(InvalidInputError, match="is a URL"):
        load_audio("https://example.com/a.wav")
    with pytest.raises(AudioDecodeError, match="is a directory"):
        load_audio(tmp_path)
    with open(WAV16, encoding="latin-1") as text_file:
        with pytest.raises(InvalidInputError, match="text mode.*'rb'"):
            load_audio(text_file)


def test_bad_resample_arguments():
    x = np.zeros(100, np.float32)
    with pytest.raises(InvalidInputError, match="orig_sr must be a positive integer.*got 0"):
        resample(x, 0, 16000)
    with pytest.raises(InvalidInputError, match="target_sr must be a positive integer.*got 16000.5"):
        resample(x, 8000, 16000.5)
    with pytest.raises(InvalidInputError, match=r"\(samples,\) or \(batch, samples\).*\(1, 2, 100\)"):
        resample(np.zeros((1, 2, 100), np.float32), 8000, 16000)
    with pytest.raises(InvalidInputError, match="zero samples"):
        resample(np.zeros(0, np.float32), 8000, 16000)
    with pytest.raises(InvalidInputError, match="sampling_rate must be a positive integer"):
        load_audio(WAV16, sampling_rate=-1)
