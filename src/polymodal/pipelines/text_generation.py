"""``pipeline("text-generation")``: prompts (or chats) in, continuations out.

Each input gets a list of ``{"generated_text": …}`` (``num_return_sequences`` of them): the
prompt plus the continuation (``return_full_text=True``, the default), the continuation only
(``return_full_text=False``), or ``{"generated_token_ids": […]}`` with ``return_tensors=True``.
A chat (a list of ``{"role", "content"}`` messages) is rendered with the tokenizer's chat
template and answered with the chat plus an assistant message.

Any ``generate()`` argument may be passed (``max_new_tokens``, ``do_sample``, ``top_p``,
``streamer`` …). Without a ``generation_config.json`` in the checkpoint the defaults are
Transformers' for this pipeline: ``max_new_tokens=256, do_sample=True, temperature=0.7``.
Batches are padded on the left with correct position ids, so a prompt's greedy continuation is
the same alone or in any batch.
"""

from __future__ import annotations

import torch

from ..core.errors import InvalidInputError
from .base import check_batch_size, describe
from .text_base import TextPipeline

PIPELINE_DEFAULTS = {"max_new_tokens": 256, "do_sample": True, "temperature": 0.7}
_TOKENIZER_KEYS = ("add_special_tokens", "truncation", "max_length", "padding")
_OWN_KEYS = ("return_full_text", "return_text", "return_tensors", "clean_up_tokenization_spaces", "prefix",
             "skip_special_tokens", "continue_final_message", "stop_sequence")


class TextGenerationPipeline(TextPipeline):
    task = "text-generation"
    call_parameters = (*_OWN_KEYS, "max_new_tokens", "do_sample", "temperature", "top_k", "top_p", "num_beams",
                       "num_return_sequences", "repetition_penalty", "max_length", "min_new_tokens")

    def __call__(self, text_inputs, batch_size: int | None = None, **kwargs):
        options = {**self._defaults, **kwargs}
        own = {k: options.pop(k) for k in _OWN_KEYS if k in options}
        tokenizer_kwargs = {k: options.pop(k) for k in _TOKENIZER_KEYS if k in options and k != "max_length"}
        generate_kwargs = self._generate_kwargs(options, own)
        return_type = _return_type(own)
        size = check_batch_size(batch_size) or self.batch_size
        if size > 1 and self.tokenizer.pad_token_id is None:
            raise InvalidInputError(
                "Batching prompts needs a pad token, and this tokenizer has none. Set "
                "pipe.tokenizer.pad_token = pipe.tokenizer.eos_token (padding goes on the left and is masked)."
            )
        if _is_chat(text_inputs):
            text_inputs = [text_inputs]
            single_chat = True
        else:
            single_chat = False

        def process(items: list, first: int | None) -> list:
            prompts = [_check_prompt(item, None if first is None else first + i) for i, item in enumerate(items)]
            return self.sorted_batches(
                prompts, size, lambda group: self._generate(group, own, tokenizer_kwargs, generate_kwargs, return_type),
                lambda p: len(p) if isinstance(p, str) else sum(len(str(m.get("content", ""))) for m in p))

        result = self.run(text_inputs, process, batch_size)
        return result[0] if single_chat else result

    # ------------------------------------------------------------------ steps
    def _generate_kwargs(self, options: dict, own: dict) -> dict:
        config = self.model.generation_config
        from_file = not getattr(config, "_from_model_config", False)
        defaults = {} if from_file else {k: v for k, v in PIPELINE_DEFAULTS.items() if getattr(config, k) is None}
        if "max_length" in options and "max_new_tokens" not in options:
            defaults.pop("max_new_tokens", None)
        if options.get("do_sample") is False:
            defaults.pop("temperature", None)
        stop = own.get("stop_sequence")
        if stop is not None:
            ids = self.tokenizer.encode(stop, add_special_tokens=False)
            if not ids:
                raise InvalidInputError(f"stop_sequence={stop!r} encodes to no tokens.")
            options.setdefault("eos_token_id", ids[0])
        return {**defaults, **options}

    @torch.inference_mode()
    def _generate(self, prompts: list, own: dict, tokenizer_kwargs: dict, generate_kwargs: dict, return_type: str):
        texts = [self._render(p, own) for p in prompts]
        prefix = own.get("prefix") or ""
        # Pad (on the left, masked) only when prompts share a batch: one prompt needs no pad token.
        options = {"padding": len(texts) > 1, "return_tensors": "pt", "padding_side": "left", **tokenizer_kwargs}
        encoding = self.tokenizer([prefix + t for t in texts], **options)
        input_ids = encoding["input_ids"].to(self.device)
        mask = encoding.get("attention_mask")
        mask = mask.to(self.device) if mask is not None else None
        if input_ids.shape[1] == 0:
            raise InvalidInputError(
                "The prompt is empty and the tokenizer adds no BOS token, so there is nothing to continue. "
                "Pass some text, or use a tokenizer with add_bos_token=True."
            )
        output = self.model.generate(input_ids=input_ids, attention_mask=mask, **generate_kwargs)
        sequences = output.sequences if not isinstance(output, torch.Tensor) else output
        per_prompt = sequences.shape[0] // len(prompts)
        rows = sequences.view(len(prompts), per_prompt, -1).tolist()
        return [self._postprocess(rows[i], prompts[i], texts[i], input_ids.shape[1], own, return_type)
                for i in range(len(prompts))]

    def _render(self, prompt, own: dict) -> str:
        if isinstance(prompt, str):
            return prompt
        final_assistant = prompt[-1].get("role") == "assistant"
        cont = own.get("continue_final_message")
        cont = final_assistant if cont is None else cont
        return self.tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=not cont,
                                                  continue_final_message=cont)

    def _postprocess(self, sequences: list, prompt, text: str, prompt_len: int, own: dict, return_type: str):
        records = []
        skip = own.get("skip_special_tokens", True)
        for sequence in sequences:
            if return_type == "tensors":
                records.append({"generated_token_ids": sequence})
                continue
            new_text = self.tokenizer.decode(sequence[prompt_len:], skip_special_tokens=skip,
                                             clean_up_tokenization_spaces=own.get("clean_up_tokenization_spaces"))
            if return_type == "new_text":
                records.append({"generated_text": new_text})
            elif isinstance(prompt, str):
                records.append({"generated_text": prompt + new_text})
            else:
                records.append({"generated_text": _extend_chat(prompt, new_text, own)})
        return records


def _extend_chat(chat: list, new_text: str, own: dict) -> list:
    cont = own.get("continue_final_message")
    if cont is None:
        cont = chat[-1].get("role") == "assistant"
    if cont:
        last = dict(chat[-1])
        last["content"] = last["content"] + new_text
        return [*chat[:-1], last]
    return [*chat, {"role": "assistant", "content": new_text}]


def _return_type(own: dict) -> str:
    full, text, tensors = own.get("return_full_text"), own.get("return_text"), own.get("return_tensors")
    if full is not None and (tensors or text is False):
        raise InvalidInputError("return_full_text cannot be combined with return_tensors / return_text=False.")
    if tensors:
        return "tensors"
    if full is False:
        return "new_text"
    return "full_text"


def _is_chat(value) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and isinstance(value[0], dict)


def _check_prompt(item, index: int | None):
    where = f"input {index}" if index is not None else "the input"
    if isinstance(item, str):
        return item
    if _is_chat(item):
        for message in item:
            if not isinstance(message, dict) or "role" not in message or "content" not in message:
                raise InvalidInputError(f"{where} is a chat whose messages must be {{'role': …, 'content': …}} dicts.")
        return list(item)
    raise InvalidInputError(
        f"{where} is {describe(item)}; the text-generation pipeline expects a prompt (str) or a chat "
        "(a list of {'role', 'content'} dicts)."
    )
