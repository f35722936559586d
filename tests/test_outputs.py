"""``model_forward``: the output switches handled once, for positional and keyword callers."""

from types import SimpleNamespace

import torch

from polymodal.core.outputs import BaseModelOutput, model_forward


class _Toy(torch.nn.Module):
    def __init__(self, **config):
        super().__init__()
        self.config = SimpleNamespace(**{"output_attentions": False, "output_hidden_states": False,
                                         "return_dict": True, **config})

    @model_forward
    def forward(self, x, output_attentions=None, output_hidden_states=None, return_dict=None):
        self.seen = (output_attentions, output_hidden_states, return_dict)
        return BaseModelOutput(last_hidden_state=x, hidden_states=(x,) if output_hidden_states else None)


def test_none_switches_take_the_config_values():
    toy = _Toy()
    out = toy(torch.ones(1))
    assert toy.seen == (False, False, True)
    assert isinstance(out, BaseModelOutput)


def test_positional_and_keyword_values_win_over_the_config():
    toy = _Toy()
    toy(torch.ones(1), True, None, True)
    assert toy.seen == (True, False, True)
    toy(torch.ones(1), output_hidden_states=True)
    assert toy.seen == (False, True, True)


def test_return_dict_false_gives_a_tuple_by_keyword_position_or_config():
    x = torch.ones(2)
    assert isinstance(_Toy()(x, return_dict=False), tuple)
    assert isinstance(_Toy()(x, None, None, False), tuple)
    out = _Toy(return_dict=False)(x, output_hidden_states=True)
    assert isinstance(out, tuple) and len(out) == 2


def test_nested_outputs_become_nested_tuples():
    inner = BaseModelOutput(last_hidden_state=torch.zeros(1))
    outer = BaseModelOutput(last_hidden_state=torch.ones(1), hidden_states=inner)
    assert isinstance(outer.to_tuple()[1], tuple)
