"""Wav2Vec2: the feature extractor, config, model, CTC tokenizer and processor."""
