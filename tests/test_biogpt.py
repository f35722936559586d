"""BioGPT parity with Transformers: scaled embeddings, offset learned positions (from the mask under
left padding), the tied ``output_projection`` head, loss, both save/load directions, token-exact
greedy, beam search and seeded sampling, the sequence-classification head."""

import pytest
import torch
import transformers
from generation_helpers import assert_logits_match, assert_same_generation, padded_batch, save_tiny

from polymodal import AutoModelForCausalLM
from polymodal.models.biogpt import BioGptForCausalLM, BioGptForSequenceClassification


def tiny_config(**overrides):
    values = dict(vocab_size=99, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                  max_position_embeddings=64, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    values.update(overrides)
    return transformers.BioGptConfig(**values)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    torch.manual_seed(0)
    hf = transformers.BioGptForCausalLM(tiny_config()).eval()
    path = save_tiny(hf, tmp_path_factory.mktemp("biogpt"))
    return hf, AutoModelForCausalLM.from_pretrained(path), path


def test_logits_and_loss_match(pair):
    hf, pm, _ = pair
    assert isinstance(pm, BioGptForCausalLM) and pm.output_projection.weight is pm.biogpt.embed_tokens.weight
    ids, mask = padded_batch(99, lengths=(7, 7, 4))
    assert_logits_match(hf, pm, ids, mask)


def test_polymodal_checkpoint_loads_in_transformers(pair, tmp_path):
    _, pm, _ = pair
    pm.save_pretrained(tmp_path / "pm")
    back = transformers.BioGptForCausalLM.from_pretrained(tmp_path / "pm").eval()
    ids, mask = padded_batch(99)
    assert_logits_match(back, pm, ids, mask)


@pytest.mark.parametrize("kwargs", [dict(max_new_tokens=10), dict(max_new_tokens=8, num_beams=3),
                                    dict(max_new_tokens=8, do_sample=True, top_k=20)])
def test_generation_left_padded_is_token_exact(pair, kwargs):
    hf, pm, _ = pair
    ids, mask = padded_batch(99)
    assert_same_generation(hf, pm, ids, mask, **kwargs)


def test_sequence_classification(tmp_path):
    torch.manual_seed(0)
    hf = transformers.BioGptForSequenceClassification(tiny_config(num_labels=3)).eval()
    pm = BioGptForSequenceClassification.from_pretrained(save_tiny(hf, tmp_path))
    ids, mask = padded_batch(99)
    with torch.no_grad():
        torch.testing.assert_close(pm(ids, attention_mask=mask).logits, hf(ids, attention_mask=mask).logits,
                                   atol=1e-5, rtol=1e-4)


def test_token_classification_matches_transformers(tmp_path):
    from polymodal import AutoModelForTokenClassification
    from polymodal.models.biogpt import BioGptForTokenClassification

    torch.manual_seed(0)
    hf = transformers.BioGptForTokenClassification(tiny_config(num_labels=4)).eval()
    hf.save_pretrained(tmp_path)
    pm = AutoModelForTokenClassification.from_pretrained(tmp_path).eval()
    assert isinstance(pm, BioGptForTokenClassification)
    ids, mask = padded_batch(99, lengths=(7, 4, 5))
    labels = torch.randint(0, 4, ids.shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        theirs = hf(input_ids=ids, attention_mask=mask, labels=labels)
        ours = pm(input_ids=ids, attention_mask=mask, labels=labels)
    keep = mask.bool()
    torch.testing.assert_close(ours.logits[keep], theirs.logits[keep], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.loss, theirs.loss, atol=1e-5, rtol=1e-5)


def test_token_classification_labels_out_of_range_are_named(tmp_path):
    from polymodal.core.errors import InvalidInputError
    from polymodal.models.biogpt import BioGptForTokenClassification

    model = BioGptForTokenClassification(polymodal_config(num_labels=3)).eval()
    ids = torch.randint(3, 99, (1, 5))
    with pytest.raises(InvalidInputError, match="outside"):
        model(input_ids=ids, labels=torch.tensor([[0, 1, 2, 3, 0]]))
    with pytest.raises(InvalidInputError, match="one label per token"):
        model(input_ids=ids, labels=torch.tensor([0, 1]))


def polymodal_config(**overrides):
    from polymodal.models.biogpt import BioGptConfig

    return BioGptConfig(**tiny_config(**overrides).to_dict())
