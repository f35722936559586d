"""Decision Transformer (Chen et al., 2021): ``DecisionTransformerModel``.

Each timestep contributes three tokens — return-to-go, state, action — embedded by their own
linear layers plus a shared timestep embedding, interleaved ``(R_1, s_1, a_1, R_2, …)`` and run
through a GPT-2 whose position embeddings all read row 0 (time lives in the timestep embedding).
The action is predicted from each state token, next state and return from each action token.
Parameter names are the checkpoints' (``encoder.h.N.attn.c_attn``, ``embed_state`` …).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ...core.errors import InvalidInputError
from ...core.modeling import PreTrainedModel
from ...core.outputs import ModelOutput, model_forward, output_dataclass
from ...nn.init import init_dense_and_norm
from ..gpt2.modeling import GPT2Model
from .configuration import DecisionTransformerConfig


@output_dataclass
class DecisionTransformerOutput(ModelOutput):
    state_preds: Any = None
    action_preds: Any = None
    return_preds: Any = None
    hidden_states: Any = None
    attentions: Any = None
    last_hidden_state: Any = None


class DecisionTransformerGPT2Model(GPT2Model):
    """GPT-2's decoder on the Decision Transformer's config (the reference's copy of it)."""

    config_class = DecisionTransformerConfig


class DecisionTransformerPreTrainedModel(PreTrainedModel):
    config_class = DecisionTransformerConfig
    base_model_prefix = "decision_transformer"
    main_input_name = "states"

    def _init_weights(self, module: nn.Module) -> None:
        init_dense_and_norm(module, self.config.initializer_range, embeddings=True)


class DecisionTransformerModel(DecisionTransformerPreTrainedModel):
    def __init__(self, config: DecisionTransformerConfig):
        super().__init__(config)
        dim = config.hidden_size
        self.hidden_size = dim
        self.encoder = DecisionTransformerGPT2Model(config)
        self.embed_timestep = nn.Embedding(config.max_ep_len, dim)
        self.embed_return = nn.Linear(1, dim)
        self.embed_state = nn.Linear(config.state_dim, dim)
        self.embed_action = nn.Linear(config.act_dim, dim)
        self.embed_ln = nn.LayerNorm(dim)
        self.predict_state = nn.Linear(dim, config.state_dim)
        self.predict_action = nn.Sequential(nn.Linear(dim, config.act_dim), *([nn.Tanh()] if config.action_tanh else []))
        self.predict_return = nn.Linear(dim, 1)
        self.post_init()

    @model_forward
    def forward(
        self,
        states=None,
        actions=None,
        rewards=None,
        returns_to_go=None,
        timesteps=None,
        attention_mask=None,
        output_hidden_states=None,
        output_attentions=None,
        return_dict=None,
        **kwargs,
    ):
        _check_inputs(self.config, states, actions, returns_to_go, timesteps)
        batch, steps = states.shape[:2]
        if attention_mask is None:
            attention_mask = torch.ones((batch, steps), dtype=torch.long, device=states.device)
        time = self.embed_timestep(timesteps)
        tokens = torch.stack((self.embed_return(returns_to_go) + time, self.embed_state(states) + time,
                              self.embed_action(actions) + time), dim=2)  # (B, T, 3, W)
        tokens = self.embed_ln(tokens.reshape(batch, 3 * steps, self.hidden_size))
        mask = attention_mask.repeat_interleave(3, dim=1)  # (B, 3T), one entry per token
        out = self.encoder(inputs_embeds=tokens, attention_mask=mask,
                           position_ids=torch.zeros_like(mask, dtype=torch.long), use_cache=False,
                           output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                           return_dict=True)
        x = out.last_hidden_state.reshape(batch, steps, 3, self.hidden_size)  # (B, T, [R|s|a], W)
        return DecisionTransformerOutput(
            state_preds=self.predict_state(x[:, :, 2]),  # next state, from the action token
            action_preds=self.predict_action(x[:, :, 1]),  # action, from the state token
            return_preds=self.predict_return(x[:, :, 2]),
            hidden_states=out.hidden_states, attentions=out.attentions,
            last_hidden_state=out.last_hidden_state,
        )


def _check_inputs(config, states, actions, returns_to_go, timesteps) -> None:
    named = {"states": states, "actions": actions, "returns_to_go": returns_to_go, "timesteps": timesteps}
    missing = [name for name, value in named.items() if value is None]
    if missing:
        raise InvalidInputError(f"DecisionTransformerModel needs {', '.join(missing)} ((batch, steps, …) tensors).")
    batch, steps = states.shape[:2]
    expected = {"states": (batch, steps, config.state_dim), "actions": (batch, steps, config.act_dim),
                "returns_to_go": (batch, steps, 1), "timesteps": (batch, steps)}
    for name, shape in expected.items():
        if tuple(named[name].shape) != shape:
            raise InvalidInputError(f"{name} has shape {tuple(named[name].shape)}; expected {shape} "
                                    f"(state_dim={config.state_dim}, act_dim={config.act_dim}).")
    if int(timesteps.max()) >= config.max_ep_len or int(timesteps.min()) < 0:
        raise InvalidInputError(f"timesteps must lie in [0, max_ep_len={config.max_ep_len}); got "
                                f"{int(timesteps.min())}..{int(timesteps.max())}.")
