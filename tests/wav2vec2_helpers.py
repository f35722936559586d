"""Tiny random Wav2Vec2 checkpoints for parity tests (Transformers is the oracle)."""

from __future__ import annotations

import torch

TINY = dict(
    hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    conv_dim=(16, 16, 16), conv_stride=(5, 2, 2), conv_kernel=(10, 3, 3),
    num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
    classifier_proj_size=8, vocab_size=12, num_labels=3,
)
# (do_stable_layer_norm, feat_extract_norm): base-style, large-lv60-style (post-norm + layer), XLS-R-style
VARIANTS = [(False, "group"), (False, "layer"), (True, "layer")]
VARIANT_IDS = ["post-group", "post-layer", "stable-layer"]
NO_DROPOUT = dict(hidden_dropout=0.0, activation_dropout=0.0, attention_dropout=0.0, feat_proj_dropout=0.0,
                  final_dropout=0.0, layerdrop=0.0)


def hf_config(stable: bool = False, norm: str = "group", **overrides):
    import transformers

    return transformers.Wav2Vec2Config(**{**TINY, "do_stable_layer_norm": stable, "feat_extract_norm": norm,
                                          **overrides})


def hf_model(class_name: str, stable=False, norm="group", seed=0, eager=False, **overrides):
    """A seeded random Transformers model in eval mode."""
    import transformers

    config = hf_config(stable, norm, **overrides)
    if eager:
        config._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = getattr(transformers, class_name)(config).eval()
    # Random norm/bias values make parity tests sensitive to every parameter.
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "layer_norm" in name or name.endswith("bias") or "masked_spec_embed" in name:
                param.copy_(torch.randn_like(param) * 0.5 + (1.0 if name.endswith("weight") else 0.0))
    return model


def padded_batch(lengths=(1600, 1100), seed=1):
    """Zero-padded audio (B, S) and its attention mask, like the feature extractor returns."""
    g = torch.Generator().manual_seed(seed)
    total = max(lengths)
    x = torch.zeros(len(lengths), total)
    mask = torch.zeros(len(lengths), total, dtype=torch.long)
    for i, n in enumerate(lengths):
        x[i, :n] = torch.randn(n, generator=g)
        mask[i, :n] = 1
    return x, mask


def assert_close(a, b, atol=1e-5, rtol=1e-4, msg=""):
    torch.testing.assert_close(a, b, atol=atol, rtol=rtol, msg=lambda m: f"{msg}: {m}")
