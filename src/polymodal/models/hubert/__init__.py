"""HuBERT: wav2vec2's architecture trained on masked prediction of clustered units (no quantiser)."""
