"""Data2Vec-Vision (Baevski et al., 2022): BEiT's network, trained by self-distillation."""
