"""X-CLIP: CLIP extended to video with cross-frame attention, a multi-frame integration
transformer and video-specific text prompts (Ni et al., 2022).

Modules: ``configuration`` (configs), ``modeling`` (towers and ``XCLIPModel``),
``processing`` (``XCLIPProcessor``). Import classes from ``polymodal`` directly, e.g.
``from polymodal import XCLIPModel``; frames come from ``polymodal.vision.video.sample_frames``.
"""
