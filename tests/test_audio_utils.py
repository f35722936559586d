"""Parity of polymodal.audio_utils with transformers.audio_utils (the oracle)."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import audio_utils as hf

from polymodal import audio_utils as pm
from polymodal.audio.dsp import KALDI_EPSILON
from polymodal.core.errors import InvalidInputError

SCALES = ["htk", "kaldi", "slaney"]
RNG = np.random.default_rng(0)
WAVE = RNG.standard_normal(4000) * 0.2  # 0.25 s at 16 kHz
# AST's numpy fallback floor in Transformers (a mistyped float32 epsilon).
AST_MEL_FLOOR = 1.192092955078125e-07


@pytest.fixture(autouse=True)
def _quiet_empty_filter_warnings():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="At least one mel filter")
        yield


# ----------------------------------------------------------------------------- mel scales


@pytest.mark.parametrize("scale", SCALES)
def test_mel_scale_arrays(scale):
    hz = np.array([0.0, 20.0, 440.0, 999.9, 1000.0, 1000.1, 4000.0, 8000.0, 22050.0])
    np.testing.assert_allclose(pm.hertz_to_mel(hz, scale), hf.hertz_to_mel(hz, scale), rtol=1e-12)
    mels = hf.hertz_to_mel(hz, scale)
    np.testing.assert_allclose(pm.mel_to_hertz(mels, scale), hf.mel_to_hertz(mels, scale), rtol=1e-12)


@pytest.mark.parametrize("scale", SCALES)
@given(freq=st.floats(0.0, 48000.0))
@settings(max_examples=40, deadline=None)
def test_mel_scale_scalars(scale, freq):
    assert pm.hertz_to_mel(freq, scale) == pytest.approx(hf.hertz_to_mel(freq, scale), rel=1e-12, abs=1e-12)
    mel = hf.hertz_to_mel(freq, scale)
    assert pm.mel_to_hertz(mel, scale) == pytest.approx(hf.mel_to_hertz(mel, scale), rel=1e-12, abs=1e-9)


def test_mel_scale_does_not_mutate_input():
    hz = np.array([500.0, 2000.0])
    pm.hertz_to_mel(hz, "slaney")
    np.testing.assert_array_equal(hz, [500.0, 2000.0])


# ----------------------------------------------------------------------------- filter banks


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("norm", [None, "slaney"])
@pytest.mark.parametrize("in_mel", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mel_filter_bank(scale, norm, in_mel, dtype):
    kwargs = dict(num_frequency_bins=201, num_mel_filters=40, min_frequency=30.0, max_frequency=7600.0,
                  sampling_rate=16000, norm=norm, mel_scale=scale, triangularize_in_mel_space=in_mel, dtype=dtype)
    ours, theirs = pm.mel_filter_bank(**kwargs), hf.mel_filter_bank(**kwargs)
    assert ours.shape == theirs.shape == (201, 40) and ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-12)


@pytest.mark.parametrize("bins,mels,sr,fmax", [(201, 80, 16000, 8000), (201, 128, 16000, 8000),
                                               (257, 128, 16000, 8000), (513, 64, 48000, 14000)])
def test_mel_filter_bank_model_configs(bins, mels, sr, fmax):
    kwargs = dict(num_frequency_bins=bins, num_mel_filters=mels, min_frequency=0.0, max_frequency=fmax,
                  sampling_rate=sr, norm="slaney", mel_scale="slaney")
    np.testing.assert_allclose(pm.mel_filter_bank(**kwargs), hf.mel_filter_bank(**kwargs), rtol=1e-12, atol=1e-15)


def test_mel_filter_bank_warns_on_empty_filters():
    with pytest.warns(UserWarning, match="all zero values"):
        pm.mel_filter_bank(33, 64, 0, 8000, 16000)


@pytest.mark.parametrize("kwargs", [dict(norm="area"), dict(mel_scale="bark"), dict(num_frequency_bins=1),
                                    dict(min_frequency=9000.0)])
def test_mel_filter_bank_bad_args(kwargs):
    args = dict(num_frequency_bins=201, num_mel_filters=40, min_frequency=0.0, max_frequency=8000.0,
                sampling_rate=16000) | kwargs
    with pytest.raises(ValueError):
        pm.mel_filter_bank(**args)


# ----------------------------------------------------------------------------- windows


@pytest.mark.parametrize("n", [1, 2, 7, 400, 511, 1024, 1000])
def test_optimal_fft_length(n):
    assert pm.optimal_fft_length(n) == hf.optimal_fft_length(n)


@pytest.mark.parametrize("name", ["boxcar", "hamming", "hamming_window", "hann", "hann_window", "povey"])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("frame_length,center", [(None, True), (512, True), (512, False), (400, True)])
def test_window_function(name, periodic, frame_length, center):
    ours = pm.window_function(400, name, periodic=periodic, frame_length=frame_length, center=center)
    theirs = hf.window_function(400, name, periodic=periodic, frame_length=frame_length, center=center)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=0)


def test_window_function_bad_args():
    with pytest.raises(InvalidInputError, match="Unknown window"):
        pm.window_function(400, "blackmanharris")
    with pytest.raises(InvalidInputError, match="frame_length"):
        pm.window_function(400, frame_length=256)


# ----------------------------------------------------------------------------- spectrogram

HANN = hf.window_function(400, "hann")
MEL_257 = hf.mel_filter_bank(257, 40, 20.0, 8000.0, 16000, mel_scale="kaldi", triangularize_in_mel_space=True)
MEL_201 = hf.mel_filter_bank(201, 80, 0.0, 8000.0, 16000, norm="slaney", mel_scale="slaney")

SPECTROGRAM_CASES = {
    "amplitude": dict(),
    "power": dict(power=2.0),
    "complex": dict(power=None),
    "power_0.5": dict(power=0.5),
    "not_centered": dict(center=False),
    "pad_constant": dict(pad_mode="constant"),
    "pad_edge": dict(pad_mode="edge"),
    "two_sided": dict(onesided=False, power=2.0),
    "fft_512": dict(fft_length=512),
    "preemphasis": dict(preemphasis=0.97),
    "remove_dc": dict(remove_dc_offset=True, power=2.0),
    "whisper_log10": dict(power=2.0, mel_filters=MEL_201, log_mel="log10"),
    "mel_no_log": dict(power=2.0, mel_filters=MEL_201, mel_floor=1e-6),
    "log": dict(power=2.0, log_mel="log"),
    "power_db": dict(power=2.0, mel_filters=MEL_201, log_mel="dB", reference=3.0, min_value=1e-8, db_range=60.0),
    "amplitude_db": dict(power=1.0, log_mel="dB", db_range=80.0),
    "float64_out": dict(power=2.0, log_mel="log10", dtype=np.float64),
    "kaldi_like": dict(fft_length=512, power=2.0, center=False, preemphasis=0.97, mel_filters=MEL_257,
                       log_mel="log", mel_floor=AST_MEL_FLOOR, remove_dc_offset=True),
}


@pytest.mark.parametrize("case", SPECTROGRAM_CASES)
def test_spectrogram(case):
    kwargs = SPECTROGRAM_CASES[case]
    window = HANN if "fft_length" not in kwargs else hf.window_function(400, "hann", periodic=False)
    ours = pm.spectrogram(WAVE, window, 400, 160, **kwargs)
    theirs = hf.spectrogram(WAVE, window, 400, 160, **kwargs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("frame_length,hop,fft", [(256, 64, None), (400, 100, 512), (300, 160, 1024)])
def test_spectrogram_frame_sizes(frame_length, hop, fft):
    window = hf.window_function(frame_length, "hamming", frame_length=frame_length)
    ours = pm.spectrogram(WAVE.astype(np.float32), window, frame_length, hop, fft_length=fft, power=2.0)
    theirs = hf.spectrogram(WAVE.astype(np.float32), window, frame_length, hop, fft_length=fft, power=2.0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


def test_spectrogram_padded_window():
    window = hf.window_function(300, "povey", frame_length=512, center=True)
    ours = pm.spectrogram(WAVE, window, 512, 128, power=2.0)
    np.testing.assert_allclose(ours, hf.spectrogram(WAVE, window, 512, 128, power=2.0), rtol=1e-6, atol=1e-9)


def test_spectrogram_dither_uses_numpy_global_stream():
    np.random.seed(3)
    ours = pm.spectrogram(WAVE, HANN, 400, 160, dither=0.01, power=2.0)
    np.random.seed(3)
    theirs = hf.spectrogram(WAVE, HANN, 400, 160, dither=0.01, power=2.0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


@given(
    power=st.sampled_from([None, 1.0, 2.0]),
    center=st.booleans(),
    preemphasis=st.sampled_from([None, 0.9, 0.97]),
    remove_dc=st.booleans(),
    hop=st.integers(50, 400),
    length=st.integers(400, 3000),
)
@settings(max_examples=25, deadline=None)
def test_spectrogram_random_parameters(power, center, preemphasis, remove_dc, hop, length):
    kwargs = dict(power=power, center=center, preemphasis=preemphasis, remove_dc_offset=remove_dc)
    ours = pm.spectrogram(WAVE[:length], HANN, 400, hop, **kwargs)
    theirs = hf.spectrogram(WAVE[:length], HANN, 400, hop, **kwargs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


@pytest.mark.filterwarnings("ignore:divide by zero")  # log of the zero-padded frames, in both libraries
@pytest.mark.parametrize("case", SPECTROGRAM_CASES)
def test_spectrogram_batch(case):
    kwargs = SPECTROGRAM_CASES[case]
    window = HANN if "fft_length" not in kwargs else hf.window_function(400, "hann", periodic=False)
    waves = [WAVE[:4000], WAVE[:1234] * 3, WAVE[500:3100] + 0.5]
    ours = pm.spectrogram_batch(waves, window, 400, 160, **kwargs)
    theirs = hf.spectrogram_batch(waves, window, 400, 160, **kwargs)
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_spectrogram_batch_dither_stream():
    waves = [WAVE[:3000], WAVE[:2000]]
    np.random.seed(5)
    ours = pm.spectrogram_batch(waves, HANN, 400, 160, dither=0.01, power=2.0)
    np.random.seed(5)
    theirs = hf.spectrogram_batch(waves, HANN, 400, 160, dither=0.01, power=2.0)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("kwargs,match", [
    (dict(frame_length=512), "window has length"),
    (dict(hop_length=0), "hop_length"),
    (dict(fft_length=256), "fft_length"),
    (dict(power=None, mel_filters=MEL_201), "power"),
    (dict(power=2.0, log_mel="ln"), "log_mel"),
    (dict(power=3.0, log_mel="dB"), "power"),
])
def test_spectrogram_bad_args(kwargs, match):
    args = dict(frame_length=400, hop_length=160) | kwargs
    with pytest.raises(InvalidInputError, match=match):
        pm.spectrogram(WAVE, HANN, **args)


def test_spectrogram_rejects_multichannel_and_complex():
    with pytest.raises(ValueError, match="one-dimensional"):
        pm.spectrogram(np.zeros((2, 1000)), HANN, 400, 160)
    with pytest.raises(ValueError, match="Complex"):
        pm.spectrogram(np.zeros(1000, dtype=np.complex64), HANN, 400, 160)


# ----------------------------------------------------------------------------- decibels


@pytest.mark.parametrize("fn", ["power_to_db", "amplitude_to_db"])
@pytest.mark.parametrize("reference,min_value,db_range", [(1.0, 1e-10, None), (2.5, 1e-5, 40.0), (1e-12, 1e-3, 80.0)])
def test_to_db(fn, reference, min_value, db_range):
    spec = RNG.random((20, 30)) ** 4
    ours = getattr(pm, fn)(spec, reference, min_value, db_range)
    np.testing.assert_allclose(ours, getattr(hf, fn)(spec, reference, min_value, db_range), rtol=1e-12)


@pytest.mark.parametrize("fn", ["power_to_db_batch", "amplitude_to_db_batch"])
@pytest.mark.parametrize("db_range", [None, 25.0])
def test_to_db_batch(fn, db_range):
    spec = RNG.random((3, 20, 30)) ** 4 * np.array([1e-4, 1.0, 10.0])[:, None, None]
    ours = getattr(pm, fn)(spec, 1.5, 1e-8, db_range)
    np.testing.assert_allclose(ours, getattr(hf, fn)(spec, 1.5, 1e-8, db_range), rtol=1e-12)


@pytest.mark.parametrize("fn", ["power_to_db", "amplitude_to_db"])
def test_to_db_torch_matches_batch_version(fn):
    spec = RNG.random((3, 20, 30)) ** 4
    ours = getattr(pm, f"{fn}_torch")(torch.from_numpy(spec), 2.0, 1e-6, 30.0).numpy()
    np.testing.assert_allclose(ours, getattr(hf, f"{fn}_batch")(spec, 2.0, 1e-6, 30.0), rtol=1e-12)


@pytest.mark.parametrize("kwargs", [dict(reference=0.0), dict(min_value=-1.0), dict(db_range=0.0)])
def test_to_db_bad_args(kwargs):
    with pytest.raises(InvalidInputError):
        pm.power_to_db(np.ones(3), **kwargs)


# ----------------------------------------------------------------------------- batched torch versions

TORCH_CASES = {k: v for k, v in SPECTROGRAM_CASES.items() if k not in ("float64_out", "power_db", "amplitude_db")}


@pytest.mark.parametrize("case", TORCH_CASES)
def test_spectrogram_torch_matches_each_row(case):
    kwargs = {k: v for k, v in TORCH_CASES[case].items() if k != "dtype"}
    window = HANN if "fft_length" not in kwargs else hf.window_function(400, "hann", periodic=False)
    batch = RNG.standard_normal((3, 3000)) * np.array([[0.01], [0.3], [1.0]])
    ours = pm.spectrogram_torch(torch.from_numpy(batch), window, 400, 160, **kwargs).numpy()
    for row, wave in zip(ours, batch):
        theirs = hf.spectrogram(wave, window, 400, 160, **kwargs)
        assert row.shape == theirs.shape
        # the oracle rounds the STFT to complex64; we keep float64 here
        np.testing.assert_allclose(row, theirs, rtol=1e-5, atol=1e-5)


def test_spectrogram_torch_float32_whisper_path():
    batch = (RNG.standard_normal((2, 8000)) * 0.1).astype(np.float32)
    kw = dict(power=2.0, mel_filters=MEL_201, log_mel="log10")
    ours = pm.spectrogram_torch(torch.from_numpy(batch), HANN.astype(np.float32), 400, 160, **kw).numpy()
    for row, wave in zip(ours, batch):
        np.testing.assert_allclose(row, hf.spectrogram(wave, HANN, 400, 160, **kw), atol=2e-5)


def test_spectrogram_torch_db_range_is_per_example():
    batch = RNG.standard_normal((2, 3000)) * np.array([[1e-3], [1.0]])
    kw = dict(power=2.0, log_mel="dB", db_range=20.0)
    ours = pm.spectrogram_torch(torch.from_numpy(batch), HANN, 400, 160, **kw).numpy()
    for row, wave in zip(ours, batch):
        np.testing.assert_allclose(row, hf.spectrogram(wave, HANN, 400, 160, **kw), rtol=1e-5, atol=1e-4)


def test_spectrogram_torch_needs_batch():
    with pytest.raises(InvalidInputError, match="batch, samples"):
        pm.spectrogram_torch(torch.zeros(1000), HANN, 400, 160)


# ----------------------------------------------------------------------------- Kaldi fbank


def _hf_ast_numpy_fbank(wave, num_mel_bins=128):
    """What Transformers' AST extractor computes when torchaudio is missing (this venv)."""
    mel = hf.mel_filter_bank(257, num_mel_bins, 20, 8000, 16000, None, "kaldi", True)
    window = hf.window_function(400, "hann", periodic=False)
    return hf.spectrogram(wave, window, 400, 160, 512, power=2.0, center=False, preemphasis=0.97,
                          mel_filters=mel, log_mel="log", mel_floor=AST_MEL_FLOOR, remove_dc_offset=True).T


@pytest.mark.parametrize("num_mel_bins", [64, 128])
def test_kaldi_fbank_matches_transformers_numpy_path(num_mel_bins):
    batch = np.stack([
        RNG.standard_normal(8000) * 0.1,
        np.sin(np.arange(8000) * 0.05) * 0.5 + 0.2,  # tone plus DC offset
        np.r_[np.zeros(3000), RNG.standard_normal(5000) * 1e-3],  # silence, then quiet noise
    ]).astype(np.float32)
    ours = pm.kaldi_fbank_torch(torch.from_numpy(batch), 16000, num_mel_bins, window_type="hanning",
                                mel_floor=AST_MEL_FLOOR).numpy()
    for row, wave in zip(ours, batch):
        theirs = _hf_ast_numpy_fbank(wave, num_mel_bins)
        assert row.shape == theirs.shape == (48, num_mel_bins)
        np.testing.assert_allclose(row, theirs, atol=1e-5)


@pytest.mark.parametrize("window_type,name", [("povey", "povey"), ("hamming", "hamming"),
                                              ("rectangular", "boxcar")])
def test_kaldi_fbank_window_types(window_type, name):
    wave = RNG.standard_normal(4000) * 0.1
    ours = pm.kaldi_fbank_torch(torch.from_numpy(wave)[None], 16000, 23, window_type=window_type)[0].numpy()
    mel = hf.mel_filter_bank(257, 23, 20, 8000, 16000, None, "kaldi", True)
    theirs = hf.spectrogram(wave, hf.window_function(400, name, periodic=False), 400, 160, 512, power=2.0,
                            center=False, preemphasis=0.97, mel_filters=mel, log_mel="log",
                            mel_floor=KALDI_EPSILON,
                            remove_dc_offset=True).T
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_kaldi_fbank_short_input_has_no_frames():
    assert pm.kaldi_fbank_torch(torch.zeros(2, 399), num_mel_bins=10).shape == (2, 0, 10)


def test_kaldi_fbank_bad_window():
    with pytest.raises(InvalidInputError, match="window_type"):
        pm.kaldi_fbank_torch(torch.zeros(1, 1000), window_type="gauss")


@pytest.mark.parametrize("name", ["hertz_to_mel", "mel_to_hertz", "mel_filter_bank", "optimal_fft_length",
                                  "window_function", "spectrogram", "spectrogram_batch", "power_to_db",
                                  "power_to_db_batch", "amplitude_to_db", "amplitude_to_db_batch"])
def test_signatures_match_transformers(name):
    import inspect

    ours, theirs = inspect.signature(getattr(pm, name)), inspect.signature(getattr(hf, name))
    assert [(p.name, p.default) for p in ours.parameters.values()] == \
        [(p.name, p.default) for p in theirs.parameters.values()]
