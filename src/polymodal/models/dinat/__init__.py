"""DiNAT (Hassani & Shi, 2022): a hierarchical transformer with (dilated) neighbourhood attention,
written here in plain PyTorch (no NATTEN extension needed)."""
