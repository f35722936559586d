"""ALIGN: an EfficientNet image encoder and a BERT text encoder trained contrastively (Jia et al., 2021).

Modules: ``configuration``, ``modeling``, ``image_processing`` (``EfficientNetImageProcessor``),
``processing`` (``AlignProcessor``). Import classes from ``polymodal`` directly.
"""
