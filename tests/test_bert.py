"""BERT / RoBERTa / XLM-R encoder against Transformers on tiny random checkpoints."""

from __future__ import annotations

import pytest
import torch
import transformers

from polymodal.core.errors import ConfigError
from polymodal.models.bert import BertConfig, BertModel, RobertaModel, XLMRobertaConfig, XLMRobertaModel

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
            max_position_embeddings=40, type_vocab_size=2)
FAMILIES = [
    (transformers.BertConfig, transformers.BertModel, BertModel),
    (transformers.RobertaConfig, transformers.RobertaModel, RobertaModel),
    (transformers.XLMRobertaConfig, transformers.XLMRobertaModel, XLMRobertaModel),
]


def _batch(pad_id: int):
    torch.manual_seed(0)
    ids = torch.randint(3, 99, (3, 9))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0  # sequences of different lengths
    mask[2, 3:] = 0
    ids = ids.masked_fill(mask == 0, pad_id)
    return ids, mask


def _save_hf(tmp_path, hf_config_cls, hf_model_cls):
    torch.manual_seed(0)
    model = hf_model_cls(hf_config_cls(**TINY)).eval()
    model.save_pretrained(tmp_path / "hf")
    return model


@pytest.mark.parametrize("hf_config_cls,hf_model_cls,ours_cls", FAMILIES)
def test_outputs_match_transformers(tmp_path, hf_config_cls, hf_model_cls, ours_cls):
    _save_hf(tmp_path, hf_config_cls, hf_model_cls)
    theirs = hf_model_cls.from_pretrained(tmp_path / "hf", attn_implementation="eager").eval()
    ours = ours_cls.from_pretrained(tmp_path / "hf")
    ids, mask = _batch(theirs.config.pad_token_id)
    types = torch.zeros_like(ids)
    types[:, 4:] = 1
    for kwargs in ({"attention_mask": mask}, {"attention_mask": mask, "token_type_ids": types}, {}):
        with torch.no_grad():
            a = theirs(ids, output_hidden_states=True, output_attentions=True, **kwargs)
            b = ours(ids, output_hidden_states=True, output_attentions=True, **kwargs)
        torch.testing.assert_close(b.last_hidden_state, a.last_hidden_state, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(b.pooler_output, a.pooler_output, atol=1e-5, rtol=1e-5)
        assert len(b.hidden_states) == len(a.hidden_states) == TINY["num_hidden_layers"] + 1
        for x, y in zip(b.hidden_states, a.hidden_states):
            torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-5)
        for x, y in zip(b.attentions, a.attentions):
            torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("hf_config_cls,hf_model_cls,ours_cls", FAMILIES)
def test_sdpa_path_and_tuple_output(tmp_path, monkeypatch, hf_config_cls, hf_model_cls, ours_cls):
    monkeypatch.setattr("polymodal.nn.attention.EAGER_MAX_KEYS_CPU", 0)  # force the SDPA path
    theirs = _save_hf(tmp_path, hf_config_cls, hf_model_cls)
    ours = ours_cls.from_pretrained(tmp_path / "hf")
    torch.manual_seed(1)
    ids = torch.randint(3, 99, (2, 37))
    mask = torch.ones_like(ids)
    mask[1, 20:] = 0
    with torch.no_grad():
        a = theirs(ids, attention_mask=mask)
        b = ours(ids, attention_mask=mask, return_dict=False)
    assert isinstance(b, tuple)
    torch.testing.assert_close(b[0], a.last_hidden_state, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(b[1], a.pooler_output, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("hf_config_cls,hf_model_cls,ours_cls", FAMILIES)
def test_save_load_roundtrip_into_transformers(tmp_path, hf_config_cls, hf_model_cls, ours_cls):
    torch.manual_seed(0)
    config_cls = ours_cls.config_class
    ours = ours_cls(config_cls(**TINY)).eval()
    ours.save_pretrained(tmp_path / "ours")
    theirs = hf_model_cls.from_pretrained(tmp_path / "ours").eval()
    ids, mask = _batch(ours.config.pad_token_id)
    with torch.no_grad():
        a = theirs(ids, attention_mask=mask)
        b = ours(ids, attention_mask=mask)
    torch.testing.assert_close(b.last_hidden_state, a.last_hidden_state, atol=1e-5, rtol=1e-5)
    reloaded = ours_cls.from_pretrained(tmp_path / "ours")
    assert reloaded.config == ours.config


def test_roberta_positions_skip_padding(tmp_path):
    _save_hf(tmp_path, transformers.XLMRobertaConfig, transformers.XLMRobertaModel)
    ours = XLMRobertaModel.from_pretrained(tmp_path / "hf")
    ids = torch.tensor([[0, 5, 6, 2, 1, 1]])
    positions = ours.embeddings._position_ids(ids, None)
    assert positions.tolist() == [[2, 3, 4, 5, 1, 1]]


def test_no_pooler_building_block_and_bf16(tmp_path):
    _save_hf(tmp_path, transformers.BertConfig, transformers.BertModel)
    config = BertConfig.from_pretrained(tmp_path / "hf")
    bare = BertModel.from_pretrained(tmp_path / "hf", config=config, torch_dtype=torch.bfloat16)
    assert bare.dtype == torch.bfloat16
    ids, mask = _batch(0)
    out = bare(ids, attention_mask=mask)
    assert out.last_hidden_state.dtype == torch.bfloat16
    no_pool = BertModel(config, add_pooling_layer=False)
    assert no_pool(ids).pooler_output is None


def test_inputs_embeds_equal_ids(tmp_path):
    theirs = _save_hf(tmp_path, transformers.XLMRobertaConfig, transformers.XLMRobertaModel)
    ours = XLMRobertaModel.from_pretrained(tmp_path / "hf")
    ids = torch.randint(3, 99, (2, 7))
    embeds = ours.get_input_embeddings()(ids)
    with torch.no_grad():
        torch.testing.assert_close(ours(inputs_embeds=embeds).last_hidden_state,
                                   theirs(inputs_embeds=embeds).last_hidden_state, atol=1e-5, rtol=1e-5)


def test_gradient_checkpointing_same_grads():
    torch.manual_seed(0)
    model = BertModel(BertConfig(**TINY))
    ids = torch.randint(3, 99, (2, 6))
    model(ids).last_hidden_state.sum().backward()
    ref = model.embeddings.word_embeddings.weight.grad.clone()
    model.zero_grad()
    model.gradient_checkpointing_enable()
    model(ids).last_hidden_state.sum().backward()
    torch.testing.assert_close(model.embeddings.word_embeddings.weight.grad, ref)


def test_bad_inputs():
    model = BertModel(BertConfig(**TINY))
    with pytest.raises(ValueError, match="exactly one"):
        model()
    with pytest.raises(ValueError, match="attention_mask"):
        model(torch.ones(2, 5, dtype=torch.long), attention_mask=torch.ones(2, 4))
    with pytest.raises(ConfigError, match="num_attention_heads"):
        BertConfig(hidden_size=30, num_attention_heads=4)
    assert XLMRobertaConfig().pad_token_id == 1
