"""Vision preprocessing: image loading, Transformers-exact transforms and the image processor base.

* ``image_io`` — paths / PIL / numpy / torch → a flat list of images (clear errors for bad files).
* ``transforms`` — size dicts, Pillow resize, center crop (with padding), rescale, normalise.
* ``base`` — ``BaseImageProcessor``: ``preprocessor_config.json`` in and out, ``__call__`` →
  ``BatchFeature(pixel_values=...)``.

Example::

    from polymodal import CLIPImageProcessor
    processor = CLIPImageProcessor()
    batch = processor(["cat.jpg", pil_image, numpy_hwc_array], return_tensors="pt")
    batch.pixel_values.shape  # (3, 3, 224, 224)
"""
