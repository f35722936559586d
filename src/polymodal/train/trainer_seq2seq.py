"""``Seq2SeqTrainer`` and ``Seq2SeqTrainingArguments``: evaluation and prediction by ``generate()``.

With ``predict_with_generate=True`` the predictions are generated token ids (padded to the
generation length with the pad token) instead of logits, so ``compute_metrics`` can decode them
and score text (WER, BLEU, ROUGE…). Everything else is the ``Trainer``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..core.errors import ConfigError
from .arguments import TrainingArguments
from .trainer import Trainer


@dataclass
class Seq2SeqTrainingArguments(TrainingArguments):
    """``TrainingArguments`` plus the generation settings used when ``predict_with_generate=True``."""

    sortish_sampler: bool = False
    predict_with_generate: bool = False
    generation_max_length: int | None = None
    generation_num_beams: int | None = None
    generation_config: Any = None  # a GenerationConfig, or a folder / generation_config.json path

    def __post_init__(self):
        super().__post_init__()
        if self.sortish_sampler:
            raise ConfigError("sortish_sampler=True is not supported (Transformers' needs its legacy "
                              "Seq2SeqDataset); use group_by_length=True to batch similar lengths.")
        for name in ("generation_max_length", "generation_num_beams"):
            value = getattr(self, name)
            if value is not None and int(value) < 1:
                raise ConfigError(f"{name} must be >= 1, got {value}.")

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        config = out.get("generation_config")
        if config is not None and hasattr(config, "to_dict"):
            out["generation_config"] = config.to_dict()
        return out


def load_generation_config(value):
    """A ``GenerationConfig`` from an object (copied), a folder, or a ``generation_config.json`` path."""
    from ..generation import GenerationConfig

    if isinstance(value, GenerationConfig):
        return copy.deepcopy(value)
    path = Path(value)
    if path.is_file():
        return GenerationConfig.from_pretrained(path.parent, path.name)
    return GenerationConfig.from_pretrained(value)


class Seq2SeqTrainer(Trainer):
    """A ``Trainer`` whose ``evaluate``/``predict`` take generation arguments (``max_length``,
    ``num_beams``, … ) and generate when ``args.predict_with_generate`` is True."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if getattr(self.args, "generation_config", None) is not None:
            self.model.generation_config = load_generation_config(self.args.generation_config)
        self._gen_kwargs: dict = {}
        self._evaluating = False

    def _with_argument_defaults(self, gen_kwargs: dict) -> dict:
        gen_kwargs = dict(gen_kwargs)
        max_length = getattr(self.args, "generation_max_length", None)
        if gen_kwargs.get("max_length") is None and gen_kwargs.get("max_new_tokens") is None and max_length:
            gen_kwargs["max_length"] = max_length
        num_beams = getattr(self.args, "generation_num_beams", None)
        if gen_kwargs.get("num_beams") is None and num_beams is not None:
            gen_kwargs["num_beams"] = num_beams
        return {k: v for k, v in gen_kwargs.items() if not (k in ("max_length", "num_beams") and v is None)}

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval", **gen_kwargs):
        outer = not self._evaluating  # a dict of eval sets re-enters evaluate() once per set
        if outer:
            self._gen_kwargs, self._evaluating = self._with_argument_defaults(gen_kwargs), True
        try:
            return super().evaluate(eval_dataset, ignore_keys=ignore_keys, metric_key_prefix=metric_key_prefix)
        finally:
            if outer:
                self._evaluating = False

    def predict(self, test_dataset, ignore_keys=None, metric_key_prefix: str = "test", **gen_kwargs):
        self._gen_kwargs = self._with_argument_defaults(gen_kwargs)
        return super().predict(test_dataset, ignore_keys=ignore_keys, metric_key_prefix=metric_key_prefix)

    def prediction_step(self, model, inputs: dict, prediction_loss_only: bool, ignore_keys=None, **gen_kwargs):
        """``(loss, generated ids, labels)``; both id tensors padded to the generation length."""
        if not getattr(self.args, "predict_with_generate", False) or prediction_loss_only:
            return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys)
        inputs = self._to_device(inputs)
        has_labels = "labels" in inputs
        gen_kwargs = self._with_argument_defaults(gen_kwargs) if gen_kwargs else dict(self._gen_kwargs)
        # Labels are for the loss only; decoder inputs made from them would pin the generation.
        generation_inputs = {k: v for k, v in inputs.items() if k != "labels"}
        if has_labels and generation_inputs.get("decoder_input_ids") is not None \
                and generation_inputs["decoder_input_ids"].shape == inputs["labels"].shape:
            generation_inputs.pop("decoder_input_ids")
            generation_inputs.pop("decoder_attention_mask", None)
        with torch.no_grad():
            generated = model.generate(**generation_inputs, **gen_kwargs)
        generated = self._pad_to_generation_length(generated)
        loss = None
        if has_labels:
            with torch.no_grad(), self._autocast():
                outputs = model(**inputs)
            if self.label_smoother is not None:
                loss = self.label_smoother(outputs, inputs["labels"]).detach().mean()
            else:
                loss = (outputs["loss"] if isinstance(outputs, dict) else outputs[0]).detach().mean()
        if self.args.prediction_loss_only:
            return loss, None, None
        labels = self._pad_to_generation_length(inputs["labels"]) if has_labels else None
        return loss, generated, labels

    def _pad_to_generation_length(self, tensor: torch.Tensor) -> torch.Tensor:
        # Transformers pads to the *model's* generation config length (not the per-call one), so that
        # batches of one evaluation concatenate; kept for identical arrays.
        from ..generation.configuration_utils import GLOBAL_DEFAULTS

        config = self.model.generation_config
        max_length = config.max_length if config.max_length is not None else GLOBAL_DEFAULTS["max_length"]
        if tensor.shape[-1] < max_length:
            return self._pad_tensors_to_max_len(tensor, max_length)
        if config.max_new_tokens is not None and tensor.shape[-1] < config.max_new_tokens + 1:
            return self._pad_tensors_to_max_len(tensor, config.max_new_tokens + 1)
        return tensor

    def _pad_tensors_to_max_len(self, tensor: torch.Tensor, max_length: int) -> torch.Tensor:
        pad_id = None
        if self.processing_class is not None and hasattr(self.processing_class, "pad_token_id"):
            pad_id = self.processing_class.pad_token_id
            if pad_id is None:
                pad_id = getattr(self.processing_class, "eos_token_id", None)
        elif getattr(self.model.config, "pad_token_id", None) is not None:
            pad_id = self.model.config.pad_token_id
        if pad_id is None:
            raise ConfigError("predict_with_generate pads generated ids with the pad token: set pad_token_id in the "
                              "model config (or give the Trainer a tokenizer with a pad or eos token).")
        padded = torch.full((tensor.shape[0], max_length), pad_id, dtype=tensor.dtype, device=tensor.device)
        padded[:, : tensor.shape[-1]] = tensor
        return padded
