"""CLIP models against Transformers on tiny random checkpoints, in both save/load directions."""

from __future__ import annotations

import pytest
import torch
import transformers
from clip_helpers import EOS, TEXT, VISION, assert_outputs_close, clip_text_batch, pixels

from polymodal.core.errors import ConfigError
from polymodal.models.clip import modeling as ours_mod
from polymodal.models.clip.configuration import CLIPConfig, CLIPTextConfig, CLIPVisionConfig

CLASSES = ["CLIPModel", "CLIPTextModel", "CLIPVisionModel", "CLIPTextModelWithProjection",
           "CLIPVisionModelWithProjection"]


def _hf_config(name, **text_overrides):
    full = transformers.CLIPConfig(text_config={**TEXT, **text_overrides}, vision_config=VISION, projection_dim=16)
    if "Text" in name:
        return full.text_config
    if "Vision" in name:
        return full.vision_config
    return full


def _inputs(name, lengths=(7, 4, 5)):
    ids, mask = clip_text_batch(lengths)
    if name == "CLIPModel":
        return {"input_ids": ids, "attention_mask": mask, "pixel_values": pixels(3)}
    if "Text" in name:
        return {"input_ids": ids, "attention_mask": mask}
    return {"pixel_values": pixels(2)}


@pytest.fixture(scope="module")
def hf_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("clip")
    dirs = {}
    for name in CLASSES:
        torch.manual_seed(0)
        model = getattr(transformers, name)(_hf_config(name))
        with torch.no_grad():  # a non-default scale, so that loading it is tested
            if hasattr(model, "logit_scale"):
                model.logit_scale.fill_(1.7)
        model.save_pretrained(root / name)
        dirs[name] = root / name
    return dirs


@pytest.mark.parametrize("name", CLASSES)
def test_every_output_matches_transformers(hf_dirs, name):
    theirs = getattr(transformers, name).from_pretrained(hf_dirs[name], attn_implementation="eager").eval()
    ours = getattr(ours_mod, name).from_pretrained(hf_dirs[name])
    inputs = _inputs(name)
    with torch.no_grad():
        a = theirs(**inputs, output_hidden_states=True, output_attentions=True)
        b = ours(**inputs, output_hidden_states=True, output_attentions=True)
    assert_outputs_close(b, a)
    if name == "CLIPModel":
        assert b.logits_per_image.shape == (3, 3)
        torch.testing.assert_close(ours.logit_scale, theirs.logit_scale)


@pytest.mark.parametrize("name", CLASSES)
def test_save_in_polymodal_load_in_transformers(tmp_path, name):
    torch.manual_seed(0)
    config = getattr(ours_mod, name).config_class.from_dict(_hf_config(name).to_dict())
    ours = getattr(ours_mod, name)(config).eval()
    ours.save_pretrained(tmp_path)
    theirs = getattr(transformers, name).from_pretrained(tmp_path).eval()
    inputs = _inputs(name)
    with torch.no_grad():
        assert_outputs_close(ours(**inputs), theirs(**inputs))
    again = getattr(ours_mod, name).from_pretrained(tmp_path)
    assert again.config == ours.config


def test_loss_features_and_tuple_output(hf_dirs):
    theirs = transformers.CLIPModel.from_pretrained(hf_dirs["CLIPModel"]).eval()
    ours = ours_mod.CLIPModel.from_pretrained(hf_dirs["CLIPModel"])
    inputs = _inputs("CLIPModel")
    with torch.no_grad():
        a = theirs(**inputs, return_loss=True)
        b = ours(**inputs, return_loss=True)
        torch.testing.assert_close(b.loss, a.loss, atol=1e-5, rtol=1e-5)
        text = {k: inputs[k] for k in ("input_ids", "attention_mask")}
        torch.testing.assert_close(ours.get_text_features(**text), theirs.get_text_features(**text).pooler_output)
        torch.testing.assert_close(ours.get_image_features(pixel_values=inputs["pixel_values"]),
                                   theirs.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output)
        full = ours.get_text_features(**text, return_dict=True)
        assert full.last_hidden_state.shape[:2] == inputs["input_ids"].shape
        tup = ours(**inputs, return_loss=True, return_dict=False)
    assert isinstance(tup, tuple)
    torch.testing.assert_close(tup[0], a.loss)
    torch.testing.assert_close(tup[1], a.logits_per_image)
    assert b["logits_per_text"] is b.logits_per_text


def test_loss_has_gradients():
    torch.manual_seed(0)
    model = ours_mod.CLIPModel(CLIPConfig(text_config=TEXT, vision_config=VISION, projection_dim=16))
    out = model(**_inputs("CLIPModel"), return_loss=True)
    out.loss.backward()
    assert model.logit_scale.grad is not None
    assert model.text_model.encoder.layers[0].self_attn.q_proj.weight.grad.abs().sum() > 0


def test_legacy_eos_id_pools_at_largest_id(tmp_path):
    # Configs from before Transformers PR #24773 have eos_token_id=2: pooling uses argmax(ids).
    torch.manual_seed(0)
    theirs = transformers.CLIPTextModel(_hf_config("CLIPTextModel", eos_token_id=2)).eval()
    theirs.save_pretrained(tmp_path)
    ours = ours_mod.CLIPTextModel.from_pretrained(tmp_path)
    ids, mask = clip_text_batch(pad=0)
    with torch.no_grad():
        torch.testing.assert_close(ours(ids, attention_mask=mask).pooler_output,
                                   theirs(ids, attention_mask=mask).pooler_output)


def test_eos_used_as_padding_pools_first_eos(hf_dirs, monkeypatch):
    theirs = transformers.CLIPTextModel.from_pretrained(hf_dirs["CLIPTextModel"]).eval()
    ours = ours_mod.CLIPTextModel.from_pretrained(hf_dirs["CLIPTextModel"])
    ids, mask = clip_text_batch(lengths=(3, 9, 6), pad=EOS)
    with torch.no_grad():
        torch.testing.assert_close(ours(ids, attention_mask=mask).pooler_output,
                                   theirs(ids, attention_mask=mask).pooler_output)
        # A mask-free call through the SDPA path too.
        monkeypatch.setattr("polymodal.nn.attention.EAGER_MAX_KEYS_CPU", 0)
        torch.testing.assert_close(ours(ids, attention_mask=mask).last_hidden_state,
                                   theirs(ids, attention_mask=mask).last_hidden_state, atol=1e-5, rtol=1e-5)
        long_ids, _ = clip_text_batch(lengths=(19, 19))
        torch.testing.assert_close(ours(long_ids).last_hidden_state, theirs(long_ids).last_hidden_state,
                                   atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("size", [45, 60])
def test_interpolate_pos_encoding(hf_dirs, size):
    theirs = transformers.CLIPModel.from_pretrained(hf_dirs["CLIPModel"]).eval()
    ours = ours_mod.CLIPModel.from_pretrained(hf_dirs["CLIPModel"])
    inputs = _inputs("CLIPModel")
    inputs["pixel_values"] = pixels(3, size=size)
    with torch.no_grad():
        a = theirs(**inputs, interpolate_pos_encoding=True)
        b = ours(**inputs, interpolate_pos_encoding=True)
    assert_outputs_close(b, a)
    with pytest.raises(ValueError, match="interpolate_pos_encoding"):
        ours(**inputs)


def test_load_tower_from_full_checkpoint_and_flat_layout(hf_dirs):
    theirs = transformers.CLIPModel.from_pretrained(hf_dirs["CLIPModel"]).eval()
    vision, info = ours_mod.CLIPVisionModel.from_pretrained(hf_dirs["CLIPModel"], output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    x = pixels(2)
    with torch.no_grad():
        torch.testing.assert_close(vision(x).pooler_output, theirs.vision_model(x).pooler_output)
    # Transformers 5 saves CLIPTextModel without the `text_model.` prefix; both layouts load.
    text, info = ours_mod.CLIPTextModel.from_pretrained(hf_dirs["CLIPTextModel"], output_loading_info=True)
    assert info["missing_keys"] == []
    proj, info = ours_mod.CLIPTextModelWithProjection.from_pretrained(hf_dirs["CLIPModel"], output_loading_info=True)
    assert info["missing_keys"] == []


def test_bf16_load_runs_and_ranks_like_fp32(hf_dirs):
    fp32 = ours_mod.CLIPModel.from_pretrained(hf_dirs["CLIPModel"])
    bf16 = ours_mod.CLIPModel.from_pretrained(hf_dirs["CLIPModel"], torch_dtype=torch.bfloat16)
    assert bf16.dtype == torch.bfloat16
    inputs = _inputs("CLIPModel")
    with torch.no_grad():
        a = fp32(**inputs).logits_per_image
        b = bf16(**inputs).logits_per_image
    assert b.dtype == torch.bfloat16
    torch.testing.assert_close(b.float(), a, atol=0.1, rtol=0.05)


def test_configs():
    text, vision = CLIPTextConfig(**TEXT), CLIPVisionConfig(**VISION)
    config = CLIPConfig.from_text_vision_configs(text, vision, projection_dim=16)
    assert config.text_config.hidden_size == 32 and config.vision_config.patch_size == 15
    assert CLIPConfig(text_config=text, vision_config=vision).text_config == text  # Transformers 5 spelling
    legacy = CLIPConfig(text_config_dict={"hidden_size": 64}, vision_config={"image_size": 60})
    assert legacy.text_config.hidden_size == 64 and legacy.vision_config.image_size == 60
    with pytest.raises(ConfigError, match="patch_size"):
        CLIPVisionConfig(image_size=30, patch_size=32)
    with pytest.raises(ConfigError, match="num_attention_heads"):
        CLIPTextConfig(hidden_size=30, num_attention_heads=4)


def test_bad_inputs(hf_dirs):
    ours = ours_mod.CLIPModel.from_pretrained(hf_dirs["CLIPModel"])
    ids, mask = clip_text_batch()
    with pytest.raises(ValueError, match="pixel_values"):
        ours(input_ids=ids, pixel_values=torch.zeros(3, 30, 30))
    with pytest.raises(ValueError, match="input_ids"):
        ours(pixel_values=pixels(2))
    with pytest.raises(ValueError, match="max_length"):
        ours.get_text_features(torch.ones(1, 25, dtype=torch.long))
    with pytest.raises(ValueError, match="attention_mask"):
        ours.get_text_features(ids, attention_mask=mask[:, :3])


def test_auto_classes(hf_dirs):
    from polymodal import AutoConfig, AutoModel, AutoModelForZeroShotImageClassification

    assert type(AutoConfig.from_pretrained(hf_dirs["CLIPModel"])).__name__ == "CLIPConfig"
    assert type(AutoModel.from_pretrained(hf_dirs["CLIPModel"])).__name__ == "CLIPModel"
    assert type(AutoModelForZeroShotImageClassification.from_pretrained(hf_dirs["CLIPModel"])).__name__ == "CLIPModel"
    assert type(AutoModel.from_pretrained(hf_dirs["CLIPTextModel"])).__name__ == "CLIPTextModel"
    assert type(AutoModel.from_pretrained(hf_dirs["CLIPVisionModel"])).__name__ == "CLIPVisionModel"
