"""X-CLIP models, processor and frame sampling against Transformers on tiny random checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from clip_helpers import assert_outputs_close, clip_text_batch
from safetensors.torch import load_file, save_file
from tokenizer_helpers import write_clip_files

from polymodal.core.errors import ConfigError, InvalidInputError
from polymodal.models.x_clip import modeling as ours_mod
from polymodal.models.x_clip.configuration import XCLIPConfig, XCLIPTextConfig, XCLIPVisionConfig

FRAMES = 4
TEXT = dict(vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
            max_position_embeddings=20)
VISION = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4, image_size=30,
              patch_size=15, num_frames=FRAMES, mit_hidden_size=16, mit_intermediate_size=20,
              mit_num_attention_heads=2)
FULL = dict(projection_dim=16, prompt_num_attention_heads=2)
CLASSES = ["XCLIPModel", "XCLIPTextModel", "XCLIPVisionModel"]


def _hf_config(name):
    full = transformers.XCLIPConfig(text_config=TEXT, vision_config=VISION, **FULL)
    return {"XCLIPModel": full, "XCLIPTextModel": full.text_config, "XCLIPVisionModel": full.vision_config}[name]


def _videos(batch=2, seed=0):
    return torch.randn(batch, FRAMES, 3, 30, 30, generator=torch.Generator().manual_seed(seed))


def _inputs(name, texts=(7, 4, 5)):
    ids, mask = clip_text_batch(texts)
    if name == "XCLIPModel":
        return {"input_ids": ids, "attention_mask": mask, "pixel_values": _videos()}
    if name == "XCLIPTextModel":
        return {"input_ids": ids, "attention_mask": mask}
    return {"pixel_values": _videos().flatten(0, 1)}  # the vision tower takes (B*T, C, H, W)


@pytest.fixture(scope="module")
def hf_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("xclip")
    for name in CLASSES:
        torch.manual_seed(0)
        model = getattr(transformers, name)(_hf_config(name))
        if name == "XCLIPModel":
            with torch.no_grad():  # a trained-like alpha, so the prompts visibly move the text embeddings
                model.prompts_generator.alpha.fill_(0.5)
        model.save_pretrained(root / name)
    return {name: root / name for name in CLASSES}


@pytest.mark.parametrize("name", CLASSES)
def test_every_output_matches_transformers(hf_dirs, name):
    theirs = getattr(transformers, name).from_pretrained(hf_dirs[name], attn_implementation="eager").eval()
    ours, info = getattr(ours_mod, name).from_pretrained(hf_dirs[name], output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    inputs = _inputs(name)
    with torch.no_grad():
        a = theirs(**inputs, output_hidden_states=True, output_attentions=True)
        b = ours(**inputs, output_hidden_states=True, output_attentions=True)
    assert_outputs_close(b, a)
    if name != "XCLIPTextModel":
        assert len(b["attentions" if name != "XCLIPModel" else "vision_model_output"]) > 0


@pytest.mark.parametrize("name", CLASSES)
def test_save_in_polymodal_load_in_transformers(tmp_path, name):
    torch.manual_seed(0)
    klass = getattr(ours_mod, name)
    ours = klass(klass.config_class.from_dict(_hf_config(name).to_dict())).eval()
    ours.save_pretrained(tmp_path)
    theirs, info = getattr(transformers, name).from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    inputs = _inputs(name)
    with torch.no_grad():
        assert_outputs_close(ours(**inputs), theirs.eval()(**inputs))
    assert klass.from_pretrained(tmp_path).config == ours.config


def test_features_loss_and_tuple_output(hf_dirs):
    theirs = transformers.XCLIPModel.from_pretrained(hf_dirs["XCLIPModel"]).eval()
    ours = ours_mod.XCLIPModel.from_pretrained(hf_dirs["XCLIPModel"])
    ids, mask = clip_text_batch((6, 4))
    videos = _videos(2, seed=1)
    with torch.no_grad():
        a = theirs(input_ids=ids, attention_mask=mask, pixel_values=videos, return_loss=True)
        b = ours(input_ids=ids, attention_mask=mask, pixel_values=videos, return_loss=True)
        torch.testing.assert_close(b.loss, a.loss, atol=1e-5, rtol=1e-5)
        assert b.text_embeds.shape == (2, 2, 16) and b.logits_per_video.shape == (2, 2)
        assert_outputs_close(ours.get_video_features(videos, return_dict=True), theirs.get_video_features(videos))
        torch.testing.assert_close(ours.get_video_features(videos), theirs.get_video_features(videos).pooler_output)
        torch.testing.assert_close(ours.get_text_features(ids, mask),
                                   theirs.get_text_features(ids, mask).pooler_output)
        tuple_a = theirs(input_ids=ids, attention_mask=mask, pixel_values=videos, return_dict=False)
        tuple_b = ours(input_ids=ids, attention_mask=mask, pixel_values=videos, return_dict=False)
    assert len(tuple_a) == len(tuple_b)
    for x, y in zip(tuple_a, tuple_b):
        if isinstance(x, torch.Tensor):
            torch.testing.assert_close(y, x, atol=1e-5, rtol=1e-5)


def test_interpolate_pos_encoding(hf_dirs):
    theirs = transformers.XCLIPModel.from_pretrained(hf_dirs["XCLIPModel"]).eval()
    ours = ours_mod.XCLIPModel.from_pretrained(hf_dirs["XCLIPModel"])
    ids, mask = clip_text_batch((6, 4))
    videos = torch.randn(1, FRAMES, 3, 45, 45, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        a = theirs(input_ids=ids, attention_mask=mask, pixel_values=videos, interpolate_pos_encoding=True)
        b = ours(input_ids=ids, attention_mask=mask, pixel_values=videos, interpolate_pos_encoding=True)
    assert_outputs_close(b, a)
    with pytest.raises(ValueError, match="interpolate_pos_encoding"):
        ours.get_video_features(videos)


def test_loss_has_gradients(hf_dirs):
    ours = ours_mod.XCLIPModel.from_pretrained(hf_dirs["XCLIPModel"]).train()
    ids, mask = clip_text_batch((6, 4))
    ours(input_ids=ids, attention_mask=mask, pixel_values=_videos(2), return_loss=True).loss.backward()
    for name in ("mit.position_embedding", "prompts_generator.alpha", "prompts_visual_projection",
                 "vision_model.encoder.layers.0.message_attn.q_proj.weight"):
        assert ours.get_parameter(name).grad is not None, name


def test_transformers4_tower_layout_and_tower_from_full_checkpoint(hf_dirs, tmp_path):
    theirs = transformers.XCLIPVisionModel.from_pretrained(hf_dirs["XCLIPVisionModel"]).eval()
    # Transformers 4 wrapped the towers: `vision_model.embeddings…`.
    state = load_file(hf_dirs["XCLIPVisionModel"] / "model.safetensors")
    (tmp_path / "v4").mkdir()
    save_file({f"vision_model.{k}": v for k, v in state.items()}, tmp_path / "v4" / "model.safetensors")
    (tmp_path / "v4" / "config.json").write_text((hf_dirs["XCLIPVisionModel"] / "config.json").read_text())
    ours, info = ours_mod.XCLIPVisionModel.from_pretrained(tmp_path / "v4", output_loading_info=True)
    assert info["missing_keys"] == []
    frames = _videos(1).flatten(0, 1)
    with torch.no_grad():
        torch.testing.assert_close(ours(frames).pooler_output, theirs(frames).pooler_output)
    text, info = ours_mod.XCLIPTextModel.from_pretrained(hf_dirs["XCLIPModel"], output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    full = transformers.XCLIPModel.from_pretrained(hf_dirs["XCLIPModel"]).eval()
    ids, mask = clip_text_batch()
    with torch.no_grad():
        torch.testing.assert_close(text(ids, mask).pooler_output, full.text_model(ids, mask).pooler_output)


def test_bf16_runs_close_to_fp32(hf_dirs):
    fp32 = ours_mod.XCLIPModel.from_pretrained(hf_dirs["XCLIPModel"])
    bf16 = ours_mod.XCLIPModel.from_pretrained(hf_dirs["XCLIPModel"], torch_dtype=torch.bfloat16)
    inputs = _inputs("XCLIPModel")
    with torch.no_grad():
        a = fp32(**inputs).logits_per_video
        b = bf16(**{**inputs, "pixel_values": inputs["pixel_values"].bfloat16()}).logits_per_video
    assert b.dtype == torch.bfloat16
    torch.testing.assert_close(b.float(), a, atol=0.5, rtol=0.05)  # logits are ~14 x cosine


def test_configs():
    text, vision = XCLIPTextConfig(**TEXT), XCLIPVisionConfig(**VISION)
    config = XCLIPConfig.from_text_vision_configs(text, vision, **FULL)
    assert config.vision_config.num_frames == FRAMES and config.prompt_layers == 2
    assert config.vision_config.mit_config().hidden_size == 16
    for ours, theirs in [(XCLIPConfig, transformers.XCLIPConfig), (XCLIPTextConfig, transformers.XCLIPTextConfig),
                         (XCLIPVisionConfig, transformers.XCLIPVisionConfig)]:
        reference = theirs()
        for key in ours.__annotations__:
            if key not in ("text_config", "vision_config"):
                assert getattr(ours(), key) == getattr(reference, key), (ours.__name__, key)
    with pytest.raises(ConfigError, match="mit_hidden_size"):
        XCLIPConfig(vision_config={**VISION, "mit_hidden_size": 24}, **FULL)
    with pytest.raises(ConfigError, match="prompt_num_attention_heads"):
        XCLIPConfig(projection_dim=16, prompt_num_attention_heads=3, vision_config={**VISION})


def test_bad_inputs(hf_dirs):
    ours = ours_mod.XCLIPModel.from_pretrained(hf_dirs["XCLIPModel"])
    ids, mask = clip_text_batch()
    with pytest.raises(InvalidInputError, match=r"\(batch, frames, 3, height, width\)"):
        ours(input_ids=ids, pixel_values=_videos(2).flatten(0, 1))
    with pytest.raises(InvalidInputError, match=f"{FRAMES} frames.*sample_frames"):
        ours.get_video_features(_videos(2)[:, :2])
    with pytest.raises(InvalidInputError, match="channels"):
        ours.get_video_features(_videos(1)[:, :, :1])
    with pytest.raises(InvalidInputError, match="input_ids"):
        ours(pixel_values=_videos(1))
    vision = ours_mod.XCLIPVisionModel.from_pretrained(hf_dirs["XCLIPVisionModel"])
    with pytest.raises(InvalidInputError, match="multiple of num_frames"):
        vision(_videos(1).flatten(0, 1)[:3])


# --------------------------------------------------------------------------- processor and frames
def _write_video(path, frames=20, size=(48, 64), rate=10):
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.height, stream.width = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            image = np.full((*size, 3), (10 * i) % 250, np.uint8)  # the frame number as a grey level
            image[:, : 4 + 2 * i, 1] = 250
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_sample_frames(tmp_path):
    from polymodal.vision.video import sample_frames

    path = _write_video(tmp_path / "clip.mp4", frames=20)
    frames = sample_frames(path, 8)
    assert frames.shape == (8, 48, 64, 3) and frames.dtype == np.uint8
    expected = np.linspace(0, 19, 8).round() * 10  # evenly spaced, first and last included
    np.testing.assert_allclose(frames[:, 24, 56].mean(-1), expected, atol=6)  # lossy codec: a few levels off
    assert sample_frames(path, 20).shape[0] == 20
    with pytest.raises(InvalidInputError, match="20 frame.*21"):
        sample_frames(path, 21)
    with pytest.raises(InvalidInputError, match="not found"):
        sample_frames(tmp_path / "missing.mp4", 8)
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all" * 20)
    with pytest.raises(InvalidInputError, match="junk.mp4"):
        sample_frames(tmp_path / "junk.mp4", 8)
    with pytest.raises(InvalidInputError, match="num_frames"):
        sample_frames(path, 0)


@pytest.fixture(scope="module")
def processor_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("xclip_processor")
    tokenizer = transformers.CLIPTokenizer.from_pretrained(str(write_clip_files(root / "tok")))
    image_processor = transformers.CLIPImageProcessorPil(size={"shortest_edge": 30}, crop_size=30)
    transformers.XCLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(root / "proc")
    return root / "proc"


def _frames(n=FRAMES, seed=0, shape=(40, 52)):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, *shape, 3), dtype=np.uint8)


def test_processor_matches_transformers(processor_dir, tmp_path):
    from polymodal import AutoProcessor, XCLIPProcessor

    theirs = transformers.XCLIPProcessor.from_pretrained(processor_dir)
    ours = XCLIPProcessor.from_pretrained(processor_dir, use_fast=False)  # bit-exact pixels
    assert type(AutoProcessor.from_pretrained(processor_dir)) is XCLIPProcessor
    texts = ["playing sports", "eating spaghetti", "go shopping"]
    one, two = _frames(seed=0), _frames(seed=1)
    # Transformers 5 flattens the frames to (B*T, C, H, W); polymodal keeps (B, T, C, H, W).
    for videos, batch in [(list(one), 1), (one, 1), ([list(one), list(two)], 2), ([one, two], 2),
                          (np.stack([one, two]), 2)]:
        a = theirs(text=texts, videos=videos if not isinstance(videos, np.ndarray) or videos.ndim == 4
                   else list(videos), return_tensors="pt", padding=True)
        b = ours(text=texts, videos=videos, return_tensors="pt", padding=True)
        assert b["pixel_values"].shape == (batch, FRAMES, 3, 30, 30)
        torch.testing.assert_close(b["pixel_values"].flatten(0, 1), a["pixel_values"])
        assert b["input_ids"].tolist() == a["input_ids"].tolist()
        assert b["attention_mask"].tolist() == a["attention_mask"].tolist()
    only_video = ours(videos=list(one), return_tensors="np")
    assert set(only_video) == {"pixel_values"} and only_video["pixel_values"].shape == (1, FRAMES, 3, 30, 30)
    images = ours(images=list(one), return_tensors="pt")["pixel_values"]  # images stay images
    torch.testing.assert_close(images, theirs(images=list(one), return_tensors="pt")["pixel_values"])
    assert ours.video_processor is ours.image_processor
    ours.save_pretrained(tmp_path / "ours")
    back = transformers.XCLIPProcessor.from_pretrained(tmp_path / "ours")
    torch.testing.assert_close(back(videos=list(one), return_tensors="pt")["pixel_values"],
                               ours(videos=list(one), return_tensors="pt")["pixel_values"][0])


def test_published_videomae_preprocessor_config(processor_dir, tmp_path):
    """Published X-CLIP folders name VideoMAEFeatureExtractor; Transformers 5 then returns (B, T, C, H, W) too."""
    import json
    import shutil

    from polymodal import AutoProcessor

    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(processor_dir / name, tmp_path / name)
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({
        "crop_size": 30, "do_center_crop": True, "do_normalize": True, "do_resize": True,
        "feature_extractor_type": "VideoMAEFeatureExtractor", "image_mean": [0.485, 0.456, 0.406],
        "image_std": [0.229, 0.224, 0.225], "processor_class": "XCLIPProcessor", "resample": 2, "size": 30}))
    theirs = transformers.XCLIPProcessor.from_pretrained(tmp_path)
    ours = AutoProcessor.from_pretrained(tmp_path, use_fast=False)  # bit-exact pixels
    videos = [list(_frames(seed=0)), list(_frames(seed=1))]
    a = theirs(videos=videos, return_tensors="pt")["pixel_values"]
    b = ours(videos=videos, return_tensors="pt")["pixel_values"]
    assert a.shape == b.shape == (2, FRAMES, 3, 30, 30)
    torch.testing.assert_close(b, a)


def test_processor_bad_inputs(processor_dir):
    from polymodal import XCLIPProcessor

    processor = XCLIPProcessor.from_pretrained(processor_dir)
    with pytest.raises(InvalidInputError, match=r"different numbers of frames \[4, 3\]"):
        processor(videos=[list(_frames()), list(_frames(3))])
    with pytest.raises(InvalidInputError, match="video 1"):
        processor(videos=[_frames(), _frames()[0, 0]])
    with pytest.raises(InvalidInputError, match="empty"):
        processor(videos=[])
    with pytest.raises(InvalidInputError, match="both images= and videos="):
        processor(images=list(_frames()), videos=list(_frames()))


def test_page_example_runs_with_a_local_model(hf_dirs, processor_dir, tmp_path):
    """The X-CLIP page's example, with a local tiny model and a generated video file."""
    from polymodal import AutoModel, AutoProcessor
    from polymodal.vision.video import sample_frames

    folder = tmp_path / "xclip"
    tokenizer = transformers.CLIPTokenizer.from_pretrained(processor_dir)
    config = transformers.XCLIPConfig(text_config={**TEXT, "vocab_size": len(tokenizer), "max_position_embeddings": 40},
                                      vision_config=VISION, **FULL)
    torch.manual_seed(0)
    transformers.XCLIPModel(config).save_pretrained(folder)
    transformers.XCLIPProcessor.from_pretrained(processor_dir).save_pretrained(folder)
    video = sample_frames(_write_video(tmp_path / "eating_spaghetti.mp4", frames=30), FRAMES)

    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder)
    inputs = processor(text=["playing sports", "eating spaghetti", "go shopping"], videos=list(video),
                       return_tensors="pt", padding=True)
    with torch.no_grad():
        outputs = model(**inputs)
    probs = outputs.logits_per_video.softmax(dim=1)
    assert probs.shape == (1, 3) and abs(float(probs.sum()) - 1) < 1e-5

    theirs = transformers.XCLIPModel.from_pretrained(folder).eval()
    with torch.no_grad():
        expected = theirs(**inputs).logits_per_video.softmax(dim=1)
        features = model.get_video_features(**processor(videos=list(video), return_tensors="pt"))
    torch.testing.assert_close(probs, expected, atol=1e-5, rtol=1e-5)
    assert features.shape == (1, 16)
