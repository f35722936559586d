"""CTRL parity with Transformers: scaled embeddings, the sinusoid table (positions from the mask
under left padding), tied head with its own bias, loss, both save/load directions, token-exact
greedy, beam search and seeded sampling on a left-padded batch."""

import pytest
import torch
import transformers
from generation_helpers import assert_logits_match, assert_same_generation, padded_batch, save_tiny

from polymodal import AutoModelForCausalLM
from polymodal.models.ctrl import CTRLLMHeadModel


def tiny_config(**overrides):
    values = dict(vocab_size=99, n_embd=32, dff=48, n_layer=2, n_head=4, n_positions=64, pad_token_id=0,
                  bos_token_id=1, eos_token_id=2)
    values.update(overrides)
    return transformers.CTRLConfig(**values)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    torch.manual_seed(0)
    hf = transformers.CTRLLMHeadModel(tiny_config()).eval()
    with torch.no_grad():
        hf.lm_head.bias.normal_()  # a non-zero bias, so the test sees it
    path = save_tiny(hf, tmp_path_factory.mktemp("ctrl"))
    return hf, AutoModelForCausalLM.from_pretrained(path), path


def test_logits_and_loss_match(pair):
    hf, pm, _ = pair
    assert isinstance(pm, CTRLLMHeadModel) and pm.lm_head.weight is pm.transformer.w.weight
    ids, mask = padded_batch(99, lengths=(7, 7, 4))
    assert_logits_match(hf, pm, ids, mask)


def test_polymodal_checkpoint_loads_in_transformers(pair, tmp_path):
    _, pm, _ = pair
    pm.save_pretrained(tmp_path / "pm")
    back = transformers.CTRLLMHeadModel.from_pretrained(tmp_path / "pm").eval()
    ids, mask = padded_batch(99)
    assert_logits_match(back, pm, ids, mask)


@pytest.mark.parametrize("kwargs", [dict(max_new_tokens=10), dict(max_new_tokens=8, num_beams=3),
                                    dict(max_new_tokens=8, do_sample=True, top_k=20, repetition_penalty=1.2)])
def test_generation_left_padded_is_token_exact(pair, kwargs):
    hf, pm, _ = pair
    ids, mask = padded_batch(99)
    assert_same_generation(hf, pm, ids, mask, **kwargs)


@pytest.mark.parametrize("problem_type", ["single_label_classification", "multi_label_classification"])
def test_sequence_classification_matches_transformers(tmp_path, problem_type):
    from polymodal import AutoModelForSequenceClassification
    from polymodal.models.ctrl import CTRLForSequenceClassification

    torch.manual_seed(0)
    hf = transformers.CTRLForSequenceClassification(tiny_config(num_labels=3, problem_type=problem_type)).eval()
    hf.save_pretrained(tmp_path)
    pm = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    assert isinstance(pm, CTRLForSequenceClassification)
    ids, mask = padded_batch(99, lengths=(7, 4, 5))
    labels = torch.tensor([0, 2, 1]) if problem_type.startswith("single") else torch.eye(3)[[0, 2, 1]]
    with torch.no_grad():
        theirs = hf(input_ids=ids, attention_mask=mask, labels=labels)
        ours = pm(input_ids=ids, attention_mask=mask, labels=labels)
    torch.testing.assert_close(ours.logits, theirs.logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.loss, theirs.loss, atol=1e-5, rtol=1e-5)


def test_sequence_classification_batch_without_pad_token_is_a_clear_error():
    from polymodal.core.errors import InvalidInputError
    from polymodal.models.ctrl import CTRLConfig, CTRLForSequenceClassification

    config = CTRLConfig(**tiny_config(num_labels=2).to_dict())
    config.pad_token_id = None
    model = CTRLForSequenceClassification(config).eval()
    with pytest.raises(InvalidInputError, match="pad_token_id"):
        model(input_ids=torch.randint(3, 99, (2, 5)))
