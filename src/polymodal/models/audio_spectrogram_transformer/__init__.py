"""Audio Spectrogram Transformer: the Kaldi-fbank feature extractor, the config and the model."""
