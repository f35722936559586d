"""CLAP: contrastive language-audio pretraining — HTSAT audio encoder + RoBERTa text encoder.

Modules: ``configuration`` (configs), ``modeling`` (``ClapModel`` and the single towers),
``feature_extraction`` (``ClapFeatureExtractor``), ``processing`` (``ClapProcessor``).
Import classes from ``polymodal`` directly, e.g. ``from polymodal import ClapModel``.
"""
