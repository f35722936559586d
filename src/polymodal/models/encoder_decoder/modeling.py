"""``EncoderDecoderModel``: a pretrained encoder and a pretrained decoder joined by cross-attention.

The encoder is any ``AutoModel`` (BERT, BertGeneration …); the decoder any causal LM whose
forward takes ``encoder_hidden_states`` (``BertGenerationDecoder``). Their weights keep their
own names under ``encoder.`` and ``decoder.``, so a folder Transformers saved loads here and
the other way round. When the two widths differ (and the decoder does not declare
``cross_attention_hidden_size``) a linear ``enc_to_dec_proj`` maps encoder states to the
decoder's width. The loss is computed here, unshifted (the decoder inputs are the labels
shifted right behind ``decoder_start_token_id``), as Transformers has done since 4.12.
"""

from __future__ import annotations

import inspect

import torch
import torch.nn.functional as F
from torch import nn

from ...core.errors import ConfigError, InvalidInputError
from ...core.modeling import PreTrainedModel
from ...core.outputs import model_forward
from ...core.seq2seq_outputs import Seq2SeqLMOutput, as_encoder_output
from ...generation import GenerationMixin
from ...nn.seq2seq import shift_tokens_right
from .configuration import EncoderDecoderConfig

# Keywords of the joint config that happen to start with a part's name.
_JOINT_KEYS = ("decoder_start_token_id",)
_LOAD_OPTIONS = ("torch_dtype", "dtype", "cache_dir", "revision", "token", "local_files_only", "allow_pickle",
                 "use_safetensors", "ignore_mismatched_sizes", "device_map", "device", "attn_implementation")


def _split(state_dict: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}


class EncoderDecoderModel(GenerationMixin, PreTrainedModel):
    config_class = EncoderDecoderConfig
    base_model_prefix = "encoder_decoder"
    main_input_name = "input_ids"

    def __init__(self, config: EncoderDecoderConfig | None = None, encoder: PreTrainedModel | None = None,
                 decoder: PreTrainedModel | None = None):
        if config is None:
            if encoder is None or decoder is None:
                raise ConfigError("EncoderDecoderModel needs a config, or both an encoder and a decoder.")
            config = EncoderDecoderConfig.from_encoder_decoder_configs(encoder.config, decoder.config)
        elif not isinstance(config, EncoderDecoderConfig):
            raise ConfigError(f"EncoderDecoderModel expects an EncoderDecoderConfig, got {type(config).__name__}.")
        super().__init__(config)
        from ..auto import AutoModel, AutoModelForCausalLM

        self.encoder = encoder if encoder is not None else AutoModel.from_config(config.encoder)
        if decoder is None:
            try:
                decoder = AutoModelForCausalLM.from_config(config.decoder)
            except ConfigError as exc:  # e.g. a RoBERTa decoder (roberta2roberta): no such class here
                raise ConfigError(
                    f"{exc} EncoderDecoderModel needs a decoder with cross-attention; polymodal has "
                    "BertGenerationDecoder (a BERT checkpoint loads into it) and "
                    "BlenderbotSmallForCausalLM.") from None
        self.decoder = decoder
        # One config object per part, so changing model.config.decoder changes the decoder.
        self.encoder.config, self.decoder.config = config.encoder, config.decoder
        self._check_parts()
        if self._needs_projection():
            self.enc_to_dec_proj = nn.Linear(config.encoder.hidden_size, config.decoder.hidden_size)
            if not PreTrainedModel._skip_init:
                self._init_projection()

    def _check_parts(self) -> None:
        out = getattr(self.encoder, "get_output_embeddings", lambda: None)()
        if out is not None:
            raise ConfigError(f"The encoder ({type(self.encoder).__name__}) has an LM head; use its bare model "
                              "(AutoModel) as the encoder.")
        if "encoder_hidden_states" not in inspect.signature(self.decoder.forward).parameters:
            raise ConfigError(f"The decoder ({type(self.decoder).__name__}) cannot read encoder hidden states; use "
                              "a causal LM with cross-attention such as BertGenerationDecoder.")
        cross = getattr(self.config.decoder, "cross_attention_hidden_size", None)
        if cross is not None and cross != self.config.encoder.hidden_size:
            raise ConfigError(f"decoder.cross_attention_hidden_size={cross} must equal the encoder's hidden_size="
                              f"{self.config.encoder.hidden_size}.")

    def _needs_projection(self) -> bool:
        return (self.config.encoder.hidden_size != self.config.decoder.hidden_size
                and getattr(self.config.decoder, "cross_attention_hidden_size", None) is None)

    def _init_projection(self) -> None:
        std = getattr(self.config.decoder, "initializer_range", 0.02)
        nn.init.normal_(self.enc_to_dec_proj.weight, std=std)
        nn.init.zeros_(self.enc_to_dec_proj.bias)

    @property
    def _shares_cross_attention_rows(self) -> bool:
        """Beam search may keep one cross-attention row per input when the decoder supports it."""
        return bool(getattr(self.decoder, "_shares_cross_attention_rows", False))

    # ------------------------------------------------------------------ parts
    def get_encoder(self):
        return self.encoder

    def get_decoder(self):
        return self.decoder

    def get_input_embeddings(self):
        return self.encoder.get_input_embeddings()

    def get_output_embeddings(self):
        return self.decoder.get_output_embeddings()

    def tie_weights(self) -> None:
        for part in (self.encoder, self.decoder):
            if hasattr(part, "tie_weights"):
                part.tie_weights()

    # ------------------------------------------------------------------ loading
    def _fix_checkpoint_keys(self, state_dict):
        """Each part fixes its own keys (legacy names, tied weights the checkpoint stores once)."""
        fixed = {k: v for k, v in state_dict.items() if not k.startswith(("encoder.", "decoder."))}
        for name in ("encoder", "decoder"):
            part = getattr(self, name)
            fixed.update({f"{name}.{k}": v for k, v in part._fix_checkpoint_keys(_split(state_dict, name + ".")).items()})
        return fixed

    def _load_weights(self, state_dict, dtype, ignore_mismatched):
        report = super()._load_weights(state_dict, dtype, ignore_mismatched)
        self.tie_weights()
        ignored = {name: getattr(self, name)._keys_to_ignore_on_load_unexpected for name in ("encoder", "decoder")}
        report["unexpected_keys"] = [k for k in report["unexpected_keys"]
                                     if not any(k.startswith(n + ".") and _matches_any(k[len(n) + 1:], p)
                                                for n, p in ignored.items())]
        return report

    def _init_missing(self, missing: set[str]) -> None:
        for name in ("encoder", "decoder"):
            part_missing = {k[len(name) + 1:] for k in missing if k.startswith(name + ".")}
            if part_missing:
                getattr(self, name)._init_missing(part_missing)
        if any(k.startswith("enc_to_dec_proj.") for k in missing):
            self._init_projection()

    @classmethod
    def from_encoder_decoder_pretrained(cls, encoder_pretrained_model_name_or_path=None,
                                        decoder_pretrained_model_name_or_path=None, *model_args, **kwargs):
        """Load the two parts from their own folders.

        ``encoder_<option>`` / ``decoder_<option>`` keywords go to that part (loading options, or
        config values such as ``decoder_hidden_dropout_prob``; ``encoder_model=`` passes a built
        model); the rest (``decoder_start_token_id``, ``pad_token_id``) to the joint config. The
        decoder is switched to ``is_decoder=True, add_cross_attention=True``: cross-attention
        weights its checkpoint lacks start random (train before use).
        """
        from ..auto import AutoModel, AutoModelForCausalLM

        parts = {}
        for name, path, auto in (("encoder", encoder_pretrained_model_name_or_path, AutoModel),
                                 ("decoder", decoder_pretrained_model_name_or_path, AutoModelForCausalLM)):
            options = {k[len(name) + 1:]: kwargs.pop(k) for k in list(kwargs)
                       if k.startswith(name + "_") and k not in _JOINT_KEYS}
            model = options.pop("model", None)
            parts[name] = model if model is not None else _load_part(name, path, auto, options, model_args)
        config = EncoderDecoderConfig.from_encoder_decoder_configs(parts["encoder"].config, parts["decoder"].config,
                                                                   **kwargs)
        return cls(config=config, encoder=parts["encoder"], decoder=parts["decoder"]).eval()

    # ------------------------------------------------------------------ forward
    def prepare_decoder_input_ids_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        return shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)

    @model_forward
    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                encoder_outputs=None, past_key_values=None, inputs_embeds=None, decoder_inputs_embeds=None,
                labels=None, use_cache=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                **kwargs):
        shared = {"output_attentions": output_attentions, "output_hidden_states": output_hidden_states}
        if labels is not None:
            use_cache = False  # training: no cache to build
        if encoder_outputs is None:
            encoder_kwargs = {k: v for k, v in kwargs.items() if not k.startswith("decoder_")}
            encoder_outputs = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                           inputs_embeds=inputs_embeds, return_dict=True, **shared, **encoder_kwargs)
        encoder_outputs = as_encoder_output(encoder_outputs)
        encoder_states = encoder_outputs.last_hidden_state
        if hasattr(self, "enc_to_dec_proj"):
            encoder_states = self.enc_to_dec_proj(encoder_states)
        if labels is not None and decoder_input_ids is None and decoder_inputs_embeds is None:
            decoder_input_ids = self.prepare_decoder_input_ids_from_labels(labels)
            if decoder_attention_mask is None:
                decoder_attention_mask = decoder_input_ids.ne(self.config.pad_token_id).to(decoder_input_ids.dtype)
        decoder_kwargs = {k[len("decoder_"):]: v for k, v in kwargs.items() if k.startswith("decoder_")}
        out = self.decoder(input_ids=decoder_input_ids, attention_mask=decoder_attention_mask,
                           encoder_hidden_states=encoder_states, encoder_attention_mask=attention_mask,
                           inputs_embeds=decoder_inputs_embeds, past_key_values=past_key_values, use_cache=use_cache,
                           return_dict=True, **shared, **decoder_kwargs)
        loss = None
        if labels is not None:  # unshifted: decoder position t predicts labels[t]
            logits = out.logits
            loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1).to(logits.device))
        return Seq2SeqLMOutput(loss=loss, logits=out.logits, past_key_values=out.past_key_values,
                               decoder_hidden_states=out.hidden_states, decoder_attentions=out.attentions,
                               cross_attentions=out.cross_attentions,
                               encoder_last_hidden_state=encoder_outputs.last_hidden_state,
                               encoder_hidden_states=encoder_outputs.hidden_states,
                               encoder_attentions=encoder_outputs.attentions)

    def resize_token_embeddings(self, *args, **kwargs):
        raise NotImplementedError("Resize the parts instead: model.encoder.resize_token_embeddings(...) or "
                                  "model.decoder.resize_token_embeddings(...).")


def _load_part(name: str, path, auto, options: dict, model_args):
    """One part from its folder, switched to encoder or to decoder with cross-attention."""
    from ..auto import AutoConfig

    if path is None:
        raise InvalidInputError(f"Pass {name}_pretrained_model_name_or_path (or {name}_model=...).")
    load = {k: options.pop(k) for k in list(options) if k in _LOAD_OPTIONS}
    config = options.pop("config", None)
    config = AutoConfig.from_pretrained(path) if config is None else config.copy()
    config.update(options)  # what is left are config values
    config.is_decoder = config.add_cross_attention = name == "decoder"
    try:
        return auto.from_pretrained(path, *model_args, config=config, **load)
    except ConfigError as exc:
        if name == "encoder":
            raise
        raise ConfigError(
            f"{exc} For a BERT decoder load the checkpoint as BertGenerationDecoder.from_pretrained("
            "path, is_decoder=True, add_cross_attention=True) and pass it as decoder_model=... "
            "(or EncoderDecoderModel(encoder=..., decoder=...)).") from None


def _matches_any(key: str, patterns) -> bool:
    import re

    return any(re.search(p, key) for p in patterns)


__all__ = ["EncoderDecoderModel"]
