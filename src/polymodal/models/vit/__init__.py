"""ViT (Dosovitskiy et al., 2021): a transformer over 16×16 image patches.

Modules: ``configuration`` (``ViTConfig``), ``modeling`` (``ViTModel`` and its heads; the
patch embeddings, encoder layers and position-encoding interpolation DeiT reuses),
``image_processing`` (``ViTImageProcessor``). Import classes from ``polymodal`` directly.
"""
