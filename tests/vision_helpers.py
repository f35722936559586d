"""Shared pieces of the vision-backbone tests: tiny configs, test images, parity checks."""

from __future__ import annotations

import numpy as np
import PIL.Image
import torch

NUM_LABELS = 3
LABELS = {0: "circle", 1: "square", 2: "triangle"}


def photo(width: int, height: int, seed: int = 0, mode: str = "RGB") -> PIL.Image.Image:
    """A smooth photo-like image (upsampled noise), converted to ``mode``."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (max(height // 8, 1), max(width // 8, 1), 4), dtype=np.uint8)
    image = PIL.Image.fromarray(coarse, "RGBA").resize((width, height), PIL.Image.BICUBIC)
    return image if mode == "RGBA" else image.convert(mode)


def pixels(batch: int = 2, size: int = 32, channels: int = 3, seed: int = 0, height: int | None = None):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, channels, height or size, size, generator=generator)


def build_hf(class_name: str, config_name: str, seed: int = 0, **config):
    """A seeded random Transformers model in eval mode."""
    import transformers

    torch.manual_seed(seed)
    config = getattr(transformers, config_name)(**config)
    config._attn_implementation = "eager"  # so output_attentions returns the weights
    return getattr(transformers, class_name)(config).eval()


def load_ours(hf_model, tmp_path, class_name: str | None = None):
    """Save ``hf_model`` with Transformers and load it with polymodal (same class name by default)."""
    import polymodal

    hf_model.save_pretrained(tmp_path)
    return getattr(polymodal, class_name or type(hf_model).__name__).from_pretrained(tmp_path).eval()


def load_theirs(model, tmp_path, class_name: str | None = None):
    """Save a polymodal model and load it with Transformers."""
    import transformers

    model.save_pretrained(tmp_path)
    return getattr(transformers, class_name or type(model).__name__).from_pretrained(tmp_path).eval()


def assert_outputs_close(ours, theirs, fields=("logits",), atol=1e-5):
    for name in fields:
        a, b = getattr(ours, name), getattr(theirs, name)
        if isinstance(a, (tuple, list)):
            assert len(a) == len(b), name
            for x, y in zip(a, b):
                torch.testing.assert_close(x, y, atol=atol, rtol=1e-4)
        else:
            torch.testing.assert_close(a, b, atol=atol, rtol=1e-4)


def assert_grads_close(ours, theirs, inputs: dict, atol=1e-5, input_name="pixel_values"):
    """Train-mode loss, the input gradient (it flows through every layer) and the gradients of
    parameters with the same name match (dropout must be 0 in the config). Returns how many
    parameter gradients were compared (Transformers 5 renames its encoder modules in memory)."""
    ours.train()
    theirs.train()
    x_a = inputs[input_name].clone().requires_grad_(True)
    x_b = inputs[input_name].clone().requires_grad_(True)
    loss_a = ours(**{**inputs, input_name: x_a}).loss
    loss_b = theirs(**{**inputs, input_name: x_b}).loss
    torch.testing.assert_close(loss_a, loss_b, atol=atol, rtol=1e-4)
    loss_a.backward()
    loss_b.backward()
    torch.testing.assert_close(x_a.grad, x_b.grad, atol=atol, rtol=1e-3)
    grads_b = dict(theirs.named_parameters())
    checked = 0
    for name, p in ours.named_parameters():
        other = grads_b.get(name)
        if other is None or p.grad is None or other.grad is None:
            continue
        torch.testing.assert_close(p.grad, other.grad, atol=atol * 10, rtol=1e-3, msg=name)
        checked += 1
    return checked
