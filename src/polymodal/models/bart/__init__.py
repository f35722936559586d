"""BART: configuration and the encoder-decoder models (mBART, Blenderbot … derive from them)."""
