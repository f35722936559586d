"""``apply_chat_template``: render a conversation with the tokenizer's Jinja chat template.

Templates are read from ``tokenizer_config.json`` (``chat_template``) or from
``chat_template.jinja`` beside it (Transformers 5 writes the latter), and rendered in a
sandboxed Jinja environment with the helpers Transformers provides (``raise_exception``,
``strftime_now``, a ``tojson`` that keeps non-ASCII text).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from ..core.errors import InvalidInputError

CHAT_TEMPLATE_FILE = "chat_template.jinja"


@lru_cache(maxsize=16)
def _compile(template: str):
    try:
        from jinja2.exceptions import TemplateError
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError as err:  # pragma: no cover - jinja2 ships with the text extra
        raise ImportError("apply_chat_template needs jinja2: pip install jinja2") from err

    def raise_exception(message):
        raise TemplateError(message)

    def tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(template)


def render_chat(template: str, conversation, add_generation_prompt: bool = False, **variables) -> str:
    return _compile(template).render(messages=conversation, add_generation_prompt=add_generation_prompt, **variables)


class ChatTemplateMixin:
    """Adds ``chat_template`` and ``apply_chat_template`` to a tokenizer class."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        tokenizer = super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        path = Path(str(pretrained_model_name_or_path)) / CHAT_TEMPLATE_FILE
        if "chat_template" not in kwargs and path.is_file():
            tokenizer.chat_template = path.read_text(encoding="utf-8")
        return tokenizer

    @property
    def chat_template(self) -> str | None:
        return self.init_kwargs.get("chat_template")

    @chat_template.setter
    def chat_template(self, value: str | None) -> None:
        self.init_kwargs["chat_template"] = value

    def _resolve_template(self, chat_template: str | None) -> str:
        template = chat_template if chat_template is not None else self.chat_template
        if isinstance(template, dict):  # named templates: {"default": ..., "tool_use": ...}
            template = template.get("default")
        elif isinstance(template, list):  # the on-disk form of named templates
            template = {t["name"]: t["template"] for t in template}.get("default")
        if isinstance(template, str) and "\n" not in template and "{" not in template and isinstance(
            self.chat_template, (dict, list)
        ):
            named = self.chat_template if isinstance(self.chat_template, dict) else {
                t["name"]: t["template"] for t in self.chat_template}
            template = named.get(template, template)
        if not template:
            raise InvalidInputError(
                "This tokenizer has no chat template: set tokenizer.chat_template = '<jinja template>' or pass "
                "chat_template=... to apply_chat_template()."
            )
        return template

    def apply_chat_template(
        self,
        conversation,
        tools=None,
        documents=None,
        chat_template: str | None = None,
        add_generation_prompt: bool = False,
        continue_final_message: bool = False,
        tokenize: bool = True,
        padding=False,
        truncation: bool = False,
        max_length: int | None = None,
        return_tensors=None,
        return_dict: bool = False,
        return_assistant_tokens_mask: bool = False,
        tokenizer_kwargs: dict | None = None,
        **kwargs,
    ):
        """Render ``conversation`` (a list of ``{"role", "content"}`` dicts, or a batch of them)."""
        if add_generation_prompt and continue_final_message:
            raise InvalidInputError("Pass either add_generation_prompt or continue_final_message, not both.")
        batched = isinstance(conversation, (list, tuple)) and bool(conversation) and isinstance(
            conversation[0], (list, tuple))
        conversations = conversation if batched else [conversation]
        template = self._resolve_template(chat_template)
        texts = [self._render_one(template, chat, tools, documents, add_generation_prompt, continue_final_message,
                                  kwargs) for chat in conversations]
        if not tokenize:
            return texts if batched else texts[0]
        encoded = self(texts, add_special_tokens=False, padding=padding, truncation=truncation, max_length=max_length,
                       return_tensors=return_tensors, **(tokenizer_kwargs or {}))
        if return_dict:
            return encoded if batched or return_tensors is not None else {k: v[0] for k, v in encoded.items()}
        ids = encoded["input_ids"]
        return ids if batched or return_tensors is not None else ids[0]

    def _render_one(self, template, chat, tools, documents, add_generation_prompt, continue_final_message, variables):
        chat = [dict(m) if not isinstance(m, dict) else m for m in chat]
        for message in chat:
            if not isinstance(message, dict) or "role" not in message:
                raise InvalidInputError(f"Each chat message must be a dict with 'role' and 'content', got {message!r}.")
        specials = {k: v for k, v in self.special_tokens_map.items() if isinstance(v, str)}
        text = render_chat(template, chat, add_generation_prompt=add_generation_prompt, tools=tools,
                           documents=documents, **{**specials, **variables})
        if continue_final_message:
            final = chat[-1]["content"]
            final = final if isinstance(final, str) else "".join(
                part.get("text", "") for part in final if isinstance(part, dict))
            index = text.rfind(final.strip())
            if index == -1:
                raise InvalidInputError("continue_final_message: the final message is not in the rendered chat.")
            text = text[: index + len(final.strip())]
        return text

    def save_pretrained(self, save_directory, *args, **kwargs):
        files = super().save_pretrained(save_directory, *args, **kwargs)
        if isinstance(self.chat_template, str):
            from ..core.io import atomic_write_text

            path = Path(save_directory) / CHAT_TEMPLATE_FILE
            atomic_write_text(path, self.chat_template)
            files = (*files, str(path))
        return files
