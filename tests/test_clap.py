"""CLAP: configs, every model class, feature extractor, processor and the zero-shot audio pipeline
against Transformers on tiny random checkpoints (both save/load directions).

Randomness: ClapFeatureExtractor's crops of long clips and the random ``is_longer`` pick under
``truncation="fusion"`` use numpy's global RNG with Transformers' exact calls, so each parity
check seeds ``np.random`` before both extractors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from clip_helpers import assert_outputs_close
from tokenizer_helpers import write_roberta_files

from polymodal.core.errors import ConfigError, InvalidInputError
from polymodal.models.clap import modeling as ours_mod
from polymodal.models.clap.configuration import ClapAudioConfig, ClapConfig, ClapTextConfig
from polymodal.models.clap.feature_extraction import ClapFeatureExtractor

TEXT = dict(vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
            max_position_embeddings=40)
# A small HTSAT on 64 mel bins: a 128x128 "image" (2 time slices per row), 32x32 patches, two stages.
AUDIO = dict(spec_size=128, num_mel_bins=64, window_size=4, patch_size=4, patch_stride=[4, 4], depths=[2, 2],
             num_attention_heads=[2, 4], patch_embeds_hidden_size=8, hidden_size=16, aff_block_r=2)
FUSED = dict(AUDIO, enable_fusion=True, fusion_type="aff_2d")
# 16 kHz, 1 s windows of 101 frames: a small stand-in for CLAP's 48 kHz / 10 s / 1001 frames.
EXTRACTOR = dict(sampling_rate=16000, hop_length=160, max_length_s=1, fft_window_size=400, frequency_max=8000)
CLASSES = ["ClapModel", "ClapTextModel", "ClapAudioModel", "ClapTextModelWithProjection",
           "ClapAudioModelWithProjection"]


def _hf_config(name, audio=FUSED):
    full = transformers.ClapConfig(text_config=TEXT, audio_config=audio, projection_dim=12)
    if name in ("ClapModel",):
        return full
    return full.text_config if "Text" in name else full.audio_config


def randomize(model, seed=1):
    """Every float parameter and buffer random: the init leaves the position-bias tables and
    batch-norm statistics at zeros/ones, which would hide mistakes in those paths."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():  # persistent tensors only (not derived masks)
            if not tensor.is_floating_point() or "logit_scale" in name:
                continue
            if "running_var" in name:
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
            else:
                tensor.copy_(torch.randn(tensor.shape, generator=gen) * 0.2)
    return model


def _text(lengths=(6, 3, 5), seed=0):
    gen = torch.Generator().manual_seed(seed)
    ids = torch.ones(len(lengths), max(lengths), dtype=torch.long)  # pad id 1
    mask = torch.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(4, 90, (n,), generator=gen)
        ids[row, 0], ids[row, n - 1] = 0, 2  # <s> … </s>
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask}


def _audio(batch=3, channels=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {"input_features": torch.randn(batch, channels, 101, 64, generator=gen) * 10 - 40,
            "is_longer": torch.tensor([[True], [False], [True]])[:batch]}


def _inputs(name):
    if name == "ClapModel":
        return {**_text(), **_audio()}
    return _text() if "Text" in name else _audio()


@pytest.fixture(scope="module")
def hf_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("clap")
    dirs = {}
    for name in CLASSES:
        torch.manual_seed(0)
        model = randomize(getattr(transformers, name)(_hf_config(name)))
        model.save_pretrained(root / name)
        dirs[name] = root / name
    torch.manual_seed(0)
    randomize(transformers.ClapModel(_hf_config("ClapModel", AUDIO))).save_pretrained(root / "unfused")
    dirs["unfused"] = root / "unfused"
    return dirs


# --------------------------------------------------------------------------- configs
def test_config_defaults_match_transformers():
    ours, theirs = ClapConfig().to_dict(), transformers.ClapConfig().to_dict()
    for key in ("logit_scale_init_value", "projection_dim", "projection_hidden_act", "hidden_size",
                "num_hidden_layers"):
        assert ours[key] == pytest.approx(theirs[key]), key
    for part in ("text_config", "audio_config"):
        for key, value in ours[part].items():
            if key in theirs[part] and key not in ("dtype", "architectures", "id2label", "label2id"):
                expected = theirs[part][key]
                expected = list(expected) if isinstance(expected, tuple) else expected
                assert value == expected, f"{part}.{key}"


def test_config_round_trip_both_ways(tmp_path):
    _hf_config("ClapModel").save_pretrained(tmp_path / "hf")
    ours = ClapConfig.from_pretrained(tmp_path / "hf")
    assert ours.audio_config.enable_fusion and ours.text_config.projection_dim == 12
    assert ours.audio_config.projection_dim == 12 and ours.text_config.hidden_size == 32
    ours.save_pretrained(tmp_path / "ours")
    theirs = transformers.ClapConfig.from_pretrained(tmp_path / "ours")
    assert theirs.audio_config.depths == [2, 2] and theirs.projection_dim == 12
    assert ClapConfig.from_pretrained(tmp_path / "ours") == ours
    # A single tower's config comes out of the full one.
    assert ClapAudioConfig.from_pretrained(tmp_path / "ours").window_size == 4


def test_from_text_audio_configs_and_projection_sync():
    config = ClapConfig.from_text_audio_configs(ClapTextConfig(**TEXT), ClapAudioConfig(**AUDIO), projection_dim=7,
                                                projection_hidden_act="gelu")
    for tower in (config.text_config, config.audio_config):
        assert tower.projection_dim == 7 and tower.projection_hidden_act == "gelu"
    assert config.num_hidden_layers == 2 + 2 and config.hidden_size == 32


def test_config_errors():
    with pytest.raises(ConfigError, match="num_attention_heads"):
        ClapAudioConfig(**{**AUDIO, "num_attention_heads": [3, 4]})
    with pytest.raises(ConfigError, match="one entry per stage"):
        ClapAudioConfig(**{**AUDIO, "depths": [2, 2, 2]})
    with pytest.raises(ConfigError, match="window_size"):
        ours_mod.ClapAudioModel(ClapAudioConfig(**{**AUDIO, "window_size": 32}))
    with pytest.raises(ConfigError, match="hidden_size"):
        ours_mod.ClapAudioModelWithProjection(ClapAudioConfig(**{**AUDIO, "hidden_size": 20}))


# --------------------------------------------------------------------------- models
@pytest.mark.parametrize("name", CLASSES)
def test_every_output_matches_transformers(hf_dirs, name):
    theirs = getattr(transformers, name).from_pretrained(hf_dirs[name], attn_implementation="eager").eval()
    ours, info = getattr(ours_mod, name).from_pretrained(hf_dirs[name], output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    inputs = _inputs(name)
    with torch.no_grad():
        assert_outputs_close(ours(**inputs), theirs(**inputs), atol=1e-5)  # the SDPA path
        a = theirs(**inputs, output_hidden_states=True, output_attentions=True)
        b = ours(**inputs, output_hidden_states=True, output_attentions=True)
    assert_outputs_close(b, a, atol=1e-5)
    assert len(b.to_tuple()) == len(a.to_tuple())


def test_unfused_model_and_one_channel_features(hf_dirs):
    theirs = transformers.ClapModel.from_pretrained(hf_dirs["unfused"]).eval()
    ours = ours_mod.ClapModel.from_pretrained(hf_dirs["unfused"])
    inputs = {**_text(), **_audio(channels=1)}
    with torch.no_grad():
        assert_outputs_close(ours(**inputs), theirs(**inputs))


def test_fusion_with_no_long_clip_and_short_spectrogram(hf_dirs):
    theirs = transformers.ClapAudioModel.from_pretrained(hf_dirs["ClapAudioModel"]).eval()
    ours = ours_mod.ClapAudioModel.from_pretrained(hf_dirs["ClapAudioModel"])
    features = _audio(2)["input_features"][:, :, :60]  # fewer frames: stretched by the bicubic resize
    with torch.no_grad():
        for is_longer in (torch.zeros(2, 1, dtype=torch.bool), torch.ones(2, 1, dtype=torch.bool)):
            assert_outputs_close(ours(features, is_longer), theirs(features, is_longer))


def test_windows_that_do_not_tile_the_map(tmp_path):
    # window_size 5 on 32x32 and 16x16 maps: both are padded to whole windows and shifted by 2.
    config = _hf_config("ClapAudioModel", dict(AUDIO, window_size=5))
    torch.manual_seed(0)
    randomize(transformers.ClapAudioModel(config)).save_pretrained(tmp_path)
    theirs = transformers.ClapAudioModel.from_pretrained(tmp_path).eval()
    ours = ours_mod.ClapAudioModel.from_pretrained(tmp_path)
    inputs = _audio(2, channels=1)
    with torch.no_grad():
        assert_outputs_close(ours(**inputs, output_attentions=True), theirs(**inputs, output_attentions=True))


@pytest.mark.parametrize("name", CLASSES)
def test_save_in_polymodal_load_in_transformers(tmp_path, name):
    klass = getattr(ours_mod, name)
    torch.manual_seed(0)
    ours = randomize(klass(klass.config_class.from_dict(_hf_config(name).to_dict()))).eval()
    ours.save_pretrained(tmp_path)
    theirs, info = getattr(transformers, name).from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    inputs = _inputs(name)
    with torch.no_grad():
        assert_outputs_close(ours(**inputs), theirs.eval()(**inputs))
    assert klass.from_pretrained(tmp_path).config == ours.config


def test_features_loss_and_gradients(hf_dirs):
    theirs = transformers.ClapModel.from_pretrained(hf_dirs["ClapModel"]).eval()
    ours = ours_mod.ClapModel.from_pretrained(hf_dirs["ClapModel"])
    text, audio = _text(), _audio()
    with torch.no_grad():
        torch.testing.assert_close(ours.get_text_features(**text), theirs.get_text_features(**text).pooler_output)
        torch.testing.assert_close(ours.get_audio_features(**audio),
                                   theirs.get_audio_features(**audio).pooler_output)
        full = ours.get_audio_features(**audio, return_dict=True, output_hidden_states=True)
        assert full.hidden_states is not None and full.pooler_output.shape == (3, 12)
    a = theirs(**text, **audio, return_loss=True)
    b = ours(**text, **audio, return_loss=True)
    torch.testing.assert_close(b.loss, a.loss)
    a.loss.backward()
    b.loss.backward()
    for name, param in ours.named_parameters():
        other = theirs.get_parameter(name)
        if other.grad is not None:
            torch.testing.assert_close(param.grad, other.grad, atol=1e-5, rtol=1e-4, msg=name)


def test_single_towers_load_from_a_full_checkpoint(hf_dirs):
    full = ours_mod.ClapModel.from_pretrained(hf_dirs["ClapModel"])
    audio, info = ours_mod.ClapAudioModelWithProjection.from_pretrained(hf_dirs["ClapModel"],
                                                                        output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    text = ours_mod.ClapTextModel.from_pretrained(hf_dirs["ClapModel"])
    inputs, ids = _audio(), _text()
    with torch.no_grad():
        embeds = torch.nn.functional.normalize(audio(**inputs).audio_embeds, dim=-1)
        torch.testing.assert_close(embeds, full.get_audio_features(**inputs))
        torch.testing.assert_close(text(**ids).pooler_output, full.text_model(**ids).pooler_output)


def test_auto_classes(hf_dirs):
    from polymodal import AutoConfig, AutoModel

    assert type(AutoConfig.from_pretrained(hf_dirs["ClapModel"])).__name__ == "ClapConfig"
    assert type(AutoModel.from_pretrained(hf_dirs["ClapModel"])).__name__ == "ClapModel"
    assert type(AutoModel.from_pretrained(hf_dirs["ClapAudioModel"])).__name__ == "ClapAudioModel"


def test_bad_model_inputs(hf_dirs):
    model = ours_mod.ClapAudioModel.from_pretrained(hf_dirs["ClapAudioModel"])
    features = _audio()["input_features"]
    with pytest.raises(InvalidInputError, match="mel bins"):
        model(features[..., :32])
    with pytest.raises(InvalidInputError, match="batch, channels, frames"):
        model(features[0])
    with pytest.raises(InvalidInputError, match="is_longer"):
        model(features, torch.ones(2, 1, dtype=torch.bool))
    with pytest.raises(InvalidInputError, match="at most"):
        model(torch.zeros(1, 4, 300, 64))


# --------------------------------------------------------------------------- feature extractor
def _clips(lengths, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(max(lengths)) / 16000
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) * np.exp(-t)
    return [(tone[:n] + 0.05 * rng.standard_normal(n)).astype(np.float32) for n in lengths]


@pytest.mark.parametrize("truncation", ["fusion", "rand_trunc"])
@pytest.mark.parametrize("padding", ["repeatpad", "repeat", "pad"])
def test_feature_extractor_matches_transformers(truncation, padding):
    theirs = transformers.ClapFeatureExtractor(**EXTRACTOR, truncation=truncation, padding=padding)
    ours = ClapFeatureExtractor(**EXTRACTOR, truncation=truncation, padding=padding)
    # short, exact, just over (one frame), long, very long, tiny
    clips = _clips([3000, 16000, 16100, 40000, 70000, 300])
    for batch in (clips, clips[:2], [clips[3]]):
        np.random.seed(7)
        a = theirs(batch, sampling_rate=16000, return_tensors="np")
        np.random.seed(7)
        b = ours(batch, sampling_rate=16000, return_tensors="np")
        assert b["input_features"].dtype == a["input_features"].dtype == np.float32
        np.testing.assert_allclose(b["input_features"], a["input_features"], atol=1e-4, rtol=0)
        np.testing.assert_array_equal(b["is_longer"], a["is_longer"])


def test_feature_extractor_defaults_and_output_types():
    theirs, ours = transformers.ClapFeatureExtractor(), ClapFeatureExtractor()
    clip = _clips([48000])[0]
    np.random.seed(0)
    a = theirs(clip, sampling_rate=48000)
    np.random.seed(0)
    b = ours(clip, sampling_rate=48000)
    assert isinstance(b["input_features"], list) and b["is_longer"] == a["is_longer"] == [[True]]
    np.testing.assert_allclose(b["input_features"][0], a["input_features"][0], atol=1e-4, rtol=0)
    pt = ours([clip, clip[:1000]], sampling_rate=48000, return_tensors="pt")
    assert pt["input_features"].shape == (2, 4, 1001, 64) and pt["is_longer"].dtype == torch.bool
    np.random.seed(0)
    a = theirs(clip, sampling_rate=48000, truncation="rand_trunc", padding="pad", max_length=24000,
               return_tensors="pt")
    np.random.seed(0)
    b = ours(clip, sampling_rate=48000, truncation="rand_trunc", padding="pad", max_length=24000, return_tensors="pt")
    assert b["input_features"].shape == (1, 1, 51, 64)
    torch.testing.assert_close(b["input_features"], a["input_features"], atol=1e-4, rtol=0)


def test_feature_extractor_save_load_both_ways(tmp_path):
    transformers.ClapFeatureExtractor(**EXTRACTOR, truncation="rand_trunc").save_pretrained(tmp_path / "hf")
    ours = ClapFeatureExtractor.from_pretrained(tmp_path / "hf")
    assert ours.truncation == "rand_trunc" and ours.nb_max_samples == 16000
    ours.save_pretrained(tmp_path / "ours")
    theirs = transformers.ClapFeatureExtractor.from_pretrained(tmp_path / "ours")
    clips = _clips([5000, 20000])
    np.random.seed(1)
    a = theirs(clips, sampling_rate=16000, return_tensors="np")
    np.random.seed(1)
    b = ours(clips, sampling_rate=16000, return_tensors="np")
    np.testing.assert_allclose(b["input_features"], a["input_features"], atol=1e-4, rtol=0)
    assert "mel_filters" not in ours.to_dict() and "mel_filters_slaney" not in ours.to_dict()


def test_feature_extractor_bad_inputs():
    extractor = ClapFeatureExtractor(**EXTRACTOR)
    with pytest.raises(InvalidInputError, match="expects audio sampled at 16000"):
        extractor(_clips([1000])[0], sampling_rate=48000)
    with pytest.raises(InvalidInputError, match="empty"):
        extractor([np.zeros(0, np.float32)], sampling_rate=16000)
    with pytest.raises(InvalidInputError, match="truncation="):
        extractor(_clips([1000])[0], sampling_rate=16000, truncation="cut")
    with pytest.raises(InvalidInputError, match="padding="):
        extractor(_clips([1000])[0], sampling_rate=16000, padding="longest")
    with pytest.raises(InvalidInputError):
        extractor(np.zeros((2, 2, 100), np.float32), sampling_rate=16000)


# --------------------------------------------------------------------------- processor and pipeline
@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory):
    """A fused tiny CLAP with a RoBERTa tokenizer and a 16 kHz extractor, saved by Transformers."""
    root = tmp_path_factory.mktemp("clap_pipeline")
    tokenizer = transformers.RobertaTokenizer.from_pretrained(str(write_roberta_files(root / "tok")))
    text = {**TEXT, "vocab_size": len(tokenizer)}
    torch.manual_seed(0)
    model = randomize(transformers.ClapModel(transformers.ClapConfig(text_config=text, audio_config=FUSED,
                                                                     projection_dim=12)))
    with torch.no_grad():
        model.logit_scale_a.fill_(3.0)
    model.save_pretrained(root / "model")
    extractor = transformers.ClapFeatureExtractor(**EXTRACTOR)
    transformers.ClapProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(root / "model")
    return root / "model"


def test_processor_matches_transformers_and_round_trips(pipeline_dir, tmp_path):
    from polymodal import AutoProcessor
    from polymodal.models.clap.processing import ClapProcessor

    theirs = transformers.ClapProcessor.from_pretrained(pipeline_dir)
    ours = ClapProcessor.from_pretrained(pipeline_dir)
    assert type(AutoProcessor.from_pretrained(pipeline_dir)).__name__ == "ClapProcessor"
    texts, clips = ["a dog barking", "rain on a window pane"], _clips([8000, 12000])
    np.random.seed(0)
    a = theirs(text=texts, audio=clips, sampling_rate=16000, return_tensors="pt", padding=True)
    np.random.seed(0)
    b = ours(text=texts, audio=clips, sampling_rate=16000, return_tensors="pt", padding=True)
    assert set(a) == set(b)
    for key in a:
        torch.testing.assert_close(b[key], a[key], atol=1e-4, rtol=0, msg=key)
    np.random.seed(0)
    legacy = ours(audios=clips, sampling_rate=16000, return_tensors="pt")  # Transformers 4's keyword
    torch.testing.assert_close(legacy["input_features"], b["input_features"])
    ours.save_pretrained(tmp_path)
    again = transformers.ClapProcessor.from_pretrained(tmp_path)
    assert again.feature_extractor.sampling_rate == 16000
    assert again.tokenizer(texts)["input_ids"] == theirs.tokenizer(texts)["input_ids"]
    model = ours_mod.ClapModel.from_pretrained(pipeline_dir)
    probs = model(**b).logits_per_audio.softmax(dim=-1)
    assert probs.shape == (2, 2)


def _assert_same(ours, theirs):
    assert [r["label"] for r in ours] == [r["label"] for r in theirs]
    np.testing.assert_allclose([r["score"] for r in ours], [r["score"] for r in theirs], atol=1e-5)


LABELS = ["dog", "rain", "engine", "bird song"]


def test_pipeline_equals_transformers(pipeline_dir, tmp_path):
    import soundfile

    from polymodal import pipeline

    theirs = transformers.pipeline("zero-shot-audio-classification", model=str(pipeline_dir))
    ours = pipeline("zero-shot-audio-classification", model=str(pipeline_dir))
    clips = _clips([6000, 16000, 11000])
    _assert_same(ours(clips[0], candidate_labels=LABELS), theirs(clips[0], candidate_labels=LABELS))
    path = tmp_path / "clip.wav"
    soundfile.write(path, clips[2], 16000, subtype="FLOAT")
    _assert_same(ours(str(path), candidate_labels=LABELS), theirs(clips[2], candidate_labels=LABELS))
    template = "the sound of {}"
    expected = [theirs(clip, candidate_labels=LABELS, hypothesis_template=template) for clip in clips]
    for batch_size in (1, 3):
        got = ours(clips, candidate_labels=LABELS, hypothesis_template=template, batch_size=batch_size)
        assert len(got) == 3
        for a, b in zip(got, expected):
            _assert_same(a, b)


def test_pipeline_bad_inputs(pipeline_dir):
    from polymodal import pipeline

    classify = pipeline("zero-shot-audio-classification", model=str(pipeline_dir))
    clip = _clips([4000])[0]
    with pytest.raises(InvalidInputError, match="candidate_labels"):
        classify(clip, candidate_labels=[])
    with pytest.raises(InvalidInputError, match="empty"):
        classify(np.zeros(0, np.float32), candidate_labels=LABELS)
    with pytest.raises(InvalidInputError, match="sampling_rate"):
        classify({"raw": clip}, candidate_labels=LABELS)
    with pytest.raises(InvalidInputError, match="hypothesis_template"):
        classify(clip, candidate_labels=LABELS, hypothesis_template="no slot")
    with pytest.raises(InvalidInputError, match="one channel"):
        classify(np.zeros((2, 4000), np.float32)[None], candidate_labels=LABELS)


def test_fusion_features_into_an_unfused_model_is_a_clear_error(hf_dirs):
    from polymodal.core.errors import InvalidInputError

    model = ours_mod.ClapModel.from_pretrained(hf_dirs["unfused"])
    with pytest.raises(InvalidInputError, match="truncation='rand_trunc'"):
        model.get_audio_features(**_audio(1, channels=4))
