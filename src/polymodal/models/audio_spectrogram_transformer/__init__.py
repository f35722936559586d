"""Audio Spectrogram Transformer: the Kaldi-fbank feature extractor (and, later, the model)."""
