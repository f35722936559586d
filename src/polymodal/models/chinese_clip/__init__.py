"""Chinese-CLIP: a Chinese BERT text encoder and CLIP's ViT in one contrastive space (Yang et al., 2022).

Modules: ``configuration`` (configs), ``modeling`` (towers and ``ChineseCLIPModel``),
``image_processing`` (``ChineseCLIPImageProcessor``), ``processing`` (``ChineseCLIPProcessor``).
Import classes from ``polymodal`` directly, e.g. ``from polymodal import ChineseCLIPModel``.
"""
