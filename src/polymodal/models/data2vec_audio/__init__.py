"""Data2Vec-Audio: wav2vec2's encoder with a layer-norm conv stack and a stacked-conv positional embedding."""
