"""DeiT (Touvron et al., 2021): ViT with a distillation token; the encoder is ViT's."""
