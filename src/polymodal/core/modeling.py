"""``PreTrainedModel``: loading and saving checkpoints, and the few model-wide switches.

Loading is strict by construction: modules carry the checkpoint's own parameter names, so a
state dict goes in with one ``load_state_dict`` call. What is left to handle here is small:

* the base-model prefix (a ``Wav2Vec2Model`` checkpoint loaded into ``Wav2Vec2ForCTC`` and back);
* legacy key spellings (``weight_g``/``weight_v`` of weight norm, ``LayerNorm.gamma/beta``);
* a report of what did not match: a fresh head is normal (info), a missing encoder weight is
  loud (warning listing the keys), a shape mismatch is an error unless asked to re-initialise;
* pickled ``.bin`` files only on explicit opt-in, and then with ``weights_only=True``.

Models are built without random initialisation when loading (the weights are overwritten
anyway), which is most of what makes start-up fast; only modules that the checkpoint does not
cover get initialised.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .config import PretrainedConfig, read_json
from .errors import CheckpointError, ConfigError
from .hub import PushToHubMixin, resolve_file
from .io import atomic_path, atomic_write_text

logger = logging.getLogger("polymodal")

SAFE_WEIGHTS_NAME = "model.safetensors"
SAFE_WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
PICKLE_WEIGHTS_NAME = "pytorch_model.bin"
PICKLE_WEIGHTS_INDEX_NAME = "pytorch_model.bin.index.json"

_HUB_KWARGS = ("cache_dir", "revision", "token", "local_files_only", "force_download", "proxies", "subfolder")

# Old spellings found in published checkpoints -> the names torch uses today.
_LEGACY_SUFFIXES = (
    ("weight_g", "parametrizations.weight.original0"),
    ("weight_v", "parametrizations.weight.original1"),
    ("LayerNorm.gamma", "LayerNorm.weight"),
    ("LayerNorm.beta", "LayerNorm.bias"),
)


# --------------------------------------------------------------------------- no-init construction
_INIT_FUNCTIONS = ("uniform_", "normal_", "trunc_normal_", "constant_", "xavier_uniform_", "xavier_normal_",
                   "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "zeros_", "ones_")


@contextlib.contextmanager
def no_init_weights():
    """Build modules without running torch's random initialisers (their values are loaded next)."""
    saved = {name: getattr(nn.init, name) for name in _INIT_FUNCTIONS}

    def skip(tensor, *args, **kwargs):
        return tensor

    for name in _INIT_FUNCTIONS:
        setattr(nn.init, name, skip)
    PreTrainedModel._skip_init = True
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(nn.init, name, fn)
        PreTrainedModel._skip_init = False


def _parse_size(size: int | str) -> int:
    if isinstance(size, int):
        return size
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]i?B)?\s*", size.upper().replace("IB", "iB"))
    if not match:
        raise ConfigError(f"max_shard_size={size!r} is not a size like '500MB' or '5GB'.")
    number, unit = float(match.group(1)), (match.group(2) or "B")
    scale = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}
    return int(number * scale[unit])


def _resolve_dtype(torch_dtype, config: PretrainedConfig, state_dict_dtype: torch.dtype | None):
    if torch_dtype is None:
        return None
    if torch_dtype == "auto":
        return config.torch_dtype or state_dict_dtype
    if isinstance(torch_dtype, str):
        value = getattr(torch, torch_dtype, None)
        if not isinstance(value, torch.dtype):
            raise ConfigError(f"torch_dtype={torch_dtype!r} is not a torch dtype name (e.g. 'float32', 'bfloat16').")
        return value
    if not isinstance(torch_dtype, torch.dtype):
        raise ConfigError(f"torch_dtype must be a torch.dtype, a dtype name or 'auto'; got {torch_dtype!r}.")
    return torch_dtype


# --------------------------------------------------------------------------- weight files
def _read_safetensors(path: str) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError) as exc:
        size = os.path.getsize(path) if os.path.exists(path) else 0
        raise CheckpointError(
            f"Cannot read weights from '{path}' ({size} bytes): {exc}. The file is truncated or corrupt; "
            "copy it again or re-create it with save_pretrained()."
        ) from None


def _read_pickle(path: str) -> dict[str, torch.Tensor]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure gets the same advice
        raise CheckpointError(
            f"Cannot load '{path}' with torch.load(weights_only=True): {exc}. polymodal never retries without "
            "weights_only (that would run arbitrary code); convert the file to safetensors instead."
        ) from None


def load_checkpoint_files(path_or_id, *, allow_pickle: bool, hub_kwargs: dict) -> dict[str, torch.Tensor]:
    """Read all weights of a checkpoint folder: single or sharded safetensors, or (opt-in) pickles."""
    single = resolve_file(path_or_id, SAFE_WEIGHTS_NAME, required=False, **hub_kwargs)
    if single:
        return _read_safetensors(single)
    index = resolve_file(path_or_id, SAFE_WEIGHTS_INDEX_NAME, required=False, **hub_kwargs)
    if index:
        return _read_sharded(path_or_id, index, _read_safetensors, hub_kwargs)
    pickled = resolve_file(path_or_id, PICKLE_WEIGHTS_NAME, required=False, **hub_kwargs)
    pickled_index = None if pickled else resolve_file(path_or_id, PICKLE_WEIGHTS_INDEX_NAME, required=False, **hub_kwargs)
    if pickled or pickled_index:
        if not allow_pickle:
            raise CheckpointError(
                f"'{path_or_id}' only has PyTorch pickle weights ({Path(pickled or pickled_index).name}). Pickles can run "
                "arbitrary code when loaded, so polymodal does not open them by default. If you trust the file, pass "
                "allow_pickle=True (it is then read with torch.load(weights_only=True)), or convert it once to "
                "model.safetensors."
            )
        if pickled:
            return _read_pickle(pickled)
        return _read_sharded(path_or_id, pickled_index, _read_pickle, hub_kwargs)
    raise CheckpointError(
        f"'{path_or_id}' has no model weights: expected {SAFE_WEIGHTS_NAME}, {SAFE_WEIGHTS_INDEX_NAME} "
        f"or (with allow_pickle=True) {PICKLE_WEIGHTS_NAME}."
    )


def _read_sharded(path_or_id, index_path: str, reader, hub_kwargs) -> dict[str, torch.Tensor]:
    weight_map = read_json(index_path).get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map:
        raise CheckpointError(f"'{index_path}' has no 'weight_map'; the sharded checkpoint index is broken.")
    state_dict: dict[str, torch.Tensor] = {}
    for shard in sorted(set(weight_map.values())):
        _check_shard_name(shard, index_path)
        state_dict.update(reader(resolve_file(path_or_id, shard, **hub_kwargs)))
    missing = sorted(set(weight_map) - set(state_dict))
    if missing:
        raise CheckpointError(f"Shards of '{path_or_id}' lack tensors listed in the index: {missing[:10]}.")
    return state_dict


def _check_shard_name(shard, index_path: str) -> None:
    """A shard is a plain file name inside the checkpoint folder: an index naming '../…' or an
    absolute path would make loading read (or probe) files outside it."""
    name = str(shard) if isinstance(shard, str) else ""
    if not name or name != os.path.basename(name) or name in (".", "..") or "\\" in name or ":" in name:
        raise CheckpointError(
            f"'{index_path}' names the shard {shard!r}, which is not a plain file name inside the checkpoint folder "
            "(paths like '../x' or '/abs/x' are refused). The index is corrupt or malicious; re-create it with "
            "save_pretrained()."
        )


# --------------------------------------------------------------------------- the model base class
class PreTrainedModel(PushToHubMixin, nn.Module):
    config_class: type[PretrainedConfig] = PretrainedConfig
    base_model_prefix: str = ""
    main_input_name: str = "input_values"
    supports_gradient_checkpointing: bool = True
    # Regexes of checkpoint keys that are expected to be absent / surplus (no report line).
    _keys_to_ignore_on_load_missing: tuple[str, ...] = ()
    _keys_to_ignore_on_load_unexpected: tuple[str, ...] = ()
    _skip_init = False

    def __init__(self, config: PretrainedConfig, *args, **kwargs):
        super().__init__()
        if not isinstance(config, PretrainedConfig):
            raise ConfigError(
                f"{type(self).__name__}(config) expects a {self.config_class.__name__}, got {type(config).__name__}. "
                f"To load weights use {type(self).__name__}.from_pretrained(path)."
            )
        self.config = config
        self.name_or_path = config.name_or_path

    # ---------------------------------------------------------------- init
    def _init_weights(self, module: nn.Module) -> None:
        """Family-specific initialisation of one module (called through ``post_init``)."""

    def post_init(self) -> None:
        """Initialise weights; skipped while ``from_pretrained`` builds the model."""
        if not PreTrainedModel._skip_init:
            self.apply(self._init_weights)

    # ---------------------------------------------------------------- properties
    @property
    def base_model(self) -> nn.Module:
        return getattr(self, self.base_model_prefix, self)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
        embeddings = set()
        if exclude_embeddings:
            embeddings = {id(m.weight) for m in self.modules() if isinstance(m, nn.Embedding)}
        return sum(
            p.numel() for p in self.parameters()
            if (p.requires_grad or not only_trainable) and id(p) not in embeddings
        )

    def padding_is_masked(self) -> bool:
        """Whether, given an attention mask, padding an input leaves its outputs unchanged.

        Pipelines batch inputs of different lengths together only when this is True (and the
        preprocessor returns a mask); otherwise a batch holds inputs of one length, so a result
        never depends on its neighbours. The default is the safe answer; a family that masks
        padding everywhere (attention, pooling, normalisation) overrides it.
        """
        return False

    # ---------------------------------------------------------------- switches
    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict | None = None) -> None:
        if not self.supports_gradient_checkpointing:
            raise ValueError(f"{type(self).__name__} does not support gradient checkpointing.")
        self._set_gradient_checkpointing(True)

    def gradient_checkpointing_disable(self) -> None:
        self._set_gradient_checkpointing(False)

    def _set_gradient_checkpointing(self, value: bool) -> None:
        for module in self.modules():
            if hasattr(module, "gradient_checkpointing"):
                module.gradient_checkpointing = value

    @property
    def is_gradient_checkpointing(self) -> bool:
        return any(getattr(m, "gradient_checkpointing", False) for m in self.modules())

    # ---------------------------------------------------------------- saving
    def save_pretrained(
        self,
        save_directory: str | os.PathLike,
        state_dict: dict[str, torch.Tensor] | None = None,
        safe_serialization: bool = True,
        max_shard_size: int | str = "5GB",
        push_to_hub: bool = False,
        **kwargs,
    ) -> None:
        """Write ``config.json`` and ``model.safetensors`` (sharded above ``max_shard_size``).

        Every file is written under a temporary name and renamed into place, and the shard
        index is written last, so an interrupted save never leaves a half-written checkpoint.
        """
        if push_to_hub:
            return self._save_and_push(save_directory, state_dict=state_dict, safe_serialization=safe_serialization,
                                       max_shard_size=max_shard_size, **kwargs)
        if not safe_serialization:
            raise ValueError("polymodal only writes safetensors (pickles can run code when loaded).")
        directory = Path(save_directory)
        if directory.is_file():
            raise CheckpointError(f"save_pretrained() needs a folder, but '{directory}' is a file.")
        directory.mkdir(parents=True, exist_ok=True)
        state_dict = self._state_dict_for_saving(state_dict)
        self.config.architectures = [type(self).__name__]
        self.config.dtype = str(self.dtype).replace("torch.", "")
        self.config.save_pretrained(directory)
        shards = _split_shards(state_dict, _parse_size(max_shard_size))
        _write_shards(directory, shards)

    def _state_dict_for_saving(self, state_dict):
        state_dict = dict(self.state_dict() if state_dict is None else state_dict)
        seen: dict[int, str] = {}
        for key, tensor in state_dict.items():
            # safetensors refuses shared or strided storage: give each tensor its own contiguous copy.
            ptr = tensor.untyped_storage().data_ptr() if tensor.device.type != "meta" else id(tensor)
            if ptr in seen or not tensor.is_contiguous():
                tensor = tensor.clone().contiguous()
            seen[ptr] = key
            state_dict[key] = tensor.detach()
        return state_dict

    # ---------------------------------------------------------------- loading
    @classmethod
    def _from_config(cls, config: PretrainedConfig, **kwargs) -> "PreTrainedModel":
        torch_dtype = kwargs.pop("torch_dtype", kwargs.pop("dtype", None))
        model = cls(config, **kwargs)
        return model.to(torch_dtype) if torch_dtype is not None else model

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs) -> "PreTrainedModel":
        """Build the model from ``config.json`` and load its weights.

        Keyword arguments that are not loading options override config values
        (``num_labels=…``, ``ctc_loss_reduction="mean"`` …), as in Transformers.
        """
        config = kwargs.pop("config", None)
        torch_dtype = kwargs.pop("torch_dtype", None) or kwargs.pop("dtype", None)
        allow_pickle = kwargs.pop("allow_pickle", False) or kwargs.pop("use_safetensors", None) is False
        ignore_mismatched = kwargs.pop("ignore_mismatched_sizes", False)
        output_loading_info = kwargs.pop("output_loading_info", False)
        device = kwargs.pop("device_map", None) or kwargs.pop("device", None)
        for ignored in ("low_cpu_mem_usage", "attn_implementation", "trust_remote_code", "weights_only"):
            kwargs.pop(ignored, None)
        hub_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _HUB_KWARGS}
        if config is None:
            config = cls.config_class.from_pretrained(pretrained_model_name_or_path, **hub_kwargs, **kwargs)
        elif kwargs:
            config = config.copy()
            config.update(kwargs)

        state_dict = load_checkpoint_files(pretrained_model_name_or_path, allow_pickle=allow_pickle, hub_kwargs=hub_kwargs)
        float_dtypes = {t.dtype for t in state_dict.values() if t.is_floating_point()}
        dtype = _resolve_dtype(torch_dtype, config, next(iter(float_dtypes)) if len(float_dtypes) == 1 else None)

        with no_init_weights():
            model = cls(config, *model_args)
        # --- int8 checkpoints (issue 12): int8 layers first, so the saved int8 tensors load as they are.
        if getattr(config, "quantization_config", None):
            from ..export.quantizer import prepare_quantized_model  # lazy: core never imports export at load

            prepare_quantized_model(model, config.quantization_config)
        report = model._load_weights(state_dict, dtype, ignore_mismatched)
        if dtype is not None:
            model.to(dtype)
        if device not in (None, "cpu", "auto"):
            model.to(device)
        model.name_or_path = str(pretrained_model_name_or_path)
        model.eval()
        _log_report(cls.__name__, pretrained_model_name_or_path, report)
        return (model, report) if output_loading_info else model

    def _load_weights(self, state_dict: dict[str, torch.Tensor], dtype, ignore_mismatched: bool) -> dict[str, Any]:
        state_dict = self._fix_checkpoint_keys(state_dict)
        expected = self.state_dict()
        mismatched = []
        for key in list(state_dict):
            if key in expected and state_dict[key].shape != expected[key].shape:
                mismatched.append((key, tuple(state_dict[key].shape), tuple(expected[key].shape)))
                del state_dict[key]
        if mismatched and not ignore_mismatched:
            lines = "\n".join(f"  {k}: checkpoint {a}, model {b}" for k, a, b in mismatched)
            raise CheckpointError(
                f"Shapes in the checkpoint do not match {type(self).__name__}:\n{lines}\n"
                "If this is intended (e.g. a new classification head with another num_labels), pass "
                "ignore_mismatched_sizes=True to re-initialise these weights."
            )
        if dtype is not None:
            state_dict = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state_dict.items()}
        result = self.load_state_dict(state_dict, strict=False, assign=True)
        missing = [k for k in result.missing_keys if not _matches(k, self._keys_to_ignore_on_load_missing)]
        self._init_missing(set(result.missing_keys) | {k for k, _, _ in mismatched})
        unexpected = [k for k in result.unexpected_keys if not _matches(k, self._keys_to_ignore_on_load_unexpected)]
        return {
            "missing_keys": missing,
            "unexpected_keys": unexpected,
            "mismatched_keys": mismatched,
            "error_msgs": [],
            "head_keys": [k for k in missing if self._is_head_key(k)],
        }

    def _fix_checkpoint_keys(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Legacy spellings and the base-model prefix, so checkpoint keys match module names."""
        own_keys = set(self.state_dict())
        fixed = {}
        for key, value in state_dict.items():
            for old, new in _LEGACY_SUFFIXES:
                if key.endswith(old) and key not in own_keys:
                    key = key[: -len(old)] + new
            fixed[key] = value
        prefix = self.base_model_prefix
        if not prefix:
            return fixed
        model_has_prefix = any(k.startswith(prefix + ".") for k in own_keys)
        ckpt_has_prefix = any(k.startswith(prefix + ".") for k in fixed)
        if model_has_prefix and not ckpt_has_prefix:  # base checkpoint -> model with a head
            return {f"{prefix}.{k}": v for k, v in fixed.items()}
        if ckpt_has_prefix and not model_has_prefix:  # checkpoint with a head -> base model
            return {k[len(prefix) + 1:]: v for k, v in fixed.items() if k.startswith(prefix + ".")}
        return fixed

    def _is_head_key(self, key: str) -> bool:
        prefix = self.base_model_prefix
        return bool(prefix) and hasattr(self, prefix) and not key.startswith(prefix + ".")

    def _init_missing(self, missing: set[str]) -> None:
        """Initialise the modules whose parameters the checkpoint did not provide."""
        if not missing:
            return
        owners = sorted({k.rsplit(".", 1)[0] if "." in k else "" for k in missing})
        # Initialising a module may also overwrite loaded siblings (a loaded weight beside a missing
        # bias): keep copies of those and put them back afterwards.
        touched = {
            k: v.clone() for k, v in self.state_dict().items()
            if k not in missing and any(k.startswith(o + ".") or not o for o in owners)
        }
        for name in owners:
            module = self.get_submodule(name) if name else self
            module.apply(self._init_weights)
        with torch.no_grad():
            current = self.state_dict()
            for key, value in touched.items():
                current[key].copy_(value)


def _has_custom_init(model: PreTrainedModel) -> bool:
    return type(model)._init_weights is not PreTrainedModel._init_weights


def _matches(key: str, patterns) -> bool:
    return any(re.search(p, key) for p in patterns)


def _log_report(class_name: str, source, report: dict[str, Any]) -> None:
    head = set(report["head_keys"])
    body_missing = [k for k in report["missing_keys"] if k not in head]
    if head:
        logger.info(
            "%s: newly initialised head weights (normal when fine-tuning from a base checkpoint; train before use): %s",
            class_name, sorted(head),
        )
    if body_missing:
        message = (
            f"{class_name} loaded from '{source}' is MISSING {len(body_missing)} encoder weight(s); they were randomly "
            f"initialised and the model's outputs will be wrong until trained: {sorted(body_missing)}"
        )
        logger.warning(message)
        warnings.warn(message, stacklevel=3)
    if report["unexpected_keys"]:
        logger.info("%s: checkpoint weights not used by this class: %s", class_name, sorted(report["unexpected_keys"]))
    if report["mismatched_keys"]:
        logger.warning(
            "%s: re-initialised weights whose shapes differ from the checkpoint: %s",
            class_name, [k for k, _, _ in report["mismatched_keys"]],
        )


def _split_shards(state_dict: dict[str, torch.Tensor], max_bytes: int) -> list[dict[str, torch.Tensor]]:
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for key, tensor in state_dict.items():
        nbytes = tensor.numel() * tensor.element_size()
        if shards[-1] and size + nbytes > max_bytes:
            shards.append({})
            size = 0
        shards[-1][key] = tensor
        size += nbytes
    return shards


def _write_shards(directory: Path, shards: list[dict[str, torch.Tensor]]) -> None:
    from safetensors.torch import save_file

    stale = [directory / SAFE_WEIGHTS_NAME, directory / SAFE_WEIGHTS_INDEX_NAME]
    if len(shards) == 1:
        with atomic_path(directory / SAFE_WEIGHTS_NAME) as tmp:
            save_file(shards[0], tmp, metadata={"format": "pt"})
        _remove(p for p in stale[1:])
        return
    total = len(shards)
    weight_map = {}
    total_size = 0
    for i, shard in enumerate(shards, start=1):
        name = f"model-{i:05d}-of-{total:05d}.safetensors"
        with atomic_path(directory / name) as tmp:
            save_file(shard, tmp, metadata={"format": "pt"})
        for key, tensor in shard.items():
            weight_map[key] = name
            total_size += tensor.numel() * tensor.element_size()
    index = {"metadata": {"total_size": total_size}, "weight_map": weight_map}
    atomic_write_text(directory / SAFE_WEIGHTS_INDEX_NAME, json.dumps(index, indent=2, sort_keys=True) + "\n")
    _remove([stale[0]])


def _remove(paths) -> None:
    for path in paths:
        if path.exists():
            path.unlink()
