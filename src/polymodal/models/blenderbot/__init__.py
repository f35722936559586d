"""Blenderbot (issue 16): BART's blocks, pre-norm, final layer norms, positions without offset."""
