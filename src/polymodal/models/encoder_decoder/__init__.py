"""EncoderDecoderModel (issue 16): any encoder plus any decoder with cross-attention, one seq2seq model."""
