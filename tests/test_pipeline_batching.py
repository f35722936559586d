"""Batch invariance: for every pipeline task and model family, a result never depends on which
other inputs share its batch (``batch_size=N`` on mixed lengths equals each input alone)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pipeline_helpers import LABELS, ForwardPasses, assert_batch_invariant, classifier_folder, ctc_folder
from wav2vec2_helpers import NO_DROPOUT
from wav2vec2_helpers import TINY as W2V_TINY

import polymodal

transformers = pytest.importorskip("transformers")
TINY = {k: v for k, v in W2V_TINY.items() if k != "num_labels"}
LENGTHS = (3000, 7000, 5000, 3000, 4100)  # mixed, with one length twice so buckets really batch


def _clips(lengths=LENGTHS, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n).astype(np.float32) * 0.3 for n in lengths]


def _id2label():
    id2label = dict(enumerate(LABELS))
    return {"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}}


def _save_hf(folder, model, extractor):
    with torch.no_grad():  # random norms and biases: every parameter matters
        for name, param in model.named_parameters():
            if "norm" in name or name.endswith("bias"):
                param.copy_(torch.randn_like(param) * 0.5 + (1.0 if name.endswith("weight") else 0.0))
    model.save_pretrained(folder)
    extractor.save_pretrained(folder)
    return str(folder)


def _hubert(folder):
    torch.manual_seed(0)
    config = transformers.HubertConfig(**TINY, **NO_DROPOUT, feat_extract_norm="group", **_id2label())
    model = transformers.HubertForSequenceClassification(config).eval()
    return _save_hf(folder, model, transformers.Wav2Vec2FeatureExtractor(return_attention_mask=False))


def _data2vec(folder):
    torch.manual_seed(0)
    config = transformers.Data2VecAudioConfig(**TINY, **NO_DROPOUT, **_id2label())
    model = transformers.Data2VecAudioForSequenceClassification(config).eval()
    return _save_hf(folder, model, transformers.Wav2Vec2FeatureExtractor(return_attention_mask=True))


def _ast(folder):
    torch.manual_seed(0)
    config = transformers.ASTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                                    max_length=48, num_mel_bins=32, patch_size=16, frequency_stride=8,
                                    time_stride=10, **_id2label())
    model = transformers.ASTForAudioClassification(config).eval()
    return _save_hf(folder, model, transformers.ASTFeatureExtractor(num_mel_bins=32, max_length=48))


def _logmel(folder):
    from polymodal.models.logmel_cnn.configuration import LogMelClassifierConfig
    from polymodal.models.logmel_cnn.modeling import LogMelClassifierForSequenceClassification
    from polymodal.models.whisper.feature_extraction import WhisperFeatureExtractor

    torch.manual_seed(0)
    config = LogMelClassifierConfig(num_mel_bins=80, conv_dim=[8, 8], conv_kernel=[3, 3], conv_stride=[2, 2],
                                    **_id2label())
    LogMelClassifierForSequenceClassification(config).eval().save_pretrained(folder)
    WhisperFeatureExtractor().save_pretrained(folder)
    return str(folder)


CLASSIFIERS = {
    "wav2vec2-group": lambda d: str(classifier_folder(d, stable=False, norm="group")),
    "wav2vec2-layer": lambda d: str(classifier_folder(d, stable=True, norm="layer")),
    "wav2vec2-post-layer": lambda d: str(classifier_folder(d, stable=False, norm="layer")),
    "hubert": _hubert,
    "data2vec-audio": _data2vec,
    "ast": _ast,
    "logmel": _logmel,
}


@pytest.mark.parametrize("family", list(CLASSIFIERS))
def test_audio_classification_batch_invariant(family, tmp_path):
    pipe = polymodal.pipeline("audio-classification", model=CLASSIFIERS[family](tmp_path))
    assert_batch_invariant(pipe, _clips(), batch_size=3, top_k=len(LABELS))


def test_group_norm_really_needs_buckets(tmp_path):
    """The test above would catch the bug: padding a group-norm clip changes its scores."""
    pipe = polymodal.pipeline("audio-classification", model=CLASSIFIERS["wav2vec2-group"](tmp_path))
    assert not pipe.padding_is_exact()
    short, long = _clips((3000, 7000))
    alone = pipe(short, top_k=len(LABELS))
    padded = pipe.postprocess(pipe._forward([short, long]), len(LABELS), "softmax")[0]
    gap = max(abs({r["label"]: r["score"] for r in padded}[r["label"]] - r["score"]) for r in alone)
    assert gap > 1e-4


@pytest.mark.parametrize("norm, stable", [("group", False), ("layer", True)])
@pytest.mark.parametrize("chunk", [None, 0.25])
def test_asr_batch_invariant(tmp_path, norm, stable, chunk):
    folder = ctc_folder(tmp_path, stable, norm, seed=3 if norm == "group" else 0)  # seeds that say something
    pipe = polymodal.pipeline("automatic-speech-recognition", model=str(folder))
    kwargs = {"chunk_length_s": chunk} if chunk else {"return_timestamps": "char"}
    alone = assert_batch_invariant(pipe, _clips(), batch_size=3, **kwargs)
    assert any(result["text"].strip() for result in alone)


@pytest.mark.parametrize("norm, stable", [("group", False), ("layer", True)])
def test_asr_chunks_of_several_clips_share_forward_passes(tmp_path, norm, stable):
    """Issue 11: with chunk_length_s, the chunks of several clips fill the same forward passes
    (fewer passes than clip by clip), and each transcript equals the one its clip gets alone."""
    folder = ctc_folder(tmp_path, stable, norm, seed=3 if norm == "group" else 0)
    pipe = polymodal.pipeline("automatic-speech-recognition", model=str(folder))
    clips = _clips((9000, 5000, 7000))  # 3 + 2 + 3 chunks of 4000 samples, each clip's last one shorter
    with ForwardPasses(pipe.model) as alone_passes:
        alone = [pipe(clip, chunk_length_s=0.25, batch_size=8) for clip in clips]
    with ForwardPasses(pipe.model) as passes:
        together = pipe(clips, chunk_length_s=0.25, batch_size=8)
    assert together == alone
    assert any(result["text"].strip() for result in alone)
    assert sum(passes.sizes) == sum(alone_passes.sizes) == 8  # every chunk once
    assert len(passes.sizes) < len(alone_passes.sizes)
    # padding is exact for the layer-norm model: all 8 chunks in one pass; the group-norm one
    # batches only equal lengths, so the 5 full chunks of the three clips share one pass
    assert passes.sizes == ([8] if norm == "layer" else [5, 1, 1, 1])


# ----------------------------------------------------------------------------- zero-shot
def test_zero_shot_image_batch_invariant(tmp_path):
    from clip_helpers import TEXT, VISION
    from PIL import Image
    from tokenizer_helpers import write_clip_files

    tokenizer = transformers.CLIPTokenizer.from_pretrained(str(write_clip_files(tmp_path / "tok")))
    text = {**TEXT, "vocab_size": len(tokenizer), "max_position_embeddings": 40,
            "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id}
    torch.manual_seed(0)
    model = transformers.CLIPModel(transformers.CLIPConfig(text_config=text, vision_config=VISION, projection_dim=16))
    with torch.no_grad():
        model.logit_scale.fill_(4.6)
    model.save_pretrained(tmp_path / "clip")
    tokenizer.save_pretrained(tmp_path / "clip")
    transformers.CLIPImageProcessor(size={"shortest_edge": 30},
                                    crop_size={"height": 30, "width": 30}).save_pretrained(tmp_path / "clip")
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
              for h, w in [(40, 50), (64, 32), (30, 30), (40, 50)]]
    pipe = polymodal.pipeline("zero-shot-image-classification", model=str(tmp_path / "clip"))
    assert_batch_invariant(pipe, images, batch_size=3, candidate_labels=["cat", "dog", "car"])


def test_zero_shot_audio_batch_invariant(tmp_path):
    from tokenizer_helpers import write_roberta_files

    tokenizer = transformers.RobertaTokenizer.from_pretrained(str(write_roberta_files(tmp_path / "tok")))
    text = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                num_attention_heads=4, max_position_embeddings=40)
    audio = dict(spec_size=128, num_mel_bins=64, window_size=4, patch_size=4, patch_stride=[4, 4], depths=[2, 2],
                 num_attention_heads=[2, 4], patch_embeds_hidden_size=8, hidden_size=16, aff_block_r=2,
                 enable_fusion=True, fusion_type="aff_2d")
    torch.manual_seed(0)
    model = transformers.ClapModel(transformers.ClapConfig(text_config=text, audio_config=audio, projection_dim=12))
    with torch.no_grad():
        model.logit_scale_a.fill_(3.0)
    model.save_pretrained(tmp_path / "clap")
    extractor = transformers.ClapFeatureExtractor(sampling_rate=16000, hop_length=160, max_length_s=1,
                                                  fft_window_size=400, frequency_max=8000)
    transformers.ClapProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(tmp_path / "clap")
    pipe = polymodal.pipeline("zero-shot-audio-classification", model=str(tmp_path / "clap"))
    # At most the 1 s window: longer clips get random crops (numpy's RNG, as in Transformers), which
    # differ from call to call whatever the batch.
    clips = _clips((6000, 16000, 11000, 6000))
    assert_batch_invariant(pipe, clips, batch_size=3, candidate_labels=["dog", "rain", "siren"])


def test_image_classification_batch_invariant(tmp_path):
    from PIL import Image

    labels = {0: "circle", 1: "square", 2: "star"}
    torch.manual_seed(0)
    config = transformers.ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                                    image_size=32, patch_size=8, id2label=labels,
                                    label2id={v: k for k, v in labels.items()})
    transformers.ViTForImageClassification(config).save_pretrained(tmp_path)
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(tmp_path)
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
              for h, w in [(40, 50), (64, 32), (30, 30), (40, 50)]]
    pipe = polymodal.pipeline("image-classification", model=str(tmp_path))
    assert_batch_invariant(pipe, images, batch_size=3, top_k=3)


_VIT = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37,
        "image_size": 32, "patch_size": 8}
_SQUARE = {"size": {"height": 32, "width": 32}}
_CROP = {"size": {"shortest_edge": 32}, "crop_size": {"height": 32, "width": 32}}
# family: (model class, config, image processor class, processor settings) — every image-classification family
VISION = {
    "deit": ("DeiTForImageClassification", "DeiTConfig", _VIT, "DeiTImageProcessor",
             {**_SQUARE, "crop_size": {"height": 32, "width": 32}}),
    "beit": ("BeitForImageClassification", "BeitConfig", {**_VIT, "use_relative_position_bias": True,
                                                           "use_mean_pooling": True}, "BeitImageProcessor",
             {**_SQUARE, "crop_size": {"height": 32, "width": 32}}),
    "data2vec-vision": ("Data2VecVisionForImageClassification", "Data2VecVisionConfig", _VIT, "BeitImageProcessor",
                        {**_SQUARE, "crop_size": {"height": 32, "width": 32}}),
    "convnext": ("ConvNextForImageClassification", "ConvNextConfig",
                 {"hidden_sizes": [8, 16], "depths": [1, 1], "num_stages": 2, "patch_size": 2},
                 "ConvNextImageProcessor", {"size": {"shortest_edge": 32}}),
    "convnextv2": ("ConvNextV2ForImageClassification", "ConvNextV2Config",
                   {"hidden_sizes": [8, 16], "depths": [1, 1], "num_stages": 2, "patch_size": 2},
                   "ConvNextImageProcessor", {"size": {"shortest_edge": 32}}),
    "resnet": ("ResNetForImageClassification", "ResNetConfig",
               {"embedding_size": 8, "hidden_sizes": [8, 16], "depths": [1, 1], "layer_type": "basic"},
               "ConvNextImageProcessor", {"size": {"shortest_edge": 32}}),
    "mobilenet_v2": ("MobileNetV2ForImageClassification", "MobileNetV2Config", {"depth_multiplier": 0.35},
                     "MobileNetV2ImageProcessor", _CROP),
    "bit": ("BitForImageClassification", "BitConfig",
            {"embedding_size": 8, "hidden_sizes": [16], "depths": [1], "num_groups": 4}, "BitImageProcessor", _CROP),
    "cvt": ("CvtForImageClassification", "CvtConfig",
            {"patch_sizes": [7, 3], "patch_stride": [4, 2], "patch_padding": [2, 1], "embed_dim": [16, 24],
             "num_heads": [1, 3], "depth": [1, 1], "mlp_ratio": [2.0, 2.0], "attention_drop_rate": [0.0, 0.0],
             "drop_rate": [0.0, 0.0], "drop_path_rate": [0.0, 0.0], "qkv_bias": [True, False],
             "cls_token": [False, True], "qkv_projection_method": ["dw_bn", "dw_bn"], "kernel_qkv": [3, 3],
             "padding_kv": [1, 1], "stride_kv": [2, 2], "padding_q": [1, 1], "stride_q": [1, 1]},
            "ConvNextImageProcessor",
            {"size": {"shortest_edge": 32}}),
    "dinat": ("DinatForImageClassification", "DinatConfig",
              {"embed_dim": 8, "depths": [1, 1], "num_heads": [2, 4], "kernel_size": 3, "dilations": [[1], [1]]},
              "ViTImageProcessor", _SQUARE),
}


@pytest.mark.parametrize("family", list(VISION))
def test_image_classification_batch_invariant_every_family(family, tmp_path):
    """Image processors give every image the same size, so images of any size share a batch;
    what could still differ is a kernel that mixes examples (batch statistics) — none must."""
    from PIL import Image

    model_class, config_class, config, processor_class, settings = VISION[family]
    labels = {0: "circle", 1: "square", 2: "star"}
    torch.manual_seed(0)
    config = getattr(polymodal, config_class)(**config, id2label=labels, label2id={v: k for k, v in labels.items()})
    getattr(polymodal, model_class)(config).eval().save_pretrained(tmp_path)
    getattr(polymodal, processor_class)(**settings).save_pretrained(tmp_path)
    rng = np.random.default_rng(1)
    images = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
              for h, w in [(40, 50), (64, 32), (30, 30), (40, 50)]]
    pipe = polymodal.pipeline("image-classification", model=str(tmp_path))
    assert_batch_invariant(pipe, images, batch_size=3, top_k=3)


_TEXT_SIZES = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37}
# family: (tokenizer files, tokenizer class, model class prefix, config overrides) — encoders and decoder heads
TEXT_FAMILIES = {
    "roberta": ("roberta", "RobertaTokenizer", "Roberta", {}),
    "data2vec-text": ("roberta", "RobertaTokenizer", "Data2VecText", {}),
    "distilbert": ("bert", "BertTokenizer", "DistilBert", {"dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 37}),
    "xlm-roberta": ("xlm-roberta", "XLMRobertaTokenizer", "XLMRoberta", {}),
    "gpt2": ("roberta", "RobertaTokenizer", "GPT2", {"n_embd": 32, "n_layer": 2, "n_head": 4}),
    "llama": ("roberta", "RobertaTokenizer", "Llama", {"num_key_value_heads": 2}),
}


@pytest.mark.parametrize("family", list(TEXT_FAMILIES))
def test_text_classification_batch_invariant_every_family(family, tmp_path):
    """Right padding with an attention mask: encoders mask it, decoder heads read the last real token."""
    from tokenizer_helpers import WRITERS

    files, tokenizer_class, prefix, overrides = TEXT_FAMILIES[family]
    WRITERS[files](tmp_path)
    tokenizer = getattr(transformers, tokenizer_class).from_pretrained(str(tmp_path))
    labels = {0: "neg", 1: "neu", 2: "pos"}
    config = getattr(transformers, f"{prefix}Config")(
        **({} if family == "distilbert" else _TEXT_SIZES), **overrides, vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id, id2label=labels, label2id={v: k for k, v in labels.items()})
    torch.manual_seed(0)
    getattr(transformers, f"{prefix}ForSequenceClassification")(config).eval().save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    pipe = polymodal.pipeline("text-classification", model=str(tmp_path))
    texts = ["the cat sat on the mat today", "hello", "a b c d e f g", "hello there", "x y"]
    assert_batch_invariant(pipe, texts, batch_size=3, top_k=None)
