"""Decision Transformer parity with Transformers: interleaved return/state/action tokens on the GPT-2
backbone, every prediction head, a padded batch, both save/load directions, clear input errors."""

import pytest
import torch
import transformers

from polymodal import AutoModel
from polymodal.core.errors import InvalidInputError
from polymodal.models.decision_transformer import DecisionTransformerModel

STATE, ACT = 5, 3


def inputs(batch=2, steps=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(batch, steps, dtype=torch.long)
    mask[1, :2] = 0  # left padding, as the reference's evaluation loop pads
    return dict(states=torch.randn(batch, steps, STATE, generator=g), actions=torch.randn(batch, steps, ACT, generator=g),
                rewards=torch.randn(batch, steps, 1, generator=g), returns_to_go=torch.randn(batch, steps, 1, generator=g),
                timesteps=torch.arange(steps).repeat(batch, 1), attention_mask=mask)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    torch.manual_seed(0)
    config = transformers.DecisionTransformerConfig(state_dim=STATE, act_dim=ACT, hidden_size=32, n_layer=2, n_head=2,
                                                    max_ep_len=50, n_positions=64)
    hf = transformers.DecisionTransformerModel(config).eval()
    path = tmp_path_factory.mktemp("dt")
    hf.save_pretrained(path)
    return hf, AutoModel.from_pretrained(path), path


def _compare(a, b, keep):
    for name in ("state_preds", "action_preds", "return_preds"):
        torch.testing.assert_close(getattr(b, name)[keep], getattr(a, name)[keep], atol=1e-5, rtol=1e-4)


def test_predictions_match(pair):
    hf, pm, _ = pair
    assert isinstance(pm, DecisionTransformerModel)
    batch = inputs()
    with torch.no_grad():
        a, b = hf(**batch), pm(**batch)
    _compare(a, b, batch["attention_mask"].bool())
    assert pm(**batch, return_dict=False)[0].shape == (2, 6, STATE)


def test_polymodal_checkpoint_loads_in_transformers(pair, tmp_path):
    _, pm, _ = pair
    pm.save_pretrained(tmp_path / "pm")
    back = transformers.DecisionTransformerModel.from_pretrained(tmp_path / "pm").eval()
    batch = inputs(seed=1)
    with torch.no_grad():
        _compare(back(**batch), pm(**batch), batch["attention_mask"].bool())


def test_bad_inputs_are_clear_errors(pair):
    _, pm, _ = pair
    batch = inputs()
    with pytest.raises(InvalidInputError, match="actions has shape"):
        pm(**{**batch, "actions": torch.randn(2, 6, ACT + 1)})
    with pytest.raises(InvalidInputError, match="max_ep_len"):
        pm(**{**batch, "timesteps": batch["timesteps"] + 100})
    with pytest.raises(InvalidInputError, match="returns_to_go"):
        pm(**{**batch, "returns_to_go": None})
