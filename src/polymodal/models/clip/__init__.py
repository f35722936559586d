"""CLIP: text and vision transformers with a contrastive head (Radford et al., 2021).

Modules: ``configuration`` (configs), ``modeling`` (towers and ``CLIPModel``),
``image_processing`` (``CLIPImageProcessor``), ``processing`` (``CLIPProcessor``).
Import classes from ``polymodal`` directly, e.g. ``from polymodal import CLIPModel``.
"""
