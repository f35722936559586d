"""ALIGN against Transformers on a tiny random checkpoint built here (both save/load directions)."""

from __future__ import annotations

import pytest
import torch
import transformers

from polymodal.core.errors import ConfigError, InvalidInputError
from polymodal.models.align.configuration import AlignConfig, AlignTextConfig, AlignVisionConfig
from polymodal.models.align.modeling import AlignModel, AlignTextModel, AlignVisionModel

ATOL = 1e-5

# A tiny EfficientNet: three stages (strides 1/2/2, kernels 3/5/3), one with repeated blocks
# (so residuals and dropout paths exist), one block with symmetric depthwise padding.
VISION = dict(
    image_size=32, width_coefficient=0.25, depth_coefficient=0.5, hidden_dim=64,
    kernel_sizes=[3, 5, 3], in_channels=[32, 16, 24], out_channels=[16, 24, 64], strides=[1, 2, 2],
    num_block_repeats=[1, 2, 4], expand_ratios=[1, 6, 4], depthwise_padding=[2],
)
TEXT = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
            max_position_embeddings=64)
PROJECTION_DIM = 16  # = round_filters(64) at width 0.25: the image embedding width


def hf_config(**vision_overrides):
    vision = transformers.AlignVisionConfig(**{**VISION, **vision_overrides})
    text = transformers.AlignTextConfig(**TEXT)
    return transformers.AlignConfig(text_config=text.to_dict(), vision_config=vision.to_dict(),
                                    projection_dim=PROJECTION_DIM, temperature_init_value=0.7)


def randomise_batch_norms(model: torch.nn.Module) -> None:
    """Fresh BN layers are the identity in eval mode; give them real statistics to test against."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                module.weight.copy_(1 + 0.1 * torch.randn(n, generator=gen))
                module.bias.copy_(0.1 * torch.randn(n, generator=gen))


def build_hf(**vision_overrides):
    torch.manual_seed(0)
    model = transformers.AlignModel(hf_config(**vision_overrides)).eval()
    randomise_batch_norms(model)
    return model


@pytest.fixture(scope="module")
def hf_model():
    return build_hf()


@pytest.fixture(scope="module")
def hf_dir(hf_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("align_hf")
    hf_model.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def pm_model(hf_dir):
    return AlignModel.from_pretrained(hf_dir)


def text_batch():
    gen = torch.Generator().manual_seed(2)
    input_ids = torch.randint(5, 99, (3, 9), generator=gen)
    input_ids[:, 0] = 2  # a [CLS]-like first token
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 6:] = 0  # texts of different lengths
    attention_mask[2, 4:] = 0
    input_ids[attention_mask == 0] = 0
    return {"input_ids": input_ids, "attention_mask": attention_mask}


def pixel_batch(n=2, size=32):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(3))


def assert_close(a, b, atol=ATOL):
    torch.testing.assert_close(a, b, atol=atol, rtol=1e-4)


def assert_tuples_close(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert_close(x, y)


# --------------------------------------------------------------------------- configs
def test_config_defaults_match_transformers():
    ours = AlignConfig().to_dict()
    theirs = transformers.AlignConfig().to_dict()
    for key in ("projection_dim", "temperature_init_value", "initializer_range"):
        assert ours[key] == theirs[key]
    for part in ("text_config", "vision_config"):
        for key, value in ours[part].items():
            if key in theirs[part] and key not in ("architectures", "id2label", "label2id"):
                assert value == theirs[part][key], (part, key)
    assert AlignVisionConfig().num_hidden_layers == transformers.AlignVisionConfig().num_hidden_layers


def test_config_round_trip_both_ways(hf_dir, tmp_path):
    config = AlignConfig.from_pretrained(hf_dir)
    assert isinstance(config.text_config, AlignTextConfig) and isinstance(config.vision_config, AlignVisionConfig)
    assert config.vision_config.kernel_sizes == VISION["kernel_sizes"]
    assert config.projection_dim == PROJECTION_DIM and config.temperature_init_value == 0.7
    config.save_pretrained(tmp_path)
    back = transformers.AlignConfig.from_pretrained(tmp_path)
    assert back.vision_config.depthwise_padding == VISION["depthwise_padding"]
    assert back.text_config.hidden_size == TEXT["hidden_size"]
    # A tower config can be read from the full ALIGN folder.
    assert AlignVisionConfig.from_pretrained(hf_dir).num_hidden_layers == 4


def test_from_text_vision_configs_and_direct_spelling():
    text, vision = AlignTextConfig(**TEXT), AlignVisionConfig(**VISION)
    old = AlignConfig.from_text_vision_configs(text, vision, projection_dim=PROJECTION_DIM)
    new = AlignConfig(text_config=text, vision_config=vision, projection_dim=PROJECTION_DIM)
    assert old.to_dict() == new.to_dict()
    assert old.vision_config.in_channels == VISION["in_channels"]


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="pooling_type"):
        AlignVisionConfig(pooling_type="median")
    with pytest.raises(ConfigError, match="equal lengths"):
        AlignVisionConfig(kernel_sizes=[3, 3])
    with pytest.raises(ConfigError, match="num_attention_heads"):
        AlignTextConfig(hidden_size=30, num_attention_heads=4)


# --------------------------------------------------------------------------- full model parity
def test_align_model_matches_transformers(hf_model, pm_model):
    inputs = {**text_batch(), "pixel_values": pixel_batch(3)}
    with torch.no_grad():
        theirs = hf_model(**inputs, return_loss=True, output_hidden_states=True, output_attentions=True)
        ours = pm_model(**inputs, return_loss=True, output_hidden_states=True, output_attentions=True)
    assert list(ours.keys()) == list(theirs.keys())
    for key in ("loss", "logits_per_image", "logits_per_text", "text_embeds", "image_embeds"):
        assert_close(ours[key], theirs[key])
    assert ours.logits_per_image.shape == (3, 3)
    for tower in ("text_model_output", "vision_model_output"):
        assert list(ours[tower].keys()) == list(theirs[tower].keys())
        assert_close(ours[tower].last_hidden_state, theirs[tower].last_hidden_state)
        assert_close(ours[tower].pooler_output, theirs[tower].pooler_output)
        assert_tuples_close(ours[tower].hidden_states, theirs[tower].hidden_states)
    assert_tuples_close(ours.text_model_output.attentions, theirs.text_model_output.attentions)


def test_loss_uses_label_smoothing(pm_model):
    inputs = {**text_batch(), "pixel_values": pixel_batch(3)}
    with torch.no_grad():
        out = pm_model(**inputs, return_loss=True)
    logits = out.logits_per_text
    target = torch.arange(3)
    smooth = (torch.nn.functional.cross_entropy(logits, target, label_smoothing=0.1)
              + torch.nn.functional.cross_entropy(logits.t(), target, label_smoothing=0.1)) / 2
    assert_close(out.loss, smooth)
    assert pm_model(**inputs).loss is None


def test_return_dict_false_matches_transformers_tuple(hf_model, pm_model):
    inputs = {**text_batch(), "pixel_values": pixel_batch()}
    with torch.no_grad():
        theirs = hf_model(**inputs, return_dict=False)
        ours = pm_model(**inputs, return_dict=False)
    assert len(ours) == len(theirs)
    for a, b in zip(ours[:4], theirs[:4]):
        assert_close(a, b)
    assert len(ours) == 6 and len(ours[4]) == len(theirs[4]) and len(ours[5]) == len(theirs[5])


def test_features_match_transformers(hf_model, pm_model):
    text, pixels = text_batch(), pixel_batch()
    with torch.no_grad():
        assert_close(pm_model.get_text_features(**text), hf_model.get_text_features(**text).pooler_output)
        assert_close(pm_model.get_image_features(pixels), hf_model.get_image_features(pixels).pooler_output)
        # return_dict=True: Transformers 5's shape (the tower output with the projection as pooler_output).
        ours = pm_model.get_text_features(**text, return_dict=True, output_hidden_states=True)
        theirs = hf_model.get_text_features(**text, output_hidden_states=True)
        assert_close(ours.pooler_output, theirs.pooler_output)
        assert_close(ours.last_hidden_state, theirs.last_hidden_state)
        assert_tuples_close(ours.hidden_states, theirs.hidden_states)
        ours = pm_model.get_image_features(pixels, return_dict=True)
        assert_close(ours.last_hidden_state, hf_model.get_image_features(pixels).last_hidden_state)


def test_gradients_match_transformers(hf_dir):
    hf = transformers.AlignModel.from_pretrained(hf_dir).eval()
    pm = AlignModel.from_pretrained(hf_dir).eval()
    inputs = {**text_batch(), "pixel_values": pixel_batch(3)}
    hf(**inputs, return_loss=True).loss.backward()
    pm(**inputs, return_loss=True).loss.backward()
    theirs = dict(hf.named_parameters())
    for name in ("temperature", "text_projection.weight", "text_model.encoder.layer.0.attention.self.query.weight",
                 "vision_model.embeddings.convolution.weight",
                 "vision_model.encoder.blocks.3.squeeze_excite.reduce.weight"):
        assert_close(dict(pm.named_parameters())[name].grad, theirs[name].grad, atol=1e-5)


# --------------------------------------------------------------------------- towers
def test_text_model_matches_transformers(hf_model, tmp_path):
    hf_model.text_model.save_pretrained(tmp_path)
    ours = AlignTextModel.from_pretrained(tmp_path)
    batch = text_batch()
    with torch.no_grad():
        theirs = hf_model.text_model(**batch, output_hidden_states=True, output_attentions=True)
        mine = ours(**batch, output_hidden_states=True, output_attentions=True)
    assert list(mine.keys()) == list(theirs.keys())
    assert_close(mine.last_hidden_state, theirs.last_hidden_state)
    assert_close(mine.pooler_output, theirs.pooler_output)
    assert_tuples_close(mine.hidden_states, theirs.hidden_states)
    assert_tuples_close(mine.attentions, theirs.attentions)


def test_vision_model_matches_transformers(hf_model, tmp_path):
    hf_model.vision_model.save_pretrained(tmp_path)
    ours = AlignVisionModel.from_pretrained(tmp_path)
    pixels = pixel_batch(2, size=37)  # odd size: the asymmetric TF-style padding matters
    with torch.no_grad():
        theirs = hf_model.vision_model(pixels, output_hidden_states=True)
        mine = ours(pixels, output_hidden_states=True)
    assert list(mine.keys()) == list(theirs.keys())
    assert_close(mine.last_hidden_state, theirs.last_hidden_state)
    assert_close(mine.pooler_output, theirs.pooler_output)
    assert len(mine.hidden_states) == 1 + 4
    # Computed channels-last inside, returned with ordinary strides (so .view works as with Transformers).
    assert mine.last_hidden_state.is_contiguous() and all(h.is_contiguous() for h in mine.hidden_states)
    assert_tuples_close(mine.hidden_states, theirs.hidden_states)


def test_towers_load_from_full_checkpoint(hf_model, hf_dir):
    vision = AlignVisionModel.from_pretrained(hf_dir)
    text = AlignTextModel.from_pretrained(hf_dir)
    pixels, batch = pixel_batch(), text_batch()
    with torch.no_grad():
        assert_close(vision(pixels).pooler_output, hf_model.vision_model(pixels).pooler_output)
        assert_close(text(**batch).last_hidden_state, hf_model.text_model(**batch).last_hidden_state)


def test_max_pooling_matches_transformers(tmp_path):
    hf = build_hf(pooling_type="max")
    hf.vision_model.save_pretrained(tmp_path)
    ours = AlignVisionModel.from_pretrained(tmp_path)
    pixels = pixel_batch()
    with torch.no_grad():
        assert_close(ours(pixels).pooler_output, hf.vision_model(pixels).pooler_output)


# --------------------------------------------------------------------------- save/load, dtypes
def test_polymodal_save_loads_in_transformers(pm_model, tmp_path):
    pm_model.save_pretrained(tmp_path)
    theirs = transformers.AlignModel.from_pretrained(tmp_path).eval()
    again = AlignModel.from_pretrained(tmp_path)
    inputs = {**text_batch(), "pixel_values": pixel_batch()}
    with torch.no_grad():
        expected = pm_model(**inputs).logits_per_image
        assert_close(theirs(**inputs).logits_per_image, expected)
        assert_close(again(**inputs).logits_per_image, expected)


def test_fresh_model_saves_and_loads_in_transformers(tmp_path):
    config = AlignConfig(text_config=TEXT, vision_config=VISION, projection_dim=PROJECTION_DIM)
    torch.manual_seed(0)
    model = AlignModel(config).eval()
    assert model.temperature.item() == pytest.approx(1.0)
    model.save_pretrained(tmp_path)
    theirs = transformers.AlignModel.from_pretrained(tmp_path).eval()
    pixels = pixel_batch()
    with torch.no_grad():
        assert_close(model.get_image_features(pixels), theirs.get_image_features(pixels).pooler_output)


def test_bf16_load_keeps_zero_shot_ranking(hf_dir, pm_model):
    bf16 = AlignModel.from_pretrained(hf_dir, torch_dtype=torch.bfloat16)
    assert bf16.dtype == torch.bfloat16
    assert bf16.vision_model.embeddings.batchnorm.running_var.dtype == torch.bfloat16
    inputs = {**text_batch(), "pixel_values": pixel_batch()}  # fp32 pixels are cast to the model's dtype
    with torch.no_grad():
        low = bf16(**inputs).logits_per_image.float()
        full = pm_model(**inputs).logits_per_image
    assert_close(low, full, atol=0.1)


def test_zero_shot_ranking_matches_transformers(hf_model, pm_model):
    inputs = {**text_batch(), "pixel_values": pixel_batch(4)}
    with torch.no_grad():
        ours = pm_model(**inputs).logits_per_image.softmax(dim=1)
        theirs = hf_model(**inputs).logits_per_image.softmax(dim=1)
    assert torch.equal(ours.argsort(dim=1), theirs.argsort(dim=1))
    assert_close(ours, theirs)


# --------------------------------------------------------------------------- train mode
def test_batch_norm_train_mode_matches_transformers(tmp_path):
    # No dropout, so train-mode outputs are deterministic and only batch norm differs from eval.
    hf = build_hf(drop_connect_rate=0.0)
    hf.vision_model.save_pretrained(tmp_path)
    ours = AlignVisionModel.from_pretrained(tmp_path)
    hf.vision_model.train()
    ours.train()
    pixels = pixel_batch(4)
    theirs_out = hf.vision_model(pixels).last_hidden_state
    our_out = ours(pixels).last_hidden_state
    assert_close(our_out, theirs_out, atol=1e-4)
    # Running statistics moved, by the same amounts (incl. the expansion norm's default momentum).
    their_state = hf.vision_model.state_dict()
    for key, value in ours.state_dict().items():
        if "running_" in key or "num_batches" in key:
            assert_close(value.float(), their_state[key].float(), atol=1e-5)
    assert int(ours.state_dict()["embeddings.batchnorm.num_batches_tracked"]) == 1


def test_batch_norm_eval_uses_running_stats(pm_model):
    pixels = pixel_batch(3)
    with torch.no_grad():
        batched = pm_model.get_image_features(pixels)
        alone = pm_model.get_image_features(pixels[1:2])
    assert_close(batched[1:2], alone)


def test_dropout_only_in_train_mode(tmp_path):
    model = AlignVisionModel(AlignVisionConfig(**{**VISION, "drop_connect_rate": 0.5}))
    pixels = pixel_batch()
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(pixels).last_hidden_state, model(pixels).last_hidden_state)
    model.train()
    torch.manual_seed(0)
    first = model(pixels).last_hidden_state
    torch.manual_seed(1)
    assert not torch.equal(first, model(pixels).last_hidden_state)


# --------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    "pixels, match",
    [
        (None, "pixel_values is required"),
        (torch.zeros(3, 32, 32), r"shape \(batch, 3, height, width\)"),
        (torch.zeros(1, 1, 32, 32), r"shape \(batch, 3, height, width\)"),
        (torch.zeros(1, 32, 32, 3), r"channels first"),
        (torch.zeros(1, 3, 32, 32, dtype=torch.uint8), "floating point"),
        ([[0.0]], "torch.Tensor"),
    ],
)
def test_bad_pixel_values_raise_clear_errors(pm_model, pixels, match):
    with pytest.raises(InvalidInputError, match=match):
        pm_model.get_image_features(pixels)


def test_loss_needs_pairs(pm_model):
    with pytest.raises(InvalidInputError, match="3 texts and 2 images"):
        pm_model(**text_batch(), pixel_values=pixel_batch(2), return_loss=True)


def test_projection_width_must_match_image_width():
    model = AlignModel(AlignConfig(text_config=TEXT, vision_config=VISION, projection_dim=8)).eval()
    with pytest.raises(ConfigError, match="projection_dim=8"):
        model(**text_batch(), pixel_values=pixel_batch(3))


def test_mismatched_attention_mask_raises(pm_model):
    batch = text_batch()
    with pytest.raises(ValueError, match="attention_mask"):
        pm_model.get_text_features(batch["input_ids"], attention_mask=batch["attention_mask"][:, :4])


def test_model_needs_align_sub_configs():
    config = AlignConfig(text_config=TEXT, vision_config=VISION)
    config.vision_config = AlignTextConfig()
    with pytest.raises(ConfigError, match="AlignVisionConfig"):
        AlignModel(config)


def test_auto_model_loads_align(hf_dir):
    from polymodal import AutoModel, AutoModelForZeroShotImageClassification

    assert isinstance(AutoModel.from_pretrained(hf_dir), AlignModel)
    assert isinstance(AutoModelForZeroShotImageClassification.from_pretrained(hf_dir), AlignModel)


# --------------------------------------------------------------------------- processor
@pytest.fixture(scope="module")
def processor_dir(hf_model, tmp_path_factory):
    """A full ALIGN folder: Transformers' model, WordPiece tokenizer and EfficientNet image processor."""
    from tokenizer_helpers import write_bert_files

    folder = tmp_path_factory.mktemp("align_processor")
    write_bert_files(folder)
    tokenizer = transformers.BertTokenizer(str(folder / "vocab.txt"))
    image_processor = transformers.EfficientNetImageProcessor(size={"height": 40, "width": 40})
    transformers.AlignProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    # Tiny model whose vocabulary covers the tokenizer's 500 ids.
    config = hf_config()
    config.text_config.vocab_size = tokenizer.vocab_size
    torch.manual_seed(0)
    model = transformers.AlignModel(config).eval()
    randomise_batch_norms(model)
    model.save_pretrained(folder)
    return folder


def photo(seed: int, size=(50, 40)):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


PROMPTS = ["an image of a cat", "an image of a dog", "the quick brown fox"]


def test_processor_matches_transformers(processor_dir):
    from polymodal import AlignProcessor

    ours = AlignProcessor.from_pretrained(processor_dir, use_fast=False)  # bit-exact pixels
    theirs = transformers.AlignProcessor.from_pretrained(processor_dir)
    images = [photo(0), photo(1)]
    for kwargs in ({}, {"padding": True}, {"padding": "max_length", "max_length": 12, "truncation": True}):
        a = ours(text=PROMPTS, images=images, return_tensors="pt", **kwargs)
        b = theirs(text=PROMPTS, images=images, return_tensors="pt", **kwargs)
        assert set(a.keys()) == set(b.keys())
        for key in b.keys():
            if key == "pixel_values":
                assert_close(a[key], b[key])
            else:
                assert torch.equal(a[key], b[key]), key
    # Transformers' ALIGN default pads text to 64 tokens.
    assert ours(text=PROMPTS, return_tensors="pt")["input_ids"].shape == (3, 64)


def test_processor_save_loads_in_transformers(processor_dir, tmp_path):
    from polymodal import AlignProcessor

    AlignProcessor.from_pretrained(processor_dir).save_pretrained(tmp_path)
    theirs = transformers.AlignProcessor.from_pretrained(tmp_path)
    again = AlignProcessor.from_pretrained(tmp_path, use_fast=False)
    expected = transformers.AlignProcessor.from_pretrained(processor_dir)(text=PROMPTS, images=photo(2),
                                                                          return_tensors="pt")
    for processor in (theirs, again):
        out = processor(text=PROMPTS, images=photo(2), return_tensors="pt")
        assert torch.equal(out["input_ids"], expected["input_ids"])
        assert_close(out["pixel_values"], expected["pixel_values"])


def test_page_example_runs_with_a_local_model(processor_dir):
    """The ALIGN page's example, verbatim apart from the local folder and a local image."""
    from polymodal import AlignModel, AlignProcessor

    processor = AlignProcessor.from_pretrained(processor_dir)
    model = AlignModel.from_pretrained(processor_dir)
    image = photo(3)
    candidate_labels = ["an image of a cat", "an image of a dog"]
    inputs = processor(text=candidate_labels, images=image, return_tensors="pt")
    with torch.no_grad():
        outputs = model(**inputs)
    logits_per_image = outputs.logits_per_image
    probs = logits_per_image.softmax(dim=1)

    hf_model = transformers.AlignModel.from_pretrained(processor_dir).eval()
    # The page's processor is the default fast one (pixels within two 8-bit levels of Transformers'
    # PIL path, checked in test_image_processing.py): the models are compared on the same inputs.
    with torch.no_grad():
        expected = hf_model(**inputs).logits_per_image.softmax(dim=1)
    assert probs.shape == (1, 2)
    assert_close(probs, expected)


def test_auto_processor_loads_align(processor_dir):
    from polymodal import AutoProcessor

    assert type(AutoProcessor.from_pretrained(processor_dir)).__name__ == "AlignProcessor"


def test_zero_shot_pipeline_matches_transformers(processor_dir):
    from polymodal import pipeline

    images = [photo(4), photo(5)]
    labels = ["cat", "dog", "fox"]
    ours = pipeline("zero-shot-image-classification", model=str(processor_dir), use_fast=False)(  # bit-exact
        images, candidate_labels=labels)
    theirs = transformers.pipeline("zero-shot-image-classification", model=str(processor_dir))(
        images, candidate_labels=labels)
    for mine, expected in zip(ours, theirs):
        assert [r["label"] for r in mine] == [r["label"] for r in expected]
        assert [r["score"] for r in mine] == pytest.approx([r["score"] for r in expected], abs=1e-5)


def test_tower_saves_load_in_transformers(pm_model, tmp_path):
    pm_model.vision_model.save_pretrained(tmp_path / "vision")
    pm_model.text_model.save_pretrained(tmp_path / "text")
    vision = transformers.AlignVisionModel.from_pretrained(tmp_path / "vision").eval()
    text = transformers.AlignTextModel.from_pretrained(tmp_path / "text").eval()
    pixels, batch = pixel_batch(), text_batch()
    with torch.no_grad():
        assert_close(vision(pixels).pooler_output, pm_model.vision_model(pixels).pooler_output)
        assert_close(text(**batch).last_hidden_state, pm_model.text_model(**batch).last_hidden_state)
