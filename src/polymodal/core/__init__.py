"""The kernel every family builds on: configs, outputs, loading, hub resolution, errors."""
