"""AltCLIP: CLIP's vision tower with an XLM-R text encoder (Chen et al., 2022).

Modules: ``configuration``, ``modeling`` (``AltCLIPModel``, ``AltCLIPTextModel``,
``AltCLIPVisionModel``), ``processing`` (``AltCLIPProcessor``). Import classes from
``polymodal`` directly, e.g. ``from polymodal import AltCLIPModel``.
"""
